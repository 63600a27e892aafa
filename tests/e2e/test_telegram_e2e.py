"""The Telegram bridge end to end: python-telegram-bot against the fake Bot API server,
the real Rasa server, the real action server and the database.

Rasa is reached through a small HTTP proxy that the tests can switch to answering 502,
as a load balancer does when Rasa is down.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.devtools.bridge import BridgeThread
from bot.devtools.fake_telegram import FakeTelegram
from bot.devtools.stack import ROOT, Stack
from bot.review.outcomes import publish_outcome
from bot.store import repository as repo
from bot.store.db import session_scope
from bot.store.pseudonym import participant_key
from bot.store.review_models import FollowUp
from bot.telegram.handlers import GROUP_REFUSAL
from bot.telegram.relay import UNAVAILABLE
from tests.e2e.helpers import answers_of, participation_of, polling_bridge

# PTB 22 itself warns, when it raises RetryAfter, that retry_after will become a timedelta.
pytestmark = [pytest.mark.e2e,
              pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")]
LIBRARY = "library-hours-2027"
SECRET = os.environ["CODESIGN_SECRET_KEY"].encode()
chat_ids = itertools.count(700_000_001)


class RasaProxy:
    """Forwards the REST channel to Rasa, or answers 502 while ``down``; notes senders."""

    def __init__(self, rasa_url: str) -> None:
        self.rasa_url = rasa_url
        self.down = False
        self.senders: list[str] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if proxy.down:
                    status, data = 502, b"Bad Gateway"
                else:
                    proxy.senders.append(json.loads(body)["sender"])
                    answer = httpx.post(f"{proxy.rasa_url}{self.path}", content=body,
                                        headers={"Content-Type": "application/json"},
                                        timeout=60)
                    status, data = answer.status_code, answer.content
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture(scope="module")
def proxy(stack: Stack) -> Iterator[RasaProxy]:
    running = RasaProxy(stack.rasa_url)
    yield running
    running.server.shutdown()


@pytest.fixture(scope="module")
def telegram() -> Iterator[FakeTelegram]:
    with FakeTelegram() as fake:
        yield fake


@pytest.fixture(scope="module")
def bridge(stack: Stack, telegram: FakeTelegram, proxy: RasaProxy,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[BridgeThread]:
    """The bridge in polling mode (in this process), relaying to Rasa through the proxy."""
    with polling_bridge(telegram, stack.database_url, proxy.url,
                        tmp_path_factory.mktemp("bridge")) as running:
        yield running


@pytest.fixture(autouse=True)
def service_up(proxy: RasaProxy) -> None:
    proxy.down = False


def sender(chat_id: int) -> str:
    """The pseudonymous id the bridge gives Rasa for a chat."""
    return participant_key(SECRET, "telegram", str(chat_id))


def test_whole_consultation_over_telegram(stack: Stack, telegram: FakeTelegram,
                                          bridge: BridgeThread) -> None:
    chat = next(chat_ids)
    reply = telegram.say(chat, "/start", "consultations are open")
    assert "Shaping our library opening hours" in json.dumps(
        telegram.sent(chat)[-1].params["reply_markup"])
    reply = telegram.choose(chat, "library", "Privacy")
    assert "Privacy" in reply and "365 days" in reply
    reply = telegram.choose(chat, "Yes, I agree", "Question 1 of")
    reply = telegram.say(chat, "a few times a yeer", "Question 2 of 8")
    reply = telegram.say(chat, "The library closes before I finish work, and buses are rare",
                         "Question 3 of 8")
    telegram.choose(chat, "Evenings", "Selected so far")
    reply = telegram.choose(chat, "Saturdays", "Selected so far: Evenings (after 6pm), Saturdays")
    reply = telegram.choose(chat, "Done", "Question 4 of 8")
    reply = telegram.choose(chat, "4", "Question 5 of 8")  # a scale button
    reply = telegram.say(chat, "2", "Question 6 of 8")
    reply = telegram.say(chat, "borrowing books, study space", "Question 7 of 8")
    reply = telegram.say(chat, "I would study there in the evenings after my shifts",
                         "Question 8 of 8")
    reply = telegram.say(chat, "Please keep the quiet study room open late",
                         "quote your words")
    reply = telegram.choose(chat, "Yes, you may quote me", "summary of your answers")
    reply = telegram.choose(chat, "Submit", "What happens next")
    assert "March 2027" in reply

    answers = answers_of(stack.database_url, sender(chat), channel="telegram")
    assert answers["visits"] == ("answered", "A few times a year")
    assert answers["preferred_times"] == ("answered", ["Evenings (after 6pm)", "Saturdays"])
    assert answers["evenings"] == ("answered", 4)
    assert answers["services"] == ("answered", ["Borrowing books", "Study or work space"])
    participation = participation_of(stack.database_url, sender(chat), channel="telegram")
    assert participation is not None
    assert participation.status == "completed" and participation.channel == "telegram"
    # Every press was answered and its keyboard cleared. ("typing…" shows only on turns
    # slower than relay.TYPING_AFTER: tests/unit/test_telegram_bridge.py.)
    presses = [c for c in telegram.calls_of("answerCallbackQuery")
               if c.params["callback_query_id"] in telegram.query_ids(chat)]
    assert len(presses) == 8
    assert len(telegram.calls_of("editMessageReplyMarkup", chat)) == 8
    senders = tracker_senders(stack)
    assert sender(chat) in senders and str(chat) not in senders  # raw ids never reach Rasa

    # Close the loop: the citizen asks to hear back; the outcome is pushed once published.
    telegram.wait_for_text(chat, "tell you what the council decides")
    telegram.choose(chat, "Yes, tell me", "let you know")
    with session_scope(stack.database_url) as session:
        library = repo.get_consultation(session, "library-hours-2027")
        assert library is not None
        publish_outcome(session, library.id, "From May 2027 the library opens until 8pm.",
                        None)
    pushed = telegram.wait_for_text(chat, "until 8pm")
    assert "An update on “Shaping our library opening hours”" in pushed.params["text"]
    deadline = time.monotonic() + 30  # the bridge records it right after sending
    while True:
        with session_scope(stack.database_url) as session:
            follow_up = session.get(FollowUp, participation.id)
            assert follow_up is not None
            if follow_up.told_at is not None or time.monotonic() > deadline:
                break
        time.sleep(0.2)
    assert follow_up.told_at is not None
    assert len([c for c in telegram.sent(chat) if "until 8pm" in str(c.params.get("text"))]) == 1


def tracker_senders(stack: Stack) -> list[str]:
    """Sender ids in Rasa's tracker store."""
    from sqlalchemy import text

    from bot.store.db import session_scope

    with session_scope(stack.database_url) as session:
        return [row[0] for row in session.execute(text("SELECT DISTINCT sender_id FROM events"))]


def test_deep_link_starts_the_consultation(telegram: FakeTelegram, bridge: BridgeThread) -> None:
    chat = next(chat_ids)
    reply = telegram.say(chat, f"/start {LIBRARY}", "Privacy")
    assert "Shaping our library opening hours" in reply and "Privacy" in reply
    reply = telegram.say(chat, "/start not a slug!", "consultations are open")  # plain /start


def test_pressed_keyboard_is_answered_and_cleared(telegram: FakeTelegram,
                                                  bridge: BridgeThread) -> None:
    chat = next(chat_ids)
    telegram.say(chat, "/consultations", "consultations are open")
    keyboard_message = telegram.sent(chat)[-1].params["_message"]
    telegram.choose(chat, "library", "Privacy")
    cleared = telegram.calls_of("editMessageReplyMarkup", chat)
    assert [int(c.params["message_id"]) for c in cleared] == [keyboard_message["message_id"]]
    assert "reply_markup" not in cleared[0].params  # no keyboard any more
    assert telegram.calls_of("answerCallbackQuery")


def test_duplicate_update_is_handled_once(telegram: FakeTelegram, bridge: BridgeThread) -> None:
    chat = next(chat_ids)
    update = telegram.push_text(chat, "/start")
    telegram.wait_for_text(chat, "consultations are open")
    telegram.push_update(json.loads(json.dumps(update)))  # delivered again, same update_id
    telegram.say(chat, "/help", "")  # handled after the duplicate (one chat, in order)
    texts = telegram.texts(chat)
    assert texts.count("consultations are open") == 1


def test_429_from_telegram_is_retried(telegram: FakeTelegram, bridge: BridgeThread) -> None:
    chat = next(chat_ids)
    rejected = len(telegram.rejected)
    telegram.fail_next("sendMessage", 1, status=429)
    telegram.say(chat, "/start", "consultations are open")
    assert [c.method for c in telegram.rejected[rejected:]] == ["sendMessage"]


def test_rasa_down_then_message_delivered(telegram: FakeTelegram, proxy: RasaProxy,
                                          bridge: BridgeThread) -> None:
    chat = next(chat_ids)
    bridge.relay.outbox.policy.backoff = 0.5  # retry soon (15 s, doubling, by default)
    proxy.down = True
    telegram.say(chat, f"/start {LIBRARY}", UNAVAILABLE)
    assert bridge.queued()["messages"] == 1
    proxy.down = False
    telegram.wait_for_text(chat, "Privacy")  # the kept message, delivered by the retry
    assert bridge.queued()["messages"] == 0
    assert proxy.senders.count(sender(chat)) == 1


def test_group_chat_is_refused_once_and_not_relayed(telegram: FakeTelegram, proxy: RasaProxy,
                                                    bridge: BridgeThread) -> None:
    group = -1_000_000_000_000 - next(chat_ids)
    telegram.push_text(group, "hello bot", chat_type="supergroup")
    refusal = telegram.wait_for("sendMessage", group)
    assert "private chats" in refusal.params["text"]
    assert f"https://t.me/{telegram.username}" in refusal.params["text"]
    telegram.push_text(group, "/start", chat_type="group")
    chat = next(chat_ids)
    telegram.say(chat, "/start", "consultations are open")  # the group update was handled
    assert len(telegram.sent(group)) == 1
    assert sender(group) not in proxy.senders
    assert GROUP_REFUSAL.format(link="")[:20] in refusal.params["text"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_webhook_mode_checks_the_secret(stack: Stack, telegram: FakeTelegram,
                                        tmp_path: Path) -> None:
    """``codesign telegram`` in webhook mode: right secret relayed, wrong one 403."""
    port = free_port()
    env = {**stack.env(), "TELEGRAM_BOT_TOKEN": telegram.token, "TELEGRAM_MODE": "webhook",
           "TELEGRAM_API_BASE_URL": telegram.base_url, "RASA_URL": stack.rasa_url,
           "TELEGRAM_WEBHOOK_URL": f"http://127.0.0.1:{port}/telegram-hook",
           "TELEGRAM_WEBHOOK_SECRET": "right-secret_123", "TELEGRAM_WEBHOOK_PORT": str(port),
           "CODESIGN_VAR_DIR": str(tmp_path)}
    set_before = len(telegram.calls_of("setWebhook"))
    process = subprocess.Popen([str(ROOT / ".venv/bin/codesign"), "telegram"], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        registered = telegram.wait_for("setWebhook", count=set_before + 1)
        assert registered.params["url"] == env["TELEGRAM_WEBHOOK_URL"]
        assert registered.params["secret_token"] == "right-secret_123"
        hook = env["TELEGRAM_WEBHOOK_URL"]
        forged_chat, chat = next(chat_ids), next(chat_ids)
        forged = {"update_id": 990_001, "message": telegram.message(forged_chat, "/start")}
        genuine = {"update_id": 990_002, "message": telegram.message(chat, "hello")}
        answer = post_when_listening(hook, forged, "wrong-secret")
        assert answer.status_code == 403
        assert httpx.post(hook, json=forged).status_code == 403  # no secret at all
        assert post_when_listening(hook, genuine, "right-secret_123").status_code == 200
        telegram.wait_for_text(chat, "consultations are open")
        assert telegram.sent(forged_chat) == []
    finally:
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=30)[0]
    assert process.returncode == 0, output
    assert "bridge starting (webhook" in output


def post_when_listening(url: str, update: dict[str, Any], secret: str) -> httpx.Response:
    """POST an update as Telegram does, waiting (up to 30 s) for the server to listen."""
    deadline = time.monotonic() + 30
    while True:
        try:
            return httpx.post(url, json=update,
                              headers={"X-Telegram-Bot-Api-Secret-Token": secret}, timeout=10)
        except httpx.ConnectError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
