"""The run commands' process layouts, started for tests and benchmarks.

``SupervisedStack`` renders the same supervisord (and nginx) configuration that
``make run`` or ``make run-scaled`` renders, for a temporary var folder and spare ports,
and runs supervisord with it, so the tests exercise what an operator runs: the programs,
their restarts, the watchdog and nginx. ``ScaledStack`` is the scaled mode's.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bot.devtools.stack import ROOT, Chat, server_env
from bot.ops import layout as layouts
from bot.ops import render
from bot.ops.layout import Layout, Mode
from bot.ops.readiness import wait_until_healthy
from bot.ops.watchdog import Supervisor, connect


@dataclass
class SupervisedStack:
    """A supervised set of programs sharing one database.

    Args:
        mode: embedded or scaled.
        workdir: the var folder (logs, sockets, configuration, knowledge index).
        database_url: the app store (and Rasa's tracker store).
        settings: layout variables and other environment (``CODESIGN_PUBLIC_PORT``,
            ``CODESIGN_INTERNAL_PORT_BASE``, ``REDIS_URL``, ``CODESIGN_RASA_PORT``, …).
        launcher: a prefix for the commands it runs, e.g. ``Host.command()``'s to run the
            programs on a simulated machine (bot.devtools.hosts).
    """

    mode: Mode
    workdir: Path
    database_url: str
    settings: dict[str, str] = field(default_factory=dict)
    launcher: list[str] = field(default_factory=list)
    rasa_token: str = field(default_factory=lambda: secrets.token_hex(16))
    action_token: str = field(default_factory=lambda: secrets.token_hex(16))
    process: subprocess.Popen[bytes] | None = None
    _client: httpx.Client | None = field(default=None, init=False, repr=False)
    _client_lock: threading.Lock = field(default_factory=threading.Lock, init=False,
                                         repr=False)

    def env(self) -> dict[str, str]:
        """The environment supervisord (and so every program) runs with."""
        env = server_env(self.database_url, self.workdir, self.rasa_token, self.action_token)
        env.update(self.settings)
        env.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")
        env.update(_redis_parts(env["REDIS_URL"]))
        env["ACTION_ENDPOINT_URL"] = self.layout.action_endpoint_url
        return env

    @property
    def layout(self) -> Layout:
        """This stack's layout (from its settings)."""
        env = server_env(self.database_url, self.workdir, self.rasa_token, self.action_token)
        env.update(self.settings)
        return layouts.from_env(self.mode, env, root=ROOT)

    @property
    def rasa_url(self) -> str:
        """Where citizens' channels post: nginx in the scaled mode, else Rasa."""
        layout = self.layout
        if self.mode is Mode.scaled:
            return f"http://127.0.0.1:{layout.public_port}"
        return f"http://{layout.rasa_upstreams[0]}"

    @property
    def client(self) -> httpx.Client:
        """One kept-open HTTP client for every chat (thread-safe)."""
        with self._client_lock:
            if self._client is None:
                self._client = httpx.Client(timeout=90)
            return self._client

    def chat(self, sender: str | None = None) -> Chat:
        """A new conversation over the REST channel."""
        return Chat(self, sender or f"citizen-{uuid.uuid4().hex[:8]}")

    def start(self, timeout: float = 400) -> None:
        """Render the configuration, start supervisord and wait until every program
        answers its health check.

        Raises:
            RuntimeError: supervisord exited or a program did not become healthy in time
                (everything is stopped first; the message has the end of the logs).
        """
        layout = self.layout
        render.write(layout)
        if any(p.kind == "nginx" for p in layout.programs):
            check = subprocess.run([*self.launcher, "nginx", "-q", "-t", "-c",
                                    str(self.workdir / "nginx.conf"), "-p",
                                    str(self.workdir / "nginx")],
                                   capture_output=True, text=True, check=False)
            if check.returncode != 0:
                raise RuntimeError(f"nginx refused the configuration: {check.stderr}")
        self.process = subprocess.Popen(
            [*self.launcher, str(ROOT / ".venv/bin/supervisord"), "-c",
             str(self.workdir / "supervisord.conf")],
            cwd=ROOT, env=self.env(), stdout=(self.workdir / "logs" / "supervisor.out").open("ab"),
            stderr=subprocess.STDOUT, start_new_session=True)
        try:
            self.wait_healthy(timeout=timeout)
        except BaseException:
            self.stop()
            raise

    def wait_healthy(self, names: list[str] | None = None, timeout: float = 300) -> None:
        """Wait until the programs ``names`` (default: all with a health URL) answer.

        Raises:
            RuntimeError: supervisord is not running, or they did not answer in time.
        """
        urls = {p.name: p.health_url for p in self.layout.programs
                if p.health_url and (names is None or p.name in names)}
        deadline = time.monotonic() + timeout
        while True:
            if self.process is None or self.process.poll() is not None:
                raise RuntimeError("supervisord is not running:\n" + self.log_tail())
            missing = wait_until_healthy(urls, min(5.0, max(0.1, deadline - time.monotonic())))
            if not missing:
                return
            if time.monotonic() >= deadline:
                raise RuntimeError(f"not healthy after {timeout:.0f} s: {missing}\n"
                                   + self.log_tail(missing))
            urls = {name: urls[name] for name in missing}

    def codesign(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """Run the ``codesign`` CLI as this stack's machine would (its environment)."""
        return subprocess.run([*self.launcher, str(ROOT / ".venv/bin/codesign"), *args],
                              cwd=ROOT, env=self.env(), capture_output=True, text=True,
                              timeout=timeout, check=False)

    def supervisor(self) -> Supervisor:
        """supervisord's XML-RPC interface."""
        data = json.loads((self.workdir / "programs.json").read_text())["supervisor"]
        return connect(data["socket"], data["username"], data["password"])

    def states(self) -> dict[str, dict[str, Any]]:
        """Each program's supervisord state (``statename``, ``pid``, ``start``, …)."""
        return {info["name"]: info for info in self.supervisor().getAllProcessInfo()}

    def pid(self, name: str) -> int:
        """The pid of a running program."""
        return int(self.states()[name]["pid"])

    def kill(self, name: str, sig: signal.Signals = signal.SIGKILL) -> int:
        """Send ``sig`` to a program's process group (supervisord starts each program in
        its own, so uvicorn's and nginx's workers get it too); returns the pid."""
        pid = self.pid(name)
        os.killpg(os.getpgid(pid), sig)
        return pid

    def wait_restarted(self, name: str, old_pid: int, timeout: float = 300) -> float:
        """Wait until ``name`` runs again with a new pid and answers; returns the seconds
        it took (the recovery time).

        Raises:
            RuntimeError: it did not come back in time.
        """
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            info = self.states().get(name, {})
            if info.get("statename") == "RUNNING" and info.get("pid") not in (0, old_pid):
                self.wait_healthy([name], timeout=max(1.0, timeout - (time.monotonic()
                                                                      - started)))
                return time.monotonic() - started
            time.sleep(0.2)
        raise RuntimeError(f"{name} was not restarted within {timeout:.0f} s\n"
                           + self.log_tail([name]))

    def log_tail(self, names: list[str] | None = None, lines: int = 30) -> str:
        """The end of the programs' logs (default: every log)."""
        logs = self.workdir / "logs"
        paths = ([logs / f"{name}.log" for name in names] if names is not None
                 else [*sorted(logs.glob("*.log")), logs / "supervisor.out"])
        return "\n".join(f"--- {path.name}\n" + "\n".join(
            path.read_text(errors="replace").splitlines()[-lines:])
            for path in paths if path.exists())

    def stop(self) -> None:
        """Stop supervisord and every program (SIGTERM, then SIGKILL)."""
        with self._client_lock:
            if self._client is not None:
                self._client.close()
                self._client = None
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self.process = None


def _redis_parts(url: str) -> dict[str, str]:
    """REDIS_HOST, REDIS_PORT, REDIS_DB and REDIS_PASSWORD of a redis:// URL (as
    scripts/env.sh derives them for Rasa's lock store)."""
    from urllib.parse import unquote, urlsplit

    parts = urlsplit(url)
    return {"REDIS_HOST": parts.hostname or "127.0.0.1", "REDIS_PORT": str(parts.port or 6379),
            "REDIS_DB": parts.path.strip("/") or "0",
            "REDIS_PASSWORD": unquote(parts.password or "")}


def ScaledStack(workdir: Path, database_url: str,
                redis_url: str = "redis://127.0.0.1:6379/0", public_port: int = 8380,
                internal_port_base: int = 7300, **settings: str) -> SupervisedStack:
    """The scaled mode (2 Rasa servers, 2 action servers, the web app, nginx on
    ``public_port``) on PostgreSQL ``database_url`` and Redis ``redis_url``."""
    return SupervisedStack(Mode.scaled, workdir, database_url, {
        "REDIS_URL": redis_url, "CODESIGN_PUBLIC_PORT": str(public_port),
        "CODESIGN_INTERNAL_PORT_BASE": str(internal_port_base), **settings})
