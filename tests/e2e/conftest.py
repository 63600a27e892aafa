"""Fixtures that run the real servers (trained model, action server, real database)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.consultations.schema import parse_consultation_file
from bot.store import repository as repo
from bot.store.db import migrate, session_scope
from tests.e2e.stack import ROOT, Stack


def launch_demo(database_url: str) -> None:
    """Migrate and launch the shipped demo consultations."""
    migrate(database_url)
    with session_scope(database_url) as session:
        for path in sorted((ROOT / "consultations").glob("*.yml")):
            repo.launch_consultation(session, parse_consultation_file(path),
                                     path.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """One SQLite-backed stack shared by the end-to-end tests."""
    workdir: Path = tmp_path_factory.mktemp("stack")
    url = f"sqlite:///{workdir / 'codesign.db'}"
    launch_demo(url)
    running = Stack(url, workdir)
    running.start()
    yield running
    running.stop()
