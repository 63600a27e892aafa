"""Figures shaped for the review pages' bar charts (CSS widths in whole percent)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BarRow:
    """One bar: its label, count, share of the total (0..100) and CSS width class."""

    label: str
    count: int
    percent: float

    @property
    def width(self) -> int:
        """The bar's width in whole percent (a visible sliver for any non-zero count)."""
        if self.count <= 0:
            return 0
        return max(1, min(100, round(self.percent)))


def bar_rows(counts: list[tuple[str, int]], total: int | None = None) -> list[BarRow]:
    """Bars for ``counts``, as shares of ``total``.

    Args:
        counts: label and count, in display order.
        total: what 100 % is (e.g. the participants who answered a multiple-choice
            question); the sum of the counts when omitted.
    """
    base = total if total is not None else sum(count for _, count in counts)
    return [BarRow(label, count, 100 * count / base if base else 0.0) for label, count in counts]
