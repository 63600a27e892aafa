"""Service questions in the dialogue engine, with a real knowledge index (no Rasa):
answers with sources, declines and passing on, evidence trail, scoping, corrections."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.config import Settings
from bot.dialogue.engine import ConversationEngine
from bot.dialogue.messages import TurnResult
from bot.knowledge.ingest import ingest
from bot.knowledge.service import KnowledgeService
from bot.review.gaps import knowledge_gaps
from bot.store import repository
from bot.store.db import engine_for, migrate, session_scope
from bot.store.models import Answer, AnswerEvidence, KnowledgeQuery
from tests.unit.test_engine import (
    LIBRARY_FILE,
    SECRET,
    START_LIBRARY,
    Citizen,
    _Today,
    launch,
    payloads,
    text_of,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def knowledge_var(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo knowledge base indexed once for this module."""
    var = tmp_path_factory.mktemp("kb")
    url = f"sqlite:///{var / 'kb.db'}"
    migrate(url)
    with session_scope(url) as session:
        for folder in sorted((ROOT / "knowledge").iterdir()):
            ingest(session, [folder], folder.name, var)
    return var


@pytest.fixture
def engine(sqlite_url: str, knowledge_var: Path,
           monkeypatch: pytest.MonkeyPatch) -> Iterator[ConversationEngine]:
    monkeypatch.setattr(repository, "date", _Today)
    migrate(sqlite_url)
    launch(sqlite_url, LIBRARY_FILE)
    yield ConversationEngine(Settings(database_url=sqlite_url, secret_key=SECRET),
                             KnowledgeService(knowledge_var))
    engine_for(sqlite_url).dispose()


def queries(url: str) -> list[KnowledgeQuery]:
    with session_scope(url) as session:
        return list(session.scalars(select(KnowledgeQuery).order_by(KnowledgeQuery.id)))


def started(engine: ConversationEngine, sender: str = "citizen-1") -> Citizen:
    citizen = Citizen(engine, sender=sender)
    citizen.press(START_LIBRARY)
    citizen.press("/affirm")
    return citizen


def test_outside_a_consultation_a_question_is_answered_with_its_source(
        engine: ConversationEngine) -> None:
    citizen = Citizen(engine)
    result = citizen.say("is northgate library open on sundays?", intent="ask_service",
                         confidence=0.95)
    assert "Source: Library opening hours" in text_of(result)
    assert "11:00" in text_of(result)
    assert result.state is None
    (query,) = queries(engine.settings.database_url)
    assert query.answered and query.participation_id is None and query.collections == []


def test_uncovered_question_outside_is_declined_and_can_be_passed_on(
        engine: ConversationEngine) -> None:
    citizen = Citizen(engine)
    result = citizen.say("can I send a fax from the library?", intent="ask_service",
                         confidence=0.9)
    assert "documents don’t cover this" in text_of(result) and "Source" not in text_of(result)
    assert result.state is not None and result.state["mode"] == "forward"
    result = citizen.press("/affirm")
    assert "passed on" in text_of(result) and result.state is None
    (query,) = queries(engine.settings.database_url)
    assert not query.answered and query.forwarded


def test_a_word_the_documents_never_use_gets_the_closest_passage_with_a_caveat(
        engine: ConversationEngine) -> None:
    citizen = Citizen(engine)
    result = citizen.say("is there lost property for umbrellas at central library?",
                         intent="ask_service", confidence=0.9)
    text = text_of(result)
    assert text.startswith("I’m not sure, but this may answer it:")
    assert "lost property" in text.lower()
    assert "Source:" in text
    assert text.index("Source:") < text.index("pass your question on")
    assert result.state is not None and result.state["mode"] == "forward"
    (query,) = queries(engine.settings.database_url)
    assert not query.answered and query.hits  # a knowledge gap, with what was shown


def test_backstory_before_the_question_does_not_stop_the_answer(
        engine: ConversationEngine) -> None:
    citizen = Citizen(engine)
    text = text_of(citizen.say("i left my umbrella at central library yesterday, is there "
                               "lost property?", intent="ask_service", confidence=0.9))
    assert "not sure" not in text and "don’t cover" not in text
    assert "lost property" in text.lower() and "Source:" in text
    (query,) = queries(engine.settings.database_url)
    assert query.answered


def test_a_side_word_on_a_clearly_covered_topic_does_not_withhold_the_passage(
        engine: ConversationEngine) -> None:
    citizen = Citizen(engine)
    text = text_of(citizen.say("my nan wants to know if northgate library is open on sundays",
                               intent="ask_service", confidence=0.9))
    assert "this may answer it:" in text and "Source: Library opening hours" in text


def test_question_at_a_choice_question_is_answered_then_reasked_and_becomes_evidence(
        engine: ConversationEngine) -> None:
    citizen = started(engine)
    result = citizen.say("how much does colour printing cost?", intent="ask_service",
                         confidence=0.7)
    text = text_of(result)
    assert "Source:" in text and "50p" in text
    assert "Question 1 of" in text  # back at the same question
    (query,) = queries(engine.settings.database_url)
    assert query.answered and query.question_key == "visits"
    assert query.collections == ["libraries"]
    assert all(hit["collection"] == "libraries" for hit in query.hits)
    citizen.say("monthly")
    with session_scope(engine.settings.database_url) as session:
        linked = session.execute(select(AnswerEvidence.query_id)).scalars().all()
        assert linked == [query.id]


def press_missed(citizen: Citizen, answer: TurnResult) -> TurnResult:
    """Press the answer's "That didn't answer it" button."""
    (missed,) = [p for p in payloads(answer) if "missed:" in p]
    return citizen.press(missed)


def test_a_citizen_can_say_an_answer_missed_and_it_becomes_a_passed_on_gap(
        engine: ConversationEngine) -> None:
    citizen = started(engine)
    result = press_missed(citizen, citizen.say("how much does colour printing cost?",
                                               intent="ask_service", confidence=0.9))
    assert "Sorry it didn’t help" in text_of(result) and "Question 1 of" in text_of(result)
    (query,) = queries(engine.settings.database_url)
    assert query.answered and query.disputed and query.forwarded
    with session_scope(engine.settings.database_url) as session:
        (gap,) = knowledge_gaps(session)
    assert gap.label == "how much does colour printing cost?" and gap.disputed == 1


def test_outside_a_consultation_an_answer_can_be_said_to_miss_too(
        engine: ConversationEngine) -> None:
    citizen = Citizen(engine)
    result = press_missed(citizen, citizen.say("is northgate library open on sundays?",
                                               intent="ask_service", confidence=0.95))
    assert "passed your question on to the council" in text_of(result)
    (query,) = queries(engine.settings.database_url)
    assert query.disputed and query.forwarded


def test_nobody_can_dispute_another_citizens_question(engine: ConversationEngine) -> None:
    asker = started(engine)
    answer = asker.say("how much does colour printing cost?", intent="ask_service",
                       confidence=0.9)
    press_missed(Citizen(engine, sender="someone-else"), answer)
    (query,) = queries(engine.settings.database_url)
    assert not query.disputed and not query.forwarded


def test_a_made_up_question_reference_does_nothing(engine: ConversationEngine) -> None:
    citizen = Citizen(engine)
    citizen.say("is northgate library open on sundays?", intent="ask_service", confidence=0.95)
    (query,) = queries(engine.settings.database_url)
    for choice in (f"missed:{query.id}", f"missed:{query.id}.0000", f"forward:{query.id}",
                   "missed:x.y", "missed:"):
        citizen.choose(choice)
    (query,) = queries(engine.settings.database_url)
    assert not query.disputed and not query.forwarded


def press_pass_on(citizen: Citizen, answer: TurnResult) -> TurnResult:
    """Press the answer's "Pass my question on" button."""
    (forward,) = [p for p in payloads(answer) if "forward:" in p]
    return citizen.press(forward)


UNCOVERED = "can I send a fax from the library?"


def test_pass_my_question_on_in_a_consultation_resumes_at_the_same_question(
        engine: ConversationEngine) -> None:
    citizen = started(engine)
    result = press_pass_on(citizen, citizen.say(UNCOVERED, intent="ask_service",
                                                confidence=0.9))
    assert "Thank you: I’ve passed your question on to" in text_of(result)
    assert "Question 1 of" in text_of(result)
    assert result.state is not None and result.state["mode"] == "participation"
    (query,) = queries(engine.settings.database_url)
    assert not query.answered and query.forwarded and not query.disputed


def test_a_pass_on_button_pressed_after_pausing_still_passes_the_question_on(
        engine: ConversationEngine) -> None:
    citizen = started(engine)
    answer = citizen.say(UNCOVERED, intent="ask_service", confidence=0.9)
    citizen.say("pause", intent="pause", confidence=0.99)
    result = press_pass_on(citizen, answer)
    assert "your question has been passed on to the council" in text_of(result)
    assert result.state is None
    (query,) = queries(engine.settings.database_url)
    assert query.forwarded and not query.disputed


def test_in_a_consultation_someone_elses_or_a_made_up_reference_does_nothing(
        engine: ConversationEngine) -> None:
    asker = started(engine)
    covered = asker.say("how much does colour printing cost?", intent="ask_service",
                        confidence=0.9)
    uncovered = asker.say(UNCOVERED, intent="ask_service", confidence=0.9)
    other = started(engine, sender="someone-else")  # in the consultation too
    result = press_missed(other, covered)
    assert "Sorry it didn’t help" in text_of(result) and "Question 1 of" in text_of(result)
    result = press_pass_on(other, uncovered)
    assert "passed your question on" in text_of(result) and "Question 1 of" in text_of(result)
    first, second = queries(engine.settings.database_url)
    for choice in (f"missed:{first.id}", f"missed:{first.id}.0000", f"forward:{second.id}",
                   "forward:x.y", "forward:"):
        assert "Question 1 of" in text_of(asker.choose(choice))
    assert [(q.disputed, q.forwarded) for q in queries(engine.settings.database_url)] == [
        (False, False), (False, False)]


def test_open_question_text_is_an_answer_unless_confidently_a_question(
        engine: ConversationEngine) -> None:
    citizen = started(engine)
    citizen.say("rarely or never")  # opens the open question "barriers"
    unsure = citizen.say("why do you close so early?", intent="ask_service", confidence=0.6)
    assert "Question 3 of" in text_of(unsure) or "tell me a bit more" in text_of(unsure)
    assert queries(engine.settings.database_url) == []


def test_that_was_my_answer_turns_the_question_into_the_answer(
        engine: ConversationEngine) -> None:
    citizen = started(engine)
    citizen.say("rarely or never")
    text = "how am I meant to get there when the last bus is at six?"
    result = citizen.say(text, intent="ask_service", confidence=0.93)
    button = next(p for p in payloads(result) if "was_answer" in p)
    result = citizen.press(button)
    assert "saved it as your answer" in text_of(result)
    with session_scope(engine.settings.database_url) as session:
        stored = session.scalars(select(Answer.value)).all()
        assert sorted(map(str, stored)) == sorted(["Rarely or never", text])
        assert session.scalar(select(func.count()).select_from(KnowledgeQuery)) == 0


def test_forget_me_erases_the_questions_and_evidence_too(engine: ConversationEngine) -> None:
    citizen = started(engine)
    citizen.say("how much does colour printing cost?", intent="ask_service", confidence=0.9)
    citizen.say("monthly")
    citizen.say("forget me", intent="forget_me", confidence=0.99)
    result = citizen.press("/affirm")
    assert result.erase_conversation
    with session_scope(engine.settings.database_url) as session:
        for model in (KnowledgeQuery, AnswerEvidence, Answer):
            assert session.scalar(select(func.count()).select_from(model)) == 0
