"""The staff review area, added to the web app by ``install``: signed session cookies,
the login throttle, background jobs and the review, admin and export routes."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse
from starlette.middleware.sessions import SessionMiddleware

from bot.web.auth import LoginRequired, LoginThrottle, login_url
from bot.web.jobs import JobRunner
from bot.web.routes import (
    account,
    admin,
    api_docs,
    assisted,
    audit,
    calibration,
    exports,
    gap_labels,
    gap_words,
    knowledge,
    login,
    participants,
    review,
    themes,
    tokens,
    transcripts,
    users,
)
from bot.web.settings import WebSettings

SESSION_COOKIE = "codesign_session"
#: The cookie's own lifetime; the idle limit (``session_idle_minutes``) is checked too.
COOKIE_MAX_AGE = 12 * 3600


def shut_down(app: FastAPI) -> None:
    """Store this process's running background jobs as stopped (the app is stopping)."""
    runner = getattr(app.state, "jobs", None)
    if isinstance(runner, JobRunner):
        runner.shut_down()


def install(app: FastAPI, settings: WebSettings) -> None:
    """Add the review area to ``app``.

    Raises:
        RuntimeError: when no secret is set to sign the session cookies.
    """
    app.state.login_throttle = LoginThrottle()
    app.state.jobs = JobRunner(settings.database_url)
    for module in (login, review, transcripts, themes, exports, admin, api_docs, tokens,
                   users, account, knowledge, gap_words, gap_labels, calibration,
                   participants, audit, assisted):
        app.include_router(module.router)

    @app.exception_handler(LoginRequired)
    async def to_login(_request: Request, exc: LoginRequired) -> RedirectResponse:
        """Anonymous browsers asking for a review page sign in first, then come back."""
        return RedirectResponse(login_url(exc.next_path), status_code=303)

    # Signed (HMAC) cookie, HttpOnly, SameSite=lax; Secure when https_only is set.
    app.add_middleware(SessionMiddleware, secret_key=settings.session_key,
                       session_cookie=SESSION_COOKIE, max_age=COOKIE_MAX_AGE,
                       same_site="lax", https_only=settings.https_only)
