"""Unit tests of answer keys (bot.knowledge.answer_keys)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.knowledge.answer_keys import AnswerKey, load_answer_keys
from bot.knowledge.evaluation import load_cases

ROOT = Path(__file__).resolve().parents[2]


def test_any_of_needs_one_snippet_ignoring_case_spacing_and_quotes() -> None:
    key = AnswerKey(any_of=("Thursday: 9:00 to 19:00", "children’s card"))
    assert key.shown_in("- thursday:  9:00 to\n19:00")
    assert key.shown_in("a Children's Card is free")
    assert not key.shown_in("Thursday: 9:00 to 17:00")


def test_all_of_needs_every_snippet() -> None:
    key = AnswerKey(all_of=("£65", "sports.bookings@riverside.example"))
    assert key.shown_in("£65 a match; book at sports.bookings@riverside.example")
    assert not key.shown_in("£65 a match")


def test_bad_lines_are_named(tmp_path: Path) -> None:
    path = tmp_path / "keys.jsonl"
    path.write_text('{"question": "when?", "any_of": ["9:00"]}\n{"question": "why?"}\n',
                    encoding="utf-8")
    with pytest.raises(ValueError, match="line 2: give"):
        load_answer_keys(path)
    path.write_text('{"question": "when?", "any_of": "9:00"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match="line 1: \"any_of\" and \"all_of\" must be lists"):
        load_answer_keys(path)


def test_the_project_keys_belong_to_covered_evaluation_questions() -> None:
    keys = load_answer_keys(ROOT / "tests" / "eval" / "answer-keys.jsonl")
    covered = {case.question for name in ("questions", "decision-test")
               for case in load_cases(ROOT / "tests" / "eval" / f"{name}.jsonl")
               if case.covered}
    assert set(keys) == covered
