"""Guards: keys handled once, per-chat flood limits, per-chat ordering locks."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from bot.store.db import migrate
from bot.store.models import utcnow
from bot.store.telegram_models import TelegramSeen
from bot.store.telegram_state import PRESSED, REFUSED, pressed_key
from bot.telegram.guards import ChatRateLimiter, Seen
from bot.telegram.ordering import ChatLocks
from bot.telegram.store import BridgeStore


def test_keys_are_kept_in_the_database_and_pruned_after_a_week(database_url: str) -> None:
    migrate(database_url)
    store = BridgeStore(database_url, b"test-secret-key-0123456789abcdef")
    seen = Seen()
    key = pressed_key(store.chat_key(42), 1001)
    assert not store.call(lambda s: seen.has(s, PRESSED, key))
    store.call(lambda s: seen.add(s, PRESSED, key))
    assert store.call(lambda s: Seen().has(s, PRESSED, key))  # another bridge knows it too
    assert not store.call(lambda s: seen.has(s, REFUSED, key))  # each kind is its own set
    with pytest.raises(IntegrityError):
        store.call(lambda s: seen.add(s, PRESSED, key))
    assert "42" not in key.split(":")[0]  # the chat's pseudonymous key, not its id
    assert store.call(seen.prune) == 0
    store.call(lambda s: s.execute(update(TelegramSeen).values(
        seen_at=utcnow() - timedelta(days=7, minutes=1))))
    assert store.call(seen.prune) == 1
    assert not store.call(lambda s: seen.has(s, PRESSED, key))


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_rate_limiter_allows_a_burst_then_refuses_with_one_notice() -> None:
    clock = Clock()
    limiter = ChatRateLimiter(burst=3, per_minute=6, clock=clock)  # a token every 10 s
    assert [limiter.check(1) for _ in range(3)] == [(True, False)] * 3
    assert limiter.check(1) == (False, True)  # first refusal: tell the citizen
    assert limiter.check(1) == (False, False)  # then quietly
    assert limiter.check(2) == (True, False)  # other chats are not affected
    clock.now = 10.0
    assert limiter.check(1) == (True, False)  # refilled one token
    assert limiter.check(1) == (False, True)  # a new flood gets a new notice


def test_rate_limiter_forgets_quiet_chats() -> None:
    limiter = ChatRateLimiter(burst=1, per_minute=1, max_chats=2, clock=Clock())
    limiter.check(1)
    assert limiter.check(1)[0] is False
    limiter.check(2)
    limiter.check(3)  # chat 1 is dropped and starts again with a full bucket
    assert limiter.check(1)[0] is True


def test_chat_locks_keep_one_chat_in_order_and_let_others_run() -> None:
    locks = ChatLocks()
    events: list[str] = []

    async def work(chat: int, name: str, pause: float) -> None:
        async with locks.hold(chat):
            events.append(f"start {name}")
            await asyncio.sleep(pause)
            events.append(f"end {name}")

    async def main() -> None:
        await asyncio.gather(work(1, "a1", 0.05), work(1, "a2", 0), work(2, "b", 0))

    asyncio.run(main())
    assert events.index("end a1") < events.index("start a2")
    assert events.index("end b") < events.index("end a1")  # chat 2 did not wait for chat 1
    assert len(locks) == 0  # nothing kept once nobody holds a lock
