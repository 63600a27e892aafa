"""Cleaning citizen text and the message size limit (``bot.text``), and their twin on the
Rasa server (``rasa_ext/text.py``, loaded by its path: the package imports Rasa)."""

from __future__ import annotations

import importlib.util
import json
import random
import sys
import unicodedata
from typing import Any

import pytest

from bot.text import clean as app_clean
from bot.text import limits
from tests.conftest import ROOT

SCOTLAND = "\U0001F3F4\U000E0067\U000E0062\U000E0073\U000E0063\U000E0074\U000E007F"
FAMILY = "\U0001F468\u200d\U0001F469\u200d\U0001F467"  # man ZWJ woman ZWJ girl


def load_twin() -> Any:
    """rasa_ext/text.py by its path."""
    spec = importlib.util.spec_from_file_location("rasa_text", ROOT / "rasa_ext/text.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["rasa_text"] = module
    spec.loader.exec_module(module)
    return module


TWIN = load_twin()
clean = app_clean.clean


@pytest.mark.parametrize(("raw", "expected"), [
    ("plain answer", "plain answer"),
    ("line one\r\nline two\rline three\u2028four\u2029five\x85six",
     "line one\nline two\nline three\nfour\nfive\nsix"),
    ("tab\tand\nnewline stay", "tab\tand\nnewline stay"),
    ("nul\x00 bell\x07 esc\x1b[31m del\x7f c1\x95", "nul bell esc[31m del c1"),
    ("lone \ud800 surrogates \udfff", "lone  surrogates "),
    ("non\ufffecharacters\ufdd0\U0010ffff", "noncharacters"),
    ("zero\u200bwidth\u2060joiner\ufeffbom soft\u00adhyphen", "zerowidthjoinerbom softhyphen"),
    ("user \u202egnp.exe\u202c \u2066isolated\u2069", "user gnp.exe isolated"),
    ("Cafe\u0301 Å", "Café Å"),  # NFC: e + combining acute composes
    ("m² ½ ① ｆｕｌｌ ﬁ", "m² ½ ① ｆｕｌｌ ﬁ"),  # not NFKC: what was written stays
    ("\u200f\u05e9\u05dc\u05d5\u05dd\u200e", "\u200f\u05e9\u05dc\u05d5\u05dd\u200e"),  # RLM/LRM
    (f"flag {SCOTLAND} family {FAMILY}", f"flag {SCOTLAND} family {FAMILY}"),
    ("hidden\U000E0069\U000E0067\U000E006E text", "hidden text"),  # ASCII smuggling
    ("\u0645\u06cc\u200c\u0634\u0648\u0645",) * 2,  # Persian: the ZWNJ stays
    ("a" + "\u200d" * 500 + "b", "a\u200db"),
    ("heart\u2764\ufe0f\ufe0f\ufe0f\ufe0e", "heart\u2764\ufe0f"),
    ("", ""),
])
def test_clean_keeps_what_people_mean_and_drops_the_rest(raw: str, expected: str) -> None:
    assert clean(raw) == expected
    assert TWIN.clean(raw) == expected


def random_text(rng: random.Random, length: int) -> str:
    """Text mixing everything clean handles: controls, surrogates, marks, joiners,
    selectors, tags, line breaks, and any other code point."""
    pools = [
        lambda: chr(rng.randrange(0x20)), lambda: chr(rng.randrange(0x7F, 0xA0)),
        lambda: chr(rng.randrange(0xD800, 0xE000)), lambda: chr(rng.randrange(0x300, 0x370)),
        lambda: rng.choice("\u200b\u200c\u200d\u2060\ufeff\u202a\u202e\u2066\u2069\u00ad"),
        lambda: chr(rng.randrange(0xFE00, 0xFE10)), lambda: chr(rng.randrange(0xE0000, 0xE0080)),
        lambda: "\U0001F3F4", lambda: rng.choice(["\r\n", "\r", "\n", "\u2028", "\x85"]),
        lambda: rng.choice("aeiouAEIOU éÅ가각ᄀ\u1161\u11a8"), lambda: chr(rng.randrange(0x110000)),
    ]
    return "".join(rng.choice(pools)() for _ in range(length))


def test_clean_is_idempotent_nfc_and_leaves_nothing_it_removes() -> None:
    rng = random.Random(1414)
    tried = 0
    for _ in range(3000):
        raw = random_text(rng, rng.randrange(0, 60))
        once = clean(raw)
        assert clean(once) == once, ascii(raw)
        assert unicodedata.is_normalized("NFC", once)
        assert not any(unicodedata.category(c) in ("Cc", "Cs") and c not in "\t\n"
                       for c in once), ascii(once)
        assert not any(c in once for c in "\r\u200b\u2060\ufeff\u202e\u2066\u2028\x85")
        assert "\u200d\u200d" not in once and "\ufe0f\ufe0f" not in once
        once.encode("utf-8")  # no lone surrogate left: storable and sendable as JSON
        json.dumps(once, ensure_ascii=False).encode("utf-8")
        tried += 1
    print(f"\n{tried} random texts cleaned: idempotent, NFC, encodable")


def test_the_rasa_twin_gives_the_same_results() -> None:
    rng = random.Random(2027)
    for _ in range(3000):
        raw = random_text(rng, rng.randrange(0, 80))
        assert TWIN.clean(raw) == clean(raw), ascii(raw)
    for limit in (1, 2000, 4096):
        assert TWIN.too_long_reply(limit) == limits.too_long_reply(limit)
        assert TWIN.too_long("x" * limit, limit) is limits.too_long("x" * limit, limit) is False
        assert TWIN.too_long("x" * (limit + 1), limit) is limits.too_long("x" * (limit + 1),
                                                                            limit) is True
    for name in ("ENV", "DEFAULT_MAX_CHARS", "TELEGRAM_MAX_CHARS"):
        assert getattr(TWIN, name) == getattr(limits, name)


@pytest.mark.parametrize(("value", "expected"), [
    (None, 2000), ("", 2000), ("  ", 2000), ("1", 1), ("500", 500), ("4096", 4096),
])
def test_the_limit_comes_from_the_environment(value: str | None, expected: int) -> None:
    environ = {} if value is None else {limits.ENV: value}
    assert limits.max_message_chars(environ) == expected
    assert TWIN.max_message_chars(environ) == expected


@pytest.mark.parametrize("value", ["0", "4097", "-5", "2k", "1e3", "2000.0", "lots"])
def test_a_bad_limit_is_refused_with_a_clear_message(value: str) -> None:
    for module in (limits, TWIN):
        with pytest.raises(ValueError, match="CODESIGN_MAX_MESSAGE_CHARS must be a whole "
                                             "number of characters from 1 to 4096"):
            module.max_message_chars({limits.ENV: value})


def test_the_reply_to_a_long_message_names_the_limit() -> None:
    assert "2,000 characters" in limits.too_long_reply(2000)
    assert limits.too_long("é" * 2000, 2000) is False  # characters, not bytes
