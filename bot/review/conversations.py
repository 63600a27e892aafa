"""Conversations for the review pages: a filtered list of a consultation's transcripts, and one
conversation in full (messages in order with the buttons offered, the service questions
with the passages shown, and the answers it produced). No participant identifiers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.store.models import (
    Answer,
    ConsultationVersion,
    KnowledgeQuery,
    Participation,
    Question,
    TranscriptEntry,
)
from bot.store.repository import transcript

PAGE_SIZE = 50
STATUSES = ("active", "paused", "completed", "withdrawn")


@dataclass(frozen=True)
class TranscriptRow:
    """One conversation in the list."""

    participation_id: int
    channel: str
    status: str
    version: int
    started_at: datetime
    finished_at: datetime | None
    messages: int
    answers: int


def list_transcripts(session: Session, consultation_id: int, *, channel: str = "",
                     status: str = "", page: int = 1,
                     page_size: int = PAGE_SIZE) -> tuple[list[TranscriptRow], int]:
    """One page of the consultation's conversations (newest first) and the total count."""
    query = (select(Participation.id)
             .join(ConsultationVersion, Participation.version_id == ConsultationVersion.id)
             .where(ConsultationVersion.consultation_id == consultation_id))
    if channel:
        query = query.where(Participation.channel == channel)
    if status:
        query = query.where(Participation.status == status)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    messages = (select(func.count()).where(TranscriptEntry.participation_id == Participation.id)
                .correlate(Participation).scalar_subquery())
    answers = (select(func.count()).where(Answer.participation_id == Participation.id)
               .correlate(Participation).scalar_subquery())
    rows = session.execute(
        select(Participation, ConsultationVersion.number, messages, answers)
        .join(ConsultationVersion, Participation.version_id == ConsultationVersion.id)
        .where(Participation.id.in_(query))
        .order_by(Participation.started_at.desc(), Participation.id.desc())
        .limit(page_size).offset(max(page - 1, 0) * page_size)).all()
    return [TranscriptRow(p.id, p.channel, p.status, number, p.started_at, p.finished_at,
                          int(m or 0), int(a or 0)) for p, number, m, a in rows], int(total)


def channels_of(session: Session, consultation_id: int) -> list[str]:
    """The channels the consultation's participants used, by name."""
    return list(session.scalars(
        select(Participation.channel).distinct()
        .join(ConsultationVersion, Participation.version_id == ConsultationVersion.id)
        .where(ConsultationVersion.consultation_id == consultation_id)
        .order_by(Participation.channel)))


@dataclass(frozen=True)
class Message:
    """A message of the conversation."""

    from_citizen: bool
    text: str
    buttons: list[str]
    at: datetime


@dataclass(frozen=True)
class ServiceQuestion:
    """A question the citizen asked about the service, and the passages they were shown."""

    text: str
    answered: bool
    during: str | None
    shown: list[dict[str, Any]]
    at: datetime
    #: Answered, but the citizen said the answer did not answer their question.
    disputed: bool = False


@dataclass(frozen=True)
class GivenAnswer:
    """An answer the conversation produced."""

    key: str
    position: int
    question: str
    status: str
    value: Any
    raw_text: str | None


@dataclass(frozen=True)
class TranscriptView:
    """A whole conversation."""

    participation_id: int
    channel: str
    status: str
    version: int
    quote_consent: bool | None
    started_at: datetime
    finished_at: datetime | None
    messages: list[Message]
    service_questions: list[ServiceQuestion]
    answers: list[GivenAnswer]


def transcript_view(session: Session, consultation_id: int,
                    participation_id: int) -> TranscriptView | None:
    """A conversation of this consultation in full, or None when it is not one of its."""
    row = session.execute(
        select(Participation, ConsultationVersion.number)
        .join(ConsultationVersion, Participation.version_id == ConsultationVersion.id)
        .where(Participation.id == participation_id,
               ConsultationVersion.consultation_id == consultation_id)).first()
    if row is None:
        return None
    participation, number = row
    messages = [Message(entry.direction == "in", entry.text,
                        [str(b.get("title", "")) for b in entry.buttons or []
                         if isinstance(b, dict)], entry.created_at)
                for entry in transcript(session, participation_id)]
    queries = [ServiceQuestion(q.text, q.answered, q.question_key,
                               [h for h in q.hits if isinstance(h, dict)] if q.answered else [],
                               q.asked_at, q.disputed)
               for q in session.scalars(select(KnowledgeQuery)
                                        .where(KnowledgeQuery.participation_id == participation_id)
                                        .order_by(KnowledgeQuery.id))]
    answers = [GivenAnswer(q.key, q.position, q.text, a.status, a.value, a.raw_text)
               for q, a in session.execute(
                   select(Question, Answer).join(Answer, Answer.question_id == Question.id)
                   .where(Answer.participation_id == participation_id)
                   .order_by(Question.position)).all()]
    return TranscriptView(participation.id, participation.channel, participation.status, number,
                          participation.quote_consent, participation.started_at,
                          participation.finished_at, messages, queries, answers)
