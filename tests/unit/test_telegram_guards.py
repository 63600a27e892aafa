"""Guards: duplicate updates, per-chat flood limits, per-chat ordering locks."""

from __future__ import annotations

import asyncio

from bot.telegram.guards import ChatRateLimiter, Seen
from bot.telegram.ordering import ChatLocks


def test_an_update_is_handled_once_and_memory_is_bounded() -> None:
    seen = Seen(capacity=3)
    assert seen.first_time(1) and not seen.first_time(1)
    for update_id in (2, 3, 4):
        assert seen.first_time(update_id)
    assert not seen.first_time(4)
    assert seen.first_time(1)  # forgotten: only the latest 3 are kept


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
