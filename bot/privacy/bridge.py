"""What the Telegram bridge keeps about one chat in the app store, read and erased.

``bot.store.telegram_state.forget_chat`` ("forget me", ``/forget``) deletes the chat's
contact, unsent replies, button tokens and pressed keyboards but keeps the messages on
their way to Rasa, because the citizen is talking right then. An erasure request from a
data-protection officer deletes those too, and the updates still waiting in the inbox
(sealed whole: each is opened to see whose it is).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from bot.store.models import as_utc
from bot.store.telegram_models import (
    TelegramCallbackToken,
    TelegramContact,
    TelegramInboxUpdate,
    TelegramOutboxMessage,
    TelegramReply,
    TelegramSeen,
)
from bot.store.telegram_state import PRESSED, REFUSED, forget_chat
from bot.telegram.sealed import Sealer, SealError


@dataclass
class ChatState:
    """The bridge's rows about one chat."""

    contact_added_at: str | None = None
    waiting_for_the_bot: list[dict[str, Any]] = field(default_factory=list)
    replies_not_yet_sent: list[dict[str, Any]] = field(default_factory=list)
    button_tokens: int = 0
    keyboards_pressed: int = 0
    refused_group: bool = False
    updates_waiting: int = 0

    @property
    def rows(self) -> int:
        """How many rows these are."""
        return (int(self.contact_added_at is not None) + len(self.waiting_for_the_bot)
                + len(self.replies_not_yet_sent) + self.button_tokens + self.keyboards_pressed
                + int(self.refused_group) + self.updates_waiting)

    def as_dict(self) -> dict[str, Any]:
        """For the citizen's copy of their data."""
        return {"asked_to_hear_outcomes_since": self.contact_added_at,
                "your_messages_waiting_for_the_bot": self.waiting_for_the_bot,
                "replies_not_yet_sent_to_you": self.replies_not_yet_sent,
                "long_buttons_remembered": self.button_tokens,
                "keyboards_you_pressed": self.keyboards_pressed,
                "group_chat_refused": self.refused_group,
                "updates_waiting_to_be_handled": self.updates_waiting}


def _mentions(node: Any, chat_id: int) -> bool:
    """Whether a Telegram update (as JSON) comes from or goes to ``chat_id``."""
    if isinstance(node, dict):
        for key in ("chat", "from"):
            inner = node.get(key)
            if isinstance(inner, dict) and inner.get("id") == chat_id:
                return True
        return any(_mentions(value, chat_id) for value in node.values())
    if isinstance(node, list):
        return any(_mentions(value, chat_id) for value in node)
    return False


def _inbox_ids(session: Session, sealer: Sealer, chat_id: int) -> list[int]:
    """The inbox rows holding an update of the chat (rows sealed under another key are
    not the bridge's to read, nor ours)."""
    found = []
    for row_id, sealed in session.execute(select(TelegramInboxUpdate.id,
                                                 TelegramInboxUpdate.sealed)):
        try:
            update = json.loads(sealer.open(sealed))
        except (SealError, ValueError):
            continue
        if _mentions(update, chat_id):
            found.append(row_id)
    return found


def _pressed(chat_key: str) -> Any:
    return (TelegramSeen.kind == PRESSED) & TelegramSeen.key.startswith(f"{chat_key}:")


def chat_state(session: Session, sealer: Sealer, chat_key: str, chat_id: int) -> ChatState:
    """Everything the bridge keeps about the chat."""
    def count(model: Any, *where: Any) -> int:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)

    added = session.scalar(select(TelegramContact.added_at)
                           .where(TelegramContact.chat_key == chat_key))
    return ChatState(
        contact_added_at=as_utc(added).isoformat() if added else None,
        waiting_for_the_bot=[{"at": as_utc(at).isoformat(), "text": text} for at, text in
                             session.execute(select(TelegramOutboxMessage.created_at,
                                                    TelegramOutboxMessage.text)
                                             .where(TelegramOutboxMessage.chat_key == chat_key)
                                             .order_by(TelegramOutboxMessage.id))],
        replies_not_yet_sent=[{"at": as_utc(at).isoformat(), "text": text} for at, text in
                              session.execute(select(TelegramReply.created_at, TelegramReply.text)
                                              .where(TelegramReply.chat_key == chat_key)
                                              .order_by(TelegramReply.id))],
        button_tokens=count(TelegramCallbackToken, TelegramCallbackToken.chat_key == chat_key),
        keyboards_pressed=count(TelegramSeen, _pressed(chat_key)),
        refused_group=count(TelegramSeen, (TelegramSeen.kind == REFUSED)
                            & (TelegramSeen.key == chat_key)) > 0,
        updates_waiting=len(_inbox_ids(session, sealer, chat_id)))


def erase_chat(session: Session, sealer: Sealer, chat_key: str, chat_id: int) -> None:
    """Delete everything the bridge keeps about the chat (the caller commits)."""
    forget_chat(session, chat_key)
    session.execute(delete(TelegramOutboxMessage)
                    .where(TelegramOutboxMessage.chat_key == chat_key))
    inbox = _inbox_ids(session, sealer, chat_id)
    if inbox:
        session.execute(delete(TelegramInboxUpdate).where(TelegramInboxUpdate.id.in_(inbox)))
