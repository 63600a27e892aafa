"""A database of the installation (the app store, or a separate tracker store): which
engine it is, whether it is empty, backing it up and restoring it.

SQLite and PostgreSQL are supported; a backup restores into the engine it was taken
from (a SQLite backup cannot be restored into PostgreSQL, nor the reverse).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.util import CommandError
from sqlalchemy import MetaData, create_engine, func, inspect, select
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from bot.backup import BackupError, postgres, sqlite
from bot.backup.progress import Progress
from bot.store.db import alembic_config, engine_for, normalise_url

SQLITE = "sqlite"
POSTGRESQL = "postgresql"
SUFFIXES = {SQLITE: ".sqlite3", POSTGRESQL: ".pgdump"}
#: Alembic's bookkeeping: present in an empty but migrated database.
BOOKKEEPING = frozenset({"alembic_version"})


def engine_name(url: str) -> str:
    """``sqlite`` or ``postgresql``.

    Raises:
        BackupError: another engine, or a URL that cannot be read.
    """
    try:
        backend = make_url(url).get_backend_name()
    except Exception:
        raise BackupError(f"cannot read the database URL {url.split('@')[-1]!r}") from None
    if backend not in (SQLITE, POSTGRESQL):
        raise BackupError(f"backups support SQLite and PostgreSQL, not {backend}")
    return backend


def sqlite_file(url: str) -> Path:
    """The file of a SQLite URL.

    Raises:
        BackupError: an in-memory database.
    """
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up or restored")
    return Path(database).resolve()


def same_database(first: str, second: str) -> bool:
    """Whether two URLs (with or without a driver) name the same database."""
    a, b = make_url(first), make_url(second)
    if a.get_backend_name() != b.get_backend_name():
        return False
    if a.get_backend_name() == SQLITE:
        return sqlite_file(first) == sqlite_file(second)
    return (a.host or "localhost", a.port or 5432, a.database) == \
        (b.host or "localhost", b.port or 5432, b.database)


def back_up(url: str, target_stem: Path, progress: Progress, label: str) -> Path:
    """Back up the database at ``url`` into ``<target_stem>.sqlite3`` or ``.pgdump``."""
    engine = engine_name(url)
    target = target_stem.with_name(target_stem.name + SUFFIXES[engine])
    if engine == SQLITE:
        sqlite.snapshot(sqlite_file(url), target, progress, label)
    else:
        postgres.dump(url, target)
    return target


def schema_revision(copy: Path) -> str | None:
    """The Alembic revision recorded in a backed-up database."""
    if copy.suffix == SUFFIXES[SQLITE]:
        return sqlite.schema_revision(copy)
    return postgres.schema_revision(copy)


@dataclass(frozen=True)
class Contents:
    """What a target database holds already.

    Attributes:
        tables: its tables, Alembic's bookkeeping left out.
        with_rows: those that hold at least one row.
    """

    tables: tuple[str, ...] = ()
    with_rows: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        """No tables at all."""
        return not self.tables


def contents(url: str) -> Contents:
    """The tables of the database at ``url`` and which hold rows (a missing SQLite file
    is empty and is not created)."""
    if engine_name(url) == SQLITE and not sqlite_file(url).exists():
        return Contents()
    engine = create_engine(normalise_url(url), poolclass=NullPool)
    try:
        with engine.connect() as connection:
            metadata = MetaData()
            metadata.reflect(connection)
            tables = sorted(set(metadata.tables) - BOOKKEEPING)
            with_rows = [name for name in tables if connection.execute(
                select(func.count()).select_from(metadata.tables[name])).scalar_one()]
    except BackupError:
        raise
    except Exception as exc:
        raise BackupError(f"cannot open the target database {postgres.where(url)}: "
                          f"{str(exc).splitlines()[0]}") from None
    finally:
        engine.dispose()
    return Contents(tuple(tables), tuple(with_rows))


def clear_empty_schema(url: str) -> None:
    """Empty the (checked empty) database at ``url`` so a backup fits in.

    The migrations take down what they made (tables, and on PostgreSQL the functions and
    triggers some of them add); tables they do not know (Rasa's) are dropped after.
    """
    if "alembic_version" in table_names(url):
        config = alembic_config(url)
        try:
            command.downgrade(config, "base")
        except CommandError as exc:
            raise BackupError(f"cannot empty the target database: {exc}") from None
        finally:
            engine_for(url).dispose()
    engine = create_engine(normalise_url(url), poolclass=NullPool)
    try:
        with engine.begin() as connection:
            metadata = MetaData()
            metadata.reflect(connection)
            metadata.drop_all(connection)
    finally:
        engine.dispose()


def table_names(url: str) -> set[str]:
    """Every table name of the database at ``url``, Alembic's included."""
    engine = create_engine(normalise_url(url), poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return set(inspect(connection).get_table_names())
    finally:
        engine.dispose()


def restore(copy: Path, url: str) -> None:
    """Restore a backed-up database into the empty database at ``url``.

    Raises:
        BackupError: the copy is of another engine than ``url``.
    """
    engine = engine_name(url)
    if copy.suffix != SUFFIXES[engine]:
        raise BackupError(f"{copy.name} cannot be restored into {engine}: a backup restores "
                          "into the engine it was taken from")
    if engine == SQLITE:
        sqlite.put_in_place(copy, sqlite_file(url))
        # This process's pooled connections still read the file that was replaced.
        engine_for(url).dispose()
    else:
        postgres.restore(copy, url)

