"""Fixtures of the scaled mode: the machine's real PostgreSQL, Redis and nginx, and the
same supervisord and nginx configuration `make run-scaled` renders, on spare ports.

Under CI=true a missing service fails the tests; elsewhere they skip with the reason.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.devtools.fake_telegram import FakeTelegram
from bot.devtools.stack import ingest_demo_knowledge, launch_demo
from bot.devtools.supervised import ScaledStack, SupervisedStack
from bot.ops import preflight
from tests.conftest import fresh_postgres_database, require_service

#: A Redis database of the tests' own, so a `make run-scaled` on the same machine is not
#: disturbed (Rasa's lock keys are also prefixed).
REDIS_URL = os.environ.get("CODESIGN_TEST_REDIS", "redis://127.0.0.1:6379/3")
PUBLIC_PORT = int(os.environ.get("CODESIGN_TEST_PUBLIC_PORT", "8380"))
PORT_BASE = int(os.environ.get("CODESIGN_TEST_INTERNAL_PORT_BASE", "7300"))
WEBHOOK_SECRET = "scaled-webhook-secret_0123456789"


def require_scaled_services() -> None:
    """Skip (fail under CI) unless Redis and nginx are there; PostgreSQL is checked when
    the database is made."""
    try:
        preflight.check_redis(REDIS_URL)
    except preflight.ServiceUnavailable as exc:
        require_service("Redis", str(exc))
    if shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists():
        require_service("nginx", "not installed (make setup installs Debian's nginx)")


@pytest.fixture(scope="session")
def scaled_database() -> Iterator[str]:
    """A fresh PostgreSQL database with the demo consultations launched."""
    require_scaled_services()
    with fresh_postgres_database() as url:
        launch_demo(url)
        yield url


@pytest.fixture(scope="session")
def bot_api() -> Iterator[FakeTelegram]:
    """The fake Bot API server the scaled mode's Telegram bridge talks to."""
    with FakeTelegram() as telegram:
        yield telegram


@pytest.fixture(scope="session")
def scaled(scaled_database: str, bot_api: FakeTelegram,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[SupervisedStack]:
    """The scaled mode, as `make run-scaled` runs it: 2 Rasa servers, 2 action servers,
    the web app with 2 workers, the Telegram bridge (webhook through nginx) and nginx,
    under supervisord with the watchdog."""
    workdir: Path = tmp_path_factory.mktemp("scaled")
    ingest_demo_knowledge(scaled_database, workdir)
    stack = ScaledStack(
        workdir, scaled_database, REDIS_URL, PUBLIC_PORT, PORT_BASE,
        TELEGRAM_BOT_TOKEN=bot_api.token, TELEGRAM_API_BASE_URL=bot_api.base_url,
        TELEGRAM_MODE="webhook",
        TELEGRAM_WEBHOOK_URL=f"http://127.0.0.1:{PUBLIC_PORT}/telegram",
        TELEGRAM_WEBHOOK_SECRET=WEBHOOK_SECRET)
    stack.start()
    yield stack
    stack.stop()
