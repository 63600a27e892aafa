"""Hostile input on the real channels, one rule at a time (the chat fuzz,
``test_chat_fuzz_e2e.py``, throws everything at once): the size limit, the body limits,
malformed requests, cleaning before NLU and the store, Rasa's internal intents, and
payloads with odd entity values."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest
import socketio
from sqlalchemy import select, text

from bot.devtools.stack import Stack
from bot.store.db import session_scope
from bot.store.models import Answer, TranscriptEntry
from bot.text.limits import max_message_chars, too_long_reply
from tests.e2e.helpers import participation_of

pytestmark = pytest.mark.e2e
START_LIBRARY = '/start_consultation{"consultation":"library-hours-2027"}'


def post(stack: Stack, body: Any) -> httpx.Response:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return stack.client.post(f"{stack.rasa_url}/webhooks/rest/webhook", content=data,
                             headers={"Content-Type": "application/json"})


def tracker_texts(stack: Stack, sender: str) -> list[str]:
    """The texts of the sender's user messages in Rasa's tracker store."""
    with session_scope(stack.database_url) as session:
        rows = session.execute(text("SELECT data FROM events WHERE sender_id = :s AND "
                                    "type_name = 'user' ORDER BY id"), {"s": sender})
        return [json.loads(data).get("text") or "" for (data,) in rows]


def at_open_question(stack: Stack, sender: str) -> None:
    """``sender`` in the library consultation, at its open question ("barriers")."""
    chat = stack.chat(sender)
    chat.say("hello")
    chat.say(START_LIBRARY)
    chat.say("/affirm")
    assert "Question 2 of" in chat.say('/choose{"choice":"visits:4"}').text


def test_a_message_over_the_limit_gets_a_polite_reply_and_goes_no_further(
        stack: Stack) -> None:
    limit = max_message_chars()
    chat = stack.chat()
    chat.say("hello")
    before = tracker_texts(stack, chat.sender)
    reply = chat.say("x" * (limit + 1))
    assert reply.text == too_long_reply(limit)
    assert tracker_texts(stack, chat.sender) == before  # not in the tracker either
    assert "Hello!" in chat.say("hello").text  # and the conversation goes on


def test_big_and_malformed_bodies_are_refused_before_nlu(stack: Stack) -> None:
    sender = f"body-{uuid.uuid4().hex[:8]}"
    assert post(stack, {"sender": sender, "message": "x" * 1_000_000}).status_code == 413
    assert post(stack, {"sender": sender, "message": "x" * 70_000}).status_code == 413
    for body in (b"[1, 2]", b"", b"null", b"{not json", {"message": "hi"},
                 {"sender": sender, "message": 42}, {"sender": sender},
                 {"sender": sender + "\ud800", "message": "hi"},
                 {"sender": "s" * 129, "message": "hi"}):
        response = post(stack, body)
        assert response.status_code == 400, (body, response.text)
    assert tracker_texts(stack, sender) == []
    assert tracker_texts(stack, "default") == []  # no sender is nobody, not "default"


def test_metadata_is_kept_to_what_the_bot_uses(stack: Stack) -> None:
    sender = f"meta-{uuid.uuid4().hex[:8]}"
    at_open_question(stack, sender)
    long_id = "m" * 500
    reply = post(stack, {"sender": sender, "message": "The buses stop running at seven",
                         "input_channel": "i" * 500,
                         "metadata": {"message_id": long_id, "channel": "c" * 500,
                                      "extra": "e" * 20_000}})
    assert reply.status_code == 200 and "Question 3 of" in reply.text
    with session_scope(stack.database_url) as session:
        rows = session.execute(text("SELECT data FROM events WHERE sender_id = :s AND "
                                    "type_name = 'user' ORDER BY id DESC LIMIT 1"),
                               {"s": sender}).scalar_one()
    event = json.loads(rows)
    assert set(event["metadata"]) - {"model_id", "assistant_id"} == {"message_id"}  # Rasa's
    assert event["metadata"]["message_id"].startswith("sha256:")
    assert event["input_channel"] == "rest"
    participation = participation_of(stack.database_url, sender)
    assert participation is not None and participation.channel == "rest"


def test_text_is_cleaned_before_nlu_and_the_store_and_a_long_answer_kept_whole(
        stack: Stack) -> None:
    sender = f"clean-{uuid.uuid4().hex[:8]}"
    at_open_question(stack, sender)
    typed = ("The bus\x00 stops\u202e at seven\ud800, so Cafe\u0301 visits\u200b end "
             "early\r\nin winter")
    reply = post(stack, {"sender": sender, "message": typed})  # JSON escapes the surrogate
    assert reply.status_code == 200 and "Question 3 of" in reply.text
    wanted = "The bus stops at seven, so Café visits end early\nin winter"
    assert tracker_texts(stack, sender)[-1] == wanted
    long_answer = " ".join(["evening"] * 150) + " and weekends"  # beyond what NLU reads
    chat = stack.chat(sender)
    chat.say("/go_back")
    chat.say(long_answer)
    with session_scope(stack.database_url) as session:
        participation = participation_of(stack.database_url, sender)
        assert participation is not None
        answer = session.scalar(select(Answer).where(
            Answer.participation_id == participation.id, Answer.raw_text == long_answer))
        assert answer is not None and answer.value == long_answer
        incoming = session.scalars(select(TranscriptEntry.text).where(
            TranscriptEntry.participation_id == participation.id,
            TranscriptEntry.direction == "in")).all()
    assert wanted in incoming and long_answer in incoming


def test_rasas_internal_intents_are_read_as_words(stack: Stack) -> None:
    chat = stack.chat()
    chat.say("hello")
    chat.say(START_LIBRARY)
    assert "Question 1 of" in chat.say("/affirm").text
    for message in ("/restart", "/session_start", "/back"):
        reply = chat.say(message)  # Chat.say fails on an empty reply
        assert "Question 1 of" in reply.text, (message, reply.text)  # still in the flow


def test_payloads_with_odd_entity_values_are_answered(stack: Stack) -> None:
    chat = stack.chat()
    chat.say("hello")
    reply = chat.say('/start_consultation{"consultation":"\\ud800li\\u0000brary\\u202e"}')
    assert "I couldn’t find a consultation called “library”" in reply.text
    for message in ('/choose{"choice": [1, 2]}', '/choose{"choice": null}',
                    '/choose{"choice":"visits:99"}', '/choose{"a":' * 50,
                    '/start_consultation{"consultation": {"x": 1}}'):
        assert chat.say(message).messages, message
    log = (stack.workdir / "logs" / "rasa.log").read_text(errors="replace")
    assert '/choose{"a":/choose{"a":' not in log  # Rasa's warning quoted the message


def test_socketio_refuses_what_rest_refuses(stack: Stack) -> None:
    limit = max_message_chars()
    client = socketio.SimpleClient()  # long-polling, the widget's fallback (the chat
    client.connect(stack.rasa_url, socketio_path="socket.io")  # fuzz uses websockets)
    session_id = f"sio-{uuid.uuid4().hex[:8]}"
    client.emit("session_request", {"session_id": session_id})
    assert client.receive(timeout=30) == ["session_confirm", session_id]

    def say(data: Any) -> list[str]:
        client.call("user_uttered", data, timeout=60)  # acknowledged once handled
        texts = []
        while True:
            try:
                event = client.receive(timeout=1)
            except socketio.exceptions.TimeoutError:
                return texts
            texts.append(str(event[1].get("text")))

    assert say({"message": "x" * (limit + 1), "session_id": session_id}) == \
        [too_long_reply(limit)]
    assert say({"message": {"text": "hi"}, "session_id": session_id}) == \
        ["Sorry, I couldn’t read that message. Please type your answer as text."]
    assert say("not an object") == []
    assert say(None) == []  # an event without data
    assert say(("hi", "there")) == []  # with two arguments
    assert say({"message": "hi", "session_id": {"a": 1}}) == []
    assert any("Hello!" in t for t in say({"message": "hello", "session_id": session_id}))
    client.emit("user_uttered", {"message": "x" * 100_000, "session_id": session_id})
    with pytest.raises((socketio.exceptions.TimeoutError,
                        socketio.exceptions.DisconnectedError)):
        client.receive(timeout=5)  # the packet was refused: no reply, connection closed
    client.disconnect()
    assert tracker_texts(stack, session_id) == ["hello"]
    again = socketio.SimpleClient()
    again.connect(stack.rasa_url, socketio_path="socket.io")
    again.emit("session_request", {"session_id": {"not": "text"}})
    name, new_id = again.receive(timeout=30)
    assert name == "session_confirm" and isinstance(new_id, str) and len(new_id) == 32
    again.disconnect()
