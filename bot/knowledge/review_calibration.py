"""Thresholds suggested from reviewers' labels, one collection at a time.

The labelled questions of a collection (``bot.review.gap_labels.cases``) are searched as
the bot searches them and scored (``evaluation.score``); the suggestion is
``evaluation.recommend``'s: the thresholds declining the most "not covered" questions
while wrongly declining at most ``max_wrongly_declined`` of those the documents answer.
``codesign knowledge calibrate --from-reviews`` and the admins' button on the Knowledge
gaps page both use it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from bot.knowledge import evaluation
from bot.knowledge.answers import Thresholds
from bot.knowledge.evaluation import Case
from bot.knowledge.glossary import Glossary
from bot.knowledge.grounding import TermGrounder
from bot.knowledge.search import KnowledgeSearcher

DEFAULT_MAX_WRONGLY_DECLINED = 0.10


@dataclass(frozen=True)
class Suggestion:
    """A collection's labels, its thresholds now and the suggested ones, with their rates
    (``uncovered_declined``, ``covered_wrongly_declined``); ``problem`` says why there is
    no suggestion."""

    collection: str
    answered: int
    not_covered: int
    current: Thresholds
    current_rates: dict[str, float]
    suggested: Thresholds | None = None
    suggested_rates: dict[str, float] | None = None
    problem: str = ""

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form (``--json``, and the web job's result)."""
        def settings(t: Thresholds | None) -> dict[str, float] | None:
            return None if t is None else {"similarity": t.similarity,
                                           "word_match": t.word_match,
                                           "offered_match": t.offered_match}

        return {"collection": self.collection, "answered": self.answered,
                "not_covered": self.not_covered,
                "current": {**(settings(self.current) or {}), **self.current_rates},
                "suggested": None if self.suggested is None else
                {**(settings(self.suggested) or {}), **(self.suggested_rates or {})},
                "problem": self.problem}


def needs_both(answered: int, not_covered: int) -> str:
    """Why labels of one kind only give no suggestion ('' when there are both)."""
    if answered and not_covered:
        return ""
    missing = "“the documents do answer this”" if not answered else "“not covered”"
    return (f"only one kind of label: label some questions {missing} too (a suggestion "
            "needs questions the documents answer and questions they do not)")


def suggest(searcher: KnowledgeSearcher, collection: str, cases: list[Case],
            current: Thresholds, *, max_wrongly_declined: float = DEFAULT_MAX_WRONGLY_DECLINED,
            grounder: TermGrounder | None = None, glossary: Glossary | None = None,
            on_case: Callable[[], None] | None = None) -> Suggestion:
    """Score ``collection``'s labelled ``cases`` and suggest its thresholds.

    Args:
        searcher: the live index (``collection`` must be in it).
        collection: the collection calibrated.
        cases: its labelled questions.
        current: the thresholds it uses now.
        max_wrongly_declined: the largest share of answered questions declined.
        grounder: the word matcher (a new one when None).
        glossary: the collection's glossary, as the bot uses it.
        on_case: called after each question is scored (progress).
    """
    answered = sum(c.covered for c in cases)
    not_covered = len(cases) - answered
    glossaries: Mapping[str, Glossary] = {collection: glossary} if glossary else {}
    scored = evaluation.score(searcher, cases, grounder or TermGrounder(), on_case=on_case,
                              glossaries=glossaries)
    base = Suggestion(collection, answered, not_covered, current,
                      evaluation.rates(scored, current))
    problem = needs_both(answered, not_covered)
    if problem:
        return replace(base, problem=problem)
    best = evaluation.recommend(scored, max_wrongly_declined, current)
    if best is None:
        return replace(base, problem=(
            f"no thresholds wrongly decline at most {max_wrongly_declined:.0%} of the "
            "questions the documents answer"))
    return replace(base, suggested=best, suggested_rates=evaluation.rates(scored, best))
