"""The Alembic migrations create exactly the tables and columns the models declare, and
each one downgrades and upgrades again (SQLite and PostgreSQL)."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from bot.store import review_models  # noqa: F401  (registers the review tables)
from bot.store.db import alembic_config, engine_for, migrate
from bot.store.models import Base


def _differences(url: str) -> list[object]:
    with engine_for(url).connect() as connection:
        return list(compare_metadata(MigrationContext.configure(connection), Base.metadata))


def _tables(url: str) -> set[str]:
    with engine_for(url).connect() as connection:
        return set(inspect(connection).get_table_names()) - {"alembic_version"}


def test_migrations_match_the_models(database_url: str) -> None:
    migrate(database_url)
    assert _differences(database_url) == []
    assert _tables(database_url) == set(Base.metadata.tables)


def test_every_migration_downgrades_and_upgrades_again(database_url: str) -> None:
    config = alembic_config(database_url)
    revisions = [script.revision for script in
                 reversed(list(ScriptDirectory.from_config(config).walk_revisions()))]
    assert revisions[:6] == ["0001", "0002", "0003", "0004", "0005", "0006"]
    migrate(database_url)
    head = _tables(database_url)
    for earlier in reversed(["base", *revisions[:-1]]):
        command.downgrade(config, earlier)
    assert _tables(database_url) == set()
    command.upgrade(config, "0004")
    assert "jobs" not in _tables(database_url)
    command.upgrade(config, "0005")  # the background jobs, one running per key
    with engine_for(database_url).connect() as connection:
        indexes = inspect(connection).get_indexes("jobs")
    assert [(i["name"], i["column_names"], bool(i["unique"])) for i in indexes] == [
        ("uq_jobs_running_key", ["key"], True)]
    migrate(database_url)
    assert _tables(database_url) == head
    assert _differences(database_url) == []


def test_service_questions_asked_before_disputes_existed_are_kept_undisputed(
        database_url: str) -> None:
    config = alembic_config(database_url)
    command.upgrade(config, "0005")
    with engine_for(database_url).begin() as connection:
        connection.execute(text(
            "INSERT INTO knowledge_queries (text, collections, answered, hits, forwarded, "
            "asked_at) VALUES ('is the pond deep', '[]', true, '[]', false, "
            "'2026-11-01 10:00:00+00:00')"))
    command.upgrade(config, "0006")
    with engine_for(database_url).connect() as connection:
        rows = connection.execute(text("SELECT text, answered, disputed FROM knowledge_queries"))
        assert [tuple(row) for row in rows] == [("is the pond deep", True, False)]
    command.downgrade(config, "0005")
    with engine_for(database_url).connect() as connection:
        columns = {c["name"] for c in inspect(connection).get_columns("knowledge_queries")}
    assert "disputed" not in columns and "forwarded" in columns
