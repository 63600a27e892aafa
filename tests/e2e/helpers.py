"""Helpers of the end-to-end tests: database checks, the Telegram bridge, and the web app
alone (no Rasa) driven in Chromium by signed-in staff."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Page, expect
from sqlalchemy import func, select, text

from bot.accounts.users import create_user
from bot.devtools.bridge import BridgeThread
from bot.devtools.fake_telegram import FakeTelegram
from bot.devtools.stack import ROOT, Stack
from bot.devtools.web import WebServer
from bot.store.db import migrate, session_scope
from bot.store.models import Answer, Participant, Participation, Question
from bot.store.pseudonym import participant_key
from bot.telegram.config import TelegramConfig
from bot.telegram.guards import ChatRateLimiter
from tests.e2e.webchat import ChatPage

#: Records the page's Content-Security-Policy violations in ``window.__csp`` and reports
#: each to the test through ``window.__codesignCsp`` when the test exposed it (Playwright
#: injects this over the DevTools protocol, so the policy does not block it).
RECORD_CSP = """window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  const text = `${e.violatedDirective} ${e.blockedURI}`;
  window.__csp.push(text);
  if (typeof window.__codesignCsp === "function") window.__codesignCsp(text);
});"""


def key_of(sender: str, channel: str = "rest") -> str:
    """The pseudonymous key the action server derives for a REST sender."""
    return participant_key(os.environ["CODESIGN_SECRET_KEY"].encode(), channel, sender)


def answers_of(database_url: str, sender: str, channel: str = "rest") -> dict[str, Any]:
    """Question id -> (status, value) for the sender's latest participation."""
    with session_scope(database_url) as session:
        participation = session.scalar(
            select(Participation).where(Participation.participant_id == key_of(sender, channel))
            .order_by(Participation.id.desc()).limit(1))
        if participation is None:
            return {}
        rows = session.execute(select(Question.key, Answer.status, Answer.value)
                               .join(Answer, Answer.question_id == Question.id)
                               .where(Answer.participation_id == participation.id))
        return {key: (status, value) for key, status, value in rows}


def participation_of(database_url: str, sender: str,
                     channel: str = "rest") -> Participation | None:
    """The sender's latest participation."""
    with session_scope(database_url) as session:
        return session.scalar(
            select(Participation).where(Participation.participant_id == key_of(sender, channel))
            .order_by(Participation.id.desc()).limit(1))


def rows_mentioning(database_url: str, sender: str) -> dict[str, int]:
    """Rows about a sender in the app tables and the Rasa tracker store."""
    key = key_of(sender)
    with session_scope(database_url) as session:
        participations = select(Participation.id).where(Participation.participant_id == key)
        counts = {
            "participants": session.scalar(select(func.count()).select_from(Participant)
                                           .where(Participant.id == key)),
            "participations": session.scalar(select(func.count()).select_from(Participation)
                                             .where(Participation.participant_id == key)),
            "answers": session.scalar(select(func.count()).select_from(Answer)
                                      .where(Answer.participation_id.in_(participations))),
            "tracker_events": session.execute(
                text("SELECT count(*) FROM events WHERE sender_id = :s"), {"s": sender}
            ).scalar_one(),
        }
    return {name: int(value or 0) for name, value in counts.items()}


@contextmanager
def polling_bridge(telegram: FakeTelegram, database_url: str, rasa_url: str,
                   folder: Path) -> Iterator[BridgeThread]:
    """The Telegram bridge in this process, polling the fake Bot API, relaying to
    ``rasa_url`` and pushing published outcomes from ``database_url`` every half second."""
    config = TelegramConfig(token=telegram.token,
                            secret_key=os.environ["CODESIGN_SECRET_KEY"].encode(),
                            rasa_url=rasa_url, api_base_url=telegram.base_url,
                            outbox_path=folder / "outbox.sqlite3", database_url=database_url,
                            contacts_path=folder / "contacts.sqlite3", notify_interval=0.5)
    # The tests answer at machine speed; the default flood limit is for people.
    limiter = ChatRateLimiter(burst=100, per_minute=600)
    with BridgeThread(config, retry_interval=0.5, limiter=limiter) as running:
        yield running


# ---------------------------------------------------------------------------- web app alone
@contextmanager
def web_alone(workdir: Path, staff: Iterable[tuple[str, str, str]],
              log_name: str) -> Iterator[WebServer]:
    """The web app alone (``python -m bot.web``, no Rasa) on a fresh SQLite store in
    ``workdir``, which is also its data folder (``CODESIGN_VAR_DIR``: knowledge index,
    uploads), with the staff accounts ``(e-mail, role, password)``."""
    url = f"sqlite:///{workdir / 'codesign.db'}"
    migrate(url)
    with session_scope(url) as session:
        for email, role, password in staff:
            create_user(session, email, role, password)
    env = dict(os.environ)
    env.update(DATABASE_URL=url, PYTHONPATH=str(ROOT), CODESIGN_VAR_DIR=str(workdir),
               HF_HUB_OFFLINE="1")
    with running_web(env, workdir / "logs" / log_name) as server:
        yield server


@contextmanager
def web_on_stack(stack: Stack, log_name: str) -> Iterator[WebServer]:
    """The web app on the stack's database, pointing the chat widget at its Rasa."""
    env = stack.env()
    env["RASA_PUBLIC_URL"] = stack.rasa_url
    with running_web(env, stack.workdir / "logs" / log_name) as server:
        yield server


@contextmanager
def running_web(env: dict[str, str], log: Path) -> Iterator[WebServer]:
    """``python -m bot.web`` on a free port with ``env``, stopped afterwards."""
    server = WebServer(env, log)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def review_tab(browser: Browser) -> Iterator[tuple[Page, ChatPage]]:
    """A tab in a fresh browser context (its own cookies: one signed-in person).

    Console errors, uncaught exceptions and Content-Security-Policy violations on any page
    it loads are collected in the ``ChatPage``'s ``problems``; when the block ends without
    an exception there must be none.
    """
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    checks: ChatPage | None = None

    def csp_violation(text: str) -> None:
        if checks is not None:
            checks.problems.append(f"CSP violation: {text}")

    context.expose_function("__codesignCsp", csp_violation)
    context.add_init_script(RECORD_CSP)
    tab = context.new_page()
    checks = ChatPage(tab)
    try:
        yield tab, checks
    finally:
        context.close()
    assert not checks.problems, "\n".join(checks.problems)


def sign_in(tab: Page, url: str, who: tuple[str, str]) -> None:
    """Open ``url`` of the review area while signed out and sign in on the page it leads to
    (the login page sends the browser back to ``url``)."""
    tab.goto(url)
    expect(tab.get_by_role("heading", name="Sign in to review")).to_be_visible()
    tab.get_by_label("E-mail address").fill(who[0])
    tab.get_by_label("Password").fill(who[1])
    tab.get_by_role("button", name="Sign in").click()
    expect(tab.get_by_role("heading", name="Sign in to review")).to_have_count(0)
