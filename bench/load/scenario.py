"""Running citizens against a deployment: one run, and the stepped search for the
sustainable rate.

- ``steady``: N citizens arriving evenly over ``arrival`` seconds, with think times;
- ``burst``: N citizens arriving within the same second, without think time;
- ``find_rate``: steady steps of growing N (arriving over 30 s): N doubles while a step
  is sustainable (p95 turn latency <= 500 ms, no transport error left unrecovered), then
  one step halfway between the last sustainable N and the first that was not (when
  even the first step is not sustainable, N halves instead). The sustainable rate is
  the highest throughput (turns over the step's duration, ramp-up and ramp-down
  included) of a sustainable step.

Each run is followed by the store check (``bench.load.check``).
"""

from __future__ import annotations

import asyncio
import os
import random
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from bench.load import cpu as cpu_meter
from bench.load.check import StoreCheck, check_store
from bench.load.citizen import Citizen, CitizenRecord, CitizenSettings, CitizenSpec
from bench.load.script import consultations, reply_status
from bench.load.stats import RunFigures, figures
from bench.load.transports import RestTransport, SocketTransport, Transport

TRANSPORTS = ("rest", "socketio", "mixed")


@dataclass(frozen=True)
class LoadConfig:
    """One run: how many citizens, how they arrive, on which transport, and the seed."""

    citizens: int = 200
    arrival: float = 30.0
    burst: bool = False
    transport: str = "mixed"
    seed: int = 1
    settings: CitizenSettings = field(default_factory=CitizenSettings)
    label: str = "steady"

    def describe(self) -> str:
        """One line: citizens, transports, arrival and think time."""
        if self.transport == "mixed":
            rest = (self.citizens + 1) // 2
            how = f"{rest} REST, {self.citizens - rest} socket.io"
        else:
            how = "all REST" if self.transport == "rest" else "all socket.io"
        arrival = "within the same second" if self.burst else f"arriving over {self.arrival:g} s"
        low, high = self.settings.think
        think = f"think {low:g}-{high:g} s" if high > 0 else "no think time"
        return f"{self.citizens} citizens ({how}), {arrival}, {think}, seed {self.seed}"


@dataclass
class Target:
    """A running deployment: where citizens talk to it, its app store, and the key of
    its participant ids."""

    name: str
    url: str
    database_url: str
    secret: bytes
    #: the stack serving it, when this process started one (fault benchmarks use it)
    stack: Any = None


@dataclass
class RunResult:
    """One run's figures and store check."""

    label: str
    config: LoadConfig
    figures: RunFigures
    check: StoreCheck
    records: list[CitizenRecord] = field(repr=False, default_factory=list)
    #: the machine's 1-minute load average before and after the run (others' work shows)
    load_average: tuple[float, float] = (0.0, 0.0)
    #: CPU seconds each part of the deployment spent during the run (``bench.load.cpu``)
    server_cpu_s: dict[str, float] = field(default_factory=dict)

    def cpu_ms_per_turn(self) -> dict[str, float]:
        """Each part's CPU per turn, the load generator's included (ms)."""
        turns = max(self.figures.turns, 1)
        parts = {**self.server_cpu_s, "load generator": self.figures.generator_cpu_s}
        return {part: seconds / turns * 1000 for part, seconds in parts.items()}

    def as_dict(self) -> dict[str, object]:
        """Figures, the store check and the run's settings as plain data."""
        return {"label": self.label, "citizens": self.config.citizens,
                "arrival_s": 0.0 if self.config.burst else self.config.arrival,
                "think_s": list(self.config.settings.think),
                "transport": self.config.transport, "seed": self.config.seed,
                "load_average_1min": list(self.load_average),
                "cpu_ms_per_turn": self.cpu_ms_per_turn(),
                **self.figures.as_dict(), "store_check": self.check.as_dict()}


def make_specs(config: LoadConfig, nonce: str) -> list[CitizenSpec]:
    """The citizens of a run, all drawn from its seed (``nonce`` only keeps sender ids
    unique across runs on one database)."""
    rng = random.Random(config.seed)
    slugs = sorted(consultations())
    specs = []
    for i in range(config.citizens):
        kind = config.transport if config.transport != "mixed" else \
            ("rest" if i % 2 == 0 else "socketio")
        arrival = rng.uniform(0, 1) if config.burst else i * config.arrival / config.citizens
        specs.append(CitizenSpec(sender=f"load-{nonce}-{i:04d}", slug=rng.choice(slugs),
                                 transport=kind, seed=rng.randrange(2 ** 32), arrival=arrival,
                                 affinity=f"{rng.getrandbits(48):012x}"))
    return specs


def make_transport(spec: CitizenSpec, url: str, settings: CitizenSettings) -> Transport:
    """The citizen's connection: REST, or socket.io with its affinity key."""
    if spec.transport == "rest":
        return RestTransport(url, spec.sender, settings.reply_timeout)
    return SocketTransport(url, spec.sender, spec.affinity, settings.reply_timeout,
                           reply_status)


async def run_citizens(url: str, config: LoadConfig) -> tuple[list[CitizenRecord], float]:
    """Run every citizen of ``config`` concurrently; their records and the CPU seconds
    this process (the load generator) spent."""
    specs = make_specs(config, secrets.token_hex(3))
    cpu = time.process_time()
    citizens = [Citizen(spec, make_transport(spec, url, config.settings), config.settings)
                for spec in specs]
    records = await asyncio.gather(*(citizen.run() for citizen in citizens))
    return list(records), time.process_time() - cpu


def run(target: Target, config: LoadConfig) -> RunResult:
    """One run against ``target``, then the store check."""
    before, servers_before = os.getloadavg()[0], cpu_meter.snapshot()
    records, cpu = asyncio.run(run_citizens(target.url, config))
    after, servers_after = os.getloadavg()[0], cpu_meter.snapshot()
    check = check_store(target.database_url, target.secret,
                        [record.expectation() for record in records])
    return RunResult(config.label, config, figures(records, cpu), check, records,
                     (before, after), cpu_meter.spent(servers_before, servers_after))


@dataclass
class RateSearch:
    """The steps of ``find_rate`` and the sustainable rate they found (0 when none was)."""

    steps: list[RunResult]

    @property
    def best(self) -> RunResult | None:
        good = [step for step in self.steps if step.figures.sustainable]
        return max(good, key=lambda step: step.figures.turns_per_s) if good else None

    @property
    def rate(self) -> float:
        best = self.best
        return best.figures.turns_per_s if best else 0.0


def step_sizes(first: int, most: int, sustainable: Callable[[int], bool]) -> list[int]:
    """Run steps of growing size (``sustainable(n)`` runs one): double from ``first`` while
    sustainable (halve while not, when even ``first`` is not), then bisect between the
    largest sustainable and the smallest unsustainable size (to 5 citizens) until they
    are within a quarter of the sustainable one (at least 10 citizens) apart. Returns
    the sizes run, in order."""
    sizes: list[int] = []
    good: list[int] = []
    bad: list[int] = []

    def step(n: int) -> bool:
        sizes.append(n)
        ok = sustainable(n)
        (good if ok else bad).append(n)
        return ok

    n = first
    if step(n):
        while n * 2 <= most and step(n * 2):
            n *= 2
    else:
        while n // 2 >= 10 and not step(n // 2):
            n //= 2
    while good:
        above = [b for b in bad if b > max(good)]
        if not above:
            break
        low, high = max(good), min(above)
        middle = round((low + high) / 2 / 5) * 5
        if high - low <= max(10, low // 4) or not low < middle < high:
            break
        step(middle)
    return sizes


def find_rate(target: Target, base: LoadConfig, first: int, most: int,
              report: Callable[[RunResult], None]) -> RateSearch:
    """Steady steps of growing size (``step_sizes``), each reported as it ends."""
    steps: list[RunResult] = []

    def one(n: int) -> bool:
        result = run(target, replace(base, citizens=n, label=f"find-rate {n}", burst=False))
        steps.append(result)
        report(result)
        return result.figures.sustainable

    step_sizes(first, most, one)
    return RateSearch(steps)
