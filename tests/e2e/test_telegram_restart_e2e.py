"""The Telegram bridge killed mid-conversation and started again on another machine loses
and repeats nothing, and rides out a Telegram outage.

The bridge runs as its own process (``codesign telegram``, polling the fake Bot API
server) on the stack's app store, with the real Rasa and action server behind a proxy
that can make Rasa slow to answer. It is killed with SIGKILL while chats have messages in
every stage (received and waiting, at Rasa, answered but not yet sent because Telegram
fails); a new bridge starts with another ``CODESIGN_VAR_DIR``, as on another machine.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.devtools.fake_telegram import FakeTelegram
from bot.devtools.stack import ROOT, Stack
from bot.review.outcomes import publish_outcome
from bot.store import repository as repo
from bot.store.db import session_scope
from bot.store.pseudonym import participant_key
from bot.store.telegram_models import (
    TelegramContact,
    TelegramInboxUpdate,
    TelegramOutboxMessage,
    TelegramReply,
)
from bot.telegram.relay import UNAVAILABLE
from bot.telegram.store import BridgeStore

# PTB 22 itself warns, when it raises RetryAfter, that retry_after will become a timedelta.
pytestmark = [pytest.mark.e2e,
              pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")]
LIBRARY = "library-hours-2027"
SECRET = os.environ["CODESIGN_SECRET_KEY"].encode()
#: This module's own one-question consultation, for the citizen who asks to hear back (an
#: outcome other tests publish for the demo consultations must not reach them).
CHECK = "telegram-restart-check"
CHECK_YAML = f"""slug: {CHECK}
title: Choosing bench colours (bridge restart test)
agency: Riverside Borough Council
service: Parks and Green Spaces
kind: co-design
summary: One question about benches.
opens: 2026-11-01
closes: 2027-06-30
privacy:
  retention_days: 30
  quotes: never
  contact: privacy@riverside.example
outcome: We will tell you which colour we chose.
questions:
  - id: colour
    type: single_choice
    text: Which colour should the new benches be?
    options: [Green, Blue]
"""
OUTCOME = "The new benches will be green."
#: What each message of a chat at question 1 of the library consultation is answered with.
ANSWERS = [("a few times a year", "Question 2 of 8"),
           ("The library closes before I finish work, and buses are rare", "Question 3 of 8"),
           ("Evenings", "Question 4 of 8")]
chat_ids = itertools.count(730_000_001)


class SlowRasa:
    """Forwards the REST channel to Rasa at once and holds the answer ``delay[sender]``
    seconds (a slow turn: Rasa has done the work, the bridge waits); notes what it got."""

    def __init__(self, rasa_url: str) -> None:
        self.delay: dict[str, float] = {}
        self.received: list[tuple[str, str]] = []  # (sender, message id)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                message = json.loads(body)
                proxy.received.append((message["sender"], message["metadata"]["message_id"]))
                answer = httpx.post(f"{rasa_url}{self.path}", content=body, timeout=60,
                                    headers={"Content-Type": "application/json"})
                time.sleep(proxy.delay.get(message["sender"], 0.0))
                self.send_response(answer.status_code)
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(answer.content)  # unless the bridge was killed

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"


class Bridge:
    """``codesign telegram`` as a process of its own, polling the fake Bot API.

    Args:
        stack: the servers (their app store is the bridge's ``DATABASE_URL``).
        telegram: the fake Bot API server.
        rasa_url: where the bridge finds Rasa.
        var: its ``CODESIGN_VAR_DIR`` (its machine's disk).
    """

    def __init__(self, stack: Stack, telegram: FakeTelegram, rasa_url: str, var: Path) -> None:
        var.mkdir(parents=True, exist_ok=True)
        self.log = var / "telegram.log"
        env = {**stack.env(), "TELEGRAM_BOT_TOKEN": telegram.token, "TELEGRAM_MODE": "polling",
               "TELEGRAM_API_BASE_URL": telegram.base_url, "RASA_URL": rasa_url,
               "CODESIGN_VAR_DIR": str(var)}
        polls = len(telegram.calls_of("deleteWebhook"))
        self.process = subprocess.Popen([str(ROOT / ".venv/bin/codesign"), "telegram"],
                                        cwd=ROOT, env=env, stdout=self.log.open("ab"),
                                        stderr=subprocess.STDOUT)
        try:
            telegram.wait_for("deleteWebhook", count=polls + 1)  # just before polling starts
        except AssertionError:
            self.stop()
            raise AssertionError(self.tail()) from None

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def kill(self) -> None:
        """kill -9: no shutdown, no last ``getUpdates``, nothing flushed."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture(scope="module")
def telegram() -> Iterator[FakeTelegram]:
    with FakeTelegram() as fake:
        yield fake


@pytest.fixture(scope="module")
def proxy(stack: Stack) -> Iterator[SlowRasa]:
    running = SlowRasa(stack.rasa_url)
    yield running
    running.server.shutdown()


@pytest.fixture
def bridges() -> Iterator[list[Bridge]]:
    """Bridges a test starts; stopped at its end."""
    started: list[Bridge] = []
    yield started
    for bridge in started:
        bridge.stop()


@pytest.fixture(scope="module")
def check_consultation(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """This module's one-question consultation (launched with the CLI, closed afterwards)."""
    path = tmp_path_factory.mktemp("restart-consultation") / f"{CHECK}.yml"
    path.write_text(CHECK_YAML, encoding="utf-8")
    codesign(stack, "consultations", "launch", str(path))
    yield CHECK
    codesign(stack, "consultations", "close", CHECK)


def codesign(stack: Stack, *args: str) -> None:
    done = subprocess.run([str(ROOT / ".venv/bin/codesign"), *args], env=stack.env(), cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def sender(chat_id: int) -> str:
    """The chat's key: the pseudonymous id the bridge gives Rasa."""
    return participant_key(SECRET, "telegram", str(chat_id))


def at_first_question(telegram: FakeTelegram) -> int:
    """A new chat that consented to the library consultation and sees question 1."""
    chat = next(chat_ids)
    telegram.say(chat, f"/start {LIBRARY}", "Privacy")
    telegram.choose(chat, "Yes, I agree", "Question 1 of")
    return chat


def replies_once_in_order(telegram: FakeTelegram, chats: dict[int, int],
                          timeout: float = 120) -> None:
    """Each chat (-> its messages sent before) gets each answer's reply, once, in order."""
    deadline = time.monotonic() + timeout
    for chat, after in chats.items():
        for _, expect in ANSWERS:
            telegram.wait_for_text(chat, expect, after,
                                   timeout=max(1.0, deadline - time.monotonic()))
    time.sleep(3)  # a reply sent twice would have arrived by now
    for chat, after in chats.items():
        texts = [str(c.params.get("text")) for c in telegram.sent(chat)[after:]]
        found = [next(i for i, t in enumerate(texts) if expect in t) for _, expect in ANSWERS]
        assert found == sorted(found), texts  # in the order they were written
        for _, expect in ANSWERS:
            assert sum(expect in t for t in texts) == 1, texts
        assert len(texts) == len(set(texts)), texts  # no message twice
        assert UNAVAILABLE not in texts


def test_killed_bridge_restarted_elsewhere_loses_and_repeats_nothing(
        stack: Stack, telegram: FakeTelegram, proxy: SlowRasa, check_consultation: str,
        bridges: list[Bridge], tmp_path: Path) -> None:
    first = Bridge(stack, telegram, proxy.url, tmp_path / "machine-a")
    bridges.append(first)
    # A citizen finishes a consultation and asks to hear back.
    contact = next(chat_ids)
    telegram.say(contact, f"/start {check_consultation}", "Privacy")
    telegram.choose(contact, "Yes, I agree", "Question 1 of 1")
    telegram.choose(contact, "Green", "summary of your answers")
    telegram.choose(contact, "Submit", "What happens next")
    telegram.wait_for_text(contact, "tell you what the council decides")
    telegram.choose(contact, "Yes, tell me", "let you know")
    # Four citizens at question 1; two get slow answers from Rasa.
    chats = [at_first_question(telegram) for _ in range(4)]
    for chat in chats[:2]:
        proxy.delay[sender(chat)] = 1.0
    for chat in chats[2:]:
        proxy.delay[sender(chat)] = 8.0
    before = {chat: len(telegram.sent(chat)) for chat in chats}
    received = len(proxy.received)
    pushed = [telegram.push_text(chat, text)["update_id"] for text, _ in ANSWERS[:2]
              for chat in chats]
    wait_until(lambda: all(u in telegram.delivered for u in pushed)
               and len(proxy.received) >= received + len(chats))
    telegram.fail_for(120)  # Telegram fails: the first answers cannot be sent
    store = BridgeStore(stack.database_url, SECRET)

    def mid_flight() -> bool:
        stages = queued_chats(store)
        return (set(chats) <= stages["updates"]  # the second messages, waiting
                and set(chats[2:]) <= stages["messages"]  # the first ones, at Rasa
                and set(chats[:2]) <= stages["replies"])  # answered, Telegram failing

    wait_until(mid_flight)
    first.kill()
    telegram.fail_for(0)  # Telegram works again
    for chat in chats:
        telegram.push_text(chat, ANSWERS[2][0])  # written while no bridge runs
    with session_scope(stack.database_url) as session:
        kept = session.scalars(select(TelegramContact)
                               .where(TelegramContact.chat_key == sender(contact))).one()
        assert store.sealer.open_chat(kept.chat_ref) == contact and str(contact) not in \
            kept.chat_ref
        check = repo.get_consultation(session, check_consultation)
        assert check is not None
        publish_outcome(session, check.id, OUTCOME, None)
    proxy.delay.clear()

    second = Bridge(stack, telegram, proxy.url, tmp_path / "machine-b")
    bridges.append(second)
    try:
        replies_once_in_order(telegram, before)
        telegram.wait_for_text(contact, OUTCOME)  # the contact followed it to machine b
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n--- first bridge\n{first.tail()}\n--- second bridge\n"
                             f"{second.tail()}") from None
    assert sum(OUTCOME in str(c.params.get("text")) for c in telegram.sent(contact)) == 1
    by_chat = {sender(chat): [m for s, m in proxy.received[received:] if s == sender(chat)]
               for chat in chats}
    for chat in chats[:2]:  # answered before the kill: each message reached Rasa once
        assert len(by_chat[sender(chat)]) == 3 == len(set(by_chat[sender(chat)]))
    for chat in chats[2:]:  # at Rasa at the kill: that one sent again, with the same id
        assert len(by_chat[sender(chat)]) == 4 and len(set(by_chat[sender(chat)])) == 3


@pytest.mark.parametrize("seconds", [30.0])
def test_messages_before_and_during_a_telegram_outage_get_their_replies_once(
        stack: Stack, telegram: FakeTelegram, proxy: SlowRasa, bridges: list[Bridge],
        tmp_path: Path, seconds: float) -> None:
    bridges.append(Bridge(stack, telegram, proxy.url, tmp_path / "machine-c"))
    chats = [at_first_question(telegram) for _ in range(3)]
    before = {chat: len(telegram.sent(chat)) for chat in chats}
    pushed = [telegram.push_text(chat, ANSWERS[0][0])["update_id"] for chat in chats]
    wait_until(lambda: all(u in telegram.delivered for u in pushed))
    telegram.fail_for(seconds)  # just after the bridge took them: their answers meet it
    for text, _ in ANSWERS[1:]:
        time.sleep(seconds / 3)
        for chat in chats:
            telegram.push_text(chat, text)  # during it
    wait_until(lambda: not telegram.failing, timeout=seconds)
    replies_once_in_order(telegram, before)
    rejected = {c.method for c in telegram.rejected}
    assert {"getUpdates", "sendMessage"} <= rejected


def queued_chats(store: BridgeStore) -> dict[str, set[int]]:
    """The chats with something in each of the bridge's queues."""

    def read(session: Session) -> dict[str, set[int]]:
        updates = (json.loads(store.sealer.open(sealed))
                   for sealed in session.scalars(select(TelegramInboxUpdate.sealed)))
        return {"updates": {u["message"]["chat"]["id"] for u in updates if "message" in u},
                "messages": {store.sealer.open_chat(ref) for ref in session.scalars(
                    select(TelegramOutboxMessage.chat_ref))},
                "replies": {store.sealer.open_chat(ref) for ref in session.scalars(
                    select(TelegramReply.chat_ref))}}

    return store.call(read)


def wait_until(check: Any, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "not reached in time"
        time.sleep(0.05)
