"""The API docs page and personal API tokens in Debian's Chromium.

Only the web app runs (``python -m bot.web`` on a SQLite file): no Rasa is needed. A
reviewer signs in, makes an API token in the browser, opens the API docs (Swagger UI from
npm, started by our own script under ``script-src 'self'``), authorises with the token
and runs ``GET /api/v1/me`` with "Try it out". No console error (a CSP violation is one)
may happen; axe-core checks our pages.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from bot.devtools.stack import ROOT
from bot.devtools.web import WebServer
from tests.e2e.helpers import review_tab, sign_in, web_alone
from tests.e2e.webchat import ChatPage

pytestmark = [pytest.mark.e2e]

REVIEWER = ("reviewer-docs@council.example", "reviewer-docs-password-1")
SCREENSHOTS = ROOT / "results" / "screenshots"
TOKEN_RE = re.compile(r"^cdsn_[A-Za-z0-9_-]{20,}$")


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebServer]:
    """The web app alone, on a fresh SQLite store with one reviewer."""
    with web_alone(tmp_path_factory.mktemp("api-docs"), [(REVIEWER[0], "reviewer", REVIEWER[1])],
                   "web-api-docs.log") as server:
        yield server


@pytest.fixture
def page(browser: Browser) -> Iterator[tuple[Page, ChatPage]]:
    """A tab whose console errors and CSP violations fail the test; runs axe."""
    with review_tab(browser) as tab_and_checks:
        yield tab_and_checks


def test_make_a_token_then_try_the_api_in_swagger_ui(web: WebServer,
                                                     page: tuple[Page, ChatPage]) -> None:
    tab, checks = page
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    axe: dict[str, list[str]] = {}

    # Sign in; the docs page asked for first comes back after signing in.
    sign_in(tab, f"{web.url}/review/api/docs", REVIEWER)
    expect(tab.get_by_role("heading", name="The JSON API", level=1)).to_be_visible()

    # A token, made in the browser: shown once, focused, ready to copy.
    tab.get_by_role("link", name="API tokens").first.click()
    expect(tab.get_by_role("heading", name="API tokens", level=1)).to_be_visible()
    axe["tokens"] = checks.serious_axe_violations()
    tab.get_by_label("Name (what or who will use it)").fill("Swagger try-out")
    tab.get_by_role("button", name="Make the token").click()
    field = tab.get_by_label("The token")
    expect(field).to_be_focused()
    token = field.input_value()
    assert TOKEN_RE.match(token), token
    axe["new token"] = checks.serious_axe_violations()
    tab.screenshot(path=str(SCREENSHOTS / "review-api-token.png"), full_page=True)
    expect(tab.get_by_role("row", name=re.compile("Swagger try-out"))).to_contain_text("live")

    # The docs: Swagger UI lists the operations from the schema behind the login.
    tab.get_by_role("link", name="API docs").click()
    expect(tab.get_by_role("heading", name="How to use the API")).to_be_visible()
    reference = tab.locator("#swagger-ui")
    expect(reference.locator(".opblock-summary-path",
                             has_text=re.compile(r"^/api/v1/consultations$"))).to_be_visible()
    assert reference.locator(".opblock").count() >= 10
    axe["docs"] = checks.serious_axe_violations()

    # Authorise with the token, then run GET /api/v1/me.
    reference.get_by_role("button", name=re.compile("Authorize")).first.click()
    dialog = tab.locator(".dialog-ux .modal-ux")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("ApiToken")  # the bearer scheme of the schema
    dialog.locator("input[type=text]").fill(token)
    dialog.get_by_role("button", name="Apply credentials").click()
    expect(dialog.get_by_role("button", name="Remove authorization")).to_be_visible()
    dialog.get_by_role("button", name="Close", exact=True).click()
    expect(dialog).to_have_count(0)

    me = reference.locator("#operations-api-me_api_v1_me_get")
    me.locator(".opblock-summary-control").click()
    me.get_by_role("button", name="Try it out").click()
    me.get_by_role("button", name="Execute").click()
    live = me.locator(".live-responses-table")
    expect(live.locator("tr.response .response-col_status")).to_have_text("200",
                                                                     timeout=15_000)
    expect(live.locator("tr.response .response-col_description")).to_contain_text(REVIEWER[0])
    expect(me.locator(".curl-command")).to_contain_text("Authorization: Bearer cdsn_")
    axe["docs, tried out"] = checks.serious_axe_violations()
    assert tab.evaluate("() => window.__csp") == []
    tab.screenshot(path=str(SCREENSHOTS / "review-api-docs.png"), full_page=True)

    # The token was used: its "last used" is filled in.
    tab.goto(f"{web.url}/review/account/tokens")
    expect(tab.get_by_role("row", name=re.compile("Swagger try-out"))).not_to_contain_text(
        "never")

    problems = {where: issues for where, issues in axe.items() if issues}
    assert not problems, "\n".join(f"{where}:\n  " + "\n  ".join(issues)
                                   for where, issues in problems.items())

