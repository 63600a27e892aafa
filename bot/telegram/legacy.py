"""Importing the state older bridges kept in SQLite files of their own.

Before the bridge kept its state in the app store, it had ``<var>/telegram-outbox.sqlite3``
(messages waiting for Rasa) and ``<var>/telegram-contacts.sqlite3`` (chats waiting for an
outcome), with raw chat ids. At start the bridge imports what they hold into the app store
once, chat ids sealed, in one transaction, and then renames each file (and its WAL files)
to ``*.imported``. A bridge killed between the commit and the rename imports again at its
next start and finds every row already there, so nothing is lost or doubled.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.store.telegram_models import TelegramContact, TelegramOutboxMessage
from bot.telegram.store import BridgeStore

logger = logging.getLogger(__name__)
SUFFIX = ".imported"


@dataclass(frozen=True)
class Imported:
    """What an import brought in."""

    messages: int = 0
    contacts: int = 0


def import_files(store: BridgeStore, outbox_path: Path, contacts_path: Path) -> Imported:
    """Import the old outbox and contacts files when they exist, then rename them.

    Args:
        store: the app database.
        outbox_path: the old outbox file.
        contacts_path: the old contacts file.

    Returns:
        The rows imported (rows already in the app store are not counted).
    """
    messages = _read(outbox_path, "SELECT chat_id, message_id, text, created_at, attempts, "
                                  "next_attempt_at FROM outbox ORDER BY id")
    chats = _read(contacts_path, "SELECT sender, chat_id, added_at FROM contacts")
    if messages is None and chats is None:
        return Imported()

    def work(session: Session) -> Imported:
        return Imported(_import_messages(store, session, messages or []),
                        _import_contacts(store, session, chats or []))

    imported = store.call(work)
    for path, rows in ((outbox_path, messages), (contacts_path, chats)):
        if rows is not None:
            _rename(path)
    logger.info("imported %d queued message(s) and %d contact(s) from the old files",
                imported.messages, imported.contacts)
    return imported


def _read(path: Path, query: str) -> list[tuple[Any, ...]] | None:
    """The rows of an old file, or None when there is no file."""
    if not path.is_file():
        return None
    connection = sqlite3.connect(path)  # read-write: replays a WAL a killed bridge left
    try:
        return connection.execute(query).fetchall()
    except sqlite3.OperationalError:  # created, never written: no table
        return []
    finally:
        connection.close()


def _import_messages(store: BridgeStore, session: Session,
                     rows: list[tuple[Any, ...]]) -> int:
    known = {(key, message_id) for key, message_id in session.execute(
        select(TelegramOutboxMessage.chat_key, TelegramOutboxMessage.message_id))}
    added = 0
    for chat_id, message_id, text, created_at, attempts, next_attempt_at in rows:
        key = store.chat_key(int(chat_id))
        if (key, message_id) in known:
            continue
        known.add((key, message_id))
        session.add(TelegramOutboxMessage(
            chat_key=key, chat_ref=store.sealer.seal_chat(int(chat_id)), message_id=message_id,
            text=text, created_at=_moment(created_at), attempts=int(attempts),
            next_attempt_at=_moment(next_attempt_at)))
        session.flush()  # one at a time: ids in the old order
        added += 1
    return added


def _import_contacts(store: BridgeStore, session: Session,
                     rows: list[tuple[Any, ...]]) -> int:
    known = set(session.scalars(select(TelegramContact.chat_key)))
    added = 0
    for _sender, chat_id, added_at in rows:
        key = store.chat_key(int(chat_id))
        if key in known:
            continue
        known.add(key)
        session.add(TelegramContact(chat_key=key, chat_ref=store.sealer.seal_chat(int(chat_id)),
                                    added_at=_moment(added_at)))
        added += 1
    return added


def _moment(epoch: float) -> datetime:
    return datetime.fromtimestamp(float(epoch), UTC)


def _rename(path: Path) -> None:
    """``x.sqlite3`` -> ``x.sqlite3.imported`` (and ``-wal``/``-shm`` likewise)."""
    for part in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        with contextlib.suppress(FileNotFoundError):
            part.replace(part.with_name(part.name + SUFFIX))
