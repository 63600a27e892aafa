"""Request dependencies shared by the routers: settings, database sessions, templates."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from bot.store.db import session_scope
from bot.web.settings import WebSettings


def settings(request: Request) -> WebSettings:
    """The settings the app was created with."""
    value: WebSettings = request.app.state.settings
    return value


def templates(request: Request) -> Jinja2Templates:
    """The app's Jinja2 templates."""
    value: Jinja2Templates = request.app.state.templates
    return value


def db_session(request: Request) -> Iterator[Session]:
    """A read-mostly database session for one request (committed on success)."""
    with session_scope(settings(request).database_url) as session:
        yield session


#: The request's database session, committed when the route function has returned and
#: *before* the response is sent (``scope="function"``; FastAPI's default for a dependency
#: with ``yield`` is after). A browser following a redirect must find what the request
#: changed: a password just changed must not look stale (which ends the session), nor an
#: added user missing from the list. Every route and dependency uses this one, so a request
#: has one session.
DbSession = Annotated[Session, Depends(db_session, scope="function")]
