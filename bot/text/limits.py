"""The longest message a citizen may send, on every channel.

One setting, ``CODESIGN_MAX_MESSAGE_CHARS`` (default 2,000 characters, at most 4,096:
Telegram's own limit). A longer message never reaches NLU or the store: the citizen is
asked for a shorter one. The Rasa server enforces it on the REST and socket.io channels
(``rasa_ext/text.py``, a twin of this module and ``bot.text.clean``), the Telegram bridge
before it queues a message.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

ENV = "CODESIGN_MAX_MESSAGE_CHARS"
DEFAULT_MAX_CHARS = 2000
TELEGRAM_MAX_CHARS = 4096


def max_message_chars(environ: Mapping[str, str] | None = None) -> int:
    """The limit from ``CODESIGN_MAX_MESSAGE_CHARS`` (default 2,000).

    Raises:
        ValueError: the variable is not a whole number from 1 to 4,096.
    """
    raw = (os.environ if environ is None else environ).get(ENV, "").strip()
    if not raw:
        return DEFAULT_MAX_CHARS
    if not raw.isdecimal() or not 1 <= int(raw) <= TELEGRAM_MAX_CHARS:
        raise ValueError(f"{ENV} must be a whole number of characters from 1 to "
                         f"{TELEGRAM_MAX_CHARS} (Telegram's limit), not {raw!r}")
    return int(raw)


def too_long(text: str, limit: int) -> bool:
    """Whether ``text`` has more than ``limit`` characters (code points)."""
    return len(text) > limit


def too_long_reply(limit: int) -> str:
    """What the citizen is told when their message is over the limit."""
    return (f"Sorry, that message is too long for me to read. Please send a shorter "
            f"version, up to {limit:,} characters.")
