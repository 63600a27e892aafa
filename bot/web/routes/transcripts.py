"""Transcript pages: a consultation's conversations, filtered, and one in full."""

from __future__ import annotations

from fastapi import HTTPException, Request
from fastapi.responses import HTMLResponse

from bot.review.conversations import (
    PAGE_SIZE,
    STATUSES,
    channels_of,
    list_transcripts,
    transcript_view,
)
from bot.web.auth import Reviewer
from bot.web.render import render
from bot.web.routes.review_common import (
    DbSession,
    known_consultation,
    paging,
    parse_int,
    reviewer_router,
)

router = reviewer_router()
NO_TRANSCRIPT = "This consultation has no conversation with that number."


@router.get("/c/{slug}/transcripts", response_class=HTMLResponse)
def transcripts(slug: str, request: Request, session: DbSession, _user: Reviewer,
                channel: str = "", status: str = "", page: str = "1") -> HTMLResponse:
    """The consultation's conversations, newest first, filtered by channel and status."""
    found = known_consultation(session, slug)
    channel = channel[:32]
    status = status if status in STATUSES else ""
    number = parse_int(page) or 1
    rows, total = list_transcripts(session, found.id, channel=channel, status=status,
                                   page=number)
    query = {k: v for k, v in {"channel": channel, "status": status}.items() if v}
    return render(request, "transcripts.html", {
        "c": found, "version": found.current_version, "rows": rows, "total": total,
        "channel": channel, "status": status,
        "channels": channels_of(session, found.id), "statuses": STATUSES,
        **paging(f"/review/c/{slug}/transcripts", query, number, total, PAGE_SIZE)})


@router.get("/c/{slug}/transcripts/{participation_id}", response_class=HTMLResponse)
def transcript(slug: str, participation_id: int, request: Request, session: DbSession,
               _user: Reviewer) -> HTMLResponse:
    """One conversation: messages in order with buttons, service questions, answers."""
    found = known_consultation(session, slug)
    view = transcript_view(session, found.id, participation_id)
    if view is None:
        raise HTTPException(status_code=404, detail=NO_TRANSCRIPT)
    return render(request, "transcript.html", {"c": found, "version": found.current_version,
                                               "t": view})
