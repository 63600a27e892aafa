"""A backup taken with ``codesign backup`` while citizens are chatting, restored with
``codesign restore`` into a fresh data folder and database: the exports are the same,
the backup is a consistent moment of the busy consultation, and a citizen who paused
before the backup resumes the same Rasa conversation on a stack started on the restored
installation."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.devtools.stack import ROOT, Chat, Stack, ingest_demo_knowledge, launch_demo
from tests.e2e.helpers import answers_of, participation_of

pytestmark = pytest.mark.e2e
BASE = int(os.environ.get("CODESIGN_TEST_PORT_BASE", "5100"))
#: Its own ports: the session's shared stack (base + 5 and + 55) may be running.
RASA_PORT, ACTION_PORT = BASE + 8, BASE + 58
LIBRARY, PARK = "library-hours-2027", "park-redesign-2027"
PARK_TITLE = "Redesigning Millbrook Park together"
PAUSE = "I'd like to pause and finish later"
DOGS = "are dogs allowed off the lead near the pond in millbrook park?"
#: What each chatting citizen says or presses.
STEPS = (("say", "hello"), ("press", "library"), ("press", "Yes, I agree"),
         ("say", "a few times a year"), ("say", "The library closes before I finish work"),
         ("press", "Evenings"))


def codesign(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run the real ``codesign`` CLI in ``env``."""
    return subprocess.run([str(ROOT / ".venv/bin/codesign"), *args], env=env,
                          capture_output=True, text=True, timeout=300, check=False)


def exported(env: dict[str, str], slug: str) -> dict[str, str]:
    """``codesign export SLUG`` as JSON and as transcripts."""
    out = {}
    for kind in ("json", "transcripts"):
        result = codesign(env, "export", slug, "--format", kind)
        assert result.returncode == 0, result.stderr
        out[kind] = result.stdout
    return out


def start(chat: Chat, title: str) -> None:
    """Greet, pick the consultation and consent."""
    chat.say("hello")
    chat.press(title)
    assert "Question 1 of" in chat.press("Yes, I agree").text


class Chatters(threading.Thread):
    """Citizens taking part in the library consultation, one after another, until stopped;
    each turn's start and end times are kept."""

    def __init__(self, stack: Stack) -> None:
        super().__init__(daemon=True)
        self.stack = stack
        self.turns: list[tuple[float, float]] = []
        self.stopped = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            while not self.stopped.is_set():
                chat = self.stack.chat()
                for kind, text in STEPS:
                    began = time.monotonic()
                    if kind == "say":
                        chat.say(text)
                    else:
                        chat.press(text)
                    self.turns.append((began, time.monotonic()))
                    if self.stopped.is_set():
                        return
        except BaseException as exc:  # reported by the test
            self.error = exc


def by_participation(jsonl: str) -> dict[int, dict[str, Any]]:
    return {record["participation_id"]: record
            for record in map(json.loads, jsonl.splitlines())}


def tracker_texts(stack: Stack, sender: str) -> list[str]:
    """The citizen's messages in Rasa's tracker of the conversation."""
    response = httpx.get(f"{stack.rasa_url}/conversations/{sender}/tracker",
                         params={"token": stack.rasa_token}, timeout=30)
    response.raise_for_status()
    return [event.get("text") or "" for event in response.json()["events"]
            if event["event"] == "user"]


def test_backup_while_chatting_restores_and_the_paused_citizen_resumes(tmp_path: Path) -> None:
    original_dir, restored_dir = tmp_path / "original", tmp_path / "restored"
    original_dir.mkdir()
    url = f"sqlite:///{original_dir / 'codesign.db'}"
    launch_demo(url)
    ingest_demo_knowledge(url, original_dir)
    (original_dir / "secret.key").write_text(os.environ["CODESIGN_SECRET_KEY"])
    upload = original_dir / "knowledge-uploads" / "parks" / "pond-notes.md"
    upload.parent.mkdir(parents=True)
    upload.write_text("# The pond\n\nDogs on leads near the pond, please.\n")
    original = Stack(url, original_dir, rasa_port=RASA_PORT, action_port=ACTION_PORT)
    original.start()
    try:
        paused = original.chat()
        start(paused, "park")
        assert "Question 2 of" in paused.press("Most days").text
        assert "Paused" in paused.say(PAUSE).text
        asker = original.chat()
        start(asker, "park")
        assert "Source:" in asker.say(DOGS).text
        finished = original.chat()
        start(finished, "library")
        finished.say("a few times a year")
        before = exported(original.env(), PARK)

        chatters = Chatters(original)
        chatters.start()
        while len(chatters.turns) < 3 and chatters.error is None:
            time.sleep(0.05)
        began = time.monotonic()
        backup = codesign(original.env(), "backup", str(tmp_path / "backup"))
        ended = time.monotonic()
        time.sleep(1)
        chatters.stopped.set()
        chatters.join(timeout=120)
        assert chatters.error is None, chatters.error
        assert backup.returncode == 0, backup.stderr
        during = [turn for turn in chatters.turns if began < turn[0] and turn[1] < ended]
        assert during, "no citizen's turn ran while the backup was being taken"
        print(f"\nbackup took {ended - began:.1f} s; {len(during)} turns of other citizens "
              f"ran during it\n{backup.stderr}")
        original_park = exported(original.env(), PARK)
        original_library = exported(original.env(), LIBRARY)
        paused_answers = answers_of(url, paused.sender)
    finally:
        original.stop()

    restored_url = f"sqlite:///{restored_dir / 'codesign.db'}"
    restored = Stack(restored_url, restored_dir, rasa_port=RASA_PORT, action_port=ACTION_PORT)
    done = codesign(restored.env(), "restore", str(tmp_path / "backup"))
    assert done.returncode == 0, done.stderr
    assert "knowledge index: kept" in done.stderr

    # The quiet consultation: byte for byte the original's at backup time.
    assert before == original_park == exported(restored.env(), PARK)
    # The busy one: the finished citizen as they were; each other citizen's conversation
    # a beginning of the original's, with the answers of that moment.
    restored_library = exported(restored.env(), LIBRARY)
    whole = by_participation(original_library["transcripts"])
    moment = by_participation(restored_library["transcripts"])
    assert moment.keys() <= whole.keys()
    finished_id = participation_of(url, finished.sender).id  # type: ignore[union-attr]
    assert moment[finished_id] == whole[finished_id]
    chatted = [pid for pid in moment if pid != finished_id]
    assert chatted, "the backup holds none of the citizens chatting during it"
    for pid in chatted:
        then, now = moment[pid], whole[pid]
        assert then["messages"] == now["messages"][:len(then["messages"])]
        given = {key: value for key, value in then["answers"].items() if value is not None}
        assert given.items() <= now["answers"].items()
    json_whole = {r["participation_id"]: r for r in json.loads(original_library["json"])}
    json_moment = {r["participation_id"]: r for r in json.loads(restored_library["json"])}
    assert json_moment.keys() == moment.keys()
    assert json_moment[finished_id] == json_whole[finished_id]
    assert (restored_dir / "knowledge-uploads/parks/pond-notes.md").read_bytes() == \
        upload.read_bytes()
    assert (restored_dir / "secret.key").read_text() == os.environ["CODESIGN_SECRET_KEY"]

    restored.start()
    try:
        again = Chat(restored, paused.sender)
        reply = again.say("hi")
        assert f"You paused “{PARK_TITLE}”" in reply.text
        assert "Question 2 of" in again.press("Continue").text
        assert PAUSE in tracker_texts(restored, paused.sender)  # the same conversation
        assert answers_of(restored_url, paused.sender) == paused_answers
        assert "Source:" in again.say(DOGS).text  # the restored knowledge index answers
        assert "Question 3 of" in again.say("walking or running, dog walking").text
        now = answers_of(restored_url, paused.sender)
        assert now == {**paused_answers,
                       "activities": ("answered", ["Walking or running", "Dog walking"])}
    finally:
        restored.stop()
