"""Signing staff in to the review area: sessions, roles and CSRF tokens.

The session lives in a signed cookie (Starlette's ``SessionMiddleware``, HttpOnly,
SameSite=lax) holding only the user's id, a CSRF token and when it was last used. The user
is read from the store on every request, so a disabled account or a changed role takes
effect at once. Every unsafe request (POST, …) must carry the session's CSRF token, in the
``csrf_token`` form field or the ``X-CSRF-Token`` header (synchronizer-token pattern).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, HTTPException, Request
from sqlalchemy.orm import Session

from bot.accounts.users import lock_after
from bot.store.review_models import User
from bot.web.deps import DbSession, settings

SESSION_USER = "uid"
SESSION_CSRF = "csrf"
SESSION_SEEN = "seen"
SESSION_STAMP = "pw"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
LOGIN_PATH = "/review/login"
HOME_PATH = "/review"
CSRF_REFUSED = "This form has expired or did not come from this site. Please go back, " \
               "reload the page and try again."

#: The clock (seconds since the epoch); tests replace it to check idle expiry.
clock = time.time


@dataclass(frozen=True)
class StaffUser:
    """The signed-in member of staff (a plain copy, safe to use after the session closes)."""

    id: int
    email: str
    role: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


class LoginRequired(Exception):
    """An anonymous browser asked for a review page: send it to the login page."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def wants_json(request: Request) -> bool:
    """Whether the client is an API client rather than a browser showing pages."""
    accept = request.headers.get("accept", "")
    return request.url.path.startswith("/api") or (
        "application/json" in accept and "text/html" not in accept)


def safe_next(target: str | None) -> str:
    """A redirect target inside the review area (never another site: no open redirect)."""
    if (target and target.startswith(HOME_PATH) and not target.startswith("//")
            and "\\" not in target and all(c.isprintable() for c in target)):
        return target
    return HOME_PATH


def login_url(next_path: str) -> str:
    """The login page, coming back to ``next_path`` afterwards."""
    return f"{LOGIN_PATH}?next={quote(safe_next(next_path), safe='/')}"


# ------------------------------------------------------------------------------- CSRF
def csrf_token(request: Request) -> str:
    """The session's CSRF token (created on first use)."""
    token = request.session.get(SESSION_CSRF)
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        request.session[SESSION_CSRF] = token
    return token


async def check_csrf(request: Request) -> None:
    """Refuse (403) an unsafe request whose CSRF token is missing or wrong.

    Raises:
        HTTPException: 403 when the token does not match the session's.
    """
    if request.method in SAFE_METHODS:
        return
    expected = request.session.get(SESSION_CSRF)
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            value = (await request.form()).get(CSRF_FIELD)
            sent = value if isinstance(value, str) else None
    if not (isinstance(expected, str) and expected and sent
            and hmac.compare_digest(expected.encode(), sent.encode())):
        raise HTTPException(status_code=403, detail=CSRF_REFUSED)


# ---------------------------------------------------------------------------- sessions
def credential_stamp(user: User) -> str:
    """A short fingerprint of the user's password hash: a session signed in with an older
    password (changed or reset since) no longer matches and is ended."""
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def sign_in(request: Request, user: User) -> None:
    """Start a fresh session for ``user`` (a new CSRF token too: no session fixation)."""
    request.session.clear()
    request.session[SESSION_USER] = user.id
    request.session[SESSION_STAMP] = credential_stamp(user)
    request.session[SESSION_SEEN] = int(clock())
    csrf_token(request)


def sign_out(request: Request) -> None:
    """End the session."""
    request.session.clear()


def current_user(request: Request, session: Session) -> StaffUser | None:
    """The signed-in, active user, or None (anonymous, idle too long, disabled, or signed
    in with a password that has since been changed or reset).

    Each call within the idle limit extends the session.
    """
    cached: StaffUser | None = getattr(request.state, "staff_user", None)
    if cached is not None:
        return cached
    user_id = request.session.get(SESSION_USER)
    if not isinstance(user_id, int):
        return None
    idle = timedelta(minutes=settings(request).session_idle_minutes).total_seconds()
    seen = request.session.get(SESSION_SEEN)
    now = int(clock())
    if not isinstance(seen, int) or now - seen > idle:
        sign_out(request)
        return None
    user = session.get(User, user_id)
    stamp = request.session.get(SESSION_STAMP)
    if user is None or not user.active or not isinstance(stamp, str) or \
            not hmac.compare_digest(stamp, credential_stamp(user)):
        sign_out(request)
        return None
    request.session[SESSION_SEEN] = now
    staff = StaffUser(user.id, user.email, user.role)
    request.state.staff_user = staff
    return staff


def require_user(request: Request,
                 session: DbSession) -> StaffUser:
    """The signed-in user; anonymous browsers go to the login page, API clients get 401.

    Raises:
        LoginRequired: for a browser without a valid session.
        HTTPException: 401 for an API client without one.
    """
    user = current_user(request, session)
    if user is not None:
        return user
    if wants_json(request):
        raise HTTPException(status_code=401, detail="Sign in first.",
                            headers={"WWW-Authenticate": "Bearer"})
    path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    raise LoginRequired(path if request.method in SAFE_METHODS else HOME_PATH)


def require_admin(user: Annotated[StaffUser, Depends(require_user)]) -> StaffUser:
    """The signed-in user if they are an admin.

    Raises:
        HTTPException: 403 for a reviewer.
    """
    if not user.is_admin:
        raise HTTPException(status_code=403, detail="Only admins can do this.")
    return user


Reviewer = Annotated[StaffUser, Depends(require_user)]
Admin = Annotated[StaffUser, Depends(require_admin)]


# ------------------------------------------------------------------ unknown e-mails
class LoginThrottle:
    """Slows down failed sign-ins for e-mails that have no account, in memory.

    Known accounts are locked in the store (``bot.accounts.users``); without this, only
    they would ever be told to wait, which would reveal which e-mails have an account.
    Entries follow the same doubling schedule; the oldest are forgotten beyond ``size``.
    """

    def __init__(self, size: int = 10_000) -> None:
        self.size = size
        self._failures: OrderedDict[str, tuple[int, float]] = OrderedDict()

    def locked_for(self, email: str) -> timedelta | None:
        """How long sign-in stays refused for this e-mail, or None."""
        entry = self._failures.get(email.strip().lower())
        if entry is None:
            return None
        remaining = entry[1] - clock()
        return timedelta(seconds=remaining) if remaining > 0 else None

    def failed(self, email: str) -> timedelta | None:
        """Count a failure; returns the lock it starts (None below the free attempts)."""
        key = email.strip().lower()
        failures = self._failures.pop(key, (0, 0.0))[0] + 1
        wait = lock_after(failures)
        self._failures[key] = (failures, clock() + wait.total_seconds())
        while len(self._failures) > self.size:
            self._failures.popitem(last=False)
        return wait or None

    def succeeded(self, email: str) -> None:
        """Forget the failures of an e-mail that signed in."""
        self._failures.pop(email.strip().lower(), None)
