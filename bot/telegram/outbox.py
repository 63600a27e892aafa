"""Citizen messages on their way to Rasa, kept on disk until Rasa has taken them.

Every message is written here before it is relayed and removed once Rasa answered, so a
Rasa outage or a crash mid-turn loses nothing: what is left is re-delivered in order on
the chat's next message or by the retry loop. (A message Rasa did process before a crash
is re-sent with the same message id, and the engine handles it once.)

The outbox is a small SQLite file of the bridge's own rather than a table in the app
database: it must hold raw Telegram chat ids (to answer the chat), which the app store
promises never to contain, and the bridge needs no database access of its own.

Durability: the file is in WAL mode with ``synchronous=NORMAL``. A commit is written to
the WAL before ``add`` returns (so before Rasa is called) but not fsynced; the WAL is
fsynced at checkpoints. The database always stays consistent, and a crash or kill of the
bridge process loses nothing committed; a power cut or an operating-system crash can lose
the last commits (a message added just before it). With ``synchronous=FULL`` each commit
would fsync: a message's three commits (add, expiry check, delivered) took 0.27 ms instead
of 0.03 ms on the development machine, small either way next to a Rasa turn.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    chat_id INTEGER NOT NULL,
    message_id TEXT NOT NULL,
    text TEXT NOT NULL,
    created_at REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS outbox_chat ON outbox (chat_id, id);
"""


@dataclass(frozen=True)
class Pending:
    """A message waiting for Rasa."""

    id: int
    chat_id: int
    message_id: str
    text: str
    attempts: int


class Outbox:
    """The persistent per-chat queue of messages not yet taken by Rasa.

    Args:
        path: the SQLite file (created with its folder, readable by the owner only).
        max_per_chat: messages kept per chat; the oldest is dropped beyond it.
        max_attempts: failed deliveries after which a message is given up.
        max_age: seconds after which an undelivered message is given up.
        backoff: first retry delay in seconds (doubles per failure, at most 10 minutes).
    """

    def __init__(self, path: Path, max_per_chat: int = 20, max_attempts: int = 12,
                 max_age: float = 24 * 3600, backoff: float = 15) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600, exist_ok=True)
        self.max_per_chat = max_per_chat
        self.max_attempts = max_attempts
        self.max_age = max_age
        self.backoff = backoff
        self._db = sqlite3.connect(path, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)

    def add(self, chat_id: int, message_id: str, text: str) -> None:
        """Queue a message at the end of its chat's queue."""
        now = time.time()
        with self._db:
            self._db.execute("INSERT INTO outbox (chat_id, message_id, text, created_at, "
                             "next_attempt_at) VALUES (?, ?, ?, ?, ?)",
                             (chat_id, message_id, text, now, now))
            self._db.execute("DELETE FROM outbox WHERE chat_id = ? AND id NOT IN (SELECT id "
                             "FROM outbox WHERE chat_id = ? ORDER BY id DESC LIMIT ?)",
                             (chat_id, chat_id, self.max_per_chat))

    def pending(self, chat_id: int) -> list[Pending]:
        """The chat's waiting messages, oldest first (expired ones are dropped first)."""
        with self._db:
            self._db.execute("DELETE FROM outbox WHERE created_at < ?",
                             (time.time() - self.max_age,))
        rows = self._db.execute("SELECT id, chat_id, message_id, text, attempts FROM outbox "
                                "WHERE chat_id = ? ORDER BY id", (chat_id,))
        return [Pending(*row) for row in rows]

    def delivered(self, item: Pending) -> None:
        """Remove a message Rasa has taken."""
        with self._db:
            self._db.execute("DELETE FROM outbox WHERE id = ?", (item.id,))

    def failed(self, item: Pending) -> bool:
        """Record a failed delivery and schedule the next one.

        Returns:
            False when the message was given up (too many attempts) and removed.
        """
        attempts = item.attempts + 1
        if attempts >= self.max_attempts:
            self.delivered(item)
            return False
        delay = min(self.backoff * 2 ** (attempts - 1), 600)
        with self._db:
            self._db.execute("UPDATE outbox SET attempts = ?, next_attempt_at = ? WHERE id = ?",
                             (attempts, time.time() + delay, item.id))
        return True

    def due_chats(self) -> list[int]:
        """Chats whose oldest waiting message is due for another attempt."""
        rows = self._db.execute(
            "SELECT chat_id FROM outbox o WHERE id = (SELECT min(id) FROM outbox "
            "WHERE chat_id = o.chat_id) AND next_attempt_at <= ? ORDER BY id", (time.time(),))
        return [row[0] for row in rows]

    def __len__(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM outbox").fetchone()[0])

    def close(self) -> None:
        """Close the file."""
        self._db.close()
