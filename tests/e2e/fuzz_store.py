"""The chat fuzz's store check: every answer fits its consultation, citizen text is
clean, and other citizens' data is untouched.

- Every answer (and every revision) is to a question of its participation's own
  consultation version, with a value that question allows: a choice is one of its
  options, a multi-choice a non-empty list of distinct options within ``max_choices``,
  a scale point an integer in range, an open answer clean non-empty text of at most
  5,000 characters; a skipped question is an optional one.
- Citizen text stored (answers' raw text, incoming transcript entries, service
  questions) is as ``bot.text.clean`` leaves it.
- ``snapshot`` records what is stored for some citizens; compared before and after, it
  shows nobody else's input changed it (answers, transcripts, service questions and
  their flags, hear-back wishes).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from bot.store.db import session_scope
from bot.store.models import (
    Answer,
    AnswerRevision,
    KnowledgeQuery,
    Participant,
    Participation,
    Question,
    TranscriptEntry,
)
from bot.store.review_models import FollowUp
from bot.text.clean import clean

MAX_OPEN_CHARS = 5000


def value_problem(q: dict[str, Any], status: str, value: Any) -> str | None:
    """Why ``(status, value)`` is not a valid stored answer to question ``q``, or None."""
    if status == "skipped":
        if value is not None:
            return "a skipped answer with a value"
        return "a required question skipped" if q.get("required", True) else None
    if status != "answered":
        return f"status {status!r}"
    kind = q["type"]
    if kind == "single_choice":
        return None if value in q["options"] else "not one of the options"
    if kind == "multi_choice":
        if not isinstance(value, list) or not value:
            return "not a non-empty list"
        if len(set(value)) != len(value) or any(v not in q["options"] for v in value):
            return "not distinct options"
        limit = q.get("max_choices")
        return f"more than {limit} options" if limit and len(value) > limit else None
    if kind == "scale":
        if not isinstance(value, int) or isinstance(value, bool):
            return "not an integer"
        return None if q["min"] <= value <= q["max"] else "out of range"
    if not isinstance(value, str) or not value.strip():
        return "not text"
    if len(value) > MAX_OPEN_CHARS:
        return f"over {MAX_OPEN_CHARS} characters"
    return None if clean(value) == value else "not clean text"


def check_store(database_url: str) -> tuple[dict[str, int], list[str]]:
    """Check every answer, revision and stored citizen text.

    Returns:
        How many of each were checked, and the problems found (empty when clean).
    """
    problems: list[str] = []
    checked = {"answers": 0, "revisions": 0, "incoming messages": 0, "service questions": 0}
    with session_scope(database_url) as session:
        rows = session.execute(
            select(Answer, Question, Participation.version_id)
            .join(Question, Question.id == Answer.question_id)
            .join(Participation, Participation.id == Answer.participation_id))
        questions: dict[int, tuple[int, dict[str, Any]]] = {}
        for answer, question, version_id in rows:
            checked["answers"] += 1
            questions[answer.id] = (version_id, question.definition)
            where = f"answer {answer.id} ({question.key})"
            if question.version_id != version_id:
                problems.append(f"{where}: a question of another consultation version")
            problem = value_problem(question.definition, answer.status, answer.value)
            if problem:
                problems.append(f"{where}: {problem}: {answer.value!r:.200}")
            if answer.raw_text is not None and clean(answer.raw_text) != answer.raw_text:
                problems.append(f"{where}: raw text not clean: {answer.raw_text!r:.200}")
        for revision in session.scalars(select(AnswerRevision)):
            checked["revisions"] += 1
            _, definition = questions[revision.answer_id]
            problem = value_problem(definition, revision.status, revision.value)
            if problem:
                problems.append(f"revision {revision.id}: {problem}: {revision.value!r:.200}")
        for entry in session.scalars(select(TranscriptEntry)
                                     .where(TranscriptEntry.direction == "in")):
            checked["incoming messages"] += 1
            if clean(entry.text) != entry.text:
                problems.append(f"transcript entry {entry.id}: not clean: {entry.text!r:.200}")
        for query in session.scalars(select(KnowledgeQuery)):
            checked["service questions"] += 1
            if clean(query.text) != query.text:
                problems.append(f"service question {query.id}: not clean: {query.text!r:.200}")
    return checked, problems


def snapshot(database_url: str, keys: list[str]) -> dict[str, Any]:
    """Everything stored for the participants ``keys`` (pseudonymous keys)."""
    with session_scope(database_url) as session:
        ids = list(session.scalars(select(Participation.id)
                                   .where(Participation.participant_id.in_(keys))))
        participations = [
            (p.id, p.participant_id, p.version_id, p.status, p.quote_consent, p.state,
             p.updated_at.isoformat(), p.finished_at)
            for p in session.scalars(select(Participation).where(Participation.id.in_(ids))
                                     .order_by(Participation.id))]
        answers = [(a.id, a.participation_id, a.question_id, a.status, a.value, a.raw_text,
                    a.updated_at.isoformat())
                   for a in session.scalars(select(Answer).where(Answer.participation_id
                                                                 .in_(ids)).order_by(Answer.id))]
        revisions = session.scalar(
            select(func.count()).select_from(AnswerRevision).join(
                Answer, Answer.id == AnswerRevision.answer_id)
            .where(Answer.participation_id.in_(ids)))
        transcript = [(t.id, t.direction, t.text, t.message_id) for t in session.scalars(
            select(TranscriptEntry).where(TranscriptEntry.participation_id.in_(ids))
            .order_by(TranscriptEntry.id))]
        queries = [(q.id, q.participation_id, q.text, q.forwarded, q.disputed)
                   for q in session.scalars(select(KnowledgeQuery).where(
                       KnowledgeQuery.participation_id.in_(ids)).order_by(KnowledgeQuery.id))]
        follow_ups = [(f.participation_id, f.told_at) for f in session.scalars(
            select(FollowUp).where(FollowUp.participation_id.in_(ids)))]
        return {"participations": participations, "answers": answers,
                "revisions": revisions, "transcript": transcript, "queries": queries,
                "follow_ups": follow_ups}


def participant_ids(database_url: str) -> set[str]:
    """Every participant key in the store."""
    with session_scope(database_url) as session:
        return set(session.scalars(select(Participant.id)))


def unowned_queries(database_url: str, ids: list[int]) -> list[tuple[int, bool, bool]]:
    """(id, forwarded, disputed) of service questions asked outside a consultation."""
    with session_scope(database_url) as session:
        return [(q.id, q.forwarded, q.disputed) for q in session.scalars(
            select(KnowledgeQuery).where(KnowledgeQuery.id.in_(ids)).order_by(KnowledgeQuery.id))]
