"""The deployments a load run can target.

- ``embedded``: one Rasa server and one action server on SQLite (``bot.devtools.stack``),
  started here on spare ports with a fresh database holding the demo consultations and
  knowledge;
- ``scaled``: PostgreSQL, Redis, 2+ Rasa and 2+ action servers behind nginx
  (``ScaledStack``), started here on a fresh PostgreSQL database;
- ``existing``: a deployment already running (``make run``, ``make run-scaled``), given
  by its public URL and its database URL; nothing is started.

Started deployments are warmed up first: the first question about the service loads
the embedding model in each action server, which may take longer than Rasa waits.
"""

from __future__ import annotations

import importlib
import inspect
import os
import secrets
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from bench.load.scenario import Target
from bench.load.script import Message, is_unavailable
from bench.load.transports import rest_message
from bot.config import var_dir
from bot.devtools.stack import Stack, ingest_demo_knowledge, launch_demo
from bot.store.db import engine_for

WARM_UP_QUESTION = "what time does the library open on saturday?"


class NotAvailable(RuntimeError):
    """The deployment cannot be started here (yet)."""


def ensure_secrets() -> bytes:
    """The participant-id key for servers started here: the environment's, or one made up
    for this run (the stacks pass the environment on)."""
    os.environ.setdefault("CODESIGN_SECRET_KEY", secrets.token_urlsafe(32))
    return os.environ["CODESIGN_SECRET_KEY"].encode()


def existing_secret() -> bytes:
    """The participant-id key of a deployment started by ``make run``: the environment's
    ``CODESIGN_SECRET_KEY``, else the one ``scripts/env.sh`` keeps in ``var/secret.key``.

    Raises:
        NotAvailable: neither is there.
    """
    secret = os.environ.get("CODESIGN_SECRET_KEY", "")
    if not secret:
        kept = var_dir() / "secret.key"
        if kept.exists():
            secret = kept.read_text(encoding="utf-8").rstrip("\n")
    if not secret:
        raise NotAvailable("set CODESIGN_SECRET_KEY to the deployment's key (the store "
                           "check derives the citizens' participant ids from it)")
    return secret.encode()


def warm_up(url: str, rounds: int = 1, timeout: float = 180) -> None:
    """Ask a question about the service ``rounds`` times (once per action server behind a
    balancer), each until it is answered rather than met with "unavailable".

    Raises:
        RuntimeError: not answered within ``timeout`` seconds.
    """
    with httpx.Client(timeout=60) as client:
        for _ in range(rounds):
            sender = f"load-warm-up-{secrets.token_hex(4)}"
            deadline = time.monotonic() + timeout
            while True:
                messages: list[Message] = []
                try:
                    response = client.post(f"{url}/webhooks/rest/webhook", json={
                        "sender": sender, "message": WARM_UP_QUESTION,
                        "metadata": {"message_id": secrets.token_hex(8)}})
                    if response.status_code == 200:
                        messages = [rest_message(item) for item in response.json()]
                except (httpx.HTTPError, ValueError):
                    pass
                if messages and not any(is_unavailable(m) for m in messages):
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{url} did not answer a question about the service "
                                       f"within {timeout:.0f} s")
                time.sleep(2)


@contextmanager
def embedded(port_base: int) -> Iterator[Target]:
    """One Rasa server (port ``port_base + 5``) and one action server (``+ 55``) on a
    fresh SQLite database."""
    secret = ensure_secrets()
    with tempfile.TemporaryDirectory(prefix="codesign-load-") as tmp:
        workdir = Path(tmp)
        url = f"sqlite:///{workdir / 'load.db'}"
        launch_demo(url)
        ingest_demo_knowledge(url, workdir)
        stack = Stack(url, workdir, rasa_port=port_base + 5, action_port=port_base + 55)
        stack.start()
        try:
            warm_up(stack.rasa_url)
            yield Target("embedded", stack.rasa_url, url, secret)
        finally:
            stack.stop()
            engine_for(url).dispose()


def _scaled_stack_factory() -> Callable[..., Any]:
    """``ScaledStack`` (``bot.devtools.scaled``, or ``bot.devtools.supervised`` where the
    scaled mode's test stack lives now), imported only when the scaled mode is asked for.

    Raises:
        NotAvailable: neither module has it yet.
    """
    for name in ("bot.devtools.scaled", "bot.devtools.supervised"):
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        factory = getattr(module, "ScaledStack", None)
        if factory is not None:
            return cast(Callable[..., Any], factory)
    raise NotAvailable("the scaled mode is not available yet (no ScaledStack in "
                       "bot.devtools.scaled or bot.devtools.supervised)")


def start_scaled(factory: Callable[..., Any], workdir: Path, database_url: str,
                 redis_url: str, port_base: int, **settings: str) -> Any:
    """Build the scaled stack: nginx on ``port_base + 80``, internal servers from
    ``port_base + 100`` (when the factory takes an internal port base); ``settings`` are
    more of its environment (e.g. the Telegram bridge's)."""
    options: dict[str, Any] = dict(settings)
    if "internal_port_base" in inspect.signature(factory).parameters:
        options["internal_port_base"] = port_base + 100
    return factory(workdir, database_url, redis_url, port_base + 80, **options)


@contextmanager
def scaled(port_base: int, postgres_url: str, redis_url: str,
           action_servers: int = 2, **settings: str) -> Iterator[Target]:
    """PostgreSQL, Redis, several Rasa and action servers behind nginx on a fresh
    PostgreSQL database, dropped afterwards.

    Raises:
        NotAvailable: there is no ``ScaledStack`` yet, or PostgreSQL cannot be reached.
    """
    factory = _scaled_stack_factory()
    secret = ensure_secrets()
    name = f"codesign_load_{secrets.token_hex(4)}"
    # No pooled connection to go stale: bench.faults restarts PostgreSQL meanwhile.
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        admin.dispose()
        raise NotAvailable(f"PostgreSQL at {make_url(postgres_url).render_as_string()}: "
                           f"{str(exc).splitlines()[0]}") from None
    url = make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
    try:
        with tempfile.TemporaryDirectory(prefix="codesign-load-") as tmp:
            workdir = Path(tmp)
            launch_demo(url)
            ingest_demo_knowledge(url, workdir)
            stack = start_scaled(factory, workdir, url, redis_url, port_base, **settings)
            stack.start()
            try:
                public = getattr(stack, "public_url", None) or stack.rasa_url
                warm_up(public, rounds=2 * action_servers)
                yield Target("scaled", public, stack.database_url, secret, stack)
            finally:
                stack.stop()
    finally:
        engine_for(url).dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def existing(url: str, database_url: str) -> Iterator[Target]:
    """A deployment already running; nothing is started or stopped."""
    yield Target("existing", url.rstrip("/"), database_url, existing_secret())
