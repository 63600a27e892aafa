"""What the bridge's three queues share: retrying with backoff, giving up, per-chat order.

The queues are tables of the app store (``bot.store.telegram_models``): the inbox of
updates received, the outbox of messages on their way to Rasa, and the replies on their
way to the chat. Every method takes the session of the caller's transaction, so that a
step that moves something from one queue to the next is one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum
from typing import Generic, TypeVar

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from bot.store.models import utcnow
from bot.store.telegram_models import TelegramChatQueued, TelegramQueued
from bot.telegram.store import change

Q = TypeVar("Q", bound=TelegramQueued)
C = TypeVar("C", bound=TelegramChatQueued)


class Attempt(Enum):
    """What became of a row after a failed attempt."""

    scheduled = "scheduled"  # it is tried again later
    given_up = "given up"  # too many attempts: deleted
    gone = "gone"  # it was no longer queued


@dataclass
class RetryPolicy:
    """When a queued row is tried again, and when it is given up.

    Attributes:
        max_attempts: failed attempts after which a row is given up (deleted).
        max_age: seconds after which a row still queued is given up.
        backoff: seconds before the first retry; doubled after each failure.
        max_delay: the longest wait between two attempts, in seconds.
    """

    max_attempts: int = 12
    max_age: float = 24 * 3600
    backoff: float = 15
    max_delay: float = 600

    def delay(self, attempts: int) -> float:
        """Seconds to wait after the ``attempts``-th failure."""
        return float(min(self.backoff * 2 ** (attempts - 1), self.max_delay))

    def cutoff(self) -> datetime:
        """Rows created before this are too old."""
        return utcnow() - timedelta(seconds=self.max_age)


@dataclass
class Queue(Generic[Q]):
    """Retrying and expiring the rows of one queue table.

    Attributes:
        model: the table.
        policy: its backoff and limits.
    """

    model: type[Q]
    policy: RetryPolicy = field(default_factory=RetryPolicy)

    def remove(self, session: Session, row: Q) -> bool:
        """Delete a row that is done (or given up); False when it was already gone."""
        return change(session, delete(self.model).where(self.model.id == row.id)) > 0

    def failed(self, session: Session, row: Q) -> Attempt:
        """Count a failed attempt on ``row`` (as read): schedule the next, or give it up."""
        attempts = row.attempts + 1
        if attempts >= self.policy.max_attempts:
            return Attempt.given_up if self.remove(session, row) else Attempt.gone
        later = utcnow() + timedelta(seconds=self.policy.delay(attempts))
        changed = change(session, update(self.model)
                         .where(self.model.id == row.id, self.model.attempts == row.attempts)
                         .values(attempts=attempts, next_attempt_at=later))
        return Attempt.scheduled if changed else Attempt.gone

    def expire(self, session: Session) -> int:
        """Give up the rows older than the policy's ``max_age``; returns how many."""
        return change(session, delete(self.model)
                      .where(self.model.created_at < self.policy.cutoff()))

    def count(self, session: Session) -> int:
        """Rows queued."""
        return int(session.scalar(select(func.count()).select_from(self.model)) or 0)


@dataclass
class ChatQueue(Queue[C]):
    """A queue whose rows belong to chats and are handled in order within a chat."""

    def waiting(self, session: Session, chat_key: str) -> list[C]:
        """The chat's rows, oldest first (due or not; too old ones left out)."""
        return list(session.scalars(
            select(self.model).where(self.model.chat_key == chat_key,
                                     self.model.created_at >= self.policy.cutoff())
            .order_by(self.model.id)))

    def due_chats(self, session: Session) -> dict[str, str]:
        """Chat key -> sealed chat id of the chats whose oldest row is due, oldest first."""
        oldest = select(func.min(self.model.id)).group_by(self.model.chat_key)
        rows = session.execute(
            select(self.model.chat_key, self.model.chat_ref)
            .where(self.model.id.in_(oldest), self.model.next_attempt_at <= utcnow())
            .order_by(self.model.id))
        return {key: ref for key, ref in rows}

    def drop_chat(self, session: Session, chat_key: str) -> int:
        """Delete every row of a chat (e.g. its sealed id cannot be opened); how many."""
        return change(session, delete(self.model).where(self.model.chat_key == chat_key))
