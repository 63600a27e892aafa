"""``codesign users``: staff accounts of the review area (admins and reviewers)."""

from __future__ import annotations

import sys

import typer
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.audit.trail import Action, Actor, record
from bot.cli.common import fail, store
from bot.store.review_models import ROLES, User

app = typer.Typer(help="Staff accounts of the review area: admin (everything) or reviewer "
                       "(read, tag, theme, export).", no_args_is_help=True)


def _read_password(from_stdin: bool) -> str:
    """The new password: first line of standard input, or typed twice at a hidden prompt."""
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            fail("no password on standard input")
        return password
    if not sys.stdin.isatty():
        fail("no terminal to ask for a password: pipe it in with --password-stdin")
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


def _user(session: Session, email: str) -> User:
    """The user with this e-mail, or exit with a clear error."""
    from bot.accounts.users import AccountError, find_user, normalise_email

    try:
        user = find_user(session, email)
    except AccountError as problem:
        fail(str(problem))
    if user is None:
        fail(f"no user {normalise_email(email)} (see `codesign users list`)")
    return user


@app.command()
def create(
    email: str = typer.Argument(..., help="The person's work e-mail (their login)."),
    role: str = typer.Option("reviewer", "--role", "-r", help=f"One of: {', '.join(ROLES)}."),
    password_stdin: bool = typer.Option(False, "--password-stdin",
                                        help="Read the password from standard input "
                                             "(for scripts) instead of prompting."),
) -> None:
    """Create a user (the first admin is made this way). Passwords: at least 12 characters."""
    from bot.accounts.users import AccountError, create_user

    password = _read_password(password_stdin)
    with store() as session:
        try:
            user = create_user(session, email, role, password)
        except AccountError as problem:
            fail(str(problem))
        record(session, Actor.cli(), Action.USER_CREATE, user.email, role=user.role)
        typer.echo(f"created {user.role} {user.email}")


@app.command("list")
def list_users() -> None:
    """List users with their role and last sign-in."""
    with store() as session:
        users = session.scalars(select(User).order_by(User.email)).all()
        if not users:
            typer.echo("no users yet: create the first admin with "
                       "`codesign users create EMAIL --role admin`")
        for user in users:
            state = "active" if user.active else "disabled"
            last = user.last_login_at.strftime("%Y-%m-%d %H:%M") if user.last_login_at else "never"
            typer.echo(f"{user.email:40} {user.role:9} {state:9} last sign-in: {last}")


@app.command("set-password")
def set_password_command(
    email: str = typer.Argument(..., help="The user's e-mail."),
    password_stdin: bool = typer.Option(False, "--password-stdin",
                                        help="Read the password from standard input."),
) -> None:
    """Set a new password (also unlocks an account locked by failed sign-ins)."""
    from bot.accounts.users import AccountError, set_password

    password = _read_password(password_stdin)
    with store() as session:
        try:
            user = _user(session, email)
            set_password(session, user, password)
        except AccountError as problem:
            fail(str(problem))
        record(session, Actor.cli(), Action.USER_PASSWORD_RESET, user.email)
        typer.echo("password changed")


@app.command()
def disable(email: str = typer.Argument(..., help="The user's e-mail.")) -> None:
    """Stop a user signing in or using API tokens (their work is kept)."""
    from bot.accounts.users import active_admins, set_active

    with store() as session:
        user = _user(session, email)
        # The shell can always create a new admin, so the CLI may disable the last one.
        revoked = set_active(session, user, False, keep_an_admin=False)
        record(session, Actor.cli(), Action.USER_DISABLE, user.email, tokens_revoked=revoked)
        typer.echo(f"disabled {user.email}; revoked {revoked} API token(s)")
        if active_admins(session) == 0:
            typer.echo("warning: no active admin is left: create one with "
                       "`codesign users create EMAIL --role admin`", err=True)


@app.command()
def token(
    email: str = typer.Argument(..., help="The user the token acts as."),
    name: str = typer.Option("api", "--name", help="What the token is for (shown in lists)."),
) -> None:
    """Issue a personal API token (printed once; store it safely)."""
    from bot.accounts.tokens import issue_token

    with store() as session:
        user = _user(session, email)
        if not user.active:
            fail(f"{user.email} is disabled")
        typer.echo(issue_token(session, user, name))
        record(session, Actor.cli(), Action.TOKEN_CREATE, name, user=user.email)


@app.command("tokens")
def list_user_tokens(email: str = typer.Argument(..., help="The user's e-mail.")) -> None:
    """List a user's API tokens: number, name, created, last used, live or revoked."""
    from bot.accounts.tokens import list_tokens

    with store() as session:
        user = _user(session, email)
        rows = list_tokens(session, user)
        if not rows:
            typer.echo(f"{user.email} has no API tokens")
        for row in rows:
            last = row.last_used_at.strftime("%Y-%m-%d %H:%M") if row.last_used_at else "never"
            typer.echo(f"{row.id:>6}  {row.name:30} created {row.created_at:%Y-%m-%d %H:%M}  "
                       f"last used: {last:16}  {'revoked' if row.revoked else 'live'}")


@app.command("revoke-token")
def revoke_user_token(
    email: str = typer.Argument(..., help="The user whose token it is."),
    token_id: int = typer.Argument(..., help="The token's number (see `codesign users tokens`)."),
) -> None:
    """Revoke one of a user's API tokens (programs using it get 401 from then on)."""
    from bot.accounts.tokens import revoke_token

    with store() as session:
        user = _user(session, email)
        row = revoke_token(session, user, token_id)
        if row is None:
            fail(f"{user.email} has no API token {token_id} (see `codesign users tokens`)")
        record(session, Actor.cli(), Action.TOKEN_REVOKE, row.name, token=row.id, user=user.email)
        typer.echo(f"revoked the token {row.id} “{row.name}” of {user.email}")
