"""Checking the services the scaled mode needs before anything starts.

Each check either returns quietly or raises ``ServiceUnavailable`` with a message that
names the service, where it was looked for, what went wrong and how to get it.
"""

from __future__ import annotations

import socket
from urllib.parse import unquote, urlsplit

from sqlalchemy.engine import make_url

TIMEOUT = 3  # seconds


class ServiceUnavailable(RuntimeError):
    """A service is missing or unreachable; the message says which one and what to do."""


def _safe(url: str) -> str:
    """``url`` without its password, for messages."""
    return make_url(url).render_as_string(hide_password=True)


def check_postgres(url: str, create: bool = False) -> None:
    """Connect to the PostgreSQL database of ``url`` (creating it first when ``create``
    and it does not exist yet).

    Raises:
        ServiceUnavailable: not a PostgreSQL URL, unreachable, or refused.
    """
    import psycopg

    parsed = make_url(url)
    if not parsed.drivername.startswith("postgres"):
        raise ServiceUnavailable(
            f"DATABASE_URL is {_safe(url)}, but the scaled mode keeps the app store and the "
            "conversations in PostgreSQL (several processes and machines share them). Set "
            "DATABASE_URL=postgresql://user:password@host:5432/codesign.")
    dsn = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        psycopg.connect(dsn, connect_timeout=TIMEOUT).close()
        return
    except psycopg.OperationalError as exc:
        problem = str(exc).strip().splitlines()[-1] if str(exc).strip() else repr(exc)
        missing = "does not exist" in str(exc) and parsed.database
        if not (create and missing):
            hint = (f"create it (`createdb {parsed.database}`) or let `make run-scaled` "
                    "create it" if missing else
                    "install PostgreSQL (Debian: `apt-get install postgresql`), start it, "
                    "and set DATABASE_URL=postgresql://user:password@host:5432/codesign")
            raise ServiceUnavailable(f"PostgreSQL is not available at {_safe(url)}: "
                                     f"{problem}. To fix it, {hint}.") from exc
    admin = parsed.set(drivername="postgresql", database="postgres")
    try:
        with psycopg.connect(admin.render_as_string(hide_password=False),
                             connect_timeout=TIMEOUT, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{parsed.database}"')  # type: ignore[arg-type]
    except psycopg.Error as exc:
        raise ServiceUnavailable(
            f"PostgreSQL: the database {parsed.database!r} does not exist and could not be "
            f"created ({str(exc).strip()}); create it with `createdb {parsed.database}`."
        ) from exc


def check_redis(url: str) -> None:
    """Send PING (after AUTH when the URL has a password) to the Redis server of ``url``.

    Raises:
        ServiceUnavailable: a bad URL, unreachable, or it did not answer PONG.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss") or not parts.hostname:
        raise ServiceUnavailable(f"REDIS_URL must look like redis://host:6379/0, not {url!r}")
    where = f"{parts.hostname}:{parts.port or 6379}"
    hint = ("install Redis (Debian: `apt-get install redis-server`), start it, and set "
            "REDIS_URL=redis://host:6379/0 (the scaled mode's Rasa servers share their "
            "per-citizen locks there)")
    commands = []
    if parts.password:
        user = unquote(parts.username) if parts.username else None
        commands.append(["AUTH", *([user] if user else []), unquote(parts.password)])
    commands.append(["PING"])
    try:
        with socket.create_connection((parts.hostname, parts.port or 6379),
                                      timeout=TIMEOUT) as connection:
            for command in commands:
                connection.sendall(_resp(command))
                answer = connection.recv(256).decode(errors="replace").strip()
                if answer.startswith("-"):
                    raise ServiceUnavailable(f"Redis at {where} refused {command[0]}: "
                                             f"{answer[1:]}. Check the password in REDIS_URL.")
    except OSError as exc:
        raise ServiceUnavailable(f"Redis is not available at {where}: {exc}. To fix it, "
                                 f"{hint}.") from exc
    if answer != "+PONG":
        raise ServiceUnavailable(f"the server at {where} did not answer like Redis "
                                 f"({answer[:60]!r}); {hint}.")


def _resp(command: list[str]) -> bytes:
    """A command in Redis's wire protocol."""
    parts = [f"*{len(command)}\r\n".encode()]
    for word in command:
        data = word.encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)
