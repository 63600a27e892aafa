"""Background jobs of the review area (recomputing themes), with their progress in memory.

A job runs in a daemon thread with its own database session; its progress (stage and
fraction done) is kept in this process, keyed by a random job id, for the page to poll.
One job per consultation question at a time: asking again while it runs returns it.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.review.themes import Progress

log = logging.getLogger(__name__)
KEEP = 200  # finished jobs remembered (oldest forgotten first)


@dataclass
class Job:
    """A background job and how far it got.

    Attributes:
        id: random, unguessable id.
        key: what it works on (e.g. ``themes:<consultation id>:<question key>``).
        stage: what it is doing now, for people.
        fraction: 0..1 done.
        status: ``running``, ``done`` or ``failed``.
        result: a sentence saying what it did (when done).
        error: why it failed.
    """

    id: str
    key: str
    stage: str = "Waiting to start"
    fraction: float = 0.0
    status: str = "running"
    result: str = ""
    error: str = ""
    started: float = field(default_factory=time.monotonic)

    def as_json(self) -> dict[str, object]:
        """What the progress endpoint returns."""
        return {"id": self.id, "status": self.status, "stage": self.stage,
                "percent": round(self.fraction * 100), "result": self.result,
                "error": self.error}


class JobRunner:
    """Starts jobs in threads and remembers their progress."""

    def __init__(self) -> None:
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, job_id: str) -> Job | None:
        """A job by id."""
        with self._lock:
            return self._jobs.get(job_id)

    def running(self, key: str) -> Job | None:
        """The running job working on ``key``, if any."""
        with self._lock:
            return next((j for j in self._jobs.values()
                         if j.key == key and j.status == "running"), None)

    def start(self, key: str, work: Callable[[Progress], str]) -> Job:
        """Run ``work(progress)`` in a thread (or return the job already running on ``key``).

        Args:
            key: what the job works on; one running job per key.
            work: does the job, reporting ``progress(stage, fraction)``; returns a
                sentence saying what it did.
        """
        with self._lock:
            for job in self._jobs.values():
                if job.key == key and job.status == "running":
                    return job
            job = Job(secrets.token_urlsafe(12), key)
            self._jobs[job.id] = job
            finished = [j.id for j in self._jobs.values() if j.status != "running"]
            for old in finished[:max(0, len(finished) - KEEP)]:
                del self._jobs[old]

        def progress(stage: str, fraction: float) -> None:
            job.stage, job.fraction = stage, min(max(fraction, 0.0), 1.0)

        def run() -> None:
            try:
                job.result = work(progress)
                job.stage, job.fraction, job.status = "Done", 1.0, "done"
            except Exception as error:
                log.exception("job %s (%s) failed", job.id, key)
                job.error, job.status = str(error) or error.__class__.__name__, "failed"

        threading.Thread(target=run, name=f"job-{key}", daemon=True).start()
        return job
