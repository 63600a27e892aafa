"""Upgrading: an older bridge's SQLite files are imported into the app store once."""

from __future__ import annotations

import shutil
import sqlite3
import time
from pathlib import Path

from sqlalchemy import select

from bot.store.db import migrate
from bot.store.models import as_utc
from bot.store.telegram_models import TelegramContact, TelegramOutboxMessage
from bot.telegram.legacy import Imported, import_files
from bot.telegram.store import BridgeStore

SECRET = b"test-secret-key-0123456789abcdef"
#: The schemas of the files older bridges wrote.
OLD_OUTBOX = """
CREATE TABLE outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, chat_id INTEGER NOT NULL,
    message_id TEXT NOT NULL, text TEXT NOT NULL, created_at REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at REAL NOT NULL);
"""
OLD_CONTACTS = "CREATE TABLE contacts (sender TEXT PRIMARY KEY, chat_id INTEGER NOT NULL, " \
    "added_at REAL NOT NULL);"


def old_files(folder: Path, now: float) -> tuple[Path, Path]:
    """The files of a bridge killed with rows still in its write-ahead log."""
    folder.mkdir(parents=True, exist_ok=True)
    outbox, contacts = folder / "telegram-outbox.sqlite3", folder / "telegram-contacts.sqlite3"
    live = folder / "live"
    live.mkdir()
    writer = sqlite3.connect(live / outbox.name)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("PRAGMA wal_autocheckpoint=0")
    writer.executescript(OLD_OUTBOX)
    with writer:
        writer.executemany("INSERT INTO outbox (chat_id, message_id, text, created_at, attempts, "
                           "next_attempt_at) VALUES (?, ?, ?, ?, ?, ?)",
                           [(501, "tg-7", "first", now - 60, 2, now + 30),
                            (502, "tg-8", "other chat", now - 50, 0, now - 50),
                            (501, "tg-9", "second", now - 40, 0, now - 40)])
    for suffix in ("", "-wal"):  # copied while the writer is open: as a kill leaves them
        shutil.copy(live / (outbox.name + suffix), folder / (outbox.name + suffix))
    writer.close()
    with sqlite3.connect(contacts) as db:
        db.executescript(OLD_CONTACTS)
        db.execute("INSERT INTO contacts VALUES ('old-sender-key', 503, ?)", (now - 3600,))
    db.close()
    return outbox, contacts


def test_old_files_are_imported_once_sealed_and_renamed(database_url: str,
                                                        tmp_path: Path) -> None:
    migrate(database_url)
    store = BridgeStore(database_url, SECRET)
    now = time.time()
    outbox, contacts = old_files(tmp_path / "var", now)
    assert (tmp_path / "var" / "telegram-outbox.sqlite3-wal").stat().st_size > 0
    kept = {path.name: path.read_bytes() for path in tmp_path.glob("var/telegram-*")}

    assert import_files(store, outbox, contacts) == Imported(messages=3, contacts=1)
    assert not outbox.exists() and not contacts.exists()
    assert (tmp_path / "var" / "telegram-outbox.sqlite3.imported").exists()
    assert (tmp_path / "var" / "telegram-contacts.sqlite3.imported").exists()
    assert not (tmp_path / "var" / "telegram-outbox.sqlite3-wal").exists()

    rows = store.call(lambda s: s.scalars(select(TelegramOutboxMessage)
                                          .order_by(TelegramOutboxMessage.id)).all())
    assert [(store.sealer.open_chat(r.chat_ref), r.message_id, r.text, r.attempts)
            for r in rows] == [(501, "tg-7", "first", 2), (502, "tg-8", "other chat", 0),
                               (501, "tg-9", "second", 0)]
    assert rows[0].chat_key == store.chat_key(501) and "501" not in rows[0].chat_ref
    assert abs(as_utc(rows[0].created_at).timestamp() - (now - 60)) < 0.01
    assert abs(as_utc(rows[0].next_attempt_at).timestamp() - (now + 30)) < 0.01
    contact = store.call(lambda s: s.scalars(select(TelegramContact)).one())
    assert contact.chat_key == store.chat_key(503)
    assert store.sealer.open_chat(contact.chat_ref) == 503

    assert import_files(store, outbox, contacts) == Imported()  # nothing left to import
    # Killed after the commit, before the renames: the next start finds every row there.
    for name, data in kept.items():
        (tmp_path / "var" / name).write_bytes(data)
    assert import_files(store, outbox, contacts) == Imported(messages=0, contacts=0)
    assert store.call(lambda s: len(s.scalars(select(TelegramOutboxMessage.id)).all())) == 3


def test_an_empty_old_file_is_renamed_and_no_file_is_nothing(sqlite_url: str,
                                                              tmp_path: Path) -> None:
    migrate(sqlite_url)
    store = BridgeStore(sqlite_url, SECRET)
    outbox = tmp_path / "telegram-outbox.sqlite3"
    outbox.touch()  # created by an older bridge that never queued anything
    assert import_files(store, outbox, tmp_path / "none.sqlite3") == Imported()
    assert not outbox.exists() and (tmp_path / "telegram-outbox.sqlite3.imported").exists()
