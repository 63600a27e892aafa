"""Telegram citizens for fault tests and benchmarks: chats that type their way into the
library consultation, their updates posted to the bridge's webhook as Telegram posts them
(again, every second, until one is accepted), their replies read from the fake Bot API."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from bot.devtools.fake_telegram import FakeTelegram

#: (message, a text the reply to it contains), in order.
STEPS = [("/start library-hours-2027", "Privacy"), ("yes", "Question 1 of 8"),
         ("weekly", "Question 2 of 7"), ("evenings, saturdays", "Question 3 of 7"),
         ("4", "Question 4 of 7"), ("2", "Question 5 of 7")]
_chat_ids = itertools.count(820_000_001 + int(time.time()) % 1000 * 1000)
_update_ids = itertools.count(time.time_ns() // 1000)


@dataclass
class ChatOutcome:
    """What one chat received: each expected reply's count and whether they came in order."""

    chat: int
    counts: dict[str, int]
    in_order: bool

    @property
    def exactly_once(self) -> bool:
        return all(count == 1 for count in self.counts.values())

    @property
    def at_least_once(self) -> bool:
        return all(count >= 1 for count in self.counts.values())

    @property
    def repeats(self) -> int:
        """Replies received more than once, counted beyond the first."""
        return sum(count - 1 for count in self.counts.values() if count > 1)


@dataclass
class FaultRun:
    """A run of chats with a fault in the middle."""

    chats: list[ChatOutcome]
    errors: list[BaseException]
    #: seconds from the fault to the first reply any chat got after it
    first_reply_after: float

    @property
    def clean(self) -> bool:
        """Every chat finished and got every reply exactly once, in order."""
        return not self.errors and all(c.exactly_once and c.in_order for c in self.chats)


def deliver(hook: str, secret: str, update: dict[str, Any], patience: float = 180) -> None:
    """POST an update as Telegram does: again, every second, until the bridge takes it.

    Raises:
        RuntimeError: it was not taken within ``patience`` seconds.
    """
    deadline = time.monotonic() + patience
    while time.monotonic() < deadline:
        try:
            answer = httpx.post(hook, json=update, timeout=10,
                                headers={"X-Telegram-Bot-Api-Secret-Token": secret})
            if answer.status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1.0)
    raise RuntimeError(f"the bridge never took update {update['update_id']}")


def take_part(hook: str, secret: str, bot_api: FakeTelegram, chat: int,
              progress: list[int]) -> None:
    """Send each step once the reply to the previous one arrived."""
    for text, expect in STEPS:
        message = bot_api.message(chat, text)
        if text.startswith("/"):
            message["entities"] = [{"type": "bot_command", "offset": 0,
                                    "length": len(text.split()[0])}]
        deliver(hook, secret, {"update_id": next(_update_ids), "message": message})
        bot_api.wait_for_text(chat, expect, timeout=180)
        progress.append(chat)
        time.sleep(0.3)


def run_with_fault(hook: str, secret: str, bot_api: FakeTelegram, fault: Callable[[], object],
                   chats: int = 4) -> FaultRun:
    """``chats`` citizens take part at once; ``fault`` strikes when half their steps are
    done; returns what each chat received."""
    ids = [next(_chat_ids) for _ in range(chats)]
    progress: list[int] = []
    errors: list[BaseException] = []

    def run(chat: int) -> None:
        try:
            take_part(hook, secret, bot_api, chat, progress)
        except BaseException as exc:  # reported in the result
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(chat,)) for chat in ids]
    for thread in threads:
        thread.start()
    while len(progress) < chats * len(STEPS) // 2 and any(t.is_alive() for t in threads):
        time.sleep(0.05)
    struck = time.perf_counter()
    fault()
    for thread in threads:
        thread.join()
    outcomes = []
    for chat in ids:
        texts = [str(call.params.get("text")) for call in bot_api.sent(chat)]
        counts = {expect: sum(expect in text for text in texts) for _, expect in STEPS}
        positions = [next((i for i, t in enumerate(texts) if expect in t), -1)
                     for _, expect in STEPS]
        outcomes.append(ChatOutcome(chat, counts, positions == sorted(positions)))
    first = min((c.at for chat in ids for c in bot_api.sent(chat) if c.at > struck),
                default=struck)
    return FaultRun(outcomes, errors, first - struck)
