"""Bot replies as Telegram messages: text split below the length limit, inline keyboards.

Texts are sent as plain text (no ``parse_mode``): Telegram then shows every character as
written, so nothing in a consultation's wording or a citizen's quoted answer can be read
as formatting, and no escaping can be forgotten.
"""

from __future__ import annotations

import hashlib
from base64 import urlsafe_b64encode
from collections import OrderedDict

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.telegram.rasa import Button

MAX_MESSAGE = 4096  # Telegram's limit, in UTF-16 code units
MAX_CALLBACK_DATA = 64  # bytes
TOKEN_PREFIX = "~"


def utf16_len(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units: most emoji count 2)."""
    return len(text.encode("utf-16-le")) // 2


def split_text(text: str, limit: int = MAX_MESSAGE) -> list[str]:
    """Split ``text`` into parts of at most ``limit`` UTF-16 units.

    Cuts at the last paragraph break that fits, else a line break, else a space, else
    mid-word; the whitespace at a cut is dropped.

    Args:
        text: the text to split.
        limit: the maximum length of a part.

    Returns:
        The parts, in order (one part when the text fits; none when it is empty).
    """
    parts: list[str] = []
    rest = text.strip()
    while rest:
        if utf16_len(rest) <= limit:
            parts.append(rest)
            break
        head = _prefix_within(rest, limit)
        cut = next((i for sep in ("\n\n", "\n", " ") if (i := head.rfind(sep)) > 0), len(head))
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    return parts


def _prefix_within(text: str, limit: int) -> str:
    """The longest prefix of ``text`` of at most ``limit`` UTF-16 units."""
    units = 0
    for index, char in enumerate(text):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > limit:
            return text[:index]
    return text


class CallbackTokens:
    """Maps button payloads to ``callback_data`` (at most 64 bytes) and back, per chat.

    A payload that fits is used as it is (payloads start with ``/``), so those buttons
    keep working after a restart. A longer one becomes ``~`` + a short hash, remembered
    for the chat; each chat keeps its ``per_chat`` latest tokens and only the
    ``max_chats`` most recently active chats are kept.
    """

    def __init__(self, per_chat: int = 256, max_chats: int = 10_000) -> None:
        self.per_chat = per_chat
        self.max_chats = max_chats
        self._chats: OrderedDict[int, OrderedDict[str, str]] = OrderedDict()

    def data_for(self, chat_id: int, payload: str) -> str:
        """The ``callback_data`` of a button with ``payload`` in ``chat_id``."""
        if len(payload.encode()) <= MAX_CALLBACK_DATA and not payload.startswith(TOKEN_PREFIX):
            return payload
        digest = hashlib.sha256(payload.encode()).digest()
        token = TOKEN_PREFIX + urlsafe_b64encode(digest[:12]).decode()
        tokens = self._chat(chat_id)
        tokens[token] = payload
        tokens.move_to_end(token)
        while len(tokens) > self.per_chat:
            tokens.popitem(last=False)
        return token

    def payload_for(self, chat_id: int, data: str) -> str | None:
        """The payload of a pressed button, or None when its token was forgotten."""
        if not data.startswith(TOKEN_PREFIX):
            return data
        tokens = self._chats.get(chat_id)
        return tokens.get(data) if tokens is not None else None

    def _chat(self, chat_id: int) -> OrderedDict[str, str]:
        tokens = self._chats.get(chat_id)
        if tokens is None:
            tokens = self._chats[chat_id] = OrderedDict()
            while len(self._chats) > self.max_chats:
                self._chats.popitem(last=False)
        self._chats.move_to_end(chat_id)
        return tokens


def keyboard(chat_id: int, buttons: tuple[Button, ...],
             tokens: CallbackTokens) -> InlineKeyboardMarkup | None:
    """An inline keyboard, or None without buttons.

    One button per row (option titles are often sentences), except that short titles such
    as the points of a 1-5 scale share one row.
    """
    if not buttons:
        return None
    keys = [InlineKeyboardButton(b.title, callback_data=tokens.data_for(chat_id, b.payload))
            for b in buttons]
    if len(keys) <= 8 and all(len(b.title) <= 3 for b in buttons):
        return InlineKeyboardMarkup([keys])
    return InlineKeyboardMarkup([[key] for key in keys])
