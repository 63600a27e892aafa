"""Background jobs kept in the database: every web worker sees every job's progress, one
job runs per key across workers, dead workers' jobs are given up, old jobs pruned.

Two ``JobRunner`` instances on the same database stand for two web workers.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from bot.store.db import migrate, session_scope
from bot.store.models import utcnow
from bot.store.review_models import BackgroundJob, User
from bot.web import jobs
from bot.web.jobs import STOPPED, Job, JobRunner

KEY = "themes:1:hours_reasons"


@pytest.fixture
def url(sqlite_url: str) -> str:
    migrate(sqlite_url)
    return sqlite_url


@pytest.fixture
def release() -> Iterator[threading.Event]:
    """Set it to let the blocked jobs finish (set anyway at the end of the test)."""
    event = threading.Event()
    yield event
    event.set()


def _wait(read: Callable[[], Job | None], until: Callable[[Job], bool],
          timeout: float = 20) -> Job:
    """Poll ``read()`` until its job satisfies ``until`` (the last read when time is up)."""
    deadline = time.monotonic() + timeout
    while True:
        job = read()
        assert job is not None
        if until(job) or time.monotonic() > deadline:
            return job
        time.sleep(0.05)


def _blocked(release: threading.Event, stage: str = "", fraction: float = 0.0,
             result: str = "Found 3 themes.") -> Callable[[Any], str]:
    """Work that reports one stage, then waits for ``release``."""
    def work(progress: Any) -> str:
        if stage:
            progress(stage, fraction)
        assert release.wait(30), "the test never released the job"
        return result
    return work


def _user(url: str) -> int:
    with session_scope(url) as session:
        user = User(email="reviewer@council.example", role="reviewer", password_hash="x")
        session.add(user)
        session.flush()
        return user.id


def _row(url: str, job_id: str) -> BackgroundJob:
    with session_scope(url) as session:
        row = session.get(BackgroundJob, job_id)
        assert row is not None
        return row


def test_progress_is_visible_to_another_worker(url: str, release: threading.Event) -> None:
    first, second = JobRunner(url), JobRunner(url)
    user_id = _user(url)
    started = first.start(KEY, _blocked(release, "embedding answers", 0.5),
                          started_by=user_id)
    assert started.status == "running" and started.stage == "Waiting to start"
    assert len(started.id) >= 16  # random and unguessable
    seen = _wait(lambda: second.get(started.id), lambda j: j.stage == "embedding answers")
    assert (seen.status, seen.stage, seen.fraction) == ("running", "embedding answers", 0.5)
    assert seen.as_json() == {"id": started.id, "status": "running",
                              "stage": "embedding answers", "percent": 50, "result": "",
                              "error": ""}
    assert seen.started_by == user_id and seen.started_at is not None
    running = second.running(KEY)
    assert running is not None and running.id == started.id
    release.set()
    done = _wait(lambda: second.get(started.id), lambda j: j.status != "running")
    assert (done.status, done.stage, done.fraction, done.result) == (
        "done", "Done", 1.0, "Found 3 themes.")
    assert second.running(KEY) is None and first.running(KEY) is None
    assert _row(url, started.id).finished_at is not None
    assert second.get("no-such-job") is None


def test_one_running_job_per_key_across_workers(url: str, release: threading.Event) -> None:
    first, second = JobRunner(url), JobRunner(url)
    ran: list[str] = []

    def other(_progress: Any) -> str:
        ran.append("second")
        return "ran twice"

    job = first.start(KEY, _blocked(release))
    again = second.start(KEY, other)
    assert again.id == job.id and ran == []
    elsewhere = second.start("themes:1:other_question", lambda _p: "other key")
    assert elsewhere.id != job.id  # another key is another job
    release.set()
    _wait(lambda: second.get(job.id), lambda j: j.status == "done")
    after = second.start(KEY, other)
    assert after.id != job.id  # the first one finished: a new one may start
    assert _wait(lambda: first.get(after.id), lambda j: j.status != "running").status == "done"
    assert ran == ["second"]


def test_the_database_refuses_a_second_running_job_for_a_key(url: str) -> None:
    now = utcnow()
    row = {"key": KEY, "status": "running", "stage": "", "fraction": 0.0, "result": "",
           "error": "", "started_at": now, "updated_at": now}
    with session_scope(url) as session:
        session.execute(insert(BackgroundJob), [{**row, "id": "a"},
                                                {**row, "id": "b", "status": "done"},
                                                {**row, "id": "c", "status": "failed"}])
    with pytest.raises(IntegrityError), session_scope(url) as session:
        session.execute(insert(BackgroundJob), [{**row, "id": "d"}])


def test_a_worker_that_loses_the_race_returns_the_winners_job(
        url: str, release: threading.Event, monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = JobRunner(url), JobRunner(url)
    winner = first.start(KEY, _blocked(release))
    looked = JobRunner._running_row
    calls: list[str] = []

    def missed_once(self: JobRunner, session: Any, key: str) -> BackgroundJob | None:
        calls.append(key)  # the first look happens before the winner's insert
        return None if len(calls) == 1 else looked(self, session, key)

    monkeypatch.setattr(JobRunner, "_running_row", missed_once)
    loser = second.start(KEY, lambda _p: pytest.fail("the loser's work ran"))
    assert loser.id == winner.id and len(calls) == 2


def _race(runners: list[JobRunner], key: str) -> tuple[list[str], list[int]]:
    """Every runner starts ``key`` at the same moment: the ids they got, whose work ran."""
    gate, release = threading.Barrier(len(runners)), threading.Event()
    ran: list[int] = []
    got: list[str] = []

    def race(runner: JobRunner, number: int) -> None:
        def work(_progress: Any) -> str:
            ran.append(number)
            release.wait(30)
            return "done"
        gate.wait()
        got.append(runner.start(key, work).id)

    threads = [threading.Thread(target=race, args=(r, n)) for n, r in enumerate(runners)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    release.set()
    if got:
        _wait(lambda: runners[0].get(got[0]), lambda j: j.status == "done")
    return got, ran


def test_racing_workers_start_one_job(database_url: str) -> None:
    migrate(database_url)
    runners = [JobRunner(database_url) for _ in range(4)]
    for round_ in range(3):
        got, ran = _race(runners, f"{KEY}:{round_}")
        assert len(got) == len(runners) and len(set(got)) == 1, got
        assert len(ran) == 1


def _dead_job(url: str, key: str, silent_for: timedelta, job_id: str = "dead-job") -> str:
    """A running job whose worker stopped sending heartbeats ``silent_for`` ago."""
    then = utcnow() - silent_for
    with session_scope(url) as session:
        session.add(BackgroundJob(id=job_id, key=key, status="running",
                                  stage="clustering answers", fraction=0.4, result="",
                                  error="", started_at=then, updated_at=then))
    return job_id


def test_a_job_whose_worker_died_is_failed_and_no_longer_blocks(
        url: str, release: threading.Event) -> None:
    dead = _dead_job(url, KEY, timedelta(minutes=3))
    runner = JobRunner(url)
    assert runner.running(KEY) is None
    job = runner.get(dead)
    assert job is not None and (job.status, job.error) == ("failed", STOPPED)
    assert job.stage == "clustering answers"  # where it stopped
    assert _row(url, dead).status == "failed"  # stored, for every worker
    fresh = runner.start(KEY, _blocked(release))
    assert fresh.id != dead and fresh.status == "running"
    # A job that is merely quiet (heartbeat within the limit) still counts as running.
    quiet = _dead_job(url, "themes:1:quiet", timedelta(seconds=30), "quiet-job")
    assert runner.get(quiet).status == "running"  # type: ignore[union-attr]
    assert runner.start("themes:1:quiet", _blocked(release)).id == quiet


def test_starting_gives_up_a_dead_job_of_the_same_key(url: str) -> None:
    dead = _dead_job(url, KEY, timedelta(minutes=5))
    runner = JobRunner(url)
    job = runner.start(KEY, lambda _p: "Found 1 theme.")
    assert job.id != dead
    assert _wait(lambda: runner.get(job.id), lambda j: j.status != "running").status == "done"
    assert _row(url, dead).status == "failed" and _row(url, dead).error == STOPPED


def test_heartbeats_keep_a_long_silent_job_alive(url: str, release: threading.Event) -> None:
    stale_after = timedelta(seconds=1)
    worker = JobRunner(url, stale_after=stale_after, heartbeat=0.2, write_every=0.05)
    watcher = JobRunner(url, stale_after=stale_after)
    job = worker.start(KEY, _blocked(release))  # reports no progress at all
    time.sleep(2.5)
    seen = watcher.get(job.id)
    assert seen is not None and seen.status == "running", seen
    assert seen.updated_at is not None and seen.started_at is not None
    assert seen.updated_at > seen.started_at


def test_a_failure_is_recorded_with_its_error(url: str) -> None:
    first, second = JobRunner(url), JobRunner(url)

    def broken(progress: Any) -> str:
        progress("clustering answers", 0.4)
        raise ValueError("too few answers to find themes")

    job = first.start(KEY, broken)
    failed = _wait(lambda: second.get(job.id), lambda j: j.status != "running")
    assert (failed.status, failed.error) == ("failed", "too few answers to find themes")
    assert (failed.stage, failed.fraction) == ("clustering answers", 0.4)
    assert second.running(KEY) is None

    def silent(_progress: Any) -> str:
        raise KeyError()

    other = first.start(KEY, silent)
    assert _wait(lambda: second.get(other.id),
                 lambda j: j.status != "running").error == "KeyError"


def test_progress_writes_are_throttled(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    runner = JobRunner(url)
    writes: list[dict[str, Any]] = []
    write = runner._write

    def counted(job_id: str, values: dict[str, Any], running_only: bool = True) -> bool:
        writes.append(values)
        return write(job_id, values, running_only)

    monkeypatch.setattr(runner, "_write", counted)

    def chatty(progress: Any) -> str:
        began = time.monotonic()
        step = 0
        while time.monotonic() - began < 1.2:
            step += 1
            progress(f"step {step}", min(step / 10_000, 1.0))
            time.sleep(0.0005)
        return "chatted"

    job = runner.start(KEY, chatty)
    done = _wait(lambda: runner.get(job.id), lambda j: j.status != "running")
    assert done.status == "done" and done.result == "chatted"
    progress_writes = [w for w in writes if "status" not in w]
    assert 1 <= len(progress_writes) <= 4, len(progress_writes)  # every 0.5 s at most
    assert writes[-1]["status"] == "done"  # and always the outcome


def test_old_finished_jobs_are_pruned(url: str) -> None:
    runner = JobRunner(url)
    long_ago, lately = utcnow() - timedelta(days=8), utcnow() - timedelta(days=1)
    row = {"key": "themes:1:old", "stage": "Done", "fraction": 1.0, "result": "", "error": "",
           "started_at": long_ago}
    with session_scope(url) as session:
        session.execute(insert(BackgroundJob), [
            {**row, "id": "old-done", "status": "done", "updated_at": long_ago},
            {**row, "id": "old-failed", "status": "failed", "updated_at": long_ago},
            {**row, "id": "old-dead", "status": "running", "updated_at": long_ago},
            {**row, "id": "recent", "status": "done", "updated_at": lately}])
    job = runner.start(KEY, lambda _p: "pruned")
    _wait(lambda: runner.get(job.id), lambda j: j.status != "running")
    with session_scope(url) as session:
        left = set(session.scalars(select(BackgroundJob.id)))
    assert left == {"recent", job.id}
    assert runner.get("old-done") is None


def test_the_defaults_match_the_promise() -> None:
    assert timedelta(minutes=2) == jobs.STALE_AFTER
    assert jobs.WRITE_EVERY <= 0.5 and jobs.STALE_AFTER.total_seconds() >= 3 * jobs.HEARTBEAT


def test_shutting_down_stops_this_workers_jobs_only(url: str, release: threading.Event) -> None:
    here, elsewhere = JobRunner(url), JobRunner(url)
    mine = here.start(KEY, _blocked(release, "Reading answers", 0.3))
    theirs = elsewhere.start("themes:2:other", _blocked(release))
    assert here.shut_down() == 1
    stopped = here.get(mine.id)
    assert stopped is not None and stopped.status == "failed" and stopped.error == jobs.SHUT_DOWN
    assert here.running(KEY) is None  # the key is free at once, not after STALE_AFTER
    still = here.get(theirs.id)
    assert still is not None and still.status == "running"
    assert here.shut_down() == 0  # nothing left to stop


def test_the_web_app_stops_its_jobs_when_it_shuts_down(url: str,
                                                       release: threading.Event) -> None:
    from fastapi.testclient import TestClient

    from tests.unit.review_web_support import make_app

    app = make_app(url)
    with TestClient(app):
        job = app.state.jobs.start(KEY, _blocked(release))
    stopped = JobRunner(url).get(job.id)
    assert stopped is not None and stopped.status == "failed" and stopped.error == jobs.SHUT_DOWN
