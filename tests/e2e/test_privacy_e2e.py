"""A data-protection officer answers two requests with the real command line against the
real stack: a Telegram citizen (their messages reach Rasa's REST channel as the Telegram
bridge sends them: the chat key as sender, channel ``telegram``) and a web citizen (the
chat widget's session id as sender, channel ``web``) take part in a consultation; the
officer exports the Telegram citizen's data (the answers and the conversation Rasa
stored are in it), then erases it: nothing about that sender is left in the app store or
Rasa's tracker store, their next message starts afresh, and the web citizen's data is
untouched."""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select, text

from bot.devtools.stack import ROOT, Chat, Stack
from bot.store.db import session_scope
from bot.store.models import Answer, Participant, Participation
from bot.store.telegram_models import TelegramContact
from bot.telegram.contacts import add_contact
from bot.telegram.store import BridgeStore
from tests.e2e.helpers import key_of

pytestmark = pytest.mark.e2e
CHAT_ID = 5_550_123_456
LIBRARY = "library-hours-2027"
NIGHT_SHIFTS = "The library closes before I finish my night shifts at the depot"


def cli(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    """The real ``codesign`` command, with no input (as from cron or a script)."""
    return subprocess.run([str(ROOT / ".venv/bin/codesign"), *args], env=stack.env(),
                          stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=120, check=False)


def take_part(chat: Chat, barriers: str) -> None:
    """Consent and answer four questions of the library consultation (still active)."""
    assert "consultations are open" in chat.say("hello").text
    chat.press("library")
    assert "Question 1 of" in chat.press("Yes, I agree").text
    assert "Question 2 of 8" in chat.say("a few times a year").text
    assert "Question 3 of 8" in chat.say(barriers).text
    chat.press("Evenings")
    assert "Question 4 of 8" in chat.press("Done").text
    assert "Question 5 of 8" in chat.say("four").text


def stored(stack: Stack, sender: str, channel: str) -> dict[str, int]:
    """Rows about one sender: app store by their pseudonym, tracker store by sender id."""
    key = key_of(sender, channel)
    with session_scope(stack.database_url) as session:
        mine = select(Participation.id).where(Participation.participant_id == key)
        return {
            "participants": len(session.scalars(select(Participant.id)
                                                .where(Participant.id == key)).all()),
            "participations": len(session.scalars(mine).all()),
            "answers": len(session.scalars(select(Answer.id).where(
                Answer.participation_id.in_(mine))).all()),
            "tracker_events": session.execute(
                text("SELECT count(*) FROM events WHERE sender_id = :s"),
                {"s": sender}).scalar_one(),
            "contacts": len(session.scalars(select(TelegramContact.chat_key)
                                            .where(TelegramContact.chat_key == sender)).all()),
        }


def said_in_tracker(stack: Stack, sender: str) -> str:
    with session_scope(stack.database_url) as session:
        return "\n".join(session.scalars(text("SELECT data FROM events WHERE sender_id = :s"),
                                         {"s": sender}))


def test_export_then_erase_a_telegram_citizen(stack: Stack, tmp_path: Path) -> None:
    bridge = BridgeStore(stack.database_url, stack.env()["CODESIGN_SECRET_KEY"].encode())
    chat_key = bridge.chat_key(CHAT_ID)
    telegram = Chat(stack, chat_key, channel="telegram")
    web = Chat(stack, str(uuid.uuid4()), channel="web")
    take_part(telegram, NIGHT_SHIFTS)
    take_part(web, "Buses from my village stop running before the library opens")
    bridge.call(lambda s: add_contact(s, chat_key, bridge.sealer.seal_chat(CHAT_ID)))
    telegram_before = stored(stack, chat_key, "telegram")
    web_before = stored(stack, web.sender, "web")
    assert telegram_before["answers"] == 4 and telegram_before["tracker_events"] > 20
    assert telegram_before["contacts"] == 1 and web_before["answers"] == 4

    copy = tmp_path / "subject-access.json"
    exported = cli(stack, "privacy", "export", "--channel", "telegram", "--id", str(CHAT_ID),
                   "--output", str(copy))
    assert exported.returncode == 0, exported.stderr
    data = json.loads(copy.read_text(encoding="utf-8"))
    [taken] = data["participations"]
    assert taken["consultation"]["slug"] == LIBRARY and taken["status"] == "active"
    answers = {a["question_id"]: a for a in taken["answers"]}
    assert answers["visits"]["answer"] == "A few times a year"
    assert answers["barriers"]["your_words"] == NIGHT_SHIFTS
    assert answers["preferred_times"]["answer"] == ["Evenings (after 6pm)"]
    assert answers["evenings"]["answer"] == 4
    assert NIGHT_SHIFTS in [m["text"] for m in taken["conversation"] if m["from"] == "you"]
    logged = [m["text"] for m in data["conversation_log"] if m["from"] == "you"]
    assert logged[0] == "hello" and NIGHT_SHIFTS in logged  # from Rasa's tracker store
    assert any("Question 5 of 8" in m["text"] for m in data["conversation_log"])
    assert data["telegram"]["asked_to_hear_outcomes_since"] is not None
    written = copy.read_text(encoding="utf-8")
    assert str(CHAT_ID) not in written and "Buses from my village" not in written

    unanswered = cli(stack, "privacy", "erase", "--channel", "telegram", "--id", str(CHAT_ID))
    assert unanswered.returncode == 1 and "nothing was deleted" in unanswered.stderr
    assert "4 answers" in unanswered.stdout
    assert stored(stack, chat_key, "telegram") == telegram_before

    erased = cli(stack, "privacy", "erase", "--channel", "telegram", "--id", str(CHAT_ID),
                 "--yes")
    assert erased.returncode == 0, erased.stderr
    assert "Deleted: 1 participation, 4 answers" in erased.stdout
    assert stored(stack, chat_key, "telegram") == {
        "participants": 0, "participations": 0, "answers": 0, "tracker_events": 0,
        "contacts": 0}
    assert stored(stack, web.sender, "web") == web_before

    reply = telegram.say("hello")  # a stranger now, as after "forget me"
    assert "consultations are open" in reply.text and "Continue" not in reply.text
    assert NIGHT_SHIFTS not in said_in_tracker(stack, chat_key)
    assert "Buses from my village" in said_in_tracker(stack, web.sender)
    listed = cli(stack, "audit", "list", "--action", "privacy.erase", "--json")
    assert listed.returncode == 0, listed.stderr
    [entry] = [e for e in json.loads(listed.stdout) if e["detail"]["answers"] == 4]
    assert entry["target"].startswith("telegram:") and str(CHAT_ID) not in listed.stdout
    assert chat_key not in listed.stdout
