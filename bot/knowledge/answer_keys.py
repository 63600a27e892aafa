"""Whether the bot's answer shows the fact a citizen asked for, not just the right document.

Retrieval recall counts a question as answered when a passage of the right document ranks
first; the citizen still sees nothing useful when the answer is in another section, or
shortened away. An answer-key file (JSON Lines) gives, per covered question, exact
snippets of the documents that answer it::

    {"question": "what time does central library shut on a thursday",
     "any_of": ["Thursday: 9:00 to 19:00"]}

The answer shows it when it contains one of ``any_of`` (if given) and all of ``all_of``
(if given), ignoring case, spacing and the style of quotes.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from bot import jsonlines
from bot.knowledge.answers import Coverage, Thresholds, compose
from bot.knowledge.evaluation import Scored
from bot.knowledge.search import Hit

QUOTES = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"'})


@dataclass(frozen=True)
class AnswerKey:
    """The snippets that show a question's answer."""

    any_of: tuple[str, ...] = ()
    all_of: tuple[str, ...] = ()

    def shown_in(self, text: str) -> bool:
        """Whether ``text`` shows the answer."""
        seen = comparable(text)
        return (not self.any_of or any(comparable(s) in seen for s in self.any_of)) and \
            all(comparable(s) in seen for s in self.all_of)


def comparable(text: str) -> str:
    """``text`` as snippets are compared: NFKC, plain quotes, single spaces, no case."""
    text = unicodedata.normalize("NFKC", text).translate(QUOTES)
    return re.sub(r"\s+", " ", text).strip().casefold()


def fact_rank(hits: Iterable[Hit], key: AnswerKey) -> int | None:
    """The rank (from 1) of the first hit whose section or text shows ``key``'s fact."""
    return next((rank for rank, hit in enumerate(hits, 1)
                 if key.shown_in(f"{hit.passage.section} {hit.passage.text}")), None)


def load_answer_keys(path: Path) -> dict[str, AnswerKey]:
    """Answer keys by question.

    Raises:
        ValueError: naming the line, when a line has no question, ``any_of`` or
            ``all_of`` is not a list of strings, or both are empty.
    """
    keys = {}
    for number, row in jsonlines.objects(path.read_text(encoding="utf-8")):
        question = row.get("question")
        lists = [row.get(name, []) for name in ("any_of", "all_of")]
        if not isinstance(question, str) or not question.strip():
            raise ValueError(f"{path}: line {number}: \"question\" must be a non-empty string")
        if not all(isinstance(v, list) and all(isinstance(s, str) for s in v) for v in lists):
            raise ValueError(f"{path}: line {number}: \"any_of\" and \"all_of\" must be lists "
                             "of strings")
        if not any(lists):
            raise ValueError(f"{path}: line {number}: give \"any_of\" or \"all_of\"")
        keys[question.strip()] = AnswerKey(tuple(lists[0]), tuple(lists[1]))
    return keys


def answer_shown(scored: Iterable[Scored], keys: dict[str, AnswerKey]) -> tuple[int, int]:
    """How many covered questions with a key get an answer that shows it, out of how many
    (the answer as the bot words it when it answers, ``answers.compose``, from the hits
    ``evaluation.score`` found)."""
    shown = total = 0
    for s in scored:
        key = keys.get(s.case.question)
        if key is None or not s.case.covered:
            continue
        total += 1
        shown += bool(s.hits) and key.shown_in(
            compose(s.case.question, list(s.hits), Coverage(True)).text)
    return shown, total


def facts_reached(scored: Iterable[Scored], keys: dict[str, AnswerKey],
                  thresholds: Thresholds) -> dict[str, int]:
    """What citizens with a covered, keyed question get under ``thresholds``:
    ``answered_with_fact``, a confident answer that shows the fact; ``shown_with_fact``,
    a passage that shows it, confidently or as "this may answer it"; of ``questions``."""
    counts = {"answered_with_fact": 0, "shown_with_fact": 0, "questions": 0}
    for s in scored:
        key = keys.get(s.case.question)
        if key is None or not s.case.covered:
            continue
        counts["questions"] += 1
        outcome = s.outcome(thresholds)
        if outcome == "declined" or not s.hits:
            continue
        reply = compose(s.case.question, list(s.hits),
                        Coverage(outcome == "answered", closest=outcome == "closest")).text
        if key.shown_in(reply):
            counts["shown_with_fact"] += 1
            counts["answered_with_fact"] += outcome == "answered"
    return counts
