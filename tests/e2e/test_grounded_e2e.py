"""Service questions answered from the agency's documents, over REST with the real servers."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import delete, select

from bot.devtools.stack import Stack
from bot.knowledge import glossaries
from bot.review.gaps import knowledge_gaps
from bot.store.db import session_scope
from bot.store.models import Answer, AnswerEvidence, KnowledgeGlossary, KnowledgeQuery
from tests.e2e.helpers import answers_of, participation_of
from tests.e2e.test_consultation_e2e import start

pytestmark = pytest.mark.e2e


def queries_of(url: str, participation_id: int | None) -> list[KnowledgeQuery]:
    with session_scope(url) as session:
        return list(session.scalars(select(KnowledgeQuery)
                                    .where(KnowledgeQuery.participation_id == participation_id)
                                    .order_by(KnowledgeQuery.id)))


def test_question_mid_consultation_is_answered_with_source_and_resumes(stack: Stack) -> None:
    chat = stack.chat()
    start(chat)
    reply = chat.say("what time does the central library open on saturdays?")
    assert "Source:" in reply.text
    assert "Question 1 of" in reply.text  # back at the same question
    reply = chat.say("monthly")
    assert "Question 2 of" in reply.text
    participation = participation_of(stack.database_url, chat.sender)
    assert participation is not None
    (query,) = queries_of(stack.database_url, participation.id)
    assert query.answered and query.question_key == "visits"
    assert query.hits and all(hit["collection"] == "libraries" for hit in query.hits)
    assert query.top_score is not None and query.top_score >= 0.45
    with session_scope(stack.database_url) as session:
        evidence = session.execute(
            select(Answer.id, AnswerEvidence.query_id)
            .join(AnswerEvidence, AnswerEvidence.answer_id == Answer.id)
            .where(Answer.participation_id == participation.id)).all()
    assert [q for _, q in evidence] == [query.id]  # the evidence trail of the answer


def test_uncovered_question_is_declined_logged_and_can_be_passed_on(stack: Stack) -> None:
    chat = stack.chat()
    start(chat)
    reply = chat.say("can I send a fax from the library?")
    assert "documents don’t cover this" in reply.text and "Source:" not in reply.text
    assert "Question 1 of" in reply.text
    reply = chat.press("Pass my question on")
    assert "passed your question on" in reply.text and "Question 1 of" in reply.text
    participation = participation_of(stack.database_url, chat.sender)
    (query,) = queries_of(stack.database_url, participation.id)
    assert not query.answered and query.forwarded


def test_only_the_consultations_collections_are_searched(stack: Stack) -> None:
    chat = stack.chat()
    start(chat)  # the library consultation cites only "libraries"
    chat.say("are dogs allowed off the lead near the pond in the park?")
    participation = participation_of(stack.database_url, chat.sender)
    (query,) = queries_of(stack.database_url, participation.id)
    assert query.collections == ["libraries"]
    assert all(hit["collection"] == "libraries" for hit in query.hits)


def test_question_outside_a_consultation_searches_everything(stack: Stack) -> None:
    chat = stack.chat()
    reply = chat.say("are dogs allowed off the lead near the pond in millbrook park?")
    assert "Source:" in reply.text
    with session_scope(stack.database_url) as session:
        query = session.scalars(select(KnowledgeQuery).where(
            KnowledgeQuery.participation_id.is_(None)).order_by(KnowledgeQuery.id.desc())
        ).first()
    assert query is not None and query.answered
    assert query.hits[0]["collection"] == "parks"


def test_that_was_my_answer_stores_the_text_as_the_answer(stack: Stack) -> None:
    chat = stack.chat()
    start(chat)
    chat.say("rarely or never")  # opens the open "barriers" question
    text = "how can I get there when the buses stop at six?"
    reply = chat.say(text)
    if "That was my answer" not in [b["title"] for b in reply.buttons]:
        pytest.fail(f"expected the text to be taken as a service question first: {reply.text}")
    reply = chat.press("That was my answer")
    assert "saved it as your answer" in reply.text and "Question 3 of" in reply.text
    assert answers_of(stack.database_url, chat.sender)["barriers"] == ("answered", text)
    participation = participation_of(stack.database_url, chat.sender)
    assert queries_of(stack.database_url, participation.id) == []  # not a knowledge gap


def test_an_answer_the_citizen_says_missed_is_a_passed_on_gap(stack: Stack) -> None:
    chat = stack.chat()
    start(chat)
    reply = chat.say("what time does the central library open on saturdays?")
    assert "Source:" in reply.text
    reply = chat.press("That didn’t answer it")
    assert "Sorry it didn’t help" in reply.text and "Question 1 of" in reply.text
    participation = participation_of(stack.database_url, chat.sender)
    (query,) = queries_of(stack.database_url, participation.id)
    assert query.answered and query.disputed and query.forwarded
    with session_scope(stack.database_url) as session:
        # The latest unanswered question is this one (the shared stack is idle); other
        # tests' wordings of the same question would otherwise fill the gap's examples.
        (gap,) = knowledge_gaps(session, limit=1)
    assert gap.questions == ["what time does the central library open on saturdays?"]
    assert (gap.count, gap.disputed, gap.forwarded) == (1, 1, 1)


def test_an_admins_glossary_entry_turns_a_declined_question_into_an_answer_without_a_restart(
        stack: Stack) -> None:
    question = "when are the tot singalongs on at the library?"
    before = stack.chat()
    start(before)
    assert "documents don’t cover this" in before.say(question).text
    try:
        with session_scope(stack.database_url) as session:  # what the Knowledge page stores
            glossaries.save(session, "libraries", "tot singalongs: rhyme time\n")
        time.sleep(glossaries.CHECK_INTERVAL + 1)  # the action server re-reads it by then
        after = stack.chat()
        start(after)
        reply = after.say(question)
        assert "Source:" in reply.text and "don’t cover" not in reply.text
        assert "not sure" not in reply.text and "Question 1 of" in reply.text
    finally:
        with session_scope(stack.database_url) as session:
            session.execute(delete(KnowledgeGlossary))
