"""Weights that make the participants look like the population: raking (iterative
proportional fitting) over the profile dimensions, with weightipy.

Why weightipy: it rakes a pandas frame to target margins and nothing more (MIT, pure
Python, numpy/scipy/pandas). ``balance`` pins numpy < 2 and scikit-learn < 1.4 on
Python 3.11 (this app has numpy 2.4 and scikit-learn 1.9) and brings plotting stacks;
``samplics`` brings polars, pyarrow and statsmodels for design-based estimation this
page does not need.

A participant who preferred not to say, or never reached a profile question, keeps the
dimension's weight of 1 for it: such answers form their own category whose target is
its sample share, so the others are raked within what is left. weightipy does not say
when the margins cannot be met (a category nobody chose, or dimensions that contradict
each other): ``rake`` checks the weighted margins itself and reports how far off they are.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd
import weightipy

#: The category standing for "no answer" in a dimension (prefer not to say, not asked).
UNKNOWN = "\x00unknown"
#: Weights above this are "extreme": one participant counts as this many.
EXTREME_WEIGHT = 5.0
#: The weighted margins count as matching the population within this share.
MARGIN_TOLERANCE = 0.01


@dataclass(frozen=True)
class Raking:
    """Weights (one per participant, mean 1), and what a reader needs to trust them."""

    weights: list[float]
    dimensions: list[str]
    #: Population categories no participant is in: they cannot be weighted up.
    empty_categories: dict[str, list[str]]
    #: The largest gap between a weighted margin and its target share.
    margin_error: float

    @property
    def effective_size(self) -> float:
        """Kish's effective sample size: (sum w)^2 / sum w^2."""
        total = sum(self.weights)
        squares = sum(w * w for w in self.weights)
        return total * total / squares if squares else 0.0

    @property
    def largest(self) -> float:
        return max(self.weights, default=0.0)

    @property
    def warnings(self) -> list[str]:
        """Plain-language reasons to read the weighted figures with care."""
        found = []
        if self.largest > EXTREME_WEIGHT:
            found.append(f"the largest weight is {self.largest:.1f}: one participant counts "
                         f"as {self.largest:.1f}, so a few people sway the weighted figures")
        n = len(self.weights)
        if n and self.effective_size < n / 2:
            found.append(f"the weighted figures are as precise as {self.effective_size:.0f} "
                         f"participants, fewer than half of the {n} who took part")
        for dimension, names in self.empty_categories.items():
            found.append(f"nobody in {', '.join(names)} ({dimension}) took part: weighting "
                         "cannot stand in for them")
        if self.margin_error > MARGIN_TOLERANCE:
            found.append(f"the weights could not match the population everywhere (off by "
                         f"up to {self.margin_error:.0%})")
        return found


def rake(profiles: Sequence[Mapping[str, str | None]],
         population: Mapping[str, Mapping[str, float]]) -> Raking:
    """Rake ``profiles`` (one mapping per participant: dimension -> category, None when
    unknown) to ``population`` (dimension -> category -> share) over the dimensions both
    have. Weights average 1."""
    n = len(profiles)
    dimensions = [d for d in population if any(p.get(d) for p in profiles)]
    if n == 0 or not dimensions:
        return Raking([1.0] * n, [], {}, 0.0)
    frame = pd.DataFrame({d: [p.get(d) or UNKNOWN for p in profiles] for d in dimensions})
    targets: dict[str, dict[str, float]] = {}
    empty: dict[str, list[str]] = {}
    for dimension in dimensions:
        column = frame[dimension]
        unknown_share = float((column == UNKNOWN).mean())
        present = set(column.unique())
        shares = {c: s for c, s in population[dimension].items() if c in present and s > 0}
        missing = [c for c, s in population[dimension].items() if c not in present and s > 0]
        if missing:
            empty[dimension] = missing
        # Counted in a category the population lacks: keep them as they are.
        outside = column[~column.isin([*shares, UNKNOWN])]
        kept = unknown_share + len(outside) / n
        frame.loc[outside.index, dimension] = UNKNOWN
        scale = (1.0 - kept) / sum(shares.values()) if shares else 0.0
        targets[dimension] = {c: 100.0 * s * scale for c, s in shares.items()}
        if kept:
            targets[dimension][UNKNOWN] = 100.0 * kept
    weighted = weightipy.weight_dataframe(frame, weightipy.scheme_from_dict(targets),
                                          weight_column="weight")
    weights = weighted["weight"].astype(float)
    weights = weights * n / weights.sum()
    error = max(abs(float(weights[frame[d] == c].sum()) / n - share / 100.0)
                for d in dimensions for c, share in targets[d].items())
    return Raking([float(w) for w in weights], dimensions, empty, error)
