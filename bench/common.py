"""Helpers shared by the benchmarks: percentiles and writing results."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

from bot.devtools.stack import ROOT


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile of ``values``."""
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def summary(values: list[float]) -> dict[str, float]:
    """p50, p95 and the sample count."""
    return {"p50": statistics.median(values), "p95": percentile(values, 95), "n": len(values)}


def latency(figures: dict[str, float]) -> str:
    """``p50 … ms   p95 … ms   n=…`` for a ``summary``."""
    return f"p50 {figures['p50']:6.1f} ms   p95 {figures['p95']:6.1f} ms   n={figures['n']:.0f}"


def write_results(name: str, figures: dict[str, object]) -> Path:
    """Write ``results/<name>.json``, say where, and return its path."""
    out = ROOT / "results" / f"{name}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(figures, indent=2))
    print(f"  (written to {out.relative_to(ROOT)})")
    return out
