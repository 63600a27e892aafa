"""Keeping personal data no longer than promised.

Each consultation tells citizens how long their answers are kept
(``privacy.retention_days``). ``purge_expired`` deletes participations whose last activity
is older than that, participants left with nothing, anonymous service questions older
than ``log_retention_days``, and Rasa tracker events older than the longest retention
period in force. Run it daily (``codesign privacy purge``; ``make run`` runs it at start).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, inspect, select, text
from sqlalchemy.orm import Session

from bot.store.models import (
    ConsultationVersion,
    KnowledgeQuery,
    Participant,
    Participation,
    as_utc,
    utcnow,
)
from bot.store.repository import delete_participations

DEFAULT_LOG_RETENTION_DAYS = 365


@dataclass(frozen=True)
class PurgeReport:
    """What a purge deleted (or would delete, on a dry run)."""

    participations: int
    participants: int
    anonymous_questions: int
    tracker_events: int


def purge_expired(session: Session, *, now: datetime | None = None, dry_run: bool = False,
                  log_retention_days: int = DEFAULT_LOG_RETENTION_DAYS) -> PurgeReport:
    """Delete what is past its retention period; returns the counts."""
    now = now or utcnow()
    expired: list[int] = []
    longest = log_retention_days
    rows = session.execute(select(Participation.id, Participation.updated_at,
                                  Participation.finished_at, ConsultationVersion.definition)
                           .join(ConsultationVersion,
                                 Participation.version_id == ConsultationVersion.id))
    for participation_id, updated_at, finished_at, definition in rows:
        days = int(definition.get("privacy", {}).get("retention_days", 365))
        longest = max(longest, days)
        last = as_utc(finished_at or updated_at)
        if now - last > timedelta(days=days):
            expired.append(participation_id)
    log_cutoff = now - timedelta(days=log_retention_days)
    anonymous = session.scalar(select(func.count()).select_from(KnowledgeQuery).where(
        KnowledgeQuery.participation_id.is_(None), KnowledgeQuery.asked_at < log_cutoff)) or 0
    tracker_cutoff = (now - timedelta(days=longest)).timestamp()
    has_events = inspect(session.get_bind()).has_table("events")
    events = session.execute(text("SELECT count(*) FROM events WHERE timestamp < :t"),
                             {"t": tracker_cutoff}).scalar_one() if has_events else 0
    orphans = select(Participant.id).where(~Participant.participations.any())
    if dry_run:
        empty_after = session.scalar(select(func.count()).select_from(Participant).where(
            ~select(Participation.id).where(Participation.participant_id == Participant.id,
                                            Participation.id.not_in(expired or [-1]))
            .exists())) or 0
        return PurgeReport(len(expired), int(empty_after), int(anonymous), int(events))
    delete_participations(session, expired)
    participants = len(session.scalars(orphans).all())
    session.execute(delete(Participant).where(Participant.id.in_(orphans)))
    session.execute(delete(KnowledgeQuery).where(KnowledgeQuery.participation_id.is_(None),
                                                 KnowledgeQuery.asked_at < log_cutoff))
    if has_events:
        session.execute(text("DELETE FROM events WHERE timestamp < :t"), {"t": tracker_cutoff})
    return PurgeReport(len(expired), participants, int(anonymous), int(events))
