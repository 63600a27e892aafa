"""What the review routes share: routers with the access rules, lookups, redirects, flashes."""

from __future__ import annotations

from datetime import date
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session

from bot.audit.trail import Action, Actor, DetailValue, StaffLike, record
from bot.consultations.schema import SLUG_RE
from bot.store.models import Consultation
from bot.store.repository import get_consultation
from bot.web.auth import check_csrf, require_admin, require_user, safe_next
from bot.web.deps import DbSession as DbSession  # re-exported: the review routes import it here

FLASHES = "flash"
NO_CONSULTATION = "There is no consultation at this address."


def reviewer_router() -> APIRouter:
    """A router whose every route needs a signed-in user, and a CSRF token to change things.

    The user is checked first, so anonymous requests go to the login page whatever they are.
    """
    return APIRouter(prefix="/review", tags=["review"],
                     dependencies=[Depends(require_user), Depends(check_csrf)])


def admin_router() -> APIRouter:
    """A router whose every route needs a signed-in admin (reviewers get 403)."""
    return APIRouter(prefix="/review", tags=["review"],
                     dependencies=[Depends(require_admin), Depends(check_csrf)])


def known_consultation(session: Session, slug: str) -> Consultation:
    """The consultation with this slug (it must have a version), or a 404."""
    consultation = get_consultation(session, slug) if SLUG_RE.match(slug) else None
    if consultation is None or consultation.current_version is None:
        raise HTTPException(status_code=404, detail=NO_CONSULTATION)
    return consultation


def flash(request: Request, message: str, kind: str = "ok") -> None:
    """A message shown once on the next page (``kind``: ok | error)."""
    request.session.setdefault(FLASHES, []).append([kind, message[:500]])
    request.session[FLASHES] = request.session[FLASHES][-5:]


def pop_flashes(request: Request) -> list[tuple[str, str]]:
    """The messages waiting to be shown (and forget them)."""
    waiting = request.session.pop(FLASHES, None) or []
    return [(str(kind), str(text)) for kind, text in waiting]


def back(target: str | None, default: str) -> RedirectResponse:
    """Redirect (303, after a form) to ``target`` when it is in the review area."""
    return RedirectResponse(safe_next(target) if target else default, status_code=303)


def back_in_review(target: str, default: str) -> RedirectResponse:
    """303 (after a form) to ``target`` when it is a page of the review area, else to
    ``default``."""
    page = safe_next(target[:1000]) if target else ""
    return RedirectResponse(page if page.startswith("/review/") else default,
                            status_code=303)


def done(request: Request, session: Session, user: StaffLike, action: Action, target: str,
         message: str, **detail: DetailValue) -> None:
    """What a review form does once its change is made: record ``action`` in the audit
    trail (same transaction), commit, and tell the user ``message`` on the next page.
    ``detail`` holds small facts only, never citizen text."""
    record(session, Actor.staff(user), action, target, **detail)
    session.commit()
    flash(request, message)


def parse_day(value: str) -> date | None:
    """A ``YYYY-MM-DD`` date from a query string, or None when blank or not a date."""
    try:
        return date.fromisoformat(value.strip()) if value.strip() else None
    except ValueError:
        return None


def parse_yes_no(value: str) -> bool | None:
    """``yes`` -> True, ``no`` -> False, anything else -> None (no filter)."""
    return {"yes": True, "no": False}.get(value.strip().lower())


def parse_int(value: str) -> int | None:
    """A positive integer from a query string, or None."""
    return int(value) if value.strip().isdigit() and len(value.strip()) < 10 else None


def paging(base: str, query: dict[str, str], number: int, total: int,
           size: int) -> dict[str, object]:
    """The pager of a filtered list: ``page``, ``pages``, this page's address (``here``)
    and the previous and next pages' (None at either end), keeping the filters."""
    pages = max(1, -(-total // size))

    def url(n: int) -> str:
        return f"{base}?" + urlencode({**query, "page": n})

    return {"page": number, "pages": pages, "here": url(number),
            "previous_url": url(number - 1) if number > 1 else None,
            "next_url": url(number + 1) if number < pages else None}
