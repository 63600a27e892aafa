"""Property-based tests of answer parsing (bot.consultations.answers).

For questions as the schema makes them (normalised, distinct options; scales of 2-11
points anywhere on the number line) and any typed text: a parsed choice is always one of
the options, a multiple choice a duplicate-free subset in the options' order within the
limit, a scale answer a point of the scale, and anything else a reason to show. Typed
option labels, option numbers (digits and words) and scale points written as digits,
words, "n/max" or "n out of max" parse to what they name.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from bot.consultations.answers import (
    NUMBER_WORDS,
    NotUnderstood,
    Parsed,
    match_option,
    normalise,
    parse_answer,
)
from tests.unit.properties import report_outcomes, tally  # noqa: F401 (a fixture)

pytestmark = pytest.mark.usefixtures("report_outcomes")

#: What a citizen may type: anything, plus the shapes the parser looks for.
TYPED = st.one_of(
    st.text(),
    st.from_regex(r"\s*(option |number |no\. ?)?-?\d{1,4}(st|nd|rd|th)?\s*", fullmatch=True),
    st.sampled_from([*NUMBER_WORDS, "all", "all of them", "everything", "1, 3", "2 and 3",
                     "1/2", "3 out of 5", "", "   ", ",", "and", "1 2 3", "-0"]),
    st.lists(st.sampled_from(["1", "two", ",", " and ", "/", "+", "&", " ", "x"]),
             max_size=8).map("".join))

#: An option label as the schema leaves it: one line, spaces collapsed, 1-100 characters.
LABEL = st.text(st.characters(codec="utf-8", exclude_categories=("C",)), min_size=1,
                max_size=40).map(lambda t: " ".join(t.split())).filter(bool)


def _is_number(text: str) -> bool:
    """Whether the parser reads ``text`` as an option number rather than a label."""
    wanted = normalise(text)
    return match_option(["a"] * 999, wanted) is not None and \
        match_option(["b"] * 999, wanted) is not None


@st.composite
def choice_question(draw: st.DrawFn, kind: str = "single_choice") -> dict[str, Any]:
    options = draw(st.lists(LABEL, min_size=2, max_size=12,
                            unique_by=lambda t: normalise(t) or t))
    question: dict[str, Any] = {"type": kind, "options": options}
    if kind == "multi_choice":
        question["max_choices"] = draw(st.none() | st.integers(1, len(options)))
    return question


@st.composite
def scale_question(draw: st.DrawFn) -> dict[str, Any]:
    low = draw(st.integers(-10**6, 10**6))
    high = draw(st.integers(low + 1, low + 10))
    points = draw(st.lists(st.integers(low, high), unique=True, max_size=3))
    return {"type": "scale", "min": low, "max": high,
            "labels": {str(p): draw(LABEL) for p in points}}


# ---------------------------------------------------------------------------- any text
@given(choice_question(), TYPED)
@example({"type": "single_choice", "options": ["Yes", "No"]}, "²")
def test_a_parsed_choice_is_always_one_of_the_options(question: dict[str, Any],
                                                      text: str) -> None:
    result = parse_answer(question, text)
    if isinstance(result, Parsed):
        assert result.value in question["options"]
        tally("single choice, any text", "an option")
    else:
        assert isinstance(result, NotUnderstood) and result.reason
        tally("single choice, any text", "not understood")


@given(choice_question("multi_choice"), TYPED)
def test_a_parsed_multiple_choice_is_a_subset_in_order_within_the_limit(
        question: dict[str, Any], text: str) -> None:
    result = parse_answer(question, text)
    if isinstance(result, Parsed):
        options = question["options"]
        chosen = [options.index(value) for value in result.value]
        assert chosen and chosen == sorted(set(chosen))
        assert len(chosen) <= (question["max_choices"] or len(options))
        tally("multiple choice, any text", "options")
    else:
        assert isinstance(result, NotUnderstood) and result.reason
        tally("multiple choice, any text", "not understood")


@given(scale_question(), TYPED)
@example({"type": "scale", "min": 1, "max": 5, "labels": {}}, "last")
def test_a_parsed_scale_answer_is_a_point_of_the_scale(question: dict[str, Any],
                                                       text: str) -> None:
    result = parse_answer(question, text)
    if isinstance(result, Parsed):
        assert isinstance(result.value, int)
        assert question["min"] <= result.value <= question["max"]
        tally("scale, any text", "a point")
    else:
        assert isinstance(result, NotUnderstood)
        assert f"from {question['min']} to {question['max']}" in result.reason
        tally("scale, any text", "not understood")


@given(st.text())
def test_an_open_answer_is_the_text_with_spaces_collapsed(text: str) -> None:
    result = parse_answer({"type": "open"}, text)
    cleaned = " ".join(text.split())
    if cleaned:
        assert result == Parsed(cleaned[:5000])
        tally("open, any text", "the text")
    else:
        assert isinstance(result, NotUnderstood)
        tally("open, any text", "not understood")


# ---------------------------------------------------------------------------- round trips
@given(choice_question(), st.data())
@example({"type": "single_choice", "options": ["0", "1-2", "3 or more"]}, None)
@example({"type": "single_choice", "options": [":", "0"]}, None)
def test_typing_an_option_label_chooses_it(question: dict[str, Any],
                                           data: st.DataObject | None) -> None:
    options = question["options"]
    index = data.draw(st.integers(0, len(options) - 1)) if data else 0
    label = options[index]
    if _is_number(label):  # "2" or "second" as a label: the number wins, by design
        tally("label round trip", "label reads as a number")
        return
    decorations = ["{}", "  {}  "] + (["{}.", "{}!", "'{}'", "{}?"] if normalise(label) else [])
    decorated = data.draw(st.sampled_from(decorations)) if data else "{}"
    assert match_option(options, decorated.format(label)) == index, (label, options)
    assert parse_answer(question, decorated.format(label)) == Parsed(label)
    tally("label round trip", "chosen")


@given(choice_question(), st.data())
def test_an_option_number_in_digits_or_words_chooses_it(question: dict[str, Any],
                                                        data: st.DataObject) -> None:
    options = question["options"]
    number = data.draw(st.integers(1, len(options)))
    words = [word for word, value in NUMBER_WORDS.items() if value == number]
    typed = data.draw(st.sampled_from([str(number), f"option {number}", f"number {number}",
                                       f"{number}.", *words, *(f"the {w}" for w in words)]))
    assert parse_answer(question, typed) == Parsed(options[number - 1]), typed
    tally("option number", "chosen")


@given(choice_question("multi_choice"), st.data())
def test_numbers_listed_with_commas_choose_those_options(question: dict[str, Any],
                                                         data: st.DataObject) -> None:
    options = question["options"]
    limit = question["max_choices"] or len(options)
    picked = data.draw(st.lists(st.integers(1, len(options)), min_size=1, max_size=limit,
                                unique=True))
    separator = data.draw(st.sampled_from([", ", ",", "; ", " and ", " "]))
    typed = separator.join(str(n) for n in picked)
    assert parse_answer(question, typed) == Parsed([options[n - 1] for n in sorted(picked)])
    tally("multiple numbers", "chosen")


@given(scale_question(), st.data())
@example({"type": "scale", "min": 1000, "max": 1010, "labels": {}}, None)
@example({"type": "scale", "min": -120, "max": -110, "labels": {}}, None)
def test_a_scale_point_in_digits_parses_to_itself(question: dict[str, Any],
                                                  data: st.DataObject | None) -> None:
    low, high = question["min"], question["max"]
    point = data.draw(st.integers(low, high)) if data else low
    forms = [str(point), f"{point}/{high}", f"{point} out of {high}", f" {point} ",
             f"{point} of {high}"]
    typed = data.draw(st.sampled_from(forms)) if data else forms[1]
    assert parse_answer(question, typed) == Parsed(point), typed
    tally("scale point in digits", "itself")


@given(st.data())
def test_a_scale_point_in_words_parses_to_itself(data: st.DataObject) -> None:
    low = data.draw(st.integers(0, 9))
    high = data.draw(st.integers(low + 1, min(low + 10, 10)))
    point = data.draw(st.integers(low, high))
    word = next(w for w, v in NUMBER_WORDS.items() if v == point)
    question = {"type": "scale", "min": low, "max": high, "labels": {}}
    assert parse_answer(question, word) == Parsed(point), word
    tally("scale point in words", "itself")
