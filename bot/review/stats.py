"""What the review pages show: overview, participation funnel and per-question results.

Every figure is one grouped SQL query (no per-row Python loops over participations), so
pages stay fast at 10,000 participations and 100,000 answers.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Text, cast, distinct, func, select
from sqlalchemy.orm import Session

from bot.store.models import Answer, Consultation, ConsultationVersion, Participation, Question
from bot.store.review_models import ConsultationOpening


@dataclass
class ConsultationSummary:
    """One line of the overview."""

    id: int
    slug: str
    title: str
    agency: str
    status: str
    opens: str | None
    closes: str | None
    participants: int = 0
    completed: int = 0
    channels: dict[str, int] = field(default_factory=dict)

    @property
    def completion_rate(self) -> float:
        return self.completed / self.participants if self.participants else 0.0


def overview(session: Session) -> list[ConsultationSummary]:
    """Every consultation with status, dates, participants, completion and channel mix."""
    summaries: dict[int, ConsultationSummary] = {}
    for consultation in session.scalars(select(Consultation).order_by(Consultation.slug)):
        version = consultation.current_version
        definition: dict[str, Any] = version.definition if version else {}
        summaries[consultation.id] = ConsultationSummary(
            consultation.id, consultation.slug, version.title if version else consultation.slug,
            str(definition.get("agency", "")), consultation.status,
            _day(definition.get("opens")), _day(definition.get("closes")))
    rows = session.execute(
        select(ConsultationVersion.consultation_id, Participation.channel, Participation.status,
               func.count())
        .join(Participation, Participation.version_id == ConsultationVersion.id)
        .group_by(ConsultationVersion.consultation_id, Participation.channel,
                  Participation.status))
    for consultation_id, channel, status, count in rows:
        summary = summaries.get(consultation_id)
        if summary is None:
            continue
        summary.participants += count
        summary.completed += count if status == "completed" else 0
        summary.channels[channel] = summary.channels.get(channel, 0) + count
    return list(summaries.values())


def _day(value: object) -> str | None:
    if isinstance(value, date):
        return value.isoformat()
    return str(value) if value else None


@dataclass(frozen=True)
class QuestionStep:
    """How many participations reached (answered or skipped) a question."""

    key: str
    position: int
    text: str
    type: str
    reached: int


@dataclass(frozen=True)
class Funnel:
    """Opened (consent request shown) -> consented -> completed, and reach per question."""

    opened: int
    consented: int
    completed: int
    steps: list[QuestionStep]


def current_questions(session: Session, consultation_id: int) -> list[Question]:
    """The questions of the consultation's current version, in order."""
    consultation = session.get(Consultation, consultation_id)
    if consultation is None or consultation.current_version is None:
        return []
    return list(session.scalars(select(Question)
                                .where(Question.version_id == consultation.current_version.id)
                                .order_by(Question.position)))


def _version_ids(consultation_id: int) -> Any:
    return select(ConsultationVersion.id).where(
        ConsultationVersion.consultation_id == consultation_id)


def funnel(session: Session, consultation_id: int) -> Funnel:
    """The participation funnel; drop-off shows as the fall in ``reached`` between steps."""
    opened = session.scalar(select(func.coalesce(func.sum(ConsultationOpening.count), 0))
                            .where(ConsultationOpening.consultation_id == consultation_id))
    statuses = dict(session.execute(
        select(Participation.status, func.count())
        .where(Participation.version_id.in_(_version_ids(consultation_id)))
        .group_by(Participation.status)).all())
    reached = dict(session.execute(
        select(Question.key, func.count(distinct(Answer.participation_id)))
        .join(Answer, Answer.question_id == Question.id)
        .where(Question.version_id.in_(_version_ids(consultation_id)))
        .group_by(Question.key)).all())
    steps = [QuestionStep(q.key, q.position, q.text, q.type, int(reached.get(q.key, 0)))
             for q in current_questions(session, consultation_id)]
    consented = sum(statuses.values())
    return Funnel(max(int(opened or 0), consented), consented,
                  int(statuses.get("completed", 0)), steps)


@dataclass(frozen=True)
class ChoiceResult:
    """Counts per option (choice questions) or per point (scales), in the question's order."""

    counts: list[tuple[str, int]]
    answered: int
    skipped: int


def choice_results(session: Session, consultation_id: int, question: Question) -> ChoiceResult:
    """How often each option or scale point was chosen (multiple choice counts each pick)."""
    # Grouped by the stored JSON text: only the distinct answers are decoded.
    as_text = cast(Answer.value, Text)
    rows = session.execute(
        select(Answer.status, as_text, func.count())
        .join(Question, Answer.question_id == Question.id)
        .where(Question.version_id.in_(_version_ids(consultation_id)),
               Question.key == question.key)
        .group_by(Answer.status, as_text)).all()
    tally: Counter[str] = Counter()
    answered = skipped = 0
    for status, stored, count in rows:
        if status == "skipped":
            skipped += count
            continue
        answered += count
        value = json.loads(stored) if stored is not None else None
        for item in value if isinstance(value, list) else [value]:
            tally[str(item)] += count
    definition = question.definition
    if question.type == "scale":
        low, high = int(definition.get("min", 1)), int(definition.get("max", 5))
        order = [str(point) for point in range(low, high + 1)]
    else:
        order = [str(option) for option in definition.get("options", [])]
    order += sorted(k for k in tally if k not in order)  # options of older versions
    return ChoiceResult([(option, tally.get(option, 0)) for option in order], answered, skipped)
