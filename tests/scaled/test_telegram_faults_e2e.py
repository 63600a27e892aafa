"""Telegram faults on the scaled mode: the bridge (webhook mode, behind nginx, run by
supervisord) killed with messages in flight, and the Bot API answering 429 and 500 for
30 seconds. Updates are posted to nginx as Telegram does: again until one is accepted.
Afterwards every citizen got each reply, in order: exactly once after the outage; after
the kill at least once, and at most one reply of a chat twice (the Bot API has no
idempotency key: a reply Telegram accepted in the moment before the bridge died, before
its row was deleted, is sent again rather than lost; ``bot.telegram.replies``)."""

from __future__ import annotations

import signal

import pytest

from bot.devtools import telegram_citizens
from bot.devtools.fake_telegram import FakeTelegram
from bot.devtools.supervised import SupervisedStack
from tests.scaled.conftest import WEBHOOK_SECRET

pytestmark = [pytest.mark.e2e,
              pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")]


def check(name: str, run: telegram_citizens.FaultRun, repeats_per_chat: int = 0) -> None:
    assert not run.errors, run.errors
    for chat in run.chats:
        assert chat.at_least_once and chat.repeats <= repeats_per_chat, (chat.chat,
                                                                          chat.counts)
        assert chat.in_order, chat.chat
    repeated = sum(chat.repeats for chat in run.chats)
    print(f"\n{name}: {len(run.chats)} chats got every reply, in order, {repeated} reply "
          f"sent twice; the first reply after the fault came {run.first_reply_after:.1f} s "
          "after it")


def test_the_bridge_killed_with_messages_in_flight(scaled: SupervisedStack,
                                                   bot_api: FakeTelegram) -> None:
    old: list[int] = []
    run = telegram_citizens.run_with_fault(
        f"{scaled.rasa_url}/telegram", WEBHOOK_SECRET, bot_api,
        lambda: old.append(scaled.kill("telegram", signal.SIGKILL)))
    check("kill -9 the Telegram bridge", run, repeats_per_chat=1)
    assert scaled.states()["telegram"]["pid"] != old[0]


def test_the_bot_api_failing_for_30_seconds(scaled: SupervisedStack,
                                            bot_api: FakeTelegram) -> None:
    run = telegram_citizens.run_with_fault(f"{scaled.rasa_url}/telegram", WEBHOOK_SECRET,
                                           bot_api, lambda: bot_api.fail_for(30))
    check("Bot API answering 429 and 500 for 30 s", run)
    assert bot_api.rejected, "the outage answered nothing"
