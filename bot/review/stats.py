"""What the review pages show: overview, participation funnel and per-question results.

Every figure is one grouped SQL query (no per-row Python loops over participations), so
pages stay fast at 10,000 participations and 100,000 answers.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Text,
    case,
    cast,
    distinct,
    func,
    literal_column,
    null,
    select,
)
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


def version_ids(consultation_id: int) -> Any:
    """A subquery of the ids of every version of the consultation."""
    return select(ConsultationVersion.id).where(
        ConsultationVersion.consultation_id == consultation_id)


def funnel(session: Session, consultation_id: int) -> Funnel:
    """The participation funnel; drop-off shows as the fall in ``reached`` between steps."""
    opened = session.scalar(select(func.coalesce(func.sum(ConsultationOpening.count), 0))
                            .where(ConsultationOpening.consultation_id == consultation_id))
    statuses = dict(session.execute(
        select(Participation.status, func.count())
        .where(Participation.version_id.in_(version_ids(consultation_id)))
        .group_by(Participation.status)).all())
    reached = dict(session.execute(
        select(Question.key, func.count(distinct(Answer.participation_id)))
        .join(Answer, Answer.question_id == Question.id)
        .where(Question.version_id.in_(version_ids(consultation_id)))
        .group_by(Question.key)).all())
    steps = [QuestionStep(q.key, q.position, q.text, q.type, int(reached.get(q.key, 0)))
             for q in current_questions(session, consultation_id)]
    consented = sum(statuses.values())
    return Funnel(max(int(opened or 0), consented), consented,
                  int(statuses.get("completed", 0)), steps)


@dataclass(frozen=True)
class ChoiceResult:
    """Counts per option (choice questions) or per point (scales), in the question's order;
    ``counts`` is empty for open questions."""

    counts: list[tuple[str, int]]
    answered: int
    skipped: int


#: On SQLite, reading answers through the question index costs several times as much per
#: row as scanning the whole table in order; scan when the answers wanted are at least
#: this share of the table (PostgreSQL's planner weighs this itself).
SCAN_SHARE = 0.2


def options(question: Question) -> list[str]:
    """A choice question's options, or a scale's points, in order (none for open ones)."""
    definition = question.definition
    if question.type == "scale":
        low, high = int(definition.get("min", 1)), int(definition.get("max", 5))
        return [str(point) for point in range(low, high + 1)]
    return [str(option) for option in definition.get("options", [])]


def _scan_answers(session: Session, question_ids: list[int]) -> bool:
    """Whether SQLite should scan the answers table rather than use its index."""
    bind = session.get_bind()
    if bind.dialect.name != "sqlite":
        return False
    wanted, highest = session.execute(select(
        select(func.count()).select_from(Answer)
        .where(Answer.question_id.in_(question_ids)).scalar_subquery(),
        select(func.max(Answer.id)).scalar_subquery())).one()
    return bool(wanted) and wanted >= SCAN_SHARE * (highest or 0)


def _grouped_answers(session: Session, key_of: dict[int, str],
                     chosen: set[str]) -> list[tuple[int, str, str | None, int]]:
    """(question id, status, stored JSON text of choice answers, count) of the answers to
    the questions ``key_of`` names; the text is None for the other questions."""
    if not key_of:
        return []
    # SQLite's documented way to keep a term off an index (its NOT INDEXED clause has no
    # SQLAlchemy spelling) is an expression of the column, here in the filter and the
    # grouping both: otherwise it reads the table in index order, one lookup a row.
    question_id: ColumnElement[int] = (
        Answer.question_id + literal_column("0") if _scan_answers(session, list(key_of))
        else Answer.question_id.expression)
    choice_ids = [i for i, key in key_of.items() if key in chosen]
    # Grouped by the stored JSON text: only the distinct answers are decoded.
    value = (case((Answer.question_id.in_(choice_ids), cast(Answer.value, Text)))
             if choice_ids else null())
    grouping = [question_id, Answer.status] + ([value] if choice_ids else [])
    query = (select(question_id, Answer.status, value, func.count())
             .where(question_id.in_(list(key_of))).group_by(*grouping))
    return [(int(i), str(status), stored, int(count))
            for i, status, stored, count in session.execute(query)]


def question_results(session: Session, consultation_id: int,
                     questions: Sequence[Question]) -> dict[str, ChoiceResult]:
    """Each question's answered and skipped counts and, for choice and scale questions, how
    often each option or point was chosen (multiple choice counts each pick), counting
    the answers to every version's question with the same key. One grouped query over
    the answers, however many questions.

    Returns:
        question key -> its results.
    """
    if not questions:
        return {}
    chosen = {q.key for q in questions if q.type != "open"}
    key_of = dict(session.execute(
        select(Question.id, Question.key)
        .where(Question.version_id.in_(version_ids(consultation_id)),
               Question.key.in_({q.key for q in questions}))).all())
    tallies: dict[str, Counter[str]] = {q.key: Counter() for q in questions}
    answered: Counter[str] = Counter()
    skipped: Counter[str] = Counter()
    for question_id, status, stored, count in _grouped_answers(session, key_of, chosen):
        key = key_of[question_id]
        if status == "skipped":
            skipped[key] += count
            continue
        answered[key] += count
        if key in chosen:
            decoded = json.loads(stored) if stored is not None else None
            for item in decoded if isinstance(decoded, list) else [decoded]:
                tallies[key][str(item)] += count
    results: dict[str, ChoiceResult] = {}
    for question in questions:
        tally = tallies[question.key]
        order = options(question) if question.key in chosen else []
        order += sorted(k for k in tally if k not in order)  # options of older versions
        results[question.key] = ChoiceResult([(option, tally.get(option, 0))
                                              for option in order],
                                             answered[question.key], skipped[question.key])
    return results


def choice_results(session: Session, consultation_id: int, question: Question) -> ChoiceResult:
    """How often each option or scale point was chosen (multiple choice counts each pick)."""
    return question_results(session, consultation_id, [question])[question.key]
