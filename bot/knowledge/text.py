"""Words of citizens' messages and of documents, as the knowledge checks compare them."""

from __future__ import annotations

import re
import unicodedata

WORD_RE = re.compile(r"[^\W_]+(?:[-'’][^\W_]+)*")


def _normalise(word: str) -> str:
    return word.casefold().replace("’", "").replace("'", "")


def words(text: str) -> list[str]:
    """Lower-cased words of ``text`` (apostrophes dropped, hyphenated words kept whole)."""
    return [_normalise(w) for w in WORD_RE.findall(text)]


def folded(word: str) -> str:
    """``word`` without accents, so "cafe" matches "café"."""
    return "".join(c for c in unicodedata.normalize("NFKD", word)
                   if not unicodedata.combining(c))
