"""The Alembic migrations create exactly the tables and columns the models declare, and
each one downgrades and upgrades again (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from bot.store import (  # noqa: F401  (registers their tables)
    audit_models,
    review_models,
    telegram_models,
)
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
    assert revisions[:7] == ["0001", "0002", "0003", "0004", "0005", "0006", "0007"]
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


def test_tokens_made_before_form_ids_existed_are_kept_and_form_ids_are_unique(
        database_url: str) -> None:
    config = alembic_config(database_url)
    command.upgrade(config, "0006")
    token = ("INSERT INTO api_tokens (user_id, name, token_hash, revoked, created_at{}) "
             "VALUES (1, :name, :hash, false, '2026-11-01 10:00:00+00:00'{})")
    with engine_for(database_url).begin() as connection:
        connection.execute(text(
            "INSERT INTO users (id, email, role, password_hash, active, failed_logins, "
            "created_at) VALUES (1, 'a@example.org', 'admin', 'x', true, 0, "
            "'2026-11-01 09:00:00+00:00')"))
        for n in (1, 2):
            connection.execute(text(token.format("", "")),
                               {"name": f"old {n}", "hash": f"{n}" * 64})
    command.upgrade(config, "0007")
    with engine_for(database_url).begin() as connection:
        rows = connection.execute(text("SELECT name, form_id FROM api_tokens ORDER BY id"))
        assert [tuple(row) for row in rows] == [("old 1", None), ("old 2", None)]
        connection.execute(text(token.format(", form_id", ", :form")),
                           {"name": "new", "hash": "3" * 64, "form": "f" * 22})
    with pytest.raises(IntegrityError), engine_for(database_url).begin() as connection:
        connection.execute(text(token.format(", form_id", ", :form")),
                           {"name": "again", "hash": "4" * 64, "form": "f" * 22})
    command.downgrade(config, "0006")
    with engine_for(database_url).connect() as connection:
        columns = {c["name"] for c in inspect(connection).get_columns("api_tokens")}
        names = connection.execute(text("SELECT name FROM api_tokens ORDER BY id")).scalars()
        assert list(names) == ["old 1", "old 2", "new"]
    assert "form_id" not in columns and "token_hash" in columns


def test_words_marked_not_offered_are_unique_per_collection(database_url: str) -> None:
    config = alembic_config(database_url)
    command.upgrade(config, "0010")
    assert "knowledge_gap_words" not in _tables(database_url)
    command.upgrade(config, "0011")
    mark = ("INSERT INTO knowledge_gap_words (collection, word, status, marked_by, marked_at) "
            "VALUES (:collection, 'fax', 'not_offered', 'a@example.org', "
            "'2026-11-01 10:00:00+00:00')")
    with engine_for(database_url).begin() as connection:
        connection.execute(text(mark), {"collection": "libraries"})
        connection.execute(text(mark), {"collection": "parks"})
    with pytest.raises(IntegrityError), engine_for(database_url).begin() as connection:
        connection.execute(text(mark), {"collection": "libraries"})
    command.downgrade(config, "0010")
    assert "knowledge_gap_words" not in _tables(database_url)
    assert "knowledge_glossaries" in _tables(database_url)
