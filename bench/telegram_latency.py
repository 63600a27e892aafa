"""Latency the Telegram bridge adds to a conversation turn.

The bridge (``codesign telegram``, its own process, polling) talks to the fake Bot API
server; the same Rasa server and action server also take direct REST turns. Per message
the Telegram figure is the fake server's time from handing the update out in
``getUpdates`` to receiving the ``sendMessage`` with the bot's reply: what the bridge adds
(update parsing, outbox write, pseudonym, typing indicator, rendering, the Bot API call)
on top of the Rasa turn. Telegram and direct turns of the same answers are interleaved so
drift affects both alike.

Both paths keep their HTTP connection open, as the bridge does with Rasa: the direct turns
go through the stack's one ``httpx.Client`` (``Stack.client``; ``httpx.post`` builds a
client per turn, about 25 ms of TLS-context set-up even for ``http:``, which made the
direct turns slower and hid as much of what the bridge adds). The fake server answers in
one write with Nagle's algorithm off; see ``bot.devtools.fake_telegram``.

Run: ``.venv/bin/python -m bench.telegram_latency`` (part of ``make bench``).
"""

from __future__ import annotations

import argparse
import itertools
import os
import signal
import subprocess
import tempfile
from pathlib import Path

from bench.common import latency, summary, write_results
from bench.turn_latency import ANSWERS, started_chat, timed
from bot.devtools.fake_telegram import FakeTelegram
from bot.devtools.stack import ROOT, Stack, ingest_demo_knowledge, launch_demo

SLUG = "library-hours-2027"
chat_ids = itertools.count(900_000_001)


def start_bridge(stack: Stack, telegram: FakeTelegram) -> subprocess.Popen[bytes]:
    """``codesign telegram`` in polling mode against the fake server; waits until polling."""
    env = {**stack.env(), "TELEGRAM_BOT_TOKEN": telegram.token, "RASA_URL": stack.rasa_url,
           "TELEGRAM_API_BASE_URL": telegram.base_url, "TELEGRAM_MODE": "polling"}
    log = (stack.workdir / "logs" / "telegram.log").open("ab")
    process = subprocess.Popen([str(ROOT / ".venv/bin/codesign"), "telegram"], cwd=ROOT,
                               env=env, stdout=log, stderr=subprocess.STDOUT)
    telegram.wait_for("deleteWebhook", timeout=60)  # sent just before polling starts
    return process


def telegram_turn(telegram: FakeTelegram, chat: int, text: str, expect: str) -> float:
    """Milliseconds from the update's delivery to the reply containing ``expect``."""
    after = len(telegram.sent(chat))
    update = telegram.push_text(chat, text)
    reply = telegram.wait_for_text(chat, expect, after)
    return (reply.at - telegram.delivered[update["update_id"]]) * 1000


def started_telegram_chat(telegram: FakeTelegram) -> int:
    """A Telegram participant who consented and sees question 1 (via a deep link)."""
    chat = next(chat_ids)
    telegram.say(chat, f"/start {SLUG}", "Privacy")
    telegram.choose(chat, "Yes, I agree", "Question 1 of")
    return chat


def measure(stack: Stack, telegram: FakeTelegram,
            rounds: int) -> tuple[list[float], list[float]]:
    """Interleaved direct REST and Telegram answer turns of the same answers."""
    direct: list[float] = []
    bridged: list[float] = []
    for _ in range(rounds):
        rest_chat = started_chat(stack)
        chat = started_telegram_chat(telegram)
        for text in ANSWERS:
            direct.append(timed(rest_chat, text))
            bridged.append(telegram_turn(telegram, chat, text, "Question "))
    return direct, bridged


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20,
                        help="participants per path (6 answer turns each)")
    parser.add_argument("--port-base", type=int, default=5400,
                        help="Rasa on base+5, the action server on base+55")
    args = parser.parse_args()
    os.environ.setdefault("CODESIGN_SECRET_KEY", "bench-secret-key-0123456789abcdef")

    with tempfile.TemporaryDirectory(prefix="codesign-bench-") as tmp, \
            FakeTelegram() as telegram:
        workdir = Path(tmp)
        url = f"sqlite:///{workdir / 'bench.db'}"
        launch_demo(url)
        ingest_demo_knowledge(url, workdir)
        stack = Stack(url, workdir, rasa_port=args.port_base + 5,
                      action_port=args.port_base + 55)
        stack.start()
        bridge = None
        try:
            bridge = start_bridge(stack, telegram)
            measure(stack, telegram, 2)  # warm-up
            direct, bridged = measure(stack, telegram, args.rounds)
        finally:
            if bridge is not None:
                bridge.send_signal(signal.SIGTERM)
                bridge.wait(timeout=30)
            stack.stop()

    rest, tg = summary(direct), summary(bridged)
    figures = {"direct_rest_turn_ms": rest, "telegram_turn_ms": tg,
               "added_p50_ms": tg["p50"] - rest["p50"], "added_p95_ms": tg["p95"] - rest["p95"]}
    print("Telegram bridge: answer turns via the fake Bot API vs direct REST turns (SQLite)")
    print(f"  direct REST turn        {latency(rest)}   (connection kept open)")
    print(f"  via Telegram bridge     {latency(tg)}   (getUpdates hand-out -> sendMessage "
          "received)")
    print(f"  added by the bridge     p50 {figures['added_p50_ms']:+6.1f} ms   "
          f"p95 {figures['added_p95_ms']:+6.1f} ms")
    write_results("bench-telegram-latency", figures)


if __name__ == "__main__":
    main()
