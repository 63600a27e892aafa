"""Knowledge index generations follow the database: two "machines" (two var folders)
sharing one database, on SQLite and PostgreSQL. A machine with an empty var folder builds
its index from the stored passages, later ingests and removals elsewhere reach it, one
machine builds once, an unreachable database leaves the loaded index in use, and a
database without recorded generations still serves."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, delete, event, func, select, text
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from bot.knowledge import generations
from bot.knowledge import index as ix
from bot.knowledge.ingest import ingest, remove_document
from bot.knowledge.search import KnowledgeSearcher
from bot.knowledge.service import KnowledgeService
from bot.store.db import engine_for, migrate, session_scope
from bot.store.models import KnowledgeGeneration
from tests.conftest import POSTGRES_ADMIN_URL

INTERVAL = 0.2  # seconds a searcher reuses the database's answer in these tests


@pytest.fixture
def url(database_url: str) -> str:
    """A migrated app store (SQLite, then PostgreSQL)."""
    migrate(database_url)
    return database_url


@pytest.fixture
def libraries(tmp_path: Path) -> Path:
    """A small collection of Markdown documents."""
    folder = tmp_path / "docs" / "libraries"
    folder.mkdir(parents=True)
    (folder / "hours.md").write_text(
        "# Library opening hours\n\n## Central Library\nOpen Monday to Friday 9:00 to "
        "19:00 and Saturday 9:00 to 17:00. Closed on Sundays.\n\n## Northgate branch\n"
        "Northgate opens on Sundays 11:00 to 15:00.\n")
    (folder / "joining.md").write_text(
        "# Joining the library\n\nAnyone who lives, works or studies in the borough can "
        "join for free. Bring proof of address and a photo ID.\n")
    return folder


def machine(tmp_path: Path, name: str) -> Path:
    """An empty var folder: one machine's local disk."""
    var = tmp_path / name
    var.mkdir()
    return var


def ingest_on(url: str, var: Path, folder: Path) -> None:
    with session_scope(url) as session:
        ingest(session, [folder], folder.name, var)


def documents_found(searcher: KnowledgeSearcher, query: str) -> set[str]:
    return {hit.passage.document for hit in searcher.search(query, ["libraries"], k=10)}


def live_stamp(var: Path) -> ix.Stamp | None:
    live = ix.current_generation(var)
    return None if live is None else ix.read_stamp(live)


def latest(url: str) -> ix.GenerationRef | None:
    with session_scope(url) as session:
        return generations.latest(session)


def count_builds(monkeypatch: pytest.MonkeyPatch, delay: float = 0.0) -> list[Path]:
    """Record every generation written from now on (each write waits ``delay`` first)."""
    written: list[Path] = []
    real = ix.write_generation

    def counting(*args: Any, **kwargs: Any) -> Path:
        time.sleep(delay)
        path = real(*args, **kwargs)
        written.append(path)
        return path

    monkeypatch.setattr(ix, "write_generation", counting)
    return written


def test_a_machine_with_an_empty_var_follows_ingests_and_removals_elsewhere(
        url: str, libraries: Path, tmp_path: Path) -> None:
    var_a, var_b = machine(tmp_path, "a"), machine(tmp_path, "b")
    ingest_on(url, var_a, libraries)
    searcher_b = KnowledgeSearcher(var_b, url, check_interval=INTERVAL)
    assert ix.current_generation(var_b) is None

    assert "hours.md" in documents_found(searcher_b, "is the library open on sunday")
    first = latest(url)
    assert first is not None
    assert live_stamp(var_a) == ix.Stamp(first.fingerprint, first)
    stamp_b = live_stamp(var_b)
    assert stamp_b is not None and stamp_b.fingerprint == first.fingerprint

    (libraries / "parking.md").write_text(
        "# Parking at the library\n\nThe Central Library car park has 40 spaces and is "
        "free for the first two hours.\n")
    ingest_on(url, var_a, libraries)
    time.sleep(INTERVAL)
    assert "parking.md" in documents_found(searcher_b, "is there a car park")

    with session_scope(url) as session:
        assert remove_document(session, "libraries", "hours.md", var_a)
    time.sleep(INTERVAL)
    assert "hours.md" not in documents_found(searcher_b, "is the library open on sunday")

    last = latest(url)
    assert last is not None and last != first
    stamp_a, stamp_b = live_stamp(var_a), live_stamp(var_b)
    assert stamp_a is not None and stamp_b is not None
    assert stamp_b.fingerprint == stamp_a.fingerprint == last.fingerprint
    with session_scope(url) as session:
        assert session.scalar(select(func.count()).select_from(KnowledgeGeneration)) == 3


def test_the_ingesting_machine_keeps_its_own_build_and_a_burst_costs_one_query(
        url: str, libraries: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    var_a = machine(tmp_path, "a")
    ingest_on(url, var_a, libraries)
    built = count_builds(monkeypatch)
    asked: list[str] = []

    def on_execute(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "knowledge_generations" in statement:
            asked.append(statement)

    engine = engine_for(url)
    event.listen(engine, "before_cursor_execute", on_execute)
    try:
        cached = KnowledgeSearcher(var_a, url, check_interval=60)
        for _ in range(5):
            assert set(cached.collections()) == {"libraries"}
        assert len(asked) == 1
        every_time = KnowledgeSearcher(var_a, url, check_interval=0)
        for _ in range(3):
            every_time.collections()
        assert len(asked) == 4
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)
    assert built == []  # the local generation already carries the latest fingerprint


def test_two_searchers_on_one_var_dir_build_once(url: str, libraries: Path, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    ingest_on(url, machine(tmp_path, "a"), libraries)
    var_b = machine(tmp_path, "b")
    built = count_builds(monkeypatch, delay=0.3)  # both are waiting before the first ends
    start = threading.Barrier(2)
    loaded: list[set[str]] = []
    errors: list[BaseException] = []

    def first_search() -> None:
        searcher = KnowledgeSearcher(var_b, url, check_interval=0)
        start.wait()
        try:
            loaded.append(set(searcher.collections()))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=first_search) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert loaded == [{"libraries"}, {"libraries"}]
    assert len(built) == 1
    assert ix.current_generation(var_b) == built[0]


def make_unreachable(url: str) -> None:
    """Cut the app store off: new connections fail, pooled ones are gone."""
    engine_for(url).dispose()
    if url.startswith("sqlite"):
        database = Path(str(make_url(url).database))
        for path in database.parent.glob(database.name + "*"):
            path.rename(path.with_name(path.name + ".gone"))
        database.mkdir()  # a folder where the file was: SQLite cannot open it
        return
    name = make_url(url).database
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
            connection.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                    "WHERE datname = :name"), {"name": name})
    finally:
        admin.dispose()


def test_an_unreachable_database_leaves_the_loaded_generation_in_use(
        url: str, libraries: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    ingest_on(url, machine(tmp_path, "a"), libraries)
    var_b = machine(tmp_path, "b")
    searcher = KnowledgeSearcher(var_b, url, check_interval=0)
    query = "is the library open on sunday"
    before = documents_found(searcher, query)
    assert "hours.md" in before

    make_unreachable(url)
    with caplog.at_level(logging.WARNING, logger="bot.knowledge.follow"):
        assert documents_found(searcher, query) == before
        assert documents_found(searcher, query) == before
        restarted = KnowledgeSearcher(var_b, url, check_interval=0)  # same disk, new process
        assert documents_found(restarted, query) == before
    warnings = [r for r in caplog.records if "cannot check the database" in r.getMessage()]
    assert len(warnings) == 2  # once per searcher, not once per search

    with pytest.raises(RuntimeError, match="cannot be reached"):
        KnowledgeSearcher(machine(tmp_path, "c"), url).search(query)


def test_a_database_without_recorded_generations_still_serves(
        url: str, libraries: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    var_a = machine(tmp_path, "a")
    ingest_on(url, var_a, libraries)
    with session_scope(url) as session:  # as before generations were recorded
        session.execute(delete(KnowledgeGeneration))
    built = count_builds(monkeypatch)

    var_b = machine(tmp_path, "b")
    assert "hours.md" in documents_found(KnowledgeSearcher(var_b, url, check_interval=0),
                                         "is the library open on sunday")
    stamp_a, stamp_b = live_stamp(var_a), live_stamp(var_b)
    assert stamp_a is not None and stamp_b == ix.Stamp(stamp_a.fingerprint, None)
    assert len(built) == 1

    own = KnowledgeSearcher(var_a, url, check_interval=0)  # its stamped build is used
    assert "hours.md" in documents_found(own, "is the library open on sunday")
    assert len(built) == 1

    live_a = ix.current_generation(var_a)
    assert live_a is not None  # a generation written before builds were stamped
    manifest = live_a / "manifest.json"
    manifest.write_text(manifest.read_text().replace('"fingerprint"', '"old"'))
    legacy = KnowledgeSearcher(var_a, url, check_interval=0)
    for _ in range(2):
        assert "hours.md" in documents_found(legacy, "is the library open on sunday")
    assert len(built) == 2  # rebuilt once from the stored passages, then kept
    assert live_stamp(var_a) == ix.Stamp(stamp_a.fingerprint, None)


def test_warm_up_builds_the_local_index_from_the_database(url: str, libraries: Path,
                                                          tmp_path: Path) -> None:
    ingest_on(url, machine(tmp_path, "a"), libraries)
    var_b = machine(tmp_path, "b")
    service = KnowledgeService(var_b, database_url=url)
    service.warm_up()
    assert ix.current_generation(var_b) is not None
    answer = service.answer("is the library open on sunday", ["libraries"])
    assert answer.covered and "Sunday" in answer.text


def test_stats_shows_the_local_and_the_database_generation(
        url: str, libraries: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.cli.main import app

    var_a, var_b = machine(tmp_path, "a"), machine(tmp_path, "b")
    ingest_on(url, var_a, libraries)
    monkeypatch.setenv("DATABASE_URL", url)

    def run() -> str:
        result = CliRunner().invoke(app, ["knowledge", "stats"])
        assert result.exit_code == 0, result.output
        return result.output

    recorded = latest(url)
    assert recorded is not None
    monkeypatch.setenv("CODESIGN_VAR_DIR", str(var_a))
    here = run()
    assert f"database:   generation #{recorded.id} of " in here
    assert f"fingerprint {recorded.fingerprint[:12]}, built for generation #{recorded.id}" \
        in here
    monkeypatch.setenv("CODESIGN_VAR_DIR", str(var_b))
    assert "index here: none yet" in run()
