"""Background jobs of the review area (recomputing themes), with their progress in the database.

A job runs in a daemon thread of the web worker that started it. Its row in ``jobs``
(``bot.store.review_models.BackgroundJob``) holds its stage, the fraction done and how it
ended, so the page's progress poll may land on any worker (``uvicorn --workers N``, or
several machines behind a load balancer). Every read and write is a short-lived session
of its own; the thread writes progress at most every ``WRITE_EVERY`` seconds (from a
helper thread, so the work never waits on the database), a heartbeat every ``HEARTBEAT``
seconds, and always the outcome.

One running job per key across processes: a partial unique index on ``key`` over the
running rows decides races, and the loser returns the winner's job. A running job
without a heartbeat for ``STALE_AFTER`` died with its process: it is reported (and
stored) as failed and no longer blocks a new start. Jobs not updated for ``KEEP_FOR``
are deleted when a job starts.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, delete, select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from bot.review.themes import Progress
from bot.store.db import session_scope
from bot.store.models import as_utc, utcnow
from bot.store.review_models import JOB_RUNNING, BackgroundJob

log = logging.getLogger(__name__)
WRITE_EVERY = 0.5  # seconds between progress writes, at most
HEARTBEAT = 20.0  # seconds between heartbeats of a job that reports no progress
STALE_AFTER = timedelta(minutes=2)  # no heartbeat for this long: its process died
KEEP_FOR = timedelta(days=7)  # finished jobs are forgotten after this
STOPPED = "it stopped unexpectedly (its server process ended); start it again"
SHUT_DOWN = "the web server was stopped before it finished; start it again"
WAITING = "Waiting to start"
STAGE_LENGTH = 200  # the column's size
START_ATTEMPTS = 5  # inserts lost to another worker's before giving up
OUTCOME_ATTEMPTS = 3  # tries to store how a job ended


@dataclass(frozen=True)
class Job:
    """A background job and how far it got (a copy of its row when it was read).

    Attributes:
        id: random, unguessable id.
        key: what it works on (e.g. ``themes:<consultation id>:<question key>``).
        stage: what it is doing now, for people.
        fraction: 0..1 done.
        status: ``running``, ``done`` or ``failed``.
        result: a sentence saying what it did (when done).
        error: why it failed.
        started_by: the staff user who started it, if known.
        started_at: when it started.
        updated_at: its last progress or heartbeat.
    """

    id: str
    key: str
    stage: str = WAITING
    fraction: float = 0.0
    status: str = JOB_RUNNING
    result: str = ""
    error: str = ""
    started_by: int | None = None
    started_at: datetime | None = None
    updated_at: datetime | None = None

    def as_json(self) -> dict[str, object]:
        """What the progress endpoint returns."""
        return {"id": self.id, "status": self.status, "stage": self.stage,
                "percent": round(self.fraction * 100), "result": self.result,
                "error": self.error}


def _snapshot(row: BackgroundJob) -> Job:
    return Job(row.id, row.key, row.stage, row.fraction, row.status, row.result, row.error,
               row.started_by, as_utc(row.started_at), as_utc(row.updated_at))


class _Reporter(threading.Thread):
    """Writes a job's latest progress (at most every ``every`` seconds) and a heartbeat
    (every ``heartbeat`` seconds) until told to stop, so the work never waits on the
    database (on SQLite, a write lock held elsewhere can take seconds)."""

    def __init__(self, job_id: str, write: Callable[[dict[str, Any]], bool], every: float,
                 heartbeat: float) -> None:
        super().__init__(name=f"job-progress-{job_id}", daemon=True)
        self._write, self._every, self._heartbeat = write, every, heartbeat
        self._lock = threading.Lock()
        self._pending: tuple[str, float] | None = None
        self._stopped = threading.Event()

    def progress(self, stage: str, fraction: float) -> None:
        """What the work reports (returns at once)."""
        with self._lock:
            self._pending = (stage[:STAGE_LENGTH], min(max(float(fraction), 0.0), 1.0))

    def run(self) -> None:
        last = time.monotonic()
        while not self._stopped.wait(self._every):
            with self._lock:
                pending, self._pending = self._pending, None
            if pending is None and time.monotonic() - last < self._heartbeat:
                continue
            values: dict[str, Any] = {"updated_at": utcnow()}
            if pending is not None:
                values.update(stage=pending[0], fraction=pending[1])
            if self._write(values):
                last = time.monotonic()
            elif pending is not None:
                with self._lock:  # try again next time, unless newer progress came
                    self._pending = self._pending or pending

    def finish(self) -> tuple[str, float] | None:
        """Stop writing; the progress reported since the last write, if any."""
        self._stopped.set()
        self.join()
        with self._lock:
            return self._pending


class JobRunner:
    """Starts jobs in threads; their progress lives in the database's ``jobs`` table.

    Args:
        database_url: the app store.
        stale_after: how long a running job may go without a heartbeat.
        heartbeat: seconds between a running job's heartbeats.
        write_every: seconds between progress writes, at most.
        keep_for: how long finished jobs are kept.
    """

    def __init__(self, database_url: str, *, stale_after: timedelta = STALE_AFTER,
                 heartbeat: float = HEARTBEAT, write_every: float = WRITE_EVERY,
                 keep_for: timedelta = KEEP_FOR) -> None:
        self.database_url = database_url
        self.stale_after, self.heartbeat = stale_after, heartbeat
        self.write_every, self.keep_for = write_every, keep_for
        self._mine: set[str] = set()  # ids of the jobs running in this process
        self._mine_lock = threading.Lock()

    # ------------------------------------------------------------------------ reading
    def get(self, job_id: str) -> Job | None:
        """A job by id (a running job whose process died is reported failed)."""
        with session_scope(self.database_url) as session:
            row = session.get(BackgroundJob, job_id[:32])
            if row is None:
                return None
            self._expire_if_stale(session, row, BackgroundJob.id == row.id)
            return _snapshot(row)

    def running(self, key: str) -> Job | None:
        """The running job working on ``key``, if any."""
        with session_scope(self.database_url) as session:
            row = self._running_row(session, key)
            return _snapshot(row) if row is not None else None

    def _running_row(self, session: Session, key: str) -> BackgroundJob | None:
        row = session.scalars(select(BackgroundJob).where(
            BackgroundJob.key == key, BackgroundJob.status == JOB_RUNNING)).first()
        if row is None or self._expire_if_stale(session, row, BackgroundJob.key == key):
            return None
        return row

    def _expire_if_stale(self, session: Session, row: BackgroundJob,
                         which: ColumnElement[bool]) -> bool:
        """Store a running job without a recent heartbeat as failed; whether it was."""
        now = utcnow()
        cutoff = now - self.stale_after
        if row.status != JOB_RUNNING or as_utc(row.updated_at) >= cutoff:
            return False
        # Conditional, so a heartbeat that just arrived wins.
        session.execute(update(BackgroundJob).where(
            which, BackgroundJob.status == JOB_RUNNING, BackgroundJob.updated_at < cutoff)
            .values(status="failed", error=STOPPED, finished_at=now)
            .execution_options(synchronize_session=False))
        session.flush()
        session.refresh(row)
        return row.status != JOB_RUNNING

    # ------------------------------------------------------------------------ starting
    def start(self, key: str, work: Callable[[Progress], str],
              started_by: int | None = None) -> Job:
        """Run ``work(progress)`` in a thread (or return the job already running on ``key``,
        in this process or another).

        Args:
            key: what the job works on; one running job per key.
            work: does the job, reporting ``progress(stage, fraction)``; returns a
                sentence saying what it did.
            started_by: the staff user starting it.

        Raises:
            RuntimeError: when other workers kept winning the race to start it (the
                store is overloaded).
        """
        for _attempt in range(START_ATTEMPTS):
            try:
                with session_scope(self.database_url) as session:
                    running = self._running_row(session, key)
                    if running is not None:
                        return _snapshot(running)
                    session.execute(delete(BackgroundJob)
                                    .where(BackgroundJob.updated_at < utcnow() - self.keep_for)
                                    .execution_options(synchronize_session=False))
                    now = utcnow()
                    row = BackgroundJob(id=secrets.token_urlsafe(12), key=key,
                                        status=JOB_RUNNING, stage=WAITING, fraction=0.0,
                                        result="", error="", started_by=started_by,
                                        started_at=now, updated_at=now)
                    session.add(row)
                    session.flush()
                    job = _snapshot(row)
            except (IntegrityError, OperationalError) as lost:
                if isinstance(lost, OperationalError) and "locked" not in str(lost):
                    raise
                # Another worker inserted its running job first (or, on SQLite, held
                # the write lock too long): read the winner's job on the next round.
                log.info("job %s: another worker started it first (%s)", key,
                         lost.__class__.__name__)
                continue
            with self._mine_lock:
                self._mine.add(job.id)
            threading.Thread(target=self._run, args=(job.id, key, work),
                             name=f"job-{key}", daemon=True).start()
            return job
        raise RuntimeError(f"could not start job {key}: the store is too busy")

    # ------------------------------------------------------------------------ running
    def _write(self, job_id: str, values: dict[str, Any], running_only: bool = True) -> bool:
        """Update the job's row; whether it worked (failures are logged, not raised)."""
        query = update(BackgroundJob).where(BackgroundJob.id == job_id)
        if running_only:
            query = query.where(BackgroundJob.status == JOB_RUNNING)
        try:
            with session_scope(self.database_url) as session:
                session.execute(query.values(**values)
                                .execution_options(synchronize_session=False))
            return True
        except Exception:
            log.warning("job %s: could not store its progress", job_id, exc_info=True)
            return False

    def shut_down(self) -> int:
        """Store the jobs still running in this process as failed, because the process is
        stopping (its job threads die with it); returns how many. Without this they would
        block their key until their heartbeat went stale."""
        with self._mine_lock:
            mine, self._mine = sorted(self._mine), set()
        now = utcnow()
        stopped = sum(self._write(job_id, {"status": "failed", "error": SHUT_DOWN,
                                           "updated_at": now, "finished_at": now})
                      for job_id in mine)
        if mine:
            log.warning("stopped %d running job(s) at shutdown", len(mine))
        return stopped

    def _run(self, job_id: str, key: str, work: Callable[[Progress], str]) -> None:
        try:
            self._work(job_id, key, work)
        finally:
            with self._mine_lock:
                self._mine.discard(job_id)

    def _work(self, job_id: str, key: str, work: Callable[[Progress], str]) -> None:
        reporter = _Reporter(job_id, lambda values: self._write(job_id, values),
                             self.write_every, self.heartbeat)
        reporter.start()
        outcome: dict[str, Any]
        try:
            result = work(reporter.progress)
            outcome = {"status": "done", "stage": "Done", "fraction": 1.0,
                       "result": str(result)}
        except Exception as error:
            log.exception("job %s (%s) failed", job_id, key)
            outcome = {"status": "failed", "error": str(error) or error.__class__.__name__}
        pending = reporter.finish()
        if pending is not None and outcome["status"] == "failed":
            outcome.update(stage=pending[0], fraction=pending[1])
        for attempt in range(OUTCOME_ATTEMPTS):
            now = utcnow()
            # Even when it was given up for dead meanwhile: how it ended is the truth.
            if self._write(job_id, {**outcome, "updated_at": now, "finished_at": now},
                           running_only=False):
                return
            time.sleep(attempt + 1)
        log.error("job %s (%s) ended %s but that could not be stored", job_id, key,
                  outcome["status"])
