"""Start and stop the real servers (action server + Rasa server) for tests and benchmarks."""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import httpx

ROOT = Path(__file__).resolve().parents[2]


def rasa_url_for(database_url: str) -> str:
    """The driver-less URL Rasa's SQLAlchemy 1.4 (psycopg2) understands."""
    for prefix in ("postgresql+psycopg://", "postgresql+psycopg2://", "postgres://"):
        if database_url.startswith(prefix):
            return "postgresql://" + database_url[len(prefix):]
    return database_url


def launch_demo(database_url: str, folder: Path | None = None) -> None:
    """Migrate the database and launch the consultation files of ``folder`` (the demos)."""
    from bot.consultations.schema import parse_consultation_file
    from bot.store import repository as repo
    from bot.store.db import migrate, session_scope

    migrate(database_url)
    with session_scope(database_url) as session:
        for path in sorted((folder or ROOT / "consultations").glob("*.yml")):
            repo.launch_consultation(session, parse_consultation_file(path),
                                     path.read_text(encoding="utf-8"))


def ingest_demo_knowledge(database_url: str, var: Path, folder: Path | None = None) -> None:
    """Ingest each collection folder of ``knowledge/`` into the store and index under ``var``."""
    from bot.knowledge.ingest import ingest
    from bot.store.db import migrate, session_scope

    migrate(database_url)
    root = folder or ROOT / "knowledge"
    with session_scope(database_url) as session:
        for collection in sorted(p for p in root.iterdir() if p.is_dir()):
            report = ingest(session, [collection], collection.name, var)
            if report.failed:
                raise RuntimeError(f"demo knowledge failed to ingest: {report.failed}")


def server_env(database_url: str, workdir: Path, rasa_token: str,
               action_token: str) -> dict[str, str]:
    """The environment of the servers of a test or benchmark stack (scripts/env.sh's)."""
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url,
        RASA_TRACKER_URL=rasa_url_for(database_url),
        CODESIGN_VAR_DIR=str(workdir),
        PYTHONPATH=str(ROOT),
        RASA_TELEMETRY_ENABLED="false",
        TF_CPP_MIN_LOG_LEVEL="2",
        HF_HUB_OFFLINE="1",
        RASA_AUTH_TOKEN=rasa_token,
        ACTION_SERVER_TOKEN=action_token,
        SANIC_BACKLOG="1024",
        SQL_POOL_SIZE="3",
        SQL_MAX_OVERFLOW="5",
        TICKET_LOCK_LIFETIME="20",
    )
    return env


def rss_mb(pid: int) -> float:
    """Resident memory of a process in MiB (from /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and its child processes (Sanic workers), in MiB."""
    children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True,
                              check=False).stdout.split()
    return rss_mb(pid) + sum(tree_rss_mb(int(child)) for child in children)


def _port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def latest_model() -> Path:
    """The trained model (scripts/train.sh names it after its inputs)."""
    models = sorted((ROOT / "models").glob("codesign-*.tar.gz"), key=lambda p: p.stat().st_mtime)
    if not models:
        raise RuntimeError("no trained model in models/: run `make test` (it trains once)")
    return models[-1]


@dataclass
class Stack:
    """A running action server and Rasa server sharing one database."""

    database_url: str
    workdir: Path
    rasa_port: int = 5105
    action_port: int = 5155
    #: Extra environment of both servers (e.g. ``CODESIGN_ACTION_TIMEOUT``).
    extra_env: dict[str, str] = field(default_factory=dict)
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    #: Rasa's HTTP API token and the action server's token, fresh for each stack.
    rasa_token: str = field(default_factory=lambda: secrets.token_hex(16))
    action_token: str = field(default_factory=lambda: secrets.token_hex(16))
    _client: httpx.Client | None = field(default=None, init=False, repr=False)
    _client_lock: threading.Lock = field(default_factory=threading.Lock, init=False,
                                         repr=False)

    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}"

    @property
    def client(self) -> httpx.Client:
        """One kept-open HTTP client for every chat (thread-safe), as a channel keeps one:
        ``httpx.post`` builds a client per call, about 20 ms of certificate loading that
        would count in every turn a benchmark times."""
        with self._client_lock:
            if self._client is None:
                self._client = httpx.Client(timeout=60)
            return self._client

    def env(self) -> dict[str, str]:
        env = server_env(self.database_url, self.workdir, self.rasa_token, self.action_token)
        env["ACTION_ENDPOINT_URL"] = f"http://127.0.0.1:{self.action_port}/webhook"
        env.update(self.extra_env)
        return env

    def start(self, timeout: float = 180) -> None:
        """Start both servers and wait until Rasa answers with a loaded model.

        Raises:
            RuntimeError: a port is taken, a server exited, or they were not ready in time
                (both servers are stopped first).
        """
        for port in (self.rasa_port, self.action_port):
            if _port_in_use(port):
                raise RuntimeError(f"port {port} is already in use (another server running?)")
        try:
            self._start(timeout)
        except BaseException:
            self.stop()
            raise

    def _start(self, timeout: float) -> None:
        logs = self.workdir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        env = self.env()
        actions = subprocess.Popen(
            [str(ROOT / ".venv/bin/python"), "-m", "bot.action_server",
             "--port", str(self.action_port)],
            cwd=ROOT, env=env, stdout=(logs / "actions.log").open("ab"),
            stderr=subprocess.STDOUT, start_new_session=True)
        rasa = subprocess.Popen(
            [str(ROOT / ".venv-rasa/bin/python"), "-m", "rasa_ext.serve", "--enable-api",
             "--port", str(self.rasa_port), "--model", str(latest_model()), "--endpoints",
             "endpoints.yml", "--credentials", "credentials.yml"],
            cwd=ROOT, env=env, stdout=(logs / "rasa.log").open("ab"),
            stderr=subprocess.STDOUT, start_new_session=True)
        self.processes = [actions, rasa]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for process in self.processes:
                if process.poll() is not None:
                    raise RuntimeError(f"a server exited early; see {logs}:\n"
                                       + self.log_tail())
            if self._ready():
                return
            time.sleep(0.5)
        raise RuntimeError("servers did not become ready in time:\n" + self.log_tail())

    def _ready(self) -> bool:
        try:
            status = httpx.get(f"{self.rasa_url}/status", params={"token": self.rasa_token},
                               timeout=2)
            health = httpx.get(f"http://127.0.0.1:{self.action_port}/health", timeout=2)
        except httpx.HTTPError:
            return False
        return status.status_code == 200 and "model_file" in status.json() and \
            health.status_code == 200

    def stop(self) -> None:
        """Stop both servers (SIGTERM, then SIGKILL) and close the chats' client."""
        with self._client_lock:
            if self._client is not None:
                self._client.close()
                self._client = None
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        self.processes = []

    def restart(self) -> None:
        """Stop and start both servers (state must survive in the database)."""
        self.stop()
        self.start()

    def memory_mb(self) -> dict[str, float]:
        """Resident memory of the action server and the Rasa server, in MiB."""
        names = ("action_server", "rasa_server")
        return {name: tree_rss_mb(p.pid) for name, p in zip(names, self.processes, strict=True)}

    def log_tail(self, lines: int = 40) -> str:
        out = []
        for name in ("actions.log", "rasa.log"):
            path = self.workdir / "logs" / name
            if path.exists():
                out.append(f"--- {name}\n" + "\n".join(
                    path.read_text(errors="replace").splitlines()[-lines:]))
        return "\n".join(out)

    def chat(self, sender: str | None = None) -> Chat:
        """A new conversation with the bot."""
        return Chat(self, sender or f"citizen-{uuid.uuid4().hex[:8]}")


@dataclass
class Reply:
    """The bot's messages for one user message."""

    messages: list[dict[str, Any]]

    @property
    def text(self) -> str:
        return "\n".join(m.get("text") or "" for m in self.messages)

    @property
    def buttons(self) -> list[dict[str, str]]:
        return [b for m in self.messages for b in (m.get("buttons") or [])]

    def button(self, title_part: str) -> dict[str, str]:
        for button in self.buttons:
            if title_part.casefold() in button["title"].casefold():
                return button
        raise AssertionError(f"no button containing {title_part!r} in {self.buttons}\n{self.text}")


class ChatTarget(Protocol):
    """Where chats post: the REST channel at ``rasa_url`` (Rasa itself, or the public entry
    point in the scaled mode), through one kept-open client."""

    @property
    def rasa_url(self) -> str: ...

    @property
    def client(self) -> httpx.Client: ...


@dataclass
class Chat:
    """One citizen talking to the bot over the REST channel.

    ``channel``: sent in the metadata as the Telegram bridge (``telegram``) and the web
    chat widget (``web``) send it; without it the action server sees ``rest``.
    """

    stack: ChatTarget
    sender: str
    last: Reply | None = None
    channel: str | None = None

    def say(self, text: str, message_id: str | None = None) -> Reply:
        metadata = {"message_id": message_id or uuid.uuid4().hex}
        if self.channel:
            metadata["channel"] = self.channel
        body = {"sender": self.sender, "message": text, "metadata": metadata}
        response = self.stack.client.post(f"{self.stack.rasa_url}/webhooks/rest/webhook",
                                           json=body)
        response.raise_for_status()
        self.last = Reply(response.json())
        assert self.last.messages, f"the bot stayed silent after {text!r}"
        return self.last

    def press(self, title_part: str) -> Reply:
        assert self.last is not None, "nothing to press yet"
        return self.say(self.last.button(title_part)["payload"])
