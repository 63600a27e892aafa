"""SQLite databases: a consistent copy of a live database, and putting one in place.

The copy uses SQLite's online backup API from a connection that holds a read
transaction for the whole copy: in WAL mode writers carry on meanwhile, and the copy is
the database as it was when that transaction began (without it, every write by the bot
would restart the backup from the first page).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path

from bot.backup import BackupError
from bot.backup.files import FILE_MODE, new_private_file
from bot.backup.progress import Progress

#: Pages copied per step of the backup API (4 MB with SQLite's default page size).
STEP_PAGES = 1024
SIDE_FILES = ("-wal", "-shm", "-journal")


def snapshot(source: Path, target: Path, progress: Progress, label: str) -> int:
    """Copy the live database ``source`` into a new private file ``target``.

    Returns:
        The copy's size in bytes.

    Raises:
        BackupError: ``source`` is missing or not a database.
    """
    if not source.is_file():
        raise BackupError(f"the SQLite database {source} does not exist")
    new_private_file(target)
    reading = sqlite3.connect(source, isolation_level=None, timeout=30)
    writing = sqlite3.connect(target)
    try:
        reading.execute("BEGIN")  # the snapshot the whole copy is taken from
        page_size = reading.execute("PRAGMA page_size").fetchone()[0]
        pages = reading.execute("PRAGMA page_count").fetchone()[0]
        with progress.bar(label, pages * page_size) as advance:
            done = [0]

            def step(_status: int, remaining: int, total: int) -> None:
                advance((total - remaining - done[0]) * page_size)
                done[0] = total - remaining

            reading.backup(writing, pages=STEP_PAGES, progress=step)
        reading.execute("COMMIT")
        # A plain file: no write-ahead log next to it in the backup.
        writing.execute("PRAGMA journal_mode=DELETE")
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"cannot back up {source}: {exc}") from None
    finally:
        writing.close()
        reading.close()
    return target.stat().st_size


def schema_revision(path: Path) -> str | None:
    """The Alembic revision recorded in a database file; None when it has none."""
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.OperationalError:
        return None
    finally:
        connection.close()
    return str(row[0]) if row else None


def put_in_place(copy: Path, target: Path) -> None:
    """Make the backed-up database ``copy`` the database at ``target``.

    Any empty database already at ``target`` (checked by the caller) is replaced along
    with its WAL files; the new file is private and appears in one step.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.restoring")
    with contextlib.suppress(FileNotFoundError):
        partial.unlink()
    new_private_file(partial)
    source = sqlite3.connect(f"file:{copy}?mode=ro", uri=True)
    writing = sqlite3.connect(partial)
    try:
        source.backup(writing)
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"cannot restore {copy}: {exc}") from None
    finally:
        writing.close()
        source.close()
    for suffix in SIDE_FILES:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(f"{target}{suffix}")
    os.replace(partial, target)
    target.chmod(FILE_MODE)
