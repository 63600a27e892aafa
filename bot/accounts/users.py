"""Creating staff users and signing them in, with failed logins slowed down."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.accounts.passwords import check_strength, hash_password, needs_rehash, verify_password
from bot.store.review_models import ROLES, User

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
FREE_ATTEMPTS = 5
MAX_LOCK = timedelta(minutes=15)
# Verifying against this keeps a login for an unknown e-mail as slow as for a known one.
_DUMMY_HASH = hash_password("not-a-real-password-0")


class AccountError(ValueError):
    """A user cannot be created or changed as asked (the message says why)."""


@dataclass(frozen=True)
class LoginResult:
    """The signed-in user, or why not (``locked_for`` when slowed down)."""

    user: User | None
    locked_for: timedelta | None = None


def normalise_email(email: str) -> str:
    """Trimmed, lower-cased e-mail; raises ``AccountError`` when it is not one."""
    cleaned = email.strip().lower()
    if not EMAIL_RE.match(cleaned) or len(cleaned) > 254:
        raise AccountError(f"not an e-mail address: {email!r}")
    return cleaned


def create_user(session: Session, email: str, role: str, password: str) -> User:
    """Add a user; raises ``AccountError`` for a bad e-mail, role, password or duplicate."""
    address = normalise_email(email)
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    try:
        check_strength(password)
    except ValueError as problem:
        raise AccountError(str(problem)) from problem
    if session.scalar(select(User).where(User.email == address)) is not None:
        raise AccountError(f"a user with e-mail {address} already exists")
    user = User(email=address, role=role, password_hash=hash_password(password))
    session.add(user)
    session.flush()
    return user


def set_password(session: Session, user: User, password: str) -> None:
    """Replace a user's password (and lift any lock)."""
    try:
        check_strength(password)
    except ValueError as problem:
        raise AccountError(str(problem)) from problem
    user.password_hash = hash_password(password)
    user.failed_logins, user.locked_until = 0, None


def lock_after(failures: int) -> timedelta:
    """How long sign-in is refused after ``failures`` consecutive failures (doubling)."""
    if failures < FREE_ATTEMPTS:
        return timedelta(0)
    exponent = min(failures - FREE_ATTEMPTS + 1, 20)  # 2**20 s is far beyond MAX_LOCK
    return min(MAX_LOCK, timedelta(seconds=2 ** exponent))


def authenticate(session: Session, email: str, password: str,
                 now: datetime | None = None) -> LoginResult:
    """Check an e-mail and password; count failures and lock the account for a while."""
    now = now or datetime.now(UTC)
    try:
        address = normalise_email(email)
    except AccountError:
        verify_password(_DUMMY_HASH, password)
        return LoginResult(None)
    user = session.scalar(select(User).where(func.lower(User.email) == address))
    if user is None or not user.active:
        verify_password(_DUMMY_HASH, password)
        return LoginResult(None)
    locked_until = _aware(user.locked_until)
    if locked_until is not None and locked_until > now:
        return LoginResult(None, locked_until - now)
    if not verify_password(user.password_hash, password):
        user.failed_logins += 1
        wait = lock_after(user.failed_logins)
        user.locked_until = now + wait if wait else None
        return LoginResult(None, wait or None)
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.failed_logins, user.locked_until, user.last_login_at = 0, None, now
    return LoginResult(user)


def _aware(moment: datetime | None) -> datetime | None:
    """SQLite returns naive datetimes: they are UTC."""
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment
