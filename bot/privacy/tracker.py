"""One citizen's conversation in Rasa's SQL tracker store (the ``events`` table).

Rasa finds its tracker store at ``RASA_TRACKER_URL`` (``endpoints.yml``;
``scripts/env.sh`` derives it from ``DATABASE_URL``, so on the embedded default it is the
app store's own database, where ``bot.store.retention`` purges old events). A Rasa
process that kept the conversation in memory notices the erasure: it reuses a kept
conversation only while its last stored event is unchanged
(``rasa_ext.tracker_store.RecentTrackers``).
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, inspect, text

from bot.store.db import engine_for

#: Rasa's event types that carry what someone said.
SPOKEN = {"user": "you", "bot": "bot"}


def tracker_url(app_database_url: str) -> str:
    """``RASA_TRACKER_URL`` when set (as Rasa reads it), else the app store's database."""
    return os.environ.get("RASA_TRACKER_URL") or app_database_url


class TrackerEvents:
    """Counts, reads and deletes one sender's events in the tracker store at ``url``."""

    def __init__(self, url: str) -> None:
        self.engine = engine_for(url)

    @staticmethod
    def _has_events(connection: Connection) -> bool:
        return inspect(connection).has_table("events")

    def count(self, sender_id: str) -> int:
        """How many events the sender has (0 when the store has no ``events`` table)."""
        with self.engine.connect() as connection:
            if not self._has_events(connection):
                return 0
            return int(connection.execute(
                text("SELECT count(*) FROM events WHERE sender_id = :s"),
                {"s": sender_id}).scalar_one())

    def messages(self, sender_id: str) -> list[dict[str, Any]]:
        """What the citizen and the bot said, in order: ``{"at", "from", "text"}``."""
        with self.engine.connect() as connection:
            if not self._has_events(connection):
                return []
            rows = connection.execute(
                text("SELECT type_name, timestamp, data FROM events WHERE sender_id = :s "
                     "AND type_name IN ('user', 'bot') ORDER BY id"), {"s": sender_id})
            said = []
            for type_name, timestamp, data in rows:
                try:
                    event = json.loads(data or "{}")
                except ValueError:
                    event = {}
                at = datetime.fromtimestamp(float(timestamp), UTC).isoformat() \
                    if timestamp is not None else None
                said.append({"at": at, "from": SPOKEN[type_name],
                             "text": str(event.get("text") or "")})
            return said

    def erase(self, sender_id: str) -> int:
        """Delete every event of the sender (one transaction); returns how many."""
        with self.engine.begin() as connection:
            if not self._has_events(connection):
                return 0
            result = connection.execute(text("DELETE FROM events WHERE sender_id = :s"),
                                        {"s": sender_id})
            return int(result.rowcount)
