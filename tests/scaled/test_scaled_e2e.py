"""The scaled mode end to end: supervised programs, nginx as the only public entry point,
both channels and the Telegram webhook through it, on PostgreSQL and Redis."""

from __future__ import annotations

import itertools
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from bot.devtools.fake_telegram import FakeTelegram
from bot.devtools.stack import ROOT
from bot.devtools.supervised import SupervisedStack
from tests.e2e.helpers import answers_of
from tests.scaled.conftest import WEBHOOK_SECRET
from tests.scaled.socketio_client import SocketChat

pytestmark = pytest.mark.e2e
chat_ids = itertools.count(810_000_001)


def test_every_program_runs_under_supervisord_with_its_pid(scaled: SupervisedStack) -> None:
    status = subprocess.run(
        [str(ROOT / ".venv/bin/supervisorctl"), "-c", str(scaled.workdir / "supervisord.conf"),
         "status"], capture_output=True, text=True, check=False)
    rows = {line.split()[0]: line.split() for line in status.stdout.splitlines() if line}
    for name in ("rasa-1", "rasa-2", "actions-1", "actions-2", "web", "telegram", "nginx",
                 "watchdog"):
        assert rows[name][1] == "RUNNING", status.stdout
        assert rows[name][2] == "pid" and int(rows[name][3].rstrip(",")) > 1, status.stdout


def test_nginx_exposes_the_channels_and_the_web_app_only(scaled: SupervisedStack) -> None:
    public = scaled.rasa_url
    for method, path in [("GET", "/conversations/anyone/tracker"), ("GET", "/status"),
                         ("PUT", "/model"), ("POST", "/conversations/anyone/tracker/events"),
                         ("GET", "/webhook"), ("POST", "/webhook"), ("GET", "/actions")]:
        answer = httpx.request(method, f"{public}{path}", json={})
        assert answer.status_code in (404, 405), (method, path, answer.status_code)
        assert "Rasa" not in answer.text and "tracker" not in answer.text.casefold()
    assert httpx.get(f"{public}/").status_code == 200  # the web app
    layout = scaled.layout
    rasa = f"http://{layout.rasa_upstreams[0]}"
    assert httpx.get(f"{rasa}/status").status_code == 401
    assert httpx.get(f"{rasa}/status", params={"token": scaled.rasa_token}).status_code == 200
    action = f"http://{layout.action_upstreams[0]}"
    assert httpx.post(f"{action}/webhook", json={"next_action": "action_flow"}
                      ).status_code == 401
    assert httpx.get(f"{action}/health").status_code == 200


def test_a_citizen_answers_through_nginx_and_it_is_stored_in_postgresql(
        scaled: SupervisedStack) -> None:
    chat = scaled.chat()
    assert "consultations are open" in chat.say("hello").text
    assert "Privacy" in chat.press("library").text
    assert "Question 1 of" in chat.press("Yes, I agree").text
    assert "Question 2 of 7" in chat.say("weekly").text  # barriers: only for rare visitors
    chat.press("Evenings")
    assert "Question 3 of 7" in chat.press("Done").text
    assert "Question 4 of 7" in chat.say("skip").text  # evenings is optional
    answers = answers_of(scaled.database_url, chat.sender)
    assert answers["visits"] == ("answered", "Weekly or more")
    assert answers["preferred_times"] == ("answered", ["Evenings (after 6pm)"])
    assert answers["evenings"][0] == "skipped"


def test_socketio_long_polling_keeps_each_client_on_one_rasa(
        scaled: SupervisedStack) -> None:
    """Long-polling only: a request landing on the other Rasa process would be refused
    ('Invalid session'), so conversations completing proves the affinity; several
    clients spread over both processes. Fixed affinity values: random ones all landed on
    one process now and then (6 clients: 1 run in 32), which made the spread flaky."""
    chats = [SocketChat(scaled.rasa_url, transports=["polling"], affinity=f"tab-{number}")
             for number in range(8)]
    try:
        for chat in chats:
            assert "consultations are open" in chat.say("/greet")
        for chat in chats:
            assert "Privacy" in chat.press("library")
            assert "Question 1 of" in chat.press("Yes, I agree")
    finally:  # at once: a long-polling client's close waits for its pending poll (~25 s)
        with ThreadPoolExecutor(len(chats)) as pool:
            list(pool.map(SocketChat.close, chats))
    time.sleep(6)  # nginx flushes its access log every 5 s
    log = (scaled.workdir / "logs" / "nginx-access.log").read_text()
    upstreams = {line.split()[-1] for line in log.splitlines() if "/socket.io/" in line}
    assert upstreams == set(scaled.layout.rasa_upstreams), upstreams


def test_telegram_updates_reach_the_bridge_through_nginx(scaled: SupervisedStack,
                                                         bot_api: FakeTelegram) -> None:
    chat = next(chat_ids)
    hook = f"{scaled.rasa_url}/telegram"
    update = {"update_id": 880_001, "message": bot_api.message(chat, "hello")}
    assert httpx.post(hook, json=update).status_code == 403  # no secret
    answer = httpx.post(hook, json=update,
                        headers={"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET})
    assert answer.status_code == 200
    assert "consultations are open" in bot_api.wait_for_text(
        chat, "consultations are open").params["text"]


