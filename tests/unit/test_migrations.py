"""The Alembic migrations create exactly the tables and columns the models declare."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from bot.store import review_models  # noqa: F401  (registers the review tables)
from bot.store.db import engine_for, migrate
from bot.store.models import Base


def test_migrations_match_the_models(sqlite_url: str) -> None:
    migrate(sqlite_url)
    with engine_for(sqlite_url).connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []
