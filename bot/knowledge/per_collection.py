"""A per-collection setting kept in the store and re-read at most every few seconds, so
that an admin's change reaches every action server without a restart (glossaries,
thresholds)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from bot.store.db import session_scope

log = logging.getLogger(__name__)

#: Seconds a reading is reused.
CHECK_INTERVAL = 5.0

T = TypeVar("T")


class PerCollection(Generic[T]):
    """``read(session)`` (collection -> value) of the store, re-run at most every
    ``check_interval`` seconds (thread-safe). Without a store it is empty; a store that
    cannot be read keeps the last reading (``what`` names it in the warning)."""

    def __init__(self, database_url: str | None, read: Callable[[Session], dict[str, T]],
                 what: str, check_interval: float = CHECK_INTERVAL) -> None:
        self.database_url = database_url
        self.check_interval = check_interval
        self._read = read
        self._what = what
        self._read_at = float("-inf")
        self._rows: dict[str, T] = {}
        self._lock = threading.Lock()

    def current(self) -> dict[str, T]:
        """The latest reading (re-read when older than ``check_interval``)."""
        if self.database_url is None:
            return {}
        with self._lock:
            if time.monotonic() - self._read_at < self.check_interval:
                return self._rows
            try:
                with session_scope(self.database_url) as session:
                    rows = self._read(session)
            except SQLAlchemyError as exc:
                log.warning("%s not re-read (%s); keeping the last ones", self._what, exc)
                rows = self._rows
            self._rows, self._read_at = rows, time.monotonic()
            return rows
