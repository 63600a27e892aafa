"""Unit tests for the app store (bot.store): versions, answers, transcripts, erasure.

Every test that touches a database runs on SQLite and on PostgreSQL (``database_url``).
"""

from __future__ import annotations

import re
import threading
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.consultations.schema import content_hash, parse_consultation
from bot.store import repository as repo
from bot.store.db import migrate, session_factory, session_scope
from bot.store.models import (
    Answer,
    AnswerRevision,
    Base,
    Consultation,
    ConsultationVersion,
    Participant,
    Participation,
    Question,
    TranscriptEntry,
)
from bot.store.pseudonym import participant_key

SECRET = b"test-secret-key-0123456789abcdef"

YAML = """\
slug: {slug}
title: {title}
agency: Test Council
service: Transport
kind: co-design
summary: Help us plan new bike lanes.
outcome: We will publish what we heard.
{extra}questions:
  - id: cycle
    type: single_choice
    text: Do you cycle in town?
    options: ["Yes", "No"]
  - id: why_not
    type: open
    text: What stops you from cycling?
    show_if: {{question: cycle, in: ["No"]}}
  - id: routes
    type: multi_choice
    text: Which routes should get lanes first?
    options: [North, South, East]
{more}"""


def source(slug: str = "bike-lanes", title: str = "Bike lanes", *, opens: str | None = None,
           closes: str | None = None, more: str = "") -> str:
    """The YAML text of a small consultation."""
    extra = (f"opens: {opens}\n" if opens else "") + (f"closes: {closes}\n" if closes else "")
    return YAML.format(slug=slug, title=title, extra=extra, more=more)


def definition(slug: str = "bike-lanes", title: str = "Bike lanes", **kwargs: Any
               ) -> tuple[dict[str, Any], str]:
    """A validated definition and the YAML it came from."""
    text = source(slug, title, **kwargs)
    return parse_consultation(text), text


SAFETY = """\
  - id: safety
    type: scale
    text: How safe do you feel on the roads?
    min: 1
    max: 5
"""


@pytest.fixture
def url(database_url: str) -> str:
    """A migrated, empty database."""
    migrate(database_url)
    return database_url


def launch(url: str, slug: str = "bike-lanes", title: str = "Bike lanes",
           **kwargs: Any) -> repo.LaunchResult:
    d, text = definition(slug, title, **kwargs)
    with session_scope(url) as session:
        return repo.launch_consultation(session, d, text)


def count(url: str, model: type[Base]) -> int:
    with session_scope(url) as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def naive_utc(moment: datetime) -> datetime:
    """Compare timestamps across SQLite (naive) and PostgreSQL (aware)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def key(sender: str, channel: str = "telegram") -> str:
    return participant_key(SECRET, channel, sender)


def question_ids(url: str, version_id: int) -> dict[str, int]:
    with session_scope(url) as session:
        return {k: q.id for k, q in repo.questions_by_key(session, version_id).items()}


# --------------------------------------------------------------------------- launching


def test_migrate_is_idempotent(url: str) -> None:
    migrate(url)  # a second upgrade is a no-op, not an error
    assert count(url, Consultation) == 0


def test_first_launch_creates_version_1_with_questions(url: str) -> None:
    d, text = definition()
    with session_scope(url) as session:
        result = repo.launch_consultation(session, d, text)
        assert (result.new_version, result.reopened) == (True, False)
        assert result.version.number == 1
    with session_scope(url) as session:
        consultation = repo.get_consultation(session, "bike-lanes")
        assert consultation is not None
        assert consultation.status == "open"
        assert [v.number for v in consultation.versions] == [1]
        version = consultation.current_version
        assert version is not None and version.id == result.version.id
        assert version.title == "Bike lanes"
        assert version.source_yaml == text
        assert version.definition == d
        assert version.content_hash == content_hash(d)
        assert [(q.key, q.position, q.type) for q in version.questions] == [
            ("cycle", 0, "single_choice"), ("why_not", 1, "open"), ("routes", 2, "multi_choice")]
        assert version.questions[0].text == "Do you cycle in town?"
        assert version.questions[1].definition["show_if"] == {"question": "cycle", "in": ["No"]}
        assert version.questions[2].definition["options"] == ["North", "South", "East"]


def test_launching_the_identical_definition_adds_no_version(url: str) -> None:
    first = launch(url)
    second = launch(url)
    assert second.new_version is False
    assert second.reopened is False
    assert second.version.id == first.version.id
    assert second.version.number == 1
    assert count(url, Consultation) == 1
    assert count(url, ConsultationVersion) == 1
    assert count(url, Question) == 3


def test_changed_definition_creates_version_2_and_old_answers_keep_version_1(url: str) -> None:
    v1 = launch(url).version
    v1_questions = question_ids(url, v1.id)
    with session_scope(url) as session:
        participation = repo.start_participation(session, key("alice"), v1.id, "telegram")
        answer = repo.save_answer(session, participation.id, v1_questions["cycle"],
                                  status="answered", value="No", raw_text="no",
                                  message_id="m1")
        participation_id, answer_id = participation.id, answer.id

    result = launch(url, title="Bike lanes for everyone", more=SAFETY)
    assert (result.new_version, result.reopened) == (True, False)
    assert result.version.number == 2
    assert result.version.id != v1.id
    v2_questions = question_ids(url, result.version.id)
    assert set(v2_questions) == {"cycle", "why_not", "routes", "safety"}
    assert not set(v2_questions.values()) & set(v1_questions.values())

    with session_scope(url) as session:
        consultation = repo.get_consultation(session, "bike-lanes")
        assert consultation is not None
        assert [v.number for v in consultation.versions] == [1, 2]
        assert consultation.current_version is not None
        assert consultation.current_version.title == "Bike lanes for everyone"
        participation = session.get(Participation, participation_id)
        assert participation is not None and participation.version_id == v1.id
        answer = session.get(Answer, answer_id)
        assert answer is not None
        assert answer.question_id == v1_questions["cycle"]
        assert answer.question.version_id == v1.id
        assert answer.value == "No"
        # version 1 and its questions are kept as they were
        assert [q.key for q in consultation.versions[0].questions] == ["cycle", "why_not",
                                                                        "routes"]
    assert count(url, ConsultationVersion) == 2
    assert count(url, Question) == 3 + 4


def test_launching_a_closed_consultation_reopens_it(url: str) -> None:
    launch(url)
    with session_scope(url) as session:
        assert repo.close_consultation(session, "bike-lanes") is not None
    result = launch(url)
    assert result.reopened is True
    assert result.new_version is False
    with session_scope(url) as session:
        consultation = repo.get_consultation(session, "bike-lanes")
        assert consultation is not None and consultation.status == "open"
        assert repo.is_open(consultation, date(2027, 1, 1))


def test_launching_a_changed_closed_consultation_reopens_it_with_a_new_version(url: str) -> None:
    launch(url)
    with session_scope(url) as session:
        repo.close_consultation(session, "bike-lanes")
    result = launch(url, title="Bike lanes, take two")
    assert (result.new_version, result.reopened, result.version.number) == (True, True, 2)


# --------------------------------------------------------------------------- open / closed


def test_close_consultation_and_is_open(url: str) -> None:
    launch(url)
    with session_scope(url) as session:
        consultation = repo.get_consultation(session, "bike-lanes")
        assert consultation is not None
        assert repo.is_open(consultation, date(2027, 3, 1)) is True
        closed = repo.close_consultation(session, "bike-lanes")
        assert closed is not None and closed.slug == "bike-lanes"
    with session_scope(url) as session:
        consultation = repo.get_consultation(session, "bike-lanes")
        assert consultation is not None and consultation.status == "closed"
        assert repo.is_open(consultation, date(2027, 3, 1)) is False


def test_close_unknown_consultation_returns_none(url: str) -> None:
    with session_scope(url) as session:
        assert repo.close_consultation(session, "no-such-thing") is None
    assert count(url, Consultation) == 0


@pytest.mark.parametrize(("today", "expected"), [
    (date(2027, 1, 9), False),   # the day before it opens
    (date(2027, 1, 10), True),   # opening day
    (date(2027, 1, 15), True),
    (date(2027, 1, 20), True),   # closing day is included
    (date(2027, 1, 21), False),  # the day after it closes
])
def test_is_open_honours_opens_and_closes(url: str, today: date, expected: bool) -> None:
    launch(url, opens="2027-01-10", closes="2027-01-20")
    with session_scope(url) as session:
        consultation = repo.get_consultation(session, "bike-lanes")
        assert consultation is not None
        assert repo.is_open(consultation, today) is expected


def test_is_open_with_only_one_date(url: str) -> None:
    launch(url, "opens-only", opens="2027-01-10")
    launch(url, "closes-only", closes="2027-01-20")
    with session_scope(url) as session:
        opens_only = repo.get_consultation(session, "opens-only")
        closes_only = repo.get_consultation(session, "closes-only")
        assert opens_only is not None and closes_only is not None
        assert not repo.is_open(opens_only, date(2027, 1, 9))
        assert repo.is_open(opens_only, date(2099, 1, 1))
        assert repo.is_open(closes_only, date(2000, 1, 1))
        assert not repo.is_open(closes_only, date(2027, 1, 21))


def test_a_consultation_without_a_version_is_not_open(url: str) -> None:
    with session_scope(url) as session:
        session.add(Consultation(slug="empty", status="open"))
    with session_scope(url) as session:
        consultation = repo.get_consultation(session, "empty")
        assert consultation is not None and consultation.current_version is None
        assert repo.is_open(consultation, date(2027, 1, 1)) is False


def test_open_consultations(url: str) -> None:
    launch(url, "c-always")
    launch(url, "a-dated", opens="2027-01-10", closes="2027-01-20")
    launch(url, "b-closed")
    with session_scope(url) as session:
        repo.close_consultation(session, "b-closed")
    with session_scope(url) as session:
        assert [c.slug for c in repo.open_consultations(session, date(2027, 1, 1))] == [
            "c-always"]
        assert [c.slug for c in repo.open_consultations(session, date(2027, 1, 15))] == [
            "a-dated", "c-always"]
        assert [c.slug for c in repo.list_consultations(session)] == [
            "a-dated", "b-closed", "c-always"]


def test_get_consultation_unknown_returns_none(url: str) -> None:
    launch(url)
    with session_scope(url) as session:
        assert repo.get_consultation(session, "bike-lane") is None
        assert repo.get_consultation(session, "") is None
        found = repo.get_consultation(session, "bike-lanes")
        assert found is not None and found.slug == "bike-lanes"


# --------------------------------------------------------------------------- answers


def test_start_participation_records_consent(url: str) -> None:
    version = launch(url).version
    with session_scope(url) as session:
        participation = repo.start_participation(session, key("alice"), version.id, "telegram")
        participation_id = participation.id
    with session_scope(url) as session:
        participant = session.get(Participant, key("alice"))
        assert participant is not None
        participation = session.get(Participation, participation_id)
        assert participation is not None
        assert participation.participant_id == key("alice")
        assert participation.version_id == version.id
        assert participation.channel == "telegram"
        assert participation.status == "active"
        assert participation.consent_at is not None
        assert participation.finished_at is None
        assert participation.state == {}
    # a second participation reuses the participant row
    with session_scope(url) as session:
        repo.start_participation(session, key("alice"), version.id, "telegram")
    assert count(url, Participant) == 1
    assert count(url, Participation) == 2


def _participation(url: str) -> tuple[int, dict[str, int]]:
    version = launch(url).version
    questions = question_ids(url, version.id)
    with session_scope(url) as session:
        return repo.start_participation(session, key("alice"), version.id, "rest").id, questions


def test_first_save_creates_an_answer(url: str) -> None:
    participation_id, questions = _participation(url)
    with session_scope(url) as session:
        repo.save_answer(session, participation_id, questions["cycle"], status="answered",
                         value="Yes", raw_text="yes I do", message_id="m1")
    with session_scope(url) as session:
        answers = repo.current_answers(session, participation_id)
        assert list(answers) == ["cycle"]
        answer = answers["cycle"]
        assert (answer.status, answer.value, answer.raw_text, answer.message_id) == (
            "answered", "Yes", "yes I do", "m1")
        assert answer.revisions == []
    assert count(url, AnswerRevision) == 0


def test_saving_a_different_value_keeps_the_old_one_as_a_revision(url: str) -> None:
    participation_id, questions = _participation(url)
    with session_scope(url) as session:
        first = repo.save_answer(session, participation_id, questions["routes"],
                                 status="answered", value=["North"], raw_text=None,
                                 message_id="m1")
        answer_id, first_updated = first.id, first.updated_at
    with session_scope(url) as session:
        second = repo.save_answer(session, participation_id, questions["routes"],
                                  status="answered", value=["South", "East"], raw_text=None,
                                  message_id="m2")
        assert second.id == answer_id
    with session_scope(url) as session:
        answer = session.get(Answer, answer_id)
        assert answer is not None
        assert answer.value == ["South", "East"]
        assert answer.message_id == "m2"
        assert naive_utc(answer.updated_at) >= naive_utc(first_updated)
        assert [(r.status, r.value, r.raw_text) for r in answer.revisions] == [
            ("answered", ["North"], None)]
        assert naive_utc(answer.revisions[0].recorded_at) == naive_utc(first_updated)
    assert count(url, Answer) == 1

    # skipping the question afterwards is a change too
    with session_scope(url) as session:
        repo.save_answer(session, participation_id, questions["routes"], status="skipped",
                         value=None, raw_text="skip", message_id="m3")
    with session_scope(url) as session:
        answer = session.get(Answer, answer_id)
        assert answer is not None and (answer.status, answer.value) == ("skipped", None)
        assert [(r.status, r.value) for r in answer.revisions] == [
            ("answered", ["North"]), ("answered", ["South", "East"])]


def test_saving_the_same_value_creates_no_revision(url: str) -> None:
    participation_id, questions = _participation(url)
    with session_scope(url) as session:
        repo.save_answer(session, participation_id, questions["routes"], status="answered",
                         value=["North", "East"], raw_text="north and east", message_id="m1")
    with session_scope(url) as session:
        again = repo.save_answer(session, participation_id, questions["routes"],
                                 status="answered", value=["North", "East"],
                                 raw_text="north and east", message_id="m2")
        assert again.value == ["North", "East"]
    assert count(url, AnswerRevision) == 0
    assert count(url, Answer) == 1


def test_changing_only_the_raw_text_is_a_revision(url: str) -> None:
    participation_id, questions = _participation(url)
    with session_scope(url) as session:
        repo.save_answer(session, participation_id, questions["why_not"], status="answered",
                         value="Traffic", raw_text="Traffic", message_id=None)
        repo.save_answer(session, participation_id, questions["why_not"], status="answered",
                         value="Traffic", raw_text="Traffic!", message_id=None)
    assert count(url, AnswerRevision) == 1


# --------------------------------------------------------------------------- transcripts


def test_record_incoming_is_idempotent_per_message_id(url: str) -> None:
    participation_id, _ = _participation(url)
    with session_scope(url) as session:
        assert repo.record_incoming(session, participation_id, "hello", "greet", "msg-1") is True
    with session_scope(url) as session:
        assert repo.record_incoming(session, participation_id, "hello again", "greet",
                                    "msg-1") is False
    with session_scope(url) as session:
        entries = repo.transcript(session, participation_id)
        assert [(e.direction, e.text, e.intent, e.message_id) for e in entries] == [
            ("in", "hello", "greet", "msg-1")]


def test_a_redelivered_turn_waits_for_the_first_and_sees_what_it_stored(
        postgres_url: str) -> None:
    """Two deliveries of one message overlap (Rasa gave up on the first and the citizen
    sent it again): the second waits for the first's transaction, then finds the message
    logged and the state the first one stored, not the state from before it."""
    migrate(postgres_url)
    participation_id, _ = _participation(postgres_url)
    first = session_factory(postgres_url)()
    found = repo.participation_and_status(first, participation_id)
    assert found is not None
    assert repo.record_incoming(first, participation_id, "4", "inform", "msg-4")
    found[0].state = {"phase": "question", "current": "next"}
    second_saw: list[tuple[bool, dict[str, Any]]] = []

    def second_delivery() -> None:
        with session_scope(postgres_url) as session:
            again = repo.participation_and_status(session, participation_id)  # waits here
            assert again is not None
            new = repo.record_incoming(session, participation_id, "4", "inform", "msg-4")
            second_saw.append((new, dict(again[0].state)))

    thread = threading.Thread(target=second_delivery)
    thread.start()
    thread.join(timeout=2)
    assert thread.is_alive(), "the second delivery did not wait for the first"
    first.commit()
    first.close()
    thread.join(timeout=30)
    assert second_saw == [(False, {"phase": "question", "current": "next"})]


def test_record_incoming_duplicate_in_the_same_session(url: str) -> None:
    participation_id, _ = _participation(url)
    with session_scope(url) as session:
        assert repo.record_incoming(session, participation_id, "a", None, "msg-1") is True
        assert repo.record_incoming(session, participation_id, "a", None, "msg-1") is False
        assert repo.record_incoming(session, participation_id, "b", None, "msg-2") is True
    with session_scope(url) as session:
        assert [e.message_id for e in repo.transcript(session, participation_id)] == [
            "msg-1", "msg-2"]


def test_record_incoming_same_message_id_in_another_participation(url: str) -> None:
    participation_id, _ = _participation(url)
    version_id = launch(url).version.id
    with session_scope(url) as session:
        other = repo.start_participation(session, key("bob"), version_id, "rest").id
    with session_scope(url) as session:
        assert repo.record_incoming(session, participation_id, "hi", None, "msg-1") is True
        assert repo.record_incoming(session, other, "hi", None, "msg-1") is True
    assert count(url, TranscriptEntry) == 2


def test_record_incoming_duplicate_returns_false_and_keeps_the_turn(url: str) -> None:
    """A redelivery (or two racing): the unique constraint rejects it in a savepoint, and
    the rest of the turn's transaction survives."""
    participation_id, questions = _participation(url)
    with session_scope(url) as session:
        repo.record_incoming(session, participation_id, "hello", None, "msg-1")
    with session_scope(url) as session:
        repo.save_answer(session, participation_id, questions["cycle"], status="answered",
                         value="Yes", raw_text="yes", message_id="msg-0")
        assert repo.record_incoming(session, participation_id, "hello", None, "msg-1") is False
        # the rest of the turn's transaction survives the failed insert
        assert repo.record_incoming(session, participation_id, "more", None, "msg-2") is True
    with session_scope(url) as session:
        assert [e.message_id for e in repo.transcript(session, participation_id)] == [
            "msg-1", "msg-2"]
        assert repo.current_answers(session, participation_id)["cycle"].value == "Yes"


def test_record_incoming_without_message_id_always_records(url: str) -> None:
    participation_id, _ = _participation(url)
    with session_scope(url) as session:
        assert repo.record_incoming(session, participation_id, "yes", "affirm", None) is True
    with session_scope(url) as session:
        assert repo.record_incoming(session, participation_id, "yes", "affirm", None) is True
        assert repo.record_incoming(session, participation_id, "yes", "affirm", None) is True
    with session_scope(url) as session:
        entries = repo.transcript(session, participation_id)
        assert [(e.text, e.message_id) for e in entries] == [("yes", None)] * 3


def test_record_incoming_is_undone_by_a_rollback(url: str) -> None:
    """A failed turn must not leave its message id behind, or the retry would be dropped."""
    participation_id, _ = _participation(url)
    session = session_factory(url)()
    try:
        # the first write of the session (as in a dialogue turn), then the turn fails
        assert repo.record_incoming(session, participation_id, "Yes", "affirm", "msg-1")
        session.rollback()
    finally:
        session.close()
    assert count(url, TranscriptEntry) == 0
    with session_scope(url) as session:
        assert repo.record_incoming(session, participation_id, "Yes", "affirm", "msg-1") is True
    assert count(url, TranscriptEntry) == 1


def test_record_outgoing_stores_buttons(url: str) -> None:
    participation_id, _ = _participation(url)
    buttons = [{"title": "Yes", "payload": "/affirm"}, {"title": "No", "payload": "/deny"}]
    with session_scope(url) as session:
        repo.record_incoming(session, participation_id, "hi", "greet", "m1")
        repo.record_outgoing(session, participation_id, "Do you cycle?", buttons)
        repo.record_outgoing(session, participation_id, "Thanks.", [])
        repo.record_outgoing(session, participation_id, "Bye.", None)
    with session_scope(url) as session:
        entries = repo.transcript(session, participation_id)
        assert [(e.direction, e.text, e.buttons) for e in entries] == [
            ("in", "hi", None),
            ("out", "Do you cycle?", buttons),
            ("out", "Thanks.", None),
            ("out", "Bye.", None),
        ]
        assert entries[1].message_id is None


# --------------------------------------------------------------------------- erasure


def _populate(url: str, sender: str, version_ids: list[int]) -> list[int]:
    """A participant with one participation per version, answers, revisions, transcripts."""
    ids = []
    for n, version_id in enumerate(version_ids):
        questions = question_ids(url, version_id)
        with session_scope(url) as session:
            participation = repo.start_participation(session, key(sender), version_id,
                                                     "telegram")
            pid = participation.id
            repo.record_incoming(session, pid, "yes", "affirm", f"{sender}-{n}-1")
            repo.record_outgoing(session, pid, "Do you cycle?",
                                 [{"title": "Yes", "payload": "/choose"}])
            repo.save_answer(session, pid, questions["cycle"], status="answered", value="No",
                             raw_text="no", message_id=f"{sender}-{n}-2")
            repo.save_answer(session, pid, questions["cycle"], status="answered", value="Yes",
                             raw_text="yes", message_id=f"{sender}-{n}-3")
            repo.save_answer(session, pid, questions["routes"], status="answered",
                             value=["North"], raw_text=None, message_id=f"{sender}-{n}-4")
            repo.record_incoming(session, pid, "north", None, None)
        ids.append(pid)
    return ids


def _all_rows(url: str) -> dict[str, list[dict[str, Any]]]:
    with session_scope(url) as session:
        return {table.name: [dict(row._mapping) for row in session.execute(select(table))]
                for table in Base.metadata.sorted_tables}


def test_erase_participant_removes_everything_about_them(url: str) -> None:
    v1 = launch(url).version.id
    v2 = launch(url, title="Bike lanes v2").version.id
    other = launch(url, "library").version.id
    alice = _populate(url, "alice", [v1, v2])
    bob = _populate(url, "bob", [v1, other])
    before = _all_rows(url)
    assert len(before["participations"]) == 4
    assert len(before["answer_revisions"]) == 4
    assert {t.name for t in Base.metadata.sorted_tables} == set(before)

    with session_scope(url) as session:
        assert repo.erase_participant(session, key("alice")) == 2

    after = _all_rows(url)
    alice_answers = {r["id"] for r in before["answers"] if r["participation_id"] in alice}
    assert len(alice_answers) == 4
    references = {
        "participants": lambda r: r["id"] == key("alice"),
        "participations": lambda r: r["participant_id"] == key("alice") or r["id"] in alice,
        "answers": lambda r: r["participation_id"] in alice or r["id"] in alice_answers,
        "answer_revisions": lambda r: r["answer_id"] in alice_answers,
        "transcript_entries": lambda r: r["participation_id"] in alice,
    }
    for table, rows in after.items():
        assert not [r for r in rows if key("alice") in repr(r)], table
        if table in references:
            assert not [r for r in rows if references[table](r)], table
            # everything else in the table (bob's rows) is untouched
            assert rows == [r for r in before[table] if not references[table](r)], table
        else:  # consultations, versions and questions are not about a person
            assert rows == before[table], table
    assert [r["id"] for r in after["participants"]] == [key("bob")]
    assert sorted(r["id"] for r in after["participations"]) == sorted(bob)
    assert len(after["answers"]) == 4 and len(after["answer_revisions"]) == 2
    assert len(after["transcript_entries"]) == 6


def test_erase_unknown_participant_returns_zero(url: str) -> None:
    version = launch(url).version.id
    _populate(url, "bob", [version])
    before = _all_rows(url)
    with session_scope(url) as session:
        assert repo.erase_participant(session, key("nobody")) == 0
    assert _all_rows(url) == before


def test_erase_participant_without_participations(url: str) -> None:
    with session_scope(url) as session:
        repo.ensure_participant(session, key("carol"))
    with session_scope(url) as session:
        assert repo.erase_participant(session, key("carol")) == 0
    assert count(url, Participant) == 0


# --------------------------------------------------------------------------- pseudonyms


def test_participant_key_is_deterministic_hex() -> None:
    first = participant_key(SECRET, "telegram", "123456789")
    assert first == participant_key(SECRET, "telegram", "123456789")
    assert re.fullmatch(r"[0-9a-f]{64}", first)
    assert "123456789" not in first


def test_participant_key_differs_by_channel_sender_and_secret() -> None:
    base = participant_key(SECRET, "telegram", "42")
    assert participant_key(SECRET, "rest", "42") != base
    assert participant_key(SECRET, "telegram", "43") != base
    assert participant_key(b"another-secret-key-0123456789", "telegram", "42") != base


def test_participant_key_is_an_hmac_not_a_plain_hash() -> None:
    import hashlib
    import hmac

    assert participant_key(SECRET, "rest", "alice") == hmac.new(
        SECRET, b"rest:alice", hashlib.sha256).hexdigest()
    assert participant_key(SECRET, "rest", "alice") != hashlib.sha256(b"rest:alice").hexdigest()


# --------------------------------------------------------------------------- unfinished


def test_unfinished_participation_is_the_latest_active_or_paused(url: str) -> None:
    version = launch(url).version.id
    start = datetime(2027, 1, 1, 12, 0, tzinfo=UTC)
    ids = {}
    with session_scope(url) as session:
        for n, status in enumerate(["active", "paused", "completed"]):
            participation = repo.start_participation(session, key("alice"), version, "rest")
            participation.status = status
            participation.updated_at = start + timedelta(hours=n)
            ids[status] = participation.id
        other = repo.start_participation(session, key("bob"), version, "rest")
        other.updated_at = start + timedelta(days=1)

    with session_scope(url) as session:
        found = repo.unfinished_participation(session, key("alice"))
        assert found is not None and found.id == ids["paused"]

    with session_scope(url) as session:
        paused = session.get(Participation, ids["paused"])
        assert paused is not None
        paused.status = "completed"
    with session_scope(url) as session:
        found = repo.unfinished_participation(session, key("alice"))
        assert found is not None and found.id == ids["active"]

    with session_scope(url) as session:
        session.get(Participation, ids["active"]).status = "completed"  # type: ignore[union-attr]
    with session_scope(url) as session:
        assert repo.unfinished_participation(session, key("alice")) is None
        assert repo.unfinished_participation(session, key("nobody")) is None
        bobs = repo.unfinished_participation(session, key("bob"))
        assert bobs is not None and bobs.id == other.id


def test_unfinished_participation_prefers_the_most_recently_updated(url: str) -> None:
    version = launch(url).version.id
    start = datetime(2027, 1, 1, 12, 0, tzinfo=UTC)
    with session_scope(url) as session:
        older = repo.start_participation(session, key("alice"), version, "rest")
        newer = repo.start_participation(session, key("alice"), version, "rest")
        # the one started first was touched last
        older.updated_at, newer.updated_at = start + timedelta(minutes=5), start
        older.status = "paused"
    with session_scope(url) as session:
        found = repo.unfinished_participation(session, key("alice"))
        assert found is not None and found.id == older.id
