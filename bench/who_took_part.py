"""Speed of "Who took part" at scale: 10,000 participations, 3 profile dimensions.

Seeds a temporary SQLite store (bulk inserts after ``migrate``) with a consultation of
three choice questions and three profile questions (age band, area, gender) with a
population, and 10,000 completed participations skewed against it (older people and one
area over-represented, 8 % "Prefer not to say" per dimension, channels telegram, web,
phone and paper). Then times, in-process through the web app (FastAPI TestClient, a
signed-in reviewer and an API token):

- the review page ``/review/c/<slug>/participants`` and the JSON API
  ``/api/v1/consultations/<slug>/participants``: p50/p95 over 20 requests each (target
  p95 ≤ 300 ms);
- raking alone (``bot.review.weighting.rake`` on the 10,000 profiles): p50/p95 over 20
  runs (target ≤ 1 s).

Run: ``.venv/bin/python -m bench.who_took_part`` (part of ``make bench``).
"""

from __future__ import annotations

import random
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import insert, text

from bench.common import latency, summary, write_results

PARTICIPATIONS = 10_000
RUNS = 20
TARGET_PAGE_P95_MS = 300.0
TARGET_RAKE_S = 1.0
SLUG = "bench-who-took-part"
PASSWORD = "bench password 0123456789"
POPULATION = {
    "age_band": {"16 to 34": 0.31, "35 to 64": 0.47, "65 or over": 0.22},
    "area": {"North": 0.3, "Centre": 0.4, "South": 0.3},
    "gender": {"Woman": 0.51, "Man": 0.48, "In another way": 0.01},
}
#: How the sample is drawn: older people and the North over-represented.
SAMPLE = {
    "age_band": {"16 to 34": 0.15, "35 to 64": 0.45, "65 or over": 0.40},
    "area": {"North": 0.5, "Centre": 0.3, "South": 0.2},
    "gender": {"Woman": 0.6, "Man": 0.39, "In another way": 0.01},
}
CHOICES = {"use": ["Daily", "Weekly", "Rarely", "Never"],
           "priority": ["Frequency", "Reliability", "Price", "Routes"],
           "satisfied": ["Yes", "No", "Not sure"]}
CHANNELS = [("telegram", 0.4), ("web", 0.4), ("phone", 0.1), ("paper", 0.1)]


def consultation_file() -> str:
    """The benchmark consultation, with its population inline."""
    lines = [f"slug: {SLUG}", "title: Bus services", "agency: Riverside Borough Council",
             "service: Transport", "kind: co-design", "summary: Buses.",
             "outcome: We will publish what we heard.", "questions:"]
    for key, options in CHOICES.items():
        lines += [f"  - id: {key}", "    type: single_choice", f"    text: {key}?",
                  f"    options: [{', '.join(options)}]"]
    for dimension, shares in POPULATION.items():
        lines += [f"  - id: {dimension}", "    type: single_choice", f"    text: {dimension}?",
                  f"    options: [{', '.join(shares)}]", f"    profile: {dimension}"]
    lines += ["population:", "  source: benchmark", "  dimensions:"]
    for dimension, shares in POPULATION.items():
        inner = ", ".join(f"{k}: {v}" for k, v in shares.items())
        lines.append(f"    {dimension}: {{{inner}}}")
    return "\n".join(lines) + "\n"


def seed(url: str) -> str:
    """The store with the participations; returns an API token of a reviewer."""
    from bot.accounts.tokens import issue_token
    from bot.accounts.users import create_user
    from bot.consultations.schema import parse_consultation
    from bot.store import repository
    from bot.store.db import migrate, session_scope
    from bot.store.models import Answer, Participant, Participation

    migrate(url)
    rng = random.Random(2026)
    now = datetime.now(UTC)
    source = consultation_file()
    with session_scope(url) as session:
        version = repository.launch_consultation(session, parse_consultation(source),
                                                 source).version
        questions = {k: q.id for k, q in repository.questions_by_key(session,
                                                                      version.id).items()}
        user = create_user(session, "bench@council.example", "reviewer", PASSWORD)
        token = issue_token(session, user, "bench")
        session.execute(insert(Participant), [{"id": f"p{i}", "created_at": now}
                                              for i in range(PARTICIPATIONS)])
        channels, weights = zip(*CHANNELS, strict=True)
        session.execute(insert(Participation), [
            {"id": i + 1, "participant_id": f"p{i}", "version_id": version.id,
             "channel": rng.choices(channels, weights)[0], "status": "completed",
             "consent_at": now, "started_at": now, "updated_at": now, "finished_at": now,
             "state": {}} for i in range(PARTICIPATIONS)])
        answers = []
        for i in range(PARTICIPATIONS):
            for key, options in CHOICES.items():
                answers.append((i + 1, questions[key], rng.choice(options)))
            for dimension, shares in SAMPLE.items():
                value = "Prefer not to say" if rng.random() < 0.08 else \
                    rng.choices(list(shares), list(shares.values()))[0]
                answers.append((i + 1, questions[dimension], value))
        session.execute(insert(Answer), [
            {"participation_id": pid, "question_id": qid, "status": "answered", "value": v,
             "raw_text": v, "answered_at": now, "updated_at": now} for pid, qid, v in answers])
    return token


def timed(call: Callable[[], object], runs: int = RUNS) -> list[float]:
    """Milliseconds of ``runs`` calls of ``call`` (after one warm-up call)."""
    call()
    found = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        found.append(1000 * (time.perf_counter() - started))
    return found


def main() -> None:
    from fastapi.testclient import TestClient

    from bot.review.participants import who_took_part
    from bot.review.weighting import rake
    from bot.store.db import session_scope
    from bot.web import WebSettings, create_app
    from tests.unit.review_web_support import signed_in

    print(f"Who took part: {PARTICIPATIONS:,} participations, 3 profile dimensions, "
          "3 choice questions (SQLite)")
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        token = seed(url)
        app = create_app(WebSettings(database_url=url,
                                     secret="bench-web-secret-0123456789abcdef"))
        browser = signed_in(app, ("bench@council.example", PASSWORD))

        def page() -> None:
            assert browser.get(f"/review/c/{SLUG}/participants").status_code == 200

        with TestClient(app) as api:
            def json_api() -> None:
                response = api.get(f"/api/v1/consultations/{SLUG}/participants",
                                   headers={"Authorization": f"Bearer {token}"})
                assert response.status_code == 200

            figures = {"page": summary(timed(page)), "api": summary(timed(json_api))}
        with session_scope(url) as session:
            consultation_id = session.execute(text("select id from consultations")).scalar_one()
            result = who_took_part(session, consultation_id)
            assert result is not None
        rng = random.Random(7)
        profiles = [{d: rng.choices(list(shares), list(shares.values()))[0]
                     for d, shares in SAMPLE.items()} for _ in range(PARTICIPATIONS)]
        figures["rake"] = summary(timed(lambda: rake(profiles, POPULATION)))
    target = f"target p95 ≤ {TARGET_PAGE_P95_MS:.0f} ms"
    print(f"  review page      {latency(figures['page'])}   {target}")
    print(f"  JSON API         {latency(figures['api'])}   {target}")
    print(f"  raking alone     {latency(figures['rake'])}   target ≤ {TARGET_RAKE_S * 1000:.0f} ms")
    print(f"  weighting: effective sample size {result.raking.effective_size:,.0f} of "
          f"{result.participants:,}, largest weight {result.raking.largest:.2f}, "
          f"warnings: {len(result.raking.warnings)}")
    write_results("who_took_part", {**figures, "participations": PARTICIPATIONS,
                                    "effective_sample_size": result.raking.effective_size,
                                    "largest_weight": result.raking.largest})


if __name__ == "__main__":
    main()
