"""Telegram rendering: splitting long texts, keyboards, callback-data tokens (kept in the
app store)."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from bot.store.db import migrate
from bot.store.models import utcnow
from bot.store.telegram_models import TelegramCallbackToken
from bot.telegram.rasa import Button, Reply
from bot.telegram.render import (
    BUTTONS_ONLY,
    MAX_CALLBACK_DATA,
    CallbackTokens,
    keyboard,
    markup,
    messages,
    split_text,
    utf16_len,
)
from bot.telegram.store import BridgeStore

LONG_PAYLOAD = '/start_consultation{"consultation":"a-consultation-with-a-very-long-slug-2027"}'


def test_short_text_is_one_part_and_empty_text_none() -> None:
    assert split_text("  Question 1 of 8  ") == ["Question 1 of 8"]
    assert split_text("") == []


def test_split_prefers_paragraphs_then_lines_then_spaces() -> None:
    paragraph = "word " * 30  # 150 characters
    text = "\n\n".join([paragraph.strip()] * 3)
    parts = split_text(text, limit=320)
    assert parts == ["\n\n".join([paragraph.strip()] * 2), paragraph.strip()]
    lines = "\n".join(["a line of text"] * 10)
    parts = split_text(lines, limit=40)
    assert len(parts) == 5
    assert all(part.split("\n") == ["a line of text"] * 2 for part in parts)
    assert split_text("alpha beta gamma", limit=11) == ["alpha beta", "gamma"]


def test_split_cuts_a_word_longer_than_the_limit() -> None:
    assert split_text("x" * 25, limit=10) == ["x" * 10, "x" * 10, "x" * 5]


def test_split_counts_utf16_units_and_keeps_every_character() -> None:
    text = ("🗳️ vote " * 900).strip()  # emoji outside the BMP count 2 units
    parts = split_text(text)
    assert len(parts) > 1
    assert all(utf16_len(part) <= 4096 for part in parts)
    assert " ".join(parts).split() == text.split()


@pytest.fixture
def store(sqlite_url: str) -> BridgeStore:
    migrate(sqlite_url)
    return BridgeStore(sqlite_url, b"test-secret-key-0123456789abcdef")


def test_short_payloads_are_used_as_they_are(store: BridgeStore) -> None:
    tokens = CallbackTokens()
    payload = '/choose{"choice":"q3:1"}'
    assert store.call(lambda s: tokens.data_for(s, "chat-1", payload)) == payload
    assert store.call(lambda s: tokens.payload_for(s, "chat-1", payload)) == payload
    assert store.call(lambda s: tokens.payload_for(s, "chat-2", payload)) == payload  # any chat
    assert store.call(lambda s: s.scalar(select(func.count(TelegramCallbackToken.token)))) == 0


def test_long_payloads_become_short_tokens_per_chat(store: BridgeStore) -> None:
    tokens = CallbackTokens()
    data = store.call(lambda s: tokens.data_for(s, "chat-1", LONG_PAYLOAD))
    assert len(data.encode()) <= MAX_CALLBACK_DATA and data != LONG_PAYLOAD
    assert store.call(lambda s: tokens.data_for(s, "chat-1", LONG_PAYLOAD)) == data  # stable
    assert store.call(lambda s: CallbackTokens().payload_for(s, "chat-1", data)) == \
        LONG_PAYLOAD  # known to a bridge restarted elsewhere
    assert store.call(lambda s: tokens.payload_for(s, "chat-2", data)) is None


def test_tokens_are_bounded_per_chat_and_pruned_after_a_month(store: BridgeStore) -> None:
    tokens = CallbackTokens(per_chat=2)
    first = store.call(lambda s: tokens.data_for(s, "chat-1", LONG_PAYLOAD + "1"))
    time.sleep(0.01)
    second = store.call(lambda s: tokens.data_for(s, "chat-1", LONG_PAYLOAD + "2"))
    time.sleep(0.01)
    store.call(lambda s: tokens.data_for(s, "chat-1", LONG_PAYLOAD + "1"))  # used again
    time.sleep(0.01)
    store.call(lambda s: tokens.data_for(s, "chat-1", LONG_PAYLOAD + "3"))
    assert store.call(lambda s: tokens.payload_for(s, "chat-1", second)) is None  # the oldest
    assert store.call(lambda s: tokens.payload_for(s, "chat-1", first)) == LONG_PAYLOAD + "1"
    other = store.call(lambda s: tokens.data_for(s, "chat-2", LONG_PAYLOAD))
    assert store.call(tokens.prune) == 0
    store.call(lambda s: s.execute(update(TelegramCallbackToken).values(
        created_at=utcnow() - timedelta(days=31))))
    assert store.call(tokens.prune) == 3
    assert store.call(lambda s: tokens.payload_for(s, "chat-2", other)) is None


def test_keyboard_rows_and_callback_data() -> None:
    def data_for(payload: str) -> str:
        return "~token" if len(payload) > MAX_CALLBACK_DATA else payload

    options = keyboard((Button("Evenings (after 6pm)", '/choose{"choice":"q3:1"}'),
                        Button("Library", LONG_PAYLOAD)), data_for)
    assert options == [
        [{"text": "Evenings (after 6pm)", "callback_data": '/choose{"choice":"q3:1"}'}],
        [{"text": "Library", "callback_data": "~token"}]]
    built = markup(options)
    assert built is not None and built.inline_keyboard[1][0].callback_data == "~token"
    scale = keyboard(tuple(Button(str(n), f'/choose{{"choice":"q4:{n}"}}')
                           for n in range(1, 6)), data_for)
    assert scale is not None and len(scale) == 1  # 1-5 on one row
    assert keyboard((), data_for) is None and markup(None) is None


def test_replies_become_messages_with_the_keyboard_under_the_last_part() -> None:
    long_text = "\n\n".join(["word " * 700] * 2)  # two parts
    out = messages([Reply(long_text, (Button("OK", "/affirm"),)),
                    Reply("", (Button("Yes", "/y"),)), Reply("Plain")], lambda payload: payload)
    assert [keyboard is not None for _, keyboard in out] == [False, True, True, False]
    assert out[2] == (BUTTONS_ONLY, [[{"text": "Yes", "callback_data": "/y"}]])
    assert all(utf16_len(text) <= 4096 for text, _ in out)
