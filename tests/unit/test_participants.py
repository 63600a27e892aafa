"""The "Who took part" figures from the store: a consultation with profile questions and
a population, participations with a known skew, read back through the review page, the
JSON API and the exports (weights column)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bot.accounts.tokens import issue_token
from bot.accounts.users import create_user
from bot.consultations.schema import parse_consultation
from bot.export import write_csv, write_json
from bot.review.participants import weights_of, who_took_part
from bot.store import repository
from bot.store.db import migrate, session_scope
from bot.web import WebSettings, create_app
from tests.unit.review_web_support import signed_in

SLUG = "bus-routes"
PASSWORD = "correct horse battery staple"
FILE = f"""\
slug: {SLUG}
title: Bus routes
agency: Riverside Borough Council
service: Transport
kind: co-design
summary: Tell us about the buses.
outcome: We will publish what we heard.
questions:
  - id: use
    type: single_choice
    text: How often do you take the bus?
    options: [Often, Rarely]
  - id: age
    type: single_choice
    text: How old are you?
    options: [Under 65, 65 or over]
    profile: age_band
population:
  source: Test census
  dimensions:
    age_band: {{Under 65: 0.8, 65 or over: 0.2}}
"""
# 40 over-65s among 100 who answered (twice their population share), 10 who preferred
# not to say. Over-65s take the bus "Often", the others "Rarely".
SAMPLE = ([("telegram", "65 or over", "Often")] * 30 + [("web", "65 or over", "Often")] * 10
          + [("telegram", "Under 65", "Rarely")] * 20 + [("web", "Under 65", "Rarely")] * 40
          + [("web", "Prefer not to say", "Rarely")] * 10)


@dataclass(frozen=True)
class Stored:
    url: str
    consultation_id: int
    token: str


@pytest.fixture
def stored(sqlite_url: str) -> Iterator[Stored]:
    migrate(sqlite_url)
    with session_scope(sqlite_url) as session:
        version = repository.launch_consultation(session, parse_consultation(FILE), FILE).version
        questions = repository.questions_by_key(session, version.id)
        for i, (channel, age, use) in enumerate(SAMPLE):
            participation = repository.start_participation(session, f"p{i}", version.id,
                                                           channel)
            for key, value in (("use", use), ("age", age)):
                repository.save_answer(session, participation.id, questions[key].id,
                                       status="answered", value=value, raw_text=value,
                                       message_id=None)
        create_user(session, "reviewer@council.example", "reviewer", PASSWORD)
        user = create_user(session, "analyst@council.example", "reviewer", PASSWORD)
        token = issue_token(session, user, "analysis")
        consultation_id = version.consultation_id
    yield Stored(sqlite_url, consultation_id, token)


def test_the_figures_show_the_skew_and_weight_it_away(stored: Stored) -> None:
    with session_scope(stored.url) as session:
        figures = who_took_part(session, stored.consultation_id)
    assert figures is not None and figures.participants == 110
    (age,) = figures.dimensions
    assert (age.answered, age.preferred_not) == (100, 10)
    young, old = age.categories
    assert (old.sample_share, old.population_share, old.flag) == (0.4, 0.2, "over")
    assert young.index == pytest.approx(0.75) and young.flag == "under"
    assert age.chi_square == pytest.approx(25.0)
    telegram = figures.by_channel["telegram"][0]
    assert [c.count for c in telegram.categories] == [20, 30]
    assert figures.channels == {"telegram": 50, "web": 60}
    # Weighted: the over-65s (all "Often") count 0.2 of those with a known age.
    (use,) = figures.weighted
    shares = {option: (share, weighted) for option, share, weighted in use.rows}
    assert shares["Often"][0] == pytest.approx(40 / 110)
    assert shares["Often"][1] == pytest.approx(0.2 * 100 / 110)
    assert figures.raking.largest == pytest.approx(4 / 3)


def test_the_page_shows_each_group_with_words_not_only_colours(stored: Stored) -> None:
    app = create_app(WebSettings(database_url=stored.url, secret="web-secret-for-tests-0123456789"))
    client = signed_in(app, ("reviewer@council.example", PASSWORD))
    page = client.get(f"/review/c/{SLUG}/participants")
    assert page.status_code == 200
    text = page.text
    assert "over-represented" in text and "under-represented" in text
    assert "χ² = 25.0, p &lt; 0.001" in text
    assert "10 preferred not to say" in text and "Test census" in text
    assert "Effective sample size" in text
    assert client.get("/review/c/nothing-here/participants").status_code == 404
    assert f'href="/review/c/{SLUG}/participants"' in client.get(f"/review/c/{SLUG}").text


def test_the_api_gives_the_same_figures(stored: Stored) -> None:
    app = create_app(WebSettings(database_url=stored.url))
    with TestClient(app) as client:
        response = client.get(f"/api/v1/consultations/{SLUG}/participants",
                              headers={"Authorization": f"Bearer {stored.token}"})
        anonymous = client.get(f"/api/v1/consultations/{SLUG}/participants")
    assert response.status_code == 200 and anonymous.status_code == 401
    body = response.json()
    (age,) = body["dimensions"]
    assert [(c["name"], c["count"], c["flag"]) for c in age["categories"]] == [
        ("Under 65", 60, "under"), ("65 or over", 40, "over")]
    assert age["preferred_not_to_say"] == 10
    assert body["weighting"]["dimensions"] == ["age_band"]
    assert body["weighted_results"][0]["question"] == "use"


def test_exports_carry_each_participations_weight(stored: Stored) -> None:
    with session_scope(stored.url) as session:
        weights = weights_of(session, stored.consultation_id)
        out = io.StringIO()
        write_csv(session, stored.consultation_id, SLUG, out)
        records = io.StringIO()
        write_json(session, stored.consultation_id, SLUG, records)
    assert weights is not None
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    by_age = {row["value"]: float(row["weight"]) for row in rows if row["question_id"] == "age"}
    assert by_age["65 or over"] == pytest.approx(0.5)
    assert by_age["Under 65"] == pytest.approx(4 / 3)
    assert by_age["Prefer not to say"] == pytest.approx(1.0)
    assert sum(r["weight"] for r in json.loads(records.getvalue())) == pytest.approx(110)


def test_someone_who_never_reached_the_profile_questions_counts_with_weight_one(
        stored: Stored) -> None:
    with session_scope(stored.url) as session:
        consultation = repository.get_consultation(session, SLUG)
        assert consultation is not None and consultation.current_version is not None
        version_id = consultation.current_version.id
        questions = repository.questions_by_key(session, version_id)
        early = repository.start_participation(session, "early", version_id, "phone")
        repository.save_answer(session, early.id, questions["use"].id, status="answered",
                               value="Often", raw_text="often", message_id=None)
        early_id = early.id
    with session_scope(stored.url) as session:
        figures = who_took_part(session, stored.consultation_id)
        weights = weights_of(session, stored.consultation_id)
    assert figures is not None and weights is not None
    assert figures.participants == 111 and figures.channels["phone"] == 1
    assert figures.dimensions[0].answered == 100  # unchanged
    assert [c.count for c in figures.by_channel["phone"][0].categories] == [0, 0]
    assert weights[early_id] == pytest.approx(1.0)
    (use,) = figures.weighted
    assert use.answered == 111


def test_the_figures_download_from_the_review_area_the_api_and_the_cli(
        stored: Stored, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from bot.cli.main import app as cli_app

    app = create_app(WebSettings(database_url=stored.url,
                                 secret="web-secret-for-tests-0123456789"))
    browser = signed_in(app, ("reviewer@council.example", PASSWORD))
    page = browser.get(f"/review/c/{SLUG}/export/participants")
    assert page.status_code == 200
    assert f'filename="{SLUG}-who-took-part.json"' in page.headers["content-disposition"]
    assert json.loads(page.text)["dimensions"][0]["categories"][1]["flag"] == "over"
    with TestClient(app) as client:
        api = client.get(f"/api/v1/consultations/{SLUG}/exports/participants",
                         headers={"Authorization": f"Bearer {stored.token}"})
    assert api.status_code == 200 and json.loads(api.text)["participants"] == 110
    monkeypatch.setenv("DATABASE_URL", stored.url)
    out = tmp_path / "figures.json"
    done = CliRunner().invoke(cli_app, ["export", SLUG, "-f", "participants", "-o", str(out)])
    assert done.exit_code == 0, done.output
    assert json.loads(out.read_text(encoding="utf-8"))["consultation"] == SLUG
