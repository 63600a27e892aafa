"""Words of citizens' messages and of documents, as the knowledge checks compare them."""

from __future__ import annotations

import re
import unicodedata

WORD_RE = re.compile(r"[^\W_]+(?:[-'’][^\W_]+)*")
POSSESSIVE_RE = re.compile(r"['’]s$", re.IGNORECASE)


def _normalise(word: str) -> str:
    return POSSESSIVE_RE.sub("", word).casefold().replace("’", "").replace("'", "")


def words(text: str) -> list[str]:
    """Lower-cased words of ``text`` (a possessive or contracted 's dropped, other
    apostrophes dropped, hyphenated words kept whole): "my son's party" gives "son",
    "what's" gives "what", "don't" gives "dont"."""
    return [_normalise(w) for w in WORD_RE.findall(text)]


def folded(word: str) -> str:
    """``word`` without accents, so "cafe" matches "café"."""
    return "".join(c for c in unicodedata.normalize("NFKD", word)
                   if not unicodedata.combining(c))
