"""The "Who took part" page: a consultation's participants against the population."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse

from bot.review import participants
from bot.web.auth import Reviewer
from bot.web.render import render
from bot.web.routes.review_common import DbSession, known_consultation, reviewer_router

router = reviewer_router()


@router.get("/c/{slug}/participants", response_class=HTMLResponse)
def who_took_part(slug: str, request: Request, session: DbSession,
                  _user: Reviewer) -> HTMLResponse:
    """Per profile dimension: shares against the population, index, test, per channel;
    then the choice and scale results weighted to the population."""
    found = known_consultation(session, slug)
    figures = participants.who_took_part(session, found.id)
    return render(request, "participants.html", {
        "c": found, "version": found.current_version, "f": figures})
