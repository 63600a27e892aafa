"""``codesign backup`` / ``restore`` on SQLite: what a backup holds, its manifest and
checksums, file modes, the refusals (existing path, damaged backup, target holding data,
another engine, another secret key, a newer schema), a backup taken while a process
keeps writing, an older backup migrated on restore, and a separate tracker store."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from alembic import command
from typer.testing import CliRunner

from bot.backup import BackupError, knowledge, sqlite
from bot.backup.installation import UPLOADS, Installation
from bot.backup.manifest import NAME, VERSION
from bot.backup.progress import Advance, Quiet
from bot.backup.restore import restore_backup
from bot.backup.take import take_backup
from bot.cli.main import app
from bot.knowledge import generations
from bot.knowledge import index as ix
from bot.store.db import alembic_config, session_scope
from tests.unit.backup_support import (
    CHAT_ID,
    SECRET,
    add_passages,
    exports,
    fill,
    installation,
    modes,
    opened_contacts,
    record_generation,
    revision,
    tracker_rows,
)

HEAD_FILES = {"app-database.sqlite3", "uploads/libraries/hours.md", "secrets/secret.key",
              "secrets/rasa-auth.token"}


@pytest.fixture
def source(tmp_path: Path) -> Installation:
    """A filled installation under ``tmp_path/source``."""
    made = installation(tmp_path / "source")
    made.var.mkdir()
    fill(made)
    return made


def fresh(tmp_path: Path, name: str = "target", **kwargs: object) -> Installation:
    """An empty installation (its data folder does not exist yet)."""
    return installation(tmp_path / name, **kwargs)  # type: ignore[arg-type]


def head() -> str:
    from bot.backup.restore import _script

    return _script().get_current_head() or ""


# ----------------------------------------------------------------------------- backups
def test_backup_holds_every_part_with_checksums(source: Installation, tmp_path: Path) -> None:
    path = tmp_path / "backup"
    made = take_backup(source, path, Quiet())
    manifest = json.loads((path / NAME).read_text())
    assert manifest["format"] == "codesign-backup" and manifest["version"] == VERSION
    assert manifest["app_schema_revision"] == head() == made.app_schema_revision
    assert manifest["engine"] == "sqlite"
    assert manifest["secret_key"]["source"] == "var"
    assert set(manifest["parts"]) == {"app-database", "knowledge", "uploads", "secrets"}
    assert manifest["parts"]["app-database"]["details"] == {"engine": "sqlite",
                                                            "tracker_store": True}
    live = ix.current_generation(source.var)
    assert live is not None
    assert manifest["parts"]["knowledge"]["details"] == {"generation": live.name}
    on_disk = {str(p.relative_to(path)) for p in path.rglob("*") if p.is_file()} - {NAME}
    assert set(manifest["files"]) == on_disk
    assert on_disk >= HEAD_FILES
    assert {f"knowledge/{live.name}/{n}" for n in ("manifest.json", "passages.json",
                                                   "libraries.faiss")} <= on_disk
    for name, entry in manifest["files"].items():
        data = (path / name).read_bytes()
        assert entry == {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    assert (path / "uploads/libraries/hours.md").read_bytes() == \
        (source.uploads / "libraries/hours.md").read_bytes()
    assert not path.with_name("backup.part").exists()


def test_backup_files_are_private(source: Installation, tmp_path: Path) -> None:
    path = tmp_path / "backup"
    take_backup(source, path, Quiet())
    found = modes(path)
    folders = {name for name in found if (path / name).is_dir()}
    assert folders >= {".", "uploads", "knowledge", "secrets"}
    assert {name: mode for name, mode in found.items() if name in folders} == \
        dict.fromkeys(folders, 0o700)
    assert {name: mode for name, mode in found.items() if name not in folders} == \
        dict.fromkeys(set(found) - folders, 0o600)


def test_backup_copies_the_database_as_of_one_moment(source: Installation, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Another process inserts rows as fast as it can while the copy is taken in many small
    steps: the copy is whole and holds exactly the rows of one moment (ids 1..n)."""
    database = source.var / "codesign.db"
    with sqlite3.connect(database) as connection:
        connection.execute("CREATE TABLE counter (id INTEGER PRIMARY KEY, filler BLOB)")
        connection.executemany("INSERT INTO counter (filler) VALUES (?)",
                               [(bytes(2000),) for _ in range(3000)])
    monkeypatch.setattr(sqlite, "STEP_PAGES", 8)
    counting = Counting()
    writer = subprocess.Popen([sys.executable, "-c", (
        "import sqlite3, sys\n"
        f"c = sqlite3.connect({str(database)!r}, timeout=30)\n"
        "print('ready', flush=True)\n"
        "while True:\n"
        "    c.execute('INSERT INTO counter (filler) VALUES (zeroblob(100))'); c.commit()\n")],
        stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout is not None and writer.stdout.readline().strip() == "ready"
        time.sleep(0.2)
        before = _count(database)
        take_backup(source, tmp_path / "backup", counting)
        after = _count(database)
    finally:
        writer.kill()
        writer.wait()
    copy = tmp_path / "backup" / "app-database.sqlite3"
    with sqlite3.connect(copy) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        count, top = connection.execute("SELECT count(*), max(id) FROM counter").fetchone()
    assert after > before, "the writer was not writing during the backup"
    assert before <= count <= after
    assert count == top  # no gap: the rows of one moment
    # Copied once from the first page to the last: never restarted by the writer.
    steps, total = counting.steps["app database"], counting.totals["app database"]
    assert all(step > 0 for step in steps) and sum(steps) == total
    assert len(steps) == -(-total // (8 * 4096))  # one step per 8 pages, rounded up


class Counting(Quiet):
    """Records what each progress bar was told."""

    def __init__(self) -> None:
        self.steps: dict[str, list[int]] = {}
        self.totals: dict[str, int] = {}

    @contextmanager
    def bar(self, label: str, total: int) -> Iterator[Advance]:
        self.totals[label] = total
        steps = self.steps.setdefault(label, [])
        yield steps.append


def _count(database: Path) -> int:
    with sqlite3.connect(database, timeout=30) as connection:
        return int(connection.execute("SELECT count(*) FROM counter").fetchone()[0])


def test_backup_refuses_an_existing_path_unless_forced(source: Installation,
                                                       tmp_path: Path) -> None:
    path = tmp_path / "backup"
    path.mkdir()
    (path / "keep.txt").write_text("mine")
    with pytest.raises(BackupError, match=r"already exists.*--force"):
        take_backup(source, path, Quiet())
    assert (path / "keep.txt").read_text() == "mine"
    take_backup(source, path, Quiet(), force=True)
    assert not (path / "keep.txt").exists() and (path / NAME).is_file()
    assert not path.with_name("backup.replaced").exists()


def test_an_interrupted_backup_never_looks_complete(source: Installation, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "backup"

    def fails(*_args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(knowledge, "back_up_live", fails)
    with pytest.raises(OSError, match="disk full"):
        take_backup(source, path, Quiet())
    assert not path.exists() and not path.with_name("backup.part").exists()
    monkeypatch.undo()
    stale = path.with_name("backup.part")  # as a killed backup leaves it
    stale.mkdir()
    (stale / "app-database.sqlite3").write_text("half")
    take_backup(source, path, Quiet())
    assert not stale.exists()
    assert sqlite.schema_revision(path / "app-database.sqlite3") == head()


def test_backup_refuses_a_path_inside_the_data_folder(source: Installation) -> None:
    with pytest.raises(BackupError, match="inside the data folder"):
        take_backup(source, source.var / "backups" / "b1", Quiet())


def test_backup_needs_a_secret_key(source: Installation, tmp_path: Path) -> None:
    (source.var / "secret.key").unlink()
    keyless = Installation(source.var, source.database_url, source.tracker_url, None)
    with pytest.raises(BackupError, match="CODESIGN_SECRET_KEY is not set"):
        take_backup(keyless, tmp_path / "backup", Quiet())
    assert not (tmp_path / "backup").exists()


# ---------------------------------------------------------------------------- restores
def test_restore_gives_back_the_same_installation(source: Installation, tmp_path: Path) -> None:
    take_backup(source, tmp_path / "backup", Quiet())
    target = fresh(tmp_path)
    done = restore_backup(target, tmp_path / "backup", Quiet())
    assert done.knowledge == "kept" and done.revision == head()
    assert exports(target.database_url) == exports(source.database_url)
    assert tracker_rows(target.database_url) == tracker_rows(source.database_url)
    assert opened_contacts(target.database_url, (target.var / "secret.key").read_bytes()) == \
        [CHAT_ID]
    for name in ("secret.key", "rasa-auth.token", f"{UPLOADS}/libraries/hours.md"):
        assert (target.var / name).read_bytes() == (source.var / name).read_bytes()
    assert (target.var / "secret.key").stat().st_mode & 0o777 == 0o600
    live, original = ix.current_generation(target.var), ix.current_generation(source.var)
    assert live is not None and original is not None and live.name == original.name
    assert ix.read_stamp(live) == ix.read_stamp(original)
    assert (live / "libraries.faiss").read_bytes() == (original / "libraries.faiss").read_bytes()


def test_restore_rebuilds_a_knowledge_index_older_than_the_database(
        source: Installation, tmp_path: Path) -> None:
    """An ingest recorded its generation but this machine had not rebuilt yet."""
    add_passages(source.database_url, ["Sunday opening at the Northgate branch."], seed=1)
    record_generation(source.database_url, None)
    take_backup(source, tmp_path / "backup", Quiet())
    target = fresh(tmp_path)
    assert restore_backup(target, tmp_path / "backup", Quiet()).knowledge == "rebuilt"
    live = ix.current_generation(target.var)
    assert live is not None
    with session_scope(target.database_url) as session:
        latest = generations.latest(session)
    stamp = ix.read_stamp(live)
    assert latest is not None and stamp is not None
    assert stamp.fingerprint == latest.fingerprint
    _, passages = ix.read_generation(live)
    assert len(passages["libraries"]) == 3


def test_a_damaged_backup_is_refused_before_anything_is_written(source: Installation,
                                                                tmp_path: Path) -> None:
    path = tmp_path / "backup"
    take_backup(source, path, Quiet())
    upload = path / "uploads/libraries/hours.md"
    upload.write_bytes(upload.read_bytes().replace(b"nine", b"NINE"))
    (path / "secrets/rasa-auth.token").write_text("short")
    (path / "secrets/secret.key").unlink()
    target = fresh(tmp_path)
    with pytest.raises(BackupError) as caught:
        restore_backup(target, path, Quiet())
    message = str(caught.value)
    assert "uploads/libraries/hours.md: its SHA-256 differs" in message
    assert "secrets/rasa-auth.token: 5 bytes" in message
    assert "secrets/secret.key: missing" in message
    assert not target.var.exists()


@pytest.mark.parametrize(("change", "error"), [
    (lambda m: m.unlink(), "not a complete backup"),
    (lambda m: m.write_text("{not json"), "cannot read"),
    (lambda m: m.write_text(json.dumps({"format": "other"})), "not a codesign backup"),
    (lambda m: m.write_text(json.dumps({"format": "codesign-backup", "version": VERSION + 1})),
     "upgrade codesign"),
    (lambda m: m.write_text(json.dumps({"format": "codesign-backup", "version": VERSION})),
     "incomplete or malformed"),
])
def test_a_bad_manifest_is_named(source: Installation, tmp_path: Path, change: object,
                                 error: str) -> None:
    path = tmp_path / "backup"
    take_backup(source, path, Quiet())
    change(path / NAME)  # type: ignore[operator]
    with pytest.raises(BackupError, match=error):
        restore_backup(fresh(tmp_path), path, Quiet())


def test_a_manifest_cannot_point_outside_the_backup(source: Installation,
                                                    tmp_path: Path) -> None:
    path = tmp_path / "backup"
    take_backup(source, path, Quiet())
    manifest = json.loads((path / NAME).read_text())
    manifest["parts"]["uploads"]["files"].append("../outside.md")
    manifest["files"]["../outside.md"] = {"bytes": 1, "sha256": "0" * 64}
    (path / NAME).write_text(json.dumps(manifest))
    with pytest.raises(BackupError, match="outside the backup"):
        restore_backup(fresh(tmp_path), path, Quiet())


def test_a_manifest_cannot_put_a_file_elsewhere(source: Installation, tmp_path: Path) -> None:
    """A secret's name decides where it is written: only the known secrets are taken."""
    path = tmp_path / "backup"
    take_backup(source, path, Quiet())
    manifest = json.loads((path / NAME).read_text())
    (path / "secrets" / "codesign.db").write_bytes(b"not a database")
    manifest["parts"]["secrets"]["files"].append("secrets/codesign.db")
    manifest["files"]["secrets/codesign.db"] = {
        "bytes": 14, "sha256": hashlib.sha256(b"not a database").hexdigest()}
    (path / NAME).write_text(json.dumps(manifest))
    target = fresh(tmp_path)
    with pytest.raises(BackupError, match=r"secrets names an odd file: 'secrets/codesign\.db'"):
        restore_backup(target, path, Quiet())
    assert not target.var.exists()


def test_restore_refuses_a_database_holding_data(source: Installation, tmp_path: Path) -> None:
    take_backup(source, tmp_path / "backup", Quiet())
    for force in (False, True):
        with pytest.raises(BackupError, match="already holds data"):
            restore_backup(source, tmp_path / "backup", Quiet(), force=force)
    assert exports(source.database_url)  # untouched


def test_restore_into_empty_tables_needs_force(source: Installation, tmp_path: Path) -> None:
    take_backup(source, tmp_path / "backup", Quiet())
    target = fresh(tmp_path)
    from bot.store.db import migrate

    migrate(target.database_url)  # `codesign migrate` ran on the new installation
    with pytest.raises(BackupError, match=r"has tables already.*--force"):
        restore_backup(target, tmp_path / "backup", Quiet())
    restore_backup(target, tmp_path / "backup", Quiet(), force=True)
    assert exports(target.database_url) == exports(source.database_url)


def test_restore_refuses_a_data_folder_holding_uploads(source: Installation,
                                                      tmp_path: Path) -> None:
    take_backup(source, tmp_path / "backup", Quiet())
    target = fresh(tmp_path)
    (target.uploads / "libraries").mkdir(parents=True)
    (target.uploads / "libraries" / "other.md").write_text("# Other")
    with pytest.raises(BackupError, match=r"data folder .* already holds data"):
        restore_backup(target, tmp_path / "backup", Quiet())
    assert not Path(target.database_url.removeprefix("sqlite:///")).exists()


def test_restore_migrates_an_older_backup(tmp_path: Path) -> None:
    old = installation(tmp_path / "old")
    old.var.mkdir()
    command.upgrade(alembic_config(old.database_url), "0007")
    (old.var / "secret.key").write_text(SECRET.decode())
    take_backup(old, tmp_path / "backup", Quiet())
    assert json.loads((tmp_path / "backup" / NAME).read_text())["app_schema_revision"] == "0007"
    lines: list[str] = []

    class Recorder(Quiet):
        def part(self, message: str) -> None:
            lines.append(message)

    target = fresh(tmp_path)
    done = restore_backup(target, tmp_path / "backup", Recorder())
    assert (done.backup_revision, done.revision) == ("0007", head())
    assert revision(target.database_url) == head()
    assert f"schema: migrated from 0007 to {head()}" in lines


def test_restore_refuses_a_newer_schema(source: Installation, tmp_path: Path) -> None:
    take_backup(source, tmp_path / "backup", Quiet())
    manifest = json.loads((tmp_path / "backup" / NAME).read_text())
    manifest["app_schema_revision"] = "9999"
    (tmp_path / "backup" / NAME).write_text(json.dumps(manifest))
    with pytest.raises(BackupError, match=r"9999 is newer.*upgrade codesign"):
        restore_backup(fresh(tmp_path), tmp_path / "backup", Quiet())


def test_restore_refuses_another_engine(source: Installation, tmp_path: Path) -> None:
    take_backup(source, tmp_path / "backup", Quiet())
    target = fresh(tmp_path, url="postgresql://nobody@127.0.0.1:1/none")
    with pytest.raises(BackupError, match="sqlite backup and DATABASE_URL is postgresql"):
        restore_backup(target, tmp_path / "backup", Quiet())


def test_restore_refuses_another_secret_key(source: Installation, tmp_path: Path) -> None:
    take_backup(source, tmp_path / "backup", Quiet())
    other = fresh(tmp_path, key="another-key-0123456789abcdef")
    with pytest.raises(BackupError, match=r"not the key .* Unset it"):
        restore_backup(other, tmp_path / "backup", Quiet())
    keyless = fresh(tmp_path, "keyless", key=None)  # takes the restored var/secret.key
    restore_backup(keyless, tmp_path / "backup", Quiet())
    assert (keyless.var / "secret.key").read_bytes() == SECRET


def test_a_key_from_the_environment_must_be_set_again(source: Installation,
                                                      tmp_path: Path) -> None:
    """The backed-up installation's key came from its environment, not from var/."""
    (source.var / "secret.key").unlink()
    take_backup(source, tmp_path / "backup", Quiet())
    manifest = json.loads((tmp_path / "backup" / NAME).read_text())
    assert manifest["secret_key"]["source"] == "environment"
    assert "secrets/secret.key" not in manifest["files"]
    with pytest.raises(BackupError, match="took CODESIGN_SECRET_KEY from its environment"):
        restore_backup(fresh(tmp_path, key=None), tmp_path / "backup", Quiet())
    target = fresh(tmp_path, "with-key")
    restore_backup(target, tmp_path / "backup", Quiet())
    assert opened_contacts(target.database_url, SECRET) == [CHAT_ID]


def test_a_separate_tracker_store_is_backed_up_and_restored(tmp_path: Path) -> None:
    var = tmp_path / "source"
    var.mkdir()
    source = installation(var, tracker=f"sqlite:///{var / 'tracker.db'}")
    fill(source, tracker_url=source.tracker_url)
    take_backup(source, tmp_path / "backup", Quiet())
    manifest = json.loads((tmp_path / "backup" / NAME).read_text())
    assert manifest["parts"]["tracker"]["files"] == ["tracker.sqlite3"]
    assert manifest["parts"]["app-database"]["details"]["tracker_store"] is False
    with pytest.raises(BackupError, match=r"separate tracker store.*RASA_TRACKER_URL"):
        restore_backup(fresh(tmp_path, "joined"), tmp_path / "backup", Quiet())
    target_var = tmp_path / "target"
    target = installation(target_var, tracker=f"sqlite:///{target_var / 'conversations.db'}")
    restore_backup(target, tmp_path / "backup", Quiet())
    assert tracker_rows(target.tracker_url) == tracker_rows(source.tracker_url)
    assert exports(target.database_url) == exports(source.database_url)


def test_a_joined_tracker_store_needs_a_joined_target(source: Installation,
                                                      tmp_path: Path) -> None:
    take_backup(source, tmp_path / "backup", Quiet())
    target_var = tmp_path / "target"
    target = installation(target_var, tracker=f"sqlite:///{target_var / 'conversations.db'}")
    with pytest.raises(BackupError, match="keeps Rasa's tracker store in the app database"):
        restore_backup(target, tmp_path / "backup", Quiet())


def test_older_telegram_bridge_files_are_kept(source: Installation, tmp_path: Path) -> None:
    with sqlite3.connect(source.var / "telegram-outbox.sqlite3") as connection:
        connection.execute("CREATE TABLE outbox (id INTEGER PRIMARY KEY, chat_id INTEGER)")
        connection.execute("INSERT INTO outbox (chat_id) VALUES (42)")
    take_backup(source, tmp_path / "backup", Quiet())
    target = fresh(tmp_path)
    restore_backup(target, tmp_path / "backup", Quiet())
    with sqlite3.connect(target.var / "telegram-outbox.sqlite3") as connection:
        assert connection.execute("SELECT chat_id FROM outbox").fetchall() == [(42,)]


def test_the_uploads_folder_is_the_web_apps() -> None:
    from bot.web.knowledge_uploads import UPLOADS as WEB_UPLOADS

    assert UPLOADS == WEB_UPLOADS


# --------------------------------------------------------------------------------- CLI
def test_cli_help_says_what_is_included_and_that_it_holds_secrets() -> None:
    runner = CliRunner()
    for command_name in ("backup", "restore"):
        result = runner.invoke(app, [command_name, "--help"], env={"COLUMNS": "200"})
        assert result.exit_code == 0
        text = " ".join(result.output.split())
        for words in ("tracker store", "knowledge index", "uploaded documents", "secret.key",
                      "personal data and secrets", "encrypted"):
            assert words in text, (command_name, words)
    backup_help = " ".join(runner.invoke(app, ["backup", "--help"],
                                         env={"COLUMNS": "200"}).output.split())
    assert "Safe while citizens are chatting" in backup_help and "pg_dump" in backup_help
    restore_help = " ".join(runner.invoke(app, ["restore", "--help"],
                                          env={"COLUMNS": "200"}).output.split())
    assert "EMPTY installation" in restore_help and "--force" in restore_help


def test_cli_backup_and_restore(source: Installation, tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"CODESIGN_VAR_DIR": str(source.var), "DATABASE_URL": source.database_url,
           "CODESIGN_SECRET_KEY": SECRET.decode(), "RASA_TRACKER_URL": ""}
    path = tmp_path / "backup"
    result = runner.invoke(app, ["backup", str(path)], env=env)
    assert result.exit_code == 0, result.output
    for line in ("app database (SQLite, with Rasa's tracker store)", "knowledge index: "
                 "generation gen-", "uploads: 1 files", "Telegram state: in the app database",
                 "secrets: secret.key, rasa-auth.token", "backup complete"):
        assert line in result.stderr, line
    again = runner.invoke(app, ["backup", str(path)], env=env)
    assert again.exit_code == 1 and "already exists" in again.stderr
    target = tmp_path / "target"
    env.update(CODESIGN_VAR_DIR=str(target), DATABASE_URL=f"sqlite:///{target / 'new.db'}")
    restored = runner.invoke(app, ["restore", str(path)], env=env)
    assert restored.exit_code == 0, restored.output
    assert "checksums: 7 files verified" in restored.stderr
    assert "restore complete" in restored.stderr
    assert exports(env["DATABASE_URL"]) == exports(source.database_url)
    refused = runner.invoke(app, ["restore", str(path)], env=env)
    assert refused.exit_code == 1 and "error: the target app database already holds data" \
        in refused.stderr
    missing = runner.invoke(app, ["restore", str(tmp_path / "nothing")], env=env)
    assert missing.exit_code == 1 and "is not a backup folder" in missing.stderr
    assert audited(source.database_url) == [("backup.take", "backup")]
    # the backup was taken before its own entry was written
    assert audited(env["DATABASE_URL"]) == [("backup.restore", "backup")]


def audited(url: str) -> list[tuple[str, str]]:
    """(action, target) of the audit trail's backup entries, oldest first."""
    from sqlalchemy import select

    from bot.store.audit_models import AuditEntry
    from bot.store.db import session_scope

    with session_scope(url) as session:
        return [(row.action, row.target) for row in session.scalars(
            select(AuditEntry).where(AuditEntry.action.like("backup.%"))
            .order_by(AuditEntry.id))]
