"""PostgreSQL databases: ``pg_dump`` (custom format) and ``pg_restore``.

pg_dump takes its own consistent snapshot of the database (one transaction), so the bot
keeps writing meanwhile. The password travels in ``PGPASSWORD``, never on the command
line. pg_dump refuses a server newer than itself, so its major version is checked first.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import NullPool

from bot.backup import BackupError
from bot.backup.files import new_private_file
from bot.store.db import normalise_url

INSTALL_HINT = ("install the PostgreSQL client programs (Debian/Ubuntu: `sudo apt-get install "
                "postgresql-client`; for a newer server than your distribution's, "
                "postgresql-client-<major> from apt.postgresql.org)")


def tool(name: str) -> Path:
    """The path of ``pg_dump`` or ``pg_restore``.

    Raises:
        BackupError: it is not installed (the message says how to install it).
    """
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"{name} is not installed, and a PostgreSQL database needs it: "
                          f"{INSTALL_HINT}")
    return Path(found)


def tool_major(program: Path) -> int:
    """The major version of a PostgreSQL client program (``pg_dump (PostgreSQL) 15.4``)."""
    output = subprocess.run([str(program), "--version"], capture_output=True, text=True,
                            check=False, timeout=30).stdout
    match = re.search(r"\)\s*(\d+)", output)
    if match is None:
        raise BackupError(f"cannot tell the version of {program} from {output.strip()!r}")
    return int(match.group(1))


def server_major(url: str) -> int:
    """The major version of the PostgreSQL server at ``url``."""
    engine = create_engine(normalise_url(url), poolclass=NullPool)
    try:
        with engine.connect() as connection:
            number = int(connection.execute(text("SHOW server_version_num")).scalar_one())
    except Exception as exc:
        raise BackupError(f"cannot reach the PostgreSQL database {where(url)}: "
                          f"{str(exc).splitlines()[0]}") from None
    finally:
        engine.dispose()
    return number // 10000


def checked_tool(name: str, url: str) -> Path:
    """``tool(name)``, refused when it is older than the server at ``url``."""
    program = tool(name)
    mine, server = tool_major(program), server_major(url)
    if mine < server:
        raise BackupError(f"{program} is version {mine} but the server is PostgreSQL "
                          f"{server}; {name} must be at least as new as the server: "
                          f"{INSTALL_HINT.replace('<major>', str(server))}")
    return program


def where(url: str) -> str:
    """The URL without its password, for messages."""
    return make_url(url).render_as_string(hide_password=True)


def libpq(url: str) -> tuple[str, dict[str, str]]:
    """A libpq connection URI without the password, and the environment carrying it."""
    parsed = make_url(url)
    env = dict(os.environ)
    if parsed.password is not None:
        env["PGPASSWORD"] = str(parsed.password)
    uri = URL.create("postgresql", username=parsed.username, host=parsed.host,
                     port=parsed.port, database=parsed.database, query=parsed.query)
    return uri.render_as_string(hide_password=False), env


def _run(command: list[str], env: dict[str, str], what: str) -> None:
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        tail = "\n  ".join(result.stderr.strip().splitlines()[-8:])
        raise BackupError(f"{what} failed (exit {result.returncode}):\n  {tail}")


def dump(url: str, target: Path) -> int:
    """``pg_dump`` the database at ``url`` into a new private file; returns its size."""
    program = checked_tool("pg_dump", url)
    uri, env = libpq(url)
    new_private_file(target)
    _run([str(program), "--format=custom", "--no-password", f"--file={target}",
          f"--dbname={uri}"], env, f"pg_dump of {where(url)}")
    return target.stat().st_size


def schema_revision(dump_file: Path) -> str | None:
    """The Alembic revision in a dump (its ``alembic_version`` row); None without one."""
    result = subprocess.run([str(tool("pg_restore")), "--data-only", "--table=alembic_version",
                             "--file=-", str(dump_file)],
                            capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BackupError(f"cannot read {dump_file}: {result.stderr.strip()}")
    lines = result.stdout.splitlines()
    for index, line in enumerate(lines):
        if line.startswith("COPY ") and "alembic_version" in line and index + 1 < len(lines):
            value = lines[index + 1].strip()
            return None if value == "\\." else value
    return None


def restore(dump_file: Path, url: str) -> None:
    """``pg_restore`` a dump into the (empty) database at ``url``, in one transaction.

    Objects are owned by the user of ``url``, whatever owned them in the dump.
    """
    program = checked_tool("pg_restore", url)
    uri, env = libpq(url)
    _run([str(program), "--no-owner", "--no-privileges", "--exit-on-error",
          "--single-transaction", "--no-password", f"--dbname={uri}", str(dump_file)],
         env, f"pg_restore into {where(url)}")
