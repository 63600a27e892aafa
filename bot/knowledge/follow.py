"""Keeping a machine's local index generation at the database's latest one.

In the scaled mode every action server has its own ``<var>`` but shares the database.
``GenerationFollower.live()`` runs before each search: it asks the database for its
latest generation (one small query, its answer cached for ``check_interval`` seconds so
a burst of questions costs one query) and, when the local live generation does not
carry that generation's fingerprint, rebuilds a local one from the stored passages and
embeddings (``generations.build_local``: nothing is re-embedded) and swaps it in as any
build does. Processes sharing ``<var>`` take a file lock around the rebuild and check
again once they hold it, so one machine builds once.

Which local generation fits the database's latest generation:

* one stamped with its fingerprint, or built for that very row (id and fingerprint: a
  build started from that row may have read passages committed just after it);
* with no generation recorded (a database from before generations were recorded, or an
  empty one), any stamped local generation: one built by an ingest or a rebuild from the
  database. A missing or unstamped one (written by an older version) is rebuilt from the
  stored passages once; the next recorded generation is followed as usual.

A database that cannot be reached never takes the knowledge base down: the local live
generation keeps being served and a warning is logged (at most once a minute). Only when
there is no local generation at all does ``live()`` raise ``RuntimeError``.
"""

from __future__ import annotations

import fcntl
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final

from sqlalchemy.exc import SQLAlchemyError

from bot.knowledge import generations
from bot.knowledge import index as ix
from bot.store.db import session_scope

logger = logging.getLogger(__name__)

#: Seconds a database answer about the latest generation is reused.
CHECK_INTERVAL = 1.0
#: Seconds between two warnings about an unreachable database.
WARN_INTERVAL = 60.0
LOCK_NAME = ".build.lock"


class _Unknown:
    """The database could not be asked."""


UNKNOWN: Final = _Unknown()
Target = ix.GenerationRef | None | _Unknown


def fits(stamp: ix.Stamp | None, target: ix.GenerationRef | None) -> bool:
    """Whether a local generation with ``stamp`` serves the database's ``target``."""
    if stamp is None:
        return False
    if target is None:
        return True
    return stamp.fingerprint == target.fingerprint or stamp.generation == target


@contextmanager
def build_lock(var: Path) -> Iterator[None]:
    """Hold the exclusive lock that serialises local rebuilds under ``var``.

    ``flock`` locks belong to each opened file, so threads of one process exclude each
    other as separate processes do.
    """
    with open(ix.knowledge_dir(var) / LOCK_NAME, "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


class GenerationFollower:
    """Brings the live generation under ``var`` up to date with a database."""

    def __init__(self, var: Path, database_url: str,
                 check_interval: float = CHECK_INTERVAL) -> None:
        """``check_interval``: seconds the database's answer is reused (0: ask each time)."""
        self.var = var
        self.database_url = database_url
        self.check_interval = check_interval
        self._lock = threading.Lock()
        self._checked: tuple[float, Target] | None = None
        self._stamp: tuple[Path, ix.Stamp | None] | None = None
        self._warned_at: float | None = None

    def live(self) -> Path:
        """The local live generation, rebuilt from the database first when it is behind.

        A machine without a local generation builds one here (an empty database gives an
        empty generation).

        Raises:
            RuntimeError: the database is unreachable and there is no local generation.
        """
        target = self._target()
        current = ix.current_generation(self.var)
        if isinstance(target, _Unknown):
            return self._fallback(current)
        if current is not None and fits(self._stamp_of(current), target):
            return current
        with build_lock(self.var):
            current = ix.current_generation(self.var)
            if current is not None and fits(self._stamp_of(current), target):
                return current  # another process or thread built it meanwhile
            started = time.perf_counter()
            try:
                with session_scope(self.database_url) as session:
                    built = generations.build_local(session, self.var, target)
            except SQLAlchemyError as exc:
                self._warn(exc)
                return self._fallback(current)
        logger.info("Knowledge index %s rebuilt from the database in %.2f s.", built.name,
                    time.perf_counter() - started)
        return built

    def _target(self) -> Target:
        """The database's latest generation, asked at most once per ``check_interval``."""
        with self._lock:
            now = time.monotonic()
            if self._checked is not None and now - self._checked[0] < self.check_interval:
                return self._checked[1]
            target: Target
            try:
                with session_scope(self.database_url) as session:
                    target = generations.latest(session)
            except SQLAlchemyError as exc:
                self._warn(exc)
                target = UNKNOWN
            self._checked = (time.monotonic(), target)
            return target

    def _stamp_of(self, generation: Path) -> ix.Stamp | None:
        cached = self._stamp
        if cached is not None and cached[0] == generation:
            return cached[1]
        stamp = ix.read_stamp(generation)
        self._stamp = (generation, stamp)
        return stamp

    def _fallback(self, current: Path | None) -> Path:
        if current is None:
            raise RuntimeError("the knowledge index is not built on this machine yet and "
                               "the database it is built from cannot be reached")
        return current

    def _warn(self, error: SQLAlchemyError) -> None:
        now = time.monotonic()
        if self._warned_at is None or now - self._warned_at >= WARN_INTERVAL:
            self._warned_at = now
            first_line = str(error).splitlines()[0] if str(error) else type(error).__name__
            logger.warning("Knowledge index: cannot check the database for a newer "
                           "generation, serving the local one (%s).", first_line)
