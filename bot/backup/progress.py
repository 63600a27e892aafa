"""How a backup or restore reports what it does (the CLI prints it on stderr)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol

#: Called with the number of bytes just done.
Advance = Callable[[int], None]


class Progress(Protocol):
    """Receives one line per part, and a running count for long copies."""

    def part(self, message: str) -> None:
        """One line about a part that has just been done (or skipped)."""

    def bar(self, label: str, total: int) -> AbstractContextManager[Advance]:
        """A progress bar of ``total`` bytes; the value it gives is called as they go."""


class Quiet:
    """Reports nothing (tests, library use)."""

    def part(self, message: str) -> None:
        """Ignore the line."""

    def bar(self, label: str, total: int) -> AbstractContextManager[Advance]:
        """A bar that shows nothing."""
        return _nothing()


@contextmanager
def _nothing() -> Iterator[Advance]:
    yield lambda _done: None


def size(count: int) -> str:
    """A byte count for people: ``512 B``, ``3.4 MB``."""
    value = float(count)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")
