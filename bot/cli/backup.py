"""``codesign backup`` and ``codesign restore``: the whole installation, online."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import typer

from bot.audit.trail import Action, Actor, record
from bot.backup import BackupError
from bot.backup.installation import Installation
from bot.backup.progress import Advance, size
from bot.cli.common import fail, store

T = TypeVar("T")
#: Copies smaller than this get no progress bar.
BAR_FROM_BYTES = 20 * 1024 * 1024


class StderrProgress:
    """A line per part on stderr, and a bar for big copies when stderr is a terminal."""

    def part(self, message: str) -> None:
        """Print one line."""
        typer.echo(f"  {message}", err=True)

    @contextmanager
    def bar(self, label: str, total: int) -> Iterator[Advance]:
        """A rich progress bar of ``total`` bytes (nothing for small copies)."""
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        console = Console(stderr=True)
        if total < BAR_FROM_BYTES or not console.is_terminal:
            yield lambda _done: None
            return
        with Progress(TextColumn(f"  {label}"), BarColumn(), DownloadColumn(),
                      TimeRemainingColumn(), console=console, transient=True) as progress:
            task = progress.add_task(label, total=total)
            yield lambda done: progress.advance(task, done)


INCLUDED = (
    "It holds: the app database (consultations, answers, transcripts, staff accounts, the "
    "knowledge passages and index generations, the Telegram bridge's state; SQLite "
    "through its online backup API, PostgreSQL through pg_dump); Rasa's tracker store "
    "(the conversations: inside the app database on the default set-up, or its own "
    "database when RASA_TRACKER_URL names another); the live knowledge index and the "
    "uploaded documents under the data folder; and the secrets scripts/env.sh keeps in "
    "the data folder (secret.key, rasa-auth.token, action-server.token). The secret key "
    "keys the participants' pseudonyms and the sealed Telegram chat ids: without it the "
    "data cannot be matched to citizens.\n\n"
    "A backup therefore holds personal data and secrets: store it encrypted and readable "
    "by as few people as possible (its files are private to you)."
)

BACKUP_HELP = (
    "Back up the whole installation into the folder PATH, while the bot runs.\n\n"
    "Safe while citizens are chatting: each database is copied as one consistent snapshot "
    "and nobody waits. The installation is the one the environment names, as for every "
    "command (DATABASE_URL, RASA_TRACKER_URL, CODESIGN_VAR_DIR, CODESIGN_SECRET_KEY). The "
    "backup is written as PATH.part and renamed to PATH when complete, with a "
    "manifest.json holding the schema revision and every file's SHA-256. PostgreSQL needs "
    "pg_dump (Debian: postgresql-client) at least as new as the server.\n\n" + INCLUDED
)

RESTORE_HELP = (
    "Restore a backup into an EMPTY installation, then migrate it to this version.\n\n"
    "The target is the installation the environment names (DATABASE_URL, "
    "RASA_TRACKER_URL, CODESIGN_VAR_DIR): a new, empty database (create it first on "
    "PostgreSQL) and an empty data folder. Every file's checksum is verified before "
    "anything is written. A backup restores into the engine it was taken from (not SQLite "
    "into PostgreSQL). If the backed-up installation took CODESIGN_SECRET_KEY from its "
    "environment, set it to the same key. PostgreSQL needs pg_restore (Debian: "
    "postgresql-client). Stop the bot before restoring and start it afterwards.\n\n"
    + INCLUDED
)


def _carry_out(heading: str, work: Callable[[Installation, StderrProgress], T]) -> T:
    """Run ``work`` on the environment's installation; a ``BackupError`` is a clean error."""
    typer.echo(heading, err=True)
    try:
        return work(Installation.from_env(), StderrProgress())
    except BackupError as exc:
        fail(str(exc))


def backup(
    path: Path = typer.Argument(..., help="The backup folder to create."),
    force: bool = typer.Option(False, "--force", help="Replace an existing backup at PATH."),
) -> None:
    """Back up the whole installation into the folder PATH (see BACKUP_HELP)."""
    from bot.backup.take import take_backup

    made = _carry_out(f"backing up into {path}", lambda installation, progress: take_backup(
        installation, path, progress, force=force))
    total = sum(entry.bytes for entry in made.files.values())
    with store() as session:  # after the snapshot: the backup does not hold its own entry
        record(session, Actor.cli(), Action.BACKUP, path.name, files=len(made.files),
               bytes=total, schema=made.app_schema_revision)
    typer.echo(f"backup complete: {path} ({len(made.files)} files, {size(total)}, schema "
               f"{made.app_schema_revision}). It holds personal data and secrets: store it "
               "encrypted, readable by as few people as possible.", err=True)


def restore(
    path: Path = typer.Argument(..., help="A backup folder made by `codesign backup`."),
    force: bool = typer.Option(False, "--force",
                               help="Also restore into a database that has the tables but "
                                    "no rows (e.g. after `codesign migrate`); a database "
                                    "holding data is always refused."),
) -> None:
    """Restore a backup into an empty installation (see RESTORE_HELP)."""
    from bot.backup.restore import restore_backup

    done = _carry_out(f"restoring {path}", lambda installation, progress: restore_backup(
        installation, path, progress, force=force))
    with store() as session:  # recorded in the restored installation's trail
        record(session, Actor.cli(), Action.RESTORE, path.name, schema=done.revision)
    typer.echo(f"restore complete (schema {done.revision}); start the bot as usual",
               err=True)


def register(app: typer.Typer) -> None:
    """Add ``backup`` and ``restore`` to the ``codesign`` command."""
    app.command(help=BACKUP_HELP)(backup)
    app.command(help=RESTORE_HELP)(restore)
