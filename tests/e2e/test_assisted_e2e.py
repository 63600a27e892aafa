"""Taking a phone response in the review area, in Debian's Chromium, with the keyboard only.

Only the web app runs (``python -m bot.web`` on a SQLite file): no Rasa is needed. A
reviewer signs in, opens "Take a response" from the consultation's page and enters a phone
response using Tab, Space, arrow keys, typing and Enter only: the consent step, a choice
that opens a branch, the branch's open question, a multiple choice refused for too many
picks (the error summary links to the field) then corrected, Back, Skip on an optional
scale, and the summary with quote consent and Submit. The stored participation has the
channel, the answers and the branch; axe-core finds no serious or critical violation;
no console error or CSP violation happens.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect
from sqlalchemy import select

from bot.consultations.schema import parse_consultation
from bot.devtools.stack import ROOT
from bot.devtools.web import WebServer
from bot.store import repository
from bot.store.audit_models import AuditEntry
from bot.store.db import session_scope
from bot.store.models import Answer, Participation, Question
from tests.e2e.helpers import review_tab, web_alone

pytestmark = [pytest.mark.e2e]

REVIEWER = ("assisted-reviewer@council.example", "assisted-reviewer-password-1")
SLUG = "bins-collection-2027"
TITLE = "Bin collections in Riverside"
CONSULTATION = f"""\
slug: {SLUG}
title: {TITLE}
agency: Riverside Borough Council
service: Waste
kind: co-design
summary: Help us plan bin collections.
outcome: We will publish the new timetable in spring.
privacy:
  quotes: ask
  contact: privacy@riverside.example
questions:
  - id: missed
    type: single_choice
    text: How often is your bin collection missed?
    options: [Never, Sometimes, Often]
  - id: why
    type: open
    text: What happens when your collection is missed?
    show_if: {{question: missed, in: [Sometimes, Often]}}
  - id: bins
    type: multi_choice
    text: Which bins do you use?
    options: [General waste, Recycling, Food waste, Garden waste]
    max_choices: 2
  - id: rating
    type: scale
    text: How satisfied are you with collections?
    min: 1
    max: 5
    labels: {{1: Not at all, 5: Very}}
    required: false
  - id: other
    type: open
    text: Anything else?
    required: false
"""
SCREENSHOTS = ROOT / "results" / "screenshots"
WHY = "The lorry could not get past parked cars"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("assisted")


@pytest.fixture(scope="module")
def web(workdir: Path) -> Iterator[WebServer]:
    """The web app alone with one reviewer and one open consultation."""
    with web_alone(workdir, [(REVIEWER[0], "reviewer", REVIEWER[1])],
                   "web-assisted.log") as server:
        with session_scope(database_url(workdir)) as session:
            repository.launch_consultation(session, parse_consultation(CONSULTATION),
                                           CONSULTATION)
        yield server


def database_url(workdir: Path) -> str:
    return f"sqlite:///{workdir / 'codesign.db'}"


def focused(target: Locator) -> bool:
    return bool(target.evaluate("element => element === document.activeElement"))


def tab_to(tab: Page, target: Locator, limit: int = 80) -> None:
    """Press Tab until ``target`` has the focus."""
    expect(target).to_be_visible()
    for _ in range(limit):
        tab.keyboard.press("Tab")
        if focused(target):
            return
    raise AssertionError(f"Tab never reached {target}")


def question(tab: Page, text: str) -> None:
    expect(tab.get_by_role("heading", level=1)).to_have_text(text)


def test_a_phone_response_with_a_branch_by_keyboard_only(web: WebServer, workdir: Path,
                                                         browser: Browser) -> None:
    axe: dict[str, list[str]] = {}
    with review_tab(browser) as (tab, checks):
        # Sign in with the keyboard.
        tab.goto(f"{web.url}/review/c/{SLUG}")
        expect(tab.get_by_role("heading", name="Sign in to review")).to_be_visible()
        tab_to(tab, tab.get_by_label("E-mail address"))
        tab.keyboard.type(REVIEWER[0])
        tab_to(tab, tab.get_by_label("Password"))
        tab.keyboard.type(REVIEWER[1])
        tab.keyboard.press("Enter")
        expect(tab.get_by_role("heading", name=TITLE, level=1)).to_be_visible()

        tab_to(tab, tab.get_by_role("link", name="Take a response"))
        tab.keyboard.press("Enter")
        expect(tab.get_by_role("heading", name="Take a response", level=1)).to_be_visible()
        expect(tab.get_by_text("At the end I will give you a response number. Quote it to "
                               "privacy@riverside.example to get a copy of your answers "
                               "or to have them deleted.")).to_be_visible()
        axe["consent step"] = checks.serious_axe_violations()
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        tab.screenshot(path=str(SCREENSHOTS / "review-take-response-consent.png"),
                       full_page=True)

        # Consent forgotten: the error summary links to the checkbox.
        tab_to(tab, tab.get_by_role("radio", name="By phone"))
        tab.keyboard.press("Space")
        expect(tab.get_by_role("radio", name="By phone")).to_be_checked()
        tab_to(tab, tab.get_by_role("button", name="Start the questions"))
        tab.keyboard.press("Enter")
        summary = tab.get_by_role("alert")
        expect(summary).to_contain_text("There is a problem")
        link = summary.get_by_role("link", name="Confirm that the person was told")
        tab_to(tab, link)
        tab.keyboard.press("Enter")
        consent = tab.get_by_role("checkbox", name="I read this out")
        expect(tab.get_by_role("radio", name="By phone")).to_be_checked()
        tab_to(tab, consent)
        tab.keyboard.press("Space")
        expect(consent).to_be_checked()
        tab.keyboard.press("Enter")  # submits the form from the checkbox

        # A single choice: arrow keys choose "Often", which opens the branch.
        question(tab, "How often is your bin collection missed?")
        expect(tab.get_by_text("question 1 of 5")).to_be_visible()
        axe["a choice question"] = checks.serious_axe_violations()
        tab_to(tab, tab.get_by_role("radio", name="Never"))
        tab.keyboard.press("ArrowDown")
        tab.keyboard.press("ArrowDown")
        expect(tab.get_by_role("radio", name="Often")).to_be_checked()
        tab.keyboard.press("Enter")

        question(tab, "What happens when your collection is missed?")
        tab_to(tab, tab.get_by_role("textbox", name="What happens when your collection is "
                                                   "missed?"))
        tab.keyboard.type(WHY)
        tab_to(tab, tab.get_by_role("button", name="Continue"))
        tab.keyboard.press("Enter")

        # Too many bins: the bot's own message, linked to the first checkbox.
        question(tab, "Which bins do you use?")
        for name in ("General waste", "Recycling", "Food waste"):
            tab_to(tab, tab.get_by_role("checkbox", name=name))
            tab.keyboard.press("Space")
        tab_to(tab, tab.get_by_role("button", name="Continue"))
        tab.keyboard.press("Enter")
        alert = tab.get_by_role("alert")
        expect(alert).to_contain_text("Please choose at most 2 options (you picked 3).")
        axe["a question with an error"] = checks.serious_axe_violations()
        tab.screenshot(path=str(SCREENSHOTS / "review-take-response-error.png"), full_page=True)
        tab_to(tab, alert.get_by_role("link"))
        tab.keyboard.press("Enter")
        expect(tab).to_have_url(f"{web.url}/review/c/{SLUG}/take#answer-1")
        food = tab.get_by_role("checkbox", name="Food waste")
        expect(food).to_be_checked()
        tab_to(tab, food)
        tab.keyboard.press("Space")
        expect(food).not_to_be_checked()
        # Back to the open question: the text is kept; on again.
        tab_to(tab, tab.get_by_role("button", name="Back"))
        tab.keyboard.press("Enter")
        question(tab, "What happens when your collection is missed?")
        box = tab.get_by_role("textbox", name="What happens when your collection is missed?")
        expect(box).to_have_value(WHY)
        tab_to(tab, tab.get_by_role("button", name="Continue"))
        tab.keyboard.press("Enter")
        question(tab, "Which bins do you use?")
        for name in ("General waste", "Recycling"):
            expect(tab.get_by_role("checkbox", name=name)).not_to_be_checked()
            tab_to(tab, tab.get_by_role("checkbox", name=name))
            tab.keyboard.press("Space")
        tab.keyboard.press("Enter")

        # The optional scale: skipped.
        question(tab, "How satisfied are you with collections? (optional)")
        tab_to(tab, tab.get_by_role("button", name="Skip this question"))
        tab.keyboard.press("Enter")
        question(tab, "Anything else? (optional)")
        tab_to(tab, tab.get_by_role("textbox", name="Anything else? (optional)"))
        tab.keyboard.type("Thank you for asking by phone")
        tab_to(tab, tab.get_by_role("button", name="Continue"))
        tab.keyboard.press("Enter")

        # The summary, quote consent and Submit.
        question(tab, "Check the answers, then submit")
        table = tab.get_by_role("table")
        expect(table.get_by_role("row")).to_have_count(6)  # header and five questions
        expect(table).to_contain_text(WHY)
        expect(table).to_contain_text("General waste, Recycling")
        expect(table).to_contain_text("(skipped)")
        axe["summary"] = checks.serious_axe_violations()
        tab.screenshot(path=str(SCREENSHOTS / "review-take-response-summary.png"),
                       full_page=True)
        # A radio group is one Tab stop: in at "Yes", then an arrow key to "No".
        tab_to(tab, tab.get_by_role("radio", name="Yes, they may be quoted"))
        tab.keyboard.press("ArrowDown")
        expect(tab.get_by_role("radio", name="No, do not quote them")).to_be_checked()
        tab_to(tab, tab.get_by_role("button", name="Submit the response"))
        tab.keyboard.press("Enter")
        expect(tab.get_by_role("status")).to_contain_text(
            "The phone response was stored as response number")
        expect(tab.get_by_role("heading", name="Take a response", level=1)).to_be_visible()
    assert not any(axe.values()), axe

    with session_scope(database_url(workdir)) as session:
        [participation] = session.scalars(select(Participation)).all()
        assert (participation.channel, participation.status) == ("phone", "completed")
        assert participation.quote_consent is False
        stored = dict(session.execute(
            select(Question.key, Answer.value).join(Answer, Answer.question_id == Question.id)
            .where(Answer.participation_id == participation.id)).all())
        assert stored == {"missed": "Often", "why": WHY,
                          "bins": ["General waste", "Recycling"], "rating": None,
                          "other": "Thank you for asking by phone"}
        [entry] = session.scalars(select(AuditEntry)
                                  .where(AuditEntry.action == "responses.take")).all()
        assert entry.actor == REVIEWER[0]
        assert entry.target == f"{SLUG} #{participation.id}"
