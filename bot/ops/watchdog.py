"""Restarting a process that is alive but no longer answers its health check.

supervisord restarts a program whose process exits. A process can also hang with its
port open: an action server whose event loop is stuck answers nothing, and Rasa then
waits for it. The watchdog asks each program's health URL every few seconds and, after
``failures`` failed checks in a row, restarts it through supervisord and says so on the
run command's terminal. A program that is starting is given its start-up grace (Rasa
loads its model for a minute) unless it has already answered once since it started.

A process that does not answer because it is *busy* is not hung: under a launch-day
burst Rasa's event loop can take seconds to get to a health check, and killing it (and
then its twin) would turn a slow minute into an outage. So a failed check counts only
when the process (with its children) used less than ``busy_cpu`` seconds of CPU since
the previous check: a stopped or deadlocked process uses none.
"""

from __future__ import annotations

import json
import logging
import time
import xmlrpc.client
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import httpx

from bot.ops.processes import descendants, processes

logger = logging.getLogger(__name__)


class Supervisor(Protocol):
    """The part of supervisord's XML-RPC interface the watchdog uses."""

    def getAllProcessInfo(self) -> list[dict[str, Any]]: ...
    def signalProcess(self, name: str, signal: str) -> bool: ...
    def startProcess(self, name: str, wait: bool = True) -> bool: ...


@dataclass
class Watched:
    """A program the watchdog checks, and what it has seen of its current run."""

    name: str
    health_url: str
    startup_grace: float
    started: float = 0.0
    answered_since_start: bool = False
    failures: int = 0
    cpu: float | None = None  # CPU seconds of its process tree at the previous check


def connect(socket_path: str, username: str | None = None,
            password: str | None = None) -> Supervisor:
    """supervisord's XML-RPC interface over its UNIX socket."""
    from supervisor.xmlrpc import SupervisorTransport

    transport = SupervisorTransport(username, password, f"unix://{socket_path}")
    proxy = xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport)
    return proxy.supervisor  # type: ignore[return-value]


def load(path: Path) -> tuple[Supervisor, list[Watched]]:
    """supervisord's interface and the programs with a health URL, from ``programs.json``."""
    data = json.loads(path.read_text(encoding="utf-8"))
    supervisor = data["supervisor"]
    return connect(supervisor["socket"], supervisor.get("username"),
                   supervisor.get("password")), [
        Watched(p["name"], p["health_url"], float(p["startup_grace"]))
        for p in data["programs"] if p.get("health_url")]


def cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system) used so far by ``pid`` and its descendants, or None when it
    is gone (from /proc)."""
    every = processes(with_cmdline=False)
    own = next((process for process in every if process.pid == pid), None)
    if own is None:
        return None
    return own.cpu_s + sum(process.cpu_s for process in descendants(pid, every))


def healthy(url: str, timeout: float) -> bool:
    """Whether GET ``url`` answers 2xx within ``timeout`` seconds."""
    try:
        return httpx.get(url, timeout=timeout).is_success
    except httpx.HTTPError:
        return False


class Watchdog:
    """Checks the programs and restarts the ones that stopped answering.

    Args:
        supervisor: supervisord's interface.
        programs: the programs to check.
        failures: failed checks in a row before a restart.
        timeout: seconds a health check may take.
        busy_cpu: CPU seconds since the previous check above which a process that does
            not answer is busy, not hung.
        probe: the health check (tests replace it).
        clock: wall-clock time, as supervisord reports start times.
        cpu: CPU seconds of a process tree (tests replace it).
    """

    def __init__(self, supervisor: Supervisor, programs: list[Watched], failures: int = 3,
                 timeout: float = 3.0, busy_cpu: float = 0.2,
                 probe: Callable[[str, float], bool] = healthy,
                 clock: Callable[[], float] = time.time,
                 cpu: Callable[[int], float | None] = cpu_seconds) -> None:
        self.supervisor = supervisor
        self.programs = programs
        self.failures = failures
        self.timeout = timeout
        self.busy_cpu = busy_cpu
        self.probe = probe
        self.clock = clock
        self.cpu = cpu

    def check_once(self) -> list[str]:
        """Check every running program once; returns the names restarted."""
        states = {info["name"]: info for info in self.supervisor.getAllProcessInfo()}
        restarted = []
        for program in self.programs:
            info = states.get(program.name)
            if info is None or info.get("statename") != "RUNNING":
                program.failures = 0  # supervisord is starting or restarting it
                continue
            if info.get("start") != program.started:  # a new run: forget the old one
                program.started, program.answered_since_start = info.get("start", 0.0), False
                program.failures = 0
            used, program.cpu = program.cpu, self.cpu(int(info.get("pid", 0)))
            if self.probe(program.health_url, self.timeout):
                program.answered_since_start, program.failures = True, 0
                continue
            in_grace = (not program.answered_since_start
                        and self.clock() - program.started < program.startup_grace)
            if in_grace:
                continue
            if used is not None and program.cpu is not None and \
                    program.cpu - used >= self.busy_cpu:
                logger.warning("%s is not answering %s but is busy (%.1f s of CPU since the "
                               "last check): not restarting it", program.name,
                               program.health_url, program.cpu - used)
                program.failures = 0
                continue
            program.failures += 1
            if program.failures >= self.failures:
                self._restart(program)
                restarted.append(program.name)
        return restarted

    def _restart(self, program: Watched) -> None:
        """Kill the hung process: supervisord restarts it at once, as after any crash (a
        polite stop would wait for a process that no longer listens)."""
        logger.error("%s did not answer %s %d times in a row: killing it so that "
                     "supervisord restarts it", program.name, program.health_url,
                     program.failures)
        try:
            self.supervisor.signalProcess(program.name, "KILL")
        except xmlrpc.client.Fault as fault:  # it exited meanwhile: make sure it runs
            logger.info("killing %s: %s; starting it", program.name, fault.faultString)
            try:
                self.supervisor.startProcess(program.name, False)
            except xmlrpc.client.Fault as again:  # autorestart got there first
                logger.info("starting %s: %s", program.name, again.faultString)
        program.failures = 0

    def run_forever(self, interval: float = 5.0) -> None:
        """Check every ``interval`` seconds until stopped."""
        logger.info("watching %s", ", ".join(p.name for p in self.programs) or "nothing")
        while True:
            try:
                self.check_once()
            except (OSError, xmlrpc.client.Error) as exc:  # supervisord is restarting
                logger.warning("cannot reach supervisord: %s", exc)
            time.sleep(interval)
