"""The bridge's Rasa client and the retrying Bot API calls (python-telegram-bot, fake API)."""

from __future__ import annotations

import asyncio
import json
import socket

import httpx
import pytest
from telegram.error import BadRequest, NetworkError
from telegram.ext import ExtBot

from bot.devtools.fake_telegram import FakeTelegram
from bot.telegram.rasa import (
    Button,
    RasaClient,
    RasaRejected,
    RasaUnavailable,
    Reply,
    parse_replies,
)
from bot.telegram.retry import RetryingLimiter

# PTB 22 itself warns, when it raises RetryAfter, that retry_after will become a timedelta.
pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")


def rasa_answering(status: int, body: object) -> tuple[RasaClient, list[dict[str, object]]]:
    """A client whose transport answers every post with ``status`` and ``body``."""
    seen: list[dict[str, object]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(json.loads(request.content))
        return httpx.Response(status, json=body)

    return RasaClient("http://rasa.test", transport=httpx.MockTransport(handler)), seen


def test_replies_are_parsed_and_metadata_sent() -> None:
    client, seen = rasa_answering(200, [{"recipient_id": "x", "text": "Hi"},
                                        {"text": "Pick", "buttons": [
                                            {"title": "A", "payload": "/choose"}]},
                                        {"image": "ignored.png"}])
    replies = asyncio.run(client.send("pseudonym", "hello", "tg-7"))
    assert [r.text for r in replies] == ["Hi", "Pick"]
    assert replies[1].buttons == (Button("A", "/choose"),)
    assert seen == [{"sender": "pseudonym", "message": "hello",
                     "metadata": {"message_id": "tg-7", "channel": "telegram"}}]


@pytest.mark.parametrize(("status", "body"), [(200, []), (502, {"error": "bad gateway"}),
                                              (200, {"not": "a list"})])
def test_server_errors_and_silence_mean_unavailable(status: int, body: object) -> None:
    client, _ = rasa_answering(status, body)
    with pytest.raises(RasaUnavailable):
        asyncio.run(client.send("p", "hello", "tg-1"))


def test_client_errors_are_rejections() -> None:
    client, _ = rasa_answering(400, {"error": "bad request"})
    with pytest.raises(RasaRejected):
        asyncio.run(client.send("p", "hello", "tg-1"))


def test_connection_refused_is_unavailable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nothing listens there
    with pytest.raises(RasaUnavailable, match="cannot reach Rasa"):
        asyncio.run(RasaClient(f"http://127.0.0.1:{port}").send("p", "hello", "tg-1"))


def test_parse_skips_empty_messages_but_not_button_only_ones() -> None:
    replies = parse_replies([{"text": ""}, {"buttons": [{"title": "Go", "payload": "/go"}]}])
    assert replies[0].text == "" and replies[0].buttons == (Button("Go", "/go"),)


async def send_with_retries(telegram: FakeTelegram, **limiter: float) -> None:
    bot = ExtBot(telegram.token, base_url=f"{telegram.base_url}/bot",
                 rate_limiter=RetryingLimiter(base_delay=0.01, **limiter))
    async with bot:
        await bot.send_message(42, "hello")


def test_429_and_5xx_are_retried_until_delivered() -> None:
    with FakeTelegram() as telegram:
        telegram.fail_next("sendMessage", 1, status=429)
        telegram.fail_next("sendMessage", 2, status=502)
        asyncio.run(send_with_retries(telegram))
        assert [c.method for c in telegram.rejected] == ["sendMessage"] * 3
        assert [c.params["text"] for c in telegram.sent(42)] == ["hello"]


def test_retries_stop_after_the_last_attempt() -> None:
    with FakeTelegram() as telegram:
        telegram.fail_next("sendMessage", 5, status=500)
        with pytest.raises(NetworkError):
            asyncio.run(send_with_retries(telegram, attempts=3))
        assert len(telegram.rejected) == 3 and telegram.sent(42) == []


def test_bad_requests_are_not_retried() -> None:
    with FakeTelegram() as telegram:
        telegram.fail_next("sendMessage", 1, status=400)
        with pytest.raises(BadRequest):
            asyncio.run(send_with_retries(telegram))
        assert len(telegram.rejected) == 1


def test_rasas_apology_keeps_the_message_queued() -> None:
    """rasa_ext.unavailable's reply: the marker, then the apology text."""
    body = [{"recipient_id": "x", "custom": {"data": {"codesign": "unavailable"}}},
            {"recipient_id": "x", "text": "Sorry, I can’t take your message right now"}]
    with pytest.raises(RasaUnavailable, match="could not take the message"):
        parse_replies(body)
    assert parse_replies([{"custom": {"data": {"other": 1}}}, {"text": "Hi"}]) == [Reply("Hi")]
