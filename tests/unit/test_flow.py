"""Unit tests for navigating a consultation's questions (bot.consultations.flow)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.consultations import flow
from bot.consultations.schema import parse_consultation, parse_consultation_file

ROOT = Path(__file__).resolve().parents[2]
LIBRARY = parse_consultation_file(ROOT / "consultations" / "library-hours-2027.yml")
PARK = parse_consultation_file(ROOT / "consultations" / "park-redesign-2027.yml")

LIBRARY_IDS = [
    "visits", "barriers", "preferred_times", "evenings", "trade_off", "services",
    "hours_reasons", "anything_else",
]
PARK_IDS = [
    "park_use", "not_visiting", "activities", "priorities", "access", "access_needs",
    "after_dark", "dogs", "anything_else", "age_band", "area",
]


def ids(questions: list[dict[str, Any]]) -> list[str]:
    return [q["id"] for q in questions]


def q_id(question: dict[str, Any] | None) -> str | None:
    return None if question is None else question["id"]


# A small hand-made definition, validated by the real parser:
#   pets (multi) -> dog_size if Dogs chosen; rating (scale) -> complaint if 1 or 2;
#   has_car -> car_type if Yes -> electric if Electric (a branch inside a branch).
SMALL = parse_consultation("""\
slug: small
title: Small
agency: Test Council
service: Testing
kind: co-design
summary: A small one.
outcome: We will tell you.
questions:
  - id: pets
    type: multi_choice
    text: Which pets do you have?
    options: [Dogs, Cats, Fish]
  - id: dog_size
    type: single_choice
    text: How big is your dog?
    options: [Small, Large]
    show_if: {question: pets, in: [Dogs]}
  - id: rating
    type: scale
    text: How good is the park?
    min: 1
    max: 5
  - id: complaint
    type: open
    text: What is wrong with it?
    show_if: {question: rating, in: [1, 2]}
  - id: has_car
    type: single_choice
    text: Do you have a car?
    options: [Yes, No]
  - id: car_type
    type: single_choice
    text: What kind of car?
    options: [Petrol, Electric]
    show_if: {question: has_car, in: [Yes]}
  - id: electric
    type: open
    text: Where do you charge it?
    show_if: {question: car_type, in: [Electric]}
  - id: last_word
    type: open
    text: Anything else?
""")


def small(question_id: str) -> dict[str, Any]:
    return flow.question_by_id(SMALL, question_id)


# --- basics -------------------------------------------------------------------------------


def test_questions_of_returns_all_questions_in_order_as_a_copy() -> None:
    questions = flow.questions_of(LIBRARY)
    assert ids(questions) == LIBRARY_IDS
    questions.pop()
    assert ids(LIBRARY["questions"]) == LIBRARY_IDS


def test_question_by_id() -> None:
    assert flow.question_by_id(PARK, "dogs")["type"] == "single_choice"
    with pytest.raises(KeyError):
        flow.question_by_id(PARK, "nope")


# --- is_visible ---------------------------------------------------------------------------


def test_question_without_condition_is_always_visible() -> None:
    visits = flow.question_by_id(LIBRARY, "visits")
    assert flow.is_visible(visits, {})
    assert flow.is_visible(visits, {"visits": flow.SKIPPED})


@pytest.mark.parametrize(("answer", "visible"), [
    ("A few times a year", True),
    ("Rarely or never", True),
    ("Weekly or more", False),
    ("Monthly", False),
    ("rarely or never", False),  # stored values are the exact option texts
])
def test_show_if_single_choice(answer: str, visible: bool) -> None:
    barriers = flow.question_by_id(LIBRARY, "barriers")
    assert flow.is_visible(barriers, {"visits": answer}) is visible


def test_show_if_unanswered_hides() -> None:
    barriers = flow.question_by_id(LIBRARY, "barriers")
    assert flow.is_visible(barriers, {}) is False
    assert flow.is_visible(barriers, {"preferred_times": ["Saturdays"]}) is False


def test_show_if_skipped_hides() -> None:
    barriers = flow.question_by_id(LIBRARY, "barriers")
    assert flow.is_visible(barriers, {"visits": flow.SKIPPED}) is False


def test_show_if_none_value_hides() -> None:
    barriers = flow.question_by_id(LIBRARY, "barriers")
    assert flow.is_visible(barriers, {"visits": None}) is False


def test_show_if_yes_answer_in_park_demo() -> None:
    access_needs = flow.question_by_id(PARK, "access_needs")
    assert flow.is_visible(access_needs, {"access": "Yes"}) is True
    assert flow.is_visible(access_needs, {"access": "No"}) is False
    assert flow.is_visible(access_needs, {"access": "Prefer not to say"}) is False
    assert flow.is_visible(access_needs, {"access": flow.SKIPPED}) is False


@pytest.mark.parametrize(("pets", "visible"), [
    (["Dogs"], True),
    (["Cats", "Dogs"], True),
    (["Dogs", "Cats", "Fish"], True),
    (["Cats"], False),
    (["Cats", "Fish"], False),
    ([], False),
])
def test_show_if_multi_choice_list_values(pets: list[str], visible: bool) -> None:
    assert flow.is_visible(small("dog_size"), {"pets": pets}) is visible


@pytest.mark.parametrize(("rating", "visible"), [(1, True), (2, True), (3, False), (5, False)])
def test_show_if_scale_points(rating: int, visible: bool) -> None:
    assert flow.is_visible(small("complaint"), {"rating": rating}) is visible


# --- visible_questions --------------------------------------------------------------------


def test_visible_questions_library() -> None:
    hidden_branch = [i for i in LIBRARY_IDS if i != "barriers"]
    assert ids(flow.visible_questions(LIBRARY, {})) == hidden_branch
    assert ids(flow.visible_questions(LIBRARY, {"visits": "Monthly"})) == hidden_branch
    assert ids(flow.visible_questions(LIBRARY, {"visits": flow.SKIPPED})) == hidden_branch
    assert ids(flow.visible_questions(LIBRARY, {"visits": "Rarely or never"})) == LIBRARY_IDS


def test_visible_questions_park_two_branches() -> None:
    answers = {"park_use": "Rarely or never", "access": "Yes"}
    assert ids(flow.visible_questions(PARK, answers)) == PARK_IDS
    answers = {"park_use": "Most days", "access": "Yes"}
    assert "not_visiting" not in ids(flow.visible_questions(PARK, answers))
    assert "access_needs" in ids(flow.visible_questions(PARK, answers))
    answers = {"park_use": "Rarely or never", "access": "No"}
    assert ids(flow.visible_questions(PARK, answers)) == [
        i for i in PARK_IDS if i != "access_needs"]


def test_branch_inside_a_branch() -> None:
    assert ids(flow.visible_questions(SMALL, {"has_car": "Yes", "car_type": "Electric"})) == [
        "pets", "rating", "has_car", "car_type", "electric", "last_word",
    ]
    assert "electric" not in ids(flow.visible_questions(
        SMALL, {"has_car": "Yes", "car_type": "Petrol"}))


def test_stale_answer_in_a_hidden_branch_does_not_show_its_children() -> None:
    # The citizen answered Yes / Electric, then went back and changed has_car to No:
    # car_type is hidden, so electric (which depends on it) must be hidden too.
    answers = {"has_car": "No", "car_type": "Electric"}
    visible = ids(flow.visible_questions(SMALL, answers))
    assert "car_type" not in visible
    assert "electric" not in visible
    assert q_id(flow.next_question(SMALL, answers, "has_car")) == "last_word"
    assert q_id(flow.previous_question(SMALL, answers, "last_word")) == "has_car"


# --- next_question / previous_question ----------------------------------------------------


def test_next_question_from_the_start() -> None:
    assert q_id(flow.next_question(LIBRARY, {}, None)) == "visits"
    assert q_id(flow.next_question(PARK, {}, None)) == "park_use"


@pytest.mark.parametrize(("visits", "expected"), [
    ("Weekly or more", "preferred_times"),
    ("Monthly", "preferred_times"),
    ("A few times a year", "barriers"),
    ("Rarely or never", "barriers"),
])
def test_next_question_across_a_branch(visits: str, expected: str) -> None:
    assert q_id(flow.next_question(LIBRARY, {"visits": visits}, "visits")) == expected


def test_next_question_after_a_skipped_branch_question() -> None:
    answers = {"visits": flow.SKIPPED}
    assert q_id(flow.next_question(LIBRARY, answers, "visits")) == "preferred_times"


def test_next_question_after_the_branch_itself() -> None:
    answers = {"visits": "Rarely or never", "barriers": "Too far"}
    assert q_id(flow.next_question(LIBRARY, answers, "barriers")) == "preferred_times"


def test_next_question_at_the_end_is_none() -> None:
    assert flow.next_question(LIBRARY, {}, "anything_else") is None
    assert flow.next_question(PARK, {"access": "No"}, "area") is None


def test_next_question_park_access_branch() -> None:
    assert q_id(flow.next_question(PARK, {"access": "Yes"}, "access")) == "access_needs"
    assert q_id(flow.next_question(PARK, {"access": "No"}, "access")) == "after_dark"
    assert q_id(flow.next_question(PARK, {"access": flow.SKIPPED}, "access")) == "after_dark"


def test_next_question_unknown_id_is_an_error() -> None:
    with pytest.raises(ValueError):
        flow.next_question(LIBRARY, {}, "nope")


@pytest.mark.parametrize(("visits", "expected"), [
    ("Weekly or more", "visits"),
    ("Rarely or never", "barriers"),
])
def test_previous_question_across_a_branch(visits: str, expected: str) -> None:
    answers = {"visits": visits}
    assert q_id(flow.previous_question(LIBRARY, answers, "preferred_times")) == expected


def test_previous_question_of_the_first_is_none() -> None:
    assert flow.previous_question(LIBRARY, {}, "visits") is None


def test_previous_question_of_a_branch_question() -> None:
    answers = {"visits": "Rarely or never"}
    assert q_id(flow.previous_question(LIBRARY, answers, "barriers")) == "visits"


def test_previous_question_skips_two_hidden_branches() -> None:
    answers = {"has_car": "No"}
    assert q_id(flow.previous_question(SMALL, answers, "last_word")) == "has_car"
    answers = {"has_car": "Yes", "car_type": "Petrol"}
    assert q_id(flow.previous_question(SMALL, answers, "last_word")) == "car_type"


def test_previous_question_unknown_id_is_an_error() -> None:
    with pytest.raises(ValueError):
        flow.previous_question(LIBRARY, {}, "nope")


def test_walking_forwards_and_back_visits_the_same_questions() -> None:
    answers = {"park_use": "Most days", "access": "Yes"}
    forward = []
    current = flow.next_question(PARK, answers, None)
    while current is not None:
        forward.append(current["id"])
        current = flow.next_question(PARK, answers, current["id"])
    backward = []
    current = flow.question_by_id(PARK, forward[-1])
    while current is not None:
        backward.append(current["id"])
        current = flow.previous_question(PARK, answers, current["id"])
    assert forward == [i for i in PARK_IDS if i != "not_visiting"]
    assert backward == list(reversed(forward))
    assert forward == ids(flow.visible_questions(PARK, answers))


# --- first_unanswered ---------------------------------------------------------------------


def test_first_unanswered_at_the_start() -> None:
    assert q_id(flow.first_unanswered(LIBRARY, {})) == "visits"


def test_first_unanswered_enters_the_branch() -> None:
    assert q_id(flow.first_unanswered(LIBRARY, {"visits": "Rarely or never"})) == "barriers"


def test_first_unanswered_skips_the_hidden_branch() -> None:
    assert q_id(flow.first_unanswered(LIBRARY, {"visits": "Monthly"})) == "preferred_times"


def test_first_unanswered_skipped_counts_as_answered() -> None:
    answers = {"visits": flow.SKIPPED}
    assert q_id(flow.first_unanswered(LIBRARY, answers)) == "preferred_times"
    answers = {"visits": "Rarely or never", "barriers": flow.SKIPPED}
    assert q_id(flow.first_unanswered(LIBRARY, answers)) == "preferred_times"


def test_first_unanswered_finds_a_gap_in_the_middle() -> None:
    answers = {i: "x" for i in LIBRARY_IDS if i not in ("barriers", "trade_off")}
    answers["visits"] = "Monthly"
    assert q_id(flow.first_unanswered(LIBRARY, answers)) == "trade_off"


def test_first_unanswered_none_when_everything_visible_is_answered() -> None:
    answers: dict[str, Any] = {i: "x" for i in LIBRARY_IDS if i != "barriers"}
    answers["visits"] = "Weekly or more"
    assert flow.first_unanswered(LIBRARY, answers) is None
    # Changing the answer opens the branch, which now needs an answer.
    answers["visits"] = "Rarely or never"
    assert q_id(flow.first_unanswered(LIBRARY, answers)) == "barriers"


# --- progress -----------------------------------------------------------------------------


def test_progress_counts_undecided_branches() -> None:
    assert [flow.progress(LIBRARY, {}, i) for i in LIBRARY_IDS] == [
        (n, 8) for n in range(1, 9)]
    assert [flow.progress(PARK, {}, i) for i in PARK_IDS] == [(n, 11) for n in range(1, 12)]


def test_progress_total_shrinks_once_the_branch_is_ruled_out() -> None:
    assert flow.progress(LIBRARY, {}, "visits") == (1, 8)
    answers = {"visits": "Weekly or more"}
    assert flow.progress(LIBRARY, answers, "visits") == (1, 7)
    assert flow.progress(LIBRARY, answers, "preferred_times") == (2, 7)
    assert flow.progress(LIBRARY, answers, "anything_else") == (7, 7)


def test_progress_total_stays_when_the_branch_is_taken() -> None:
    answers = {"visits": "Rarely or never"}
    assert flow.progress(LIBRARY, answers, "barriers") == (2, 8)
    assert flow.progress(LIBRARY, answers, "preferred_times") == (3, 8)


def test_progress_skipping_the_deciding_question_rules_the_branch_out() -> None:
    answers = {"visits": flow.SKIPPED}
    assert flow.progress(LIBRARY, answers, "preferred_times") == (2, 7)


def test_progress_park_shrinks_step_by_step() -> None:
    answers: dict[str, Any] = {}
    assert flow.progress(PARK, answers, "activities") == (3, 11)
    answers["park_use"] = "Most days"
    assert flow.progress(PARK, answers, "activities") == (2, 10)
    answers["access"] = "No"
    assert flow.progress(PARK, answers, "after_dark") == (5, 9)
    assert flow.progress(PARK, answers, "area") == (9, 9)


def test_progress_of_a_hidden_question_still_places_it() -> None:
    # Asked about a question that is ruled out (e.g. while going back), it is put in order.
    assert flow.progress(LIBRARY, {"visits": "Monthly"}, "barriers") == (2, 8)


def test_progress_never_grows_as_answers_are_given() -> None:
    steps = [
        {},
        {"park_use": "Rarely or never"},
        {"park_use": "Rarely or never", "not_visiting": "Too far"},
        {"park_use": "Rarely or never", "not_visiting": "Too far", "access": "No"},
    ]
    totals = [flow.progress(PARK, answers, "dogs")[1] for answers in steps]
    assert totals == [11, 11, 11, 10]
    assert totals == sorted(totals, reverse=True)


def test_progress_with_a_branch_inside_a_branch() -> None:
    assert flow.progress(SMALL, {}, "last_word") == (8, 8)
    # No car: both car_type and electric are ruled out, though electric's own
    # condition (car_type) is still unanswered.
    assert flow.progress(SMALL, {"has_car": "No"}, "last_word") == (6, 6)
    assert flow.progress(SMALL, {"has_car": "Yes"}, "last_word") == (8, 8)
    answers = {"has_car": "Yes", "car_type": "Petrol"}
    assert flow.progress(SMALL, answers, "last_word") == (7, 7)


def test_progress_multi_choice_branch() -> None:
    assert flow.progress(SMALL, {}, "rating") == (3, 8)
    assert flow.progress(SMALL, {"pets": ["Cats"]}, "rating") == (2, 7)
    assert flow.progress(SMALL, {"pets": ["Cats", "Dogs"]}, "rating") == (3, 8)
