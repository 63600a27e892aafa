"""The public pages: open consultations, one consultation with the chat, privacy notices,
the accessibility statement."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from bot.consultations.schema import SLUG_RE
from bot.web import consultations
from bot.web.consultations import PublicConsultation
from bot.web.deps import DbSession, templates

router = APIRouter(tags=["public"])

Templates = Annotated[Jinja2Templates, Depends(templates)]

#: When the accessibility statement was prepared and last reviewed, and the date of the
#: test run its claims come from (tests/e2e/test_accessibility_e2e.py). Update both when
#: the statement is reviewed.
STATEMENT_PREPARED = date(2026, 12, 4)
LAST_TESTED = date(2026, 12, 4)

NOT_FOUND = "We could not find a consultation at this address. Please check the link."


@dataclass(frozen=True)
class ChatConfig:
    """How the page sets up the chat widget.

    Attributes:
        consultation: slug of the consultation the chat starts (``None``: the greeting).
        privacy_url: the privacy notice the widget links to.
        open: open the chat when the page loads.
    """

    consultation: str | None = None
    privacy_url: str | None = None
    open: bool = False


def _known(session: Session, slug: str) -> PublicConsultation:
    """The consultation with this slug (open or not), or a 404."""
    consultation = consultations.find(session, slug) if SLUG_RE.match(slug) else None
    if consultation is None:
        raise HTTPException(status_code=404, detail=NOT_FOUND)
    return consultation


@router.get("/", response_class=HTMLResponse)
def index(request: Request, session: DbSession, pages: Templates) -> HTMLResponse:
    """The open consultations and the chat (closed until the citizen opens it)."""
    listing = consultations.open_listing(session)
    agencies = sorted({c.agency for c in listing})
    return pages.TemplateResponse(request, "index.html", {
        "consultations": listing, "agencies": agencies, "chat": ChatConfig()})


@router.get("/c/{slug}", response_class=HTMLResponse)
def consultation(slug: str, request: Request, session: DbSession,
                 pages: Templates) -> HTMLResponse:
    """One open consultation: who runs it, the privacy notice, and the chat starting it."""
    found = _known(session, slug)
    if not found.is_open:
        raise HTTPException(status_code=404, detail=(
            f"“{found.title}” is not open for answers at the moment. "
            "The consultations you can take part in are listed on the home page."))
    privacy_url = str(request.url_for("privacy", slug=slug).path)
    return pages.TemplateResponse(request, "consultation.html", {
        "c": found, "chat": ChatConfig(consultation=slug, privacy_url=privacy_url, open=True)})


@router.get("/c/{slug}/privacy", response_class=HTMLResponse)
def privacy(slug: str, request: Request, session: DbSession, pages: Templates) -> HTMLResponse:
    """A consultation's privacy notice; kept readable after it closes (the data is kept too)."""
    found = _known(session, slug)
    return pages.TemplateResponse(request, "privacy.html", {"c": found, "chat": ChatConfig(
        privacy_url=str(request.url_for("privacy", slug=slug).path))})


@router.get("/accessibility", response_class=HTMLResponse)
def accessibility(request: Request, session: DbSession, pages: Templates) -> HTMLResponse:
    """The accessibility statement, with whom to contact about each open consultation."""
    listing = consultations.open_listing(session)
    return pages.TemplateResponse(request, "accessibility.html", {
        "consultations": listing, "agencies": sorted({c.agency for c in listing}),
        "prepared": STATEMENT_PREPARED, "tested": LAST_TESTED, "chat": ChatConfig()})


@router.get("/health", include_in_schema=False)
def health() -> dict[str, str]:
    """Liveness probe for run scripts and load balancers."""
    return {"status": "ok"}
