"""Queries and updates of the app store, one function per use.

Functions take an open ``Session`` and leave committing to the caller, except where
noted: answers and transcript entries are committed by the dialogue layer per turn.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from bot.consultations.schema import content_hash
from bot.store.models import (
    Answer,
    AnswerEvidence,
    AnswerRevision,
    Consultation,
    ConsultationVersion,
    KnowledgeQuery,
    Participant,
    Participation,
    Question,
    TranscriptEntry,
    utcnow,
)
from bot.store.review_models import ConsultationOpening

TRANSCRIPT = cast(Table, TranscriptEntry.__table__)


@dataclass(frozen=True)
class LaunchResult:
    """What ``launch_consultation`` did."""

    consultation: Consultation
    version: ConsultationVersion
    new_version: bool
    reopened: bool


def launch_consultation(session: Session, definition: dict[str, Any],
                        source_yaml: str) -> LaunchResult:
    """Create a consultation or a new version of it; an unchanged file adds no version.

    Launching also (re)opens the consultation.
    """
    slug = definition["slug"]
    consultation = session.scalar(
        select(Consultation).where(Consultation.slug == slug).options(
            selectinload(Consultation.versions))
    )
    if consultation is None:
        consultation = Consultation(slug=slug, status="open")
        session.add(consultation)
        session.flush()
    reopened = consultation.status != "open"
    consultation.status = "open"
    digest = content_hash(definition)
    latest = consultation.current_version
    if latest is not None and latest.content_hash == digest:
        return LaunchResult(consultation, latest, new_version=False, reopened=reopened)
    version = ConsultationVersion(
        consultation_id=consultation.id,
        number=(latest.number + 1) if latest else 1,
        content_hash=digest,
        title=definition["title"],
        definition=definition,
        source_yaml=source_yaml,
    )
    session.add(version)
    session.flush()
    for position, question in enumerate(definition["questions"]):
        session.add(Question(version_id=version.id, key=question["id"], position=position,
                             type=question["type"], text=question["text"], definition=question))
    session.flush()
    session.refresh(consultation, attribute_names=["versions"])
    return LaunchResult(consultation, version, new_version=True, reopened=reopened)


def get_consultation(session: Session, slug: str) -> Consultation | None:
    """The consultation with this slug, with its versions loaded."""
    return session.scalar(select(Consultation).where(Consultation.slug == slug)
                          .options(selectinload(Consultation.versions)))


def list_consultations(session: Session) -> list[Consultation]:
    """Every consultation, by slug."""
    return list(session.scalars(select(Consultation).order_by(Consultation.slug)
                                .options(selectinload(Consultation.versions))))


def is_open(consultation: Consultation, today: date | None = None) -> bool:
    """Open status and, when dates are set, today within them."""
    version = consultation.current_version
    if consultation.status != "open" or version is None:
        return False
    today = today or date.today()
    opens, closes = version.definition.get("opens"), version.definition.get("closes")
    if opens and today < date.fromisoformat(opens):
        return False
    return not (closes and today > date.fromisoformat(closes))


def open_consultations(session: Session, today: date | None = None) -> list[Consultation]:
    """Consultations citizens can take part in today."""
    return [c for c in list_consultations(session) if is_open(c, today)]


def close_consultation(session: Session, slug: str) -> Consultation | None:
    """Close a consultation to new answers; returns None when the slug is unknown."""
    consultation = get_consultation(session, slug)
    if consultation is not None:
        consultation.status = "closed"
    return consultation


def participation_counts(session: Session) -> dict[int, dict[str, int]]:
    """Participations per consultation id and status."""
    rows = session.execute(
        select(ConsultationVersion.consultation_id, Participation.status, func.count())
        .join(Participation, Participation.version_id == ConsultationVersion.id)
        .group_by(ConsultationVersion.consultation_id, Participation.status)
    )
    counts: dict[int, dict[str, int]] = {}
    for consultation_id, status, count in rows:
        counts.setdefault(consultation_id, {})[status] = count
    return counts


def count_opening(session: Session, consultation_id: int, channel: str,
                  today: date | None = None, *, count: int = 1) -> None:
    """Count ``count`` showings (one by default) of a consultation's consent request (no
    personal data)."""
    if count < 1:
        return
    day = today or datetime.now(UTC).date()
    key = (ConsultationOpening.consultation_id == consultation_id,
           ConsultationOpening.day == day, ConsultationOpening.channel == channel[:32])
    bump = update(ConsultationOpening).where(*key).values(
        count=ConsultationOpening.count + count)
    if session.execute(bump).rowcount:  # type: ignore[attr-defined]
        return
    try:
        with session.begin_nested():
            session.add(ConsultationOpening(consultation_id=consultation_id, day=day,
                                            channel=channel[:32], count=count))
    except IntegrityError:  # another process counted the first one at the same moment
        session.execute(bump)


def ensure_participant(session: Session, participant_id: str) -> Participant:
    """Get or create the pseudonymous participant row."""
    participant = session.get(Participant, participant_id)
    if participant is None:
        participant = Participant(id=participant_id)
        session.add(participant)
        session.flush()
    return participant


def unfinished_participation(session: Session, participant_id: str) -> Participation | None:
    """The participant's most recent active or paused participation in an open consultation."""
    return session.scalar(
        select(Participation)
        .join(ConsultationVersion, Participation.version_id == ConsultationVersion.id)
        .join(Consultation, ConsultationVersion.consultation_id == Consultation.id)
        .where(Participation.participant_id == participant_id,
               Participation.status.in_(("active", "paused")),
               Consultation.status == "open")
        .order_by(Participation.updated_at.desc()).limit(1)
    )


def latest_participation(session: Session, participant_id: str,
                         status: str | None = None) -> Participation | None:
    """The participant's most recent participation (with that status, when given)."""
    query = select(Participation).where(Participation.participant_id == participant_id)
    if status is not None:
        query = query.where(Participation.status == status)
    return session.scalar(query.order_by(Participation.id.desc()).limit(1))


def start_participation(session: Session, participant_id: str, version_id: int,
                        channel: str) -> Participation:
    """Record consent and start a participation."""
    ensure_participant(session, participant_id)
    now = utcnow()
    participation = Participation(participant_id=participant_id, version_id=version_id,
                                  channel=channel, status="active", consent_at=now,
                                  started_at=now, updated_at=now, state={})
    session.add(participation)
    session.flush()
    return participation


def questions_by_key(session: Session, version_id: int) -> dict[str, Question]:
    """The questions of a version keyed by question id."""
    rows = session.scalars(select(Question).where(Question.version_id == version_id))
    return {question.key: question for question in rows}


# A conversation turn's statements, built once: SQLAlchemy then reuses their cache keys.
_PARTICIPATION_AND_STATUS = (
    select(Participation, Consultation.status)
    .join(ConsultationVersion, ConsultationVersion.id == Participation.version_id)
    .join(Consultation, Consultation.id == ConsultationVersion.consultation_id)
    .where(Participation.id == bindparam("participation_id"))
    .with_for_update(of=Participation))
_CURRENT_ANSWERS = (
    select(Question.key, Answer).join(Answer, Answer.question_id == Question.id)
    .where(Answer.participation_id == bindparam("participation_id")))
#: Logs a citizen's message unless its id was already logged (``ON CONFLICT DO NOTHING``,
#: the same on SQLite and PostgreSQL, the app store's two databases).
_LOG_INCOMING = {
    dialect: insert(TRANSCRIPT).on_conflict_do_nothing().returning(TRANSCRIPT.c.id)
    for dialect, insert in (("sqlite", sqlite_insert), ("postgresql", postgresql_insert))}


def participation_and_status(session: Session,
                             participation_id: int) -> tuple[Participation, str] | None:
    """A participation and its consultation's status, in one query (a conversation turn).

    The participation's row stays locked until the turn's transaction ends (PostgreSQL;
    SQLite has one writer at a time anyway), so turns of one participation never overlap:
    a message delivered again while its first delivery is still being handled (Rasa gave
    up waiting and apologised, the citizen sent it again) waits, then sees what the first
    delivery stored and answers from there instead of from a stale state.
    """
    row = session.execute(_PARTICIPATION_AND_STATUS,
                          {"participation_id": participation_id}).first()
    return (row[0], row[1]) if row else None


def current_answers(session: Session, participation_id: int) -> dict[str, Answer]:
    """Answers of a participation keyed by question id."""
    rows = session.execute(_CURRENT_ANSWERS, {"participation_id": participation_id})
    return {key: answer for key, answer in rows}


def save_answer(session: Session, participation_id: int, question_id: int, *, status: str,
                value: Any, raw_text: str | None, message_id: str | None) -> Answer:
    """Store an answer; a changed answer keeps its previous value as a revision."""
    answer = session.scalar(select(Answer).where(Answer.participation_id == participation_id,
                                                 Answer.question_id == question_id))
    return record_answer(session, answer, participation_id, question_id, status=status,
                         value=value, raw_text=raw_text, message_id=message_id)


def record_answer(session: Session, answer: Answer | None, participation_id: int,
                  question_id: int, *, status: str, value: Any, raw_text: str | None,
                  message_id: str | None) -> Answer:
    """``save_answer`` when the current answer (``answer``, None when there is none) is
    already loaded, as in a conversation turn."""
    now = utcnow()
    if answer is None:
        answer = Answer(participation_id=participation_id, question_id=question_id,
                        status=status, value=value, raw_text=raw_text, message_id=message_id,
                        answered_at=now, updated_at=now)
        session.add(answer)
    elif (answer.status, answer.value, answer.raw_text) != (status, value, raw_text):
        session.add(AnswerRevision(answer_id=answer.id, status=answer.status, value=answer.value,
                                   raw_text=answer.raw_text, recorded_at=answer.updated_at))
        answer.status, answer.value, answer.raw_text = status, value, raw_text
        answer.message_id, answer.updated_at = message_id, now
    session.flush()
    return answer


def record_incoming(session: Session, participation_id: int, text: str, intent: str | None,
                    message_id: str | None) -> bool:
    """Log a citizen's message; False when this message id was already processed (the
    unique (participation, direction, message id) constraint tells: the insert skips it;
    one statement, where a savepoint around an ORM flush took four)."""
    statement = _LOG_INCOMING[session.get_bind().dialect.name]
    return session.scalar(statement, {
        "participation_id": participation_id, "direction": "in", "text": text,
        "intent": intent, "message_id": message_id, "created_at": utcnow()}) is not None


def record_outgoing(session: Session, participation_id: int, text: str,
                    buttons: list[dict[str, str]] | None) -> None:
    """Log a bot message with the buttons it offered."""
    session.add(TranscriptEntry(participation_id=participation_id, direction="out", text=text,
                                buttons=buttons or None))


def transcript(session: Session, participation_id: int) -> list[TranscriptEntry]:
    """A participation's messages in order."""
    return list(session.scalars(select(TranscriptEntry)
                                .where(TranscriptEntry.participation_id == participation_id)
                                .order_by(TranscriptEntry.id)))


def delete_participations(session: Session, ids: list[int]) -> None:
    """Delete participations with their answers, revisions, evidence, questions asked
    and transcripts (explicit deletes: they work whatever the database's FK settings)."""
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        answer_ids = select(Answer.id).where(Answer.participation_id.in_(chunk))
        session.execute(delete(AnswerEvidence).where(AnswerEvidence.answer_id.in_(answer_ids)))
        session.execute(delete(KnowledgeQuery).where(KnowledgeQuery.participation_id.in_(chunk)))
        session.execute(delete(AnswerRevision).where(AnswerRevision.answer_id.in_(answer_ids)))
        session.execute(delete(Answer).where(Answer.participation_id.in_(chunk)))
        session.execute(delete(TranscriptEntry).where(TranscriptEntry.participation_id.in_(chunk)))
        session.execute(delete(Participation).where(Participation.id.in_(chunk)))


def erase_participant(session: Session, participant_id: str) -> int:
    """Delete a participant and everything about them; returns participations removed."""
    ids = list(session.scalars(select(Participation.id)
                               .where(Participation.participant_id == participant_id)))
    delete_participations(session, ids)
    session.execute(delete(Participant).where(Participant.id == participant_id))
    return len(ids)
