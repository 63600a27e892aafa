"""Signing in to and out of the review area."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from bot.accounts.users import authenticate
from bot.audit.trail import Action, Actor, record
from bot.web.auth import (
    HOME_PATH,
    LOGIN_PATH,
    LoginThrottle,
    check_csrf,
    current_user,
    require_user,
    safe_next,
    sign_in,
    sign_out,
)
from bot.web.deps import DbSession
from bot.web.render import render

router = APIRouter(tags=["review"])

WRONG = "The e-mail address or password is not right."
MAX_FIELD = 1024


def wait_message(wait: timedelta) -> str:
    """"Too many attempts" with the wait in whole seconds (rounded up)."""
    seconds = max(1, math.ceil(wait.total_seconds()))
    unit = "second" if seconds == 1 else "seconds"
    return f"Too many failed sign-ins. Please try again in {seconds} {unit}."


def _throttle(request: Request) -> LoginThrottle:
    throttle: LoginThrottle = request.app.state.login_throttle
    return throttle


@router.get(LOGIN_PATH, response_class=HTMLResponse)
def login_page(request: Request, session: DbSession, next: str = HOME_PATH) -> Response:
    """The sign-in form (signed-in users go straight on)."""
    if current_user(request, session) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return render(request, "login.html", {"next": safe_next(next), "email": "", "error": None})


@router.post(LOGIN_PATH, response_class=HTMLResponse, dependencies=[Depends(check_csrf)])
def login(request: Request, session: DbSession, email: Annotated[str, Form()] = "",
          password: Annotated[str, Form()] = "",
          next: Annotated[str, Form()] = HOME_PATH) -> Response:
    """Check the e-mail and password; the same answer whether or not the e-mail exists."""
    email, password = email[:MAX_FIELD], password[:MAX_FIELD]
    throttle = _throttle(request)
    wait = throttle.locked_for(email)
    user = None
    if wait is None:
        result = authenticate(session, email, password)
        user, wait = result.user, result.locked_for
        if user is None and wait is None:
            wait = throttle.failed(email)
    if user is not None:
        throttle.succeeded(email)
        sign_in(request, user)
        record(session, Actor.staff(user), Action.SIGN_IN)
        return RedirectResponse(safe_next(next), status_code=303)
    record(session, Actor.anonymous(), Action.SIGN_IN_FAILED, email, locked=wait is not None)
    message, status, headers = WRONG, 400, None
    if wait is not None:
        message = wait_message(wait)
        status = 429
        headers = {"Retry-After": str(max(1, math.ceil(wait.total_seconds())))}
    return render(request, "login.html", {"next": safe_next(next), "email": email,
                                          "error": message},
                  status_code=status, headers=headers)


@router.post("/review/logout", dependencies=[Depends(require_user), Depends(check_csrf)])
def logout(request: Request) -> RedirectResponse:
    """End the session and go back to the sign-in page."""
    sign_out(request)
    return RedirectResponse(LOGIN_PATH, status_code=303)
