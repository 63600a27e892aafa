"""The labelled open answers of tests/eval/themes.jsonl and how well themes recover them."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from bot.review.themes import find_themes


@dataclass(frozen=True)
class LabelledQuestion:
    """One open question with answers labelled by the theme a person gave them."""

    key: str
    answers: list[str]
    themes: list[str]


def load_labelled(path: Path) -> list[LabelledQuestion]:
    """The questions of a JSONL file of {question, theme, answer} rows, in file order."""
    grouped: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            grouped[row["question"]].append((row["answer"], row["theme"]))
    return [LabelledQuestion(key, [a for a, _ in rows], [t for _, t in rows])
            for key, rows in grouped.items()]


def adjusted_rand(question: LabelledQuestion) -> tuple[float, int]:
    """Adjusted Rand index of the automatic themes against the labels, and their count."""
    from sklearn.metrics import adjusted_rand_score

    found = find_themes(question.answers)
    predicted = [0] * len(question.answers)
    for number, theme in enumerate(found):
        for member in theme.members:
            predicted[member] = number
    return float(adjusted_rand_score(question.themes, predicted)), len(found)
