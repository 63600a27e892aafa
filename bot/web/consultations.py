"""What the public pages show about a consultation, read from the app store."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from bot.dialogue.render import privacy_statement
from bot.store import repository as repo
from bot.store.models import Consultation


@dataclass(frozen=True)
class PublicConsultation:
    """A consultation as citizens see it on the web page (its latest version)."""

    slug: str
    title: str
    agency: str
    service: str
    kind: str
    summary: str
    intro: str | None
    opens: date | None
    closes: date | None
    outcome: str
    is_open: bool
    retention_days: int
    quotes: str
    contact: str | None
    privacy_statement: str

    @classmethod
    def from_definition(cls, slug: str, definition: dict[str, Any],
                        is_open: bool) -> PublicConsultation:
        """Build the public view of a normalised consultation definition."""
        privacy = definition["privacy"]
        return cls(
            slug=slug,
            title=definition["title"],
            agency=definition["agency"],
            service=definition["service"],
            kind=definition["kind"],
            summary=definition["summary"],
            intro=definition.get("intro"),
            opens=_date(definition.get("opens")),
            closes=_date(definition.get("closes")),
            outcome=definition["outcome"],
            is_open=is_open,
            retention_days=int(privacy["retention_days"]),
            quotes=privacy["quotes"],
            contact=privacy.get("contact"),
            privacy_statement=privacy_statement(definition),
        )


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _public(consultation: Consultation, today: date | None) -> PublicConsultation | None:
    version = consultation.current_version
    if version is None:
        return None
    return PublicConsultation.from_definition(consultation.slug, version.definition,
                                              repo.is_open(consultation, today))


def open_listing(session: Session, today: date | None = None) -> list[PublicConsultation]:
    """The consultations citizens can take part in today, soonest closing first."""
    listing = [view for c in repo.open_consultations(session, today)
               if (view := _public(c, today)) is not None]
    return sorted(listing, key=lambda c: (c.closes or date.max, c.title))


def find(session: Session, slug: str, today: date | None = None) -> PublicConsultation | None:
    """The consultation with this slug, open or not; None when there is none."""
    consultation = repo.get_consultation(session, slug)
    return _public(consultation, today) if consultation is not None else None
