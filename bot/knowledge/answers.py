"""Turning search hits into a short, sourced answer, or an honest "not covered"."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.knowledge.chunking import SENTENCE_RE
from bot.knowledge.search import Hit

# Dense cosine similarity of the best passage below which the documents are taken not to
# answer the question. Chosen on tests/eval/questions.jsonl (bench/knowledge_eval.py): the
# highest value that wrongly declines at most 10% of covered questions. It declines only
# about half of the uncovered ones: similarity alone cannot separate them better.
COVERED_THRESHOLD = 0.50
MAX_ANSWER_CHARS = 420
STOPWORDS = {
    "a", "an", "the", "and", "or", "of", "to", "in", "on", "at", "for", "is", "are", "was",
    "be", "can", "i", "my", "me", "you", "your", "we", "our", "do", "does", "it", "its", "what",
    "when", "where", "how", "which", "who", "there", "any", "with", "from", "by", "this",
    "that", "if", "will", "would", "should", "much", "many", "get", "have", "has",
}


@dataclass(frozen=True)
class GroundedAnswer:
    """What the bot says about the service, and the evidence behind it."""

    covered: bool
    text: str
    hits: list[Hit]
    sources: list[tuple[str, str | None]]

    @property
    def top_similarity(self) -> float | None:
        return self.hits[0].similarity if self.hits else None


def is_covered(hits: list[Hit], threshold: float = COVERED_THRESHOLD) -> bool:
    """Whether the best hit is relevant enough to cite."""
    return bool(hits) and max(hit.similarity for hit in hits[:3]) >= threshold


def _terms(text: str) -> set[str]:
    """Content words, crudely stemmed (plural and -ing endings dropped)."""
    words = re.findall(r"[a-z0-9£]+", text.casefold())
    return {re.sub(r"(ing|es|s)$", "", w) if len(w) > 4 else w for w in words
            if w not in STOPWORDS}


def shorten(question: str, text: str, limit: int = MAX_ANSWER_CHARS) -> str:
    """The sentences of ``text`` that best answer ``question``, in their original order.

    Sentences are ranked by the question's content words they contain (cheap: no second
    embedding pass on the citizen's turn), earlier sentences winning ties.
    """
    sentences = [s.strip() for part in text.split("\n") for s in SENTENCE_RE.split(part)
                 if s.strip()]
    if len(text) <= limit or len(sentences) <= 2:
        return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
    wanted = _terms(question)
    scores = [len(wanted & _terms(sentence)) for sentence in sentences]
    ranked = sorted((i for i in range(len(sentences)) if scores[i] > 0),
                    key=lambda i: (-scores[i], i)) or list(range(len(sentences)))
    chosen: list[int] = []
    for index in ranked:
        candidate = sorted([*chosen, index])
        if sum(len(sentences[i]) + 1 for i in candidate) > limit and chosen:
            break
        chosen = candidate
    return "\n".join(sentences[i] for i in chosen)


def compose(question: str, hits: list[Hit]) -> GroundedAnswer:
    """A short answer citing its source(s), or a plain statement that it is not covered."""
    if not is_covered(hits):
        return GroundedAnswer(False, "I’m sorry, I can’t find an answer to that in the "
                                     "council’s documents.", hits, [])
    best = hits[0]
    text = shorten(question, best.passage.text)
    title = best.passage.title
    if best.passage.section and not best.passage.section.startswith("page "):
        title = f"{title} › {best.passage.section}"
    sources = [(title, best.passage.url)]
    if len(hits) > 1 and hits[1].passage.document != best.passage.document and \
            hits[1].similarity >= max(COVERED_THRESHOLD, best.similarity - 0.05):
        sources.append((hits[1].passage.title, hits[1].passage.url))
    cited = "; ".join(f"{title} ({url})" if url else title for title, url in sources)
    return GroundedAnswer(True, f"{_tidy(text)}\n\nSource: {cited}", hits, sources)


def _tidy(text: str) -> str:
    """Collapse spaces but keep line breaks (lists stay readable)."""
    lines = (re.sub(r"[ \t]+", " ", line).strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line)
