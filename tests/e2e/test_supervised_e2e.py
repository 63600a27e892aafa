"""The embedded default as `make run` runs it, under supervisord: closed by default, a
server that dies or hangs is restarted, and a citizen's message is never silently lost.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser
from sqlalchemy import func, select

from bot.devtools.stack import launch_demo
from bot.devtools.supervised import SupervisedStack
from bot.ops.layout import Mode
from bot.store.db import session_scope
from bot.store.models import TranscriptEntry
from tests.e2e.helpers import answers_of, participation_of
from tests.e2e.webchat import ChatPage

pytestmark = pytest.mark.e2e
RASA_PORT, ACTION_PORT, WEB_PORT = 5205, 5255, 5280
APOLOGY = "can’t take your message right now"


@pytest.fixture(scope="module")
def embedded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SupervisedStack]:
    """`make run`'s programs (Rasa, the action server, the web app, the watchdog) under
    supervisord on SQLite, on ports of their own."""
    workdir: Path = tmp_path_factory.mktemp("embedded")
    url = f"sqlite:///{workdir / 'codesign.db'}"
    launch_demo(url)
    stack = SupervisedStack(Mode.embedded, workdir, url, {
        "CODESIGN_RASA_PORT": str(RASA_PORT), "CODESIGN_ACTION_PORT": str(ACTION_PORT),
        "CODESIGN_WEB_PORT": str(WEB_PORT)})
    stack.start()
    yield stack
    stack.stop()


def listening_addresses(port: int) -> set[str]:
    """The local addresses a TCP server listens on at ``port`` (from ``ss``)."""
    out = subprocess.run(["ss", "-Hltn", f"sport = :{port}"], capture_output=True, text=True,
                         check=True).stdout
    return {line.split()[3].rsplit(":", 1)[0] for line in out.splitlines() if line.strip()}


def test_rasa_and_the_action_server_are_closed_by_default(embedded: SupervisedStack) -> None:
    rasa, action = f"http://127.0.0.1:{RASA_PORT}", f"http://127.0.0.1:{ACTION_PORT}"
    assert listening_addresses(RASA_PORT) == {"127.0.0.1"}
    assert listening_addresses(ACTION_PORT) == {"127.0.0.1"}
    for method, path in [("GET", "/conversations/anyone/tracker"), ("PUT", "/model"),
                         ("GET", "/status"), ("POST", "/conversations/anyone/tracker/events")]:
        answer = httpx.request(method, f"{rasa}{path}", json={})
        assert answer.status_code == 401, (method, path, answer.text)
    token = {"token": embedded.rasa_token}
    assert httpx.get(f"{rasa}/conversations/anyone/tracker", params=token).status_code == 200
    call = {"next_action": "action_welcome", "sender_id": "x", "tracker": {}, "domain": {}}
    assert httpx.post(f"{action}/webhook", json=call).status_code == 401
    assert httpx.post(f"{action}/webhook", json=call,
                      headers={"Authorization": "Bearer wrong-token-0123456789"}
                      ).status_code == 401
    assert httpx.get(f"{action}/health").status_code == 200
    # The channels stay open without a token.
    chat = embedded.chat()
    assert "consultations are open" in chat.say("hello").text


@pytest.mark.parametrize("name", ["actions-1", "rasa-1"])
def test_a_killed_server_is_restarted(embedded: SupervisedStack, name: str) -> None:
    chat = embedded.chat()
    chat.say("hello")
    chat.press("library")
    chat.press("Yes, I agree")
    old = embedded.kill(name, signal.SIGKILL)
    recovery = embedded.wait_restarted(name, old)
    print(f"{name}: killed with SIGKILL, answering again after {recovery:.1f} s")
    assert "Question 2 of" in chat.say("weekly").text
    assert answers_of(embedded.database_url, chat.sender)["visits"] == \
        ("answered", "Weekly or more")


def test_a_hung_action_server_is_restarted_and_the_widget_sends_the_message_again(
        embedded: SupervisedStack, browser: Browser) -> None:
    """The action server stops answering (SIGSTOP) while a citizen answers in the web
    chat: the citizen is told within Rasa's 10-second limit, the watchdog restarts the
    server, and the widget sends the answer again by itself; it is stored once."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    chat = ChatPage(context.new_page())
    try:
        chat.page.goto(f"http://127.0.0.1:{WEB_PORT}/c/library-hours-2027")
        chat.wait_ready()
        chat.press("Yes, I agree", "Question 1 of")
        old = embedded.kill("actions-1", signal.SIGSTOP)
        sent = time.monotonic()
        chat.input.fill("a few times a year")
        chat.input.press("Enter")
        status = chat.page.locator(".cs-status")
        status.filter(has_text=APOLOGY).wait_for(timeout=30_000)
        told_after = time.monotonic() - sent
        recovery = embedded.wait_restarted("actions-1", old, timeout=120)
        chat.wait_bot("Question 2 of")  # sent again by the widget, no one retyped it
        print(f"hung action server: citizen told after {told_after:.1f} s, server restarted "
              f"after {recovery:.1f} s, answer taken after {time.monotonic() - sent:.1f} s")
        assert told_after < 20
        assert chat.user_texts().count("a few times a year") == 1
        sender = chat.session_id()
        assert answers_of(embedded.database_url, sender, "web")["visits"] == \
            ("answered", "A few times a year")
        participation = participation_of(embedded.database_url, sender, "web")
        assert participation is not None
        with session_scope(embedded.database_url) as session:
            received = session.scalar(
                select(func.count()).select_from(TranscriptEntry).where(
                    TranscriptEntry.participation_id == participation.id,
                    TranscriptEntry.direction == "in",
                    TranscriptEntry.text == "a few times a year"))
        assert received == 1
    finally:
        context.close()
    assert not chat.problems, chat.problems
