"""Guards in front of the relay: duplicate updates and per-chat floods."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Hashable


class Seen:
    """Remembers the latest ``capacity`` keys (update ids, pressed keyboards, …).

    Used to handle a redelivered update once, a keyboard pressed twice once, and to
    answer a group chat once.
    """

    def __init__(self, capacity: int = 10_000) -> None:
        self.capacity = capacity
        self._seen: OrderedDict[Hashable, None] = OrderedDict()

    def first_time(self, key: Hashable) -> bool:
        """True the first time ``key`` is offered, False on a repeat."""
        if key in self._seen:
            return False
        self._seen[key] = None
        if len(self._seen) > self.capacity:
            self._seen.popitem(last=False)
        return True


class ChatRateLimiter:
    """A token bucket per chat: ``burst`` messages at once, then ``per_minute`` a minute.

    Only the ``max_chats`` most recently active chats are tracked; a forgotten chat starts
    again with a full bucket, which is what a quiet chat would have anyway.

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
