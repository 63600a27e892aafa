"""Where a run's CPU went: seconds spent by each part of the deployment, read from /proc.

The servers a benchmark starts are descendants of its own process; PostgreSQL and Redis
are the machine's services, counted whoever they worked for (other clients of them show
up too). A process that ends during the run loses what it spent since the first reading;
the servers here live for the whole run. Linux only: elsewhere every reading is empty.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

#: (part, words of the command line that identify it), first match wins
PARTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("rasa", ("rasa_ext.serve", "bin/rasa")),
    ("actions", ("bot.action_server", "rasa_sdk")),
    ("web", ("bot.web", "uvicorn")),
    ("telegram", ("codesign telegram", "bot.telegram")),
    ("nginx", ("nginx",)),
    ("supervisor", ("supervisord", "ops watchdog")),
)
#: machine services counted by process name, whoever started them
SERVICES: tuple[tuple[str, str], ...] = (("postgres", "postgres"), ("redis", "redis-server"))


@dataclass(frozen=True)
class Process:
    """One process as /proc shows it."""

    pid: int
    ppid: int
    name: str
    cmdline: str
    cpu_s: float


def _read(pid: int) -> Process | None:
    try:
        stat = (PROC / str(pid) / "stat").read_text()
        cmdline = (PROC / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode(
            errors="replace")
    except OSError:
        return None
    # the name is in parentheses and may hold spaces; the fields after it are fixed
    name = stat[stat.index("(") + 1:stat.rindex(")")]
    fields = stat[stat.rindex(")") + 2:].split()
    utime, stime = int(fields[11]), int(fields[12])
    return Process(pid, int(fields[1]), name, cmdline, (utime + stime) / TICKS)


def processes() -> list[Process]:
    """Every process readable now."""
    if not PROC.is_dir():
        return []
    found = (_read(int(entry.name)) for entry in PROC.iterdir() if entry.name.isdigit())
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


def part_of(process: Process) -> str:
    """The part of the deployment a process belongs to ("other" when none matches)."""
    for part, words in PARTS:
        if any(word in process.cmdline for word in words):
            return part
    return "other"


def snapshot(root: int | None = None) -> dict[int, tuple[str, float]]:
    """pid -> (part, CPU seconds so far) for the servers below ``root`` (default: this
    process) and the machine's PostgreSQL and Redis."""
    every = processes()
    taken = {p.pid: (part_of(p), p.cpu_s) for p in descendants(root or os.getpid(), every)}
    for process in every:
        for part, name in SERVICES:
            if process.name == name:
                taken[process.pid] = (part, process.cpu_s)
    return taken


def spent(before: dict[int, tuple[str, float]],
          after: dict[int, tuple[str, float]]) -> dict[str, float]:
    """CPU seconds per part between two snapshots (processes started in between count
    from zero)."""
    totals: dict[str, float] = {}
    for pid, (part, cpu) in after.items():
        start = before.get(pid, (part, 0.0))[1]
        totals[part] = totals.get(part, 0.0) + max(cpu - start, 0.0)
    return dict(sorted(totals.items(), key=lambda item: -item[1]))
