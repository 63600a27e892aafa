"""Taking a response by phone or on paper in the review area ("assisted digital"): the
step-by-step form (consent, branching, validation, Back, Skip, summary), CSRF, closed
consultations, and what is stored (channel, answers, audit entry without citizen text)."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from bot.consultations.schema import parse_consultation
from bot.review import assisted, stats
from bot.review.assisted import Entry
from bot.store import repository
from bot.store.audit_models import AuditEntry
from bot.store.db import session_scope
from bot.store.models import Answer, Participation, Question
from tests.unit.review_web_support import SCRIPT, Seeded, csrf_of
from tests.unit.test_engine import LIBRARY, LIBRARY_FILE

TAKE = f"/review/c/{LIBRARY}/take"
DRAFT_RE = re.compile(r'name="draft" value="([^"]+)"')
BARRIER = f"The bus stops running at 6pm {SCRIPT}"


def words(page: str) -> str:
    return " ".join(page.split())


class Taker:
    """A member of staff going through the form, carrying the draft page to page."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.token = csrf_of(client, TAKE)
        self.draft = ""
        self.page = ""

    def send(self, step: str, data: dict[str, Any] | None = None,
             action: str = "next") -> Any:
        fields: dict[str, Any] = {"csrf_token": self.token, "step": step, "action": action,
                                  **(data or {})}
        if self.draft:
            fields["draft"] = self.draft
        response = self.client.post(TAKE, data=fields, follow_redirects=False)
        self.page = response.text
        found = DRAFT_RE.search(response.text)
        if found:
            self.draft = html.unescape(found.group(1))
        return response

    def consent(self, channel: str = "phone") -> Any:
        return self.send("consent", {"channel": channel, "consent": "yes"})


def stored(url: str, channel: str) -> list[Participation]:
    with session_scope(url) as session:
        rows = list(session.scalars(select(Participation)
                                    .where(Participation.channel == channel)))
        session.expunge_all()
        return rows


def answers_of(url: str, participation_id: int) -> dict[str, tuple[str, Any, str | None]]:
    with session_scope(url) as session:
        rows = session.execute(select(Question.key, Answer.status, Answer.value, Answer.raw_text)
                               .join(Answer, Answer.question_id == Question.id)
                               .where(Answer.participation_id == participation_id))
        return {key: (status, value, raw) for key, status, value, raw in rows}


def heading(page: str) -> str:
    found = re.search(r"<h1[^>]*>(.*?)</h1>", page, re.S)
    assert found, page
    return " ".join(re.sub(r"<[^>]+>", "", found.group(1)).split())


# ------------------------------------------------------------------------ the form
def test_consultation_page_links_to_the_form(reviewer: TestClient) -> None:
    page = reviewer.get(f"/review/c/{LIBRARY}").text
    assert f'<a href="{TAKE}">Take a response</a>' in page


def test_consent_step_shows_the_privacy_text_and_requires_consent_and_channel(
        reviewer: TestClient, seeded: Seeded) -> None:
    page = words(reviewer.get(TAKE).text)
    assert "Read this out first" in page and "privacy@riverside.example" in page
    assert "We keep them for 365 days" in page
    assert 'type="checkbox" id="consent" name="consent" value="yes"' in page
    taker = Taker(reviewer)
    response = taker.send("consent", {})
    assert response.status_code == 200
    page = words(response.text)
    assert "There are 2 problems" in page
    assert '<a href="#channel-phone">Choose how the response is being taken.</a>' in page
    assert '<a href="#consent">Confirm that the person was told' in page
    assert 'aria-describedby="consent-error"' in page
    # The channel chosen is kept; consent still missing.
    response = taker.send("consent", {"channel": "paper"})
    assert response.status_code == 200
    assert 'value="paper" checked' in response.text and "There is a problem" in response.text
    assert stored(seeded.url, "paper") == []


def test_a_phone_response_with_a_branch_validation_back_and_skip(
        reviewer: TestClient, seeded: Seeded) -> None:
    taker = Taker(reviewer)
    taker.consent("phone")
    assert heading(taker.page) == "How often do you visit the central library?"
    assert "question 1 of 8" in taker.page
    # Required: no answer, and Skip, are refused with the field's error linked.
    response = taker.send("visits", {})
    assert response.status_code == 200
    page = words(response.text)
    assert '<a href="#answer-1">Choose an option.</a>' in page
    assert 'aria-describedby="question-help answer-error"' in page
    assert "Skip this question" not in page
    taker.send("visits", action="skip")
    assert taker.page.count(assisted.NEEDS_ANSWER) == 2  # in the summary and at the field
    # "Rarely or never" (4) opens the branch: the barriers question comes next.
    taker.send("visits", {"answer": "4"})
    assert heading(taker.page) == \
        "What, if anything, makes it difficult for you to visit the library more often?"
    assert 'for="answer"' in taker.page and "If the answer is short or vague" in taker.page
    taker.send("barriers", {"answer": "   "})
    assert "Type the answer." in taker.page
    taker.send("barriers", {"answer": BARRIER})
    assert heading(taker.page).startswith("Which times would suit you best")
    # Back shows the answer given, escaped.
    taker.send("preferred_times", action="back")
    assert SCRIPT not in taker.page and html.escape(BARRIER, quote=False) in taker.page
    taker.send("barriers", {"answer": BARRIER})
    # At most 3 of the times: the bot's own message.
    taker.send("preferred_times", {"answer": ["1", "2", "3", "4"]})
    assert "Please choose at most 3 options (you picked 4)." in taker.page
    assert 'value="4" checked' in taker.page  # what was ticked stays ticked
    taker.send("preferred_times", {"answer": ["3", "4"]})
    # The optional scale: skipped.
    assert "(optional)" in taker.page and "Skip this question" in taker.page
    assert "5 – Very important" in taker.page
    taker.send("evenings", action="skip")
    taker.send("trade_off", {"answer": "2"})
    taker.send("services", {"answer": ["1", "3"]})
    taker.send("hours_reasons", {"answer": "Reading on Sunday afternoons"})
    taker.send("anything_else", {"answer": ""})  # optional and blank: skipped
    page = words(taker.page)
    assert heading(taker.page) == "Check the answers, then submit"
    assert "(skipped)" in page and "Evenings (after 6pm), Saturdays" in page
    assert "May Riverside Borough Council quote" in page
    # Quote consent must be given.
    response = taker.send("summary", action="submit")
    assert response.status_code == 200 and "Say whether the person agreed to be quoted." \
        in response.text
    assert stored(seeded.url, "phone") == []
    response = taker.send("summary", {"quote": "no"}, action="submit")
    assert response.status_code == 303 and response.headers["location"] == TAKE
    follow = reviewer.get(TAKE).text
    assert "The phone response was stored as response number" in follow

    [participation] = stored(seeded.url, "phone")
    assert participation.status == "completed" and participation.quote_consent is False
    assert participation.finished_at is not None
    assert re.fullmatch(r"[0-9a-f]{64}", participation.participant_id)
    assert answers_of(seeded.url, participation.id) == {
        "visits": ("answered", "Rarely or never", "Rarely or never"),
        "barriers": ("answered", BARRIER, BARRIER),
        "preferred_times": ("answered", ["Evenings (after 6pm)", "Saturdays"],
                            "Evenings (after 6pm), Saturdays"),
        "evenings": ("skipped", None, None),
        "trade_off": ("answered", "Sunday afternoon opening", "Sunday afternoon opening"),
        "services": ("answered", ["Borrowing books", "Study or work space"],
                     "Borrowing books, Study or work space"),
        "hours_reasons": ("answered", "Reading on Sunday afternoons",
                          "Reading on Sunday afternoons"),
        "anything_else": ("skipped", None, None),
    }
    # The staff member is in the audit trail, with no citizen text; the figures count it.
    with session_scope(seeded.url) as session:
        [entry] = session.scalars(select(AuditEntry)
                                  .where(AuditEntry.action == "responses.take")).all()
        assert entry.actor == "reviewer@council.example"
        assert entry.target == f"{LIBRARY} #{participation.id}"
        assert entry.detail == {"channel": "phone", "answers": 8}
        assert "bus" not in str(entry.detail) + entry.target
        funnel = stats.funnel(session, seeded.consultation_id)
        assert (funnel.consented, funnel.completed) == (4, 1)
        assert {s.key: s.reached for s in funnel.steps}["barriers"] == 1
        assert stats.overview(session)[0].channels["phone"] == 1
    # Sending the same draft again stores nothing more.
    response = taker.send("summary", {"quote": "no"}, action="submit")
    assert response.status_code == 303
    assert "already stored" in reviewer.get(TAKE).text
    assert len(stored(seeded.url, "phone")) == 1


def test_changing_an_answer_from_the_summary_follows_the_branch(
        reviewer: TestClient, seeded: Seeded) -> None:
    taker = Taker(reviewer)
    taker.consent("paper")
    taker.send("visits", {"answer": "1"})  # weekly: no barriers question
    assert heading(taker.page).startswith("Which times would suit you best")
    assert "question 2 of 7" in taker.page
    for step, value in (("preferred_times", ["2"]), ("evenings", "5"), ("trade_off", "1"),
                        ("services", ["2"]), ("hours_reasons", "Homework club"),
                        ("anything_else", "")):
        taker.send(step, {"answer": value})
    assert "What, if anything, makes it difficult" not in taker.page
    # Change "visits" to "A few times a year": the barriers question is asked, then the
    # summary again.
    taker.send("summary", action="change:visits")
    assert 'value="1" checked' in taker.page
    taker.send("visits", {"answer": "3"})
    assert heading(taker.page).startswith("What, if anything, makes it difficult")
    taker.send("barriers", {"answer": "Too far from the bus"})
    assert heading(taker.page) == "Check the answers, then submit"
    assert "Too far from the bus" in taker.page
    taker.send("summary", {"quote": "yes"}, action="submit")
    [participation] = stored(seeded.url, "paper")
    assert participation.quote_consent is True
    got = answers_of(seeded.url, participation.id)
    assert got["visits"][1] == "A few times a year" and got["evenings"][1] == 5
    assert got["barriers"][1] == "Too far from the bus" and len(got) == 8


def test_back_from_the_first_question_returns_to_consent(reviewer: TestClient) -> None:
    taker = Taker(reviewer)
    taker.consent("paper")
    taker.send("visits", {"answer": "2"})
    taker.send("preferred_times", action="back")
    assert 'value="2" checked' in taker.page
    taker.send("visits", action="back")
    assert heading(taker.page) == "Take a response"
    assert 'value="paper" checked' in taker.page and 'id="consent" name="consent" value="yes"' \
        ' checked' in taker.page
    taker.send("consent", {"channel": "phone", "consent": "yes"})
    assert 'value="2" checked' in taker.page  # the answer given before is kept


def test_a_forged_or_foreign_draft_is_refused(reviewer: TestClient, seeded: Seeded) -> None:
    taker = Taker(reviewer)
    taker.consent()
    taker.draft = taker.draft[:-3] + ("AAA" if not taker.draft.endswith("AAA") else "BBB")
    response = taker.send("visits", {"answer": "1"})
    assert response.status_code == 303 and response.headers["location"] == TAKE
    assert "expired" in reviewer.get(TAKE).text


def test_csrf_is_required(reviewer: TestClient, seeded: Seeded) -> None:
    response = reviewer.post(TAKE, data={"step": "consent", "channel": "phone",
                                         "consent": "yes"}, follow_redirects=False)
    assert response.status_code == 403
    response = reviewer.post(TAKE, data={"step": "consent", "channel": "phone",
                                         "consent": "yes", "csrf_token": "wrong"},
                             follow_redirects=False)
    assert response.status_code == 403


def test_signed_out_goes_to_sign_in(anonymous: TestClient) -> None:
    response = anonymous.get(TAKE, follow_redirects=False)
    assert response.status_code == 303 and "/review/login" in response.headers["location"]


def test_a_closed_consultation_is_refused(admin: TestClient, seeded: Seeded) -> None:
    taker = Taker(admin)
    taker.consent()
    with session_scope(seeded.url) as session:
        repository.close_consultation(session, LIBRARY)
    response = admin.get(TAKE)
    assert response.status_code == 409 and "closed to new answers" in response.text
    response = taker.send("visits", {"answer": "1"})
    assert response.status_code == 409 and "closed to new answers" in response.text
    assert stored(seeded.url, "phone") == []


# ----------------------------------------------------------------------- the logic
def test_store_response_refuses_what_the_bot_would_refuse(seeded: Seeded) -> None:
    with session_scope(seeded.url) as session:
        consultation = repository.get_consultation(session, LIBRARY)
        assert consultation is not None
        definition = consultation.current_version.definition  # type: ignore[union-attr]
        entries = {"visits": Entry("answered", "Monthly", "Monthly")}
        problems = assisted.problems(definition, entries)
        assert "barriers" not in problems and problems["preferred_times"] == "Not answered yet."
        with pytest.raises(ValueError, match="preferred_times"):
            assisted.store_response(session, consultation, "phone", entries, "x" * 64)
        with pytest.raises(ValueError, match="channel"):
            assisted.store_response(session, consultation, "telegram", entries, "x" * 64)
        bad = {"visits": Entry("answered", "Sometimes")}
        assert "no longer fits" in assisted.problems(definition, bad)["visits"]


def test_participant_ids_are_random_per_response() -> None:
    first, second = assisted.new_participant_id(), assisted.new_participant_id()
    assert first != second and len(first) == 64
    assert assisted.new_participant_id(b"k" * 32, "same") == \
        assisted.new_participant_id(b"k" * 32, "same")


def test_a_taken_response_shows_in_the_review_pages_and_exports(
        reviewer: TestClient, seeded: Seeded) -> None:
    taker = Taker(reviewer)
    taker.consent("paper")
    for step, value in (("visits", "1"), ("preferred_times", ["2"]), ("evenings", "5"),
                        ("trade_off", "1"), ("services", ["2"]),
                        ("hours_reasons", "After school homework"), ("anything_else", "")):
        taker.send(step, {"answer": value})
    taker.send("summary", {"quote": "yes"}, action="submit")
    [participation] = stored(seeded.url, "paper")
    base = f"/review/c/{LIBRARY}"
    overview = words(reviewer.get("/review").text)
    assert "paper: 1" in overview
    listing = reviewer.get(f"{base}/transcripts?channel=paper")
    assert listing.status_code == 200 and f"/transcripts/{participation.id}" in listing.text
    page = reviewer.get(f"{base}/transcripts/{participation.id}")
    assert page.status_code == 200 and "After school homework" in page.text
    assert reviewer.get(f"{base}/participants").status_code == 200
    answers = reviewer.get(f"{base}/q/hours_reasons?channel=paper").text
    assert "After school homework" in answers
    exported = reviewer.get(f"{base}/export/csv").text
    rows = [line for line in exported.splitlines() if ",paper," in line]
    assert len(rows) == 7 and any("After school homework" in row for row in rows)  # 7 asked
    # Who took it is in the audit trail only.
    assert "reviewer@council.example" not in exported


def test_a_new_version_during_the_response_restarts_it(reviewer: TestClient,
                                                       seeded: Seeded) -> None:
    taker = Taker(reviewer)
    taker.consent("phone")
    taker.send("visits", {"answer": "1"})
    source = LIBRARY_FILE.read_text(encoding="utf-8").replace(
        "Help us decide when", "Help us choose when")
    with session_scope(seeded.url) as session:
        repository.launch_consultation(session, parse_consultation(source), source)
    response = taker.send("preferred_times", {"answer": ["1"]})
    assert response.status_code == 303
    assert "questions were changed" in reviewer.get(TAKE).text
    assert stored(seeded.url, "phone") == []
