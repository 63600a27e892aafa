"""Term grounding: does the evidence mention what the question is about?

Sentence similarity alone cannot tell "can I send a fax from the library?" from a
question the library documents answer: both land near the same passage about library
services. So a question counts as covered only when each of its content words is
grounded in the top passages: the word itself (or a spelling slip of it) is there, or a
word whose MiniLM embedding is close ("kids" ~ "children", "bbq" ~ "barbecue").
An ungrounded word ("fax", "skate", "notarised") makes the bot decline, and it can say
which word it could not find.

Word vectors come from the same offline model and are cached per process.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from rapidfuzz import fuzz, process

from bot.knowledge.embedder import DIMENSION, embed

# Cosine similarity between a question word and its closest word in the evidence below
# which the word counts as not grounded. Chosen with bench/knowledge_eval.py on
# tests/eval/questions.jsonl, with COVERED_THRESHOLD (see the README's figures).
WORD_MATCH = 0.46
# A question word this close in spelling to an evidence word is the same word (typos).
SPELLING_MATCH = 85
MAX_CACHED_WORDS = 200_000

WORD_RE = re.compile(r"[^\W_]+(?:[-'’][^\W_]+)*")
STOPWORDS = frozenset(
    word for line in (Path(__file__).parent / "stopwords.txt").read_text().splitlines()
    if not line.startswith("#") for word in line.split())


def _normalise(word: str) -> str:
    return word.casefold().replace("’", "").replace("'", "")


def words(text: str) -> list[str]:
    """Lower-cased words of ``text`` (apostrophes dropped, hyphenated words kept whole)."""
    return [_normalise(w) for w in WORD_RE.findall(text)]


def _stem(word: str) -> str:
    """A crude stem: plural, -ing and -ed endings dropped from longer words."""
    return re.sub(r"(ing|es|ed|s)$", "", word) if len(word) > 4 else word


def content_terms(question: str) -> list[str]:
    """The words of a question that say what it is about (stopwords and digits dropped)."""
    seen: dict[str, None] = {}
    for word in words(question):
        if len(word) > 1 and word not in STOPWORDS and not word.isdigit():
            seen.setdefault(word, None)
    return list(seen)


class TermGrounder:
    """Finds the question words that the evidence does not mention (thread-safe)."""

    def __init__(self, max_cached: int = MAX_CACHED_WORDS) -> None:
        self._vectors: dict[str, np.ndarray] = {}
        self._max_cached = max_cached
        self._lock = threading.Lock()

    def _vectors_of(self, vocabulary: list[str]) -> np.ndarray:
        """Embeddings of ``vocabulary``, computing only the words not cached yet."""
        if not vocabulary:
            return np.zeros((0, DIMENSION), dtype=np.float32)
        with self._lock:
            known = {w: self._vectors[w] for w in vocabulary if w in self._vectors}
        missing = [w for w in vocabulary if w not in known]
        if missing:
            fresh = embed(missing, batch_size=256)
            known.update(zip(missing, fresh, strict=True))
            self.remember(missing, fresh)
        return np.stack([known[w] for w in vocabulary])

    def uncached(self, vocabulary: list[str]) -> list[str]:
        """The words of ``vocabulary`` whose vectors are not cached yet."""
        with self._lock:
            return [w for w in vocabulary if w not in self._vectors]

    def remember(self, vocabulary: list[str], vectors: np.ndarray) -> None:
        """Cache word vectors computed elsewhere (e.g. in the same batch as the query)."""
        with self._lock:
            if len(self._vectors) + len(vocabulary) > self._max_cached:
                self._vectors.clear()
            self._vectors.update(zip(vocabulary, vectors, strict=True))

    def learn(self, texts: Iterable[str], limit: int = 50_000) -> int:
        """Embed the words of ``texts`` ahead of time (at start-up); returns how many.

        Skipped when the vocabulary has more than ``limit`` words: those are then embedded
        on first use and cached.
        """
        vocabulary = sorted({w for text in texts for w in words(text)})
        if len(vocabulary) > limit:
            return 0
        self._vectors_of(vocabulary)
        return len(vocabulary)

    def ungrounded(self, question: str, evidence: Iterable[str],
                   threshold: float = WORD_MATCH) -> list[str]:
        """The content words of ``question`` that no word of ``evidence`` matches.

        The least-matched word comes first.

        Args:
            question: the citizen's question.
            evidence: the texts the bot would cite (title, section and passage text).
            threshold: the least cosine similarity for a word-to-word match.
        """
        vocabulary = sorted({w for text in evidence for w in words(text)})
        if not vocabulary:
            return content_terms(question)
        present = set(vocabulary) | {_stem(w) for w in vocabulary}
        open_terms = [t for t in content_terms(question)
                      if t not in present and _stem(t) not in present
                      and not (len(t) >= 5 and process.extractOne(
                          t, vocabulary, scorer=fuzz.ratio, score_cutoff=SPELLING_MATCH))]
        if not open_terms:
            return []
        best = (self._vectors_of(open_terms) @ self._vectors_of(vocabulary).T).max(axis=1)
        missing = [(float(score), term) for term, score in zip(open_terms, best, strict=True)
                   if score < threshold]
        return [term for _, term in sorted(missing)]  # the least-matched word first
