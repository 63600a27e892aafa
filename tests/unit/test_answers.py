"""Unit tests for understanding typed answers (bot.consultations.answers)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.consultations.answers import (
    NotUnderstood,
    Parsed,
    is_vague,
    match_option,
    normalise,
    parse_answer,
)
from bot.consultations.schema import parse_consultation_file

ROOT = Path(__file__).resolve().parents[2]
LIBRARY = parse_consultation_file(ROOT / "consultations" / "library-hours-2027.yml")
PARK = parse_consultation_file(ROOT / "consultations" / "park-redesign-2027.yml")


def question(definition: dict[str, Any], question_id: str) -> dict[str, Any]:
    return next(q for q in definition["questions"] if q["id"] == question_id)


VISITS = question(LIBRARY, "visits")  # Weekly or more, Monthly, A few times a year, Rarely...
TIMES = question(LIBRARY, "preferred_times")  # multi_choice, max 3 of 5
SERVICES = question(LIBRARY, "services")  # multi_choice with "... and ..." options, max 3
EVENINGS = question(LIBRARY, "evenings")  # scale 1-5, labels 1 and 5
BARRIERS = question(LIBRARY, "barriers")  # open
ACCESS = question(PARK, "access")  # Yes / No / Prefer not to say

FOOD: dict[str, Any] = {
    "id": "food", "type": "multi_choice", "text": "What would you like?",
    "options": ["Fish and chips", "Salt and vinegar", "Peas", "Bread and butter"],
    "max_choices": None,
}
TRAVEL: dict[str, Any] = {
    "id": "travel", "type": "single_choice", "text": "How do you travel?",
    "options": ["Bus", "Bike", "Walk"],
}
TEN_POINT: dict[str, Any] = {
    "id": "trust", "type": "scale", "text": "How much do you trust us?", "min": 0, "max": 10,
    "labels": {"0": "Not at all", "10": "Completely"},
}
UNLABELLED: dict[str, Any] = {
    "id": "rate", "type": "scale", "text": "Rate it", "min": 1, "max": 5, "labels": {},
}


def parsed(result: object) -> Any:
    assert isinstance(result, Parsed), result
    return result.value


def not_understood(result: object) -> str:
    assert isinstance(result, NotUnderstood), result
    assert result.reason
    return result.reason


# --- single_choice ------------------------------------------------------------------------


@pytest.mark.parametrize("text", [
    "2", "two", "Two", "option 2", "option two", "number 2", "no. 2", "2nd", "second",
    "the second", " 2. ",
])
def test_single_choice_by_number(text: str) -> None:
    assert parsed(parse_answer(VISITS, text)) == "Monthly"


@pytest.mark.parametrize(("text", "expected"), [
    ("1", "Weekly or more"),
    ("first", "Weekly or more"),
    ("three", "A few times a year"),
    ("4", "Rarely or never"),
    ("fourth", "Rarely or never"),
])
def test_single_choice_each_number_maps_to_its_option(text: str, expected: str) -> None:
    assert parsed(parse_answer(VISITS, text)) == expected


@pytest.mark.parametrize("text", ["last", "the last", "LAST!"])
def test_single_choice_last(text: str) -> None:
    assert parsed(parse_answer(VISITS, text)) == "Rarely or never"
    assert parsed(parse_answer(ACCESS, text)) == "Prefer not to say"


@pytest.mark.parametrize(("text", "expected"), [
    ("Monthly", "Monthly"),
    ("A few times a year", "A few times a year"),
    ("Rarely or never", "Rarely or never"),
    ("Weekly or more", "Weekly or more"),
])
def test_single_choice_exact_text(text: str, expected: str) -> None:
    assert parsed(parse_answer(VISITS, text)) == expected


@pytest.mark.parametrize("text", [
    "monthly", "MONTHLY", "  Monthly.  ", "monthly!", "'Monthly'", "Monthly?", "monthly,",
])
def test_single_choice_ignores_case_and_punctuation(text: str) -> None:
    assert parsed(parse_answer(VISITS, text)) == "Monthly"


@pytest.mark.parametrize(("text", "expected"), [
    ("week", "Weekly or more"),
    ("mon", "Monthly"),
    ("a few", "A few times a year"),
    ("rarely", "Rarely or never"),
    ("prefer not", "Prefer not to say"),
])
def test_single_choice_unique_prefix(text: str, expected: str) -> None:
    question_ = ACCESS if expected == "Prefer not to say" else VISITS
    assert parsed(parse_answer(question_, text)) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("monthy", "Monthly"),
    ("Montly", "Monthly"),
    ("rarly or never", "Rarely or never"),
    ("weekly or mroe", "Weekly or more"),
])
def test_single_choice_close_misspelling(text: str, expected: str) -> None:
    assert parsed(parse_answer(VISITS, text)) == expected


def test_single_choice_option_mentioned_in_a_sentence() -> None:
    assert parsed(parse_answer(VISITS, "weekly or more often")) == "Weekly or more"
    assert parsed(parse_answer(TRAVEL, "I walk")) == "Walk"


@pytest.mark.parametrize("text", ["5", "0", "99", "fifth", "option 7"])
def test_single_choice_out_of_range_number(text: str) -> None:
    reason = not_understood(parse_answer(VISITS, text))
    assert "1. Weekly or more" in reason
    assert "4. Rarely or never" in reason


@pytest.mark.parametrize("text", [
    "banana", "or", "I go every week", "yearly", "", "   ", "?", "car",
])
def test_single_choice_unrelated_or_ambiguous_text(text: str) -> None:
    reason = not_understood(parse_answer(VISITS if text != "car" else TRAVEL, text))
    assert reason.startswith("Please choose one of the options (you can type its number): ")


def test_single_choice_ambiguous_short_prefix() -> None:
    # "b" and "bi" could be Bus or Bike: too short to decide.
    assert isinstance(parse_answer(TRAVEL, "b"), NotUnderstood)
    assert isinstance(parse_answer(TRAVEL, "bi"), NotUnderstood)
    assert parsed(parse_answer(TRAVEL, "bik")) == "Bike"


def test_single_choice_hint_lists_all_options() -> None:
    reason = not_understood(parse_answer(ACCESS, "perhaps"))
    assert reason == ("Please choose one of the options (you can type its number): "
                      "1. Yes; 2. No; 3. Prefer not to say.")


@pytest.mark.parametrize(("text", "expected"), [
    ("yes", "Yes"), ("YES!", "Yes"), ("no", "No"), ("No.", "No"), ("3", "Prefer not to say"),
])
def test_yes_no_options(text: str, expected: str) -> None:
    assert parsed(parse_answer(ACCESS, text)) == expected


def test_yes_no_do_not_accept_other_words() -> None:
    for text in ("maybe", "nope", "4"):
        assert isinstance(parse_answer(ACCESS, text), NotUnderstood), text


def test_match_option_returns_index() -> None:
    options = VISITS["options"]
    assert match_option(options, "3") == 2
    assert match_option(options, "last") == 3
    assert match_option(options, "monthly") == 1
    assert match_option(options, "") is None
    assert match_option(options, "9") is None


def test_normalise() -> None:
    assert normalise("  Hello,   WORLD!! ") == "hello, world"
    assert normalise("'quoted.'") == "quoted"
    assert normalise("?!") == ""


# --- multi_choice -------------------------------------------------------------------------


@pytest.mark.parametrize("text", [
    "1, 3", "1,3", "1 3", "3, 1", "1; 3", "1 and 3", "1 & 3", "1/3", "first and third",
    "option 1 and option 3", "1, 3, 1",
])
def test_multi_choice_numbers(text: str) -> None:
    assert parsed(parse_answer(TIMES, text)) == [
        "Early mornings (before 10am)", "Evenings (after 6pm)",
    ]


@pytest.mark.parametrize("text", [
    "saturdays and sundays", "Saturdays, Sundays", "sundays & saturdays", "sat/sun",
    "Saturdays + Sundays", "saturdays plus sundays", "4 5", "last and 4",
])
def test_multi_choice_texts(text: str) -> None:
    assert parsed(parse_answer(TIMES, text)) == ["Saturdays", "Sundays"]


def test_multi_choice_result_is_in_option_order() -> None:
    assert parsed(parse_answer(TIMES, "sundays, weekday daytime")) == [
        "Weekday daytime", "Sundays",
    ]


def test_multi_choice_single_pick() -> None:
    assert parsed(parse_answer(TIMES, "option 2")) == ["Weekday daytime"]
    assert parsed(parse_answer(TIMES, "evenings")) == ["Evenings (after 6pm)"]


def test_multi_choice_option_text_with_digits() -> None:
    assert parsed(parse_answer(TIMES, "Early mornings (before 10am), saturdays")) == [
        "Early mornings (before 10am)", "Saturdays",
    ]
    assert parsed(parse_answer(TIMES, "evenings (after 6pm)")) == ["Evenings (after 6pm)"]


@pytest.mark.parametrize(("text", "expected"), [
    ("fish and chips", ["Fish and chips"]),
    ("Fish & chips", ["Fish and chips"]),
    ("fish and chips and peas", ["Fish and chips", "Peas"]),
    ("fish and chips, peas", ["Fish and chips", "Peas"]),
    ("peas and salt and vinegar", ["Salt and vinegar", "Peas"]),
    ("salt and vinegar and bread and butter", ["Salt and vinegar", "Bread and butter"]),
    ("1 and 3", ["Fish and chips", "Peas"]),
])
def test_multi_choice_options_containing_and(text: str, expected: list[str]) -> None:
    assert parsed(parse_answer(FOOD, text)) == expected


def test_services_options_containing_and() -> None:
    assert parsed(parse_answer(SERVICES, "computers and wi-fi")) == ["Computers and Wi-Fi"]
    assert parsed(parse_answer(SERVICES, "Borrowing books and printing and scanning")) == [
        "Borrowing books", "Printing and scanning",
    ]
    assert parsed(parse_answer(SERVICES, "children's activities and events and talks")) == [
        "Children's activities", "Events and talks",
    ]


@pytest.mark.parametrize("text", ["all", "All of them", "all of the above", "everything"])
def test_multi_choice_all(text: str) -> None:
    assert parsed(parse_answer(FOOD, text)) == FOOD["options"]


def test_multi_choice_all_over_the_limit() -> None:
    reason = not_understood(parse_answer(TIMES, "all"))
    assert reason == "Please choose at most 3 options (you picked 5)."


@pytest.mark.parametrize(("text", "picked"), [("1, 2, 3, 4", 4), ("1 2 3 4 5", 5)])
def test_multi_choice_over_max_choices(text: str, picked: int) -> None:
    reason = not_understood(parse_answer(TIMES, text))
    assert "at most 3 options" in reason
    assert f"you picked {picked}" in reason


def test_multi_choice_exactly_max_choices_is_fine() -> None:
    assert parsed(parse_answer(TIMES, "1, 2, 3")) == [
        "Early mornings (before 10am)", "Weekday daytime", "Evenings (after 6pm)",
    ]


def test_multi_choice_repeats_do_not_count_twice_against_the_limit() -> None:
    assert parsed(parse_answer(TIMES, "1, 1, 1, 2, 3")) == [
        "Early mornings (before 10am)", "Weekday daytime", "Evenings (after 6pm)",
    ]


@pytest.mark.parametrize(("text", "part"), [
    ("1, banana", "banana"),
    ("peas, gravy", "gravy"),
    ("peas and gravy", "gravy"),
    ("7", "7"),
])
def test_multi_choice_unknown_part_is_named(text: str, part: str) -> None:
    question_ = TIMES if text in ("1, banana", "7") else FOOD
    reason = not_understood(parse_answer(question_, text))
    assert f"I couldn't match “{part}” to an option." in reason
    assert "choose one or more of the options" in reason
    assert "Separate several with commas." in reason


@pytest.mark.parametrize("text", ["", "   ", "?", ",", " , ; "])
def test_multi_choice_nothing_chosen_is_not_understood(text: str) -> None:
    reason = not_understood(parse_answer(TIMES, text))
    assert "choose one or more of the options" in reason


# --- scale --------------------------------------------------------------------------------


@pytest.mark.parametrize("text", [
    "4", "four", "Four.", "fourth", "4/5", "4 / 5", "4 out of 5", "4 of 5", "4out of5", " 4 ",
])
def test_scale_numbers(text: str) -> None:
    assert parsed(parse_answer(EVENINGS, text)) == 4


@pytest.mark.parametrize(("text", "expected"), [
    ("1", 1), ("5", 5), ("one", 1), ("five", 5),
])
def test_scale_ends_are_included(text: str, expected: int) -> None:
    assert parsed(parse_answer(EVENINGS, text)) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("Very important", 5), ("very important!", 5), ("not important", 1), ("NOT IMPORTANT", 1),
])
def test_scale_label_text(text: str, expected: int) -> None:
    assert parsed(parse_answer(EVENINGS, text)) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("Very importnt", 5), ("not importent", 1), ("vry important", 5),
])
def test_scale_misspelt_label(text: str, expected: int) -> None:
    assert parsed(parse_answer(EVENINGS, text)) == expected


@pytest.mark.parametrize("text", ["6", "0", "-1", "10/10", "six", "banana", ""])
def test_scale_out_of_range_or_unrelated(text: str) -> None:
    reason = not_understood(parse_answer(EVENINGS, text))
    assert reason == ("Please answer with a number from 1 to 5 "
                      "(1 = Not important, 5 = Very important).")


def test_scale_word_close_to_two_labels_is_not_guessed() -> None:
    # "important" is about as close to "Not important" as to "Very important":
    # it must not be recorded as 1 (the opposite of what was probably meant).
    assert isinstance(parse_answer(EVENINGS, "important"), NotUnderstood)


def test_scale_zero_based_with_labels() -> None:
    assert parsed(parse_answer(TEN_POINT, "0")) == 0
    assert parsed(parse_answer(TEN_POINT, "10/10")) == 10
    assert parsed(parse_answer(TEN_POINT, "7 out of 10")) == 7
    assert parsed(parse_answer(TEN_POINT, "seven")) == 7
    assert parsed(parse_answer(TEN_POINT, "not at all")) == 0
    assert parsed(parse_answer(TEN_POINT, "completly")) == 10
    reason = not_understood(parse_answer(TEN_POINT, "11"))
    assert "from 0 to 10" in reason


def test_scale_without_labels() -> None:
    assert parsed(parse_answer(UNLABELLED, "3")) == 3
    reason = not_understood(parse_answer(UNLABELLED, "great"))
    assert reason == "Please answer with a number from 1 to 5."


# --- open ---------------------------------------------------------------------------------


def test_open_keeps_text() -> None:
    text = "The library closes before I finish work, so I can't get there."
    assert parsed(parse_answer(BARRIERS, text)) == text


def test_open_collapses_whitespace() -> None:
    assert parsed(parse_answer(BARRIERS, "  Too   far\n away\t from home  ")) == (
        "Too far away from home")


def test_open_keeps_case_and_punctuation() -> None:
    assert parsed(parse_answer(BARRIERS, "NO buses!!")) == "NO buses!!"


@pytest.mark.parametrize("text", ["", "   ", "\n\t "])
def test_open_empty_is_not_understood(text: str) -> None:
    assert not_understood(parse_answer(BARRIERS, text)) == "Please type your answer."


def test_open_is_capped_at_5000_characters() -> None:
    assert len(parsed(parse_answer(BARRIERS, "x" * 6000))) == 5000


def test_unknown_question_type_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown question type 'ranking'"):
        parse_answer({"type": "ranking"}, "1")


# --- is_vague -----------------------------------------------------------------------------


@pytest.mark.parametrize("text", [
    "idk", "IDK", "not sure", "Not sure.", "no idea!!", "dunno", "fine", "it depends",
    "nothing", "n/a", "meh", "yes", "because", "too far away", "It's ok", "", "   ",
])
def test_is_vague_for_short_or_vague_answers(text: str) -> None:
    assert is_vague(text) is True


@pytest.mark.parametrize("text", [
    "The bus stops running at 6pm",
    "I work shifts so evenings are the only time I can come",
    "There are no toilets near the play area",
    "Opening hours clash with my job",
])
def test_is_vague_false_for_specific_answers(text: str) -> None:
    assert is_vague(text) is False


def test_is_vague_long_words_count_as_specific() -> None:
    # Fewer than four words, but long enough (25+ characters) to be specific.
    assert is_vague("Inaccessible entrance steps") is False
    assert is_vague("Inaccessible steps") is True
