"""Helpers shared by CLI commands: settings, database access, error output."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import typer
from sqlalchemy.orm import Session

from bot.config import default_database_url
from bot.store.db import migrate, session_scope


def database_url() -> str:
    """``DATABASE_URL`` or the embedded default."""
    import os

    return os.environ.get("DATABASE_URL") or default_database_url()


def migrated_database_url() -> str:
    """``database_url()`` with its schema brought up to date (exits with a clear error
    when the database cannot be opened)."""
    url = database_url()
    try:
        migrate(url)
    except Exception as exc:  # connection refused, bad URL, ...
        fail(f"cannot open the database {url.split('@')[-1]}: {exc}")
    return url


@contextmanager
def store() -> Iterator[Session]:
    """A migrated database session for one command."""
    with session_scope(migrated_database_url()) as session:
        yield session


def fail(message: str, code: int = 1) -> NoReturn:
    """Print an error to stderr and exit."""
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    raise typer.Exit(code)
