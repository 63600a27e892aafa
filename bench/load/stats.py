"""Figures of a load run: throughput, turn latency percentiles, errors and re-sends."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from bench.load.citizen import CitizenRecord, Sample

#: The sustainable rate: a step counts when its p95 turn latency is at most this and no
#: transport error went unrecovered.
P95_LIMIT_MS = 500.0


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile: the smallest value with at least ``pct`` % of the values
    at or below it (``values`` not empty)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered) - 1e-9))
    return ordered[min(rank, len(ordered)) - 1]


def latency_figures(samples: list[Sample]) -> dict[str, float]:
    """p50, p95 and p99 turn latency in ms (nearest rank) and the sample count; zeros
    when there are no samples."""
    values = [s.latency_ms for s in samples]
    if not values:
        return {"p50": 0.0, "p95": 0.0, "p99": 0.0, "n": 0}
    return {"p50": percentile(values, 50), "p95": percentile(values, 95),
            "p99": percentile(values, 99), "n": len(values)}


def throughput(samples: list[Sample]) -> tuple[float, float]:
    """(turns per second, seconds): turns over the time from the first message sent to
    the last reply."""
    if not samples:
        return 0.0, 0.0
    duration = max(s.replied_at for s in samples) - min(s.sent_at for s in samples)
    return (len(samples) / duration if duration > 0 else 0.0), duration


@dataclass
class RunFigures:
    """What a run measured (JSON-ready via ``as_dict``)."""

    citizens: int
    turns: int
    duration_s: float
    turns_per_s: float
    latency_ms: dict[str, float]
    latency_by_transport_ms: dict[str, dict[str, float]]
    latency_by_kind_ms: dict[str, dict[str, float]]
    transport_errors: int
    errors_by_reason: dict[str, int]
    errors_by_transport: dict[str, int]
    unrecovered: int
    resends: int
    unavailable: int
    stale_messages: int
    submitted: int
    abandoned: int
    not_understood: int
    disagreements: int
    unexpected_replies: int
    events: dict[str, int]
    generator_cpu_s: float
    notes: list[str] = field(default_factory=list)

    @property
    def sustainable(self) -> bool:
        """p95 within the limit and every transport error recovered."""
        return self.latency_ms["p95"] <= P95_LIMIT_MS and self.unrecovered == 0

    def as_dict(self) -> dict[str, Any]:
        """The figures as plain data."""
        return {k: v for k, v in self.__dict__.items()}


def figures(records: list[CitizenRecord], cpu_seconds: float) -> RunFigures:
    """Aggregate the citizens' records of one run."""
    samples = [s for r in records for s in r.samples]
    rate, duration = throughput(samples)
    by_transport = {name: latency_figures([s for s in samples if s.transport == name])
                    for name in sorted({s.transport for s in samples})}
    by_kind = {name: latency_figures([s for s in samples if s.kind == name])
               for name in sorted({s.kind for s in samples})}
    reasons: Counter[str] = Counter()
    per_transport: Counter[str] = Counter()
    events: Counter[str] = Counter()
    notes: list[str] = []
    for record in records:
        reasons.update(record.transport_errors)
        per_transport[record.transport] += sum(record.transport_errors.values())
        events.update(record.events)
        if record.abandoned:
            notes.append(f"{record.sender} ({record.transport}) stopped: {record.abandoned}")
        notes += [f"{record.sender}: {d}" for d in record.disagreements]
        notes += [f"{record.sender}: not understood {m}" for m in record.misread]
        notes += [f"{record.sender}: unexpected {u}" for u in record.unexpected]
    return RunFigures(
        citizens=len(records), turns=len(samples), duration_s=duration, turns_per_s=rate,
        latency_ms=latency_figures(samples), latency_by_transport_ms=by_transport,
        latency_by_kind_ms=by_kind,
        transport_errors=sum(reasons.values()), errors_by_reason=dict(reasons),
        errors_by_transport=dict(per_transport),
        unrecovered=sum(r.gave_up for r in records), resends=sum(r.resends for r in records),
        unavailable=sum(r.unavailable for r in records),
        stale_messages=sum(r.stale for r in records),
        submitted=sum(r.submitted for r in records),
        abandoned=sum(r.abandoned is not None for r in records),
        not_understood=sum(r.not_understood for r in records),
        disagreements=sum(len(r.disagreements) for r in records),
        unexpected_replies=sum(len(r.unexpected) for r in records),
        events=dict(sorted(events.items())), generator_cpu_s=cpu_seconds, notes=notes)
