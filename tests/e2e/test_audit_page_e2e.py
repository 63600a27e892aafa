"""The admins' Audit trail page in Debian's Chromium, on the web app alone (no Rasa).

Someone (a script) fails to sign in with markup for an e-mail; an admin signs in, reaches the page
from the navigation with the keyboard, sees both attempts (the markup shown as text, no
script run), filters with labelled fields and Enter, downloads the filtered entries as
CSV (the download appears on the page afterwards); a reviewer has no link and gets 403.
No console error, uncaught exception or CSP violation; axe-core finds no serious or
critical violation.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, expect

from bot.devtools.stack import ROOT
from bot.devtools.web import WebServer
from tests.e2e.helpers import review_tab, sign_in, web_alone

pytestmark = [pytest.mark.e2e]

ADMIN = ("audit-admin@council.example", "audit-admin-password-1")
REVIEWER = ("audit-reviewer@council.example", "audit-reviewer-password-1")
HOSTILE = "<img src=x onerror=alert(1)>@x.example"
SCREENSHOTS = ROOT / "results" / "screenshots"


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebServer]:
    workdir: Path = tmp_path_factory.mktemp("audit-page")
    staff = [(ADMIN[0], "admin", ADMIN[1]), (REVIEWER[0], "reviewer", REVIEWER[1])]
    with web_alone(workdir, staff, "web-audit-page.log") as server:
        yield server


def fail_to_sign_in(base: str, email: str) -> None:
    """Someone posts the sign-in form with a wrong password (a script, not a browser: the
    browser's own e-mail check would stop this e-mail)."""
    with httpx.Client(base_url=base) as client:
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/review/login").text)
        assert token is not None
        refused = client.post("/review/login", data={
            "email": email, "password": "not the password at all",
            "csrf_token": token.group(1)})
        assert refused.status_code == 400 and "not right" in refused.text


def test_admins_read_filter_and_download_the_trail(web: WebServer, browser: Browser) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    dialogs: list[str] = []
    with review_tab(browser) as (tab, checks):
        tab.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        fail_to_sign_in(web.url, HOSTILE)
        sign_in(tab, f"{web.url}/review", ADMIN)

        link = tab.get_by_role("navigation", name="Review area").get_by_role(
            "link", name="Audit trail")
        link.focus()
        tab.keyboard.press("Enter")
        expect(tab.get_by_role("heading", name="Audit trail", level=1)).to_be_visible()
        table = tab.get_by_role("table")
        expect(table.locator("caption")).to_have_text("2 entries, newest first")
        failed = tab.get_by_role("row", name=re.compile("Failed sign-in"))
        expect(failed.locator("td").nth(2)).to_have_text(HOSTILE)  # shown as text
        expect(failed.locator("td").nth(3)).to_have_text("locked: no")
        expect(tab.get_by_role("row", name=re.compile("Signed in"))).to_contain_text(ADMIN[0])
        tab.screenshot(path=str(SCREENSHOTS / "review-audit.png"), full_page=True)
        violations = checks.serious_axe_violations()

        tab.get_by_label("Action").select_option(label="Failed sign-in")
        tab.get_by_label("Who").focus()
        tab.keyboard.type("anonymous")
        tab.keyboard.press("Enter")
        expect(tab).to_have_url(re.compile(r"action=auth\.sign_in_failed&who=anonymous"))
        expect(table.locator("caption")).to_have_text("1 entry, newest first")
        with tab.expect_download() as started:
            tab.get_by_role("link", name="CSV").click()
        download = started.value
        assert download.suggested_filename == "audit-trail.csv"
        rows = list(csv.DictReader(io.StringIO(Path(download.path()).read_text("utf-8"))))
        assert [(r["actor"], r["action"], r["target"]) for r in rows] == [
            ("anonymous", "auth.sign_in_failed", HOSTILE)]

        tab.get_by_role("link", name="Clear").click()
        expect(table.locator("caption")).to_have_text("3 entries, newest first")
        expect(tab.get_by_role("row", name=re.compile("Downloaded the audit trail"))
               ).to_contain_text("filter_action: auth.sign_in_failed")
    assert violations == [], "\n".join(violations)
    assert dialogs == []

    with review_tab(browser) as (tab, _checks):
        sign_in(tab, f"{web.url}/review", REVIEWER)
        expect(tab.get_by_role("link", name="Audit trail")).to_have_count(0)
        # With the reviewer's cookies, outside the page (a 403 page is a console error).
        refused = tab.context.request.get(f"{web.url}/review/audit")
        assert refused.status == 403 and "Only admins can do this." in refused.text()
