"""The signed-in user's own account: changing their password (any role)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from bot.accounts.passwords import RULES
from bot.accounts.users import AccountError, change_own_password
from bot.audit.trail import Action, Actor, record
from bot.store.review_models import User
from bot.web.auth import HOME_PATH, Reviewer, sign_in
from bot.web.render import render
from bot.web.routes.review_common import DbSession, flash, reviewer_router
from bot.web.routes.users import sentence

router = reviewer_router()


def _page(request: Request, error: AccountError | None = None,
          status_code: int = 200) -> HTMLResponse:
    return render(request, "account_password.html", {
        "password_rules": RULES, "error": sentence(error) if error else None,
        "error_field": error.field if error else None}, status_code=status_code)


@router.get("/account/password", response_class=HTMLResponse)
def password_page(request: Request, _user: Reviewer) -> HTMLResponse:
    """The form to replace one's own password."""
    return _page(request)


@router.post("/account/password", response_class=HTMLResponse)
def change_password(request: Request, session: DbSession, user: Reviewer,
                    current: Annotated[str, Form()] = "", new: Annotated[str, Form()] = "",
                    repeated: Annotated[str, Form()] = "") -> Response:
    """Replace one's own password after checking the current one (nothing changes when
    anything is wrong; wrong current passwords count as failed sign-ins)."""
    me = session.get(User, user.id)
    assert me is not None  # require_user has just read this active user
    try:
        change_own_password(session, me, current, new, repeated)
    except AccountError as problem:
        return _page(request, problem, status_code=400)
    sign_in(request, me)  # this session goes on; those signed in elsewhere end
    record(session, Actor.staff(me), Action.OWN_PASSWORD_CHANGE, me.email)
    flash(request, "Your password has been changed: use the new one next time you sign in. "
                   "Any other sessions with the old password have been signed out.")
    return RedirectResponse(HOME_PATH, status_code=303)
