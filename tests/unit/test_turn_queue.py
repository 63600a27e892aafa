"""The Rasa process's turn queue (``rasa_ext/turns.py``, loaded by its path: the package
imports Rasa, which is in the other environment): a few turns at once, in arrival
order; a waiting turn whose client left is dropped, a started one finishes."""

from __future__ import annotations

import asyncio
import importlib.util
from typing import Any

import pytest

from tests.conftest import ROOT


def load() -> Any:
    spec = importlib.util.spec_from_file_location("rasa_ext_turns", ROOT / "rasa_ext/turns.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


TURNS = load()


def test_at_most_the_limit_run_at_once_and_they_start_in_arrival_order() -> None:
    started: list[int] = []
    most = 0

    async def main() -> None:
        nonlocal most
        queue = TURNS.TurnQueue(2)

        def turn(i: int) -> Any:
            async def run() -> int:
                nonlocal most
                started.append(i)
                most = max(most, queue.running)
                await asyncio.sleep(0.01)
                return i
            return run

        results = await asyncio.gather(*(queue.run(turn(i)) for i in range(7)))
        assert results == list(range(7))
        assert queue.running == 0

    asyncio.run(main())
    assert started == list(range(7)) and most == 2


def test_a_waiting_turn_whose_client_left_never_starts_a_started_one_finishes() -> None:
    finished: list[str] = []

    async def main() -> None:
        queue = TURNS.TurnQueue(1)
        gate = asyncio.Event()

        async def slow() -> None:
            await gate.wait()
            finished.append("started one")

        async def never() -> None:
            finished.append("waiting one")

        first = asyncio.ensure_future(queue.run(slow))
        second = asyncio.ensure_future(queue.run(never))
        await asyncio.sleep(0.01)
        first.cancel()  # the client of the running turn went away
        second.cancel()  # the client of the waiting one too
        for task in (first, second):
            with pytest.raises(asyncio.CancelledError):
                await task
        assert queue.running == 1  # the started turn still holds its slot
        gate.set()
        await asyncio.sleep(0.01)
        assert queue.running == 0
        assert await queue.run(lambda: asyncio.sleep(0, result="next")) == "next"

    asyncio.run(main())
    assert finished == ["started one"]


@pytest.mark.parametrize(("raw", "expected"), [("", 8), ("1", 1), (" 32 ", 32)])
def test_the_limit_comes_from_the_environment(raw: str, expected: int) -> None:
    assert TURNS.concurrent_turns({"CODESIGN_RASA_CONCURRENT_TURNS": raw}) == expected


@pytest.mark.parametrize("raw", ["0", "-3", "many", "1001", "2.5"])
def test_a_bad_limit_is_refused_by_name(raw: str) -> None:
    with pytest.raises(ValueError, match="CODESIGN_RASA_CONCURRENT_TURNS"):
        TURNS.concurrent_turns({"CODESIGN_RASA_CONCURRENT_TURNS": raw})
