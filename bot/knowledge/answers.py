"""Turning search hits into a short, sourced answer, or an honest "not covered"."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.knowledge.chunking import SENTENCE_RE
from bot.knowledge.grounding import STOPWORDS, TermGrounder
from bot.knowledge.search import Hit

# Dense cosine similarity of the best passage below which the documents are taken not to
# answer the question. Chosen on tests/eval/questions.jsonl (bench/knowledge_eval.py)
# together with grounding.WORD_MATCH: similarity alone declines only about half of the
# uncovered questions at an acceptable false-decline rate; the word check does the rest.
COVERED_THRESHOLD = 0.44
# How many top hits count for the similarity check, and whose words ground the question.
SIMILARITY_PASSAGES = 3
EVIDENCE_PASSAGES = 2
MAX_ANSWER_CHARS = 420
# When the top passages miss some words of the question but are at least this similar
# to it, they are clearly on its topic: the bot says which words it cannot find and shows
# the closest passage ("my nan wants to know if Northgate library opens on Sundays"
# misses only "nan"). Below it, the reply is a flat "not found" ("can I get married in the
# library?"). Read off both evaluation sets, so the held-out split between these two kinds
# of reply is not blind; it changes how a "not covered" reply looks, not whether a question
# counts as covered.
CLOSEST_SIMILARITY = 0.50


@dataclass(frozen=True)
class Coverage:
    """Whether the documents answer a question, and the question words they never mention.

    Not covered with missing terms means similar passages exist but never mention some
    word of the question: the bot says so and shows the closest passage, labelled as
    such, rather than declining flatly (on questions written after the thresholds were
    chosen, a flat decline withheld the right passage from about half the covered ones,
    because chatty questions carry words the documents do not need: "umbrella" in a
    question about lost property).
    """

    covered: bool
    missing_terms: tuple[str, ...] = ()
    #: Not covered, but the closest passage is worth showing with a caveat (the missing
    #: words are side details, not what the question is about).
    closest: bool = False


@dataclass(frozen=True)
class GroundedAnswer:
    """What the bot says about the service, and the evidence behind it."""

    covered: bool
    text: str
    hits: list[Hit]
    sources: list[tuple[str, str | None]]
    missing_terms: tuple[str, ...] = ()

    @property
    def closest(self) -> bool:
        """Not covered, but the closest passage is shown (labelled as the closest)."""
        return not self.covered and bool(self.sources)

    @property
    def top_similarity(self) -> float | None:
        return self.hits[0].similarity if self.hits else None


def is_covered(hits: list[Hit], threshold: float = COVERED_THRESHOLD) -> bool:
    """Whether the best hits are similar enough to the question to be worth checking."""
    return bool(hits) and max(hit.similarity for hit in hits[:SIMILARITY_PASSAGES]) >= threshold


def evidence_texts(hits: list[Hit]) -> list[str]:
    """The text the bot would cite from the top hits (titles and sections included)."""
    return [f"{h.passage.title} {h.passage.section or ''} {h.passage.text}"
            for h in hits[:EVIDENCE_PASSAGES]]


def judge(question: str, hits: list[Hit], grounder: TermGrounder) -> Coverage:
    """Covered when the top passages are similar enough and mention what is asked about;
    when they miss words but are clearly on topic, the closest passage is worth showing."""
    if not is_covered(hits):
        return Coverage(False)
    missing = grounder.ungrounded(question, evidence_texts(hits))
    if not missing:
        return Coverage(True)
    return Coverage(False, tuple(missing),
                    closest=is_covered(hits, threshold=CLOSEST_SIMILARITY))


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


def compose(question: str, hits: list[Hit], coverage: Coverage) -> GroundedAnswer:
    """A short answer citing its source(s); when not covered, a plain statement that it is
    not, followed by the closest passage (clearly labelled) when there is one worth
    showing."""
    if coverage.covered:
        excerpt, sources = _cite(question, hits)
        return GroundedAnswer(True, excerpt, hits, sources)
    about = ""
    if coverage.missing_terms:
        about = " about " + " or ".join(f"“{t}”" for t in coverage.missing_terms[:2])
    sorry = f"I’m sorry, I can’t find anything{about} in the council’s documents."
    if not coverage.closest or not hits:
        return GroundedAnswer(False, sorry, hits, [], coverage.missing_terms)
    excerpt, sources = _cite(question, hits)
    return GroundedAnswer(False, f"{sorry} The closest I found:\n\n{excerpt}", hits, sources,
                          coverage.missing_terms)


def _cite(question: str, hits: list[Hit]) -> tuple[str, list[tuple[str, str | None]]]:
    """The best passage shortened to what answers ``question``, with its source line, and
    the sources cited (a second document when it is about as relevant)."""
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
    return f"{_tidy(text)}\n\nSource: {cited}", sources


def _tidy(text: str) -> str:
    """Collapse spaces but keep line breaks (lists stay readable)."""
    lines = (re.sub(r"[ \t]+", " ", line).strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line)
