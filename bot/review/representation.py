"""Who took part, against who lives there: per profile dimension, each category's share of
the participants who answered beside its share of the population.

``compare`` is the arithmetic for one dimension (shares, representation index, a
chi-square goodness-of-fit test); ``bot.review.participants`` reads the counts from the
store.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from scipy.stats import chisquare

#: A category is under-represented below this index (sample share / population share) and
#: over-represented above ``OVER``: the bounds commonly used in survey representativeness
#: checks (a fifth short, a quarter over).
UNDER = 0.8
OVER = 1.25
#: The chi-square test is unreliable when a category expects fewer participants than this.
MIN_EXPECTED = 5


@dataclass(frozen=True)
class CategoryShare:
    """One category of a dimension: how many answered it, and the two shares."""

    name: str
    count: int
    sample_share: float | None
    population_share: float | None

    @property
    def index(self) -> float | None:
        """Sample share ÷ population share (1 = as in the population)."""
        if self.sample_share is None or not self.population_share:
            return None
        return self.sample_share / self.population_share

    @property
    def flag(self) -> str | None:
        """"under" or "over" represented, or None."""
        index = self.index
        if index is None:
            return None
        return "under" if index < UNDER else "over" if index > OVER else None


@dataclass(frozen=True)
class DimensionComparison:
    """One dimension: categories in the question's order, who preferred not to say, and
    the goodness-of-fit test (None when there is no population or nobody answered)."""

    dimension: str
    categories: list[CategoryShare]
    answered: int
    preferred_not: int
    chi_square: float | None = None
    p_value: float | None = None
    #: The test's expected counts include some below ``MIN_EXPECTED``.
    few_expected: bool = False

    @property
    def flagged(self) -> list[CategoryShare]:
        return [c for c in self.categories if c.flag]


def compare(dimension: str, counts: Mapping[str, int], population: Mapping[str, float] | None,
            preferred_not: int = 0, order: list[str] | None = None) -> DimensionComparison:
    """Compare ``counts`` (participants per category, "Prefer not to say" excluded) with
    ``population`` (category -> share, summing to 1).

    Categories are listed in ``order`` (the question's options), then any other counted
    or population category. The test is Pearson's chi-square goodness of fit of the
    counts to the population shares (degrees of freedom: categories - 1).
    """
    names = list(dict.fromkeys([*(order or []), *(population or {}), *counts]))
    answered = sum(counts.get(name, 0) for name in names)
    categories = [CategoryShare(name, counts.get(name, 0),
                                counts.get(name, 0) / answered if answered else None,
                                population.get(name) if population is not None else None)
                  for name in names]
    if population is None or answered == 0:
        return DimensionComparison(dimension, categories, answered, preferred_not)
    tested = [c for c in categories if c.population_share]
    expected = [answered * (c.population_share or 0.0) for c in tested]
    few = any(e < MIN_EXPECTED for e in expected)
    if any(c.count for c in categories if not c.population_share):
        # Counted where the population has nobody: as far from it as can be (no
        # statistic is computed: p is 0).
        return DimensionComparison(dimension, categories, answered, preferred_not,
                                   None, 0.0, few)
    statistic, p_value = chisquare([c.count for c in tested], expected)
    return DimensionComparison(dimension, categories, answered, preferred_not,
                               float(statistic), float(p_value), few)
