"""Personal API tokens in the review area: list, create and revoke one's own.

Any signed-in member of staff manages their own tokens here (as ``codesign users token``
does in a shell). A new token is shown once, in the answer to the form that made it
(``Cache-Control: no-store``): never in a redirect address or the session cookie. Only
the token's SHA-256 is stored (``bot.accounts.tokens``). Someone else's token is "not
found" (404), whoever asks.

Reloading the page that shows a new token sends its form again. So that this does not make
a second token, each form carries a random, one-time form id, stored with the token it
made (``ApiToken.form_id``, unique); a form sent again makes nothing and says which token
it made (409). The check is the database's unique constraint, not the session (a signed
cookie, which two requests sent at the same moment, as by a double click, both read
before either answer sets it): of two such requests one makes the token and the other
is told, like a form sent again.
"""

from __future__ import annotations

import re
import secrets
from typing import Annotated

from fastapi import Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from bot.accounts.tokens import issue_token, list_tokens, revoke_token
from bot.audit.trail import Action, Actor, record
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
#: A form id is ``secrets.token_urlsafe(16)``; what a form may send (at most
#: ``ApiToken.form_id``'s 64 characters).
FORM_ID_RE = re.compile(r"[A-Za-z0-9_-]{16,64}")
FORM_OUTDATED = ("This form came from an older copy of the page, so no token was made: "
                 "check the name below and press “Make the token” again.")


def resent_message(name: str) -> str:
    """What a form sent again (a reloaded page) is told: no second token was made."""
    made = f"the token “{name}” was made" if name else "a token was made"
    return (f"This form was already sent: {made} and is shown only once. If you did not "
            "copy it, revoke it and make a new one.")


def _made_with(session: DbSession, account: User, form_id: str) -> str | None:
    """The name of the token a form id has already made ("" when it is not ``account``'s:
    only its owner is told the name), or None when it has made none."""
    row = session.scalar(select(ApiToken).where(ApiToken.form_id == form_id))
    if row is None:
        return None
    return row.name if row.user_id == account.id else ""


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

    A form sent again (the answer's page reloaded, or sent twice at the same moment)
    makes no second token (409); a form without a well-formed form id makes none either
    (400).
    """
    account = _account(session, user)
    if not FORM_ID_RE.fullmatch(form_id):
        return _page(request, session, account, name=name[:MAX_NAME * 2],
                     form_problem=FORM_OUTDATED, status_code=400)
    wanted = " ".join(name.split())
    if not wanted or len(wanted) > MAX_NAME:
        return _page(request, session, account, name=name[:MAX_NAME * 2],
                     error=NAME_TOO_LONG if wanted else NAME_MISSING, status_code=400)
    try:
        with session.begin_nested():
            token = issue_token(session, account, wanted, form_id=form_id)
    except IntegrityError:
        # The form was sent before, or at the same moment by another request, which made
        # the token (the unique form id; the insert waits for that request's commit).
        made = _made_with(session, account, form_id)
        if made is None:  # pragma: no cover - some other constraint: not a form sent twice
            raise
        return _page(request, session, account, form_problem=resent_message(made),
                     status_code=409)
    record(session, Actor.staff(user), Action.TOKEN_CREATE, wanted)
    return _page(request, session, account, new_token=token, new_name=wanted)


@router.post("/account/tokens/{token_id}/revoke")
def revoke(token_id: int, request: Request, session: DbSession,
           user: Reviewer) -> RedirectResponse:
    """Revoke one of the user's tokens: programs using it get 401 from now on."""
    row = revoke_token(session, _account(session, user), token_id)
    if row is None:
        raise HTTPException(status_code=404, detail=NO_TOKEN)
    record(session, Actor.staff(user), Action.TOKEN_REVOKE, row.name, token=row.id)
    flash(request, f"Revoked the token “{row.name}”: it no longer works.")
    return RedirectResponse(PATH, status_code=303)
