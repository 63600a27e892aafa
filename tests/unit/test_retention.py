"""Retention: data older than a consultation's retention_days is purged, nothing else."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, text

from bot.consultations.schema import parse_consultation
from bot.store import repository as repo
from bot.store.db import migrate, session_scope
from bot.store.models import Answer, KnowledgeQuery, Participant, Participation, utcnow
from bot.store.retention import purge_expired

DEFINITION = """
slug: short-keep
title: Short retention
agency: Test Council
service: Testing
kind: co-design
summary: Kept for 30 days.
outcome: Done.
privacy: {retention_days: 30, quotes: never}
questions:
  - id: q1
    type: open
    text: Anything?
"""


def _participation(session, version_id: int, question_id: int, who: str,  # type: ignore[no-untyped-def]
                   age_days: int) -> int:
    participation = repo.start_participation(session, who, version_id, "rest")
    repo.save_answer(session, participation.id, question_id, status="answered",
                     value="hello", raw_text="hello", message_id=None)
    repo.record_incoming(session, participation.id, "hello", "inform", None)
    participation.updated_at = utcnow() - timedelta(days=age_days)
    session.add(KnowledgeQuery(participation_id=participation.id, text="q?", collections=[],
                               answered=True, hits=[]))
    return participation.id


def test_purge_deletes_only_what_is_past_retention(database_url: str) -> None:
    migrate(database_url)
    with session_scope(database_url) as session:
        session.execute(text("CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id "
                             "VARCHAR(255), timestamp FLOAT)"))
        now = utcnow().timestamp()
        session.execute(text("INSERT INTO events (id, sender_id, timestamp) VALUES "
                             "(1, 'old', :old), (2, 'new', :new)"),
                        {"old": now - 400 * 86400, "new": now - 86400})
        result = repo.launch_consultation(session, parse_consultation(DEFINITION), DEFINITION)
        question_id = repo.questions_by_key(session, result.version.id)["q1"].id
        old = _participation(session, result.version.id, question_id, "a" * 64, age_days=40)
        kept = _participation(session, result.version.id, question_id, "b" * 64, age_days=10)
        session.add(KnowledgeQuery(participation_id=None, text="ancient?", collections=[],
                                   answered=False, hits=[],
                                   asked_at=utcnow() - timedelta(days=400)))
        session.add(KnowledgeQuery(participation_id=None, text="recent?", collections=[],
                                   answered=False, hits=[]))

    with session_scope(database_url) as session:
        preview = purge_expired(session, dry_run=True)
    assert (preview.participations, preview.participants, preview.anonymous_questions,
            preview.tracker_events) == (1, 1, 1, 1)
    with session_scope(database_url) as session:  # a dry run changes nothing
        assert session.scalar(select(func.count()).select_from(Participation)) == 2

    with session_scope(database_url) as session:
        report = purge_expired(session)
    assert (report.participations, report.participants, report.anonymous_questions,
            report.tracker_events) == (1, 1, 1, 1)
    with session_scope(database_url) as session:
        assert session.scalars(select(Participation.id)).all() == [kept]
        assert session.get(Participation, old) is None
        assert session.scalars(select(Participant.id)).all() == ["b" * 64]
        assert session.scalar(select(func.count()).select_from(Answer)) == 1
        assert sorted(session.scalars(select(KnowledgeQuery.text))) == ["q?", "recent?"]
        assert session.execute(text("SELECT sender_id FROM events")).scalars().all() == ["new"]
