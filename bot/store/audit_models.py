"""The audit trail's table: which member of staff (or command line) did what, when, to what.

Append-only for the app: ``bot.audit`` inserts and reads rows, and no code path updates
or deletes one. Migration 0009 also makes the database itself refuse it (SQLite triggers
for UPDATE and DELETE; on PostgreSQL a trigger for UPDATE and DELETE and one for
TRUNCATE), so a bug, or someone with only the app's SQL access, cannot rewrite what
happened; a database administrator would have to drop the triggers first.

An entry never holds citizen text or a raw Telegram or web id: ``target`` names what was
acted on (a consultation's slug, a staff e-mail, a token's name, a document's path, or
the first characters of a citizen's pseudonym) and ``detail`` holds small facts such as
an export's format or counts. ``actor_id`` is a plain number, not a foreign key: the
entry keeps who it was even if the account changes (``actor`` is their e-mail at the
time, or ``cli:<os user>``, or ``system``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from bot.store.models import Base, utcnow


class AuditEntry(Base):
    """One staff action (see ``bot.audit.trail.Action`` for the vocabulary)."""

    __tablename__ = "audit_entries"
    __table_args__ = (Index("ix_audit_entries_action_at", "action", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    #: The staff user's id, or None for the command line and the system.
    actor_id: Mapped[int | None] = mapped_column(Integer)
    #: The staff user's e-mail at the time, ``cli:<os user>`` or ``system``.
    actor: Mapped[str] = mapped_column(String(254))
    action: Mapped[str] = mapped_column(String(40))
    target: Mapped[str] = mapped_column(String(300), default="")
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
