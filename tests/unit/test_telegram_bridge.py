"""The bridge's behaviour: python-telegram-bot against the fake Bot API, a scripted Rasa.

The whole conversation against the real Rasa is in ``tests/e2e/test_telegram_e2e.py``;
here Rasa is a small HTTP server that echoes, so each rule can be checked quickly.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from bot.devtools.bridge import BridgeThread
from bot.devtools.fake_telegram import FakeTelegram
from bot.store.pseudonym import participant_key
from bot.telegram.config import TelegramConfig
from bot.telegram.guards import ChatRateLimiter
from bot.telegram.handlers import (
    EDITED,
    EXPIRED_BUTTON,
    SLOW_DOWN,
    TEXT_ONLY,
    UNKNOWN_COMMAND,
)
from bot.telegram.relay import UNAVAILABLE
from bot.text.limits import DEFAULT_MAX_CHARS, too_long_reply


@dataclass
class EchoRasa:
    """Answers ``echo: <message>`` with ``buttons`` (after ``delay`` seconds), or 503 while
    ``down``."""

    received: list[dict[str, Any]] = field(default_factory=list)
    down: bool = False
    delay: float = 0.0
    buttons: list[dict[str, str]] = field(
        default_factory=lambda: [{"title": "Again", "payload": "/again"}])

    def serve(self) -> ThreadingHTTPServer:
        rasa = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if rasa.down:
                    self.send_response(503)
                    self.end_headers()
                    return
                rasa.received.append(body)
                time.sleep(rasa.delay)
                reply = [{"text": f"echo: {body['message']}", "buttons": rasa.buttons}]
                data = json.dumps(reply).encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server

    @property
    def messages(self) -> list[str]:
        return [body["message"] for body in self.received]


def eventually(check: Callable[[], bool], timeout: float = 20) -> None:
    """Wait until ``check()`` holds."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "not reached in time"
        time.sleep(0.05)


@dataclass
class Harness:
    telegram: FakeTelegram
    rasa: EchoRasa
    bridge: BridgeThread


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    rasa = EchoRasa()
    server = rasa.serve()
    with FakeTelegram() as telegram:
        config = TelegramConfig(token=telegram.token, secret_key=b"unit-test-secret-key",
                                rasa_url=f"http://127.0.0.1:{server.server_address[1]}",
                                api_base_url=telegram.base_url,
                                database_url=f"sqlite:///{tmp_path / 'app.db'}",
                                outbox_path=tmp_path / "outbox.sqlite3",
                                contacts_path=tmp_path / "contacts.sqlite3")
        limiter = ChatRateLimiter(burst=5, per_minute=0.001)  # no refill during a test
        with BridgeThread(config, retry_interval=0.2, limiter=limiter) as bridge:
            yield Harness(telegram, rasa, bridge)
    server.shutdown()


def test_typed_text_is_relayed_and_the_reply_has_a_keyboard(harness: Harness) -> None:
    harness.telegram.push_text(5, "hello there")
    reply = harness.telegram.wait_for_text(5, "echo: hello there")
    assert reply.params["reply_markup"]["inline_keyboard"][0][0]["text"] == "Again"
    assert harness.telegram.calls_of("sendChatAction", 5) == []  # a quick reply needs none
    body = harness.rasa.received[0]
    assert body["sender"] == participant_key(b"unit-test-secret-key", "telegram", "5")
    assert body["metadata"]["channel"] == "telegram"
    assert body["metadata"]["message_id"].startswith("tg-")
    assert "parse_mode" not in reply.params  # plain text: nothing read as formatting


def test_a_slow_reply_shows_typing_first_and_is_never_overtaken_by_it(
        harness: Harness) -> None:
    harness.rasa.delay = 1.0
    harness.telegram.push_text(8, "a question that takes a while")
    reply = harness.telegram.wait_for_text(8, "echo: a question")
    typing = harness.telegram.calls_of("sendChatAction", 8)
    assert [call.params["action"] for call in typing] == ["typing"]
    assert typing[0].at < reply.at


def test_a_flood_gets_one_notice_and_is_dropped(harness: Harness) -> None:
    for number in range(8):
        harness.telegram.push_text(6, f"message {number}")
    harness.telegram.push_text(7, "another citizen")
    harness.telegram.wait_for_text(7, "echo: another citizen")
    harness.telegram.wait_for_text(6, SLOW_DOWN)
    harness.telegram.wait_for_text(6, "echo: message 4")
    assert harness.rasa.messages.count("message 5") == 0
    texts = [c.params["text"] for c in harness.telegram.sent(6)]
    assert texts.count(SLOW_DOWN) == 1


def test_rasa_down_keeps_the_message_and_delivers_it_when_back(harness: Harness) -> None:
    harness.bridge.relay.outbox.policy.backoff = 0.1  # retry soon (15 s, doubling, normally)
    harness.rasa.down = True
    harness.telegram.push_text(8, "my answer")
    harness.telegram.wait_for_text(8, UNAVAILABLE)
    assert harness.bridge.queued() == {"updates": 0, "messages": 1, "replies": 0}
    harness.rasa.down = False
    harness.telegram.wait_for_text(8, "echo: my answer")  # by the retry loop
    assert harness.rasa.messages == ["my answer"]
    eventually(lambda: harness.bridge.queued() == {"updates": 0, "messages": 0, "replies": 0})


def test_queued_messages_go_first_on_the_next_message(harness: Harness) -> None:
    harness.bridge.relay.outbox.policy.backoff = 3600  # keep the retry loop out of it
    harness.rasa.down = True
    harness.telegram.push_text(9, "first")
    harness.telegram.wait_for_text(9, UNAVAILABLE)
    harness.rasa.down = False
    harness.telegram.push_text(9, "second")
    harness.telegram.wait_for_text(9, "echo: second")
    assert harness.rasa.messages == ["first", "second"]
    texts = [c.params["text"] for c in harness.telegram.sent(9)]
    assert texts.index("echo: first") < texts.index("echo: second")


def test_a_keyboard_pressed_twice_is_relayed_once(harness: Harness) -> None:
    harness.telegram.push_text(10, "hi")
    message = harness.telegram.wait_for_text(10, "echo: hi").params["_message"]
    harness.telegram.push_press(10, message, "/again")
    harness.telegram.push_press(10, message, "/again")
    harness.telegram.wait_for("answerCallbackQuery", count=2)
    harness.telegram.wait_for_text(10, "echo: /again")
    harness.telegram.push_text(10, "later")  # ordered after the presses
    harness.telegram.wait_for_text(10, "echo: later")
    assert harness.rasa.messages == ["hi", "/again", "later"]
    assert len(harness.telegram.calls_of("editMessageReplyMarkup", 10)) == 1


def test_expired_button_tells_the_citizen_to_type(harness: Harness) -> None:
    message = harness.telegram.message(11, "old", from_bot=True)
    harness.telegram.push_press(11, message, "~forgottentoken")
    answer = harness.telegram.wait_for("answerCallbackQuery")
    assert answer.params["text"] == EXPIRED_BUTTON
    assert harness.rasa.messages == []


def test_non_text_edits_and_unknown_commands_get_a_hint(harness: Harness) -> None:
    harness.telegram.push_update({"message": {**harness.telegram.message(12, ""),
                                              "text": None, "sticker": None,
                                              "photo": [{"file_id": "f", "file_unique_id": "u",
                                                         "width": 1, "height": 1}]}})
    harness.telegram.wait_for_text(12, TEXT_ONLY)
    harness.telegram.push_text(12, "/frobnicate")
    harness.telegram.wait_for_text(12, UNKNOWN_COMMAND)
    edited = {**harness.telegram.message(12, "my corrected answer"), "edit_date": 1}
    harness.telegram.push_update({"edited_message": edited})
    harness.telegram.wait_for_text(12, EDITED)
    harness.telegram.push_text(12, "/help")
    harness.telegram.wait_for_text(12, "echo: /help")
    assert harness.rasa.messages == ["/help"]


def test_a_message_over_the_limit_is_answered_without_rasa_and_others_are_cleaned(
        harness: Harness) -> None:
    harness.telegram.push_text(13, "x" * (DEFAULT_MAX_CHARS + 1))
    harness.telegram.wait_for_text(13, too_long_reply(DEFAULT_MAX_CHARS))
    harness.telegram.push_text(13, "y" * DEFAULT_MAX_CHARS)  # at the limit: relayed
    harness.telegram.wait_for_text(13, "echo: yyy")
    harness.telegram.push_text(13, "Cafe\u0301\u200b at\x00 night\u202e")
    harness.telegram.wait_for_text(13, "echo: Café at night")
    assert harness.rasa.messages == ["y" * DEFAULT_MAX_CHARS, "Café at night"]
    eventually(lambda: harness.bridge.queued() == {"updates": 0, "messages": 0, "replies": 0})
