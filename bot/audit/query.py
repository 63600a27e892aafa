"""Reading the audit trail back: filters, pages, and every matching entry in batches."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select, tuple_
from sqlalchemy.orm import Session

from bot.audit.trail import Action
from bot.store.audit_models import AuditEntry

PAGE_SIZE = 50
BATCH = 500
MAX_TEXT_FILTER = 200


@dataclass(frozen=True)
class AuditFilter:
    """Which entries to show; empty fields filter nothing.

    Attributes:
        action: one action of the vocabulary.
        who: part of the actor's e-mail or name (any case).
        since: the first day (UTC), inclusive.
        until: the last day (UTC), inclusive.
        target: part of the target (any case).
    """

    action: Action | None = None
    who: str = ""
    since: date | None = None
    until: date | None = None
    target: str = ""

    def conditions(self) -> list[ColumnElement[bool]]:
        """The SQL conditions of this filter."""
        where: list[ColumnElement[bool]] = []
        if self.action is not None:
            where.append(AuditEntry.action == self.action.value)
        if self.who.strip():
            where.append(func.lower(AuditEntry.actor).contains(
                self.who.strip().lower()[:MAX_TEXT_FILTER], autoescape=True))
        if self.target.strip():
            where.append(func.lower(AuditEntry.target).contains(
                self.target.strip().lower()[:MAX_TEXT_FILTER], autoescape=True))
        if self.since is not None:
            where.append(AuditEntry.at >= datetime.combine(self.since, time(), UTC))
        if self.until is not None:
            where.append(AuditEntry.at < datetime.combine(self.until + timedelta(days=1),
                                                          time(), UTC))
        return where

    def as_query(self) -> dict[str, str]:
        """The filter as query-string values (empty ones left out)."""
        values = {"action": self.action.value if self.action else "", "who": self.who,
                  "since": self.since.isoformat() if self.since else "",
                  "until": self.until.isoformat() if self.until else "",
                  "target": self.target}
        return {key: value for key, value in values.items() if value}


def parse_action(value: str) -> Action | None:
    """An action of the vocabulary from its name, or None (blank or unknown)."""
    try:
        return Action(value.strip())
    except ValueError:
        return None


def _newest_first(query: Select[Any]) -> Select[Any]:
    return query.order_by(AuditEntry.at.desc(), AuditEntry.id.desc())


def page(session: Session, chosen: AuditFilter, number: int = 1,
         size: int = PAGE_SIZE) -> tuple[list[AuditEntry], int]:
    """One page of matching entries, newest first, and how many match in all."""
    where = chosen.conditions()
    total = session.scalar(select(func.count()).select_from(AuditEntry).where(*where)) or 0
    rows = session.scalars(_newest_first(select(AuditEntry).where(*where))
                           .offset((max(1, number) - 1) * size).limit(size))
    return list(rows), int(total)


def entries(session: Session, chosen: AuditFilter, batch: int = BATCH) -> Iterator[AuditEntry]:
    """Every matching entry, newest first, read ``batch`` at a time (keyset paging, so a
    long trail streams in flat memory)."""
    where = chosen.conditions()
    after: tuple[datetime, int] | None = None
    while True:
        query = select(AuditEntry).where(*where)
        if after is not None:
            query = query.where(tuple_(AuditEntry.at, AuditEntry.id) < tuple_(*after))
        rows = list(session.scalars(_newest_first(query).limit(batch)))
        yield from rows
        if len(rows) < batch:
            return
        after = (rows[-1].at, rows[-1].id)
