"""Speed of the review data at scale, through the JSON API of the real web app.

Seeds a temporary SQLite store with 10,000 participations and 100,000 answers of the
library demo consultation (bulk inserts with SQLAlchemy core after ``migrate``): about
60 % completed, channels rest/telegram/web, open answers drawn from the labelled texts of
tests/eval/themes.jsonl, about 10 transcript entries per participation, some service
questions and tags. The demo has 8 questions, too few for 10 answers per participation,
so its current version here is the demo file plus four questions (two open, two choice)
appended. Then it starts the web app (``python -m bot.web``) in a subprocess and times,
with a personal API token:

- the overview, a consultation (funnel), one question's results, all results, an
  open-answer page (plain and searched), the transcript list and one transcript:
  p50/p95 (target p95 ≤ 300 ms each);
- the CSV export of all answers: time (target ≤ 10 s) and how much the web process's
  resident memory grows meanwhile (sampled from /proc every 20 ms);
- then the same export on a second store with twice the data (20,000 participations,
  200,000 answers): the export streams when the memory growth stays the same while
  the body doubles (``--no-double`` skips this part).

Run: ``.venv/bin/python -m bench.review_pages`` (part of ``make bench``).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import insert, select

from bench.common import summary, write_results
from bot.devtools.stack import ROOT, rss_mb
from bot.devtools.web import WebServer

SLUG = "library-hours-2027"
PARTICIPATIONS = 10_000
ANSWERS = 100_000
TARGET_P95_MS = 300.0
TARGET_EXPORT_S = 10.0
EXTRA_QUESTIONS = """
  - id: travel
    type: single_choice
    text: How do you usually get to the central library?
    options: [On foot, By bike, By bus, By car, Another way]
  - id: improvements
    type: open
    text: What one change would make the library work better for you?
  - id: age_group
    type: single_choice
    text: Which age group are you in?
    options: [Under 18, 18 to 34, 35 to 54, 55 to 74, 75 or over]
    required: false
  - id: study_space
    type: open
    text: What would make the study space better for you?
    required: false
"""
CHANNELS = [("rest", 0.4), ("telegram", 0.35), ("web", 0.25)]
TAGS = ["Opening hours", "Evenings", "Weekends", "Study space", "Children", "Transport"]


# ---------------------------------------------------------------------------- seeding
def _launch(url: str) -> tuple[int, int, list[dict[str, Any]]]:
    """Launch the demo consultation (and its extended version): ids and questions."""
    from bot.consultations.schema import parse_consultation
    from bot.store import repository
    from bot.store.db import migrate, session_scope
    from bot.store.models import Question

    migrate(url)
    text = (ROOT / "consultations" / f"{SLUG}.yml").read_text(encoding="utf-8")
    with session_scope(url) as session:
        repository.launch_consultation(session, parse_consultation(text), text)
        extended = text.rstrip("\n") + "\n" + EXTRA_QUESTIONS.lstrip("\n")
        launched = repository.launch_consultation(session, parse_consultation(extended),
                                                  extended)
        questions = [{"id": q.id, "key": q.key, "type": q.type, "definition": q.definition}
                     for q in session.scalars(select(Question)
                                              .where(Question.version_id == launched.version.id)
                                              .order_by(Question.position))]
        return launched.consultation.id, launched.version.id, questions


def _texts() -> list[str]:
    path = ROOT / "tests" / "eval" / "themes.jsonl"
    return [json.loads(line)["answer"] for line in path.read_text().splitlines() if line]


def _value(rng: random.Random, question: dict[str, Any], texts: list[str]) -> tuple[Any, str]:
    definition = question["definition"]
    if question["type"] == "open":
        text = rng.choice(texts)
        return text, text
    if question["type"] == "scale":
        point = rng.randint(int(definition.get("min", 1)), int(definition.get("max", 5)))
        return point, str(point)
    options = definition["options"]
    if question["type"] == "multi_choice":
        picks = rng.sample(options, rng.randint(1, int(definition.get("max_choices") or 3)))
        return picks, ", ".join(picks)
    choice = rng.choice(options)
    return choice, choice


def _visible(rng: random.Random, questions: list[dict[str, Any]],
             texts: list[str]) -> list[tuple[dict[str, Any], Any, str]]:
    """A participant's answers to every question their answers make visible, in order."""
    given: dict[str, Any] = {}
    shown = []
    for question in questions:
        rule = question["definition"].get("show_if")
        if rule and given.get(rule["question"]) not in rule["in"]:
            continue
        value, raw = _value(rng, question, texts)
        given[question["key"]] = value
        shown.append((question, value, raw))
    return shown


def _plan(rng: random.Random, visible: list[int], answers: int) -> list[tuple[bool, int]]:
    """(completed, answers) per participation (``visible``: how many questions each
    sees), about 60 % completed, adding up to exactly ``answers``."""
    plan = [(True, n) if rng.random() < 0.6 else (False, rng.randint(1, n - 1))
            for n in visible]
    # Trim or top up the unfinished ones until the total is exact.
    total = sum(n for _, n in plan)
    unfinished = [i for i, (done, _) in enumerate(plan) if not done]
    while total != answers:
        i = rng.choice(unfinished)
        n = plan[i][1]
        step = 1 if total < answers else -1
        if 1 <= n + step <= visible[i] - 1:
            plan[i] = (False, n + step)
            total += step
    return plan


def seed(url: str, rng: random.Random, scale: int = 1) -> dict[str, Any]:
    """Fill the store with ``scale`` times the standard size; returns what the timing
    needs (consultation, question keys)."""
    from bot.store.db import engine_for
    from bot.store.models import (
        Answer,
        KnowledgeQuery,
        Participant,
        Participation,
        TranscriptEntry,
    )
    from bot.store.review_models import AnswerTag, ConsultationOpening, Tag

    consultation_id, version_id, questions = _launch(url)
    texts = _texts()
    answered = [_visible(rng, questions, texts) for _ in range(PARTICIPATIONS * scale)]
    plan = _plan(rng, [len(shown) for shown in answered], ANSWERS * scale)
    start = datetime(2026, 12, 1, 8, tzinfo=UTC)
    participants, participations, answers, entries, queries = [], [], [], [], []
    opened: dict[tuple[date, str], int] = {}
    answer_id = entry_id = 0
    open_answers: list[int] = []
    for pid, ((done, count), shown) in enumerate(zip(plan, answered, strict=True), start=1):
        key = secrets.token_hex(32)
        channel = rng.choices([c for c, _ in CHANNELS], [w for _, w in CHANNELS])[0]
        began = start + timedelta(minutes=rng.randrange(60 * 24 * 60))
        participants.append({"id": key, "created_at": began})
        status = "completed" if done else rng.choice(["active", "paused"])
        moment = began
        transcript = [("in", "hello", None, "greet"),
                      ("out", "Which consultation would you like to take part in?",
                       [{"title": "Shaping our library opening hours", "payload": "/start"}],
                       None),
                      ("in", "Shaping our library opening hours", None, "start_consultation"),
                      ("out", "Before we start: here is what we store and why. Agree?",
                       [{"title": "Yes", "payload": "/affirm"},
                        {"title": "No", "payload": "/deny"}], None),
                      ("in", "Yes", None, "affirm")]
        for question, value, raw in shown[:count]:
            answer_id += 1
            moment += timedelta(seconds=rng.randint(5, 90))
            skipped = not question["definition"].get("required", True) and rng.random() < 0.3
            answers.append({"id": answer_id, "participation_id": pid,
                            "question_id": question["id"],
                            "status": "skipped" if skipped else "answered",
                            "value": None if skipped else value,
                            "raw_text": None if skipped else raw, "answered_at": moment,
                            "updated_at": moment})
            if question["type"] == "open" and not skipped:
                open_answers.append(answer_id)
            if len(transcript) < 10:
                options = [{"title": str(o), "payload": "/choose"} for o in
                           question["definition"].get("options", [])]
                transcript += [("out", question["definition"]["text"], options or None, None),
                               ("in", raw, None, "inform")]
        if rng.random() < 0.2:
            covered = rng.random() < 0.9
            queries.append({"participation_id": pid, "question_key": questions[0]["key"],
                            "text": rng.choice(["Is it open on Sundays?", "Can I print?",
                                                "Can I bring my dog?"]),
                            "collections": ["libraries"], "answered": covered,
                            "top_score": 0.7 if covered else 0.2, "forwarded": False,
                            "hits": [{"passage_id": 1, "title": "Opening hours",
                                      "section": "Central Library", "source": "hours.md",
                                      "collection": "libraries", "score": 0.03,
                                      "similarity": 0.7}], "asked_at": moment})
        for direction, text, buttons, intent in transcript[:10]:
            entry_id += 1
            entries.append({"id": entry_id, "participation_id": pid, "direction": direction,
                            "text": text, "buttons": buttons, "intent": intent,
                            "message_id": f"m{entry_id}", "created_at": began})
        participations.append({
            "id": pid, "participant_id": key, "version_id": version_id, "channel": channel,
            "status": status, "consent_at": began, "quote_consent": rng.random() < 0.7,
            "started_at": began, "updated_at": moment,
            "finished_at": moment if done else None, "state": {}})
        day = began.date()
        opened[(day, channel)] = opened.get((day, channel), 0) + 1 + (rng.random() < 0.2)
    engine = engine_for(url)
    with engine.begin() as connection:
        for table, rows in ((Participant, participants), (Participation, participations),
                            (Answer, answers), (TranscriptEntry, entries),
                            (KnowledgeQuery, queries)):
            for chunk in range(0, len(rows), 5000):
                connection.execute(insert(table), rows[chunk:chunk + 5000])
        connection.execute(insert(ConsultationOpening), [
            {"consultation_id": consultation_id, "day": day, "channel": channel,
             "count": count} for (day, channel), count in opened.items()])
        tag_ids = list(range(1, len(TAGS) + 1))
        connection.execute(insert(Tag), [
            {"id": i, "consultation_id": consultation_id, "name": name, "description": ""}
            for i, name in zip(tag_ids, TAGS, strict=True)])
        tagged = rng.sample(open_answers, len(open_answers) // 5)
        connection.execute(insert(AnswerTag), [
            {"answer_id": a, "tag_id": rng.choice(tag_ids)} for a in tagged])
    return {"consultation_id": consultation_id, "participations": len(participations),
            "answers": len(answers), "transcript_entries": len(entries),
            "service_questions": len(queries), "tagged_answers": len(tagged)}


def api_token(url: str) -> str:
    """A reviewer and their personal API token."""
    from bot.accounts.tokens import issue_token
    from bot.accounts.users import create_user
    from bot.store.db import session_scope

    with session_scope(url) as session:
        user = create_user(session, "bench@council.example", "reviewer",
                           "benchmark-password-0123")
        return issue_token(session, user, "bench")


# ---------------------------------------------------------------------------- timing
def timed_gets(client: httpx.Client, paths: list[str]) -> list[float]:
    """Milliseconds per GET (each must succeed)."""
    times = []
    for path in paths:
        began = time.perf_counter()
        response = client.get(path)
        elapsed = (time.perf_counter() - began) * 1000
        response.raise_for_status()
        times.append(elapsed)
    return times


class RssSampler(threading.Thread):
    """Samples a process's resident memory until stopped; keeps the peak."""

    def __init__(self, pid: int, every: float = 0.02) -> None:
        super().__init__(daemon=True)
        self.pid, self.every = pid, every
        self.peak = self.start_mb = rss_mb(pid)
        self.samples = 0
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            self.peak = max(self.peak, rss_mb(self.pid))
            self.samples += 1
            time.sleep(self.every)


def export_csv(client: httpx.Client, pid: int, slug: str) -> dict[str, float]:
    """Download the CSV export (as curl would: no compression), timed, with RSS growth."""
    sampler = RssSampler(pid)
    sampler.start()
    began = time.perf_counter()
    lines = size = 0
    first_byte: float | None = None
    with client.stream("GET", f"/api/v1/consultations/{slug}/exports/csv",
                       headers={"Accept-Encoding": "identity"}, timeout=120) as response:
        response.raise_for_status()
        for chunk in response.iter_bytes():
            if first_byte is None:
                first_byte = time.perf_counter() - began
            size += len(chunk)
            lines += chunk.count(b"\n")  # the seeded texts hold no line breaks
    seconds = time.perf_counter() - began
    sampler.stopped.set()
    sampler.join()
    return {"seconds": seconds, "first_byte_s": first_byte or seconds, "rows": lines - 1,
            "mib": size / 2**20, "rss_before_mib": sampler.start_mb,
            "rss_peak_mib": sampler.peak, "rss_growth_mib": sampler.peak - sampler.start_mb,
            "rss_samples": sampler.samples}


def measure(base_url: str, token: str, pid: int, rounds: int,
            rng: random.Random) -> dict[str, Any]:
    """Time every page ``rounds`` times, then the CSV export."""
    headers = {"Authorization": f"Bearer {token}"}
    c = f"/api/v1/consultations/{SLUG}"
    with httpx.Client(base_url=base_url, headers=headers, timeout=60) as client:
        listing = client.get(f"{c}/transcripts", params={"limit": 500}).json()
        ids = [item["participation_id"] for item in listing["items"]]
        total_transcripts = listing["total"]
        total_open = client.get(f"{c}/questions/improvements/answers",
                                params={"limit": 1}).json()["total"]

        def pages(make: Any) -> list[str]:
            return [make() for _ in range(rounds)]

        cases: dict[str, list[str]] = {
            "overview": pages(lambda: "/api/v1/consultations"),
            "consultation (funnel)": pages(lambda: c),
            "question results (multi choice)": pages(lambda: f"{c}/questions/preferred_times"),
            "all question results": pages(lambda: f"{c}/questions"),
            "open answers, page of 50": pages(
                lambda: f"{c}/questions/improvements/answers?limit=50&offset="
                        f"{rng.randrange(0, total_open - 50)}"),
            "open answers, searched": pages(
                lambda: f"{c}/questions/improvements/answers?search=evening&limit=50"),
            "transcript list, page of 50": pages(
                lambda: f"{c}/transcripts?limit=50&offset="
                        f"{rng.randrange(0, total_transcripts - 50)}"),
            "one transcript": pages(lambda: f"{c}/transcripts/{rng.choice(ids)}"),
        }
        for paths in cases.values():  # warm-up: connections, caches, first imports
            timed_gets(client, paths[:3])
        figures: dict[str, Any] = {name: summary(timed_gets(client, paths))
                                   for name, paths in cases.items()}
        figures["csv export"] = export_csv(client, pid, SLUG)
    return figures


def served(scale: int, rng: random.Random,
           work: Callable[[str, str, int], dict[str, Any]]) -> tuple[dict[str, Any],
                                                                   dict[str, Any]]:
    """Seed a temporary store at ``scale``, start the web app on it and run
    ``work(base_url, api_token, web_pid)``; returns what was seeded and the figures."""
    with tempfile.TemporaryDirectory(prefix="codesign-bench-review-") as tmp:
        workdir = Path(tmp)
        url = f"sqlite:///{workdir / 'bench.db'}"
        began = time.perf_counter()
        seeded = seed(url, rng, scale)
        seeded["seed_seconds"] = round(time.perf_counter() - began, 1)
        token = api_token(url)
        env = {**os.environ, "DATABASE_URL": url, "CODESIGN_VAR_DIR": str(workdir),
               "CODESIGN_SECRET_KEY": os.environ.get("CODESIGN_SECRET_KEY")
               or "bench-secret-key-0123456789abcdef"}
        web = WebServer(env, workdir / "logs" / "web.log")
        try:
            web.start()
            assert web.process is not None
            figures = work(web.url, token, web.process.pid)
        finally:
            web.stop()
        figures["csv export"]["python_heap_peak_mib"] = export_heap_peak(
            url, seeded["consultation_id"])
        return seeded, figures


def export_heap_peak(url: str, consultation_id: int) -> float:
    """The export's peak Python heap (tracemalloc), writing the CSV to nowhere: the
    memory the export itself holds, free of allocator and page-cache noise in RSS."""
    import io
    import tracemalloc

    from bot.export import write_csv
    from bot.store.db import session_scope

    class Nowhere(io.StringIO):
        def write(self, text: str) -> int:
            return len(text)

    tracemalloc.start()
    try:
        with session_scope(url) as session:
            write_csv(session, consultation_id, SLUG, Nowhere())
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def export_only(base_url: str, token: str, pid: int) -> dict[str, Any]:
    """The CSV export alone (after one small warm-up request)."""
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=60) as client:
        client.get(f"/api/v1/consultations/{SLUG}").raise_for_status()
        return {"csv export": export_csv(client, pid, SLUG)}


def report(seeded: dict[str, Any], figures: dict[str, Any]) -> None:
    """Print the table and the targets."""
    print(f"review data at scale: {seeded['participations']:,} participations, "
          f"{seeded['answers']:,} answers, {seeded['transcript_entries']:,} transcript "
          f"entries (SQLite, JSON API of the web app over HTTP)")
    print(f"{'page':<36}{'p50 ms':>9}{'p95 ms':>9}  target p95 ≤ {TARGET_P95_MS:.0f} ms")
    for name, figure in figures.items():
        if name.startswith("csv export"):
            continue
        met = "met" if figure["p95"] <= TARGET_P95_MS else "NOT MET"
        print(f"{name:<36}{figure['p50']:>9.1f}{figure['p95']:>9.1f}  {met}")
    export = figures["csv export"]
    met = "met" if export["seconds"] <= TARGET_EXPORT_S else "NOT MET"
    print(f"CSV export: {export['rows']:,} rows, {export['mib']:.1f} MiB in "
          f"{export['seconds']:.2f} s (first byte {export['first_byte_s'] * 1000:.0f} ms); "
          f"target ≤ {TARGET_EXPORT_S:.0f} s: {met}")
    print(f"web process RSS during the export: {export['rss_before_mib']:.0f} MiB -> peak "
          f"{export['rss_peak_mib']:.0f} MiB (+{export['rss_growth_mib']:.1f} MiB, "
          f"{export['rss_samples']} samples); the export's peak Python heap "
          f"{export['python_heap_peak_mib']:.1f} MiB")


def report_double(single: dict[str, Any], double: dict[str, Any],
                  seeded: dict[str, Any]) -> None:
    """The export's memory at both sizes: flat when the growth does not follow the size."""
    # Buffering the body would add about the extra body's size; streaming adds nothing.
    extra = double["python_heap_peak_mib"] - single["python_heap_peak_mib"]
    verdict = "flat" if extra < 0.1 * (double["mib"] - single["mib"]) else "GROWS WITH THE DATA"
    print(f"CSV export on twice the data ({seeded['answers']:,} answers): "
          f"{double['rows']:,} rows, {double['mib']:.1f} MiB in {double['seconds']:.2f} s")
    print(f"  export's peak Python heap (tracemalloc): {single['python_heap_peak_mib']:.1f} MiB "
          f"for {single['mib']:.1f} MiB, {double['python_heap_peak_mib']:.1f} MiB for "
          f"{double['mib']:.1f} MiB: {verdict}")
    print(f"  web process RSS growth (includes allocator arenas and SQLite's cache): "
          f"+{single['rss_growth_mib']:.1f} MiB, then +{double['rss_growth_mib']:.1f} MiB")


def main() -> None:
    """Seed, serve, time, print; then the export again on twice the data."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=60, help="requests per page")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--no-double", action="store_true",
                        help="skip the CSV export on twice the data (the memory check)")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    seeded, figures = served(1, rng, lambda base, token, pid: measure(
        base, token, pid, args.rounds, rng))
    report(seeded, figures)
    if not args.no_double:
        doubled, export = served(2, rng, export_only)
        figures["csv export, twice the data"] = export["csv export"]
        report_double(figures["csv export"], export["csv export"], doubled)
    write_results("review_pages", {"seeded": seeded, **figures,
                                   "targets": {"p95_ms": TARGET_P95_MS,
                                               "csv_export_s": TARGET_EXPORT_S}})


if __name__ == "__main__":
    main()
