"""Labelled questions, the decision's rates and the thresholds suggested for them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.knowledge import evaluation
from bot.knowledge.answers import Thresholds
from bot.knowledge.evaluation import Case, Scored, load_cases
from tests.unit.test_knowledge import docs  # noqa: F401  (the fixture)


def _scored(covered: bool, top: float, weakest: float, offered: bool = False) -> Scored:
    return Scored(Case("q", None, ["libraries/x.md"] if covered else []), top, weakest,
                  offered)


def test_load_cases_reads_questions_with_optional_collection(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text('{"question": " hours? ", "collection": "libraries", "sources": '
                    '["libraries/hours.md"]}\n\n{"question": "fax", "sources": []}\n'
                    '{"question": "x"}\n')
    assert load_cases(path) == [Case("hours?", "libraries", ["libraries/hours.md"]),
                                Case("fax", None, []), Case("x", None, [])]


@pytest.mark.parametrize(("line", "problem"), [
    ('{"question": "x"', "q.jsonl: line 2 is not valid JSON"),
    ('["x"]', "q.jsonl: line 2 is not a JSON object"),
    ('{"question": ""}', 'q.jsonl: line 2: "question" must be a non-empty string'),
    ('{"question": "x", "sources": "a.md"}', 'q.jsonl: line 2: "sources" must be a list'),
    ('{"question": "x", "collection": 3}', 'q.jsonl: line 2: "collection" must be a string'),
])
def test_a_bad_line_is_named(tmp_path: Path, line: str, problem: str) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text('{"question": "fine"}\n' + line + "\n")
    with pytest.raises(ValueError, match=problem):
        load_cases(path)


def test_outcomes_follow_the_thresholds() -> None:
    rule = Thresholds(similarity=0.44, word_match=0.44, offered_match=0.65, closest=0.50)
    assert _scored(True, 0.60, 1.00).outcome(rule) == "answered"
    assert _scored(True, 0.60, 0.60).outcome(rule) == "answered"
    assert _scored(True, 0.60, 0.60, offered=True).outcome(rule) == "closest"
    assert _scored(True, 0.60, 0.70, offered=True).outcome(rule) == "answered"
    assert _scored(True, 0.60, 0.30).outcome(rule) == "closest"
    assert _scored(True, 0.46, 0.30).outcome(rule) == "declined"  # on topic, but barely
    assert _scored(True, 0.40, 1.00).outcome(rule) == "declined"


def test_rates_and_the_suggestion_keep_to_the_limit() -> None:
    scored = [_scored(True, 0.60, 0.90), _scored(True, 0.55, 0.52), _scored(True, 0.70, 0.53),
              _scored(False, 0.58, 0.50), _scored(False, 0.45, 0.60), _scored(False, 0.38, 0.90)]
    now = Thresholds(0.44, 0.44, 0.44)
    assert evaluation.rates(scored, now) == {"uncovered_declined": pytest.approx(1 / 3),
                                             "covered_wrongly_declined": 0.0}
    best = evaluation.recommend(scored, max_wrongly_declined=0.0, current=now)
    assert best is not None
    assert evaluation.rates(scored, best) == {"uncovered_declined": 1.0,
                                              "covered_wrongly_declined": 0.0}
    assert 0.45 < best.similarity <= 0.55 and 0.50 < best.word_match <= 0.52
    # Declining everything unanswerable would cost answerable ones: the limit decides.
    loose = evaluation.recommend(scored, max_wrongly_declined=0.5, current=now)
    assert loose is not None and evaluation.rates(scored, loose)["uncovered_declined"] == 1.0
    # A stricter match for "is there…" questions is found when only it separates them.
    offers = [_scored(True, 0.6, 0.9, offered=True), _scored(False, 0.6, 0.6, offered=True),
              _scored(True, 0.6, 0.5)]
    best = evaluation.recommend(offers, max_wrongly_declined=0.0, current=now)
    assert best is not None and 0.6 < best.offered_match <= 0.9 and best.word_match <= 0.5
    # An answerable question below every threshold tried: no set keeps to 0 %.
    assert evaluation.recommend([_scored(True, 0.2, 0.2), _scored(False, 0.9, 0.9)], 0.0) \
        is None


def test_thresholds_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Thresholds.from_env() == Thresholds()
    monkeypatch.setenv("CODESIGN_ANSWER_SIMILARITY", "0.5")
    monkeypatch.setenv("CODESIGN_ANSWER_WORD_MATCH", " 0.41 ")
    monkeypatch.setenv("CODESIGN_ANSWER_OFFERED_MATCH", "0.7")
    assert Thresholds.from_env() == Thresholds(0.5, 0.41, 0.7)
    for bad in ("high", "1.5", "-0.1"):
        monkeypatch.setenv("CODESIGN_ANSWER_WORD_MATCH", bad)
        with pytest.raises(ValueError, match="CODESIGN_ANSWER_WORD_MATCH must be"):
            Thresholds.from_env()
    with pytest.raises(ValueError, match="between 0 and 1"):
        Thresholds(similarity=2.0)


def test_cli_calibrate_reports_and_suggests(docs: Path, tmp_path: Path,  # noqa: F811
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.cli.main import app

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("CODESIGN_VAR_DIR", str(tmp_path / "var"))
    runner = CliRunner()
    assert runner.invoke(app, ["knowledge", "ingest", str(docs)]).exit_code == 0
    questions = tmp_path / "questions.jsonl"
    rows = [("is northgate library open on sundays", ["libraries/hours.md"]),
            ("how much is the late fee", ["libraries/faq.csv"]),
            ("when is rhyme time for toddlers", ["libraries/events.txt"]),
            ("can I send a fax from the library", []),
            ("is there a skate park", [])]
    questions.write_text("".join(json.dumps({"question": q, "collection": "libraries",
                                             "sources": s}) + "\n" for q, s in rows))
    result = runner.invoke(app, ["knowledge", "calibrate", str(questions), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert (report["questions"], report["answerable"], report["unanswerable"]) == (5, 3, 2)
    assert report["retrieval"]["recall@5"] == 1.0
    assert report["current"]["similarity"] == Thresholds().similarity
    assert set(report["current"]["outcomes"]) == {"covered", "uncovered"}
    suggested = report["suggested"]
    assert suggested["covered_wrongly_declined"] <= 0.10
    assert suggested["uncovered_declined"] >= report["current"]["uncovered_declined"]
    text = runner.invoke(app, ["knowledge", "calibrate", str(questions)]).output
    assert "5 questions: 3 the documents answer, 2 they do not." in text
    assert f"CODESIGN_ANSWER_WORD_MATCH={suggested['word_match']:.2f}" in text
    assert f"CODESIGN_ANSWER_OFFERED_MATCH={suggested['offered_match']:.2f}" in text
    assert "rough" in text  # fewer than 100 questions
    only_answerable = tmp_path / "answerable.jsonl"
    only_answerable.write_text(questions.read_text().splitlines()[0] + "\n")
    text = runner.invoke(app, ["knowledge", "calibrate", str(only_answerable)]).output
    assert "No suggestion" in text
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": 1}\n')
    result = runner.invoke(app, ["knowledge", "calibrate", str(bad)])
    assert result.exit_code == 1 and "bad.jsonl: line 1" in result.output
