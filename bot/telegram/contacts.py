"""Chats to tell a consultation's outcome: kept only for citizens who asked to hear back.

When a citizen presses "Yes, tell me" at the end of a consultation, the bridge keeps their
chat id next to their pseudonymous sender id, in its own SQLite file (the app store never
holds Telegram ids). The entry is deleted once they were told, or when they say /forget.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS contacts (
    sender TEXT PRIMARY KEY,
    chat_id INTEGER NOT NULL,
    added_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS contacts_chat ON contacts (chat_id);
"""


class Contacts:
    """Pseudonymous sender id -> Telegram chat id, for outcome messages only."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False)
        self._db.executescript(SCHEMA)

    def add(self, sender: str, chat_id: int) -> None:
        """Remember where to tell this sender the outcome."""
        with self._db:
            self._db.execute("INSERT OR REPLACE INTO contacts VALUES (?, ?, ?)",
                             (sender, chat_id, time.time()))

    def chats(self) -> dict[str, int]:
        """Every sender with their chat id."""
        return dict(self._db.execute("SELECT sender, chat_id FROM contacts").fetchall())

    def remove_sender(self, sender: str) -> None:
        """Forget one sender (after they were told)."""
        with self._db:
            self._db.execute("DELETE FROM contacts WHERE sender = ?", (sender,))

    def remove_chat(self, chat_id: int) -> None:
        """Forget a chat (the citizen said /forget)."""
        with self._db:
            self._db.execute("DELETE FROM contacts WHERE chat_id = ?", (chat_id,))

    def close(self) -> None:
        self._db.close()
