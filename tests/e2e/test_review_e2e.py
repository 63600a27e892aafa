"""The review area in Debian's Chromium, against the real servers.

A Telegram citizen (python-telegram-bot bridge against the fake Bot API server, real Rasa
and action server) completes the library consultation and asks to hear back. Staff
accounts are made with the CLI; an admin then signs in to the web app (a subprocess),
filters and tags the answers, finds and renames a theme, downloads every export, and
publishes the outcome, which the bridge pushes to the citizen. axe-core checks the main
pages; screenshots go to ``results/screenshots/``.

The citizen takes part in this module's own copy of the library consultation (launched
with the CLI, closed again afterwards): an outcome another test publishes for the demo
consultation on the shared stack would otherwise be pushed to them as soon as they ask to
hear back, and their contact forgotten before this test publishes its own.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from openpyxl import load_workbook
from playwright.sync_api import Browser, Page, expect

from bot.devtools.bridge import BridgeThread
from bot.devtools.fake_telegram import FakeTelegram
from bot.devtools.stack import ROOT, Stack
from bot.devtools.web import WebServer
from bot.store.db import session_scope
from bot.store.pseudonym import participant_key
from bot.store.review_models import FollowUp
from tests.e2e.helpers import participation_of, polling_bridge, review_tab, web_on_stack
from tests.e2e.helpers import sign_in as sign_in_at
from tests.e2e.webchat import ChatPage

pytestmark = [pytest.mark.e2e,
              pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")]

LIBRARY = "library-hours-2027"
#: This module's own copy of the library consultation (no "library" in its title, so that
#: other tests' "library" buttons never find it).
REVIEWED = "review-e2e-opening-hours"
TITLE = "Shaping our opening hours (review test)"
SECRET = os.environ["CODESIGN_SECRET_KEY"].encode()
SCREENSHOTS = ROOT / "results" / "screenshots"
ADMIN = ("admin-e2e@council.example", "admin-e2e-password-1")
REVIEWER = ("reviewer-e2e@council.example", "reviewer-e2e-password-1")
REASON = "I would study there in the evenings after my night shifts at the depot"
OUTCOME = "From May 2027 the central library opens until 8pm on weekdays."
chat_ids = itertools.count(810_000_001)


@pytest.fixture(scope="module")
def web(stack: Stack) -> Iterator[WebServer]:
    """The web app (``python -m bot.web``) on a free port, on the stack's database."""
    with web_on_stack(stack, "web-review.log") as server:
        yield server


@pytest.fixture(scope="module")
def telegram() -> Iterator[FakeTelegram]:
    with FakeTelegram() as fake:
        yield fake


@pytest.fixture(scope="module")
def bridge(stack: Stack, telegram: FakeTelegram,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[BridgeThread]:
    """The Telegram bridge, polling the fake Bot API and pushing published outcomes."""
    with polling_bridge(telegram, stack.database_url, stack.rasa_url,
                        tmp_path_factory.mktemp("review-bridge")) as running:
        yield running


@pytest.fixture(scope="module")
def staff(stack: Stack) -> None:
    """An admin and a reviewer, made with the CLI as an agency would."""
    for (email, password), role in ((ADMIN, "admin"), (REVIEWER, "reviewer")):
        codesign(stack, "users", "create", email, "--role", role, "--password-stdin",
                 stdin=password + "\n")


def codesign(stack: Stack, *args: str, stdin: str | None = None) -> None:
    """Run the real ``codesign`` CLI on the stack's database; it must succeed."""
    done = subprocess.run([str(ROOT / ".venv/bin/codesign"), *args], input=stdin,
                          env=stack.env(), cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture(scope="module")
def consultation(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """This module's own copy of the library consultation, launched with the CLI as an
    agency would (its slug); closed again when the module is done."""
    source = (ROOT / "consultations" / f"{LIBRARY}.yml").read_text(encoding="utf-8")
    copy = (source.replace(f"slug: {LIBRARY}", f"slug: {REVIEWED}")
            .replace("title: Shaping our library opening hours", f"title: {TITLE}"))
    assert f"slug: {REVIEWED}" in copy and f"title: {TITLE}" in copy
    path = tmp_path_factory.mktemp("review-consultation") / f"{REVIEWED}.yml"
    path.write_text(copy, encoding="utf-8")
    codesign(stack, "consultations", "launch", str(path))
    yield REVIEWED
    codesign(stack, "consultations", "close", REVIEWED)


@pytest.fixture(scope="module")
def citizen(stack: Stack, telegram: FakeTelegram, bridge: BridgeThread,
            consultation: str) -> int:
    """A Telegram citizen who completed this module's consultation and asked to hear back
    (no outcome is published for it yet, so they are still waiting)."""
    chat = next(chat_ids)
    telegram.say(chat, "/start", "consultations are open")
    telegram.choose(chat, "review test", "Privacy")
    telegram.choose(chat, "Yes, I agree", "Question 1 of")
    telegram.say(chat, "a few times a year", "Question 2 of 8")
    telegram.say(chat, "The library closes before I finish work", "Question 3 of 8")
    telegram.choose(chat, "Evenings", "Selected so far")
    telegram.choose(chat, "Done", "Question 4 of 8")
    telegram.choose(chat, "4", "Question 5 of 8")
    telegram.say(chat, "2", "Question 6 of 8")
    telegram.say(chat, "borrowing books", "Question 7 of 8")
    telegram.say(chat, REASON, "Question 8 of 8")
    telegram.say(chat, "Please keep the quiet study room open late", "quote your words")
    telegram.choose(chat, "Yes, you may quote me", "summary of your answers")
    telegram.choose(chat, "Submit", "What happens next")
    telegram.wait_for_text(chat, "tell you what the council decides")
    telegram.choose(chat, "Yes, tell me", "let you know")
    return chat


@pytest.fixture
def page(browser: Browser) -> Iterator[tuple[Page, ChatPage]]:
    """A staff tab: console errors and CSP violations on any page fail the test."""
    with review_tab(browser) as opened:
        yield opened


def sign_in(tab: Page, base: str, who: tuple[str, str]) -> None:
    """Sign in from the review area's front page and land on the consultations."""
    sign_in_at(tab, f"{base}/review", who)
    expect(tab.get_by_role("heading", name="Consultations", exact=True)).to_be_visible()


def download(tab: Page, link_name: str, folder: Path) -> tuple[str, bytes]:
    with tab.expect_download() as info:
        tab.get_by_role("link", name=link_name).click()
    saved = folder / info.value.suggested_filename
    info.value.save_as(saved)
    return info.value.suggested_filename, saved.read_bytes()


def test_review_publish_and_push(stack: Stack, web: WebServer, staff: None, consultation: str,
                                 citizen: int, telegram: FakeTelegram,
                                 page: tuple[Page, ChatPage], tmp_path: Path) -> None:
    tab, checks = page
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    axe: dict[str, list[str]] = {}

    # Wrong password first: the same message as for an unknown e-mail.
    tab.goto(f"{web.url}/review/login")
    checks.expected_404s.add(f"{web.url}/review/login")  # the browser logs the 400 answer
    axe["login"] = checks.serious_axe_violations()
    tab.get_by_label("E-mail address").fill(ADMIN[0])
    tab.get_by_label("Password").fill("not-the-password")
    tab.get_by_role("button", name="Sign in").click()
    expect(tab.get_by_role("alert")).to_contain_text("e-mail address or password is not right")

    sign_in(tab, web.url, ADMIN)
    axe["overview"] = checks.serious_axe_violations()
    tab.screenshot(path=str(SCREENSHOTS / "review-overview.png"), full_page=True)

    # Open the consultation.
    # By address: other tests on the shared stack launch look-alikes with the same title.
    tab.locator(f'a[href="/review/c/{consultation}"]').click()
    expect(tab.get_by_role("heading", level=1)).to_have_text(TITLE)
    expect(tab.locator("#funnel")).to_contain_text("Completed")
    axe["consultation"] = checks.serious_axe_violations()
    tab.screenshot(path=str(SCREENSHOTS / "review-consultation.png"), full_page=True)

    # A codebook tag, then filter the answers and tag the citizen's.
    tab.get_by_label("Name").fill("Evening study")
    tab.get_by_label("Description (optional)").fill("Wants to study in the evenings")
    tab.get_by_role("button", name="Add the tag").click()
    expect(tab.get_by_role("status")).to_contain_text("Added the tag “Evening study”")
    tab.get_by_role("link", name="Read and tag the answers to question 7").click()
    tab.get_by_label("Search the answers").fill("night shifts")
    tab.get_by_label("Channel").select_option("telegram")
    tab.get_by_role("button", name="Filter").click()
    expect(tab.locator("#answers-heading")).to_have_text("1 answer")
    answer = tab.locator("li.answer").first
    expect(answer.locator(".citizen-text")).to_have_text(REASON)
    axe["answers"] = checks.serious_axe_violations()
    answer.get_by_label("Evening study").check()
    answer.get_by_label("Note").fill("Shift workers need later hours")
    answer.get_by_label("Reviewed").check()
    answer.get_by_role("button", name="Save").click()
    expect(tab.get_by_role("status")).to_contain_text("Saved answer")
    answer = tab.locator("li.answer").first
    expect(answer).to_contain_text("tags: Evening study")
    expect(answer.get_by_label("Note")).to_have_value("Shift workers need later hours")
    tab.get_by_label("Tag", exact=True).select_option(label="Evening study")
    tab.get_by_role("button", name="Filter").click()
    expect(tab.locator("#answers-heading")).to_have_text("1 answer")
    tab.screenshot(path=str(SCREENSHOTS / "review-answers.png"), full_page=True)

    # The citizen's transcript.
    tab.goto(f"{web.url}/review/c/{consultation}/transcripts?channel=telegram&status=completed")
    axe["transcripts"] = checks.serious_axe_violations()
    tab.get_by_role("link", name="Conversation").first.click()
    expect(tab.locator(".transcript")).to_contain_text("Do you agree to take part?")
    expect(tab.locator(".transcript")).to_contain_text("Buttons offered:")
    axe["transcript"] = checks.serious_axe_violations()

    # Themes: computed in the background (the page polls its progress), then renamed.
    tab.goto(f"{web.url}/review/c/{consultation}/q/hours_reasons/themes")
    tab.get_by_role("button", name="Find themes").or_(
        tab.get_by_role("button", name="Recompute the themes")).click()
    expect(tab.get_by_role("status")).to_contain_text("Found", timeout=120_000)
    first = tab.locator("li.theme").first
    expect(first).to_be_visible()
    axe["themes"] = checks.serious_axe_violations()
    first.locator("input[name=label]").fill("Evening study after work")
    first.get_by_role("button", name="Rename").click()
    expect(tab.get_by_role("status")).to_contain_text("Renamed the theme.")
    expect(tab.locator("h2.theme-title").first).to_have_text("Evening study after work")
    tab.screenshot(path=str(SCREENSHOTS / "review-themes.png"), full_page=True)

    tab.goto(f"{web.url}/review/gaps")
    axe["gaps"] = checks.serious_axe_violations()

    # Every export, downloaded through the links.
    tab.goto(f"{web.url}/review/c/{consultation}")
    # The bridge gives Rasa an HMAC of the chat id; the store keys participants by an HMAC
    # of that.
    rasa_sender = participant_key(SECRET, "telegram", str(citizen))
    key = participant_key(SECRET, "telegram", rasa_sender)
    name, data = download(tab, "Answers as CSV", tmp_path)
    assert name == f"{consultation}-answers.csv"
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8"))))
    mine = [r for r in rows if r["raw_text"] == REASON]
    assert len(mine) == 1 and mine[0]["tags"] == "Evening study"
    assert mine[0]["participant"] == key and mine[0]["quote_consent"] == "true"
    assert str(citizen) not in data.decode("utf-8")  # never the Telegram chat id
    name, data = download(tab, "Answers as Excel (XLSX)", tmp_path)
    assert name == f"{consultation}-answers.xlsx"
    sheet = load_workbook(io.BytesIO(data), read_only=True)["answers"]
    assert any(REASON in row for row in sheet.iter_rows(values_only=True))
    name, data = download(tab, "Answers as JSON", tmp_path)
    assert name == f"{consultation}-answers.json"
    records = [r for r in json.loads(data) if r["participant"] == key]
    assert records and records[-1]["answers"]["hours_reasons"] == REASON
    name, data = download(tab, "Transcripts as JSON Lines", tmp_path)
    assert name == f"{consultation}-transcripts.jsonl"
    lines = [json.loads(line) for line in data.decode("utf-8").splitlines()]
    assert any(line["participant"] == key and
               any(m["text"] == REASON for m in line["messages"]) for line in lines)
    assert str(citizen) not in data.decode("utf-8")

    # Close the loop: publish the outcome; the bridge pushes it to the citizen.
    tab.get_by_label("Publish the outcome").or_(tab.get_by_label("Publish an update")).fill(
        OUTCOME)
    tab.get_by_role("button", name="Publish and tell participants").click()
    expect(tab.get_by_role("status")).to_contain_text("Published the outcome.")
    pushed = telegram.wait_for_text(citizen, "until 8pm on weekdays")
    assert f"An update on “{TITLE}”" in pushed.params["text"]
    participation = participation_of(stack.database_url, rasa_sender, channel="telegram")
    assert participation is not None
    deadline = time.monotonic() + 30  # the bridge records the push right after sending
    while True:
        with session_scope(stack.database_url) as session:
            follow_up = session.get(FollowUp, participation.id)
            told = follow_up is not None and follow_up.told_at is not None
        if told or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert told
    tab.reload()
    expect(tab.locator("#outcome ~ p").first).to_contain_text("been told")
    figures = tab.locator("#outcome + p").inner_text()
    asked, told_count = [int(w) for w in figures.split() if w.isdigit()][:2]
    assert asked == told_count == 1  # this module's consultation: only its citizen
    tab.screenshot(path=str(SCREENSHOTS / "review-outcome.png"), full_page=True)

    problems = {where: issues for where, issues in axe.items() if issues}
    assert not problems, "\n".join(f"{where}:\n  " + "\n  ".join(issues)
                                   for where, issues in problems.items())


def test_reviewer_cannot_use_admin_pages(web: WebServer, staff: None,
                                         page: tuple[Page, ChatPage]) -> None:
    tab, checks = page
    sign_in(tab, web.url, REVIEWER)
    tab.goto(f"{web.url}/review/c/{LIBRARY}")
    expect(tab.get_by_role("button", name="Publish and tell participants")).to_have_count(0)
    checks.expected_404s.add(f"{web.url}/review/admin/consultations/new")  # logged 403
    response = tab.goto(f"{web.url}/review/admin/consultations/new")
    assert response is not None and response.status == 403
    tab.goto(f"{web.url}/review/c/{LIBRARY}")
    tab.get_by_role("button", name="Sign out").click()
    expect(tab.get_by_role("heading", name="Sign in to review")).to_be_visible()
