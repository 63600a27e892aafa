"""Open answers for reviewers: filtered lists, the codebook, tags, notes and reviewed marks."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time

from sqlalchemy import Select, delete, func, select
from sqlalchemy.orm import Session

from bot.store.models import Answer, ConsultationVersion, Participation, Question, utcnow
from bot.store.review_models import AnswerReview, AnswerTag, Tag

PAGE_SIZE = 50


class CodingError(ValueError):
    """A tag or note cannot be changed as asked (the message says why)."""


@dataclass(frozen=True)
class AnswerFilter:
    """Filters of the open-answer list (all optional)."""

    search: str = ""
    channel: str = ""
    since: date | None = None
    until: date | None = None
    completed: bool | None = None
    tag_id: int | None = None
    reviewed: bool | None = None


@dataclass
class OpenAnswer:
    """One open answer as a reviewer sees it (no participant identifiers)."""

    id: int
    text: str
    channel: str
    answered_at: datetime
    completed: bool
    quote_consent: bool | None
    tags: list[str] = field(default_factory=list)
    note: str = ""
    reviewed: bool = False


def _filtered(consultation_id: int, question_key: str,
              filters: AnswerFilter) -> Select[Answer, Participation]:
    query = (select(Answer, Participation)
             .join(Question, Answer.question_id == Question.id)
             .join(Participation, Answer.participation_id == Participation.id)
             .join(ConsultationVersion, Question.version_id == ConsultationVersion.id)
             .where(ConsultationVersion.consultation_id == consultation_id,
                    Question.key == question_key, Answer.status == "answered"))
    if filters.search.strip():
        words = filters.search.strip()[:200]
        query = query.where(func.lower(Answer.raw_text).contains(words.lower(), autoescape=True))
    if filters.channel:
        query = query.where(Participation.channel == filters.channel)
    if filters.since:
        query = query.where(Answer.answered_at >= datetime.combine(filters.since, time(),
                                                                   tzinfo=UTC))
    if filters.until:
        query = query.where(Answer.answered_at < datetime.combine(filters.until, time.max,
                                                                  tzinfo=UTC))
    if filters.completed is not None:
        completed = Participation.status == "completed"
        query = query.where(completed if filters.completed else ~completed)
    if filters.tag_id is not None:
        query = query.where(Answer.id.in_(select(AnswerTag.answer_id)
                                          .where(AnswerTag.tag_id == filters.tag_id)))
    if filters.reviewed is not None:
        reviewed = Answer.id.in_(select(AnswerReview.answer_id)
                                 .where(AnswerReview.reviewed.is_(True)))
        query = query.where(reviewed if filters.reviewed else ~reviewed)
    return query


def open_answers(session: Session, consultation_id: int, question_key: str,
                 filters: AnswerFilter | None = None, page: int = 1,
                 page_size: int = PAGE_SIZE, *,
                 offset: int | None = None) -> tuple[list[OpenAnswer], int]:
    """One page of a question's answers (newest first) and how many match in all.

    ``offset`` (answers to pass over), when given, is used instead of ``page``.
    """
    query = _filtered(consultation_id, question_key, filters or AnswerFilter())
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    start = max(page - 1, 0) * page_size if offset is None else max(offset, 0)
    rows = session.execute(query.order_by(Answer.answered_at.desc(), Answer.id.desc())
                           .limit(page_size).offset(start)).all()
    answers = {answer.id: OpenAnswer(answer.id, answer.raw_text or str(answer.value or ""),
                                     participation.channel, answer.answered_at,
                                     participation.status == "completed",
                                     participation.quote_consent)
               for answer, participation in rows}
    if answers:
        for answer_id, name in session.execute(
                select(AnswerTag.answer_id, Tag.name).join(Tag, AnswerTag.tag_id == Tag.id)
                .where(AnswerTag.answer_id.in_(answers)).order_by(Tag.name)):
            answers[answer_id].tags.append(name)
        for review in session.scalars(select(AnswerReview)
                                      .where(AnswerReview.answer_id.in_(answers))):
            answers[review.answer_id].note = review.note
            answers[review.answer_id].reviewed = review.reviewed
    return list(answers.values()), int(total)


def codebook(session: Session, consultation_id: int) -> list[Tag]:
    """The consultation's tags, by name."""
    return list(session.scalars(select(Tag).where(Tag.consultation_id == consultation_id)
                                .order_by(Tag.name)))


def add_tag(session: Session, consultation_id: int, name: str, description: str = "") -> Tag:
    """Add a tag to the codebook; raises ``CodingError`` for an empty or duplicate name."""
    cleaned = " ".join(name.split())[:80]
    if not cleaned:
        raise CodingError("a tag needs a name")
    # Compared here, not with SQL lower(): SQLite's lowers ASCII letters only, so "Fß" and
    # "fß" (or the same non-ASCII name twice) would pass and hit the unique constraint.
    wanted = cleaned.casefold()
    if any(name.casefold() == wanted for name in session.scalars(
            select(Tag.name).where(Tag.consultation_id == consultation_id))):
        raise CodingError(f"the codebook already has a tag “{cleaned}”")
    tag = Tag(consultation_id=consultation_id, name=cleaned, description=description.strip())
    session.add(tag)
    session.flush()
    return tag


def _answer_in(session: Session, consultation_id: int, answer_id: int) -> Answer:
    answer = session.scalar(
        select(Answer).join(Question, Answer.question_id == Question.id)
        .join(ConsultationVersion, Question.version_id == ConsultationVersion.id)
        .where(Answer.id == answer_id, ConsultationVersion.consultation_id == consultation_id))
    if answer is None:
        raise CodingError("no such answer in this consultation")
    return answer


def set_tags(session: Session, consultation_id: int, answer_id: int, tag_ids: list[int],
             user_id: int | None) -> None:
    """Replace an answer's tags with ``tag_ids`` (all from this consultation's codebook)."""
    _answer_in(session, consultation_id, answer_id)
    wanted = set(tag_ids)
    known = set(session.scalars(select(Tag.id).where(Tag.consultation_id == consultation_id,
                                                     Tag.id.in_(wanted))))
    if known != wanted:
        raise CodingError("a tag is not in this consultation's codebook")
    session.execute(delete(AnswerTag).where(AnswerTag.answer_id == answer_id))
    session.add_all(AnswerTag(answer_id=answer_id, tag_id=t, tagged_by=user_id)
                    for t in sorted(wanted))


def review_answer(session: Session, consultation_id: int, answer_id: int, *, note: str,
                  reviewed: bool, user_id: int | None) -> None:
    """Save a reviewer's note and reviewed mark on an answer."""
    _answer_in(session, consultation_id, answer_id)
    review = session.get(AnswerReview, answer_id) or AnswerReview(answer_id=answer_id)
    review.note, review.reviewed = note.strip()[:5000], reviewed
    review.reviewed_by, review.updated_at = user_id, utcnow()
    session.add(review)


def tag_counts(session: Session, consultation_id: int) -> dict[str, dict[str, int]]:
    """Question key -> tag name -> how many answers carry it."""
    counts: dict[str, dict[str, int]] = {}
    for key, name, count in session.execute(
            select(Question.key, Tag.name, func.count())
            .select_from(AnswerTag).join(Tag, AnswerTag.tag_id == Tag.id)
            .join(Answer, AnswerTag.answer_id == Answer.id)
            .join(Question, Answer.question_id == Question.id)
            .where(Tag.consultation_id == consultation_id)
            .group_by(Question.key, Tag.name)):
        counts.setdefault(key, {})[name] = count
    return counts
