"""Staff users: creating and changing them (with the rules the CLI and the web share), and
signing them in, with failed logins slowed down."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.accounts.passwords import check_strength, hash_password, needs_rehash, verify_password
from bot.accounts.tokens import revoke_tokens
from bot.store.models import as_utc
from bot.store.review_models import ROLES, ApiToken, User

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
FREE_ATTEMPTS = 5
MAX_LOCK = timedelta(minutes=15)
# Verifying against this keeps a login for an unknown e-mail as slow as for a known one.
_DUMMY_HASH = hash_password("not-a-real-password-0")


class AccountError(ValueError):
    """A user cannot be created or changed as asked (the message says why).

    Attributes:
        field: the form field the problem is about (``email``, ``role``, ``password``;
            ``current``, ``new``, ``repeated`` when changing one's own password), or None
            when it is about the account as a whole.
    """

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class LoginResult:
    """The signed-in user, or why not (``locked_for`` when slowed down)."""

    user: User | None
    locked_for: timedelta | None = None


def normalise_email(email: str) -> str:
    """Trimmed, lower-cased e-mail; raises ``AccountError`` when it is not one."""
    cleaned = email.strip().lower()
    if not EMAIL_RE.match(cleaned) or len(cleaned) > 254:
        raise AccountError(f"not an e-mail address: {email!r}", "email")
    return cleaned


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}, not {role!r}", "role")


def _check_strength(password: str, field: str = "password") -> None:
    try:
        check_strength(password)
    except ValueError as problem:
        raise AccountError(str(problem), field) from problem


def find_user(session: Session, email: str) -> User | None:
    """The user with this e-mail (normalised first), or None.

    Raises:
        AccountError: when ``email`` is not an e-mail address.
    """
    return session.scalar(select(User).where(User.email == normalise_email(email)))


def create_user(session: Session, email: str, role: str, password: str) -> User:
    """Add a user; raises ``AccountError`` for a bad e-mail, role, password or duplicate."""
    address = normalise_email(email)
    _check_role(role)
    _check_strength(password)
    if session.scalar(select(User).where(User.email == address)) is not None:
        raise AccountError(f"a user with e-mail {address} already exists", "email")
    user = User(email=address, role=role, password_hash=hash_password(password))
    session.add(user)
    session.flush()
    return user


def set_password(session: Session, user: User, password: str) -> None:
    """Replace a user's password (and lift any lock)."""
    _check_strength(password)
    user.password_hash = hash_password(password)
    user.failed_logins, user.locked_until = 0, None


def active_admins(session: Session) -> int:
    """How many admins can sign in."""
    return session.scalar(select(func.count()).select_from(User).where(
        User.role == "admin", User.active.is_(True))) or 0


def is_last_active_admin(session: Session, user: User) -> bool:
    """Whether ``user`` is the only admin who can still sign in."""
    return user.role == "admin" and user.active and active_admins(session) <= 1


def _keep_an_admin(session: Session, user: User, change: str, field: str | None = None) -> None:
    if is_last_active_admin(session, user):
        raise AccountError(f"the last active admin ({user.email}) cannot be {change}: nobody "
                           "would be left to manage users (make another user an admin first)",
                           field)


def change_role(session: Session, user: User, role: str, *, by: int | None = None) -> bool:
    """Give ``user`` another role; returns whether it changed.

    Args:
        session: the store.
        user: the user to change.
        role: ``admin`` or ``reviewer``.
        by: the id of the admin making the change (they cannot demote themselves).

    Raises:
        AccountError: for an unknown role, a change of one's own role, or demoting the
            last active admin.
    """
    _check_role(role)
    if role == user.role:
        return False
    if role != "admin":
        _keep_an_admin(session, user, "demoted", "role")
    if by is not None and by == user.id:
        raise AccountError("you cannot change your own role: ask another admin", "role")
    user.role = role
    return True


def set_active(session: Session, user: User, active: bool, *, by: int | None = None,
               keep_an_admin: bool = True) -> int:
    """Enable or disable ``user``; disabling also revokes their API tokens.

    A disabled user cannot sign in or use tokens, and open sessions end at their next
    request; everything they did is kept.

    Args:
        session: the store.
        user: the user to change.
        active: True to enable, False to disable.
        by: the id of the admin making the change (they cannot disable themselves).
        keep_an_admin: refuse to disable the last active admin (the CLI, which can always
            create a new admin, turns this off).

    Returns:
        How many live API tokens were revoked.

    Raises:
        AccountError: when disabling oneself or the last active admin.
    """
    if active:
        user.active = True
        return 0
    if keep_an_admin:
        _keep_an_admin(session, user, "disabled")
    if by is not None and by == user.id:
        raise AccountError("you cannot disable your own account: ask another admin")
    user.active = False
    return revoke_tokens(session, user)


def live_token_counts(session: Session) -> dict[int, int]:
    """How many unrevoked API tokens each user has (users without any are left out)."""
    rows = session.execute(select(ApiToken.user_id, func.count()).where(
        ApiToken.revoked.is_(False)).group_by(ApiToken.user_id)).all()
    return {user_id: count for user_id, count in rows}


def locked_until(user: User, now: datetime | None = None) -> datetime | None:
    """When the user's sign-in lock (after failed sign-ins) ends, or None when unlocked."""
    until = as_utc(user.locked_until) if user.locked_until is not None else None
    return until if until is not None and until > (now or datetime.now(UTC)) else None


def unlock(user: User) -> None:
    """Lift the lock that failed sign-ins put on the account and forget those failures."""
    user.failed_logins, user.locked_until = 0, None


def _count_failure(user: User, now: datetime) -> timedelta | None:
    """Count a wrong password; returns the lock it starts (None below the free attempts)."""
    user.failed_logins += 1
    wait = lock_after(user.failed_logins)
    user.locked_until = now + wait if wait else None
    return wait or None


def _wait_text(wait: timedelta) -> str:
    seconds = max(1, math.ceil(wait.total_seconds()))
    return f"{seconds} second{'' if seconds == 1 else 's'}"


def change_own_password(session: Session, user: User, current: str, new: str,
                        repeated: str, now: datetime | None = None) -> None:
    """A signed-in user replaces their password, proving they know the current one.

    Wrong current passwords count as failed sign-ins (the same slow-down), so a borrowed
    session cannot be used to guess the password.

    Raises:
        AccountError: when the current password is missing, wrong or locked, or the new
            one is weak, typed differently twice, or the same as the current one.
    """
    now = now or datetime.now(UTC)
    if not current:
        raise AccountError("type your current password", "current")
    wait = locked_until(user, now)
    if wait is not None:
        raise AccountError("too many wrong passwords: please try again in "
                           f"{_wait_text(wait - now)}", "current")
    if new != repeated:
        raise AccountError("the two new passwords are not the same", "repeated")
    _check_strength(new, "new")
    if not verify_password(user.password_hash, current):
        lock = _count_failure(user, now)
        message = "the current password is not right"
        if lock is not None:
            message += f" (too many wrong passwords: please wait {_wait_text(lock)})"
        raise AccountError(message, "current")
    if new == current:
        raise AccountError("the new password must be different from the current one", "new")
    set_password(session, user, new)


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
    until = locked_until(user, now)
    if until is not None:
        return LoginResult(None, until - now)
    if not verify_password(user.password_hash, password):
        return LoginResult(None, _count_failure(user, now))
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.failed_logins, user.locked_until, user.last_login_at = 0, None, now
    return LoginResult(user)

