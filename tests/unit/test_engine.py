"""Unit tests of the consultation state machine (bot.dialogue.engine), without Rasa.

A ``Citizen`` plays the part of the Rasa action server: it builds a ``UserTurn`` the way
``actions.actions.user_turn`` does (button payloads arrive as ``/intent{json}`` with
confidence 1.0 and their entities), keeps the returned state between turns as the
``flow_state`` slot would, and calls ``ConversationEngine.handle``.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.config import Settings
from bot.consultations.schema import PROFILE_WHY, parse_consultation_file
from bot.dialogue.engine import ConversationEngine
from bot.dialogue.messages import TurnResult, UserTurn, payload
from bot.dialogue.questionnaire import QuestionnaireMode
from bot.dialogue.render import COMMANDS_HELP
from bot.store import repository
from bot.store.db import engine_for, migrate, session_scope
from bot.store.models import (
    Answer,
    AnswerRevision,
    Participant,
    Participation,
    Question,
    TranscriptEntry,
)
from bot.store.pseudonym import participant_key

ROOT = Path(__file__).resolve().parents[2]
LIBRARY_FILE = ROOT / "consultations" / "library-hours-2027.yml"
PARK_FILE = ROOT / "consultations" / "park-redesign-2027.yml"
LIBRARY = "library-hours-2027"
PARK = "park-redesign-2027"
LIBRARY_TITLE = "Shaping our library opening hours"
PARK_TITLE = "Redesigning Millbrook Park together"
SECRET = b"test-secret-key-0123456789abcdef"

Q_VISITS = "How often do you visit the central library?"
Q_BARRIERS = "What, if anything, makes it difficult for you to visit the library more often?"
Q_TIMES = "Which times would suit you best for visiting the library?"
Q_EVENINGS = "How important would later evening opening be for you?"
Q_TRADE_OFF = ("If the total number of opening hours stayed the same, which change would you "
               "most prefer?")
Q_SERVICES = "Which of these do you use, or would you like to use, at the library?"
Q_REASONS = ("Thinking about the times you chose, what would you use the library for at "
             "those times?")
Q_ANYTHING = "Is there anything else you would like to tell us about the library's opening hours?"
BARRIERS_PROBE = ("Could you tell me a bit more about that? For example, is it to do with "
                  "times, travel or something else?")
REASONS_PROBE = ("Could you give an example of a recent time when the library being open "
                 "would have helped you?")
TIMES_HELP = ("Choose up to three. Pick the times that would work for you, whether or not the "
              "library is open then now.")
VISITS_HELP = ("Think about the last 12 months. Online services such as e-books do not count "
               "as a visit.")

START_LIBRARY = payload("start_consultation", consultation=LIBRARY)
START_PARK = payload("start_consultation", consultation=PARK)
PAYLOAD_RE = re.compile(r"^/(\w+)(\{.*\})?$")


class _Today(date):
    """A fixed 'today' inside the demo consultations' opening dates."""

    @classmethod
    def today(cls) -> _Today:
        return cls(2027, 1, 15)


# ---------------------------------------------------------------------------- helpers
class Citizen:
    """One person chatting on the REST channel; keeps the flow state between turns."""

    def __init__(self, engine: ConversationEngine, sender: str = "citizen-1",
                 channel: str = "rest") -> None:
        self.engine = engine
        self.sender = sender
        self.channel = channel
        self.state: dict[str, Any] | None = None
        self.last: TurnResult | None = None

    @property
    def key(self) -> str:
        return participant_key(SECRET, self.channel, self.sender)

    def turn(self, text: str, intent: str | None, confidence: float,
             entities: dict[str, str] | None = None, message_id: str | None = None) -> UserTurn:
        return UserTurn(sender_id=self.sender, channel=self.channel, text=text, intent=intent,
                        confidence=confidence, entities=dict(entities or {}),
                        message_id=message_id or str(uuid.uuid4()))

    def send(self, turn: UserTurn) -> TurnResult:
        result = self.engine.handle(turn, self.state)
        # The action server keeps the state in a slot (as JSON): round-trip it the same way.
        self.state = json.loads(json.dumps(result.state)) if result.state else None
        self.last = result
        return result

    def say(self, text: str, intent: str | None = "inform", confidence: float = 0.9,
            message_id: str | None = None, **entities: str) -> TurnResult:
        """A typed message, as NLU classified it."""
        return self.send(self.turn(text, intent, confidence, entities, message_id))

    def press(self, button_payload: str, message_id: str | None = None) -> TurnResult:
        """A pressed button: an intent payload, classified with certainty."""
        match = PAYLOAD_RE.match(button_payload)
        assert match, button_payload
        entities = json.loads(match.group(2)) if match.group(2) else {}
        return self.send(self.turn(button_payload, match.group(1), 1.0, entities, message_id))

    def choose(self, choice: str) -> TurnResult:
        return self.press(payload("choose", choice=choice))

    def welcome(self) -> TurnResult:
        result = self.engine.welcome(self.turn("hello", "greet", 0.99))
        self.last = result
        return result

    def start(self) -> TurnResult:
        """Start the library consultation and consent: returns the first question."""
        self.press(START_LIBRARY)
        return self.press("/affirm")


def text_of(result: TurnResult) -> str:
    return "\n".join(message.text for message in result.messages)


def payloads(result: TurnResult) -> list[str]:
    return [button.payload for message in result.messages for button in message.buttons]


def last_question_lines(result: TurnResult) -> list[str]:
    return result.messages[-1].text.splitlines()


class Store:
    """Read-only views of the app store for assertions."""

    def __init__(self, url: str) -> None:
        self.url = url

    def participations(self, citizen: Citizen) -> list[Participation]:
        with session_scope(self.url) as session:
            return list(session.scalars(select(Participation)
                                        .where(Participation.participant_id == citizen.key)
                                        .order_by(Participation.id)))

    def participation(self, citizen: Citizen) -> Participation:
        rows = self.participations(citizen)
        assert len(rows) == 1, rows
        return rows[0]

    def answers(self, citizen: Citizen) -> dict[str, tuple[str, Any]]:
        """Question id -> (status, value) of the citizen's latest participation."""
        rows = self.participations(citizen)
        if not rows:
            return {}
        with session_scope(self.url) as session:
            result = session.execute(
                select(Question.key, Answer.status, Answer.value)
                .join(Answer, Answer.question_id == Question.id)
                .where(Answer.participation_id == rows[-1].id))
            return {key: (status, value) for key, status, value in result}

    def raw_text(self, citizen: Citizen, question_key: str) -> str | None:
        with session_scope(self.url) as session:
            return session.scalar(
                select(Answer.raw_text).join(Question, Answer.question_id == Question.id)
                .join(Participation, Answer.participation_id == Participation.id)
                .where(Participation.participant_id == citizen.key,
                       Question.key == question_key))

    def revisions(self, citizen: Citizen, question_key: str) -> list[tuple[str, Any]]:
        with session_scope(self.url) as session:
            rows = session.execute(
                select(AnswerRevision.status, AnswerRevision.value)
                .join(Answer, AnswerRevision.answer_id == Answer.id)
                .join(Question, Answer.question_id == Question.id)
                .join(Participation, Answer.participation_id == Participation.id)
                .where(Participation.participant_id == citizen.key,
                       Question.key == question_key)
                .order_by(AnswerRevision.id))
            return [(status, value) for status, value in rows]

    def transcript(self, citizen: Citizen, direction: str) -> list[TranscriptEntry]:
        with session_scope(self.url) as session:
            return list(session.scalars(
                select(TranscriptEntry)
                .join(Participation, TranscriptEntry.participation_id == Participation.id)
                .where(Participation.participant_id == citizen.key,
                       TranscriptEntry.direction == direction)
                .order_by(TranscriptEntry.id)))

    def counts(self, citizen: Citizen) -> dict[str, int]:
        """Rows about the citizen in every table holding personal data."""
        key = citizen.key
        with session_scope(self.url) as session:
            ids = select(Participation.id).where(Participation.participant_id == key)
            answer_ids = select(Answer.id).where(Answer.participation_id.in_(ids))
            queries = {
                "participants": select(func.count()).select_from(Participant)
                .where(Participant.id == key),
                "participations": select(func.count()).select_from(Participation)
                .where(Participation.participant_id == key),
                "answers": select(func.count()).select_from(Answer)
                .where(Answer.participation_id.in_(ids)),
                "revisions": select(func.count()).select_from(AnswerRevision)
                .where(AnswerRevision.answer_id.in_(answer_ids)),
                "transcript": select(func.count()).select_from(TranscriptEntry)
                .where(TranscriptEntry.participation_id.in_(ids)),
            }
            return {name: int(session.scalar(query) or 0) for name, query in queries.items()}

    def total(self, model: type) -> int:
        with session_scope(self.url) as session:
            return int(session.scalar(select(func.count()).select_from(model)) or 0)


NOTHING = {"participants": 0, "participations": 0, "answers": 0, "revisions": 0,
           "transcript": 0}


def launch(url: str, path: Path) -> None:
    with session_scope(url) as session:
        repository.launch_consultation(session, parse_consultation_file(path),
                                       path.read_text(encoding="utf-8"))


def close(url: str, slug: str) -> None:
    with session_scope(url) as session:
        assert repository.close_consultation(session, slug) is not None


# ---------------------------------------------------------------------------- fixtures
@pytest.fixture
def url(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setattr(repository, "date", _Today)
    migrate(sqlite_url)
    launch(sqlite_url, LIBRARY_FILE)
    yield sqlite_url
    engine_for(sqlite_url).dispose()


@pytest.fixture
def engine(url: str) -> ConversationEngine:
    return ConversationEngine(Settings(database_url=url, secret_key=SECRET))


@pytest.fixture
def store(url: str) -> Store:
    return Store(url)


@pytest.fixture
def citizen(engine: ConversationEngine) -> Citizen:
    return Citizen(engine)


def at_times(citizen: Citizen) -> TurnResult:
    """Start, answer visits = Monthly (no barriers branch): at preferred_times."""
    citizen.start()
    return citizen.choose("visits:2")


def at_evenings(citizen: Citizen) -> TurnResult:
    at_times(citizen)
    citizen.choose("preferred_times:3")
    return citizen.choose("preferred_times:done")


def at_reasons(citizen: Citizen) -> TurnResult:
    at_evenings(citizen)
    citizen.choose("evenings:4")
    citizen.choose("trade_off:1")
    citizen.choose("services:1")
    return citizen.choose("services:done")


def at_summary(citizen: Citizen) -> TurnResult:
    """Answer everything (one open answer), agree to quotes: at the summary."""
    at_reasons(citizen)
    citizen.say("Studying after work and borrowing books for my children")
    citizen.press("/skip")  # anything_else is optional
    return citizen.press("/affirm")  # may be quoted


# ---------------------------------------------------------------------------- welcome, consent
def test_welcome_lists_open_consultations_as_buttons(
        url: str, citizen: Citizen, store: Store) -> None:
    launch(url, PARK_FILE)
    result = citizen.welcome()
    assert result.state is None
    assert len(result.messages) == 1
    text = result.messages[0].text
    assert "Riverside Borough Council" in text
    assert f"{LIBRARY_TITLE} — Help us decide when the central library should be open." in text
    assert PARK_TITLE in text
    assert [(b.title, b.payload) for b in result.messages[0].buttons] == [
        (LIBRARY_TITLE, START_LIBRARY), (PARK_TITLE, START_PARK)]
    assert "Continue" not in text and "/resume" not in payloads(result)
    assert store.counts(citizen) == NOTHING


def test_start_by_payload_asks_consent_with_privacy_and_stores_nothing(
        citizen: Citizen, store: Store) -> None:
    result = citizen.press(START_LIBRARY)
    assert len(result.messages) == 1
    text = result.messages[0].text
    assert text.startswith(f"{LIBRARY_TITLE} (Riverside Borough Council, Libraries)")
    assert "We keep them for 365 days." in text
    assert "pseudonymous code" in text
    assert "Questions about your data: privacy@riverside.example." in text
    assert text.endswith("Do you agree to take part?")
    assert payloads(result) == ["/affirm", "/deny"]
    assert result.state is not None and result.state["mode"] == "consent"
    assert result.state["slug"] == LIBRARY
    assert result.erase_conversation is False
    assert store.counts(citizen) == NOTHING
    assert store.total(Participant) == 0


def test_deny_consent_erases_conversation_and_stores_nothing(
        citizen: Citizen, store: Store) -> None:
    citizen.press(START_LIBRARY)
    result = citizen.press("/deny")
    assert result.erase_conversation is True
    assert result.state is None
    assert "Nothing about you has been stored" in text_of(result)
    assert store.counts(citizen) == NOTHING
    assert store.total(Participant) == 0


def test_unsure_consent_is_asked_again_without_storing(citizen: Citizen, store: Store) -> None:
    citizen.press(START_LIBRARY)
    result = citizen.say("maybe", intent="affirm", confidence=0.3)
    assert result.state is not None and result.state["mode"] == "consent"
    assert text_of(result) == "Please answer yes or no: do you agree to take part?"
    assert payloads(result) == ["/affirm", "/deny"]
    assert store.counts(citizen) == NOTHING


def test_affirm_creates_participation_and_asks_first_question(
        citizen: Citizen, store: Store) -> None:
    citizen.press(START_LIBRARY)
    result = citizen.press("/affirm")
    assert result.messages[0].text == "Thank you! Let’s begin."
    lines = last_question_lines(result)
    assert lines[:2] == ["Question 1 of 8", Q_VISITS]
    assert COMMANDS_HELP in lines  # first-time hint
    # Options as buttons; the first question offers no Back and, required, no Skip.
    assert payloads(result) == [payload("choose", choice=f"visits:{i}") for i in range(1, 5)]
    participation = store.participation(citizen)
    assert participation.status == "active"
    assert participation.consent_at is not None
    assert participation.participant_id == citizen.key
    assert result.state == {"mode": "participation", "participation_id": participation.id}
    assert store.answers(citizen) == {}
    # The consent notice the citizen agreed to is part of the transcript.
    outgoing = [entry.text for entry in store.transcript(citizen, "out")]
    assert "We keep them for 365 days." in outgoing[0]
    assert [e.text for e in store.transcript(citizen, "in")] == ["/affirm"]
    # In the order it was said: the notice, the consent, then the bot's reply.
    with session_scope(store.url) as session:
        said = session.execute(select(TranscriptEntry.direction, TranscriptEntry.text)
                               .where(TranscriptEntry.participation_id == participation.id)
                               .order_by(TranscriptEntry.id)).all()
    assert [direction for direction, _ in said[:3]] == ["out", "in", "out"]
    assert said[1].text == "/affirm"


def test_participant_key_is_pseudonymous(citizen: Citizen, store: Store) -> None:
    citizen.start()
    participation = store.participation(citizen)
    assert citizen.sender not in participation.participant_id
    assert len(participation.participant_id) == 64


# ---------------------------------------------------------------------------- answering
def test_answer_by_button_payload(citizen: Citizen, store: Store) -> None:
    citizen.start()
    result = citizen.choose("visits:2")
    assert store.answers(citizen) == {"visits": ("answered", "Monthly")}
    assert last_question_lines(result)[:2] == ["Question 2 of 7", Q_TIMES]
    assert result.state is not None and result.state["mode"] == "participation"


@pytest.mark.parametrize(("typed", "stored"), [
    ("2", "Monthly"),
    ("number 3", "A few times a year"),
    ("two", "Monthly"),
    ("Monthly", "Monthly"),
    ("weekly or more", "Weekly or more"),
    ("Monthy", "Monthly"),
    ("Rarley or never", "Rarely or never"),
])
def test_typed_answers_to_a_choice_question(
        citizen: Citizen, store: Store, typed: str, stored: str) -> None:
    citizen.start()
    citizen.say(typed)
    assert store.answers(citizen) == {"visits": ("answered", stored)}
    assert store.raw_text(citizen, "visits") == typed


def test_typed_answer_that_matches_nothing_is_explained_and_asked_again(
        citizen: Citizen, store: Store) -> None:
    citizen.start()
    result = citizen.say("purple", intent="inform", confidence=0.6)
    text = text_of(result)
    assert "Please choose one of the options (you can type its number)" in text
    assert "2. Monthly" in text
    assert last_question_lines(result)[:2] == ["Question 1 of 8", Q_VISITS]
    assert store.answers(citizen) == {}


def test_typed_scale_and_misspelt_single_choice(citizen: Citizen, store: Store) -> None:
    at_evenings(citizen)
    result = citizen.say("4 out of 5")
    assert last_question_lines(result)[1] == Q_TRADE_OFF
    citizen.say("sunday afternon openning")
    answers = store.answers(citizen)
    assert answers["evenings"] == ("answered", 4)
    assert answers["trade_off"] == ("answered", "Sunday afternoon opening")


@pytest.mark.parametrize(("choice", "next_text", "position"), [
    ("visits:1", Q_TIMES, "Question 2 of 7"),
    ("visits:2", Q_TIMES, "Question 2 of 7"),
    ("visits:3", Q_BARRIERS, "Question 2 of 8"),
    ("visits:4", Q_BARRIERS, "Question 2 of 8"),
])
def test_branch_shows_barriers_only_for_infrequent_visitors(
        citizen: Citizen, choice: str, next_text: str, position: str) -> None:
    citizen.start()
    result = citizen.choose(choice)
    assert last_question_lines(result)[:2] == [position, next_text]


def test_changing_the_branch_answer_hides_the_stale_open_answer(
        citizen: Citizen, store: Store) -> None:
    citizen.start()
    citizen.choose("visits:4")
    citizen.say("The bus stops running before the library closes at night")
    result = citizen.press("/go_back")  # from preferred_times back to barriers
    assert Q_BARRIERS in text_of(result)
    result = citizen.press("/go_back")
    assert Q_VISITS in text_of(result)
    result = citizen.choose("visits:1")
    assert Q_TIMES in text_of(result)
    assert "Question 2 of 7" in text_of(result)
    # Finish and check the summary no longer shows the hidden question.
    citizen.choose("preferred_times:1")
    citizen.choose("preferred_times:done")
    citizen.press("/skip")
    citizen.choose("trade_off:5")
    citizen.choose("services:2")
    citizen.choose("services:done")
    citizen.say("Using the computers to apply for jobs in the evening")
    citizen.press("/skip")
    summary = text_of(citizen.press("/deny"))  # no quotes
    assert Q_BARRIERS not in summary
    assert "1. How often do you visit the central library?\n   → Weekly or more" in summary


# ---------------------------------------------------------------------------- probes
def test_vague_open_answer_gets_one_probe_combined_with_the_follow_up(
        citizen: Citizen, store: Store) -> None:
    citizen.start()
    citizen.choose("visits:3")
    result = citizen.say("not sure", intent="deny", confidence=0.8)
    assert [m.text for m in result.messages] == [BARRIERS_PROBE]
    assert store.answers(citizen)["barriers"] == ("answered", "not sure")
    result = citizen.say("The library shuts at 5pm, before I get home from work")
    assert store.answers(citizen)["barriers"] == (
        "answered", "not sure — The library shuts at 5pm, before I get home from work")
    assert store.raw_text(citizen, "barriers") == (
        "not sure\nThe library shuts at 5pm, before I get home from work")
    assert last_question_lines(result)[1] == Q_TIMES
    assert BARRIERS_PROBE not in text_of(result)


def test_probe_is_asked_only_once_even_for_a_vague_follow_up(
        citizen: Citizen, store: Store) -> None:
    citizen.start()
    citizen.choose("visits:4")
    assert text_of(citizen.say("parking", intent="inform", confidence=0.4)) == BARRIERS_PROBE
    result = citizen.say("meh", intent="inform", confidence=0.5)
    assert BARRIERS_PROBE not in text_of(result)
    assert last_question_lines(result)[1] == Q_TIMES
    assert store.answers(citizen)["barriers"] == ("answered", "parking — meh")


def test_declining_the_probe_keeps_the_first_answer(citizen: Citizen, store: Store) -> None:
    citizen.start()
    citizen.choose("visits:4")
    citizen.say("opening times")
    result = citizen.say("no", intent="deny", confidence=0.99)
    assert store.answers(citizen)["barriers"] == ("answered", "opening times")
    assert last_question_lines(result)[1] == Q_TIMES


def test_skipping_the_probe_keeps_the_answer_and_moves_on(
        citizen: Citizen, store: Store) -> None:
    citizen.start()
    citizen.choose("visits:4")
    citizen.say("buses")
    result = citizen.say("skip", intent="skip", confidence=0.999)
    assert "can’t be skipped" not in text_of(result)
    assert store.answers(citizen)["barriers"] == ("answered", "buses")
    assert last_question_lines(result)[1] == Q_TIMES


def test_specific_open_answer_is_not_probed(citizen: Citizen, store: Store) -> None:
    citizen.start()
    citizen.choose("visits:3")
    result = citizen.say("It is never open when I finish my shift at the hospital")
    assert BARRIERS_PROBE not in text_of(result)
    assert last_question_lines(result)[1] == Q_TIMES


# ---------------------------------------------------------------------------- skip and commands
def test_low_confidence_skip_like_text_in_open_question_is_an_answer(
        citizen: Citizen, store: Store) -> None:
    citizen.start()
    citizen.choose("visits:4")
    text = "I often skip it, no buses"  # short, with a command word: only confidence decides
    result = citizen.say(text, intent="skip", confidence=0.55)
    assert store.answers(citizen)["barriers"] == ("answered", text)
    assert last_question_lines(result)[1] == Q_TIMES


def test_confident_skip_on_optional_question_skips_it(citizen: Citizen, store: Store) -> None:
    at_evenings(citizen)
    result = citizen.say("skip", intent="skip", confidence=0.99)
    assert store.answers(citizen)["evenings"] == ("skipped", None)
    assert last_question_lines(result)[1] == Q_TRADE_OFF


def test_skip_button_on_optional_question(citizen: Citizen, store: Store) -> None:
    result = at_evenings(citizen)
    assert "/skip" in payloads(result)
    assert "(optional)" in text_of(result)
    citizen.press("/skip")
    assert store.answers(citizen)["evenings"] == ("skipped", None)


@pytest.mark.parametrize("where", ["choice", "open"])
def test_confident_skip_on_required_question_is_refused(
        citizen: Citizen, store: Store, where: str) -> None:
    citizen.start()
    before: dict[str, Any] = {}
    question = Q_VISITS
    if where == "open":
        citizen.choose("visits:4")
        before = {"visits": ("answered", "Rarely or never")}
        question = Q_BARRIERS
    result = citizen.say("skip", intent="skip", confidence=0.99)
    assert "This question needs an answer, so it can’t be skipped." in text_of(result)
    assert last_question_lines(result)[1] == question
    assert "/skip" not in payloads(result)
    assert store.answers(citizen) == before


def test_over_confident_command_without_command_words_is_an_open_answer(
        citizen: Citizen, store: Store) -> None:
    citizen.start()
    citizen.choose("visits:4")
    result = citizen.say("time", intent="repeat", confidence=0.95)
    assert store.answers(citizen)["barriers"] == ("answered", "time")
    assert text_of(result) == BARRIERS_PROBE  # a vague answer, so the probe follows


def test_command_with_command_words_in_open_question_is_a_command(
        citizen: Citizen, store: Store) -> None:
    citizen.start()
    citizen.choose("visits:4")
    result = citizen.say("what was the question again?", intent="repeat", confidence=0.95)
    assert "barriers" not in store.answers(citizen)
    assert last_question_lines(result)[1] == Q_BARRIERS


def test_go_back_shows_the_current_answer(citizen: Citizen, store: Store) -> None:
    at_times(citizen)
    result = citizen.press("/go_back")
    lines = last_question_lines(result)
    assert lines[:2] == ["Question 1 of 7", Q_VISITS]
    assert "Your current answer: Monthly" in lines
    result = citizen.say("weekly")
    assert last_question_lines(result)[1] == Q_TIMES
    assert store.answers(citizen)["visits"] == ("answered", "Weekly or more")
    assert store.revisions(citizen, "visits") == [("answered", "Monthly")]


def test_go_back_on_the_first_question(citizen: Citizen, store: Store) -> None:
    citizen.start()
    result = citizen.say("go back", intent="go_back", confidence=0.97)
    assert "This is the first question." in text_of(result)
    assert last_question_lines(result)[1] == Q_VISITS


def test_repeat_re_asks_without_storing(citizen: Citizen, store: Store) -> None:
    at_times(citizen)
    before = store.answers(citizen)
    result = citizen.say("repeat", intent="repeat", confidence=0.99)
    assert len(result.messages) == 1
    assert last_question_lines(result)[:2] == ["Question 2 of 7", Q_TIMES]
    assert store.answers(citizen) == before
    assert result.state == citizen.state and result.state is not None


def test_help_shows_the_question_help(citizen: Citizen) -> None:
    citizen.start()
    result = citizen.say("help", intent="help", confidence=0.98)
    assert result.messages[0].text == f"{VISITS_HELP}\n{COMMANDS_HELP}"
    assert last_question_lines(result)[1] == Q_VISITS
    citizen.choose("visits:2")
    result = citizen.say("I'm confused, help", intent="help", confidence=0.9)
    assert result.messages[0].text == f"{TIMES_HELP}\n{COMMANDS_HELP}"


def test_help_without_question_help_shows_commands(citizen: Citizen) -> None:
    at_evenings(citizen)
    result = citizen.say("help", intent="help", confidence=0.98)
    assert result.messages[0].text == COMMANDS_HELP
    assert last_question_lines(result)[1] == Q_EVENINGS


def test_bot_challenge_in_a_question(citizen: Citizen, store: Store) -> None:
    citizen.start()
    result = citizen.say("am I talking to a bot?", intent="bot_challenge", confidence=0.97)
    assert "automated assistant run by Riverside Borough Council" in text_of(result)
    assert store.answers(citizen) == {}


# ---------------------------------------------------------------------------- pause, resume
def test_pause_then_resume_continues_at_the_same_question(
        citizen: Citizen, store: Store) -> None:
    at_times(citizen)
    result = citizen.say("pause", intent="pause", confidence=0.99)
    assert result.state is None
    assert "Paused. Your answers so far are saved." in text_of(result)
    assert store.participation(citizen).status == "paused"
    assert store.answers(citizen) == {"visits": ("answered", "Monthly")}

    welcome = citizen.welcome()
    assert f"You paused “{LIBRARY_TITLE}”" in text_of(welcome)
    assert payloads(welcome)[0] == "/resume"

    assert citizen.state is None
    result = citizen.say("resume", intent="resume", confidence=0.97)
    assert result.messages[0].text.startswith(f"Welcome back to “{LIBRARY_TITLE}”.")
    assert last_question_lines(result)[:2] == ["Question 2 of 7", Q_TIMES]
    participation = store.participation(citizen)
    assert participation.status == "active"
    assert result.state == {"mode": "participation", "participation_id": participation.id}
    citizen.choose("preferred_times:4")
    citizen.choose("preferred_times:done")
    assert store.answers(citizen)["preferred_times"] == ("answered", ["Saturdays"])


def test_starting_a_paused_consultation_resumes_without_new_consent(
        citizen: Citizen, store: Store) -> None:
    at_times(citizen)
    citizen.say("I have to go, pause please", intent="pause", confidence=0.95)
    result = citizen.press(START_LIBRARY)
    assert "Do you agree" not in text_of(result)
    assert last_question_lines(result)[1] == Q_TIMES
    assert len(store.participations(citizen)) == 1


def test_resume_when_nothing_is_unfinished(citizen: Citizen, store: Store) -> None:
    result = citizen.say("resume", intent="resume", confidence=0.97)
    assert result.messages[0].text == "You’re not in a consultation at the moment."
    assert payloads(result) == [START_LIBRARY]
    assert result.state is None
    assert store.counts(citizen) == NOTHING


# ---------------------------------------------------------------------------- multi choice
def test_multi_choice_toggles_pending_selections(citizen: Citizen, store: Store) -> None:
    at_times(citizen)
    result = citizen.choose("preferred_times:1")
    assert "Selected so far: Early mornings (before 10am)" in text_of(result)
    titles = [b.title for b in result.messages[-1].buttons]
    assert titles[0] == "✓ Early mornings (before 10am)"
    assert titles[2] == "Evenings (after 6pm)"
    assert store.answers(citizen) == {"visits": ("answered", "Monthly")}  # nothing yet

    result = citizen.choose("preferred_times:3")
    assert "Selected so far: Early mornings (before 10am), Evenings (after 6pm)" in text_of(result)
    result = citizen.choose("preferred_times:1")  # pressed again: deselected
    assert "Selected so far: Evenings (after 6pm)" in text_of(result)
    result = citizen.choose("preferred_times:done")
    assert store.answers(citizen)["preferred_times"] == ("answered", ["Evenings (after 6pm)"])
    assert last_question_lines(result)[1] == Q_EVENINGS


def test_multi_choice_enforces_max_choices_on_buttons(citizen: Citizen, store: Store) -> None:
    at_times(citizen)
    for index in (5, 1, 2):
        citizen.choose(f"preferred_times:{index}")
    result = citizen.choose("preferred_times:4")
    assert "You can choose up to 3." in text_of(result)
    assert "Saturdays" not in text_of(result).split("Selected so far:")[1]
    citizen.choose("preferred_times:done")
    # Stored in option order, whatever order they were pressed in.
    assert store.answers(citizen)["preferred_times"] == (
        "answered", ["Early mornings (before 10am)", "Weekday daytime", "Sundays"])


def test_multi_choice_typed_list_over_the_limit_is_refused(
        citizen: Citizen, store: Store) -> None:
    at_times(citizen)
    result = citizen.say("1, 2, 3, 4")
    assert "Please choose at most 3 options (you picked 4)." in text_of(result)
    assert "preferred_times" not in store.answers(citizen)
    citizen.say("saturdays and sundays")
    assert store.answers(citizen)["preferred_times"] == ("answered", ["Saturdays", "Sundays"])


def test_multi_choice_done_without_selection_on_required_question(
        citizen: Citizen, store: Store) -> None:
    at_times(citizen)
    result = citizen.choose("preferred_times:done")
    assert "Please choose at least one option." in text_of(result)
    assert "preferred_times" not in store.answers(citizen)
    assert last_question_lines(result)[1] == Q_TIMES


@pytest.mark.parametrize(("typed", "intent", "confidence"), [
    ("done", "deny", 0.976),  # what the trained NLU model says
    ("Done!", "inform", 0.6),
    ("next", "skip", 0.999),  # NLU: skip, but with selections it means "finished"
    ("that's all", "goodbye", 0.999),  # NLU: goodbye, but it must not pause
])
def test_typed_done_word_finishes_pending_multi_choice(
        citizen: Citizen, store: Store, typed: str, intent: str, confidence: float) -> None:
    at_times(citizen)
    citizen.choose("preferred_times:2")
    citizen.choose("preferred_times:4")
    result = citizen.say(typed, intent=intent, confidence=confidence)
    assert store.answers(citizen)["preferred_times"] == (
        "answered", ["Weekday daytime", "Saturdays"])
    assert last_question_lines(result)[1] == Q_EVENINGS
    assert store.participation(citizen).status == "active"


def test_pending_selection_survives_a_repeat(citizen: Citizen, store: Store) -> None:
    at_times(citizen)
    citizen.choose("preferred_times:2")
    result = citizen.say("say that again", intent="repeat", confidence=0.95)
    assert "Selected so far: Weekday daytime" in text_of(result)
    citizen.choose("preferred_times:done")
    assert store.answers(citizen)["preferred_times"] == ("answered", ["Weekday daytime"])


def test_stale_button_for_another_question_is_refused(citizen: Citizen, store: Store) -> None:
    at_times(citizen)
    result = citizen.choose("visits:3")
    assert result.messages[0].text == "That button belongs to another question."
    assert last_question_lines(result)[1] == Q_TIMES
    assert store.answers(citizen) == {"visits": ("answered", "Monthly")}
    assert store.revisions(citizen, "visits") == []


# ---------------------------------------------------------------------------- end phases
def test_quote_consent_is_asked_when_there_is_an_open_answer(
        citizen: Citizen, store: Store) -> None:
    at_reasons(citizen)
    citizen.say("Studying after work and borrowing books for my children")
    result = citizen.press("/skip")
    assert text_of(result).startswith(
        "One last thing: may Riverside Borough Council quote your words anonymously")
    assert payloads(result) == ["/affirm", "/deny"]
    assert store.participation(citizen).quote_consent is None
    result = citizen.say("hmm", intent="inform", confidence=0.4)
    assert "Please answer yes or no." in text_of(result)
    result = citizen.say("yes", intent="affirm", confidence=0.98)
    assert store.participation(citizen).quote_consent is True
    assert text_of(result).startswith("Here is a summary of your answers:")


def test_no_quote_consent_without_open_answers(url: str, engine: ConversationEngine,
                                               store: Store) -> None:
    launch(url, PARK_FILE)
    park = Citizen(engine, "park-visitor")
    park.press(START_PARK)
    park.press("/affirm")
    park.choose("park_use:1")  # not_visiting hidden
    park.choose("activities:1")
    park.choose("activities:done")
    park.choose("priorities:3")
    park.choose("priorities:done")
    park.choose("access:2")  # access_needs hidden
    park.choose("after_dark:3")
    park.choose("dogs:2")
    result = park.press("/skip")  # anything_else
    # The profile questions come last, after a sentence saying why they are asked.
    assert text_of(result).startswith(PROFILE_WHY)
    assert "Which age group are you in? (optional)" in text_of(result)
    result = park.choose("age_band:4")
    assert PROFILE_WHY not in text_of(result) and "Where do you live?" in text_of(result)
    result = park.press("/skip")  # area
    assert "quote" not in text_of(result)
    assert text_of(result).startswith("Here is a summary of your answers:")
    assert "65 or over" in text_of(result)
    assert store.participation(park).quote_consent is None


def test_summary_change_answer_by_typed_number(citizen: Citizen, store: Store) -> None:
    result = at_summary(citizen)
    summary = text_of(result)
    assert f"3. {Q_EVENINGS}\n   → 4" in summary
    assert f"2. {Q_TIMES}\n   → Evenings (after 6pm)" in summary
    assert f"8. {Q_ANYTHING}\n   → (skipped)" not in summary  # only 7 visible questions
    assert f"7. {Q_ANYTHING}\n   → (skipped)" in summary
    assert payloads(result) == ["/submit", "/change_answer"]

    result = citizen.press("/change_answer")
    assert "Which answer would you like to change?" in text_of(result)
    assert payload("choose", choice="change:evenings") in payloads(result)
    assert payload("choose", choice="change:barriers") not in payloads(result)

    result = citizen.say("3")
    lines = last_question_lines(result)
    assert lines[1] == Q_EVENINGS
    assert "Your current answer: 4" in lines
    assert citizen.state is not None

    result = citizen.say("5")
    assert text_of(result).startswith("Here is a summary of your answers:")
    assert f"3. {Q_EVENINGS}\n   → 5" in text_of(result)
    assert "quote" not in text_of(result)  # already answered, not asked again
    assert store.answers(citizen)["evenings"] == ("answered", 5)
    assert store.revisions(citizen, "evenings") == [("answered", 4)]
    assert store.participation(citizen).state == {"phase": "summary"}


def test_change_answer_by_button_then_submit(citizen: Citizen, store: Store) -> None:
    at_summary(citizen)
    citizen.press("/change_answer")
    result = citizen.choose("change:visits")
    assert "Your current answer: Monthly" in text_of(result)
    # Changing the branch answer opens the barriers question before the summary.
    result = citizen.choose("visits:4")
    assert last_question_lines(result)[1] == Q_BARRIERS
    result = citizen.say("The library is closed whenever I am free to go there")
    assert text_of(result).startswith("Here is a summary of your answers:")
    assert f"2. {Q_BARRIERS}\n   → The library is closed" in text_of(result)


def test_change_menu_refuses_an_unknown_number(citizen: Citizen) -> None:
    at_summary(citizen)
    citizen.press("/change_answer")
    result = citizen.say("12")
    assert "Please pick the question to change by its number." in text_of(result)


def test_submit_completes_with_the_outcome(citizen: Citizen, store: Store) -> None:
    at_summary(citizen)
    result = citizen.press("/submit")
    text = text_of(result)
    assert text.startswith("Thank you! Your answers have been submitted.")
    assert "What happens next: We will publish a summary of what we heard" in text
    assert "by March 2027" in text
    assert "tell you what the council decides" in text
    assert payloads(result)[-2:] == ['/choose{"choice":"follow_up:yes"}',
                                     '/choose{"choice":"follow_up:no"}']
    assert result.state == {"mode": "follow_up",
                            "participation_id": store.participation(citizen).id}
    participation = store.participation(citizen)
    assert participation.status == "completed"
    assert participation.finished_at is not None
    assert set(store.answers(citizen)) == {
        "visits", "preferred_times", "evenings", "trade_off", "services", "hours_reasons",
        "anything_else"}
    # A completed consultation is not offered for resuming.
    assert "/resume" not in payloads(citizen.welcome())


def test_hearing_back_the_outcome_on_the_next_message(
        url: str, citizen: Citizen, store: Store) -> None:
    from bot.review.outcomes import loop_figures, publish_outcome

    at_summary(citizen)
    citizen.press("/submit")
    assert "we’ll let you know" in text_of(citizen.choose("follow_up:yes"))
    assert citizen.state is None
    with session_scope(url) as session:
        consultation = repository.get_consultation(session, LIBRARY)
        assert consultation is not None
        publish_outcome(session, consultation.id, "From May the library opens until 8pm.",
                        None)
        assert loop_figures(session, consultation.id).told == 0
    news = citizen.say("hello", intent="greet")
    assert text_of(news).startswith("An update on “Shaping our library opening hours”")
    assert "until 8pm" in text_of(news)
    again = citizen.say("hello", intent="greet")
    assert "until 8pm" not in text_of(again)  # told once
    with session_scope(url) as session:
        consultation = repository.get_consultation(session, LIBRARY)
        assert consultation is not None
        figures = loop_figures(session, consultation.id)
    assert (figures.asked, figures.told) == (1, 1)


def test_an_outcome_waits_while_the_citizen_answers_another_consultation(
        url: str, citizen: Citizen) -> None:
    from bot.review.outcomes import publish_outcome

    launch(url, PARK_FILE)
    at_summary(citizen)
    citizen.press("/submit")
    citizen.choose("follow_up:yes")
    citizen.press(START_PARK)
    assert "How often do you visit Millbrook Park?" in text_of(citizen.press("/affirm"))
    with session_scope(url) as session:
        consultation = repository.get_consultation(session, LIBRARY)
        assert consultation is not None
        publish_outcome(session, consultation.id, "From May the library opens until 8pm.",
                        None)
    during = citizen.say("Weekly", intent="inform")
    assert "until 8pm" not in text_of(during)
    assert citizen.state is not None and citizen.state["mode"] == "participation"
    citizen.say("let's stop here", intent="pause")
    after = citizen.say("hello", intent="greet")
    assert text_of(after).startswith("An update on “Shaping our library opening hours”")


def test_declining_to_hear_back_records_nothing(url: str, citizen: Citizen) -> None:
    from bot.review.outcomes import pending_notices, publish_outcome

    at_summary(citizen)
    citizen.press("/submit")
    assert "No problem" in text_of(citizen.press("/deny"))
    with session_scope(url) as session:
        consultation = repository.get_consultation(session, LIBRARY)
        assert consultation is not None
        publish_outcome(session, consultation.id, "Done.", None)
        assert pending_notices(session) == []


# ---------------------------------------------------------------------------- retries
def test_duplicate_message_id_changes_nothing_and_re_asks(
        citizen: Citizen, store: Store) -> None:
    citizen.start()
    first = citizen.say("2", message_id="msg-42")
    assert last_question_lines(first)[1] == Q_TIMES
    state = citizen.state
    incoming = len(store.transcript(citizen, "in"))
    # The same delivery again: "2" must not become an answer to preferred_times.
    result = citizen.say("2", message_id="msg-42")
    assert last_question_lines(result)[:2] == ["Question 2 of 7", Q_TIMES]
    assert store.answers(citizen) == {"visits": ("answered", "Monthly")}
    assert store.revisions(citizen, "visits") == []
    assert len(store.transcript(citizen, "in")) == incoming
    assert result.state == state


def test_a_turn_that_fails_half_way_stores_nothing_and_its_redelivery_moves_on(
        citizen: Citizen, store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """A turn is stored whole or not at all: when the database fails after the answer was
    written (here: choosing the next question), the message is sent again with the same id
    and must be taken as new, not answered with the question it already answered."""
    citizen.start()
    incoming = len(store.transcript(citizen, "in"))

    def database_gone(*args: object, **kwargs: object) -> None:
        raise ConnectionError("server closed the connection unexpectedly")

    with monkeypatch.context() as patched:
        patched.setattr(QuestionnaireMode, "advance", database_gone)
        with pytest.raises(ConnectionError):
            citizen.say("2", message_id="msg-7")
    assert store.answers(citizen) == {}
    assert len(store.transcript(citizen, "in")) == incoming
    result = citizen.say("2", message_id="msg-7")
    assert last_question_lines(result)[:2] == ["Question 2 of 7", Q_TIMES]
    assert store.answers(citizen) == {"visits": ("answered", "Monthly")}


# ---------------------------------------------------------------------------- forget me
def test_forget_me_then_deny_keeps_data_and_re_asks(citizen: Citizen, store: Store) -> None:
    at_times(citizen)
    result = citizen.say("forget me", intent="forget_me", confidence=0.98)
    assert "It cannot be undone. Are you sure?" in text_of(result)
    assert payloads(result) == ["/affirm", "/deny"]
    participation = store.participation(citizen)
    assert result.state == {"mode": "confirm_forget",
                            "back": {"mode": "participation",
                                     "participation_id": participation.id}}
    result = citizen.press("/deny")
    assert result.messages[0].text == "OK, nothing has been deleted."
    assert last_question_lines(result)[1] == Q_TIMES
    assert result.state == {"mode": "participation", "participation_id": participation.id}
    assert store.answers(citizen) == {"visits": ("answered", "Monthly")}
    citizen.choose("preferred_times:1")
    citizen.choose("preferred_times:done")
    assert "preferred_times" in store.answers(citizen)


def test_forget_me_confirmation_needs_yes_or_no(citizen: Citizen, store: Store) -> None:
    at_times(citizen)
    citizen.say("delete my data", intent="forget_me", confidence=0.98)
    result = citizen.say("what?", intent="nlu_fallback", confidence=0.3)
    assert "Please answer yes or no." in text_of(result)
    assert citizen.state is not None and citizen.state["mode"] == "confirm_forget"
    assert store.counts(citizen)["answers"] == 1


def test_forget_me_then_affirm_erases_everything(
        engine: ConversationEngine, citizen: Citizen, store: Store) -> None:
    other = Citizen(engine, "someone-else")
    other.start()
    other.choose("visits:1")
    at_summary(citizen)
    citizen.press("/change_answer")
    citizen.choose("change:evenings")
    citizen.say("2")  # leaves an AnswerRevision
    assert store.counts(citizen)["revisions"] == 1
    result = citizen.say("forget me", intent="forget_me", confidence=0.98)
    assert citizen.state is not None and citizen.state["mode"] == "confirm_forget"
    result = citizen.press("/affirm")
    assert result.erase_conversation is True
    assert result.state is None
    assert "your answers and conversations have been deleted" in text_of(result)
    assert store.counts(citizen) == NOTHING
    # Someone else's answers are untouched.
    assert store.answers(other) == {"visits": ("answered", "Weekly or more")}


def test_forget_me_from_idle(citizen: Citizen, store: Store) -> None:
    citizen.start()
    citizen.choose("visits:2")
    citizen.say("pause", intent="pause", confidence=0.99)
    assert citizen.state is None
    result = citizen.say("please delete everything about me", intent="forget_me",
                         confidence=0.96)
    assert citizen.state == {"mode": "confirm_forget", "back": None}
    result = citizen.press("/affirm")
    assert result.erase_conversation is True
    assert store.counts(citizen) == NOTHING


# ---------------------------------------------------------------------------- closing, starting
def test_consultation_closed_mid_way_keeps_answers(
        url: str, citizen: Citizen, store: Store) -> None:
    at_times(citizen)
    close(url, LIBRARY)
    result = citizen.choose("preferred_times:1")
    assert text_of(result) == ("This consultation has closed, so it no longer takes answers. "
                               "What you told us so far is kept. Thank you!")
    assert result.state is None
    assert store.answers(citizen) == {"visits": ("answered", "Monthly")}
    assert store.participation(citizen).status == "paused"


def test_consultation_closed_during_consent_stores_nothing(
        url: str, citizen: Citizen, store: Store) -> None:
    citizen.press(START_LIBRARY)
    close(url, LIBRARY)
    result = citizen.press("/affirm")
    assert "Sorry, this consultation has just closed." in text_of(result)
    assert result.erase_conversation is True
    assert store.counts(citizen) == NOTHING


def test_start_unknown_consultation_is_explained_with_welcome_buttons(
        citizen: Citizen, store: Store) -> None:
    result = citizen.press(payload("start_consultation", consultation="no-such-thing"))
    assert result.messages[0].text == "I couldn’t find a consultation called “no-such-thing”."
    assert payloads(result) == [START_LIBRARY]
    assert "These consultations are open:" in result.messages[1].text
    assert result.state is None
    assert store.counts(citizen) == NOTHING


def test_start_closed_consultation_is_explained_with_welcome_buttons(
        url: str, citizen: Citizen, store: Store) -> None:
    launch(url, PARK_FILE)
    close(url, PARK)
    result = citizen.press(START_PARK)
    assert result.messages[0].text == (f"“{PARK_TITLE}” is closed and no longer takes "
                                       "answers.")
    assert payloads(result) == [START_LIBRARY]
    assert PARK_TITLE not in result.messages[1].text
    assert result.state is None
    assert store.counts(citizen) == NOTHING


def test_typed_start_picks_the_only_open_consultation(citizen: Citizen) -> None:
    result = citizen.say("I'd like to take part", intent="start_consultation", confidence=0.9)
    assert result.state is not None and result.state["slug"] == LIBRARY
    assert "Do you agree to take part?" in text_of(result)


def test_typed_start_with_several_open_picks_by_name(url: str, citizen: Citizen) -> None:
    launch(url, PARK_FILE)
    result = citizen.say("Millbrook Park", intent="start_consultation", confidence=0.9)
    assert result.state is not None and result.state["slug"] == PARK
    unclear = Citizen(citizen.engine, "unsure")
    result = unclear.say("start", intent="start_consultation", confidence=0.9)
    assert result.state is None
    assert payloads(result) == [START_LIBRARY, START_PARK]


# ---------------------------------------------------------------------------- several people
def test_two_senders_do_not_see_each_others_state(
        engine: ConversationEngine, store: Store) -> None:
    alice = Citizen(engine, "alice")
    bob = Citizen(engine, "bob")
    alice.start()
    bob.start()
    assert alice.state != bob.state
    alice.choose("visits:2")
    result = bob.choose("visits:4")
    assert last_question_lines(result)[:2] == ["Question 2 of 8", Q_BARRIERS]
    assert store.answers(alice) == {"visits": ("answered", "Monthly")}
    assert store.answers(bob) == {"visits": ("answered", "Rarely or never")}
    assert store.participation(alice).id != store.participation(bob).id

    alice.say("pause", intent="pause", confidence=0.99)
    assert store.participation(alice).status == "paused"
    assert store.participation(bob).status == "active"
    # A newcomer is neither offered Alice's paused consultation nor able to resume it.
    carol = Citizen(engine, "carol")
    assert "/resume" not in payloads(carol.welcome())
    assert "You paused" not in text_of(carol.welcome())
    result = carol.say("resume", intent="resume", confidence=0.97)
    assert result.messages[0].text == "You’re not in a consultation at the moment."
    assert store.counts(carol) == NOTHING
    # The same sender id on another channel is another pseudonymous participant.
    alice_elsewhere = Citizen(engine, "alice", channel="telegram")
    result = alice_elsewhere.say("resume", intent="resume", confidence=0.97)
    assert result.state is None
    assert store.participation(alice).status == "paused"
