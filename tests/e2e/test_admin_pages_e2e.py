"""The admins' Knowledge and Users pages, and a user's own password page, in Debian's
Chromium.

Only the web app runs (``python -m bot.web`` on a SQLite file; its data folder is the
test's own): no Rasa is needed. On the Knowledge page an admin uploads a Markdown file
into a new collection, watches the background ingest through the page's own progress
polling (``review.js``), finds the document listed and searchable, then removes it
(dismissing the confirmation first keeps it). On the Users page an admin adds a reviewer
with the keyboard; the reviewer, in a second browser context, changes their password; the
admin resets it and the reviewer's session ends. No console error, uncaught exception or
CSP violation may happen on any page; axe-core finds no serious or critical violation.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Dialog, expect
from sqlalchemy import func, select

from bot.devtools.stack import ROOT
from bot.devtools.web import WebServer
from bot.knowledge.search import KnowledgeSearcher
from bot.store.db import session_scope
from bot.store.models import KnowledgeDocument, KnowledgePassage
from tests.e2e.helpers import review_tab, sign_in, web_alone

pytestmark = [pytest.mark.e2e]

ADMIN = ("admin-pages@council.example", "admin-pages-password-1")
NEW_REVIEWER = "new-reviewer@council.example"
PASSWORDS = {"initial": "first-Pass-word-2027", "own": "my-own-Pass-word-2027",
             "reset": "reset-by-admin-Pass-2027"}
COLLECTION = "parks-extra"
TITLE = "Bike hire at Riverside parks"
BIKE_HIRE_MD = f"""# {TITLE}

## Where to hire a bike
Riverside Park and Millbrook Park each have a bike hire station next to the main gate.
Bikes, child seats and helmets can be hired from 9:00 to 19:00, April to October.

## Prices
Bike hire costs 4 pounds an hour or 12 pounds a day. Residents with a leisure card pay
half price. Pay by card at the station; cash is not accepted.

## Returning a bike
Return the bike to any park's station before it closes. A bike returned late costs an
extra hour.
"""
SCREENSHOTS = ROOT / "results" / "screenshots"
KNOWLEDGE = "/review/admin/knowledge"
#: The first ingest loads the embedding model in the web process (a few seconds).
JOB_TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The web app's folder: its SQLite file, and its data folder (``CODESIGN_VAR_DIR``)."""
    return tmp_path_factory.mktemp("admin-pages")


@pytest.fixture(scope="module")
def web(workdir: Path) -> Iterator[WebServer]:
    """The web app alone, on a fresh SQLite store with one admin."""
    with web_alone(workdir, [(ADMIN[0], "admin", ADMIN[1])], "web-admin-pages.log") as server:
        yield server


def database_url(workdir: Path) -> str:
    return f"sqlite:///{workdir / 'codesign.db'}"


def stored_passages(workdir: Path) -> dict[str, int]:
    """Path -> passage count of the stored documents of the test's collection."""
    with session_scope(database_url(workdir)) as session:
        rows = session.execute(
            select(KnowledgeDocument.path, func.count(KnowledgePassage.id))
            .join(KnowledgePassage, KnowledgePassage.document_id == KnowledgeDocument.id,
                  isouter=True)
            .where(KnowledgeDocument.collection == COLLECTION)
            .group_by(KnowledgeDocument.path))
        return {path: int(count) for path, count in rows}


def found(workdir: Path, query: str) -> set[str]:
    """The documents a search of the live index finds (a fresh searcher, as a new action
    server would use)."""
    return {hit.passage.document
            for hit in KnowledgeSearcher(workdir).search(query, [COLLECTION], k=5)}


def report(axe: dict[str, list[str]]) -> str:
    return "\n".join(f"{where}:\n  " + "\n  ".join(issues) for where, issues in axe.items())


# ---------------------------------------------------------------------------- Knowledge
def test_upload_a_document_watch_the_job_then_remove_it(web: WebServer, workdir: Path,
                                                        browser: Browser,
                                                        tmp_path: Path) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    document = tmp_path / "bike-hire.md"
    document.write_text(BIKE_HIRE_MD, encoding="utf-8")
    axe: dict[str, list[str]] = {}
    with review_tab(browser) as (tab, checks):
        sign_in(tab, f"{web.url}/review", ADMIN)
        tab.get_by_role("navigation", name="Review area").get_by_role(
            "link", name="Knowledge", exact=True).click()
        expect(tab.get_by_role("heading", name="Knowledge", level=1)).to_be_visible()
        expect(tab.get_by_text("No documents yet")).to_be_visible()
        axe["knowledge, empty"] = checks.serious_axe_violations()

        # What happens in the tab from now on, in order: the page's script polling a job's
        # progress (GET /review/jobs/<id>), documents loaded, forms sent to remove.
        events: list[tuple[str, str]] = []
        tab.on("request", lambda request: events.append(("poll", request.url))
               if "/review/jobs/" in request.url and request.method == "GET"
               and request.headers.get("accept") == "application/json" else None)
        tab.on("request", lambda request: events.append(("remove", request.method))
               if request.url.endswith("/knowledge/remove") else None)
        tab.on("framenavigated", lambda frame: events.append(("load", frame.url))
               if frame == tab.main_frame else None)

        tab.get_by_label("Collection", exact=True).fill(COLLECTION)
        tab.get_by_label("Files", exact=True).set_input_files(document)
        tab.get_by_role("button", name="Upload and add to the collection").click()

        # The progress view: the job runs (the web process loads the embedding model).
        expect(tab).to_have_url(re.compile(rf"{re.escape(web.url + KNOWLEDGE)}\?job=[\w-]+$"))
        job_id = tab.url.rsplit("=", 1)[1]
        box = tab.locator("#job")
        expect(box).to_have_attribute("data-job-url", f"/review/jobs/{job_id}")
        expect(box.get_by_role("status")).to_contain_text("Adding documents:")
        expect(box.locator("progress")).to_be_visible()
        tab.screenshot(path=str(SCREENSHOTS / "review-knowledge-progress.png"), full_page=True)

        # The page's script polls the job and, when it has ended, loads the page with the
        # result: the test does not reload (and <noscript> refreshes are off with scripts).
        done = box.get_by_role("status")
        expect(done).to_contain_text(f"Collection {COLLECTION}: 1 document added, 0 updated, "
                                     "0 unchanged;", timeout=JOB_TIMEOUT_MS)
        expect(box.locator("progress")).to_have_count(0)
        expect(box).not_to_contain_text("This page updates itself")
        expect(tab).to_have_url(f"{web.url}{KNOWLEDGE}?job={job_id}")
        view = ("load", f"{web.url}{KNOWLEDGE}?job={job_id}")
        poll = ("poll", f"{web.url}/review/jobs/{job_id}")
        # Loaded twice: after the upload (progress), then by the script (result).
        loads = [i for i, event in enumerate(events) if event == view]
        assert len(loads) == 2, events
        assert poll in events[loads[0]:loads[1]] and set(events[loads[0]:]) == {view, poll}, \
            events

        # The document is listed with its passage count (that of the store and the result).
        stored = stored_passages(workdir)
        assert list(stored) == ["bike-hire.md"], stored
        passages = stored["bike-hire.md"]
        assert passages >= 2, stored  # three sections under one title
        expect(done).to_contain_text(f"{passages} passages embedded, 0 reused.")
        section = tab.get_by_role("region", name=f"Collection {COLLECTION}")
        expect(section.locator("caption")).to_have_text(
            f"Documents in {COLLECTION} (1 document, {passages} passages)")
        row = section.get_by_role("row", name=re.compile(re.escape(TITLE)))
        expect(row).to_have_count(1)
        expect(row.get_by_role("rowheader")).to_have_text(TITLE)
        expect(row.locator("td").nth(0)).to_have_text("bike-hire.md (uploaded here)")
        expect(row.locator("td").nth(1)).to_have_text("markdown")
        expect(row.locator("td.num")).to_have_text(str(passages))
        summary = tab.get_by_role("row", name=re.compile(rf"^{COLLECTION}\b"))
        expect(summary.locator("td.num")).to_have_text(["1", str(passages)])
        axe["knowledge, document added"] = checks.serious_axe_violations()
        tab.screenshot(path=str(SCREENSHOTS / "review-knowledge.png"), full_page=True)

        # The live index under the app's data folder finds it.
        assert found(workdir, "bike hire") == {"bike-hire.md"}
        kept = workdir / "knowledge-uploads" / COLLECTION / "bike-hire.md"
        assert kept.read_text(encoding="utf-8") == BIKE_HIRE_MD

        # Remove asks first; dismissing keeps the document (nothing is sent).
        asked: list[str] = []

        def answer(accept: bool) -> None:
            def handle(dialog: Dialog) -> None:
                asked.append(f"{dialog.type}: {dialog.message}")
                if accept:
                    dialog.accept()
                else:
                    dialog.dismiss()
            tab.once("dialog", handle)

        remove = row.get_by_role("button", name=f"Remove {TITLE} (bike-hire.md)")
        question = f"confirm: Remove {TITLE} from {COLLECTION}? The bot will no longer cite it."
        answer(accept=False)
        before = len(events)
        remove.click()
        assert asked == [question]
        assert events[before:] == []  # no form sent, no page loaded
        expect(tab).to_have_url(f"{web.url}{KNOWLEDGE}?job={job_id}")
        expect(row).to_have_count(1)
        assert stored_passages(workdir) == {"bike-hire.md": passages}

        # Accepting removes it: off the page, out of the store, the index and the uploads.
        answer(accept=True)
        remove.click()
        assert asked == [question, question]
        expect(tab).to_have_url(f"{web.url}{KNOWLEDGE}")
        expect(tab.locator(".flashes")).to_have_text(
            f"Removed “{TITLE}” (bike-hire.md) from collection {COLLECTION} and deleted its "
            "uploaded file.")
        expect(tab.get_by_role("row", name=re.compile(re.escape(TITLE)))).to_have_count(0)
        expect(tab.get_by_role("region", name=f"Collection {COLLECTION}")).to_have_count(0)
        expect(tab.get_by_text("No documents yet")).to_be_visible()
        assert events[before:] == [("remove", "POST"), ("load", f"{web.url}{KNOWLEDGE}")]
        assert stored_passages(workdir) == {}
        assert found(workdir, "bike hire") == set()
        assert not kept.exists()
        axe["knowledge, document removed"] = checks.serious_axe_violations()

    problems = {where: issues for where, issues in axe.items() if issues}
    assert not problems, report(problems)


# ---------------------------------------------------------------------------- Users
def test_add_a_reviewer_who_changes_their_password_then_an_admin_resets_it(
        web: WebServer, browser: Browser) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    axe: dict[str, list[str]] = {}
    with review_tab(browser) as (admin, admin_checks), \
            review_tab(browser) as (reviewer, reviewer_checks):
        # The admin adds the reviewer with the keyboard: labelled fields, Tab, Enter.
        sign_in(admin, f"{web.url}/review/admin/users", ADMIN)
        expect(admin.get_by_role("heading", name="Users", level=1)).to_be_visible()
        expect(admin.get_by_role("row", name=re.compile(re.escape(ADMIN[0])))).to_contain_text(
            "(you)")
        axe["users"] = admin_checks.serious_axe_violations()
        admin.get_by_label("E-mail address").focus()
        admin.keyboard.type(NEW_REVIEWER)
        admin.keyboard.press("Tab")  # into the role group, on the checked role
        reviewer_role = admin.get_by_role("radio", name=re.compile("^reviewer:"))
        expect(reviewer_role).to_be_focused()
        expect(reviewer_role).to_be_checked()
        admin.keyboard.press("Tab")
        expect(admin.get_by_label("Initial password")).to_be_focused()
        admin.keyboard.type(PASSWORDS["initial"])
        admin.keyboard.press("Tab")
        expect(admin.get_by_label("The same password again")).to_be_focused()
        admin.keyboard.type(PASSWORDS["initial"])
        admin.keyboard.press("Enter")
        expect(admin.locator(".flashes")).to_contain_text(
            f"Added {NEW_REVIEWER} as reviewer.")
        expect(admin).to_have_url(f"{web.url}/review/admin/users")
        added = admin.get_by_role("row", name=re.compile(re.escape(NEW_REVIEWER)))
        expect(added.locator("td")).to_have_text(["reviewer", "active", "no", "never", "0"])
        axe["users, user added"] = admin_checks.serious_axe_violations()
        admin.screenshot(path=str(SCREENSHOTS / "review-users.png"), full_page=True)

        # The reviewer (another browser context) signs in and changes their password.
        sign_in(reviewer, f"{web.url}/review", (NEW_REVIEWER, PASSWORDS["initial"]))
        expect(reviewer.get_by_role("heading", name="Consultations", exact=True)).to_be_visible()
        expect(reviewer.get_by_role("link", name="Users")).to_have_count(0)  # not an admin
        reviewer.get_by_role("link", name="Change password").click()
        expect(reviewer.get_by_role("heading", name="Change your password")).to_be_visible()
        expect(reviewer.get_by_role("main")).to_contain_text(
            f"You are signed in as {NEW_REVIEWER} (reviewer)")
        axe["account password"] = reviewer_checks.serious_axe_violations()
        reviewer.get_by_label("Current password").focus()
        reviewer.keyboard.type(PASSWORDS["initial"])
        reviewer.keyboard.press("Tab")
        expect(reviewer.get_by_label("New password", exact=True)).to_be_focused()
        reviewer.keyboard.type(PASSWORDS["own"])
        reviewer.keyboard.press("Tab")
        expect(reviewer.get_by_label("The new password again")).to_be_focused()
        reviewer.keyboard.type(PASSWORDS["own"])
        reviewer.keyboard.press("Enter")
        expect(reviewer.locator(".flashes")).to_contain_text("Your password has been changed")
        expect(reviewer).to_have_url(f"{web.url}/review")
        reviewer.goto(f"{web.url}/review/account/password")  # still signed in
        expect(reviewer.get_by_role("heading", name="Change your password")).to_be_visible()

        # The admin resets the reviewer's password on the user's page.
        admin.reload()
        admin.get_by_role("link", name=NEW_REVIEWER, exact=True).click()
        expect(admin.get_by_role("heading", name=f"User {NEW_REVIEWER}", level=1)).to_be_visible()
        last_sign_in = admin.locator("dl.facts > div", has_text="Last sign-in").locator("dd")
        expect(last_sign_in).to_have_text(re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d$"))
        axe["user"] = admin_checks.serious_axe_violations()
        admin.get_by_label("New password", exact=True).fill(PASSWORDS["reset"])
        admin.get_by_label("The same password again").fill(PASSWORDS["reset"])
        admin.get_by_role("button", name="Reset the password").click()
        expect(admin.locator(".flashes")).to_have_text(
            f"Set a new password for {NEW_REVIEWER}. Give it to them in a safe way.")

        # The reviewer's next page load asks them to sign in, and the reset password works
        # (the login page sends them back to the page they were on).
        reviewer.reload()
        expect(reviewer.get_by_role("heading", name="Sign in to review")).to_be_visible()
        expect(reviewer).to_have_url(re.compile(r"/review/login\?"))
        reviewer.get_by_label("E-mail address").fill(NEW_REVIEWER)
        reviewer.get_by_label("Password").fill(PASSWORDS["reset"])
        reviewer.get_by_role("button", name="Sign in").click()
        expect(reviewer.get_by_role("heading", name="Change your password")).to_be_visible()
        expect(reviewer).to_have_url(f"{web.url}/review/account/password")

    problems = {where: issues for where, issues in axe.items() if issues}
    assert not problems, report(problems)
