"""Telegram faults on the scaled mode: the bridge (webhook mode, behind nginx, run by
supervisord) killed with messages in flight, and the Bot API answering 429 and 500 for
30 seconds. Updates are posted to nginx as Telegram does: again until one is accepted.
Afterwards every citizen got each reply exactly once, in order."""

from __future__ import annotations

import itertools
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from bot.devtools.fake_telegram import FakeTelegram
from bot.devtools.supervised import SupervisedStack
from tests.scaled.conftest import WEBHOOK_SECRET

pytestmark = [pytest.mark.e2e,
              pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")]
chat_ids = itertools.count(820_000_001)
update_ids = itertools.count(time.time_ns() // 1000)
#: A citizen typing their way into the library consultation: (message, reply it gets).
STEPS = [("/start library-hours-2027", "Privacy"), ("yes", "Question 1 of 8"),
         ("weekly", "Question 2 of 7"), ("evenings, saturdays", "Question 3 of 7"),
         ("4", "Question 4 of 7"), ("2", "Question 5 of 7")]
CHATS = 4


def deliver(hook: str, update: dict[str, Any], patience: float = 120) -> None:
    """POST an update as Telegram does: again, every second, until the bridge takes it."""
    deadline = time.monotonic() + patience
    while time.monotonic() < deadline:
        try:
            answer = httpx.post(hook, json=update, timeout=10,
                                headers={"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET})
            if answer.status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1.0)
    raise AssertionError(f"the bridge never took update {update['update_id']}")


def citizen(hook: str, bot_api: FakeTelegram, chat: int, progress: list[int]) -> None:
    """Send each step once it's the citizen's turn (the previous reply arrived)."""
    for text, expect in STEPS:
        message = bot_api.message(chat, text)
        if text.startswith("/"):
            message["entities"] = [{"type": "bot_command", "offset": 0,
                                    "length": len(text.split()[0])}]
        deliver(hook, {"update_id": next(update_ids), "message": message})
        bot_api.wait_for_text(chat, expect, timeout=180)
        progress.append(chat)
        time.sleep(0.3)


def run_with_fault(scaled: SupervisedStack, bot_api: FakeTelegram, name: str,
                   fault: Callable[[], object]) -> None:
    hook = f"{scaled.rasa_url}/telegram"
    chats = [next(chat_ids) for _ in range(CHATS)]
    progress: list[int] = []
    errors: list[BaseException] = []

    def run(chat: int) -> None:
        try:
            citizen(hook, bot_api, chat, progress)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(chat,)) for chat in chats]
    for thread in threads:
        thread.start()
    while len(progress) < CHATS * len(STEPS) // 2 and any(t.is_alive() for t in threads):
        time.sleep(0.05)
    struck = time.monotonic()
    fault()
    for thread in threads:
        thread.join()
    assert not errors, errors
    for chat in chats:
        texts = [str(call.params.get("text")) for call in bot_api.sent(chat)]
        for _, expect in STEPS:
            assert sum(expect in text for text in texts) == 1, (chat, expect, texts)
        positions = [next(i for i, t in enumerate(texts) if expect in t) for _, expect in STEPS]
        assert positions == sorted(positions), texts
    first = min((c.at for chat in chats for c in bot_api.sent(chat)
                 if c.at > struck), default=struck)
    print(f"\n{name}: {CHATS} chats got every reply once, in order; the first reply "
          f"after the fault came {first - struck:.1f} s after it")


def test_the_bridge_killed_with_messages_in_flight(scaled: SupervisedStack,
                                                   bot_api: FakeTelegram) -> None:
    old: list[int] = []
    run_with_fault(scaled, bot_api, "kill -9 the Telegram bridge",
                   lambda: old.append(scaled.kill("telegram", signal.SIGKILL)))
    assert scaled.states()["telegram"]["pid"] != old[0]


def test_the_bot_api_failing_for_30_seconds(scaled: SupervisedStack,
                                            bot_api: FakeTelegram) -> None:
    run_with_fault(scaled, bot_api, "Bot API answering 429 and 500 for 30 s",
                   lambda: bot_api.fail_for(30))
    assert bot_api.rejected, "the outage answered nothing"
