"""Fixtures of the review-area page tests (tests/unit/test_review_web*.py)."""

from __future__ import annotations

import pytest
from fastapi import FastAPI

from bot.store import repository
from tests.unit.review_web_support import Seeded, make_app, seed
from tests.unit.test_engine import _Today


@pytest.fixture
def seeded(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> Seeded:
    """A store with the library consultation taken by citizens and staff users made."""
    monkeypatch.setattr(repository, "date", _Today)
    return seed(sqlite_url)


@pytest.fixture
def app(seeded: Seeded) -> FastAPI:
    """The web app (with the review area) on the seeded store."""
    return make_app(seeded.url)
