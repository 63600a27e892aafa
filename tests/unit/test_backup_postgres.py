"""``codesign backup`` / ``restore`` on PostgreSQL (pg_dump / pg_restore against the real
server, in databases these tests create and drop): a round trip taken while another
connection keeps writing, the refusals, a migrated empty schema with --force, and the
pg_dump checks (missing, older than the server)."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from bot.backup import BackupError, postgres
from bot.backup.progress import Quiet
from bot.backup.restore import restore_backup
from bot.backup.take import take_backup
from bot.store.db import migrate, normalise_url, session_scope
from bot.store.models import TranscriptEntry
from tests.conftest import fresh_postgres_database, require_service
from tests.unit.backup_support import (
    CHAT_ID,
    SECRET,
    exports,
    fill,
    installation,
    opened_contacts,
    revision,
    tracker_rows,
)


@pytest.fixture
def client_programs() -> None:
    """pg_dump and pg_restore (skipped with the reason when missing; fails under CI)."""
    for name in ("pg_dump", "pg_restore"):
        if shutil.which(name) is None:
            require_service(name, "install postgresql-client (scripts/setup.sh does)")


class Writer(threading.Thread):
    """Inserts tracker events one transaction at a time until stopped."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.engine = create_engine(normalise_url(url), poolclass=NullPool)
        self.stop = threading.Event()
        self.written = 0

    def run(self) -> None:
        with self.engine.connect() as connection:
            while not self.stop.is_set():
                connection.execute(text("INSERT INTO events (sender_id, type_name, timestamp) "
                                        "VALUES ('writer', 'user', 0)"))
                connection.commit()
                self.written += 1


@pytest.mark.postgres
@pytest.mark.usefixtures("client_programs")
def test_postgres_round_trip_while_writing(tmp_path: Path) -> None:
    with fresh_postgres_database() as source_url, fresh_postgres_database() as target_url:
        source = installation(tmp_path / "source", url=source_url)
        source.var.mkdir()
        fill(source)
        writer = Writer(source_url)
        writer.start()
        try:
            while writer.written < 20:
                writer.stop.wait(0.01)
            before = writer.written
            made = take_backup(source, tmp_path / "backup", Quiet())
            after = writer.written
        finally:
            writer.stop.set()
            writer.join()
            writer.engine.dispose()
        dump = tmp_path / "backup" / "app-database.pgdump"
        assert dump.read_bytes()[:5] == b"PGDMP"  # pg_dump's custom format
        assert made.engine == "postgresql" and made.app_schema_revision == revision(source_url)
        assert after > before, "the writer was not writing during the backup"

        target = installation(tmp_path / "target", url=target_url)
        restore_backup(target, tmp_path / "backup", Quiet())
        assert exports(target_url) == exports(source_url)
        restored = tracker_rows(target_url)
        ids = [row[0] for row in restored]
        assert ids == list(range(1, len(ids) + 1))  # the rows of one moment, no gap
        assert restored == tracker_rows(source_url)[:len(restored)]
        assert opened_contacts(target_url, SECRET) == [CHAT_ID]
        with session_scope(target_url) as session:  # sequences carry on after the restore
            entry = TranscriptEntry(participation_id=1, direction="in", text="after")
            session.add(entry)
            session.flush()
            assert entry.id > max(session.execute(
                text("SELECT id FROM transcript_entries WHERE text <> 'after'")).scalars())
        with pytest.raises(BackupError, match="already holds data"):
            restore_backup(target, tmp_path / "backup", Quiet(), force=True)


@pytest.mark.postgres
@pytest.mark.usefixtures("client_programs")
def test_postgres_restore_into_a_migrated_empty_schema(tmp_path: Path) -> None:
    with fresh_postgres_database() as source_url, fresh_postgres_database() as target_url:
        source = installation(tmp_path / "source", url=source_url)
        source.var.mkdir()
        fill(source)
        take_backup(source, tmp_path / "backup", Quiet())
        migrate(target_url)
        target = installation(tmp_path / "target", url=target_url)
        with pytest.raises(BackupError, match=r"has tables already.*--force"):
            restore_backup(target, tmp_path / "backup", Quiet())
        restore_backup(target, tmp_path / "backup", Quiet(), force=True)
        assert exports(target_url) == exports(source_url)
        assert tracker_rows(target_url) == tracker_rows(source_url)


@pytest.mark.postgres
@pytest.mark.usefixtures("client_programs")
def test_pg_dump_older_than_the_server_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    with fresh_postgres_database() as url:
        assert postgres.checked_tool("pg_dump", url).name == "pg_dump"
        monkeypatch.setattr(postgres, "tool_major", lambda _program: 9)
        with pytest.raises(BackupError, match=r"pg_dump is version 9 but the server is "
                                              r"PostgreSQL \d+.*postgresql-client-\d+"):
            postgres.checked_tool("pg_dump", url)


def test_a_missing_pg_dump_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(BackupError, match=r"pg_dump is not installed.*apt-get install "
                                          "postgresql-client"):
        postgres.tool("pg_dump")


def test_the_password_never_reaches_the_command_line() -> None:
    uri, env = postgres.libpq("postgresql+psycopg://app:s3cr%40t@db.example:5433/codesign")
    assert uri == "postgresql://app@db.example:5433/codesign"
    assert env["PGPASSWORD"] == "s3cr@t"
