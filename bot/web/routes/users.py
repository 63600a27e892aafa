"""Admin pages for staff accounts: list users, add one, and per user change the role,
disable or enable, reset the password and lift a sign-in lock.

The rules (strength, e-mail form, the last active admin, nobody demotes or disables
themselves) live in ``bot.accounts.users`` and are the CLI's too; these routes only turn
their ``AccountError`` into a message on the page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.accounts.passwords import RULES
from bot.accounts.users import (
    AccountError,
    change_role,
    create_user,
    live_token_counts,
    locked_until,
    set_active,
    set_password,
    unlock,
)
from bot.audit.trail import Action, Actor, record
from bot.store.review_models import ROLES, User
from bot.web.auth import Admin
from bot.web.render import render
from bot.web.routes.review_common import DbSession, admin_router, flash

router = admin_router()
USERS_PATH = "/review/admin/users"
ACCOUNT_PATH = "/review/account/password"
NO_USER = "There is no user with this number."
#: Longer e-mails and roles are cut before they are shown again (passwords are not cut:
#: the strength rules refuse long ones).
MAX_FIELD = 1024
ROLE_HELP = {"admin": "can do everything, including managing users and launching "
                      "consultations",
             "reviewer": "can read, tag, theme and export answers"}
NOT_THE_SAME = "the two passwords are not the same"


@dataclass(frozen=True)
class UserRow:
    """A user as the list shows them."""

    user: User
    locked_until: datetime | None
    tokens: int


def sentence(problem: AccountError | str) -> str:
    """An account rule's message as a sentence (capital first letter, full stop)."""
    text = str(problem).strip()
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def _rows(session: Session) -> list[UserRow]:
    tokens = live_token_counts(session)
    return [UserRow(user, locked_until(user), tokens.get(user.id, 0))
            for user in session.scalars(select(User).order_by(User.email))]


def _list_page(request: Request, session: Session, *, email: str = "", role: str = "reviewer",
               error: AccountError | None = None, status_code: int = 200) -> HTMLResponse:
    return render(request, "users.html", {
        "rows": _rows(session), "roles": ROLES, "role_help": ROLE_HELP, "password_rules": RULES,
        "form": {"email": email, "role": role if role in ROLES else "reviewer"},
        "error": sentence(error) if error else None,
        "error_field": error.field if error else None}, status_code=status_code)


def _target(session: Session, user_id: int) -> User:
    """The user with this id, or a 404."""
    found = session.get(User, user_id) if 0 < user_id < 2 ** 31 else None
    if found is None:
        raise HTTPException(status_code=404, detail=NO_USER)
    return found


def _user_page(request: Request, target: User, admin: Admin, session: Session, *,
               error: AccountError | None = None, status_code: int = 200) -> HTMLResponse:
    return render(request, "user.html", {
        "target": target, "own": target.id == admin.id, "roles": ROLES,
        "role_help": ROLE_HELP, "password_rules": RULES, "locked_until": locked_until(target),
        "tokens": live_token_counts(session).get(target.id, 0),
        "error": sentence(error) if error else None,
        "error_field": error.field if error else None}, status_code=status_code)


def _to_user(target: User) -> RedirectResponse:
    return RedirectResponse(f"{USERS_PATH}/{target.id}", status_code=303)


@router.get("/admin/users", response_class=HTMLResponse)
def users(request: Request, session: DbSession, _admin: Admin) -> HTMLResponse:
    """Every user with role, status, sign-in lock, last sign-in and live API tokens."""
    return _list_page(request, session)


@router.post("/admin/users", response_class=HTMLResponse)
def create(request: Request, session: DbSession, admin: Admin,
           email: Annotated[str, Form()] = "", role: Annotated[str, Form()] = "",
           password: Annotated[str, Form()] = "",
           password_again: Annotated[str, Form()] = "") -> Response:
    """Add a user with the initial password the admin typed (twice)."""
    email, role = email[:MAX_FIELD], role[:MAX_FIELD]
    try:
        if password != password_again:
            raise AccountError(NOT_THE_SAME, "password_again")
        made = create_user(session, email, role, password)
    except AccountError as problem:
        return _list_page(request, session, email=email, role=role, error=problem,
                          status_code=400)
    record(session, Actor.staff(admin), Action.USER_CREATE, made.email, role=made.role)
    flash(request, f"Added {made.email} as {made.role}. Give them their password in a safe "
                   "way; they can replace it under “Change password” once signed in.")
    return RedirectResponse(USERS_PATH, status_code=303)


@router.get("/admin/users/{user_id}", response_class=HTMLResponse)
def manage(user_id: int, request: Request, session: DbSession, admin: Admin) -> HTMLResponse:
    """One user's details and the forms that change them."""
    return _user_page(request, _target(session, user_id), admin, session)


@router.post("/admin/users/{user_id}/role", response_class=HTMLResponse)
def role(user_id: int, request: Request, session: DbSession, admin: Admin,
         new_role: Annotated[str, Form(alias="role")] = "") -> Response:
    """Make the user an admin or a reviewer (never oneself, never the last active admin)."""
    target = _target(session, user_id)
    try:
        changed = change_role(session, target, new_role[:MAX_FIELD], by=admin.id)
    except AccountError as problem:
        return _user_page(request, target, admin, session, error=problem, status_code=400)
    if changed:
        record(session, Actor.staff(admin), Action.USER_ROLE, target.email, role=target.role)
    flash(request, f"{target.email} is now {target.role}." if changed
          else f"{target.email} was already {target.role}: nothing changed.")
    return _to_user(target)


@router.post("/admin/users/{user_id}/disable", response_class=HTMLResponse)
def disable(user_id: int, request: Request, session: DbSession,
            admin: Admin) -> Response:
    """Stop the user signing in and revoke their API tokens (their work is kept)."""
    target = _target(session, user_id)
    try:
        revoked = set_active(session, target, False, by=admin.id)
    except AccountError as problem:
        return _user_page(request, target, admin, session, error=problem, status_code=400)
    record(session, Actor.staff(admin), Action.USER_DISABLE, target.email, tokens_revoked=revoked)
    flash(request, f"Disabled {target.email}: they can no longer sign in. Revoked {revoked} "
                   f"API token{'' if revoked == 1 else 's'}.")
    return _to_user(target)


@router.post("/admin/users/{user_id}/enable")
def enable(user_id: int, request: Request, session: DbSession,
           admin: Admin) -> RedirectResponse:
    """Let a disabled user sign in again (their revoked API tokens stay revoked)."""
    target = _target(session, user_id)
    if target.active:
        flash(request, f"{target.email} was already enabled: nothing changed.")
    else:
        set_active(session, target, True)
        record(session, Actor.staff(admin), Action.USER_ENABLE, target.email)
        flash(request, f"Enabled {target.email}: they can sign in again. Their old API "
                       "tokens stay revoked.")
    return _to_user(target)


@router.post("/admin/users/{user_id}/password", response_class=HTMLResponse)
def reset_password(user_id: int, request: Request, session: DbSession, admin: Admin,
                   password: Annotated[str, Form()] = "",
                   password_again: Annotated[str, Form()] = "",
                   ) -> Response:
    """Set a new password for the user and lift any sign-in lock."""
    target = _target(session, user_id)
    if target.id == admin.id:
        flash(request, "Change your own password here: it asks for your current one.",
              "error")
        return RedirectResponse(ACCOUNT_PATH, status_code=303)
    was_locked = locked_until(target) is not None
    try:
        if password != password_again:
            raise AccountError(NOT_THE_SAME, "password_again")
        set_password(session, target, password)
    except AccountError as problem:
        return _user_page(request, target, admin, session, error=problem, status_code=400)
    record(session, Actor.staff(admin), Action.USER_PASSWORD_RESET, target.email)
    flash(request, f"Set a new password for {target.email}"
                   + (" and lifted the sign-in lock" if was_locked else "")
                   + ". Give it to them in a safe way.")
    return _to_user(target)


@router.post("/admin/users/{user_id}/unlock")
def unlock_user(user_id: int, request: Request, session: DbSession,
                admin: Admin) -> RedirectResponse:
    """Lift the lock that failed sign-ins put on the account."""
    target = _target(session, user_id)
    was_locked = locked_until(target) is not None
    unlock(target)
    record(session, Actor.staff(admin), Action.USER_UNLOCK, target.email, was_locked=was_locked)
    flash(request, f"Unlocked {target.email}: they can sign in again at once." if was_locked
          else f"{target.email} was not locked; their count of failed sign-ins is reset.")
    return _to_user(target)
