"""Bot replies as Telegram messages: text split below the length limit, inline keyboards.

Texts are sent as plain text (no ``parse_mode``): Telegram then shows every character as
written, so nothing in a consultation's wording or a citizen's quoted answer can be read
as formatting, and no escaping can be forgotten.
"""

from __future__ import annotations

import hashlib
from base64 import urlsafe_b64encode
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.store.models import utcnow
from bot.store.telegram_models import TelegramCallbackToken
from bot.telegram.rasa import Button, Reply
from bot.telegram.store import change

MAX_MESSAGE = 4096  # Telegram's limit, in UTF-16 code units
MAX_CALLBACK_DATA = 64  # bytes
TOKEN_PREFIX = "~"
BUTTONS_ONLY = "Please choose:"
#: Rows of ``{"text": title, "callback_data": data}`` buttons, as stored with a reply.
Keyboard = list[list[dict[str, str]]]
#: One Telegram message: its text and its keyboard.
Message = tuple[str, Keyboard | None]


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


@dataclass
class CallbackTokens:
    """Maps button payloads to ``callback_data`` (at most 64 bytes) and back, per chat.

    A payload that fits is used as it is (payloads start with ``/``), so those buttons work
    whatever happened to the bridge. A longer one becomes ``~`` + a short hash, kept in the
    app store for the chat (``telegram_callback_tokens``), so it also works after the
    bridge moved to another machine. Each chat keeps its ``per_chat`` latest tokens (a
    token used again counts as new); tokens older than ``max_age_days`` are pruned.
    """

    per_chat: int = 256
    max_age_days: float = 30

    def data_for(self, session: Session, chat_key: str, payload: str) -> str:
        """The ``callback_data`` of a button with ``payload`` in the chat."""
        if len(payload.encode()) <= MAX_CALLBACK_DATA and not payload.startswith(TOKEN_PREFIX):
            return payload
        digest = hashlib.sha256(payload.encode()).digest()
        token = TOKEN_PREFIX + urlsafe_b64encode(digest[:12]).decode()
        known = session.get(TelegramCallbackToken, (chat_key, token))
        if known is not None:
            known.created_at = utcnow()
            return token
        session.add(TelegramCallbackToken(chat_key=chat_key, token=token, payload=payload))
        session.flush()
        latest = (select(TelegramCallbackToken.token)
                  .where(TelegramCallbackToken.chat_key == chat_key)
                  .order_by(TelegramCallbackToken.created_at.desc()).limit(self.per_chat))
        change(session, delete(TelegramCallbackToken).where(
            TelegramCallbackToken.chat_key == chat_key,
            TelegramCallbackToken.token.not_in(latest)))
        return token

    def payload_for(self, session: Session, chat_key: str, data: str) -> str | None:
        """The payload of a pressed button, or None when its token is unknown."""
        if not data.startswith(TOKEN_PREFIX):
            return data
        known = session.get(TelegramCallbackToken, (chat_key, data))
        return known.payload if known is not None else None

    def prune(self, session: Session) -> int:
        """Delete the tokens older than ``max_age_days``; returns how many."""
        cutoff = utcnow() - timedelta(days=self.max_age_days)
        return change(session, delete(TelegramCallbackToken)
                      .where(TelegramCallbackToken.created_at < cutoff))


def keyboard(buttons: tuple[Button, ...], data_for: Callable[[str], str]) -> Keyboard | None:
    """The rows of an inline keyboard, or None without buttons.

    One button per row (option titles are often sentences), except that short titles such
    as the points of a 1-5 scale share one row.

    Args:
        buttons: the bot's buttons.
        data_for: the ``callback_data`` of a payload (e.g. ``CallbackTokens.data_for``).
    """
    if not buttons:
        return None
    keys = [{"text": b.title, "callback_data": data_for(b.payload)} for b in buttons]
    if len(keys) <= 8 and all(len(b.title) <= 3 for b in buttons):
        return [keys]
    return [[key] for key in keys]


def markup(rows: Keyboard | None) -> InlineKeyboardMarkup | None:
    """The ``reply_markup`` of stored keyboard rows."""
    if not rows:
        return None
    return InlineKeyboardMarkup([[InlineKeyboardButton(key["text"],
                                                       callback_data=key["callback_data"])
                                  for key in row] for row in rows])


def messages(replies: list[Reply], data_for: Callable[[str], str]) -> list[Message]:
    """The Telegram messages of the bot's replies: long texts split, buttons under the last
    part of their reply (a reply of buttons alone gets a short text, as Telegram needs)."""
    out: list[Message] = []
    for reply in replies:
        parts = split_text(reply.text) or [BUTTONS_ONLY]
        rows = keyboard(reply.buttons, data_for)
        out.extend((part, rows if index == len(parts) - 1 else None)
                   for index, part in enumerate(parts))
    return out
