"""The part of a citizen's message that asks something."""

from __future__ import annotations

import pytest

from bot.knowledge.question_focus import asked_part, asks_if_offered


@pytest.mark.parametrize(("message", "asked"), [
    ("left my umbrella in central library yesterday, is there lost property",
     "is there lost property"),
    ("how early does millbrook park open? want to go for a run before work",
     "how early does millbrook park open"),
    ("I have an interview on zoom. So can I book a pod at central?",
     "So can I book a pod at central"),
    ("my son is 7 and obsessed with lego, is there a lego club and do we have to book",
     "is there a lego club and do we have to book"),
    ("hi, what's the wifi password", "what's the wifi password"),
])
def test_backstory_around_the_question_is_left_out(message: str, asked: str) -> None:
    assert asked_part(message) == asked


def test_a_list_after_the_question_is_kept() -> None:
    assert asked_part("is there a cafe, toilets or parking at millbrook") == \
        "is there a cafe toilets or parking at millbrook"


def test_two_questions_are_both_kept() -> None:
    assert asked_part("When does it open? And how much is a ticket?") == \
        "When does it open And how much is a ticket"


@pytest.mark.parametrize("message", ["opening hours sunday", "I want to book a pitch.",
                                     "", "?!"])
def test_a_message_that_asks_nothing_in_question_form_is_all_focus(message: str) -> None:
    assert asked_part(message) == message


@pytest.mark.parametrize("message", [
    "is there a skate park?", "Are there lockers at central library", "do you have a 3d printer",
    "does the library lend musical instruments", "does millbrook park have a bowling green",
    "can I borrow an e-reader", "my son loves lego, so is there a lego club?",
    "Hi, have you got any board games", "can we hire a boat on the pond"])
def test_questions_about_what_is_offered(message: str) -> None:
    assert asks_if_offered(message)


@pytest.mark.parametrize("message", [
    "do I have to pay for a new card", "does my dog have to be on a lead",
    "when does the library open", "how much is a pitch", "can I get married in the library",
    "there is a skate park, when does it open?", "is the cafe open on sundays"])
def test_other_questions_are_not(message: str) -> None:
    assert not asks_if_offered(message)
