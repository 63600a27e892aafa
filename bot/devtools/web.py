"""Run the web app and drive Debian's Chromium, for end-to-end tests and benchmarks."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from bot.devtools.stack import ROOT

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Playwright

#: Debian's package (``apt-get install chromium``); Playwright's own browser downloads
#: are not used.
CHROMIUM = Path("/usr/bin/chromium")
AXE_JS = ROOT / "node_modules" / "axe-core" / "axe.min.js"
#: The chat widget is connected and its session confirmed (its input is enabled).
READY_SELECTOR = '[data-codesign-chat][data-state="ready"]'


def free_port() -> int:
    """A TCP port nothing listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def launch_chromium(playwright: Playwright) -> Browser:
    """Headless Debian Chromium (``--no-sandbox``: containers run it as root).

    Raises:
        FileNotFoundError: when Chromium is not installed.
    """
    if not CHROMIUM.exists():
        raise FileNotFoundError(f"{CHROMIUM} is missing: `apt-get install chromium` "
                                "(scripts/setup.sh does it)")
    return playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                      args=["--no-sandbox"])


@dataclass
class WebServer:
    """The web app (``python -m bot.web``) in a subprocess.

    Attributes:
        env: its environment (``DATABASE_URL``, ``RASA_PUBLIC_URL``, ...).
        port: where it listens; a free port when 0.
        log: where its output goes.
    """

    env: dict[str, str]
    log: Path
    port: int = 0
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30) -> None:
        """Start it and wait until ``/health`` answers.

        Raises:
            RuntimeError: it exited or did not answer in time (with its log).
        """
        self.port = self.port or free_port()
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [str(ROOT / ".venv/bin/python"), "-m", "bot.web", "--port", str(self.port),
             "--log-level", "warning"],
            cwd=ROOT, env=self.env, stdout=self.log.open("ab"), stderr=subprocess.STDOUT,
            start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("the web app exited early:\n" + self.log_tail())
            try:
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError("the web app did not answer in time:\n" + self.log_tail())

    def stop(self) -> None:
        """Stop it (SIGTERM, then SIGKILL)."""
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def log_tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])
