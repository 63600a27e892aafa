"""Fixtures of the review-area page tests (tests/unit/test_review_web*.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from bot.store import repository
from tests.unit.review_web_support import ADMIN, REVIEWER, Seeded, make_app, seed, signed_in
from tests.unit.test_engine import _Today


@pytest.fixture
def seeded(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> Seeded:
    """A store with the library consultation taken by citizens and staff users made."""
    monkeypatch.setattr(repository, "date", _Today)
    return seed(sqlite_url)


@pytest.fixture
def app(seeded: Seeded, tmp_path: Path) -> FastAPI:
    """The web app (with the review area) on the seeded store; its data folder (knowledge
    index, uploads) is the test's own."""
    return make_app(seeded.url, tmp_path / "var")


@pytest.fixture
def anonymous(app: FastAPI) -> Iterator[TestClient]:
    """A browser that has not signed in."""
    with TestClient(app) as client:
        yield client


@pytest.fixture
def reviewer(app: FastAPI) -> TestClient:
    """A browser signed in as the seeded reviewer."""
    return signed_in(app, REVIEWER)


@pytest.fixture
def admin(app: FastAPI) -> TestClient:
    """A browser signed in as the seeded admin."""
    return signed_in(app, ADMIN)
