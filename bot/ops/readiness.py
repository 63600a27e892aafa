"""Waiting for a set of programs to answer their health checks."""

from __future__ import annotations

import time
from collections.abc import Callable

from bot.ops.watchdog import healthy


def wait_until_healthy(urls: dict[str, str], timeout: float,
                       on_wait: Callable[[list[str]], None] | None = None,
                       every: float = 15.0, probe: Callable[[str, float], bool] = healthy
                       ) -> list[str]:
    """Poll each program's health URL until all answer or ``timeout`` seconds pass.

    Args:
        urls: program name -> health URL.
        timeout: seconds to wait at most.
        on_wait: told the programs still waited for, every ``every`` seconds.
        every: seconds between ``on_wait`` calls.
        probe: the health check (tests replace it).

    Returns:
        The names that never answered (empty when all are healthy).
    """
    waiting = dict(urls)
    deadline = time.monotonic() + timeout
    next_report = time.monotonic() + every
    while waiting and time.monotonic() < deadline:
        waiting = {name: url for name, url in waiting.items() if not probe(url, 2.0)}
        if waiting:
            if on_wait is not None and time.monotonic() >= next_report:
                on_wait(sorted(waiting))
                next_report += every
            time.sleep(0.5)
    return sorted(waiting)
