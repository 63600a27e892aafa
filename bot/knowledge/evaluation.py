"""How well the knowledge base answers a set of labelled questions, and which thresholds
suit it.

A labelled question file is JSON Lines, one question per line::

    {"question": "is the library open on sunday", "collection": "libraries",
     "sources": ["libraries/opening-hours.md"]}

``sources`` lists the documents (``collection/document``) that answer it; an empty list
means the documents do not answer it. ``collection`` is optional (all collections are
searched without it). ``bench/knowledge_eval.py`` reports the project's own sets and
``codesign knowledge calibrate`` an agency's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bot import jsonlines
from bot.knowledge.answers import Thresholds, measure
from bot.knowledge.glossary import Glossary
from bot.knowledge.grounding import TermGrounder
from bot.knowledge.search import Hit, KnowledgeSearcher, Mode

MODES: tuple[Mode, ...] = ("dense", "bm25", "hybrid")
#: The thresholds tried when calibrating (cosine similarities).
GRID = [step / 100 for step in range(30, 71)]
OFFERED_GRID = [step / 100 for step in range(30, 91, 5)]
OUTCOMES = ("answered", "closest", "declined")


@dataclass(frozen=True)
class Case:
    """One labelled question."""

    question: str
    collection: str | None
    sources: list[str]

    @property
    def covered(self) -> bool:
        return bool(self.sources)


def load_cases(path: Path) -> list[Case]:
    """The labelled questions of ``path``.

    Raises:
        ValueError: naming the line, when a line is not a JSON object with a non-empty
            ``question`` string, a list of ``sources`` strings and an optional
            ``collection`` string.
    """
    try:
        rows = jsonlines.objects(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None
    cases = []
    for number, row in rows:
        question, sources = row.get("question"), row.get("sources", [])
        collection = row.get("collection")
        if not isinstance(question, str) or not question.strip():
            raise ValueError(f"{path}: line {number}: \"question\" must be a non-empty string")
        if not isinstance(sources, list) or not all(isinstance(s, str) for s in sources):
            raise ValueError(f"{path}: line {number}: \"sources\" must be a list of "
                             "\"collection/document\" strings")
        if collection is not None and not isinstance(collection, str):
            raise ValueError(f"{path}: line {number}: \"collection\" must be a string")
        cases.append(Case(question.strip(), collection or None, list(sources)))
    return cases


def _scope(case: Case) -> list[str] | None:
    """The collections searched for ``case``: its own, as inside a consultation (None:
    all)."""
    return [case.collection] if case.collection else None


#: How many hits count for recall and MRR.
RETRIEVAL_DEPTH = 10


def source_rank(case: Case, hits: Iterable[Hit]) -> int | None:
    """The rank (from 1) of the first hit from one of ``case``'s sources, if any."""
    return next((rank for rank, hit in enumerate(hits, 1)
                 if f"{hit.passage.collection}/{hit.passage.document}" in case.sources), None)


def recall_figures(ranks: list[int | None]) -> dict[str, float]:
    """recall@1, recall@5 and MRR of the covered questions' first source ranks."""
    n = max(len(ranks), 1)
    return {"recall@1": sum(r == 1 for r in ranks) / n,
            "recall@5": sum(r is not None and r <= 5 for r in ranks) / n,
            "mrr": sum(1 / r for r in ranks if r) / n}


def searched(case: Case, glossaries: Mapping[str, Glossary] | None) -> str:
    """What the bot searches for ``case``: its question, with the document terms of its
    collection's glossary when it uses a resident phrase (``Glossary.expand``)."""
    glossary = (glossaries or {}).get(case.collection or "")
    return glossary.expand(case.question) if glossary else case.question


def retrieval(searcher: KnowledgeSearcher, cases: Iterable[Case], mode: Mode,
              glossaries: Mapping[str, Glossary] | None = None) -> dict[str, float]:
    """recall@1, recall@5 and MRR of ``mode`` on the covered questions."""
    return recall_figures([source_rank(case, searcher.search(
        searched(case, glossaries), _scope(case), k=RETRIEVAL_DEPTH, mode=mode))
        for case in cases if case.covered])


@dataclass(frozen=True)
class Scored:
    """What the decision needs of one question: its best similarity, the match of its
    least-matched asked word (``grounding.TermGrounder.matches``) and whether it asks if
    something is offered (``question_focus.asks_if_offered``)."""

    case: Case
    top_similarity: float
    weakest_match: float
    offered: bool = False
    #: The bot's (hybrid) search hits, the first ``RETRIEVAL_DEPTH``.
    hits: tuple[Hit, ...] = ()

    @property
    def source_rank(self) -> int | None:
        """Where the first of the case's sources ranked in ``hits``, from 1 (None: not
        among them, or the case has no sources)."""
        return source_rank(self.case, self.hits)

    def covered_by(self, thresholds: Thresholds) -> bool:
        """Whether the bot would answer it under ``thresholds``."""
        return thresholds.covers(self.top_similarity, self.weakest_match, self.offered)

    def outcome(self, thresholds: Thresholds) -> str:
        """answered, closest (declined with the closest passage shown) or declined."""
        return thresholds.outcome(self.top_similarity, self.weakest_match, self.offered)


def score(searcher: KnowledgeSearcher, cases: Iterable[Case], grounder: TermGrounder,
          on_case: Callable[[], None] | None = None,
          glossaries: Mapping[str, Glossary] | None = None) -> list[Scored]:
    """Search each question as the bot does and keep what the decision needs, and the
    hits (``hybrid_retrieval``, ``answer_keys.answer_shown``). The decision reads only
    the first hits, which do not depend on how many are asked for. ``glossaries``: each
    collection's glossary, as the bot uses it."""
    scored = []
    for case in cases:
        hits = searcher.search(searched(case, glossaries), _scope(case), k=RETRIEVAL_DEPTH)
        measured = measure(case.question, hits, grounder,
                           (glossaries or {}).get(case.collection or ""))
        scored.append(Scored(case, measured.top_similarity, measured.weakest_match,
                             measured.offered, tuple(hits)))
        if on_case is not None:
            on_case()
    return scored


def hybrid_retrieval(scored: list[Scored]) -> dict[str, float]:
    """``retrieval`` in the bot's hybrid mode, from the searches ``score`` already ran."""
    return recall_figures([s.source_rank for s in scored if s.case.covered])


@dataclass(frozen=True)
class _Columns:
    """The scored questions as arrays, to decide them all at once."""

    top: np.ndarray
    weakest: np.ndarray
    offered: np.ndarray
    covered: np.ndarray

    @classmethod
    def of(cls, scored: list[Scored]) -> _Columns:
        return cls(np.array([s.top_similarity for s in scored], dtype=float),
                   np.array([s.weakest_match for s in scored], dtype=float),
                   np.array([s.offered for s in scored], dtype=bool),
                   np.array([s.case.covered for s in scored], dtype=bool))

    def rates(self, thresholds: Thresholds) -> dict[str, float]:
        declined = ~thresholds.covers_all(self.top, self.weakest, self.offered)
        return {"uncovered_declined": _share(declined, ~self.covered),
                "covered_wrongly_declined": _share(declined, self.covered)}


def _share(flags: np.ndarray, group: np.ndarray) -> float:
    return float((flags & group).sum() / max(int(group.sum()), 1))


def rates(scored: list[Scored], thresholds: Thresholds) -> dict[str, float]:
    """The share of uncovered questions declined and of covered ones wrongly declined."""
    return _Columns.of(scored).rates(thresholds)


def outcomes(scored: list[Scored], thresholds: Thresholds) -> dict[str, dict[str, float]]:
    """What citizens would see, for covered and for uncovered questions."""
    shares = {}
    for name, group in (("covered", [s for s in scored if s.case.covered]),
                        ("uncovered", [s for s in scored if not s.case.covered])):
        seen = [s.outcome(thresholds) for s in group]
        shares[name] = {kind: seen.count(kind) / max(len(seen), 1) for kind in OUTCOMES}
    return shares


def recommend(scored: list[Scored], max_wrongly_declined: float = 0.10,
              current: Thresholds | None = None) -> Thresholds | None:
    """The thresholds that decline the most uncovered questions while wrongly declining at
    most ``max_wrongly_declined`` of the covered ones (fewer wrong declines, then the
    set nearest ``current``, break ties); None when no set keeps to the limit."""
    current = current or Thresholds()
    if not scored:
        return None
    columns = _Columns.of(scored)
    best: tuple[float, float, float] | None = None
    chosen = None
    for similarity in GRID:
        for word_match in GRID:
            for offered_match in OFFERED_GRID:
                candidate = Thresholds(similarity, word_match, offered_match, current.closest)
                r = columns.rates(candidate)
                if r["covered_wrongly_declined"] > max_wrongly_declined + 1e-9:
                    continue
                distance = abs(similarity - current.similarity) + \
                    abs(word_match - current.word_match) + \
                    abs(offered_match - current.offered_match)
                key = (-r["uncovered_declined"], r["covered_wrongly_declined"], distance)
                if best is None or key < best:
                    best, chosen = key, candidate
    return chosen
