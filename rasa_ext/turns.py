"""How many turns a Rasa process works on at once.

Rasa starts every message it receives at once, and they share the process: with 200
citizens writing in the same second each turn took as long as all of them together, so
none replied within a client's time-out, every client sent its message again, and the
copies piled on (a burst measured a start message's p95 at 169 s). ``TurnQueue`` lets
``CODESIGN_RASA_CONCURRENT_TURNS`` turns run (default 8) and the others wait, in the
order they arrived, so the first ones finish in the time of one turn each.

A turn that has started finishes even when its client goes away (the HTTP request is
cancelled then): the action server may already have stored what it did, and Rasa's
tracker must record it too, or a copy sent again would be taken as a new message. A
message still waiting when its client goes away is dropped: nothing happened yet.
"""

import asyncio
import os
from typing import Any, Awaitable, Callable, Mapping, Optional

DEFAULT_CONCURRENT_TURNS = 8


def concurrent_turns(environ: Optional[Mapping[str, str]] = None) -> int:
    """``CODESIGN_RASA_CONCURRENT_TURNS`` (a whole number from 1 to 1000), else 8.

    Raises:
        ValueError: when the variable is set to anything else.
    """
    raw = (os.environ if environ is None else environ).get(
        "CODESIGN_RASA_CONCURRENT_TURNS", "").strip()
    if not raw:
        return DEFAULT_CONCURRENT_TURNS
    if not raw.isdigit() or not 1 <= int(raw) <= 1000:
        raise ValueError("CODESIGN_RASA_CONCURRENT_TURNS must be a whole number from 1 to "
                         f"1000, not {raw!r}")
    return int(raw)


class TurnQueue:
    """At most ``limit`` turns at once in this process; the rest wait in arrival order."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._slots: Optional[asyncio.Semaphore] = None  # made in the server's loop
        self.running = 0

    async def run(self, turn: Callable[[], Awaitable[Any]]) -> Any:
        """Wait for a slot, then run ``turn()`` to its end (see the module)."""
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.limit)
        slots = self._slots
        await slots.acquire()  # cancelled here: the turn never started
        self.running += 1

        def release(_: "asyncio.Future[Any]") -> None:
            self.running -= 1
            slots.release()

        task = asyncio.ensure_future(turn())
        task.add_done_callback(release)
        return await asyncio.shield(task)
