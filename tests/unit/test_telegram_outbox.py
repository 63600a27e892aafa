"""The bridge's persistent outbox of messages waiting for Rasa."""

from __future__ import annotations

import time
from pathlib import Path

from bot.telegram.outbox import Outbox


def test_messages_survive_a_restart_in_order(tmp_path: Path) -> None:
    path = tmp_path / "var" / "outbox.sqlite3"
    outbox = Outbox(path)
    outbox.add(1, "tg-1", "first")
    outbox.add(2, "tg-2", "other chat")
    outbox.add(1, "tg-3", "second")
    outbox.close()
    reopened = Outbox(path)
    assert [(p.message_id, p.text) for p in reopened.pending(1)] == [("tg-1", "first"),
                                                                     ("tg-3", "second")]
    reopened.delivered(reopened.pending(1)[0])
    assert [p.text for p in reopened.pending(1)] == ["second"]
    assert len(reopened) == 2
    assert path.stat().st_mode & 0o077 == 0  # raw chat ids: readable by the owner only


def test_failed_delivery_backs_off_and_is_given_up_eventually(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "o.sqlite3", max_attempts=3, backoff=0)
    outbox.add(1, "tg-1", "hello")
    assert outbox.due_chats() == [1]
    assert outbox.failed(outbox.pending(1)[0]) is True
    assert outbox.pending(1)[0].attempts == 1
    assert outbox.failed(outbox.pending(1)[0]) is True
    assert outbox.failed(outbox.pending(1)[0]) is False  # third failure: given up
    assert outbox.pending(1) == []


def test_retry_waits_for_the_backoff(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "o.sqlite3", backoff=3600)
    outbox.add(1, "tg-1", "hello")
    outbox.failed(outbox.pending(1)[0])
    assert outbox.due_chats() == []  # not due for an hour
    assert len(outbox.pending(1)) == 1  # but the chat's next message delivers it first


def test_queue_per_chat_and_age_are_bounded(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "o.sqlite3", max_per_chat=2, max_age=3600)
    for number in range(4):
        outbox.add(1, f"tg-{number}", f"message {number}")
    assert [p.text for p in outbox.pending(1)] == ["message 2", "message 3"]
    outbox.max_age = -1  # everything is now too old
    time.sleep(0.01)
    assert outbox.pending(1) == []
