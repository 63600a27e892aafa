"""The public web page and chat widget in Debian's Chromium, against the real servers.

The web app runs as a subprocess (``python -m bot.web``) next to the shared Rasa and
action servers; Playwright drives the page as a citizen would (mouse and keyboard).
Screenshots go to ``results/screenshots/`` (git-ignored).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import Browser, Page
from sqlalchemy import func, select

from bot.devtools.stack import ROOT, Stack
from bot.devtools.web import WebServer
from bot.review.outcomes import publish_outcome
from bot.store import repository as repo
from bot.store.db import session_scope
from bot.store.models import TranscriptEntry
from tests.e2e.helpers import answers_of, participation_of, web_on_stack
from tests.e2e.webchat import ChatPage

pytestmark = pytest.mark.e2e

LIBRARY = "library-hours-2027"
PARK = "park-redesign-2027"
SCREENSHOTS = ROOT / "results" / "screenshots"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 360, "height": 740}
MARKUP = '<img src="x" onerror="window.__pwned = 1"><b>bold</b>'


@pytest.fixture(scope="module")
def web(stack: Stack) -> Iterator[WebServer]:
    """The web app on a free port, reading the stack's database and pointing at its Rasa."""
    with web_on_stack(stack, "web.log") as server:
        yield server


def open_page(browser: Browser, viewport: dict[str, int]) -> Iterator[ChatPage]:
    context = browser.new_context(viewport=viewport)  # type: ignore[arg-type]
    page: Page = context.new_page()
    chat = ChatPage(page)
    try:
        yield chat
    finally:
        context.close()
    assert not chat.problems, "\n".join(chat.problems)


@pytest.fixture
def desktop(browser: Browser) -> Iterator[ChatPage]:
    """A fresh browser tab (no stored chat) at desktop width."""
    yield from open_page(browser, DESKTOP)


@pytest.fixture
def phone(browser: Browser) -> Iterator[ChatPage]:
    """A fresh browser tab at a 360-px phone width."""
    yield from open_page(browser, PHONE)


def incoming_count(database_url: str, participation_id: int, text: str) -> int:
    """How often the transcript recorded this citizen message."""
    with session_scope(database_url) as session:
        return int(session.scalar(
            select(func.count()).select_from(TranscriptEntry)
            .where(TranscriptEntry.participation_id == participation_id,
                   TranscriptEntry.direction == "in", TranscriptEntry.text == text)) or 0)


def test_complete_consultation_with_reloads(stack: Stack, web: WebServer,
                                            desktop: ChatPage) -> None:
    chat, page = desktop, desktop.page
    page.goto(f"{web.url}/c/{LIBRARY}")
    chat.wait_ready()
    chat.wait_bot("Do you agree to take part?")
    assert chat.user_texts() == []  # the start message is not shown as the citizen's
    chat.press("Yes, I agree", "Question 1 of 8")
    assert chat.user_texts() == ["Yes, I agree"]
    assert page.locator(".cs-choice", has_text="No, thanks").is_disabled()  # stale
    chat.say("a few times a year", "Question 2 of 8")
    chat.say("The library closes before I finish work, and buses are infrequent",
             "Question 3 of 8")
    chat.press("Evenings", "Selected so far: Evenings")

    # Reload mid-way: the conversation is shown again and its current buttons still work.
    before = (chat.bot_texts(), chat.user_texts())
    page.reload()
    chat.wait_ready()
    assert (chat.bot_texts(), chat.user_texts()) == before
    chat.press("Saturdays", "Selected so far: Evenings (after 6pm), Saturdays")
    chat.press("Done", "Question 4 of 8")

    # Reload right after sending: whether or not the reply arrived first, the answer is
    # processed once (a lost reply makes the widget resend with the same message_id).
    chat.input.fill("four")
    chat.input.press("Enter")
    page.reload()
    chat.wait_ready()
    chat.wait_bot("Question 5 of 8")

    chat.say("2", "Question 6 of 8")
    chat.say("borrowing books, study space", "Question 7 of 8")
    chat.say(f"I would study there in the evenings {MARKUP}", "Question 8 of 8")
    chat.say("Please keep the quiet study room open late", "quote your words")
    chat.press("Yes, you may quote me", "summary of your answers")
    chat.wait_bot(MARKUP)  # the summary repeats the answer: as text, not markup
    assert page.locator(".cs-log img, .cs-log b").count() == 0
    assert page.evaluate("() => window.__pwned") is None
    chat.press("Submit", "What happens next")
    page.screenshot(path=str(SCREENSHOTS / "desktop-chat-completed.png"))

    sender = chat.session_id()
    answers = answers_of(stack.database_url, sender, "web")
    assert answers["visits"] == ("answered", "A few times a year")
    assert answers["preferred_times"] == ("answered", ["Evenings (after 6pm)", "Saturdays"])
    assert answers["evenings"] == ("answered", 4)
    assert answers["trade_off"] == ("answered", "Sunday afternoon opening")
    assert answers["services"] == ("answered", ["Borrowing books", "Study or work space"])
    assert answers["hours_reasons"][1].endswith(MARKUP)
    participation = participation_of(stack.database_url, sender, "web")
    assert participation is not None
    assert participation.channel == "web" and participation.status == "completed"
    assert participation.quote_consent is True
    assert incoming_count(stack.database_url, participation.id, "four") == 1

    # Close the loop: ask to hear back, the agency publishes, the citizen comes back later
    # in a new tab of the same browser and is told (once).
    chat.press("Yes, tell me", "let you know")
    with session_scope(stack.database_url) as session:
        library = repo.get_consultation(session, LIBRARY)
        assert library is not None
        publish_outcome(session, library.id, "From May 2027 Central Library opens until 8pm.",
                        None)
    later = ChatPage(page.context.new_page())
    later.page.goto(web.url)
    later.page.get_by_role("button", name="Chat with us").click()
    later.wait_ready()
    later.wait_bot("until 8pm")
    assert later.session_id() == sender
    assert not later.problems, "\n".join(later.problems)


def test_home_lists_open_consultations_and_chat_greets(stack: Stack, web: WebServer,
                                                       desktop: ChatPage) -> None:
    chat, page = desktop, desktop.page
    page.goto(web.url)
    titles = page.locator(".card-title").all_text_contents()
    with session_scope(stack.database_url) as session:  # other tests may launch more
        open_now = sorted(c.current_version.title for c in repo.open_consultations(session)
                          if c.current_version is not None)
    assert sorted(titles) == open_now
    assert {"Redesigning Millbrook Park together",
            "Shaping our library opening hours"} <= set(titles)
    assert page.get_by_role("link", name="Privacy notice").count() == len(open_now)
    launcher = page.get_by_role("button", name="Chat with us")
    assert launcher.get_attribute("aria-expanded") == "false"
    page.screenshot(path=str(SCREENSHOTS / "desktop-home.png"))
    launcher.click()
    chat.wait_ready()
    chat.wait_bot("Which one would you like to take part in?")
    assert chat.input.evaluate("el => el === document.activeElement")
    chat.press("Redesigning Millbrook Park", "Do you agree to take part?")
    page.screenshot(path=str(SCREENSHOTS / "desktop-home-chat-open.png"))


def test_no_serious_accessibility_violations(web: WebServer, desktop: ChatPage,
                                            phone: ChatPage) -> None:
    found: dict[str, list[str]] = {}
    for view, name in ((desktop, "desktop"), (phone, "phone")):
        page = view.page
        page.goto(web.url)
        found[f"{name} /"] = view.serious_axe_violations()
        page.get_by_role("button", name="Chat with us").click()
        view.wait_ready()
        view.wait_bot("Which one would you like")
        found[f"{name} / with the chat open"] = view.serious_axe_violations()
        page.goto(f"{web.url}/c/{LIBRARY}")
        view.wait_ready()
        view.wait_bot("Do you agree to take part?")
        found[f"{name} /c/{LIBRARY} (chat open)"] = view.serious_axe_violations()
        page.goto(f"{web.url}/c/{LIBRARY}/privacy")
        found[f"{name} privacy notice"] = view.serious_axe_violations()
        view.goto_not_found(f"{web.url}/c/no-such-consultation")
        found[f"{name} not found"] = view.serious_axe_violations()
    problems = {where: issues for where, issues in found.items() if issues}
    assert not problems, "\n".join(f"{where}:\n  " + "\n  ".join(issues)
                                   for where, issues in problems.items())


def test_keyboard_only(stack: Stack, web: WebServer, desktop: ChatPage) -> None:
    chat, page = desktop, desktop.page
    page.goto(f"{web.url}/c/{PARK}")
    chat.wait_ready()
    chat.wait_bot("Do you agree to take part?")
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    page.keyboard.press("Home")

    def tab_to(predicate: str, key: str = "Tab", limit: int = 60) -> None:
        for _ in range(limit):
            page.keyboard.press(key)
            if page.evaluate(f"() => {{ const el = document.activeElement; return {predicate}; }}"):
                return
        raise AssertionError(f"{key} never reached an element where {predicate}")

    def assert_visible_focus() -> None:
        style = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
        assert style not in ("none", ""), "the focused element shows no focus indicator"

    # Tab to the input, type, Enter.
    tab_to("el && el.classList.contains('cs-input')")
    assert_visible_focus()
    since = chat.bot_count()
    page.keyboard.type("yes please")
    page.keyboard.press("Enter")
    chat.wait_bot("Question 1 of", since)

    # Back (Shift+Tab) from the input to an answer button; Space presses it.
    tab_to("el && el.classList.contains('cs-choice') && "
           "el.textContent.includes('At least once a week')", key="Shift+Tab")
    assert_visible_focus()
    since = chat.bot_count()
    page.keyboard.press("Space")
    chat.wait_bot("Question 2 of", since)
    # After a button press the focus moves to the new question's first button.
    page.wait_for_function("() => document.activeElement.classList.contains('cs-choice')"
                           " && !document.activeElement.disabled")
    tab_to("el && el.textContent.includes('Dog walking')")
    since = chat.bot_count()
    page.keyboard.press("Enter")
    chat.wait_bot("Selected so far: Dog walking", since)

    # The log is announced politely to screen readers, and the input has a visible label.
    log = page.get_by_role("log")
    assert log.get_attribute("aria-live") == "polite"
    assert "Selected so far: Dog walking" in (log.text_content() or "")
    assert page.locator("label", has_text="Your message").is_visible()
    # Escape closes the chat and gives the focus back to the button that opens it.
    page.keyboard.press("Escape")
    assert page.evaluate("() => document.activeElement.classList.contains('cs-launcher')")
    page.keyboard.press("Enter")
    assert chat.input.evaluate("el => el === document.activeElement")

    participation = participation_of(stack.database_url, chat.session_id(), "web")
    assert participation is not None and participation.channel == "web"
    assert answers_of(stack.database_url, chat.session_id(), "web")["park_use"] == \
        ("answered", "At least once a week")


def test_phone_width_fits_and_screenshots(web: WebServer, phone: ChatPage) -> None:
    page = phone.page
    page.goto(web.url)
    assert phone.horizontal_overflow() == 0
    page.screenshot(path=str(SCREENSHOTS / "phone-home.png"), full_page=True)
    page.goto(f"{web.url}/c/{LIBRARY}")
    phone.wait_ready()
    phone.wait_bot("Do you agree to take part?")
    assert phone.horizontal_overflow() == 0
    panel = page.locator(".cs-panel").bounding_box()
    assert panel is not None and panel["x"] >= 0 and panel["x"] + panel["width"] <= PHONE["width"]
    phone.press("Yes, I agree", "Question 1 of 8")
    assert phone.horizontal_overflow() == 0
    widest = page.evaluate("""() => Math.max(...[...document.querySelectorAll('.cs-log *')]
        .map(el => el.getBoundingClientRect().right))""")
    assert widest <= PHONE["width"], f"chat content reaches {widest}px on a 360-px screen"
    page.screenshot(path=str(SCREENSHOTS / "phone-chat.png"))
    page.get_by_role("button", name="Close").click()
    assert page.get_by_role("button", name="Take part in the chat").is_visible()
    page.goto(f"{web.url}/c/{LIBRARY}/privacy")
    assert phone.horizontal_overflow() == 0
    page.screenshot(path=str(SCREENSHOTS / "phone-privacy.png"), full_page=True)


@pytest.fixture(autouse=True, scope="module")
def _screenshot_folder() -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)


@contextmanager
def agency_site(html: str) -> Iterator[str]:
    """Serve one page on another origin (``localhost``, not the web app's 127.0.0.1)."""
    body = html.encode()

    class Page(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            del args

    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://localhost:{server.server_address[1]}/parks.html"
    finally:
        server.shutdown()
        server.server_close()


def test_one_snippet_embeds_the_widget_on_an_agency_site(stack: Stack, web: WebServer,
                                                         desktop: ChatPage) -> None:
    """The README's snippet on another origin: the widget loads its stylesheet and
    socket.io-client from the web app and talks to Rasa across origins."""
    chat, page = desktop, desktop.page
    snippet = (f'<script src="{web.url}/static/chat.js" data-socket-url="{stack.rasa_url}" '
               f'data-consultation="{PARK}" defer></script>')
    html = ('<!doctype html><html lang="en"><head><title>Riverside Borough Council</title>'
            '</head><body><main><h1>Parks</h1><p>Have your say on Millbrook Park.</p>'
            f'</main>{snippet}</body></html>')
    with agency_site(html) as agency:
        page.goto(agency)
        launcher = page.get_by_role("button", name="Take part in the chat")
        launcher.wait_for()
        assert launcher.evaluate("el => getComputedStyle(el).position") == "fixed"  # its CSS
        launcher.click()
        chat.wait_ready()
        chat.wait_bot("Do you agree to take part?")
        privacy = page.get_by_role("link", name="Privacy notice")
        assert privacy.get_attribute("href") == f"{web.url}/c/{PARK}/privacy"
        chat.press("Yes, I agree", "Question 1 of")
        assert participation_of(stack.database_url, chat.session_id(), "web") is not None
        assert chat.serious_axe_violations() == []


def test_profile_questions_in_the_widget_prefer_not_to_say_and_skip(
        stack: Stack, web: WebServer, desktop: ChatPage) -> None:
    from bot.consultations.schema import PROFILE_WHY

    chat = desktop
    chat.page.goto(f"{web.url}/c/{PARK}")
    chat.wait_ready()
    chat.wait_bot("Do you agree to take part?")
    chat.press("I agree", "Question 1 of")
    chat.press("At least once a week", "Question 2 of")
    chat.press("Dog walking", "Selected so far")
    chat.press("Done", "Question 3 of")
    chat.press("Seating", "Selected so far")
    chat.press("Done", "Question 4 of")
    chat.press("No", "Question 5 of")
    chat.say("skip", "Question 6 of")  # after dark (optional scale)
    chat.press("No preference", "Question 7 of")
    since = chat.bot_count()
    # anything else (optional): skipped; the why arrives first, then the question (waiting
    # for the why alone raced the second message)
    chat.say("skip", "Which age group are you in? (optional)")
    said = chat.bot_texts()[since:]
    why = next(i for i, text in enumerate(said) if PROFILE_WHY in text)
    assert "Which age group are you in? (optional)" in said[why + 1]
    chat.press("Prefer not to say", "Where do you live?")
    chat.say("skip", "summary of your answers")
    summary = chat.bot_texts()[-1]
    assert "Which age group are you in?" in summary and "Prefer not to say" in summary
    chat.press("Submit", "What happens next")
    answers = answers_of(stack.database_url, chat.session_id(), "web")
    assert answers["age_band"] == ("answered", "Prefer not to say")
    assert answers["area"] == ("skipped", None)
