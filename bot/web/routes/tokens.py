"""Personal API tokens in the review area: list, create and revoke one's own.

Any signed-in member of staff manages their own tokens here (as ``codesign users token``
does in a shell). A new token is shown once, in the answer to the form that made it
(``Cache-Control: no-store``): never in a redirect address or the session cookie. Only
the token's SHA-256 is stored (``bot.accounts.tokens``). Someone else's token is "not
found" (404), whoever asks.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from bot.accounts.tokens import issue_token, list_tokens, revoke_token
from bot.store.review_models import User
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


def _account(session: DbSession, user: StaffUser) -> User:
    found = session.get(User, user.id)
    if found is None:  # pragma: no cover - require_user has just read it
        raise HTTPException(status_code=404, detail=NO_TOKEN)
    return found


def _page(request: Request, session: DbSession, account: User, *, new_token: str = "",
          new_name: str = "", name: str = "", error: str = "",
          status_code: int = 200) -> HTMLResponse:
    return render(request, "tokens.html", {
        "tokens": list_tokens(session, account), "new_token": new_token,
        "new_name": new_name, "name": name, "error": error,
        "api_base": str(request.base_url).rstrip("/") + API_PREFIX,
    }, status_code=status_code, headers=NO_STORE)


@router.get("/account/tokens", response_class=HTMLResponse)
def tokens(request: Request, session: DbSession, user: Reviewer) -> HTMLResponse:
    """The user's own API tokens (never the tokens themselves) and a form for a new one."""
    return _page(request, session, _account(session, user))


@router.post("/account/tokens", response_class=HTMLResponse)
def create(request: Request, session: DbSession, user: Reviewer,
           name: Annotated[str, Form()] = "") -> HTMLResponse:
    """Make a token acting as the user; the answer shows it, once."""
    account = _account(session, user)
    wanted = " ".join(name.split())
    if not wanted or len(wanted) > MAX_NAME:
        return _page(request, session, account, name=name[:MAX_NAME * 2],
                     error=NAME_TOO_LONG if wanted else NAME_MISSING, status_code=400)
    token = issue_token(session, account, wanted)
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
