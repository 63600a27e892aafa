"""Fixtures that run the real servers (trained model, action server, real database)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.devtools.stack import Stack, ingest_demo_knowledge, launch_demo


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """One SQLite-backed stack shared by the end-to-end tests."""
    workdir: Path = tmp_path_factory.mktemp("stack")
    url = f"sqlite:///{workdir / 'codesign.db'}"
    launch_demo(url)
    ingest_demo_knowledge(url, workdir)
    running = Stack(url, workdir)
    running.start()
    yield running
    running.stop()
