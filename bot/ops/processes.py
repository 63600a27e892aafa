"""The machine's processes as /proc shows them: parent, name, command line, CPU time.

Linux only: elsewhere there are none. Used by the watchdog (is a program busy?) and the
load benchmark (where did the CPU go?).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass(frozen=True)
class Process:
    """One process as /proc shows it."""

    pid: int
    ppid: int
    name: str
    cmdline: str
    cpu_s: float


def _read(pid: int, with_cmdline: bool) -> Process | None:
    try:
        stat = (PROC / str(pid) / "stat").read_text(errors="replace")
        cmdline = (PROC / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode(
            errors="replace") if with_cmdline else ""
    except OSError:  # it ended meanwhile
        return None
    # the name is in parentheses and may hold spaces; the fields after it are fixed
    name = stat[stat.index("(") + 1:stat.rindex(")")]
    fields = stat[stat.rindex(")") + 2:].split()
    utime, stime = int(fields[11]), int(fields[12])
    return Process(pid, int(fields[1]), name, cmdline, (utime + stime) / TICKS)


def processes(with_cmdline: bool = True) -> list[Process]:
    """Every process readable now (``cmdline`` left empty unless ``with_cmdline``)."""
    if not PROC.is_dir():
        return []
    found = (_read(int(entry.name), with_cmdline) for entry in PROC.iterdir()
             if entry.name.isdigit())
    return [process for process in found if process is not None]


def descendants(root: int, every: Iterable[Process]) -> Iterator[Process]:
    """The processes below ``root`` (not ``root`` itself)."""
    children: dict[int, list[Process]] = {}
    for process in every:
        children.setdefault(process.ppid, []).append(process)
    stack = list(children.get(root, []))
    while stack:
        process = stack.pop()
        yield process
        stack.extend(children.get(process.pid, []))
