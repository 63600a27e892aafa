"""Pause, restart both servers, come back: the conversation continues at the right question."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.devtools.stack import Stack, launch_demo
from tests.e2e.helpers import answers_of, participation_of

pytestmark = pytest.mark.e2e


def run_pause_restart_resume(url: str, workdir: Path) -> None:
    launch_demo(url)
    stack = Stack(url, workdir, rasa_port=5205, action_port=5255)
    stack.start()
    try:
        chat = stack.chat()
        chat.say("hello")
        chat.press("park")
        chat.press("Yes, I agree")
        chat.press(chat.last.buttons[0]["title"] if chat.last else "")
        reply = chat.say("I'd like to pause and finish later")
        assert "Paused" in reply.text
        # An active (not paused) citizen must also survive a restart: a second one.
        other = stack.chat()
        other.say("hello")
        other.press("library")
        other.press("Yes, I agree")
        other.say("monthly")

        stack.restart()

        reply = chat.say("hi")
        assert "You paused “Redesigning Millbrook Park together”" in reply.text
        assert reply.button("Continue: Redesigning Millbrook Park")
        reply = chat.press("Continue")
        assert "Question 2 of" in reply.text
        assert participation_of(url, chat.sender).status == "active"
        reply = other.say("saturdays")
        assert "Question 3 of 7" in reply.text
        assert answers_of(url, other.sender)["preferred_times"] == ("answered", ["Saturdays"])
    finally:
        stack.stop()


def test_pause_and_resume_after_restart_sqlite(tmp_path: Path) -> None:
    run_pause_restart_resume(f"sqlite:///{tmp_path / 'codesign.db'}", tmp_path)


@pytest.mark.postgres
def test_pause_and_resume_after_restart_postgres(postgres_url: str, tmp_path: Path) -> None:
    run_pause_restart_resume(postgres_url, tmp_path)
