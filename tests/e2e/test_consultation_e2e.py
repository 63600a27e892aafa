"""Whole conversations over Rasa's REST channel against the real servers and database."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import uuid
from pathlib import Path

import pytest

from bot.devtools.stack import ROOT, Chat, Stack
from tests.e2e.helpers import answers_of, participation_of, rows_mentioning

pytestmark = pytest.mark.e2e
LIBRARY = "library-hours-2027"


def cli(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the real ``codesign`` CLI against the stack's database."""
    return subprocess.run([str(ROOT / ".venv/bin/codesign"), *args], env=stack.env(),
                          capture_output=True, text=True, timeout=120, check=False)


def start(chat: Chat, slug: str = LIBRARY) -> None:
    """Greet, pick the consultation from the buttons and consent."""
    reply = chat.say("hello")
    assert "consultations are open" in reply.text
    title = "library" if slug == LIBRARY else "park"
    reply = chat.press(title)
    assert "Privacy" in reply.text and "365 days" in reply.text
    reply = chat.press("Yes, I agree")
    assert "Question 1 of" in reply.text


def test_full_consultation_every_question_type(stack: Stack) -> None:
    chat = stack.chat()
    start(chat)
    reply = chat.say("a few times a yeer")  # typed, misspelt single choice
    assert "Question 2 of 8" in reply.text and "difficult" in reply.text
    reply = chat.say("time")  # vague open answer -> probe once
    assert "tell me a bit more" in reply.text
    reply = chat.say("The library closes before I finish work, and buses are infrequent")
    assert "Question 3 of 8" in reply.text
    chat.press("Evenings")  # multi choice by buttons
    reply = chat.press("Saturdays")
    assert "Selected so far: Evenings (after 6pm), Saturdays" in reply.text
    reply = chat.press("Done")
    assert "Question 4 of 8" in reply.text
    reply = chat.say("four")  # scale as a word
    assert "Question 5 of 8" in reply.text
    reply = chat.say("2")  # single choice by number
    assert "Question 6 of 8" in reply.text
    reply = chat.say("borrowing books, study space")  # multi choice typed
    assert "Question 7 of 8" in reply.text
    reply = chat.say("I would study there in the evenings after my shifts finish at six")
    assert "Question 8 of 8" in reply.text
    reply = chat.say("Please keep the quiet study room open late")
    assert "quote your words" in reply.text
    reply = chat.press("Yes, you may quote me")
    assert "summary of your answers" in reply.text
    assert "Evenings (after 6pm), Saturdays" in reply.text
    reply = chat.press("Submit")
    assert "What happens next" in reply.text and "March 2027" in reply.text

    answers = answers_of(stack.database_url, chat.sender)
    assert answers["visits"] == ("answered", "A few times a year")
    assert answers["barriers"][1].startswith("time — The library closes")
    assert answers["preferred_times"] == ("answered", ["Evenings (after 6pm)", "Saturdays"])
    assert answers["evenings"] == ("answered", 4)
    assert answers["trade_off"] == ("answered", "Sunday afternoon opening")
    assert answers["services"] == ("answered", ["Borrowing books", "Study or work space"])
    participation = participation_of(stack.database_url, chat.sender)
    assert participation is not None
    assert participation.status == "completed" and participation.quote_consent is True

    exported = cli(stack, "export", LIBRARY, "--format", "json")
    assert exported.returncode == 0, exported.stderr
    records = {r["participation_id"]: r for r in json.loads(exported.stdout)}
    record = records[participation.id]
    assert record["participant"] == participation.participant_id
    assert chat.sender not in exported.stdout  # raw ids never leave the store
    assert record["answers"]["evenings"] == 4 and record["status"] == "completed"
    csv_out = cli(stack, "export", LIBRARY, "--format", "csv")
    assert csv_out.returncode == 0, csv_out.stderr
    rows = [row for row in csv.DictReader(io.StringIO(csv_out.stdout))
            if row["participation_id"] == str(participation.id)]
    assert len(rows) == 8


def test_branch_hides_question_and_skip_back_repeat(stack: Stack) -> None:
    chat = stack.chat()
    start(chat)
    reply = chat.press("Weekly or more")
    assert "Question 2 of 7" in reply.text and "suit you best" in reply.text  # branch skipped
    reply = chat.say("repeat the question please")
    assert "Question 2 of 7" in reply.text and "suit you best" in reply.text
    reply = chat.say("go back")
    assert "Question 1 of 7" in reply.text and "Your current answer: Weekly or more" in reply.text
    reply = chat.say("rarely or never")  # now the branch opens
    assert "Question 2 of 8" in reply.text and "difficult" in reply.text
    reply = chat.say("skip")
    assert "can’t be skipped" in reply.text  # required
    chat.say("Opening hours do not suit my working pattern at all during the week")
    chat.say("1")
    reply = chat.say("skip this one")  # optional scale
    assert "Question 5 of 8" in reply.text
    answers = answers_of(stack.database_url, chat.sender)
    assert answers["visits"] == ("answered", "Rarely or never")
    assert answers["evenings"] == ("skipped", None)
    assert "barriers" in answers


def test_change_answer_from_summary_keeps_history(stack: Stack) -> None:
    chat = stack.chat()
    start(chat, "park")
    # Answer everything quickly by buttons / typed values.
    for _ in range(20):
        reply = chat.last
        assert reply is not None
        if "summary of your answers" in reply.text:
            break
        if "quote your words" in reply.text:
            chat.press("No, please don't")
            continue
        if reply.buttons and any(b["payload"].startswith("/choose") for b in reply.buttons):
            chat.say(next(b for b in reply.buttons if b["payload"].startswith("/choose"))
                     ["payload"])
            if "Done" in [b["title"] for b in (chat.last.buttons if chat.last else [])]:
                chat.press("Done")
        else:
            chat.say("More benches near the pond and better paths for wheelchairs please")
    assert chat.last is not None and "summary of your answers" in chat.last.text
    reply = chat.press("Change an answer")
    reply = chat.say("1")
    assert "Your current answer" in reply.text
    reply = chat.say("2")
    assert "summary of your answers" in reply.text
    from sqlalchemy import select

    from bot.store.db import session_scope
    from bot.store.models import Answer, AnswerRevision

    participation = participation_of(stack.database_url, chat.sender)
    assert participation is not None
    with session_scope(stack.database_url) as session:
        revisions = session.scalars(
            select(AnswerRevision).join(Answer, Answer.id == AnswerRevision.answer_id)
            .where(Answer.participation_id == participation.id)).all()
        assert len(revisions) == 1
    reply = chat.press("Submit")
    assert "What happens next" in reply.text
    assert participation_of(stack.database_url, chat.sender).status == "completed"


def test_decline_consent_stores_nothing(stack: Stack) -> None:
    chat = stack.chat()
    chat.say("hi")
    chat.press("library")
    reply = chat.press("No, thanks")
    assert "Nothing about you has been stored" in reply.text
    assert rows_mentioning(stack.database_url, chat.sender) == {
        "participants": 0, "participations": 0, "answers": 0, "tracker_events": 0}


def test_forget_me_removes_every_row(stack: Stack) -> None:
    chat = stack.chat()
    start(chat)
    chat.say("monthly")
    chat.press("Sundays")
    assert rows_mentioning(stack.database_url, chat.sender)["answers"] == 1
    reply = chat.say("please delete all my data")
    assert "Are you sure" in reply.text
    reply = chat.press("Yes, delete everything")
    assert "deleted" in reply.text
    assert rows_mentioning(stack.database_url, chat.sender) == {
        "participants": 0, "participations": 0, "answers": 0, "tracker_events": 0}
    reply = chat.say("hello")  # a fresh conversation afterwards
    assert "consultations are open" in reply.text
    assert "Continue" not in reply.text


def test_forget_me_can_be_cancelled(stack: Stack) -> None:
    chat = stack.chat()
    start(chat)
    chat.say("monthly")
    chat.say("forget me")
    reply = chat.press("No, keep my answers")
    assert "nothing has been deleted" in reply.text and "Question 2 of" in reply.text
    assert answers_of(stack.database_url, chat.sender)["visits"] == ("answered", "Monthly")


def test_two_participants_interleaved(stack: Stack) -> None:
    alice, bob = stack.chat(), stack.chat()
    start(alice)
    start(bob, "park")
    alice.say("weekly or more")
    bob.press(bob.last.buttons[0]["title"] if bob.last else "")
    reply = alice.say("3")
    assert "Question 3 of 7" in reply.text  # alice is on her own track
    alice_answers = answers_of(stack.database_url, alice.sender)
    bob_answers = answers_of(stack.database_url, bob.sender)
    assert set(alice_answers) == {"visits", "preferred_times"}
    assert set(bob_answers) == {"park_use"}


def test_duplicate_message_creates_one_answer(stack: Stack) -> None:
    chat = stack.chat()
    start(chat)
    message_id = uuid.uuid4().hex
    first = chat.say("monthly", message_id=message_id)
    second = chat.say("monthly", message_id=message_id)  # a retried delivery
    assert "Question 2 of 7" in first.text and "Question 2 of 7" in second.text
    assert answers_of(stack.database_url, chat.sender) == {"visits": ("answered", "Monthly")}
    reply = chat.say("sundays")
    assert "Question 3 of 7" in reply.text


def test_unknown_closed_gibberish_and_out_of_scope(stack: Stack, tmp_path: Path) -> None:
    chat = stack.chat()
    reply = chat.say('/start_consultation{"consultation":"no-such-thing"}')
    assert "couldn’t find" in reply.text and reply.buttons
    for text in ("asdkjh qwpoeiru zxmcnv", "what's the weather like tomorrow", "are you a bot?"):
        assert chat.say(text).text.strip()
    definition = (ROOT / "consultations" / f"{LIBRARY}.yml").read_text()
    closing = tmp_path / "closing.yml"
    closing.write_text(definition.replace(f"slug: {LIBRARY}", "slug: closing-soon-2027"))
    assert cli(stack, "consultations", "launch", str(closing)).returncode == 0
    assert cli(stack, "consultations", "close", "closing-soon-2027").returncode == 0
    reply = chat.say('/start_consultation{"consultation":"closing-soon-2027"}')
    assert "closed" in reply.text


def test_consultation_launched_while_running_needs_no_retraining(stack: Stack,
                                                                 tmp_path: Path) -> None:
    new_file = tmp_path / "bins.yml"
    new_file.write_text("""
slug: bin-collections-2027
title: Your bin collections
agency: Riverside Borough Council
service: Waste and recycling
kind: co-assessment
summary: Tell us how well bin collections work for you.
outcome: We will share the results in spring 2027.
privacy: {retention_days: 180, quotes: never}
questions:
  - id: rating
    type: scale
    text: How satisfied are you with your bin collections?
    min: 1
    max: 5
    labels: {1: Very unsatisfied, 5: Very satisfied}
  - id: missed
    type: single_choice
    text: Has a collection been missed in the last 3 months?
    options: ["Yes", "No"]
  - id: improve
    type: open
    text: What one thing would improve collections?
""")
    result = cli(stack, "consultations", "launch", str(new_file))
    assert result.returncode == 0 and "launched version 1" in result.stdout
    chat = stack.chat()
    reply = chat.say("hello")
    chat.press("Your bin collections")
    chat.press("Yes, I agree")
    chat.say("5")
    chat.say("no")
    reply = chat.say("Collect the garden waste every week in summer")
    assert "summary of your answers" in reply.text  # quotes: never -> no quote question
    reply = chat.press("Submit")
    assert "spring 2027" in reply.text
    assert answers_of(stack.database_url, chat.sender) == {
        "rating": ("answered", 5), "missed": ("answered", "No"),
        "improve": ("answered", "Collect the garden waste every week in summer")}


def test_profile_questions_come_last_with_prefer_not_to_say_and_skipping(stack: Stack) -> None:
    from bot.consultations.schema import PROFILE_WHY
    from bot.review.participants import who_took_part
    from bot.store.db import session_scope
    from bot.store.repository import get_consultation

    chat = stack.chat()
    start(chat, "park")
    for _ in range(30):  # the substantive questions, by their first button or in words
        reply = chat.last
        assert reply is not None
        if PROFILE_WHY in reply.text:
            break
        if "quote your words" in reply.text:
            chat.press("No, please don't")
        elif reply.buttons and any(b["payload"].startswith("/choose") for b in reply.buttons):
            chat.say(next(b for b in reply.buttons if b["payload"].startswith("/choose"))
                     ["payload"])
            if "Done" in [b["title"] for b in (chat.last.buttons if chat.last else [])]:
                chat.press("Done")
        else:
            chat.say("More benches near the pond please")
    reply = chat.last
    assert reply is not None and PROFILE_WHY in reply.text
    assert "Which age group are you in? (optional)" in reply.text
    assert "Prefer not to say" in [b["title"] for b in reply.buttons]
    reply = chat.say("prefer not to say")  # typed
    assert "Where do you live?" in reply.text and PROFILE_WHY not in reply.text
    reply = chat.say("skip")
    assert "summary of your answers" in reply.text or "quote your words" in reply.text
    if "quote your words" in reply.text:
        chat.press("No, please don't")
    assert "What happens next" in chat.press("Submit").text
    answers = answers_of(stack.database_url, chat.sender)
    assert answers["age_band"] == ("answered", "Prefer not to say")
    assert answers["area"] == ("skipped", None)
    with session_scope(stack.database_url) as session:
        park = get_consultation(session, "park-redesign-2027")
        assert park is not None
        figures = who_took_part(session, park.id)
    assert figures is not None
    age, area = figures.dimensions
    assert age.preferred_not >= 1 and age.categories[0].population_share == 0.137
    assert area.categories[0].name == "North ward"
