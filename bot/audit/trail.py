"""Recording staff actions in the audit trail: a fixed vocabulary, who, and ``record``.

Each hook is one line where the action happens (a route, a CLI command), in the same
transaction as the action itself, so an entry exists exactly when the action was stored::

    record(session, Actor.staff(user), Action.EXPORT, slug, format="csv", via="web")
"""

from __future__ import annotations

import getpass
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from sqlalchemy.orm import Session

from bot.store.audit_models import AuditEntry

MAX_TARGET = 300
MAX_DETAIL_TEXT = 200
MAX_DETAIL_KEYS = 12
#: What a detail value may be: small facts, never free text from citizens.
DetailValue = str | int | float | bool | None


class Action(StrEnum):
    """What was done (the audit trail's vocabulary; the page and the CLI filter by it)."""

    SIGN_IN = "auth.sign_in"
    SIGN_IN_FAILED = "auth.sign_in_failed"
    EXPORT = "export.download"
    AUDIT_DOWNLOAD = "audit.download"
    OUTCOME_PUBLISH = "outcome.publish"
    CONSULTATION_LAUNCH = "consultation.launch"
    CONSULTATION_CLOSE = "consultation.close"
    CONSULTATION_REOPEN = "consultation.reopen"
    USER_CREATE = "user.create"
    USER_ROLE = "user.role_change"
    USER_DISABLE = "user.disable"
    USER_ENABLE = "user.enable"
    USER_PASSWORD_RESET = "user.password_reset"
    USER_UNLOCK = "user.unlock"
    OWN_PASSWORD_CHANGE = "user.password_change"
    TOKEN_CREATE = "token.create"
    TOKEN_REVOKE = "token.revoke"
    PRIVACY_EXPORT = "privacy.export"
    PRIVACY_ERASE = "privacy.erase"
    PRIVACY_PURGE = "privacy.purge"
    KNOWLEDGE_ADD = "knowledge.add"
    KNOWLEDGE_REMOVE = "knowledge.remove"
    KNOWLEDGE_GLOSSARY = "knowledge.glossary"
    KNOWLEDGE_GAP_WORD = "knowledge.gap_word"
    KNOWLEDGE_LABEL = "knowledge.label"
    KNOWLEDGE_THRESHOLDS = "knowledge.thresholds"
    BACKUP = "backup.take"
    RESTORE = "backup.restore"
    RESPONSE_TAKE = "responses.take"
    RESPONSE_IMPORT = "responses.import"

    @property
    def label(self) -> str:
        """The action in words, for people."""
        return LABELS[self]


LABELS: dict[Action, str] = {
    Action.SIGN_IN: "Signed in",
    Action.SIGN_IN_FAILED: "Failed sign-in",
    Action.EXPORT: "Exported answers",
    Action.AUDIT_DOWNLOAD: "Downloaded the audit trail",
    Action.OUTCOME_PUBLISH: "Published an outcome",
    Action.CONSULTATION_LAUNCH: "Launched a consultation",
    Action.CONSULTATION_CLOSE: "Closed a consultation",
    Action.CONSULTATION_REOPEN: "Reopened a consultation",
    Action.USER_CREATE: "Added a user",
    Action.USER_ROLE: "Changed a user's role",
    Action.USER_DISABLE: "Disabled a user",
    Action.USER_ENABLE: "Enabled a user",
    Action.USER_PASSWORD_RESET: "Set a user's password",
    Action.USER_UNLOCK: "Unlocked a user",
    Action.OWN_PASSWORD_CHANGE: "Changed their own password",
    Action.TOKEN_CREATE: "Made an API token",
    Action.TOKEN_REVOKE: "Revoked an API token",
    Action.PRIVACY_EXPORT: "Exported a citizen's data",
    Action.PRIVACY_ERASE: "Erased a citizen's data",
    Action.PRIVACY_PURGE: "Purged data past retention",
    Action.BACKUP: "Backed up the installation",
    Action.RESTORE: "Restored a backup",
    Action.RESPONSE_TAKE: "Took a response by phone or on paper",
    Action.RESPONSE_IMPORT: "Imported responses from a file",
    Action.KNOWLEDGE_ADD: "Added service documents",
    Action.KNOWLEDGE_REMOVE: "Removed a service document",
    Action.KNOWLEDGE_GLOSSARY: "Changed a collection's glossary",
    Action.KNOWLEDGE_GAP_WORD: "Acted on a word the documents don't use",
    Action.KNOWLEDGE_LABEL: "Labelled an unanswered question",
    Action.KNOWLEDGE_THRESHOLDS: "Changed a collection's answer thresholds",
}


class StaffLike(Protocol):
    """A member of staff: a signed-in user, an API token's user or a ``User`` row."""

    @property
    def id(self) -> int: ...

    @property
    def email(self) -> str: ...


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (some containers)
        return "unknown"


@dataclass(frozen=True)
class Actor:
    """Who did it: a member of staff (their id and e-mail at the time), a shell user of
    the ``codesign`` command, or the system itself."""

    name: str
    user_id: int | None = None

    @classmethod
    def staff(cls, user: StaffLike) -> Actor:
        """A member of staff, signed in or using an API token."""
        return cls(user.email, user.id)

    @classmethod
    def cli(cls) -> Actor:
        """The operating-system user running ``codesign``."""
        return cls(f"cli:{_os_user()}")

    @classmethod
    def anonymous(cls) -> Actor:
        """Someone not signed in (a failed sign-in: the e-mail tried is the target)."""
        return cls("anonymous")

    @classmethod
    def system(cls) -> Actor:
        """Scheduled work nobody started by hand."""
        return cls("system")


def clean(text: str, limit: int) -> str:
    """``text`` without control characters, at most ``limit`` characters."""
    kept = "".join(c for c in text if unicodedata.category(c)[0] != "C" or c == " ")
    return kept[:limit]


def _detail(values: dict[str, DetailValue]) -> dict[str, DetailValue] | None:
    """Small facts only: scalar values, strings cut short.

    Raises:
        TypeError: a value is not a scalar (a programming error, not bad input).
    """
    if len(values) > MAX_DETAIL_KEYS:
        raise TypeError(f"an audit entry takes at most {MAX_DETAIL_KEYS} details")
    detail: dict[str, DetailValue] = {}
    for key, value in values.items():
        if isinstance(value, str):
            value = clean(value, MAX_DETAIL_TEXT)
        elif value is not None and not isinstance(value, int | float | bool):
            raise TypeError(f"audit detail {key!r} must be a scalar, not {type(value).__name__}")
        detail[key] = value
    return detail or None


def record(session: Session, actor: Actor, action: Action, target: str = "",
           **detail: DetailValue) -> AuditEntry:
    """Add an entry to the audit trail (committed with the caller's transaction).

    Args:
        session: the app store session of the action.
        actor: who did it.
        action: what they did, from the vocabulary.
        target: what it was done to: a slug, an e-mail, a token's name, a document's path,
            a pseudonym's first characters. Never citizen text or a raw channel id.
        detail: small facts (format, counts, role); strings are cut to 200 characters.

    Raises:
        ValueError: ``action`` is not in the vocabulary.
    """
    entry = AuditEntry(actor=clean(actor.name, 254), actor_id=actor.user_id,
                       action=Action(action).value, target=clean(target, MAX_TARGET),
                       detail=_detail(detail))
    session.add(entry)
    return entry
