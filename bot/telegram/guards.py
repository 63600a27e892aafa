"""Guards in front of the relay: keys handled once, and per-chat floods."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session

from bot.store.models import utcnow
from bot.store.telegram_models import TelegramSeen
from bot.telegram.store import change


@dataclass
class Seen:
    """Keys handled once, kept in the app store (``telegram_seen``) so that a bridge
    restarted elsewhere remembers them: update ids (a redelivered update is dropped),
    pressed keyboards (a keyboard pressed twice is relayed once) and refused group chats
    (told once). Keys hold pseudonymous chat keys, never chat ids.

    Keys older than ``max_age_days`` are pruned: by then Telegram no longer redelivers an
    update, and after a week without updates it may even start numbering them anew.
    """

    max_age_days: float = 7

    def has(self, session: Session, kind: str, key: str) -> bool:
        """Whether ``key`` of set ``kind`` was handled."""
        return session.get(TelegramSeen, (kind, key)) is not None

    def add(self, session: Session, kind: str, key: str) -> None:
        """Record ``key`` as handled (the flush fails when it already is)."""
        session.add(TelegramSeen(kind=kind, key=key))
        session.flush()

    def prune(self, session: Session) -> int:
        """Forget the keys older than ``max_age_days``; returns how many."""
        cutoff = utcnow() - timedelta(days=self.max_age_days)
        return change(session, delete(TelegramSeen).where(TelegramSeen.seen_at < cutoff))


class ChatRateLimiter:
    """A token bucket per chat: ``burst`` messages at once, then ``per_minute`` a minute.

    Only the ``max_chats`` most recently active chats are tracked; a forgotten chat starts
    again with a full bucket, which is what a quiet chat would have anyway. The buckets are
    in memory: a restarted bridge starts every chat with a full one.

    Args:
        burst: bucket size.
        per_minute: refill rate.
        max_chats: chats tracked at most.
        clock: monotonic time source (tests).
    """

    def __init__(self, burst: int = 10, per_minute: float = 60, max_chats: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.burst = burst
        self.rate = per_minute / 60
        self.max_chats = max_chats
        self._clock = clock
        # chat -> (tokens, last refill time, whether the chat was told it is limited)
        self._buckets: OrderedDict[int, tuple[float, float, bool]] = OrderedDict()

    def check(self, chat_id: int) -> tuple[bool, bool]:
        """Take a token for one message from ``chat_id``.

        Returns:
            ``(allowed, notify)``: whether to handle the message, and (when not) whether
            this is the first refused message since the chat was last allowed one, so
            the citizen gets one notice per flood rather than one per message.
        """
        now = self._clock()
        tokens, last, notified = self._buckets.pop(chat_id, (float(self.burst), now, False))
        tokens = min(float(self.burst), tokens + (now - last) * self.rate)
        if tokens >= 1:
            self._store(chat_id, (tokens - 1, now, False))
            return True, False
        self._store(chat_id, (tokens, now, True))
        return False, not notified

    def _store(self, chat_id: int, bucket: tuple[float, float, bool]) -> None:
        self._buckets[chat_id] = bucket
        while len(self._buckets) > self.max_chats:
            self._buckets.popitem(last=False)
