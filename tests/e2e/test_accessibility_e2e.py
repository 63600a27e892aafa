"""The claims of the accessibility statement (``/accessibility``), checked in Debian's
Chromium against the real servers.

Each test backs one or more claims of the statement's "Preparation" section:

* axe-core with the ``wcag2a``, ``wcag2aa``, ``wcag21aa`` and ``wcag22aa`` tags finds no
  violation (of any impact) on every public and staff page at 1280 and 320 CSS px wide,
  nor on the page with the chat open at each step of a consultation;
* no sideways scrolling at 200 % zoom (a 1280 × 800 window zoomed to 200 % lays pages out
  in a 640 × 400 CSS-px viewport: the method here is that viewport with
  ``deviceScaleFactor`` 2) and at 320 CSS px (reflow, WCAG 1.4.10);
* the keyboard focus is visible and not hidden by the open chat panel (2.4.7, 2.4.11);
* targets are at least 24 × 24 CSS px or spaced so (2.5.8);
* the staff sign-in needs no cognitive function test (3.3.8);
* the chat log is a live region and new bot messages land in it (4.1.3).

Keyboard-only completion of a consultation is ``test_keyboard_only`` in
``test_web_e2e.py``. One browser; one tab per width.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from bot.accounts.users import create_user
from bot.devtools.stack import Stack
from bot.devtools.web import AXE_JS, WebServer
from bot.store.db import session_scope
from bot.store.models import Consultation, ConsultationVersion, Participation
from bot.store.review_models import User
from tests.e2e.helpers import web_on_stack
from tests.e2e.webchat import ChatPage

pytestmark = pytest.mark.e2e

LIBRARY = "library-hours-2027"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21aa", "wcag22aa"]
WIDE = {"width": 1280, "height": 800}
NARROW = {"width": 320, "height": 640}
#: 200 % zoom of a 1280 × 800 window: the same CSS-px layout viewport as this, drawn at 2×.
ZOOMED = {"width": 640, "height": 400}
#: A small laptop: the open chat panel sits beside the page, not over it.
MEDIUM = {"width": 1024, "height": 700}
ADMIN = ("a11y-admin@council.example", "a11y-admin-password-2026")
PUBLIC_PAGES = ["/", f"/c/{LIBRARY}", f"/c/{LIBRARY}/privacy", "/accessibility"]
NOT_FOUND_PAGE = "/c/no-such-consultation"

_SETTLED = ("() => document.getAnimations().every(a => !(a instanceof CSSTransition)"
            " || a.playState !== 'running')")

#: Buttons, links and form fields the user can see and operate, with their boxes (page
#: coordinates), and whether each is a link inside a sentence (exempt from 2.5.8).
_TARGETS = """() => {
  const out = [];
  const selector = 'a[href], button, input:not([type=hidden]), select, textarea, summary,'
    + ' [role=button], [tabindex]:not([tabindex="-1"])';
  for (const el of document.querySelectorAll(selector)) {
    if (el.matches('[role=log]')) continue;  // a scrollable region, not a control
    const r = el.getBoundingClientRect();
    const style = getComputedStyle(el);
    if (r.width === 0 || r.height === 0 || style.visibility === 'hidden') continue;
    // Off the page until focused (the skip link).
    if (r.bottom + window.scrollY <= 0 || r.right + window.scrollX <= 0) continue;
    let inline = false;
    if (el.tagName === 'A' && style.display === 'inline') {
      let block = el.parentElement;
      while (block && getComputedStyle(block).display === 'inline') block = block.parentElement;
      inline = !!block && block.textContent.trim().length > el.textContent.trim().length;
    }
    out.push({name: el.outerHTML.slice(0, 90), inline: inline,
              x: r.left + window.scrollX, y: r.top + window.scrollY, w: r.width, h: r.height});
  }
  return out;
}"""

#: The element with the keyboard focus: its focus indicator, and whether the open chat
#: panel covers the centre of its box while it is not part of the panel.
_FOCUSED = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const style = getComputedStyle(el);
  const outline = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0;
  const shadow = style.boxShadow !== 'none';
  const r = el.getBoundingClientRect();
  const panel = document.querySelector('.cs-panel');
  const top = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
  const covered = !!panel && !panel.contains(el) && !!top && panel.contains(top);
  return {name: el.outerHTML.slice(0, 90), indicator: outline || shadow, covered: covered,
          inPanel: !!panel && panel.contains(el)};
}"""


def axe_violations(page: Page) -> list[str]:
    """Every axe-core violation of the WCAG 2.x A/AA tags on the page as it is now."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE_JS.read_text(encoding="utf-8"))  # over CDP: the CSP stays on
    page.mouse.move(0, 0)
    page.wait_for_function(_SETTLED, timeout=10_000)
    result: dict[str, Any] = page.evaluate(
        "(tags) => axe.run(document, {runOnly: {type: 'tag', values: tags}})", AXE_TAGS)
    assert len(result["passes"]) >= 10, "axe-core checked next to nothing"
    return [f"{v['impact']}: {v['id']} ({v['help']}) at "
            + ", ".join(str(node["target"]) for node in v["nodes"])
            for v in result["violations"]]


def overflow(page: Page) -> int:
    """CSS px the document is wider than the viewport (0: no sideways scrolling)."""
    value: int = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
    return value


def small_targets(page: Page) -> list[str]:
    """Targets under 24 × 24 CSS px without the spacing WCAG 2.5.8 allows instead: a 24-px
    circle centred on each undersized target may not reach another target, nor the circle
    of another undersized target. Links inside a sentence are exempt."""
    targets = [t for t in page.evaluate(_TARGETS) if not t["inline"]]
    assert targets, "no target found on the page"
    problems = []
    for target in targets:
        if target["w"] >= 23.5 and target["h"] >= 23.5:  # sub-pixel rounding
            continue
        cx, cy = target["x"] + target["w"] / 2, target["y"] + target["h"] / 2
        for other in targets:
            if other is target:
                continue
            dx = max(other["x"] - cx, 0, cx - other["x"] - other["w"])
            dy = max(other["y"] - cy, 0, cy - other["y"] - other["h"])
            undersized = other["w"] < 23.5 or other["h"] < 23.5
            ox, oy = other["x"] + other["w"] / 2, other["y"] + other["h"] / 2
            if (dx * dx + dy * dy) ** 0.5 < 12 or \
                    (undersized and ((ox - cx) ** 2 + (oy - cy) ** 2) ** 0.5 < 24):
                problems.append(f"{target['name']} ({target['w']:.0f}×{target['h']:.0f}) "
                                f"too close to {other['name']}")
                break
    return problems


def report(found: dict[str, list[str]]) -> str:
    return "\n".join(f"{where}:\n  " + "\n  ".join(issues)
                     for where, issues in found.items() if issues)


@pytest.fixture(scope="module")
def web(stack: Stack) -> Iterator[WebServer]:
    """The web app on the stack's database, its chat pointing at the stack's Rasa."""
    with web_on_stack(stack, "web-accessibility.log") as server:
        yield server


@pytest.fixture(scope="module")
def admin(stack: Stack) -> tuple[str, str]:
    """An admin account (sees every staff page)."""
    with session_scope(stack.database_url) as session:
        create_user(session, ADMIN[0], "admin", ADMIN[1])
    return ADMIN


@pytest.fixture(scope="module")
def tabs(browser: Browser) -> Iterator[dict[str, ChatPage]]:
    """One tab per width, each in its own context (cookies: sign in once per width)."""
    made: dict[str, ChatPage] = {}
    contexts = []
    for name, viewport, scale in (("wide", WIDE, 1), ("narrow", NARROW, 1),
                                  ("zoomed", ZOOMED, 2), ("medium", MEDIUM, 1)):
        context = browser.new_context(viewport=viewport,  # type: ignore[arg-type]
                                      device_scale_factor=scale)
        context.grant_permissions(["clipboard-read", "clipboard-write"])
        contexts.append(context)
        made[name] = ChatPage(context.new_page())
    yield made
    for context in contexts:
        context.close()
    problems = [p for tab in made.values() for p in tab.problems]
    assert not problems, "\n".join(problems)


def open_public(tab: ChatPage, url: str, path: str) -> None:
    """Open a public page (the error page answers 404); wait for a chat that opens itself."""
    if path == NOT_FOUND_PAGE:
        tab.goto_not_found(url + path)
        return
    response = tab.page.goto(url + path)
    assert response is not None and response.status == 200, path
    if path == f"/c/{LIBRARY}":
        tab.wait_ready()
        tab.page.wait_for_selector(".cs-msg.cs-bot", timeout=60_000)


# ---------------------------------------------------------------------------- the chat
def test_chat_at_each_step_axe_live_region_targets(stack: Stack, web: WebServer,
                                                   tabs: dict[str, ChatPage]) -> None:
    """Welcome, consent, one question of each type, summary and end: axe finds nothing, the
    targets are big enough, and each new bot message lands in the polite live region."""
    chat, page = tabs["wide"], tabs["wide"].page
    found: dict[str, list[str]] = {}
    page.goto(web.url)
    page.get_by_role("button", name="Chat with us").click()
    chat.wait_ready()
    log = page.get_by_role("log")
    assert log.get_attribute("aria-live") == "polite"
    assert page.locator(".cs-panel [role=log]").count() == 1
    # Record bot messages as they are added to the document, and where.
    page.evaluate("""() => {
      window.__botAdded = [];
      new MutationObserver(records => records.forEach(r => r.addedNodes.forEach(n => {
        if (n.nodeType === 1 && n.matches('.cs-msg.cs-bot')) {
          window.__botAdded.push(!!n.closest('[role=log][aria-live=polite]'));
        }
      }))).observe(document.body, {childList: true, subtree: true});
    }""")
    chat.wait_bot("Which one would you like")
    found["welcome"] = axe_violations(page) + small_targets(page)
    chat.press("Shaping our library", "Do you agree to take part?")
    found["consent"] = axe_violations(page) + small_targets(page)
    chat.press("Yes, I agree", "Question 1 of 8")
    found["single choice"] = axe_violations(page) + small_targets(page)
    chat.press("A few times a year", "Question 2 of 8")
    found["open"] = axe_violations(page) + small_targets(page)
    chat.say("The library closes before I finish work", "Question 3 of 8")
    chat.press("Evenings", "Selected so far: Evenings")
    found["multiple choice"] = axe_violations(page) + small_targets(page)
    chat.press("Done", "Question 4 of 8")
    found["scale"] = axe_violations(page) + small_targets(page)
    chat.say("4", "Question 5 of 8")
    chat.say("2", "Question 6 of 8")
    chat.say("borrowing books, study space", "Question 7 of 8")
    chat.say("Studying in the evenings", "Question 8 of 8")
    chat.say("Please keep the quiet room open late", "quote your words")
    chat.press("Yes, you may quote me", "summary of your answers")
    found["summary"] = axe_violations(page) + small_targets(page)
    chat.press("Submit", "What happens next")
    found["done"] = axe_violations(page) + small_targets(page)
    assert not report(found), report(found)

    added: list[bool] = page.evaluate("() => window.__botAdded")
    assert len(added) >= 12 and all(added), added
    assert all(page.evaluate("""() => [...document.querySelectorAll('.cs-msg.cs-bot')]
        .map(m => !!m.closest('[role=log]'))"""))
    assert "What happens next" in (log.text_content() or "")


# ---------------------------------------------------------------------------- public pages
def test_public_pages_axe_reflow_zoom_targets(web: WebServer,
                                              tabs: dict[str, ChatPage]) -> None:
    found: dict[str, list[str]] = {}
    for width in ("wide", "narrow", "zoomed"):
        tab = tabs[width]
        for path in [*PUBLIC_PAGES, NOT_FOUND_PAGE]:
            open_public(tab, web.url, path)
            where = f"{width} {path}"
            if width != "zoomed":
                found[f"{where} axe"] = axe_violations(tab.page)
                found[f"{where} targets"] = small_targets(tab.page)
            if width != "wide":
                px = overflow(tab.page)
                found[f"{where} reflow"] = [f"scrolls sideways by {px}px"] if px > 0 else []
    assert not report(found), report(found)


def test_statement_is_linked_from_footers_and_chat(web: WebServer,
                                                   tabs: dict[str, ChatPage]) -> None:
    page = tabs["wide"].page
    for path in ["/", f"/c/{LIBRARY}/privacy", "/review/login"]:
        page.goto(web.url + path)
        link = page.locator("footer").get_by_role("link", name="Accessibility statement")
        assert link.get_attribute("href") == "/accessibility", path
    page.goto(f"{web.url}/c/{LIBRARY}")
    link = page.locator(".cs-panel").get_by_role("link", name="Accessibility")
    link.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Accessibility statement")
    expect(page.get_by_text("partially compliant")).to_be_visible()


# ---------------------------------------------------------------------------- focus
def test_focus_visible_and_not_obscured_by_the_chat(web: WebServer,
                                                    tabs: dict[str, ChatPage]) -> None:
    """Tab through public pages with the chat open, at 1280, 1024 and 320 px and at 200 %
    zoom: every focused element shows an indicator, and the chat panel does not cover it
    (where the panel takes the whole screen, the page behind it is inert)."""
    problems: list[str] = []
    for width in ("wide", "medium", "narrow", "zoomed"):
        tab = tabs[width]
        page = tab.page
        for path in [f"/c/{LIBRARY}", "/", "/accessibility"]:
            open_public(tab, web.url, path)
            if page.locator(".cs-panel").is_hidden():
                page.locator(".cs-launcher").click()
                tab.wait_ready()
            page.evaluate("() => document.activeElement && document.activeElement.blur()")
            page.evaluate("() => window.scrollTo(0, 0)")
            seen: list[str] = []
            for _ in range(120):
                page.keyboard.press("Tab")
                focused = page.evaluate(_FOCUSED)
                if focused is None:
                    continue
                if focused["name"] in seen[:1]:
                    break  # round the page once
                seen.append(focused["name"])
                if not focused["indicator"]:
                    problems.append(f"{width} {path}: no focus indicator on {focused['name']}")
                if focused["covered"]:
                    problems.append(f"{width} {path}: the chat covers {focused['name']}")
            assert len(seen) >= 5, f"{width} {path}: Tab reached only {seen}"
    assert not problems, "\n".join(problems)


# ---------------------------------------------------------------------------- staff pages
def staff_pages(database_url: str) -> list[str]:
    with session_scope(database_url) as session:
        participation = session.scalar(
            select(Participation.id)
            .join(ConsultationVersion, ConsultationVersion.id == Participation.version_id)
            .join(Consultation, Consultation.id == ConsultationVersion.consultation_id)
            .where(Consultation.slug == LIBRARY).order_by(Participation.id.desc()).limit(1))
        user = session.scalar(select(User.id).where(User.email == ADMIN[0]))
    assert participation is not None, "no conversation in the library consultation yet"
    review = f"/review/c/{LIBRARY}"
    return ["/review", review, f"{review}/q/visits", f"{review}/transcripts",
            f"{review}/transcripts/{participation}", f"{review}/q/barriers/themes",
            "/review/gaps", "/review/admin/knowledge", "/review/admin/users",
            "/review/account/tokens", "/review/audit", "/review/account/password",
            # and the other pages staff use.
            f"{review}/gaps", f"{review}/participants", f"{review}/edit",
            "/review/admin/consultations/new", f"/review/admin/users/{user}",
            # taking a response (its first step), and a Who took part page with profiles.
            f"{review}/take", "/review/c/park-redesign-2027/participants"]


def sign_in_by_pasting(page: Page, url: str, who: tuple[str, str]) -> None:
    """Sign in with the e-mail typed and the password pasted (as a password manager or a
    person copying it would)."""
    page.goto(f"{url}/review/login")
    page.get_by_label("E-mail address").fill(who[0])
    page.evaluate("(text) => navigator.clipboard.writeText(text)", who[1])
    page.get_by_label("Password").focus()
    page.keyboard.press("ControlOrMeta+V")
    assert page.get_by_label("Password").input_value() == who[1], "pasting was blocked"
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Sign in to review")).to_have_count(0)


def test_staff_sign_in_needs_no_cognitive_test(web: WebServer, admin: tuple[str, str],
                                               tabs: dict[str, ChatPage]) -> None:
    page = tabs["zoomed"].page
    page.goto(f"{web.url}/review/login")
    assert overflow(page) == 0
    form = page.locator("form[action='/review/login']")
    assert form.locator("iframe, img, canvas, [class*=captcha i], [id*=captcha i]").count() == 0
    assert form.locator("input:not([type=hidden])").count() == 2  # e-mail and password only
    assert page.get_by_label("E-mail address").get_attribute("autocomplete") == "username"
    password = page.get_by_label("Password")
    assert password.get_attribute("autocomplete") == "current-password"
    assert password.get_attribute("onpaste") is None
    sign_in_by_pasting(page, web.url, admin)


def test_staff_pages_axe_reflow_zoom(stack: Stack, web: WebServer, admin: tuple[str, str],
                                     tabs: dict[str, ChatPage]) -> None:
    pages = staff_pages(stack.database_url)
    found: dict[str, list[str]] = {}
    for width in ("wide", "narrow", "zoomed"):
        page = tabs[width].page
        page.goto(f"{web.url}/review/login")
        if page.get_by_role("heading", name="Sign in to review").count():
            found[f"{width} login axe"] = axe_violations(page)
            px = overflow(page) if width == "narrow" else 0
            found[f"{width} login reflow"] = [f"scrolls sideways by {px}px"] if px else []
            sign_in_by_pasting(page, web.url, admin)
        for path in pages:
            response = page.goto(web.url + path)
            assert response is not None and response.status == 200, path
            if width != "zoomed":
                found[f"{width} {path} axe"] = axe_violations(page)
            if width != "wide":
                px = overflow(page)
                found[f"{width} {path} reflow"] = [f"scrolls sideways by {px}px"] if px else []
    assert not report(found), report(found)
