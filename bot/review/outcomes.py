"""Closing the loop: publish a consultation's outcome and tell those who asked to hear it."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.store.models import Consultation, ConsultationVersion, Participation, utcnow
from bot.store.review_models import FollowUp, Outcome

MAX_OUTCOME_CHARS = 3000


class OutcomeError(ValueError):
    """An outcome cannot be published as asked (the message says why)."""


@dataclass(frozen=True)
class Notice:
    """An outcome still to be told to one participation."""

    participation_id: int
    participant_id: str
    channel: str
    title: str
    outcome_id: int
    text: str

    @property
    def message(self) -> str:
        return f"An update on “{self.title}”, which you took part in:\n\n{self.text}"


def publish_outcome(session: Session, consultation_id: int, text: str,
                    user_id: int | None) -> Outcome:
    """Publish "you said, we did" for a consultation (a later one replaces it for those
    not told yet)."""
    cleaned = text.strip()
    if not cleaned:
        raise OutcomeError("the outcome needs some text")
    if len(cleaned) > MAX_OUTCOME_CHARS:
        raise OutcomeError(f"keep the outcome under {MAX_OUTCOME_CHARS} characters")
    if session.get(Consultation, consultation_id) is None:
        raise OutcomeError("no such consultation")
    outcome = Outcome(consultation_id=consultation_id, text=cleaned, published_by=user_id)
    session.add(outcome)
    session.flush()
    return outcome


def latest_outcome(session: Session, consultation_id: int) -> Outcome | None:
    """The consultation's most recent outcome."""
    return session.scalar(select(Outcome).where(Outcome.consultation_id == consultation_id)
                          .order_by(Outcome.id.desc()).limit(1))


def ask_to_hear_back(session: Session, participation_id: int) -> None:
    """Record that the participant wants to hear the outcome (idempotent)."""
    if session.get(FollowUp, participation_id) is None:
        session.add(FollowUp(participation_id=participation_id))


def pending_notices(session: Session, participant_id: str | None = None,
                    channel: str | None = None, limit: int = 500) -> list[Notice]:
    """Outcomes published for consultations whose participants asked to hear back but were
    not told yet (one participant's, or one channel's, or everyone's)."""
    newest = (select(Outcome.consultation_id, func.max(Outcome.id).label("outcome_id"))
              .group_by(Outcome.consultation_id).subquery())
    query = (select(FollowUp, Participation, ConsultationVersion.title, Outcome)
             .join(Participation, FollowUp.participation_id == Participation.id)
             .join(ConsultationVersion, Participation.version_id == ConsultationVersion.id)
             .join(newest, newest.c.consultation_id == ConsultationVersion.consultation_id)
             .join(Outcome, Outcome.id == newest.c.outcome_id)
             .where(FollowUp.told_at.is_(None)))
    if participant_id is not None:
        query = query.where(Participation.participant_id == participant_id)
    if channel is not None:
        query = query.where(Participation.channel == channel)
    rows = session.execute(query.order_by(FollowUp.participation_id).limit(limit)).all()
    return [Notice(p.id, p.participant_id, p.channel, title, o.id, o.text)
            for _, p, title, o in rows]


def still_waiting(session: Session, participant_id: str) -> bool:
    """Whether the participant asked to hear an outcome they have not been told yet."""
    return bool(session.scalar(select(
        select(FollowUp.participation_id)
        .join(Participation, FollowUp.participation_id == Participation.id)
        .where(Participation.participant_id == participant_id, FollowUp.told_at.is_(None))
        .exists())))


def mark_told(session: Session, notice: Notice) -> None:
    """Record that a participant was told this outcome."""
    follow_up = session.get(FollowUp, notice.participation_id)
    if follow_up is not None:
        follow_up.told_outcome_id, follow_up.told_at = notice.outcome_id, utcnow()


@dataclass(frozen=True)
class LoopFigures:
    """For the dashboard: how many asked to hear back and how many were told."""

    asked: int
    told: int


def loop_figures(session: Session, consultation_id: int) -> LoopFigures:
    """How many of a consultation's participants asked to hear back, and were told."""
    rows = session.execute(
        select(FollowUp.told_at.is_not(None), func.count())
        .join(Participation, FollowUp.participation_id == Participation.id)
        .join(ConsultationVersion, Participation.version_id == ConsultationVersion.id)
        .where(ConsultationVersion.consultation_id == consultation_id)
        .group_by(FollowUp.told_at.is_not(None))).all()
    counts = {bool(told): count for told, count in rows}
    return LoopFigures(sum(counts.values()), counts.get(True, 0))
