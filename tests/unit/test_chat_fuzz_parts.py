"""The chat fuzz's parts on their own: the hostile-input generator (``bot.devtools.fuzz``)
and the store check (``tests/e2e/fuzz_store.py``), which must find what it looks for."""

from __future__ import annotations

import json
import random
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import select

from bench.load.script import consultations
from bot.devtools.fuzz import CLASSES, WEIGHTS, HostileInput, World
from bot.devtools.stack import launch_demo
from bot.store import repository as repo
from bot.store.db import session_scope
from bot.store.models import Answer, Participation, Question, TranscriptEntry
from tests.e2e.fuzz_store import check_store, snapshot, value_problem

DEFINITIONS = consultations()


def generator(seed: int = 7) -> HostileInput:
    world = World.from_definitions(DEFINITIONS)
    world.refs = ["12.0123456789abcdef0123"]
    return HostileInput(random.Random(seed), world, 2000)


def test_the_generator_is_seeded_and_draws_every_class() -> None:
    one, again, other = generator(), generator(), generator(8)
    first = [one.message() for _ in range(300)]
    assert first == [again.message() for _ in range(300)]
    assert first != [other.message() for _ in range(300)]
    drawn = Counter(m.kind for m in first)
    assert set(drawn) == set(CLASSES) == set(WEIGHTS)
    assert drawn["payload"] > drawn["huge"]


def test_each_class_makes_what_it_says() -> None:
    hostile = generator()
    for _ in range(200):
        assert 10_000 <= len(hostile.huge().encode()) <= 1_000_004
        assert len(hostile.unicode()) <= 2000
        assert 1999 <= len(hostile.nlu_cost()) <= 2001
        assert hostile.payload().startswith("/")
    controls = "".join(hostile.control() for _ in range(100))
    assert any(ord(c) < 0x20 for c in controls) and any(0xD800 <= ord(c) < 0xE000
                                                         for c in controls)
    assert any("<script>" in hostile.markup() for _ in range(200))
    assert any("DROP TABLE" in hostile.sql() for _ in range(200))


def test_payloads_forge_other_consultations_refs_and_huge_values() -> None:
    hostile = generator()
    payloads = [hostile.payload() for _ in range(2000)]
    choices = []
    for text in payloads:
        if text.startswith('/choose{"choice":'):
            try:
                choice = json.loads(text[len("/choose"):])["choice"]
            except ValueError:
                continue
            if isinstance(choice, str):
                choices.append(choice)
    question_ids = {q["id"] for d in DEFINITIONS.values() for q in d["questions"]}
    assert {c.split(":")[0] for c in choices} >= question_ids  # every question forged
    assert any(c.startswith("missed:12.0123456789abcdef0123") for c in choices)
    assert any(c.startswith(("missed:13.", "forward:13.")) for c in choices)
    slugs = [json.loads(t[len("/start_consultation"):])["consultation"] for t in payloads
             if t.startswith('/start_consultation{"consultation":"') and len(t) < 200]
    assert set(DEFINITIONS) <= set(slugs)
    assert any(1900 <= len(t) <= 2000 for t in payloads)  # a huge entity value
    assert "/restart" in payloads and '/choose{"choice":' in payloads


def test_envelopes_cover_rest_bodies_and_socket_events() -> None:
    envelopes = generator().envelopes("someone")
    rest = [e for e in envelopes if e.rest_body is not None]
    socket = [e for e in envelopes if e.rest_body is None]
    assert len(rest) >= 20 and len(socket) >= 10
    assert {e.kind for e in rest} >= {"not json", "json list", "no sender", "message number"}


# ---------------------------------------------------------------------------- store check
LIBRARY = DEFINITIONS["library-hours-2027"]
QUESTIONS = {q["id"]: q for q in LIBRARY["questions"]}


@pytest.mark.parametrize(("key", "status", "value", "problem"), [
    ("visits", "answered", "Monthly", None),
    ("visits", "answered", "Daily", "not one of the options"),
    ("preferred_times", "answered", ["Saturdays", "Sundays"], None),
    ("preferred_times", "answered", [], "not a non-empty list"),
    ("preferred_times", "answered", ["Saturdays", "Saturdays"], "not distinct options"),
    ("preferred_times", "answered", ["Saturdays", "Sundays", "Weekday daytime",
                                     "Evenings (after 6pm)"], "more than 3 options"),
    ("evenings", "answered", 5, None), ("evenings", "answered", 6, "out of range"),
    ("evenings", "answered", True, "not an integer"),
    ("evenings", "skipped", None, None),
    ("visits", "skipped", None, "a required question skipped"),
    ("barriers", "answered", "Buses stop at seven", None),
    ("barriers", "answered", "Buses\x00 stop", "not clean text"),
    ("barriers", "answered", "x" * 5001, "over 5000 characters"),
    ("barriers", "answered", "   ", "not text"),
    ("barriers", "maybe", "x", "status 'maybe'"),
])
def test_value_problem_names_what_is_wrong(key: str, status: str, value: Any,
                                           problem: str | None) -> None:
    assert value_problem(QUESTIONS[key], status, value) == problem


def test_the_store_check_finds_planted_answers_and_snapshots_change(sqlite_url: str) -> None:
    launch_demo(sqlite_url)
    with session_scope(sqlite_url) as session:
        versions = {c.slug: c.current_version.id for c in repo.list_consultations(session)
                    if c.current_version}
        mine = repo.start_participation(session, "key-a", versions["library-hours-2027"],
                                        "rest")
        other = repo.start_participation(session, "key-b", versions["library-hours-2027"],
                                         "rest")
        ids = {q.key: q.id for q in repo.questions_by_key(
            session, versions["library-hours-2027"]).values()}
        park = repo.questions_by_key(session, versions["park-redesign-2027"])
        repo.record_answer(session, None, mine.id, ids["visits"], status="answered",
                           value="Monthly", raw_text="monthly", message_id="m1")
        repo.record_answer(session, None, other.id, ids["visits"], status="answered",
                           value="Weekly or more", raw_text="1", message_id="m2")
        session.commit()
    checked, problems = check_store(sqlite_url)
    assert problems == [] and checked["answers"] == 2
    before = snapshot(sqlite_url, ["key-b"])

    with session_scope(sqlite_url) as session:
        repo.record_answer(session, None, mine.id, park["dogs"].id, status="answered",
                           value="Keep the current rules", raw_text="1", message_id="m3")
        repo.record_answer(session, None, mine.id, ids["evenings"], status="answered",
                           value=9, raw_text="9\u202e", message_id="m4")
        repo.record_incoming(session, mine.id, "hi\x00", None, "m5")
        session.commit()
    _, problems = check_store(sqlite_url)
    assert any("(dogs): a question of another consultation version" in p for p in problems)
    assert any("(evenings): out of range: 9" in p for p in problems)
    assert any("(evenings): raw text not clean" in p for p in problems)
    assert any(p.startswith("transcript entry") for p in problems)
    assert snapshot(sqlite_url, ["key-b"]) == before  # nothing of key-b's changed yet

    with session_scope(sqlite_url) as session:
        answer = session.scalar(select(Answer).join(Question, Question.id == Answer.question_id)
                                .where(Answer.participation_id == other.id))
        assert answer is not None
        repo.record_answer(session, answer, other.id, answer.question_id, status="answered",
                           value="Monthly", raw_text="forged", message_id="m6")
        session.add(TranscriptEntry(participation_id=other.id, direction="in", text="x"))
        session.get(Participation, other.id).status = "paused"  # type: ignore[union-attr]
        session.commit()
    assert snapshot(sqlite_url, ["key-b"]) != before
