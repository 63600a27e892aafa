"""Fixtures that run the real servers (trained model, action server, real database)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

from bot.devtools.stack import Stack, ingest_demo_knowledge, launch_demo
from bot.devtools.web import AXE_JS, CHROMIUM, launch_chromium
from tests.conftest import require_service


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """One SQLite-backed stack shared by the end-to-end tests."""
    workdir: Path = tmp_path_factory.mktemp("stack")
    url = f"sqlite:///{workdir / 'codesign.db'}"
    launch_demo(url)
    ingest_demo_knowledge(url, workdir)
    # CODESIGN_TEST_PORT_BASE lets two test runs share a machine (default: 5105/5155).
    base = int(os.environ.get("CODESIGN_TEST_PORT_BASE", "5100"))
    running = Stack(url, workdir, rasa_port=base + 5, action_port=base + 55)
    running.start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Headless Debian Chromium (skipped with the reason when missing; fails under CI)."""
    if not CHROMIUM.exists():
        require_service("Chromium", f"{CHROMIUM} is missing (apt-get install chromium)")
    if not AXE_JS.exists():
        require_service("axe-core", f"{AXE_JS} is missing (npm ci)")
    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()
