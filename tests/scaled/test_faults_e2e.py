"""Faults in the middle of the load, on the scaled mode: after each, every citizen
finishes where they were, every acknowledged answer is stored exactly once, and the bot
said clearly when it could not take a message (the citizen's channel sends it again).
The recovery time of each fault is printed."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable

import pytest

from bot.devtools.services import ServiceControlUnavailable, restart_postgresql, restart_redis
from bot.devtools.supervised import SupervisedStack
from tests.conftest import require_service
from tests.scaled.citizens import LIBRARY_ANSWERS, LIBRARY_VISIT, PatientChat, take_part
from tests.scaled.store_check import assert_stored_once

pytestmark = pytest.mark.e2e
CITIZENS = 6
#: The fault strikes once the citizens have this many replies between them (about half).
FAULT_AFTER = CITIZENS * len(LIBRARY_VISIT) // 2


def run_with_fault(scaled: SupervisedStack, name: str, fault: Callable[[], object]) -> float:
    """Citizens take part concurrently; ``fault`` strikes half-way; then check the store.

    Returns:
        When the fault struck (``time.monotonic()``).
    """
    chats = [PatientChat(scaled.rasa_url, patience=180) for _ in range(CITIZENS)]
    errors: list[BaseException] = []

    def citizen(chat: PatientChat) -> None:
        try:
            take_part(chat, pause=0.4)
        except BaseException as exc:  # reported below, with the citizen
            errors.append(exc)

    threads = [threading.Thread(target=citizen, args=(chat,)) for chat in chats]
    for thread in threads:
        thread.start()
    while sum(len(c.taken) for c in chats) < FAULT_AFTER and any(t.is_alive() for t in threads):
        time.sleep(0.05)
    struck = time.monotonic()
    fault()
    for thread in threads:
        thread.join()
    assert not errors, errors
    for chat in chats:
        assert_stored_once(scaled.database_url, chat, LIBRARY_ANSWERS)
    after = [next((at for _, _, at in c.taken if at > struck), None) for c in chats]
    waiting = [at - struck for at in after if at is not None]
    resent = sum(c.refused for c in chats)
    apologies = sum(c.apologies for c in chats)
    print(f"\n{name}: every citizen finished; {resent} messages sent again "
          f"({apologies} after the bot's apology); every citizen had a message taken "
          f"within {max(waiting, default=0):.1f} s of the fault")
    return struck


def wait_back(scaled: SupervisedStack, program: str, old_pid: int, struck: float) -> None:
    """Wait until ``program`` runs again with a new pid and answers; print how long after
    the fault that was."""
    scaled.wait_restarted(program, old_pid, timeout=180)
    print(f"{program} restarted and answering {time.monotonic() - struck:.1f} s after the fault")


@pytest.mark.parametrize("program", ["rasa-1", "actions-1"])
def test_a_killed_server(scaled: SupervisedStack, program: str) -> None:
    old: list[int] = []

    def kill() -> None:
        old.append(scaled.kill(program, signal.SIGKILL))

    struck = run_with_fault(scaled, f"kill -9 {program}", kill)
    wait_back(scaled, program, old[0], struck)


def test_a_hung_action_server(scaled: SupervisedStack) -> None:
    old: list[int] = []

    def hang() -> None:
        old.append(scaled.kill("actions-2", signal.SIGSTOP))

    struck = run_with_fault(scaled, "SIGSTOP actions-2 (hung)", hang)
    wait_back(scaled, "actions-2", old[0], struck)


def test_postgresql_restarts(scaled: SupervisedStack) -> None:
    downtime: list[float] = []

    def restart() -> None:
        try:
            downtime.append(restart_postgresql())
        except ServiceControlUnavailable as exc:
            require_service("PostgreSQL restart", str(exc))

    run_with_fault(scaled, "restart PostgreSQL", restart)
    print(f"PostgreSQL was down for {downtime[0]:.1f} s")


def test_redis_restarts(scaled: SupervisedStack) -> None:
    downtime: list[float] = []

    def restart() -> None:
        try:
            downtime.append(restart_redis(down_for=3.0))
        except ServiceControlUnavailable as exc:
            require_service("Redis restart", str(exc))

    run_with_fault(scaled, "restart Redis (down 3 s)", restart)
    print(f"Redis was down for {downtime[0]:.1f} s")
