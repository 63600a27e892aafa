"""Personal API tokens in the review area: list, create and revoke one's own.

Any signed-in member of staff manages their own tokens here (as ``codesign users token``
does in a shell). A new token is shown once, in the answer to the form that made it
(``Cache-Control: no-store``): never in a redirect address or the session cookie. Only
the token's SHA-256 is stored (``bot.accounts.tokens``). Someone else's token is "not
found" (404), whoever asks.

Reloading the page that shows a new token sends its form again. So that this does not make
a second token, each form carries a random, one-time form id; the session remembers the
ids that made a token (with the token's number, never the token), and a form sent again
with one of them makes nothing and says which token it made (409).
"""

from __future__ import annotations

import re
import secrets
from typing import Annotated, Any

from fastapi import Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import func, select

from bot.accounts.tokens import issue_token, list_tokens, revoke_token
from bot.store.review_models import ApiToken, User
from bot.web.auth import Reviewer, StaffUser
from bot.web.render import render
from bot.web.routes.api import PREFIX as API_PREFIX
from bot.web.routes.review_common import DbSession, flash, reviewer_router

router = reviewer_router()
PATH = "/review/account/tokens"
MAX_NAME = 100
NO_TOKEN = "You have no API token with that number."
NAME_MISSING = "Give the token a name, such as what or who will use it."
NAME_TOO_LONG = f"The name is longer than {MAX_NAME} characters."
#: The page showing a new token must not be kept by the browser or a proxy.
NO_STORE = {"Cache-Control": "no-store"}
#: The session key remembering the form ids that made a token (the latest ``KEEP_FORMS``,
#: as ``[form id, token number]``); a form id is ``secrets.token_urlsafe(16)``.
SESSION_FORMS = "token_forms"
KEEP_FORMS = 10
FORM_ID_RE = re.compile(r"[A-Za-z0-9_-]{16,64}")
FORM_OUTDATED = ("This form came from an older copy of the page, so no token was made: "
                 "check the name below and press “Make the token” again.")


def resent_message(name: str) -> str:
    """What a form sent again (a reloaded page) is told: no second token was made."""
    made = f"the token “{name}” was made" if name else "a token was made"
    return (f"This form was already sent: {made} and is shown only once. If you did not "
            "copy it, revoke it and make a new one.")


def _used_forms(request: Request) -> list[tuple[str, int]]:
    """The form ids this session made a token with, oldest first, with the tokens' numbers."""
    kept: Any = request.session.get(SESSION_FORMS)
    if not isinstance(kept, list):
        return []
    return [(entry[0], entry[1]) for entry in kept
            if isinstance(entry, list) and len(entry) == 2 and isinstance(entry[0], str)
            and isinstance(entry[1], int)]


def _remember_form(request: Request, form_id: str, token_id: int) -> None:
    """Record that ``form_id`` made the token ``token_id`` (the latest few are kept)."""
    kept = [(used, made) for used, made in _used_forms(request) if used != form_id]
    kept.append((form_id, token_id))
    request.session[SESSION_FORMS] = [list(entry) for entry in kept[-KEEP_FORMS:]]


def _token_id(session: DbSession, account: User) -> int:
    """The number of the token ``issue_token`` has just made for ``account`` (its newest)."""
    newest = session.scalar(select(func.max(ApiToken.id)).where(ApiToken.user_id == account.id))
    if newest is None:  # pragma: no cover - issue_token has just stored one
        raise HTTPException(status_code=500, detail="The new token was not stored.")
    return int(newest)


def _made_with(request: Request, session: DbSession, account: User, form_id: str) -> str | None:
    """The name of the token a form id has already made ("" when that token is gone), or
    None when it has made none."""
    for used, token_id in _used_forms(request):
        if used == form_id:
            row = session.get(ApiToken, token_id)
            return row.name if row is not None and row.user_id == account.id else ""
    return None


def _account(session: DbSession, user: StaffUser) -> User:
    found = session.get(User, user.id)
    if found is None:  # pragma: no cover - require_user has just read it
        raise HTTPException(status_code=404, detail=NO_TOKEN)
    return found


def _page(request: Request, session: DbSession, account: User, *, new_token: str = "",
          new_name: str = "", name: str = "", error: str = "", form_problem: str = "",
          status_code: int = 200) -> HTMLResponse:
    """The page, its form with a fresh one-time form id."""
    return render(request, "tokens.html", {
        "tokens": list_tokens(session, account), "new_token": new_token,
        "new_name": new_name, "name": name, "error": error, "form_problem": form_problem,
        "form_id": secrets.token_urlsafe(16),
        "api_base": str(request.base_url).rstrip("/") + API_PREFIX,
    }, status_code=status_code, headers=NO_STORE)


@router.get("/account/tokens", response_class=HTMLResponse)
def tokens(request: Request, session: DbSession, user: Reviewer) -> HTMLResponse:
    """The user's own API tokens (never the tokens themselves) and a form for a new one."""
    return _page(request, session, _account(session, user))


@router.post("/account/tokens", response_class=HTMLResponse)
def create(request: Request, session: DbSession, user: Reviewer,
           name: Annotated[str, Form()] = "",
           form_id: Annotated[str, Form()] = "") -> HTMLResponse:
    """Make a token acting as the user; the answer shows it, once.

    A form sent again (the answer's page reloaded) makes no second token (409); a form
    without a well-formed form id makes none either (400).
    """
    account = _account(session, user)
    made = _made_with(request, session, account, form_id)
    if made is not None:
        return _page(request, session, account, form_problem=resent_message(made),
                     status_code=409)
    if not FORM_ID_RE.fullmatch(form_id):
        return _page(request, session, account, name=name[:MAX_NAME * 2],
                     form_problem=FORM_OUTDATED, status_code=400)
    wanted = " ".join(name.split())
    if not wanted or len(wanted) > MAX_NAME:
        return _page(request, session, account, name=name[:MAX_NAME * 2],
                     error=NAME_TOO_LONG if wanted else NAME_MISSING, status_code=400)
    token = issue_token(session, account, wanted)
    _remember_form(request, form_id, _token_id(session, account))
    return _page(request, session, account, new_token=token, new_name=wanted)


@router.post("/account/tokens/{token_id}/revoke")
def revoke(token_id: int, request: Request, session: DbSession,
           user: Reviewer) -> RedirectResponse:
    """Revoke one of the user's tokens: programs using it get 401 from now on."""
    row = revoke_token(session, _account(session, user), token_id)
    if row is None:
        raise HTTPException(status_code=404, detail=NO_TOKEN)
    flash(request, f"Revoked the token “{row.name}”: it no longer works.")
    return RedirectResponse(PATH, status_code=303)
