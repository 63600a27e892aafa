"""The review pages with a signed-in user: figures, answers and coding, transcripts,
themes, knowledge gaps, exports and the admin pages (FastAPI TestClient, SQLite)."""

from __future__ import annotations

import csv
import io
import json
import re
import time
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from bot import export
from bot.consultations.schema import ConsultationFileError, parse_consultation
from bot.review import theme_store
from bot.review.themes import Theme as FoundTheme
from bot.store.db import session_scope
from bot.store.models import Participation
from bot.store.review_models import FollowUp
from tests.unit.review_web_support import (
    OPEN_KEY,
    XSS,
    Seeded,
    csrf_of,
)
from tests.unit.test_engine import LIBRARY, LIBRARY_TITLE

C = f"/review/c/{LIBRARY}"
HEX64 = re.compile(r"^[0-9a-f]{64}$")


def words(html: str) -> str:
    return " ".join(html.split())


def post(client: TestClient, path: str, data: dict[str, Any] | None = None,
         **kwargs: Any) -> Any:
    """A form post with the session's CSRF token (redirects not followed)."""
    return client.post(path, data={**(data or {}), "csrf_token": csrf_of(client, "/review")},
                       follow_redirects=False, **kwargs)


# -------------------------------------------------------------------- overview, figures
def test_overview_lists_consultations_with_figures(reviewer: TestClient) -> None:
    page = words(reviewer.get("/review").text)
    assert LIBRARY_TITLE in page and "<caption>Every consultation" in page
    assert "open" in page and "2026-11-01" in page  # status and opening date
    # 3 participants, none completed yet (all stopped at the last question), 3 channels.
    assert '<td class="num">3</td> <td class="num">0</td> <td class="num">0%</td>' in page
    assert "rest: 1, telegram: 1, web: 1" in page


def test_consultation_page_shows_funnel_results_codebook_and_exports(
        reviewer: TestClient) -> None:
    page = words(reviewer.get(C).text)
    assert "From opening the consultation to completing it" in page
    assert '<th scope="row" class="text">Agreed to take part</th> <td class="num">3</td>' in page
    assert "How often do you visit the central library?" in page
    # Each choice question: a table of counts with bars (CSS classes, no inline style).
    assert '<th scope="row" class="text">Monthly</th> <td class="num">3</td>' in page
    assert 'class="bar w100"' in page
    assert f'href="{C}/q/{OPEN_KEY}"' in page and f'href="{C}/q/{OPEN_KEY}/themes"' in page
    for kind in ("csv", "xlsx", "json", "transcripts"):
        assert f'href="{C}/export/{kind}"' in page
    assert "0 participants asked to hear what happens next" in page


def test_choice_question_page_has_counts(reviewer: TestClient) -> None:
    page = words(reviewer.get(f"{C}/q/evenings").text)
    assert "3 answered, 0 skipped." in page
    assert '<th scope="row" class="text">4</th> <td class="num">3</td> <td class="num">100%</td>' \
        in page


def test_unknown_consultation_or_question_is_404(reviewer: TestClient) -> None:
    assert reviewer.get("/review/c/no-such-thing").status_code == 404
    assert reviewer.get(f"{C}/q/nope").status_code == 404
    assert reviewer.get("/review/c/BAD%20SLUG").status_code == 404


# ---------------------------------------------------------------- answers and coding
def test_open_answers_are_searched_and_filtered(reviewer: TestClient) -> None:
    everything = words(reviewer.get(f"{C}/q/{OPEN_KEY}").text)
    assert "3 answers" in everything
    assert "Studying after work" in everything and "Borrowing books" in everything
    found = words(reviewer.get(f"{C}/q/{OPEN_KEY}?q=BOOKS").text)
    assert "1 answer</h2>" in found and "Borrowing books" in found
    assert "Studying after work" not in found
    telegram = words(reviewer.get(f"{C}/q/{OPEN_KEY}?channel=telegram").text)
    assert "1 answer</h2>" in telegram and "Borrowing books" in telegram
    future = words(reviewer.get(f"{C}/q/{OPEN_KEY}?since=2999-01-01").text)
    assert "0 answers" in future and "No answer matches." in future
    bad = words(reviewer.get(f"{C}/q/{OPEN_KEY}?since=yesterday").text)
    assert "3 answers" in bad and "A date was not understood" in bad
    assert "0 answers" in words(reviewer.get(f"{C}/q/{OPEN_KEY}?completed=yes").text)
    assert "3 answers" in words(reviewer.get(f"{C}/q/{OPEN_KEY}?reviewed=no").text)


def test_answers_are_paginated(reviewer: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.review import coding

    monkeypatch.setattr(coding, "PAGE_SIZE", 2)
    first = reviewer.get(f"{C}/q/{OPEN_KEY}?channel=&page=1").text
    assert "Page 1 of 2" in first and 'rel="next"' in first and 'rel="prev"' not in first
    second = reviewer.get(f"{C}/q/{OPEN_KEY}?page=2").text
    assert "Page 2 of 2" in second and 'rel="prev"' in second


def test_tag_note_and_review_an_answer_then_filter_by_tag(reviewer: TestClient,
                                                          seeded: Seeded) -> None:
    added = post(reviewer, f"{C}/tags", {"name": "Opening hours",
                                         "description": "Wants different hours"})
    assert added.status_code == 303
    page = reviewer.get(C).text
    assert "Added the tag “Opening hours” to the codebook." in page  # shown once
    assert "Wants different hours" in page
    assert "Added the tag" not in reviewer.get(C).text
    duplicate = post(reviewer, f"{C}/tags", {"name": "opening HOURS"})
    assert duplicate.status_code == 303
    assert "already has a tag" in reviewer.get(C).text

    questions = reviewer.get(f"{C}/q/{OPEN_KEY}").text
    hours_id = re.search(r'value="(\d+)"> Opening hours', questions)
    assert hours_id
    saved = post(reviewer, f"{C}/answers/{seeded.answer_id}",
                 {"tag": [hours_id.group(1), str(seeded.tag_id)], "note": "Key quote",
                  "reviewed": "yes", "next": f"{C}/q/{OPEN_KEY}?page=1"})
    assert saved.status_code == 303 and saved.headers["location"] == f"{C}/q/{OPEN_KEY}?page=1"
    tagged = words(reviewer.get(f"{C}/q/{OPEN_KEY}?tag={hours_id.group(1)}").text)
    assert "1 answer</h2>" in tagged and "Key quote</textarea>" in tagged
    assert "<strong>reviewed</strong>" in tagged
    assert "1 answer</h2>" in words(reviewer.get(f"{C}/q/{OPEN_KEY}?reviewed=yes").text)
    counts = words(reviewer.get(C).text)
    assert '<th scope="row" class="text">Opening hours</th><td class="num">1</td>' in counts
    # An answer of another consultation, or a tag of another codebook: 404, nothing saved.
    assert post(reviewer, f"{C}/answers/999999", {"note": "x"}).status_code == 404


# ---------------------------------------------------------------------------- transcripts
def test_transcripts_list_filters_and_full_view(reviewer: TestClient, seeded: Seeded) -> None:
    listing = words(reviewer.get(f"{C}/transcripts").text)
    assert "3 conversations, newest first" in listing
    assert "1 conversation," in words(reviewer.get(f"{C}/transcripts?channel=web").text)
    assert "0 conversations" in words(reviewer.get(f"{C}/transcripts?status=completed").text)
    view = words(reviewer.get(f"{C}/transcripts/{seeded.participation_id}").text)
    assert "Do you agree to take part?" in view  # the bot's consent request, in order
    assert "Buttons offered:" in view and '<span class="offered">Yes, I agree</span>' in view
    assert "Questions about the service" in view and "not covered by the documents" in view
    assert "How important would later evening opening be for you?" in view  # answers
    assert view.index("Do you agree to take part?") < view.index("Question 1 of")
    # Another consultation's conversation number, or none: 404.
    assert reviewer.get(f"{C}/transcripts/999999").status_code == 404


def test_pages_show_no_raw_or_pseudonymous_ids(reviewer: TestClient, seeded: Seeded) -> None:
    with session_scope(seeded.url) as session:
        keys = [p.participant_id for p in session.query(Participation)]
    for path in (f"{C}/transcripts", f"{C}/transcripts/{seeded.participation_id}",
                 f"{C}/q/{OPEN_KEY}"):
        page = reviewer.get(path).text
        assert not any(key in page for key in keys), path


# --------------------------------------------------------------------------------- themes
def _fake_themes(texts: list[str], themes: int | None = None,
                 progress: Any = None) -> list[FoundTheme]:
    if progress:
        progress("embedding answers", 0.5)
    half = max(1, len(texts) // 2)
    return [FoundTheme("books · children", ["books", "children"], list(range(half)), [0]),
            FoundTheme("work · study", ["work", "study"], list(range(half, len(texts))),
                       [half])][: 2 if len(texts) > 1 else 1]


def _wait_for_job(client: TestClient, job_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while True:
        job: dict[str, Any] = client.get(f"/review/jobs/{job_id}",
                                         headers={"Accept": "application/json"}).json()
        if job["status"] != "running" or time.monotonic() > deadline:
            return job
        time.sleep(0.05)


def test_recompute_runs_in_the_background_with_progress(
        reviewer: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(theme_store, "find_themes", _fake_themes)
    started = post(reviewer, f"{C}/q/{OPEN_KEY}/themes/recompute")
    assert started.status_code == 303
    job_id = started.headers["location"].split("job=")[1]
    job = _wait_for_job(reviewer, job_id)
    assert job["status"] == "done" and job["percent"] == 100, job
    assert job["result"] == "Found 2 themes."
    page = words(reviewer.get(started.headers["location"]).text)
    assert "Found 2 themes." in page
    assert "books · children" in page and "work · study" in page
    assert "May be quoted" in page or "Do not quote" in page
    assert reviewer.get("/review/jobs/unknown").status_code == 404


def test_progress_page_without_javascript_refreshes_itself(
        reviewer: TestClient, app: FastAPI, seeded: Seeded) -> None:
    def slow(_progress: Any) -> str:
        time.sleep(2)
        return "done"

    job = app.state.jobs.start(f"themes:{seeded.consultation_id}:{OPEN_KEY}", slow)
    page = reviewer.get(f"{C}/q/{OPEN_KEY}/themes?job={job.id}").text
    assert '<noscript><meta http-equiv="refresh" content="3"></noscript>' in page
    assert f'data-job-url="/review/jobs/{job.id}"' in page and "<progress" in page


def test_rename_merge_split_and_tag_themes(reviewer: TestClient, seeded: Seeded,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(theme_store, "find_themes", _fake_themes)
    job_id = post(reviewer, f"{C}/q/{OPEN_KEY}/themes/recompute").headers["location"]
    _wait_for_job(reviewer, job_id.split("job=")[1])
    themes = f"{C}/q/{OPEN_KEY}/themes"
    ids = [int(i) for i in re.findall(r'id="theme-(\d+)"', reviewer.get(themes).text)]
    assert len(ids) == 2
    assert post(reviewer, f"{themes}/{ids[0]}/rename", {"label": "Family reading"}
                ).status_code == 303
    assert "Family reading" in reviewer.get(themes).text
    assert post(reviewer, f"{themes}/{ids[0]}/rename", {"label": "  "}).status_code == 303
    assert "a theme needs a name" in reviewer.get(themes).text
    assert post(reviewer, f"{themes}/{ids[1]}/tag").status_code == 303
    assert "Made a tag from the theme" in reviewer.get(themes).text
    assert "From the theme of question hours_reasons" in reviewer.get(C).text  # codebook
    assert post(reviewer, f"{themes}/merge", {"theme": [str(ids[0])]}).status_code == 303
    assert "Choose at least two themes" in reviewer.get(themes).text
    assert post(reviewer, f"{themes}/merge", {"theme": [str(i) for i in ids]}
                ).status_code == 303
    merged = reviewer.get(themes).text
    assert len(re.findall(r'id="theme-(\d+)"', merged)) == 1 and "Merged 2 themes." in merged
    (left,) = [int(i) for i in re.findall(r'id="theme-(\d+)"', merged)]
    assert post(reviewer, f"{themes}/{left}/split", {"parts": "2"}).status_code == 303
    assert len(re.findall(r'id="theme-(\d+)"', reviewer.get(themes).text)) == 2
    assert reviewer.get(f"{C}/q/visits/themes").status_code == 404  # not an open question


# ------------------------------------------------------------------------ knowledge gaps
def test_knowledge_gaps_are_listed(reviewer: TestClient, monkeypatch: pytest.MonkeyPatch
                                   ) -> None:
    from bot.review import gaps

    monkeypatch.setattr(gaps, "group_questions", lambda texts, *a, **k: [[0]] if texts else [])
    for path in ("/review/gaps", f"{C}/gaps"):
        page = words(reviewer.get(path).text)
        assert "Unanswered questions, most asked first" in page
        assert '<td class="num">1</td><td class="num">0</td>' in page


# -------------------------------------------------------------------------------- exports
def test_exports_download_with_names_and_content(reviewer: TestClient, seeded: Seeded) -> None:
    csv_file = reviewer.get(f"{C}/export/csv")
    assert csv_file.status_code == 200
    assert csv_file.headers["content-type"].startswith("text/csv")
    assert csv_file.headers["content-disposition"] == (
        f'attachment; filename="{LIBRARY}-answers.csv"')
    rows = list(csv.DictReader(io.StringIO(csv_file.text)))
    assert list(rows[0]) == export.CSV_COLUMNS
    assert {row["channel"] for row in rows} == {"rest", "telegram", "web"}
    assert all(HEX64.match(row["participant"]) for row in rows)
    assert any(row["raw_text"] == XSS for row in rows)

    book = reviewer.get(f"{C}/export/xlsx")
    assert book.headers["content-disposition"] == (
        f'attachment; filename="{LIBRARY}-answers.xlsx"')
    assert book.headers["content-type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(book.content), read_only=True)["answers"]
    table = list(sheet.iter_rows(values_only=True))
    assert list(table[0]) == export.CSV_COLUMNS and len(table) == len(rows) + 1

    records = reviewer.get(f"{C}/export/json")
    assert records.headers["content-disposition"].endswith(f'"{LIBRARY}-answers.json"')
    data = records.json()
    assert len(data) == 3 and all(HEX64.match(r["participant"]) for r in data)

    lines = reviewer.get(f"{C}/export/transcripts")
    assert lines.headers["content-disposition"].endswith(f'"{LIBRARY}-transcripts.jsonl"')
    conversations = [json.loads(line) for line in lines.text.splitlines()]
    assert len(conversations) == 3
    assert any(m["text"] == XSS for c in conversations for m in c["messages"])
    for sender in ('"a"', '"b"', '"c"'):  # the raw sender ids never appear
        assert f'"participant": {sender}' not in lines.text
    assert reviewer.get(f"{C}/export/pdf").status_code == 404


# ---------------------------------------------------------------------------------- admin
BAD_YAML = """slug: Bad Slug
title: Something
agency: Council
service: Parks
kind: co-design
summary: A test.
outcome: We will tell you.
questions:
  - id: q1
    type: single_choice
    text: Pick one
    options: [Only one]
"""

GOOD_YAML = BAD_YAML.replace("Bad Slug", "bench-survey-2027").replace(
    "options: [Only one]", "options: [Yes, No]")


def test_admin_checks_yaml_with_the_cli_messages(admin: TestClient) -> None:
    with pytest.raises(ConsultationFileError) as invalid:
        parse_consultation(BAD_YAML)
    response = post(admin, "/review/admin/consultations", {"source": BAD_YAML,
                                                            "action": "launch"})
    assert response.status_code == 400
    page = response.text
    for issue in invalid.value.issues:
        assert str(issue).replace("'", "&#39;") in page
    assert "line 1: slug:" in page and "line 12: questions[0].options:" in page
    assert "Bad Slug" in page  # the text is kept for fixing
    assert admin.get("/review/c/bench-survey-2027").status_code == 404  # nothing launched


def test_admin_previews_then_launches_and_edits_a_consultation(admin: TestClient) -> None:
    preview = post(admin, "/review/admin/consultations", {"source": GOOD_YAML,
                                                           "action": "preview"})
    assert preview.status_code == 200
    assert "Preview: Something" in preview.text and "Pick one" in preview.text
    assert admin.get("/review/c/bench-survey-2027").status_code == 404
    launched = post(admin, "/review/admin/consultations", {"source": GOOD_YAML,
                                                            "action": "launch"})
    assert launched.status_code == 303
    assert launched.headers["location"] == "/review/c/bench-survey-2027"
    assert "Launched version 1" in admin.get("/review/c/bench-survey-2027").text
    editor = admin.get("/review/c/bench-survey-2027/edit").text
    assert "title: Something" in editor
    changed = GOOD_YAML.replace("Pick one", "Pick one, please")
    upload = post(admin, "/review/admin/consultations", {"source": "", "action": "launch"},
                  files={"file": ("bench.yml", changed.encode(), "text/yaml")})
    assert upload.status_code == 303
    assert "Launched version 2" in admin.get("/review/c/bench-survey-2027").text


def test_admin_closes_and_reopens(admin: TestClient) -> None:
    assert post(admin, f"{C}/close").status_code == 303
    assert "status-closed" in admin.get(C).text
    assert admin.get(f"/c/{LIBRARY}").status_code == 404  # citizens can no longer take part
    assert post(admin, f"{C}/open").status_code == 303
    assert "status-open" in admin.get(C).text


def test_admin_publishes_the_outcome_and_sees_who_was_told(admin: TestClient,
                                                           seeded: Seeded) -> None:
    with session_scope(seeded.url) as session:
        session.add(FollowUp(participation_id=seeded.participation_id))
    assert "1 participant asked to hear what happens next; 0 have been told" in words(
        admin.get(C).text)
    assert post(admin, f"{C}/outcome", {"text": "  "}).status_code == 303
    assert "The outcome was not published" in admin.get(C).text
    assert post(admin, f"{C}/outcome", {"text": "We open until 8pm <b>from May</b>."}
                ).status_code == 303
    page = admin.get(C).text
    assert "Published the outcome." in page
    assert "We open until 8pm &lt;b&gt;from May&lt;/b&gt;." in page
