"""Telegram rendering: splitting long texts, keyboards, callback-data tokens."""

from __future__ import annotations

from bot.telegram.rasa import Button
from bot.telegram.render import (
    MAX_CALLBACK_DATA,
    CallbackTokens,
    keyboard,
    split_text,
    utf16_len,
)

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


def test_short_payloads_are_used_as_they_are() -> None:
    tokens = CallbackTokens()
    payload = '/choose{"choice":"q3:1"}'
    assert tokens.data_for(1, payload) == payload
    assert tokens.payload_for(1, payload) == payload
    assert tokens.payload_for(2, payload) == payload  # any chat: it is the payload itself


def test_long_payloads_become_short_tokens_per_chat() -> None:
    tokens = CallbackTokens()
    data = tokens.data_for(1, LONG_PAYLOAD)
    assert len(data.encode()) <= MAX_CALLBACK_DATA and data != LONG_PAYLOAD
    assert tokens.data_for(1, LONG_PAYLOAD) == data  # stable
    assert tokens.payload_for(1, data) == LONG_PAYLOAD
    assert tokens.payload_for(2, data) is None  # another chat's token is unknown


def test_tokens_are_bounded_per_chat_and_in_chats() -> None:
    tokens = CallbackTokens(per_chat=2, max_chats=2)
    first = tokens.data_for(1, LONG_PAYLOAD + "1")
    tokens.data_for(1, LONG_PAYLOAD + "2")
    tokens.data_for(1, LONG_PAYLOAD + "3")
    assert tokens.payload_for(1, first) is None  # the oldest of chat 1 went
    kept = tokens.data_for(2, LONG_PAYLOAD)
    tokens.data_for(3, LONG_PAYLOAD)
    assert tokens.payload_for(1, tokens.data_for(1, LONG_PAYLOAD + "3")) is not None
    assert tokens.payload_for(2, kept) is None  # chat 2 was the least recently active


def test_keyboard_rows_and_callback_data() -> None:
    tokens = CallbackTokens()
    options = keyboard(7, (Button("Evenings (after 6pm)", '/choose{"choice":"q3:1"}'),
                           Button("Library", LONG_PAYLOAD)), tokens)
    assert options is not None
    rows = options.inline_keyboard
    assert [[b.text for b in row] for row in rows] == [["Evenings (after 6pm)"], ["Library"]]
    assert tokens.payload_for(7, str(rows[1][0].callback_data)) == LONG_PAYLOAD
    scale = keyboard(7, tuple(Button(str(n), f'/choose{{"choice":"q4:{n}"}}')
                              for n in range(1, 6)), tokens)
    assert scale is not None and len(scale.inline_keyboard) == 1  # 1-5 on one row
    assert keyboard(7, (), tokens) is None
