"""Term grounding: does the evidence mention what the question is about?

Sentence similarity alone cannot tell "can I send a fax from the library?" from a
question the library documents answer: both land near the same passage about library
services. So a question counts as covered only when each of its content words is
grounded in the top passages: the word itself (or a spelling slip of it) is there, or a
word whose MiniLM embedding is close ("kids" ~ "children", "bbq" ~ "barbecue").
An ungrounded word ("fax", "skate", "notarised") makes the bot decline, and it can say
which word it could not find. Only the part of the message that asks something counts
(``question_focus.asked_part``): "left my umbrella in the library, is there lost property"
is answered when the documents cover lost property, umbrella or not.

Word vectors come from the same offline model and are cached per process.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
from rapidfuzz import fuzz, process

from bot.knowledge.embedder import DIMENSION, embed
from bot.knowledge.question_focus import asked_part
from bot.knowledge.text import folded, words

# Cosine similarity between a question word and its closest word in the evidence below
# which the word counts as not grounded (chosen with answers.COVERED_THRESHOLD, see there).
WORD_MATCH = 0.41
# A question word this close in spelling to an evidence word is the same word (typos).
SPELLING_MATCH = 85
MAX_CACHED_WORDS = 200_000
#: A question's content words checked at most, and the longest word checked: enough for
#: any real question, and a bound on the model's work for a hostile message (2,000
#: characters of distinct random "words" took 4 s of embedding, under the lock every
#: other citizen's service question waits for).
MAX_TERMS = 32
MAX_TERM_CHARS = 40

STOPWORDS = frozenset(
    word for line in (Path(__file__).parent / "stopwords.txt").read_text().splitlines()
    if not line.startswith("#") for word in line.split())


def stem(word: str) -> str:
    """A crude stem: plural, -ing and -ed endings dropped from longer words."""
    return re.sub(r"(ing|es|ed|s)$", "", word) if len(word) > 4 else word


def present_forms(vocabulary: Iterable[str]) -> set[str]:
    """The words of ``vocabulary`` and their stems, for ``mentioned``."""
    words_ = set(vocabulary)
    return words_ | {stem(w) for w in words_}


def mentioned(term: str, present: set[str]) -> bool:
    """Whether ``term``, a plural or other ending of it is among ``present`` (see
    ``present_forms``; spelling slips and similar words are not counted)."""
    return term in present or stem(term) in present


def content_terms(question: str) -> list[str]:
    """The words of a question that say what it is about (stopwords, digits and words
    over ``MAX_TERM_CHARS`` dropped, accents folded): the first ``MAX_TERMS``."""
    seen: dict[str, None] = {}
    for word in map(folded, words(question)):
        if 1 < len(word) <= MAX_TERM_CHARS and word not in STOPWORDS and not word.isdigit():
            seen.setdefault(word, None)
            if len(seen) == MAX_TERMS:
                break
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
        vocabulary = _vocabulary(texts)
        if len(vocabulary) > limit:
            return 0
        self._vectors_of(vocabulary)
        return len(vocabulary)

    def ungrounded(self, question: str, evidence: Iterable[str],
                   threshold: float = WORD_MATCH) -> list[str]:
        """The content words of what ``question`` asks that no word of ``evidence`` matches.

        The least-matched word comes first.

        Args:
            question: the citizen's message (backstory around the question is ignored).
            evidence: the texts the bot would cite (title, section and passage text).
            threshold: the least cosine similarity for a word-to-word match.
        """
        return [term for score, term in self.matches(question, evidence) if score < threshold]

    def matches(self, question: str, evidence: Iterable[str],
                alternatives: Mapping[str, list[list[str]]] | None = None
                ) -> list[tuple[float, str]]:
        """How well ``evidence`` matches each content word of what ``question`` asks.

        The least-matched word comes first (ties in the question's order). A word scores
        1.0 when the evidence has it, a plural or a spelling slip of it, else the cosine
        similarity of its closest evidence word (0.0 with no evidence). With
        ``alternatives`` (the glossary's document terms for a resident word, each as its
        content words), a word scores at least as well as its best alternative, whose
        score is that of its least-matched word.
        """
        asked = content_terms(asked_part(question))
        alternatives = {word: options for word, options in (alternatives or {}).items()
                        if word in asked}
        terms = list(dict.fromkeys([*asked, *(w for options in alternatives.values()
                                              for option in options for w in option)]))
        vocabulary = _vocabulary(evidence)
        if not vocabulary:
            return [(0.0, term) for term in asked]
        present = present_forms(vocabulary)
        open_terms = [t for t in terms
                      if not mentioned(t, present)
                      and not (len(t) >= 5 and process.extractOne(
                          t, vocabulary, scorer=fuzz.ratio, score_cutoff=SPELLING_MATCH))]
        scores = dict.fromkeys(terms, 1.0)
        if open_terms:
            best = (self._vectors_of(open_terms) @ self._vectors_of(vocabulary).T).max(axis=1)
            scores.update(zip(open_terms, map(float, best), strict=True))
        for word, options in alternatives.items():
            scores[word] = max([scores[word], *(min(scores[w] for w in o) for o in options)])
        return sorted(((scores[term], term) for term in asked), key=lambda m: m[0])


def _vocabulary(texts: Iterable[str]) -> list[str]:
    """The distinct words of ``texts``, accents folded, sorted."""
    return sorted({folded(w) for text in texts for w in words(text)})
