"""Where a run's CPU went: seconds spent by each part of the deployment, read from /proc.

The servers a benchmark starts are descendants of its own process; PostgreSQL and Redis
are the machine's services, counted whoever they worked for (other clients of them show
up too). A process that ends during the run loses what it spent since the first reading;
the servers here live for the whole run. Linux only: elsewhere every reading is empty.
"""

from __future__ import annotations

import os

from bot.ops.processes import Process, descendants, processes

__all__ = ["Process", "descendants", "part_of", "processes", "snapshot", "spent"]

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
