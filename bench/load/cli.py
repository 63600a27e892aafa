"""``python -m bench.load``: the load benchmark's command line, output and results file."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any

from bench.common import write_results
from bench.load import targets
from bench.load.citizen import CitizenSettings
from bench.load.scenario import TRANSPORTS, LoadConfig, RunResult, Target, find_rate, run
from bench.load.stats import P95_LIMIT_MS
from bot.devtools.stack import ROOT

SCENARIOS = ("steady", "burst", "find-rate")
RATIO_TARGET = 1.5


def parse_think(text: str) -> tuple[float, float]:
    """``"0-10"`` -> (0, 10); ``"5"`` -> (0, 5); ``"0"`` -> no think time."""
    low, _, high = text.partition("-")
    pair = (float(low), float(high)) if high else (0.0, float(low))
    if pair[0] < 0 or pair[1] < pair[0]:
        raise argparse.ArgumentTypeError(f"think time {text!r}: want LOW-HIGH seconds")
    return pair


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.load",
        description="Simulated citizens take part in whole consultations at once; then the "
                    "store is checked: no answer lost, duplicated or wrong.")
    parser.add_argument("--mode", choices=("embedded", "scaled", "both"), default="embedded",
                        help="start the embedded default (SQLite, one Rasa), the scaled "
                             "mode (PostgreSQL, Redis, nginx), or both: find-rate on each "
                             "(and the ratio), then burst on each")
    parser.add_argument("--url", help="target a deployment already running (e.g. "
                                      "http://127.0.0.1:5005, or :8080 for make run-scaled)")
    parser.add_argument("--database-url", help="its app store (with --url)")
    parser.add_argument("--scenario", choices=SCENARIOS, default="steady")
    parser.add_argument("--citizens", type=int, default=200)
    parser.add_argument("--arrival", type=float, default=30.0,
                        help="seconds over which citizens arrive (steady, find-rate steps)")
    parser.add_argument("--think", type=parse_think, default=(0.0, 10.0),
                        help="think time before each message, uniform LOW-HIGH seconds "
                             "(default 0-10; the burst scenario has none)")
    parser.add_argument("--transport", choices=TRANSPORTS, default="mixed")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--reply-timeout", type=float, default=30.0,
                        help="seconds to wait for a reply before sending again")
    parser.add_argument("--max-resends", type=int, default=6)
    parser.add_argument("--find-start", type=int, default=100,
                        help="citizens of the first find-rate step (doubled while sustainable)")
    parser.add_argument("--find-max", type=int, default=1600)
    parser.add_argument("--port-base", type=int, default=6300,
                        help="servers started here listen on BASE+5 (Rasa), BASE+55 "
                             "(actions); the scaled mode's nginx on BASE+80 and its "
                             "internal servers from BASE+100")
    parser.add_argument("--postgres-url", default=os.environ.get(
        "CODESIGN_BENCH_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"),
        help="PostgreSQL server for the scaled mode (a fresh database is made on it)")
    parser.add_argument("--redis-url", default=os.environ.get(
        "CODESIGN_BENCH_REDIS", "redis://127.0.0.1:6379/4"),
        help="Redis for the scaled mode's lock store (a database of the bench's own)")
    args = parser.parse_args(argv)
    if bool(args.url) != bool(args.database_url):
        parser.error("--url and --database-url go together")
    return args


# ------------------------------------------------------------------ output

def _ms(figures: dict[str, float]) -> str:
    return (f"p50 {figures['p50']:7.1f} ms   p95 {figures['p95']:7.1f} ms   "
            f"p99 {figures['p99']:7.1f} ms   n={figures['n']:.0f}")


def print_run(target: str, result: RunResult) -> None:
    """A run's figures and store check."""
    f, c = result.figures, result.check
    print(f"== {target} · {result.label}: {result.config.describe()}")
    print(f"  turns                {f.turns:,} in {f.duration_s:.1f} s = "
          f"{f.turns_per_s:.1f} turns/s")
    print(f"  turn latency         {_ms(f.latency_ms)}")
    names = {"rest": "REST (whole reply)", "socketio": "socket.io (first reply message)"}
    for name, figures in f.latency_by_transport_ms.items():
        print(f"    {names.get(name, name):31s}{_ms(figures)}")
    print("                       (from the first sending to the reply; re-sends and "
          "their backoff included)")
    kinds = "; ".join(f"{kind} {figures['p50']:.0f}/{figures['p95']:.0f}"
                      for kind, figures in f.latency_by_kind_ms.items())
    print(f"    by message, p50/p95 ms: {kinds}")
    reasons = ", ".join(f"{reason} {n}" for reason, n in sorted(f.errors_by_reason.items()))
    where = ", ".join(f"{names.get(t, t).split()[0]} {n}"
                      for t, n in sorted(f.errors_by_transport.items()))
    print(f"  transport errors     {f.transport_errors}" + (f" ({reasons}; {where})" if reasons
                                                            else "")
          + f"; not recovered: {f.unrecovered}")
    print(f"  re-sends             {f.resends}; bot \"unavailable\" replies {f.unavailable}"
          f"; late socket.io messages {f.stale_messages}")
    print(f"  citizens             {f.submitted}/{f.citizens} submitted, {f.abandoned} stopped"
          f"; {f.not_understood} typed answers not understood (pressed the button instead)"
          f"; {f.disagreements} shown answers that differed from what was acknowledged"
          f"; {f.unexpected_replies} unexpected replies")
    paths = ("service", "repeat", "pause", "back", "skip")
    print("  unhappy paths        " + ", ".join(f"{name} {f.events.get(name, 0)}"
                                              for name in paths))
    share = f.generator_cpu_s / f.duration_s * 100 if f.duration_s else 0.0
    print(f"  load generator CPU   {f.generator_cpu_s:.1f} s ({share:.0f} % of one core over "
          f"the run, {f.generator_cpu_s / max(f.turns, 1) * 1000:.2f} ms per turn)")
    per_turn = result.cpu_ms_per_turn()
    if result.server_cpu_s:
        total, cpus = sum(per_turn.values()), os.cpu_count() or 1
        parts = ", ".join(f"{part} {ms:.1f}" for part, ms in per_turn.items() if ms >= 0.05)
        print(f"  CPU per turn, ms     {parts}; total {total:.1f} ms: "
              f"{cpus} CPUs allow at most {cpus * 1000 / total:.0f} "
              "turns/s of this mix" if total else "  CPU per turn         none measured")
    before, after = result.load_average
    print(f"  machine load         1-min load average {before:.1f} before, {after:.1f} after "
          f"({os.cpu_count()} CPUs; servers, generator and anything else running)")
    verdict = "clean" if c.clean else f"NOT CLEAN ({c.failures} problems)"
    print(f"  store check          {verdict}: {c.citizens} citizens, {c.answers_checked:,} "
          f"answers checked: {c.lost} lost, {c.duplicated} duplicated, {c.wrong} wrong, "
          f"{c.unexpected} never acknowledged")
    print(f"                       {c.submissions_checked} submissions: {c.not_completed} not "
          f"completed; participations: {c.missing_participations} missing, "
          f"{c.extra_participations} extra")
    print(f"                       {c.transcripts_checked} transcripts, {c.messages_checked:,} "
          f"messages: {c.transcript_missing} missing, {c.transcript_duplicated} duplicated, "
          f"{c.transcript_out_of_order} out of order, {c.transcript_unexpected} unexpected")
    for problem in c.problems[:10]:
        print(f"    ! {problem}")
    for note in f.notes[:5]:
        print(f"    - {note}")
    if len(f.notes) > 5:
        print(f"    - … and {len(f.notes) - 5} more notes")
    sys.stdout.flush()


def print_step(target: str, result: RunResult) -> None:
    """One find-rate step, then its full figures."""
    f = result.figures
    ok = "sustainable" if f.sustainable else "not sustainable"
    print(f"-- {target} find-rate step: {result.config.citizens} citizens over "
          f"{result.config.arrival:g} s: {f.turns_per_s:.1f} turns/s, p95 "
          f"{f.latency_ms['p95']:.0f} ms, {f.unrecovered} unrecovered errors -> {ok}")
    print_run(target, result)


# ------------------------------------------------------------------ running

def run_scenario(target: Target, scenario: str, args: argparse.Namespace,
                 first: int | None = None) -> dict[str, Any]:
    """Run one scenario against a target, print it, and return its results (``first``:
    the first find-rate step's citizens, default ``--find-start``)."""
    settings = CitizenSettings(think=args.think, reply_timeout=args.reply_timeout,
                               max_resends=args.max_resends)
    base = LoadConfig(citizens=args.citizens, arrival=args.arrival, transport=args.transport,
                      seed=args.seed, settings=settings, label=scenario)
    if scenario == "find-rate":
        search = find_rate(target, base, first or args.find_start, args.find_max,
                           lambda step: print_step(target.name, step))
        best = search.best
        verdict = (f"{search.rate:.1f} turns/s ({best.config.citizens} citizens over "
                   f"{best.config.arrival:g} s)") if best else "none: no step was sustainable"
        print(f"== {target.name} sustainable rate (p95 <= {P95_LIMIT_MS:.0f} ms, no "
              f"unrecovered errors): {verdict}\n")
        return {"sustainable_turns_per_s": search.rate,
                "sustainable_citizens": best.config.citizens if best else None,
                "steps": [step.as_dict() for step in search.steps],
                "store_check_clean": all(step.check.clean for step in search.steps)}
    if scenario == "burst":
        base = LoadConfig(citizens=args.citizens, burst=True, transport=args.transport,
                          seed=args.seed, label="burst",
                          settings=CitizenSettings(think=(0.0, 0.0),
                                                   reply_timeout=args.reply_timeout,
                                                   max_resends=args.max_resends))
    result = run(target, base)
    print_run(target.name, result)
    print()
    return {**result.as_dict(), "store_check_clean": result.check.clean}


def deployments(args: argparse.Namespace
                ) -> Iterator[tuple[str, Callable[[], AbstractContextManager[Target]]]]:
    """(name, how to get it running) for each deployment the run targets."""
    if args.url:
        yield "existing", lambda: targets.existing(args.url, args.database_url)
        return
    if args.mode in ("embedded", "both"):
        yield "embedded", lambda: targets.embedded(args.port_base)
    if args.mode in ("scaled", "both"):
        yield "scaled", lambda: targets.scaled(args.port_base, args.postgres_url,
                                               args.redis_url)


def first_step(name: str, results: dict[str, Any]) -> int | None:
    """The scaled mode's search starts at the target: 1.5 times the citizens of the
    embedded default's sustainable step (None: ``--find-start``)."""
    found = results.get("embedded", {}).get("find-rate", {}).get("sustainable_citizens")
    if name != "scaled" or not found:
        return None
    return max(10, round(found * RATIO_TARGET / 10) * 10)


def merge_results(update: dict[str, Any]) -> dict[str, Any]:
    """``results/load.json`` with this run's figures merged in (by deployment and
    scenario), so separate runs of each scenario add up."""
    path = ROOT / "results" / "load.json"
    try:
        previous = json.loads(path.read_text()) if path.exists() else {}
    except ValueError:
        previous = {}
    merged = previous if isinstance(previous, dict) else {}
    for name, value in update.items():
        if isinstance(value, dict) and isinstance(merged.get(name), dict):
            merged[name].update(value)
        else:
            merged[name] = value
    return merged


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; 0 when every store check was clean."""
    args = arguments(argv)
    for name in ("engineio.client", "socketio.client"):  # dropped sockets are counted
        logging.getLogger(name).setLevel(logging.CRITICAL)
    scenarios = ["find-rate", "burst"] if args.mode == "both" and not args.url \
        else [args.scenario]
    print(f"Load benchmark: {', '.join(scenarios)} on "
          f"{'the deployment at ' + args.url if args.url else args.mode} "
          f"(this machine: {os.cpu_count()} CPUs; the load generator runs on it too)\n")
    results: dict[str, Any] = {}
    clean = True
    for name, start in deployments(args):
        try:
            with start() as target:
                for scenario in scenarios:
                    figures = run_scenario(target, scenario, args, first_step(name, results))
                    results.setdefault(name, {})[scenario] = figures
                    clean = clean and bool(figures["store_check_clean"])
        except targets.NotAvailable as exc:
            print(f"== {name}: {exc}\n")
            results.setdefault(name, {})["not_available"] = str(exc)
            if args.mode != "both":
                return 2
    embedded = results.get("embedded", {}).get("find-rate", {})
    scaled = results.get("scaled", {}).get("find-rate", {})
    if args.mode == "both":
        if embedded.get("sustainable_turns_per_s") and scaled.get("sustainable_turns_per_s"):
            ratio = scaled["sustainable_turns_per_s"] / embedded["sustainable_turns_per_s"]
            met = "met" if ratio >= RATIO_TARGET else "NOT met"
            print(f"== sustainable rate, scaled / embedded: {ratio:.2f} "
                  f"(target >= {RATIO_TARGET}: {met})")
            results["ratio_scaled_to_embedded"] = ratio
        else:
            print("== sustainable rate, scaled / embedded: not measured (a mode did not run "
                  "or found no sustainable step)")
    results["measured_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    results["cpus"] = os.cpu_count()
    write_results("load", merge_results(results))
    if not clean:
        print("The store check found problems (see above).")
    return 0 if clean else 1
