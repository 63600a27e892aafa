"""Citizen text on the Rasa server: the message size limit and cleaning, before NLU.

A twin of the app's ``bot.text.limits`` and ``bot.text.clean`` (read their docstrings
for the rules and why): the Rasa server runs in its own environment (Python 3.10, Rasa's
pinned libraries) and its container image holds ``rasa_ext`` but not the ``bot``
package, so it cannot import them. Standard library only;
``tests/unit/test_text_clean.py`` loads this file by its path and checks that it gives
the same results as the app's modules, so the two cannot drift apart.
"""

from __future__ import annotations

import os
import re
import unicodedata
from typing import Dict, Mapping, Optional

ENV = "CODESIGN_MAX_MESSAGE_CHARS"
DEFAULT_MAX_CHARS = 2000
TELEGRAM_MAX_CHARS = 4096


def max_message_chars(environ: Optional[Mapping[str, str]] = None) -> int:
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


_LINE_BREAKS = {0x0D: "\n", 0x85: "\n", 0x2028: "\n", 0x2029: "\n"}
_KEPT_CONTROLS = {0x09, 0x0A}
_INVISIBLE = [0x00AD, 0x180E, 0x200B, 0x2060, 0x2061, 0x2062, 0x2063, 0x2064, 0xFEFF,
              0xFFF9, 0xFFFA, 0xFFFB, *range(0x202A, 0x202F), *range(0x2066, 0x2070)]
_NONCHARACTERS = [*range(0xFDD0, 0xFDF0),
                  *(plane * 0x10000 + low for plane in range(17) for low in (0xFFFE, 0xFFFF))]


def _removal_table() -> Dict[int, Optional[str]]:
    table: Dict[int, Optional[str]] = {}
    for point in [*range(0x20), *range(0x7F, 0xA0)]:
        if point not in _KEPT_CONTROLS:
            table[point] = None
    for point in [*range(0xD800, 0xE000), *_INVISIBLE, *_NONCHARACTERS]:
        table[point] = None
    table.update(_LINE_BREAKS)
    return table


_TABLE = _removal_table()
_TAGS = re.compile("(\U0001F3F4[\U000E0020-\U000E007E]{1,32}\U000E007F)|[\U000E0000-\U000E007F]")
_RUNS = re.compile("([\u200c\u200d])[\u200c\u200d]+|"
                   "([\ufe00-\ufe0f\U000E0100-\U000E01EF])[\ufe00-\ufe0f\U000E0100-\U000E01EF]+")


def clean(text: str) -> str:
    """``text`` with ``bot.text.clean``'s rules applied; in NFC, idempotent."""
    text = text.replace("\r\n", "\n").translate(_TABLE)
    text = _TAGS.sub(lambda found: found.group(1) or "", text)
    text = _RUNS.sub(lambda found: found.group(1) or found.group(2), text)
    return unicodedata.normalize("NFC", text)
