"""Labelling unanswered questions on the Knowledge gaps page (reviewers): "the documents do
answer this" with a passage found for it, or "not covered"; relabelling, undo, the access
rules and CSRF, hostile citizen text; the labels as calibration cases; and the admins'
"Suggest thresholds from reviews" (a background job on the real index), apply and reset
(FastAPI TestClient, SQLite, the real embedder)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from bot.knowledge import collection_thresholds
from bot.knowledge.evaluation import Case
from bot.review import gap_labels
from bot.store.audit_models import AuditEntry
from bot.store.db import session_scope
from bot.store.models import KnowledgeQuery
from bot.store.review_models import BackgroundJob, KnowledgeLabel
from tests.unit.gap_labels_support import QUESTIONS, asked_all, ingested
from tests.unit.review_web_support import IMG, SCRIPT, Seeded, csrf_of, to_login
from tests.unit.test_knowledge import docs  # noqa: F401  (the fixture)
from tests.unit.test_user_admin import assert_accessible_form

GAPS = "/review/gaps"
LABEL = "/review/gap-labels/label"
UNDO = "/review/gap-labels/undo"
SUGGEST = "/review/admin/calibration/suggest"
APPLY = "/review/admin/calibration/apply"
RESET = "/review/admin/calibration/reset"


@pytest.fixture
def asked(seeded: Seeded, app: FastAPI, docs: Path, tmp_path: Path) -> dict[str, int]:  # noqa: F811
    """The demo library documents in the app's index, the questions of ``QUESTIONS``
    asked (answerable ones disputed, the others passed on), and a hostile passed-on one."""
    ingested(seeded.url, tmp_path / "var", docs)
    ids = asked_all(seeded.url, tmp_path / "var")
    with session_scope(seeded.url) as session:
        hostile = session.scalars(select(KnowledgeQuery).where(
            KnowledgeQuery.text.contains("<script>"))).one()
        hostile.forwarded = True
        ids["hostile"] = hostile.id
    return ids


def post(client: TestClient, path: str, data: dict[str, str], csrf: bool = True) -> Any:
    if csrf:
        data = {**data, "csrf_token": csrf_of(client, "/review")}
    return client.post(path, data=data, follow_redirects=False)


def labels(url: str) -> dict[int, tuple[str, str, str | None]]:
    with session_scope(url) as session:
        return {row.query_id: (row.collection, row.label, row.source)
                for row in session.scalars(select(KnowledgeLabel))}


def audit(url: str) -> list[tuple[str, dict[str, Any]]]:
    with session_scope(url) as session:
        return [(e.target, e.detail) for e in session.scalars(
            select(AuditEntry).where(AuditEntry.action.in_(
                ["knowledge.label", "knowledge.thresholds"])).order_by(AuditEntry.id))]


def test_reviewers_get_an_accessible_labelling_form_with_the_passages_found(
        reviewer: TestClient, asked: dict[str, int]) -> None:
    html = reviewer.get(GAPS).text
    assert '<h2 id="labels">Label questions for calibration</h2>' in html
    late = asked["how much is the late fee"]
    row = html.split(f'<tr id="question-{late}">')[1].split("</tr>")[0]
    assert "how much is the late fee" in row and "Answer missed, said the citizen" in row
    assert 'value="libraries/faq.csv"' in row  # a passage found for it, to choose
    assert "<fieldset>" in row and f"<legend>Label question {late}" in row
    assert 'value="not_covered"' in row and "Not labelled" in row
    fax = html.split(f'<tr id="question-{asked["can I send a fax from the library"]}">')[1]
    assert "Declined by the bot; Asked to pass on" in fax.split("</tr>")[0]
    assert_accessible_form(html)
    # hostile citizen text is escaped, in the row and in the hidden legend
    assert SCRIPT not in html and IMG not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    # reviewers label; only admins calibrate
    assert LABEL in html and SUGGEST not in html and APPLY not in html


def test_label_relabel_and_undo(reviewer: TestClient, asked: dict[str, int],
                                seeded: Seeded) -> None:
    late = asked["how much is the late fee"]
    response = post(reviewer, LABEL, {"query": str(late), "label": "answered",
                                      "source": "libraries/faq.csv",
                                      "next": f"{GAPS}#question-{late}"})
    assert response.status_code == 303
    assert response.headers["location"] == f"{GAPS}#question-{late}"
    page = reviewer.get(GAPS).text
    assert f"Labelled question {late} “the documents do answer it” (libraries), answered " \
           "by libraries/faq.csv." in page
    assert "The documents answer it: libraries/faq.csv" in page
    assert "reviewer@council.example" in page.split(f'<tr id="question-{late}">')[1]
    assert labels(seeded.url) == {late: ("libraries", "answered", "libraries/faq.csv")}
    # labelling again replaces the label: one per question
    post(reviewer, LABEL, {"query": str(late), "label": "not_covered",
                           "source": "libraries/faq.csv"})
    assert labels(seeded.url) == {late: ("libraries", "not_covered", None)}
    assert post(reviewer, UNDO, {"query": str(late)}).status_code == 303
    assert labels(seeded.url) == {}
    assert f"Removed the label of question {late} (libraries)." in reviewer.get(GAPS).text
    post(reviewer, UNDO, {"query": str(late)})
    assert "That question has no label: nothing was changed." in reviewer.get(GAPS).text
    # audited without the citizen's words
    assert audit(seeded.url) == [
        (f"libraries/{late}", {"change": "answered", "source": "libraries/faq.csv"}),
        (f"libraries/{late}", {"change": "not_covered"}),
        (f"libraries/{late}", {"change": "undo"})]


def test_bad_labels_change_nothing(reviewer: TestClient, asked: dict[str, int],
                                   seeded: Seeded) -> None:
    late = str(asked["how much is the late fee"])
    post(reviewer, LABEL, {"query": late, "label": "answered"})
    assert "Choose the passage that answers it among those found: nothing was changed." \
        in reviewer.get(GAPS).text
    post(reviewer, LABEL, {"query": late, "label": "answered", "source": "parks/dogs.md"})
    assert "Choose the passage" in reviewer.get(GAPS).text
    post(reviewer, LABEL, {"query": late, "label": "maybe"})
    assert "Choose “the documents answer this” or “not covered”" in reviewer.get(GAPS).text
    post(reviewer, LABEL, {"query": "999999", "label": "not_covered"})
    assert "no such unanswered question" in reviewer.get(GAPS).text
    post(reviewer, LABEL, {"query": "x", "label": "not_covered"})
    assert "That is not a question of the list" in reviewer.get(GAPS).text
    # the hostile question searched no collection and found nothing: no collection to count
    post(reviewer, LABEL, {"query": str(asked["hostile"]), "label": "not_covered"})
    assert "not known which collection" in reviewer.get(GAPS).text
    # a question the bot answered and nobody disputed is not labelled
    with session_scope(seeded.url) as session:
        row = session.get(KnowledgeQuery, int(late))
        assert row is not None
        row.disputed = False
    post(reviewer, LABEL, {"query": late, "label": "not_covered"})
    assert labels(seeded.url) == {} and audit(seeded.url) == []


def test_only_signed_in_staff_with_a_csrf_token_label(
        reviewer: TestClient, anonymous: TestClient, admin: TestClient,
        asked: dict[str, int], seeded: Seeded) -> None:
    data = {"query": str(asked["is there a skate park"]), "label": "not_covered"}
    assert to_login(anonymous.post(LABEL, data=data, follow_redirects=False))
    assert to_login(anonymous.post(UNDO, data=data, follow_redirects=False))
    assert post(reviewer, LABEL, data, csrf=False).status_code == 403
    assert labels(seeded.url) == {}
    assert post(admin, LABEL, data).status_code == 303  # admins may label too
    assert post(reviewer, UNDO, data, csrf=False).status_code == 403
    assert len(labels(seeded.url)) == 1
    for path in (SUGGEST, APPLY, RESET):
        assert post(reviewer, path, {"collection": "libraries", "similarity": "0.9",
                                     "word_match": "0.9", "offered_match": "0.9"}
                    ).status_code == 403
        assert post(admin, path, {"collection": "libraries"}, csrf=False).status_code == 403
    with session_scope(seeded.url) as session:
        assert collection_thresholds.stored(session, "libraries") is None


def label_all(client: TestClient, asked: dict[str, int]) -> None:
    for text, source in QUESTIONS:
        post(client, LABEL, {"query": str(asked[text]),
                             "label": "answered" if source else "not_covered",
                             "source": source or ""})


def test_labels_become_calibration_cases_per_collection(reviewer: TestClient,
                                                        asked: dict[str, int],
                                                        seeded: Seeded) -> None:
    label_all(reviewer, asked)
    with session_scope(seeded.url) as session:
        assert gap_labels.cases(session) == {"libraries": [
            Case(text, "libraries", [source] if source else []) for text, source in QUESTIONS]}
        assert gap_labels.cases(session, "parks") == {}
        assert gap_labels.counts(session) == {"libraries": {"answered": 3, "not_covered": 2}}
    html = reviewer.get(GAPS).text
    assert "<caption>Labels and thresholds per collection</caption>" in html
    assert '<th scope="row">libraries</th><td class="num">3</td><td class="num">2</td>' in html
    assert "the defaults" in html


def finished(client: TestClient, location: str) -> str:
    """The gaps page once the calibration job at ``location`` has ended."""
    job_id = location.split("job=")[1].split("#")[0]
    for _ in range(600):
        status = client.get(f"/review/jobs/{job_id}").json()["status"]
        if status != "running":
            break
        time.sleep(0.2)
    return client.get(f"{GAPS}?job={job_id}").text


def test_admins_suggest_apply_and_reset_thresholds_from_reviews(
        admin: TestClient, asked: dict[str, int], seeded: Seeded) -> None:
    label_all(admin, asked)
    html = admin.get(GAPS).text
    assert SUGGEST in html and RESET not in html
    response = post(admin, SUGGEST, {"collection": "libraries"})
    assert response.status_code == 303 and "job=" in response.headers["location"]
    page = finished(admin, response.headers["location"])
    assert "Suggestion for libraries" in page
    assert "libraries: 5 labelled questions (3 the documents answer, 2 not covered), before " \
           "and after" in page
    assert '<th scope="row">Now (before)</th>' in page
    assert '<th scope="row">Suggested (after)</th>' in page
    assert APPLY in page
    assert_accessible_form(page)
    job = response.headers["location"].split("job=")[1].split("#")[0]
    assert f'name="job" value="{job}"' in page
    with session_scope(seeded.url) as session:
        stored_job = session.get(BackgroundJob, job)
        assert stored_job is not None and stored_job.result
        suggested = json.loads(stored_job.result)["suggested"]
    shown_row = page.split('<th scope="row">Suggested (after)</th>')[1].split("</tr>")[0]
    assert f'{suggested["similarity"]:.2f}' in shown_row
    post(admin, APPLY, {"job": job})
    with session_scope(seeded.url) as session:
        row = collection_thresholds.stored(session, "libraries")
        assert row is not None and row.set_by == "admin@council.example"
        assert (row.similarity, row.word_match, row.offered_match) == (
            suggested["similarity"], suggested["word_match"], suggested["offered_match"])
    after = admin.get(GAPS).text
    assert "Applied thresholds to libraries" in after and "its own, set by admin" in after
    # values can no longer be sent with the form: only a finished suggestion is applied
    for bad in ({"job": "nope"}, {"job": ""},
                {"collection": "libraries", "similarity": "0.2", "word_match": "0.2",
                 "offered_match": "0.2"}):
        post(admin, APPLY, bad)
        assert "That suggestion is no longer available" in admin.get(GAPS).text
    assert post(admin, RESET, {"collection": "libraries"}).status_code == 303
    assert "libraries uses the default thresholds again" in admin.get(GAPS).text
    post(admin, RESET, {"collection": "libraries"})
    assert "already uses the default thresholds" in admin.get(GAPS).text
    with session_scope(seeded.url) as session:
        assert collection_thresholds.stored(session, "libraries") is None
    changes = [(target, detail["change"]) for target, detail in audit(seeded.url)
               if "/" not in target]
    assert changes == [("libraries", "apply"), ("libraries", "reset")]


def test_a_suggestion_needs_both_kinds_of_label(admin: TestClient, asked: dict[str, int]
                                                ) -> None:
    post(admin, LABEL, {"query": str(asked["is there a skate park"]), "label": "not_covered"})
    assert "A suggestion needs both kinds of label." in admin.get(GAPS).text
    response = post(admin, SUGGEST, {"collection": "libraries"})
    page = finished(admin, response.headers["location"])
    assert "No suggestion for libraries: only one kind of label" in page
    post(admin, SUGGEST, {"collection": "../etc"})
    assert "That is not a collection name" in admin.get(GAPS).text


def test_a_question_the_bot_declined_is_labelled_even_when_not_passed_on(
        reviewer: TestClient, asked: dict[str, int], seeded: Seeded, tmp_path: Path) -> None:
    from bot.knowledge.service import KnowledgeService
    from tests.unit.gap_labels_support import ask

    service = KnowledgeService(tmp_path / "var", database_url=seeded.url)
    quiet = ask(service, seeded.url, "is there a climbing wall at the library", ["libraries"])
    with session_scope(seeded.url) as session:
        row = session.get(KnowledgeQuery, quiet)
        assert row is not None and not row.answered and not row.forwarded
    html = reviewer.get(GAPS).text
    listed = html.split(f'<tr id="question-{quiet}">')[1].split("</tr>")[0]
    assert ">Declined by the bot</td>" in listed and "Not labelled" in listed
    post(reviewer, LABEL, {"query": str(quiet), "label": "not_covered"})
    assert labels(seeded.url)[quiet] == ("libraries", "not_covered", None)
    with session_scope(seeded.url) as session:
        assert Case("is there a climbing wall at the library", "libraries", []) in \
            gap_labels.cases(session)["libraries"]
