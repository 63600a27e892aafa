"""How well each signal the "not covered" decision can read tells covered questions from
uncovered ones, set by set.

The area under the ROC curve (AUC): the chance that a random covered question scores
higher than a random uncovered one (ties count half). 0.5 is a coin toss, 1.0 a signal
that separates them perfectly. Any threshold, or weighted mix, of signals near 0.5 on a
set cannot decline most of its uncovered questions without also declining most of its
covered ones.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from bot.knowledge.evaluation import Scored

SIGNALS: dict[str, Callable[[Scored], float]] = {
    "top similarity": lambda s: s.top_similarity,
    "weakest word match": lambda s: s.weakest_match,
    "similarity gap (1st - 2nd)": lambda s: (s.hits[0].similarity - s.hits[1].similarity)
    if len(s.hits) > 1 else 0.0,
}


def auc(covered: list[float], uncovered: list[float]) -> float | None:
    """P(covered > uncovered) + P(tie) / 2 (None when a group is empty)."""
    if not covered or not uncovered:
        return None
    yes, no = np.asarray(covered)[:, None], np.asarray(uncovered)[None, :]
    return float(((yes > no).sum() + 0.5 * (yes == no).sum()) / (yes.size * no.size))


def separation(scored_by_set: Mapping[str, list[Scored]]) -> dict[str, dict[str, float | None]]:
    """Per set, the AUC of each of ``SIGNALS``."""
    return {name: {signal: auc([read(s) for s in scored if s.case.covered],
                               [read(s) for s in scored if not s.case.covered])
                   for signal, read in SIGNALS.items()}
            for name, scored in scored_by_set.items()}


def report_separation(figures: Mapping[str, Mapping[str, float | None]]) -> None:
    """Print ``separation``."""
    print("\nHow well the decision's signals separate covered from uncovered questions "
          "(AUC; 0.5 is a coin toss)")
    print(f"  {'set':22} " + " ".join(f"{signal:>27}" for signal in SIGNALS))
    for name, row in figures.items():
        print(f"  {name:22} " + " ".join(
            f"{'-' if row[signal] is None else format(row[signal], '.2f'):>27}"
            for signal in SIGNALS))
