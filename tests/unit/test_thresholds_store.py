"""Thresholds stored per collection: the knowledge service uses the stored thresholds of
the best hit's collection without a restart, falling back to the defaults; ``codesign
knowledge calibrate --from-reviews [--apply]`` builds its questions from reviewers'
labels; migration 0012 up and down (SQLite, the real embedder and index)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import inspect, select
from typer.testing import CliRunner

from bot.knowledge import collection_thresholds
from bot.knowledge.answers import Thresholds
from bot.knowledge.service import KnowledgeService
from bot.review import gap_labels
from bot.store.audit_models import AuditEntry
from bot.store.db import alembic_config, engine_for, migrate, session_scope
from tests.unit.gap_labels_support import QUESTIONS, ask, asked_all, ingested
from tests.unit.test_glossary import WASTE
from tests.unit.test_knowledge import docs  # noqa: F401  (the fixture)

STRICT = Thresholds(similarity=0.99, word_match=0.99, offered_match=0.99)
ANSWERED = "is northgate library open on sundays"


@pytest.fixture
def kb(tmp_path: Path, docs: Path) -> tuple[str, Path]:  # noqa: F811
    """A migrated store with the demo library documents and a waste page ingested."""
    url = f"sqlite:///{tmp_path / 'kb.db'}"
    migrate(url)
    var = tmp_path / "var"
    ingested(url, var, docs)
    waste = tmp_path / "waste"
    waste.mkdir()
    (waste / "waste-services.md").write_text(WASTE)
    ingested(url, var, waste, "waste")
    return url, var


def test_a_stored_strict_threshold_declines_an_answered_question_without_a_restart(
        kb: tuple[str, Path]) -> None:
    url, var = kb
    service = KnowledgeService(var, database_url=url)
    service.collection_thresholds.check_interval = 0.0
    assert service.answer(ANSWERED, ["libraries"]).covered
    with session_scope(url) as session:
        collection_thresholds.save(session, "libraries", STRICT, "admin@council.example")
    assert not service.answer(ANSWERED, ["libraries"]).covered
    # searching several collections: the best hit's collection's thresholds decide
    assert not service.answer(ANSWERED, ["libraries", "waste"]).covered
    assert not service.answer(ANSWERED, None).covered
    with session_scope(url) as session:
        assert collection_thresholds.reset(session, "libraries")
        collection_thresholds.save(session, "waste", STRICT, "admin@council.example")
    assert service.answer(ANSWERED, ["libraries", "waste"]).covered  # waste's don't apply
    assert not service.answer("what time does the marsh lane household recycling centre "
                              "close in winter", ["waste"]).covered
    with session_scope(url) as session:
        assert not collection_thresholds.reset(session, "libraries")


def test_the_book_falls_back_to_the_defaults_and_rereads_after_its_interval(
        kb: tuple[str, Path]) -> None:
    url, _ = kb
    default = Thresholds(0.5, 0.45, 0.6, 0.55)
    book = collection_thresholds.ThresholdBook(url, default, check_interval=3600)
    assert book.for_collection("libraries") == default and book.for_collection(None) == default
    with session_scope(url) as session:
        collection_thresholds.save(session, "libraries", STRICT, "cli:someone")
    assert book.for_collection("libraries") == default  # read less than an hour ago
    book.check_interval = 0.0
    assert book.for_collection("libraries") == Thresholds(0.99, 0.99, 0.99, 0.55)
    assert book.for_collection("waste") == default
    assert collection_thresholds.ThresholdBook(None, default).for_collection("x") == default


def label_all(url: str, var: Path, kinds: str = "both") -> None:
    ids = asked_all(url, var)
    with session_scope(url) as session:
        for text, source in QUESTIONS:
            if kinds == "both" or (kinds == "answered") == (source is not None):
                gap_labels.set_label(session, ids[text],
                                     "answered" if source else "not_covered", source, None)


@pytest.fixture
def cli(kb: tuple[str, Path], monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    url, var = kb
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("CODESIGN_VAR_DIR", str(var))
    return CliRunner()


def test_calibrate_from_reviews_suggests_and_applies(cli: CliRunner,
                                                     kb: tuple[str, Path]) -> None:
    from bot.cli.main import app

    url, var = kb
    result = cli.invoke(app, ["knowledge", "calibrate", "--from-reviews"])
    assert result.exit_code == 1 and "no labelled questions" in result.output
    label_all(url, var)
    result = cli.invoke(app, ["knowledge", "calibrate", "--from-reviews", "--json"])
    assert result.exit_code == 0, result.output
    (report,) = json.loads(result.output)
    assert (report["collection"], report["answered"], report["not_covered"]) == \
        ("libraries", 3, 2)
    assert report["current"]["similarity"] == Thresholds().similarity
    suggested = report["suggested"]
    assert suggested["covered_wrongly_declined"] <= 0.10
    assert suggested["uncovered_declined"] >= report["current"]["uncovered_declined"]
    assert report["applied"] is False
    with session_scope(url) as session:
        assert collection_thresholds.stored(session, "libraries") is None
    text = cli.invoke(app, ["knowledge", "calibrate", "--from-reviews", "--collection",
                            "libraries", "--apply"]).output
    assert "libraries: 5 labelled questions, 3 the documents answer, 2 not covered." in text
    assert "before (similarity" in text and "after, suggested (at most 10% wrongly" in text
    assert "applied: the bot uses them" in text
    with session_scope(url) as session:
        row = collection_thresholds.stored(session, "libraries")
        assert row is not None and row.set_by.startswith("cli:")
        assert (row.similarity, row.word_match, row.offered_match) == (
            suggested["similarity"], suggested["word_match"], suggested["offered_match"])
        entry = session.scalars(select(AuditEntry).where(
            AuditEntry.action == "knowledge.thresholds")).one()
        assert entry.target == "libraries" and entry.detail["change"] == "apply"
    # the next run starts from the stored thresholds
    (again,) = json.loads(cli.invoke(app, ["knowledge", "calibrate", "--from-reviews",
                                           "--json"]).output)
    assert again["current"]["similarity"] == suggested["similarity"]
    result = cli.invoke(app, ["knowledge", "calibrate", "--from-reviews", "-c", "waste"])
    assert result.exit_code == 1 and "no labelled questions in collection waste" in \
        result.output


def test_calibrate_from_reviews_needs_both_kinds_and_one_source(
        cli: CliRunner, kb: tuple[str, Path], tmp_path: Path) -> None:
    from bot.cli.main import app

    url, var = kb
    label_all(url, var, kinds="answered")
    result = cli.invoke(app, ["knowledge", "calibrate", "--from-reviews"])
    assert result.exit_code == 1
    assert "no suggestion: only one kind of label" in result.output
    assert "“not covered” too" in result.output
    questions = tmp_path / "q.jsonl"
    questions.write_text('{"question": "x", "sources": []}\n')
    for args in ([], [str(questions), "--from-reviews"]):
        result = cli.invoke(app, ["knowledge", "calibrate", *args])
        assert result.exit_code == 1 and "one of the two" in result.output
    result = cli.invoke(app, ["knowledge", "calibrate", str(questions), "--apply"])
    assert result.exit_code == 1 and "go with --from-reviews" in result.output


def test_calibrating_a_file_of_one_collection_starts_from_its_stored_thresholds(
        cli: CliRunner, kb: tuple[str, Path], tmp_path: Path) -> None:
    from bot.cli.main import app

    url, _ = kb
    with session_scope(url) as session:
        collection_thresholds.save(session, "libraries", STRICT, "cli:someone")
    one = tmp_path / "libraries.jsonl"
    one.write_text(json.dumps({"question": ANSWERED, "collection": "libraries",
                               "sources": ["libraries/hours.md"]}) + "\n" +
                   json.dumps({"question": "can I send a fax", "collection": "libraries",
                               "sources": []}) + "\n")
    report = json.loads(cli.invoke(app, ["knowledge", "calibrate", str(one), "--json"]).output)
    now = report["current"]
    assert (now["similarity"], now["word_match"], now["offered_match"]) == (0.99, 0.99, 0.99)
    assert now["covered_wrongly_declined"] == 1.0  # the strict stored ones decline it
    both = tmp_path / "both.jsonl"
    both.write_text(one.read_text() + json.dumps(
        {"question": "when is my bin collected", "collection": "waste", "sources": []}) + "\n")
    report = json.loads(cli.invoke(app, ["knowledge", "calibrate", str(both), "--json"]).output)
    assert report["current"]["similarity"] == Thresholds().similarity  # no single "now"


def test_a_not_covered_label_counts_for_the_best_hits_collection(
        kb: tuple[str, Path]) -> None:
    url, var = kb
    service = KnowledgeService(var, database_url=url)
    query_id = ask(service, url, "when are bulky items like sofas collected", None,
                   forwarded=True)
    with session_scope(url) as session:
        row = gap_labels.set_label(session, query_id, "not_covered", None, None)
        assert row.collection == "waste"


def test_migration_0012_up_and_down(sqlite_url: str) -> None:
    config = alembic_config(sqlite_url)
    command.upgrade(config, "0011")

    def tables() -> set[str]:
        with engine_for(sqlite_url).connect() as connection:
            return set(inspect(connection).get_table_names())

    assert not {"knowledge_labels", "knowledge_thresholds"} & tables()
    command.upgrade(config, "0012")
    assert {"knowledge_labels", "knowledge_thresholds"} <= tables()
    with engine_for(sqlite_url).connect() as connection:
        unique = inspect(connection).get_unique_constraints("knowledge_labels")
    assert [c["column_names"] for c in unique] == [["query_id"]]
    command.downgrade(config, "0011")
    assert not {"knowledge_labels", "knowledge_thresholds"} & tables()
    assert "knowledge_gap_words" in tables()


def test_knowledge_search_decides_with_the_stored_thresholds(cli: CliRunner,
                                                             kb: tuple[str, Path]) -> None:
    from bot.cli.main import app

    url, _ = kb
    assert cli.invoke(app, ["knowledge", "search", ANSWERED, "-c", "libraries"]
                      ).output.startswith("covered: yes")
    with session_scope(url) as session:
        collection_thresholds.save(session, "libraries", STRICT, "cli:someone")
    assert cli.invoke(app, ["knowledge", "search", ANSWERED, "-c", "libraries"]
                      ).output.startswith("covered: no")
