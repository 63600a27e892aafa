"""The part of a citizen's message that asks something."""

from __future__ import annotations

import pytest

from bot.knowledge.question_focus import asked_part


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
