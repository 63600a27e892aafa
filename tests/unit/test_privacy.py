"""Data-protection requests (``bot.privacy``, ``codesign privacy export|erase``): citizens
found through the bot's own pseudonyms, a complete and readable copy of their data, and
an erasure that reaches the app store, Rasa's tracker store and the Telegram bridge's
state while leaving everyone else's data as it was (SQLite and PostgreSQL; the
conversations are taken through the real dialogue engine)."""

from __future__ import annotations

import json
import os
import stat
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import (
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    insert,
    select,
)
from typer.testing import CliRunner, Result

from bot.audit.trail import Actor
from bot.cli.main import app as cli_app
from bot.config import Settings
from bot.dialogue.engine import ConversationEngine
from bot.dialogue.messages import UserTurn
from bot.privacy.requests import DataRequests
from bot.privacy.subject import Channel, identify
from bot.store import repository
from bot.store.audit_models import AuditEntry
from bot.store.db import engine_for, migrate, session_scope
from bot.store.models import Answer, Base, Question
from bot.store.review_models import AnswerReview, AnswerTag, Tag
from bot.store.telegram_models import TelegramInboxUpdate
from bot.telegram.store import BridgeStore
from tests.unit.test_engine import LIBRARY, LIBRARY_FILE, SECRET, Citizen, _Today, launch
from tests.unit.test_telegram_erasure import remember

CHAT_ID = 123456789
OTHER_CHAT_ID = 987654321
WEB_SESSION = "3f2b8c1e-9d4a-4f6b-8e2d-1a2b3c4d5e6f"
BARRIERS = "The library closes before I finish work, because of {}"
#: Rasa's SQL tracker store table, as ``rasa.core.tracker_store.SQLTrackerStore`` makes it
#: (the end-to-end test erases from the one a real Rasa server writes).
EVENTS = Table("events", MetaData(),
               Column("id", Integer, primary_key=True),
               Column("sender_id", String(255), nullable=False, index=True),
               Column("type_name", String(255), nullable=False),
               Column("timestamp", Float),
               Column("intent_name", String(255)),
               Column("action_name", String(255)),
               Column("data", Text))


@pytest.fixture
def engine(database_url: str, monkeypatch: pytest.MonkeyPatch) -> ConversationEngine:
    monkeypatch.setattr(repository, "date", _Today)
    monkeypatch.delenv("RASA_TRACKER_URL", raising=False)
    migrate(database_url)
    launch(database_url, LIBRARY_FILE)
    EVENTS.create(engine_for(database_url))
    return ConversationEngine(Settings(database_url=database_url, secret_key=SECRET))


def take_part(engine: ConversationEngine, sender: str, channel: str, words: str) -> Citizen:
    """A whole library consultation: an answer changed (a revision), a service question
    (logged, then evidence for the next answer), an open answer in ``words``, submitted,
    and a wish to hear the outcome."""
    citizen = Citizen(engine, sender, channel)
    citizen.start()
    citizen.choose("visits:2")
    citizen.press("/go_back")
    citizen.choose("visits:3")  # changed: the first answer is kept as a revision
    citizen.say(f"when does the library open on sundays, with {words}?", intent="ask_service",
                confidence=0.95)
    citizen.say(BARRIERS.format(words))
    citizen.choose("preferred_times:3")
    citizen.choose("preferred_times:done")
    citizen.choose("evenings:4")
    citizen.choose("trade_off:1")
    citizen.choose("services:1")
    citizen.choose("services:done")
    citizen.say(f"I would study there in the evenings after my shifts finish at six, {words}")
    citizen.press("/skip")
    citizen.press("/affirm")
    citizen.press("/submit")
    assert "let you know" in citizen.choose("follow_up:yes").messages[0].text
    return citizen


def add_events(url: str, sender: str, said: list[str]) -> None:
    """Tracker events of a conversation: each message and the bot's reply, and a slot."""
    rows: list[dict[str, Any]] = []
    for n, text in enumerate(said):
        at = 1_800_000_000.0 + n
        rows += [{"sender_id": sender, "type_name": "user", "timestamp": at,
                  "intent_name": "inform", "data": json.dumps({"event": "user", "text": text})},
                 {"sender_id": sender, "type_name": "bot", "timestamp": at + 0.5,
                  "intent_name": None,
                  "data": json.dumps({"event": "bot", "text": f"reply to {text}"})},
                 {"sender_id": sender, "type_name": "slot", "timestamp": at + 0.6,
                  "intent_name": None,
                  "data": json.dumps({"event": "slot", "name": "in_flow", "value": True})}]
    with engine_for(url).begin() as connection:
        connection.execute(insert(EVENTS), rows)


def seal_update(store: BridgeStore, chat_id: int, text: str) -> None:
    """An update of the chat still waiting in the bridge's inbox (sealed whole)."""
    update = {"update_id": chat_id % 1000, "message": {
        "message_id": 5, "date": 0, "text": text,
        "chat": {"id": chat_id, "type": "private"}, "from": {"id": chat_id, "is_bot": False}}}
    store.call(lambda s: s.add(TelegramInboxUpdate(update_key=f"1:{chat_id}",
                                                   sealed=store.sealer.seal(json.dumps(update)))))


def tag_open_answer(url: str, participant_id: str, name: str) -> None:
    """Staff work on the citizen's open answer: a tag and a note."""
    with session_scope(url) as session:
        answer = session.scalars(select(Answer).join(Question).where(
            Question.key == "hours_reasons",
            Answer.participation.has(participant_id=participant_id))).one()
        consultation = repository.get_consultation(session, LIBRARY)
        assert consultation is not None
        tag = Tag(consultation_id=consultation.id, name=name)
        session.add(tag)
        session.flush()
        session.add_all([AnswerTag(answer_id=answer.id, tag_id=tag.id),
                         AnswerReview(answer_id=answer.id, note=f"note on {name}")])


@pytest.fixture
def two_citizens(engine: ConversationEngine) -> Iterator[dict[str, Any]]:
    """A Telegram citizen (the request is about them) and a web citizen (who must be left
    alone), each with the whole of what the store can hold about someone."""
    url = engine.settings.database_url
    bridge = BridgeStore(url, SECRET)
    telegram = take_part(engine, bridge.chat_key(CHAT_ID), "telegram", "night shifts")
    web = take_part(engine, WEB_SESSION, "web", "my toddler naps")
    for chat_id in (CHAT_ID, OTHER_CHAT_ID):
        remember(bridge, chat_id)
        seal_update(bridge, chat_id, f"a message from {chat_id} not handled yet")
    add_events(url, bridge.chat_key(CHAT_ID), ["hello from telegram", "night shifts"])
    add_events(url, WEB_SESSION, ["hello from the web", "my toddler naps"])
    tag_open_answer(url, telegram.key, "shift work")
    tag_open_answer(url, web.key, "childcare")
    yield {"url": url, "telegram": telegram, "web": web, "bridge": bridge}


def everything(url: str) -> str:
    """Every row of every table, the tracker store's too, as text."""
    with session_scope(url) as session:
        tables = [*Base.metadata.sorted_tables, EVENTS]
        return json.dumps({t.name: [list(row) for row in session.execute(select(t))]
                           for t in tables}, default=str, ensure_ascii=False)


# ----------------------------------------------------------------------------- finding them
def test_citizens_are_found_through_the_bots_own_pseudonyms(sqlite_url: str) -> None:
    bot = ConversationEngine(Settings(database_url=sqlite_url, secret_key=SECRET))
    chat_key = BridgeStore(sqlite_url, SECRET).chat_key(CHAT_ID)
    telegram = identify(SECRET, Channel.telegram, f" {CHAT_ID} ")
    assert (telegram.sender_id, telegram.chat_key, telegram.chat_id) == \
        (chat_key, chat_key, CHAT_ID)
    assert telegram.participant_id == bot.key(UserTurn(chat_key, "telegram", "hi"))
    web = identify(SECRET, Channel.web, WEB_SESSION)
    assert web.sender_id == WEB_SESSION and web.chat_key is None
    assert web.participant_id == bot.key(UserTurn(WEB_SESSION, "web", "hi"))
    rest = identify(SECRET, Channel.rest, "terminal-ana")
    assert rest.participant_id == bot.key(UserTurn("terminal-ana", "rest", "hi"))
    assert telegram.reference == f"telegram:{telegram.participant_id[:12]}"
    assert str(CHAT_ID) not in telegram.reference
    for channel, bad in ((Channel.telegram, "12a"), (Channel.telegram, ""),
                         (Channel.telegram, "1" * 21), (Channel.web, "a b"),
                         (Channel.web, "x" * 129), (Channel.web, "-starts-with-dash"),
                         (Channel.rest, "<script>")):
        with pytest.raises(ValueError):
            identify(SECRET, channel, bad)


# ----------------------------------------------------------------------------- a copy
def test_the_copy_holds_everything_about_them_and_nothing_about_anyone_else(
        two_citizens: dict[str, Any]) -> None:
    url, telegram = two_citizens["url"], two_citizens["telegram"]
    desk = DataRequests(url, SECRET)
    subject = desk.subject(Channel.telegram, str(CHAT_ID))
    data, found = desk.export(subject, Actor("dpo@council.example", 9))
    text = json.dumps(data, ensure_ascii=False)
    assert found.counts() == {"participations": 1, "answers": 8, "answer_revisions": 1,
                              "transcript_messages": found.transcript_messages,
                              "service_questions": 1, "follow_ups": 1,
                              "conversation_events": 6, "telegram_items": 6}
    assert found.transcript_messages > 20
    assert data["pseudonym"] == telegram.key and data["channel"] == "telegram"
    assert "pseudonymous code" in data["about"]
    [taken] = data["participations"]
    assert taken["consultation"]["slug"] == LIBRARY
    assert taken["consultation"]["title"] == "Shaping our library opening hours"
    assert taken["status"] == "completed" and taken["may_quote_you"] is True
    answers = {a["question_id"]: a for a in taken["answers"]}
    assert answers["visits"]["answer"] == "A few times a year"
    assert [v["answer"] for v in answers["visits"]["earlier_versions"]] == ["Monthly"]
    assert answers["barriers"]["your_words"] == BARRIERS.format("night shifts")
    assert answers["barriers"]["service_answers_you_had_seen"] == [
        "when does the library open on sundays, with night shifts?"]
    assert answers["hours_reasons"]["staff_tags"] == ["shift work"]
    assert answers["hours_reasons"]["staff_note"] == "note on shift work"
    assert answers["hours_reasons"]["question"].startswith("Thinking about the times")
    [asked] = taken["questions_you_asked_about_the_service"]
    assert asked["question"] == "when does the library open on sundays, with night shifts?"
    assert asked["answered"] is False
    said = [m["text"] for m in taken["conversation"] if m["from"] == "you"]
    assert "The library closes before I finish work, because of night shifts" in said
    assert taken["asked_to_hear_the_outcome"]["asked_at"] is not None
    assert [m["text"] for m in data["conversation_log"] if m["from"] == "you"] == [
        "hello from telegram", "night shifts"]
    assert data["conversation_log"][1] == {"at": "2027-01-15T08:00:00.500000+00:00",
                                           "from": "bot",
                                           "text": "reply to hello from telegram"}
    bridge = data["telegram"]
    assert bridge["asked_to_hear_outcomes_since"] is not None
    assert [m["text"] for m in bridge["your_messages_waiting_for_the_bot"]] == ["forget me"]
    assert [m["text"] for m in bridge["replies_not_yet_sent_to_you"]] == [
        "a reply not sent yet"]
    assert (bridge["long_buttons_remembered"], bridge["keyboards_you_pressed"],
            bridge["updates_waiting_to_be_handled"]) == (1, 1, 1)
    for foreign in ("toddler", "childcare", "hello from the web", str(OTHER_CHAT_ID),
                    two_citizens["web"].key):
        assert foreign not in text, foreign
    assert str(CHAT_ID) not in text  # the raw id is not written, even to its owner
    with session_scope(url) as session:
        entry = session.scalars(select(AuditEntry)).one()
    assert (entry.action, entry.target, entry.actor) == (
        "privacy.export", subject.reference, "dpo@council.example")
    assert entry.detail is not None and entry.detail["answers"] == 8


# ----------------------------------------------------------------------------- erasure
def test_erasure_reaches_every_store_and_leaves_everyone_else_alone(
        two_citizens: dict[str, Any]) -> None:
    url = two_citizens["url"]
    desk = DataRequests(url, SECRET)
    subject = desk.subject(Channel.telegram, str(CHAT_ID))
    other = desk.subject(Channel.web, WEB_SESSION)
    other_before = desk.export(other, Actor.system())[0]
    before = everything(url)
    for mark in ("night shifts", "shift work", subject.participant_id, subject.chat_key):
        assert mark in before

    erased = desk.erase(subject, Actor("dpo@council.example", 9))

    assert erased.counts() == {**desk.inventory(other).counts(),
                               "conversation_events": 6, "telegram_items": 6}
    after = everything(url)
    for mark in ("night shifts", "hello from telegram", subject.participant_id,
                 str(subject.chat_key), "note on shift work", "sundays, with night"):
        assert mark not in after, mark
    assert desk.inventory(subject).empty
    with session_scope(url) as session:  # the staff's codebook keeps its (now unused) tag
        assert session.scalars(select(Tag.name).order_by(Tag.name)).all() == [
            "childcare", "shift work"]
    other_after = desk.export(other, Actor.system())[0]
    assert {**other_after, "made_at": None} == {**other_before, "made_at": None}
    bridge = two_citizens["bridge"]
    kept = bridge.call(lambda s: s.scalar(select(TelegramInboxUpdate.sealed)))
    assert str(OTHER_CHAT_ID) in bridge.sealer.open(kept)  # the other chat's update stays
    again = desk.erase(subject, Actor.cli())
    assert again.empty
    with session_scope(url) as session:
        audit = session.execute(select(AuditEntry.action, AuditEntry.target, AuditEntry.detail)
                                .order_by(AuditEntry.id)).all()
    assert [(a, t) for a, t, _ in audit] == [
        ("privacy.export", other.reference), ("privacy.erase", subject.reference),
        ("privacy.export", other.reference), ("privacy.erase", subject.reference)]
    assert audit[1][2] == erased.counts() and set(audit[3][2].values()) == {0}


# ----------------------------------------------------------------------------- the CLI
def run(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(cli_app, list(args), input=input)


@pytest.fixture
def cli_store(engine: ConversationEngine, monkeypatch: pytest.MonkeyPatch,
              tmp_path: Path) -> str:
    url = engine.settings.database_url
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("CODESIGN_SECRET_KEY", SECRET.decode())
    monkeypatch.setenv("CODESIGN_VAR_DIR", str(tmp_path / "var"))
    bridge = BridgeStore(url, SECRET)
    take_part(engine, bridge.chat_key(CHAT_ID), "telegram", "night shifts")
    add_events(url, bridge.chat_key(CHAT_ID), ["hello from telegram"])
    take_part(engine, WEB_SESSION, "web", "my toddler naps")
    return url


def stored_answers(url: str) -> int:
    with session_scope(url) as session:
        return len(session.scalars(select(Answer.id)).all())


def audit_rows(url: str) -> list[tuple[str, str]]:
    with session_scope(url) as session:
        return [(a, t) for a, t in session.execute(
            select(AuditEntry.action, AuditEntry.target).order_by(AuditEntry.id))]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_codesign_privacy_export_and_erase(cli_store: str, tmp_path: Path) -> None:
    url = cli_store
    out = tmp_path / "copy.json"
    done = run("privacy", "export", "--channel", "telegram", "--id", str(CHAT_ID), "-o", str(out))
    assert done.exit_code == 0, done.output
    assert "exported: 1 participation, 8 answers, 1 earlier version of an answer" in done.output
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600  # personal data: the owner's only
    copy = json.loads(out.read_text(encoding="utf-8"))
    assert copy["participations"][0]["answers"][1]["your_words"] == BARRIERS.format("night shifts")
    on_stdout = run("privacy", "export", "-c", "web", "--id", WEB_SESSION)
    assert on_stdout.exit_code == 0
    assert json.loads(on_stdout.stdout)["participations"][0]["channel"] == "web"

    unknown = run("privacy", "export", "--channel", "telegram", "--id", "555")
    assert unknown.exit_code == 1 and "nothing is stored about that telegram id" in unknown.output
    malformed = run("privacy", "export", "--channel", "telegram", "--id", "@someone")
    assert malformed.exit_code == 2 and "a Telegram id is a number" in malformed.output
    wrong_channel = run("privacy", "erase", "--channel", "fax", "--id", "1")
    assert wrong_channel.exit_code == 2 and "telegram" in wrong_channel.output

    answers = stored_answers(url)
    no_input = run("privacy", "erase", "--channel", "telegram", "--id", str(CHAT_ID))
    assert no_input.exit_code == 1 and "nothing was deleted" in no_input.output
    assert "8 answers" in no_input.output and "1 conversation event" not in no_input.output
    assert "3 conversation events in Rasa's tracker store" in no_input.output
    declined = run("privacy", "erase", "--channel", "telegram", "--id", str(CHAT_ID),
                   input="n\n")
    assert declined.exit_code == 1 and "Nothing was deleted." in declined.output
    assert stored_answers(url) == answers
    confirmed = run("privacy", "erase", "--channel", "telegram", "--id", str(CHAT_ID),
                    input="y\n")
    assert confirmed.exit_code == 0, confirmed.output
    assert "Deleted: 1 participation, 8 answers" in confirmed.output
    assert stored_answers(url) == answers - 8
    scripted = run("privacy", "erase", "-c", "web", "--id", WEB_SESSION, "--yes")
    assert scripted.exit_code == 0 and stored_answers(url) == 0
    gone = run("privacy", "erase", "-c", "web", "--id", WEB_SESSION, "--yes")
    assert gone.exit_code == 1 and "nothing is stored" in gone.output

    telegram = identify(SECRET, Channel.telegram, str(CHAT_ID)).reference
    web = identify(SECRET, Channel.web, WEB_SESSION).reference
    assert audit_rows(url) == [
        ("privacy.export", telegram), ("privacy.export", web),
        ("privacy.export", identify(SECRET, Channel.telegram, "555").reference),
        ("privacy.erase", telegram), ("privacy.erase", web), ("privacy.erase", web)]
    audit = json.dumps(audit_rows(url))
    assert str(CHAT_ID) not in audit and WEB_SESSION not in audit


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_commands_need_the_bots_secret_key(cli_store: str,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CODESIGN_SECRET_KEY")
    done = run("privacy", "erase", "--channel", "telegram", "--id", str(CHAT_ID), "--yes")
    assert done.exit_code == 1 and "CODESIGN_SECRET_KEY" in done.output
    assert "scripts/env.sh" in done.output and stored_answers(cli_store) == 16
    monkeypatch.setenv("CODESIGN_SECRET_KEY", "another-key-" + uuid.uuid4().hex)
    other_key = run("privacy", "export", "--channel", "telegram", "--id", str(CHAT_ID))
    assert other_key.exit_code == 1 and "another key finds nobody" in other_key.output
    helped = run("privacy", "erase", "--help")
    assert helped.exit_code == 0
    assert "--yes" in helped.output and "Exit status" in helped.output


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_phone_response_is_found_copied_and_erased_by_its_number(cli_store: str) -> None:
    from bot.review import assisted

    url = cli_store
    with session_scope(url) as session:
        consultation = repository.get_consultation(session, LIBRARY)
        assert consultation is not None
        entries = {"visits": assisted.Entry("answered", "Monthly", "monthly"),
                   "preferred_times": assisted.Entry("answered", ["Saturdays"], "saturdays"),
                   "trade_off": assisted.Entry("answered", "No preference", "none"),
                   "services": assisted.Entry("answered", ["Borrowing books"], "books"),
                   "hours_reasons": assisted.Entry("answered", "Reading the papers", "papers"),
                   "evenings": assisted.Entry("skipped"),
                   "anything_else": assisted.Entry("skipped")}
        participation = assisted.store_response(session, consultation, "phone", entries,
                                                assisted.new_participant_id(SECRET, "k1"))
        number = str(participation.id)
    before = stored_answers(url)
    copy = run("privacy", "export", "--channel", "phone", "--id", number)
    assert copy.exit_code == 0, copy.output
    (taken,) = json.loads(copy.stdout)["participations"]
    assert taken["channel"] == "phone"
    wrong_channel = run("privacy", "export", "--channel", "paper", "--id", number)
    assert wrong_channel.exit_code == 2
    assert f"no paper response has the number {number}" in wrong_channel.output
    not_a_number = run("privacy", "erase", "--channel", "phone", "--id", "abc", "--yes")
    assert not_a_number.exit_code == 2 and "a whole number" in not_a_number.output
    erased = run("privacy", "erase", "--channel", "phone", "--id", number, "--yes")
    assert erased.exit_code == 0, erased.output
    assert stored_answers(url) == before - len(taken["answers"])
    assert run("privacy", "export", "-c", "web", "--id", WEB_SESSION).exit_code == 0
    audit = json.dumps(audit_rows(url))
    assert "privacy.erase" in audit and '"phone:' in audit
