"""Profile questions and reference populations in consultation files: validation with
line numbers, the shared file of an agency, and the check against the questions."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.consultations.population import PREFER_NOT, parse_population_file
from bot.consultations.schema import (
    PROFILE_WHY,
    ConsultationFileError,
    parse_consultation,
    parse_consultation_file,
)

ROOT = Path(__file__).resolve().parents[2]

HEAD = """\
slug: bus-routes
title: Bus routes
agency: Riverside Borough Council
service: Transport
kind: co-design
summary: Tell us about the buses.
outcome: We will publish what we heard.
"""

QUESTIONS = """\
questions:
  - id: use
    type: single_choice
    text: How often do you take the bus?
    options: [Daily, Weekly, Rarely]
  - id: age
    type: single_choice
    text: How old are you?
    options: [Under 40, 40 or over]
    profile: age_band
"""

INLINE = """\
population:
  source: Census 2021 (test figures)
  dimensions:
    age_band: {Under 40: 0.55, 40 or over: 0.45}
"""


def problems(text: str) -> list[str]:
    with pytest.raises(ConsultationFileError) as failure:
        parse_consultation(text)
    return [str(issue) for issue in failure.value.issues]


def test_a_profile_question_is_optional_and_offers_prefer_not_to_say() -> None:
    definition = parse_consultation(HEAD + QUESTIONS + INLINE)
    age = definition["questions"][1]
    assert age["profile"] == "age_band" and age["required"] is False
    assert age["options"] == ["Under 40", "40 or over", PREFER_NOT]
    assert definition["profile_why"] == PROFILE_WHY
    assert definition["population"] == {
        "title": None, "source": "Census 2021 (test figures)",
        "dimensions": {"age_band": {"Under 40": 0.55, "40 or over": 0.45}}}


def test_a_file_without_profiles_keeps_its_definition_and_hash_inputs() -> None:
    definition = parse_consultation(HEAD + QUESTIONS.replace("    profile: age_band\n", ""))
    assert "profile_why" not in definition and "population" not in definition
    assert "profile" not in definition["questions"][1]


def test_counts_become_shares() -> None:
    text = INLINE.replace("0.55", "5500").replace("0.45", "4500")
    dimensions = parse_consultation(HEAD + QUESTIONS + text)["population"]["dimensions"]
    assert dimensions == {"age_band": {"Under 40": 0.55, "40 or over": 0.45}}


def test_shares_that_do_not_sum_to_one_are_refused_with_their_line() -> None:
    found = problems(HEAD + QUESTIONS + INLINE.replace("0.45", "0.35"))
    assert found == ["line 21: population.dimensions.age_band: the shares add up to 0.900, "
                     "not 1 (give shares that sum to 1 within 0.02, or counts)"]


def test_categories_must_match_the_options() -> None:
    text = INLINE.replace("Under 40: 0.55", "Under 30: 0.55")
    (found,) = problems(HEAD + QUESTIONS + text)
    assert found.startswith("line 21: population.dimensions.age_band: the categories must "
                            "match the question's options")
    assert "options with no population figure: Under 40" in found
    assert "categories that are not options of 'age': Under 30" in found


def test_a_population_dimension_needs_a_profile_question() -> None:
    text = INLINE + "    area: {North: 0.5, South: 0.5}\n"
    assert problems(HEAD + QUESTIONS + text) == [
        "line 22: population.dimensions.area: no profile question asks 'area' (mark one "
        "with 'profile: area')"]


def test_profile_questions_come_last_once_per_dimension_and_are_single_choice() -> None:
    text = HEAD + QUESTIONS + """\
  - id: later
    type: open
    text: Anything else?
  - id: age_again
    type: single_choice
    text: Your age?
    options: [Young, Old]
    profile: age_band
  - id: area
    type: scale
    text: Where?
    min: 1
    max: 3
    profile: area
"""
    assert problems(text) == [
        "line 31: questions[4].profile: a profile question must be a single_choice question",
        "line 18: questions[2]: profile questions must come after every other question; "
        "move this one above them",
        "line 25: questions[3].profile: 'age_band' is already asked by 'age'",
    ]


def test_bad_values_are_named() -> None:
    text = INLINE.replace("0.45", "-1").replace("Under 40: 0.55", "Prefer not to say: 0.5")
    found = problems(HEAD + QUESTIONS + text)
    assert "line 21: population.dimensions.age_band.40 or over: must be a share (0 to 1) " \
           "or a count, not -1" in found
    assert "line 21: population.dimensions.age_band.Prefer not to say: 'Prefer not to say' " \
           "is not a population category" in found


def test_the_shared_file_of_the_agency_is_read_next_to_the_consultation(
        tmp_path: Path) -> None:
    (tmp_path / "population").mkdir()
    (tmp_path / "population" / "riverside.yml").write_text(
        "source: test\ndimensions:\n  age_band:\n    Under 40: 60\n    40 or over: 40\n")
    path = tmp_path / "bus.yml"
    path.write_text(HEAD + QUESTIONS + "population: riverside\n")
    population = parse_consultation_file(path)["population"]
    assert population["dimensions"]["age_band"] == {"Under 40": 0.6, "40 or over": 0.4}


def test_a_broken_shared_file_is_reported_with_both_lines(tmp_path: Path) -> None:
    (tmp_path / "population").mkdir()
    (tmp_path / "population" / "riverside.yml").write_text(
        "source: test\ndimensions:\n  age_band:\n    Under 40: 60\n    40 or over: lots\n")
    path = tmp_path / "bus.yml"
    path.write_text(HEAD + QUESTIONS + "population: riverside\n")
    with pytest.raises(ConsultationFileError) as failure:
        parse_consultation_file(path)
    (issue,) = failure.value.issues
    assert str(issue) == ("line 18: population: riverside.yml: line 5: "
                          "dimensions.age_band.40 or over: must be a share (0 to 1) or a "
                          "count, not 'lots'")


def test_a_missing_shared_file_says_where_it_was_looked_for(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch
                                                             ) -> None:
    monkeypatch.setenv("CODESIGN_POPULATION_DIR", str(tmp_path))
    (found,) = problems(HEAD + QUESTIONS + "population: nowhere\n")
    assert f"no population file {tmp_path / 'nowhere.yml'}" in found


def test_the_demo_population_file_is_valid() -> None:
    population = parse_population_file(ROOT / "consultations" / "population" / "riverside.yml")
    for shares in population["dimensions"].values():
        assert sum(shares.values()) == pytest.approx(1.0)
