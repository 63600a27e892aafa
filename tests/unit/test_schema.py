"""Unit tests for the consultation file format (bot.consultations.schema)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.consultations.schema import (
    ConsultationFileError,
    Issue,
    content_hash,
    parse_consultation,
    parse_consultation_file,
)

ROOT = Path(__file__).resolve().parents[2]
DEMO_FILES = sorted((ROOT / "consultations").glob("*.yml"))

# Line numbers matter in the tests below: keep this layout in mind.
# Anything appended to BASE starts on line 13.
BASE = """\
slug: test-one
title: A test consultation
agency: Test Council
service: Testing
kind: co-design
summary: A short summary.
outcome: We will publish what we heard.
questions:
  - id: colour
    type: single_choice
    text: Which colour do you prefer?
    options: [Red, Green, Blue]
"""
HEAD = BASE.split("questions:")[0]  # the top fields only, 7 lines

OPEN_WHY = """\
  - id: why
    type: open
    text: Why?
"""


def issues_of(text: str) -> list[Issue]:
    with pytest.raises(ConsultationFileError) as caught:
        parse_consultation(text)
    return caught.value.issues


# --- valid files --------------------------------------------------------------------------


def test_demo_files_are_present() -> None:
    names = {path.name for path in DEMO_FILES}
    assert {"library-hours-2027.yml", "park-redesign-2027.yml"} <= names


@pytest.mark.parametrize("path", DEMO_FILES, ids=lambda p: p.name)
def test_demo_files_are_valid(path: Path) -> None:
    definition = parse_consultation_file(path)
    assert definition["slug"] == path.stem
    assert definition["kind"] == "co-design"
    assert definition["agency"] == "Riverside Borough Council"
    assert definition["opens"] == "2026-11-01"
    assert definition["closes"] == "2027-06-30"
    assert definition["privacy"] == {
        "retention_days": 365, "quotes": "ask", "contact": "privacy@riverside.example",
    }
    assert definition["questions"]
    # The normalised definition is JSON-serialisable (it is stored and hashed).
    assert json.loads(json.dumps(definition)) == definition


def test_library_demo_questions() -> None:
    definition = parse_consultation_file(ROOT / "consultations" / "library-hours-2027.yml")
    assert [q["id"] for q in definition["questions"]] == [
        "visits", "barriers", "preferred_times", "evenings", "trade_off", "services",
        "hours_reasons", "anything_else",
    ]
    by_id = {q["id"]: q for q in definition["questions"]}
    assert by_id["visits"]["options"] == [
        "Weekly or more", "Monthly", "A few times a year", "Rarely or never",
    ]
    assert by_id["barriers"]["show_if"] == {
        "question": "visits", "in": ["A few times a year", "Rarely or never"],
    }
    assert by_id["barriers"]["probe"].startswith("Could you tell me a bit more")
    assert by_id["preferred_times"]["max_choices"] == 3
    assert by_id["evenings"] == {
        "id": "evenings", "type": "scale",
        "text": "How important would later evening opening be for you?",
        "help": None, "required": False, "min": 1, "max": 5,
        "labels": {"1": "Not important", "5": "Very important"}, "show_if": None,
    }
    assert by_id["anything_else"]["required"] is False
    assert by_id["visits"]["required"] is True
    assert definition["knowledge"] == ["libraries"]
    # Folded (>-) text is kept as one line.
    assert "\n" not in definition["intro"]
    assert definition["language"] == "en"


def test_park_demo_yes_no_options_stay_text() -> None:
    definition = parse_consultation_file(ROOT / "consultations" / "park-redesign-2027.yml")
    by_id = {q["id"]: q for q in definition["questions"]}
    assert by_id["access"]["options"] == ["Yes", "No", "Prefer not to say"]
    assert by_id["access_needs"]["show_if"] == {"question": "access", "in": ["Yes"]}


def test_minimal_valid_file_gets_defaults() -> None:
    definition = parse_consultation(BASE)
    assert definition == {
        "slug": "test-one",
        "title": "A test consultation",
        "agency": "Test Council",
        "service": "Testing",
        "kind": "co-design",
        "summary": "A short summary.",
        "outcome": "We will publish what we heard.",
        "intro": None,
        "language": "en",
        "opens": None,
        "closes": None,
        "knowledge": [],
        "privacy": {"retention_days": 365, "quotes": "ask", "contact": None},
        "questions": [{
            "id": "colour",
            "type": "single_choice",
            "text": "Which colour do you prefer?",
            "help": None,
            "required": True,
            "options": ["Red", "Green", "Blue"],
            "show_if": None,
        }],
    }


def test_unquoted_yes_no_options_are_text_not_booleans() -> None:
    text = BASE + """\
  - id: agree
    type: single_choice
    text: Do you agree?
    options: [Yes, No, yes please, On, Off, y, n]
  - id: follow_up
    type: open
    text: Tell us why.
    show_if: {question: agree, in: [Yes]}
"""
    definition = parse_consultation(text)
    agree, follow_up = definition["questions"][1:]
    assert agree["options"] == ["Yes", "No", "yes please", "On", "Off", "y", "n"]
    assert all(isinstance(option, str) for option in agree["options"])
    assert follow_up["show_if"] == {"question": "agree", "in": ["Yes"]}


def test_true_false_are_still_booleans() -> None:
    definition = parse_consultation(BASE + "    required: false\n")
    assert definition["questions"][0]["required"] is False


def test_text_whitespace_is_collapsed_and_numbers_become_text() -> None:
    text = BASE.replace("title: A test consultation", "title: '  A   test\tconsultation  '")
    text = text.replace("[Red, Green, Blue]", "[1, 2, '  Three  or   more ']")
    definition = parse_consultation(text)
    assert definition["title"] == "A test consultation"
    assert definition["questions"][0]["options"] == ["1", "2", "Three or more"]


def test_optional_fields_are_normalised() -> None:
    text = BASE + """\
  - id: rate
    type: scale
    text: How good?
    min: 0
    max: 10
    labels: {0: '  Awful ', 10: Great}
  - id: pick
    type: multi_choice
    text: Pick some.
    options: [a, b, c]
    max_choices: 2
    show_if: {question: rate, in: [0, 1]}
knowledge: parks
opens: 2027-01-01
closes: '2027-03-31'
language: cy
privacy:
  retention_days: 30
  quotes: never
"""
    definition = parse_consultation(text)
    rate, pick = definition["questions"][1:]
    assert (rate["min"], rate["max"], rate["labels"]) == (0, 10, {"0": "Awful", "10": "Great"})
    assert pick["max_choices"] == 2
    assert pick["show_if"] == {"question": "rate", "in": [0, 1]}
    assert definition["knowledge"] == ["parks"]
    assert (definition["opens"], definition["closes"]) == ("2027-01-01", "2027-03-31")
    assert definition["language"] == "cy"
    assert definition["privacy"] == {"retention_days": 30, "quotes": "never", "contact": None}


def test_opens_and_closes_on_the_same_day_is_allowed() -> None:
    definition = parse_consultation(BASE + "opens: 2027-05-01\ncloses: 2027-05-01\n")
    assert definition["opens"] == definition["closes"] == "2027-05-01"


# --- content hash -----------------------------------------------------------------------


def test_content_hash_is_stable_for_unchanged_content() -> None:
    first = content_hash(parse_consultation(BASE))
    second = content_hash(parse_consultation(BASE))
    assert first == second
    assert len(first) == 64 and int(first, 16) >= 0


def test_content_hash_ignores_formatting_and_comments() -> None:
    reformatted = "# a comment\n" + BASE.replace(
        "options: [Red, Green, Blue]", "options:\n      - Red\n      - Green\n      - Blue"
    ).replace("title: A test consultation", "title:   'A  test consultation'")
    assert content_hash(parse_consultation(reformatted)) == content_hash(parse_consultation(BASE))


def test_content_hash_ignores_key_order() -> None:
    definition = parse_consultation(BASE)
    reordered = dict(reversed(list(definition.items())))
    assert content_hash(reordered) == content_hash(definition)


@pytest.mark.parametrize("change", [
    ("A test consultation", "A different consultation"),
    ("[Red, Green, Blue]", "[Red, Blue, Green]"),
    ("kind: co-design", "kind: co-delivery"),
    ("Which colour do you prefer?", "Which colour do you like?"),
])
def test_content_hash_changes_with_content(change: tuple[str, str]) -> None:
    changed = BASE.replace(*change)
    assert changed != BASE
    assert content_hash(parse_consultation(changed)) != content_hash(parse_consultation(BASE))


def test_content_hash_of_demo_file_is_reproducible(tmp_path: Path) -> None:
    source = ROOT / "consultations" / "library-hours-2027.yml"
    copy = tmp_path / "copy.yml"
    copy.write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    assert content_hash(parse_consultation_file(copy)) == content_hash(
        parse_consultation_file(source))
    copy.write_text(source.read_text(encoding="utf-8").replace("max_choices: 3", "max_choices: 2",
                                                               1), encoding="utf-8")
    assert content_hash(parse_consultation_file(copy)) != content_hash(
        parse_consultation_file(source))


# --- invalid files ------------------------------------------------------------------------

SCALE_13 = """\
  - id: rate
    type: scale
    text: How good?
"""  # lines 13-15 when appended to BASE

INVALID = [
    # (id, text, path, phrase, line)
    ("single_choice_one_option", BASE.replace("[Red, Green, Blue]", "[Red]"),
     "questions[0].options", "a single_choice question needs at least 2 options", 12),
    ("multi_choice_no_options", BASE + "  - id: pick\n    type: multi_choice\n    text: Pick.\n",
     "questions[1].options", "a multi_choice question needs at least 2 options", 13),
    ("option_not_text", BASE.replace("[Red, Green, Blue]", "[Red, {a: b}]"),
     "questions[0].options[1]", "each option must be text", 12),
    ("option_too_long", BASE.replace("[Red, Green, Blue]", f"[Red, {'x' * 101}]"),
     "questions[0].options[1]", "is too long (at most 100 characters)", 12),
    ("duplicate_option", BASE.replace("[Red, Green, Blue]", "[Red, Green, Blue, red]"),
     "questions[0].options[3]", "duplicate option 'red'", 12),
    ("bad_slug_case", BASE.replace("slug: test-one", "slug: Test_One"),
     "slug", "use only a-z, 0-9 and single '-' between words", 1),
    ("bad_slug_double_dash", BASE.replace("slug: test-one", "slug: test--one"),
     "slug", "use only a-z, 0-9 and single '-' between words", 1),
    ("unknown_top_field", BASE + "titel: Oops\n",
     "titel", "unknown field 'titel' (did you mean 'title'?)", 13),
    ("unknown_question_field", BASE + "    hepl: Some help\n",
     "questions[0].hepl", "unknown field 'hepl' (did you mean 'help'?)", 13),
    ("unknown_privacy_field", BASE + "privacy:\n  retension_days: 30\n",
     "privacy.retension_days", "unknown field 'retension_days' (did you mean 'retention_days'?)",
     14),
    ("unknown_field_without_hint", BASE + "zzz: 1\n",
     "zzz", "unknown field 'zzz'", 13),
    ("bad_kind", BASE.replace("kind: co-design", "kind: co-whatever"),
     "kind", "must be one of co-design, co-assessment, co-commissioning, co-delivery "
     "(got 'co-whatever')", 5),
    ("missing_title", BASE.replace("title: A test consultation\n", ""),
     "title", "'title' is required", None),
    ("empty_title", BASE.replace("title: A test consultation", "title:"),
     "title", "must not be empty", 2),
    ("boolean_title", BASE.replace("title: A test consultation", "title: true"),
     "title", "must be text", 2),
    ("title_too_long", BASE.replace("title: A test consultation", "title: " + "t" * 201),
     "title", "is too long (201 characters, at most 200)", 2),
    ("closes_before_opens", BASE + "opens: 2027-05-01\ncloses: 2027-04-30\n",
     "closes", "must not be before 'opens'", 14),
    ("date_not_a_date", BASE + "opens: next tuesday\n",
     "opens", "must be a date written YYYY-MM-DD (got 'next tuesday')", 13),
    ("date_impossible_day", BASE + "closes: 2027-02-30\n",
     "closes", "must be a date written YYYY-MM-DD (got '2027-02-30')", 13),
    ("date_impossible_month", BASE + "opens: 2027-13-01\n",
     "opens", "must be a date written YYYY-MM-DD (got '2027-13-01')", 13),
    ("duplicate_question_id", BASE + OPEN_WHY.replace("id: why", "id: colour"),
     "questions[1].id", "duplicate question id 'colour'", 13),
    ("bad_question_id", BASE.replace("id: colour", "id: Colour"),
     "questions[0].id", "use a-z, 0-9 and '_' only, starting with a letter", 9),
    ("question_id_too_long", BASE.replace("id: colour", "id: " + "c" * 25),
     "questions[0].id", "is too long (25 characters, at most 24)", 9),
    ("missing_question_text", BASE.replace("    text: Which colour do you prefer?\n", ""),
     "questions[0]", "'text' is required", 9),
    ("bad_question_type", BASE.replace("type: single_choice", "type: dropdown"),
     "questions[0].type", "must be one of open, single_choice, multi_choice, scale "
     "(got 'dropdown')", 10),
    ("required_not_boolean", BASE + "    required: maybe\n",
     "questions[0].required", "must be true or false", 13),
    ("show_if_later_question",
     BASE + "    show_if: {question: later, in: [x]}\n"
     "  - id: later\n    type: single_choice\n    text: L?\n    options: [x, y]\n",
     "questions[0].show_if.question", "'later' is not an earlier question of this file", 13),
    ("show_if_unknown_question", BASE + OPEN_WHY + "    show_if: {question: nothere, in: [x]}\n",
     "questions[1].show_if.question", "'nothere' is not an earlier question of this file", 16),
    ("show_if_itself", BASE + OPEN_WHY + "    show_if: {question: why, in: [x]}\n",
     "questions[1].show_if.question", "'why' is not an earlier question of this file", 16),
    ("show_if_value_not_an_option",
     BASE + OPEN_WHY + "    show_if: {question: colour, in: [Purple]}\n",
     "questions[1].show_if.in", "'Purple' is not an option of 'colour'", 16),
    ("show_if_value_misspelt", BASE + OPEN_WHY + "    show_if: {question: colour, in: Gren}\n",
     "questions[1].show_if.in", "'Gren' is not an option of 'colour' (did you mean 'Green'?)",
     16),
    ("show_if_empty_in", BASE + OPEN_WHY + "    show_if: {question: colour, in: []}\n",
     "questions[1].show_if.in", "must list at least one answer", 16),
    ("show_if_on_open_question",
     BASE + OPEN_WHY + "  - id: more\n    type: open\n    text: More?\n"
     "    show_if: {question: why, in: [x]}\n",
     "questions[2].show_if.question", "show_if can only refer to a choice or scale question",
     19),
    ("show_if_missing_in", BASE + OPEN_WHY + "    show_if: {question: colour}\n",
     "questions[1].show_if", "must be a mapping like {question: visits, in: [Never]}", 16),
    ("show_if_unknown_key",
     BASE + OPEN_WHY + "    show_if: {question: colour, in: [Red], not: [Blue]}\n",
     "questions[1].show_if.not", "unknown field 'not'", 16),
    ("show_if_scale_not_a_point",
     BASE + SCALE_13 + "    min: 1\n    max: 5\n" + OPEN_WHY
     + "    show_if: {question: rate, in: [low]}\n",
     "questions[2].show_if.in", "'low' is not a point of the scale 'rate'", 21),
    ("scale_max_equals_min", BASE + SCALE_13 + "    min: 5\n    max: 5\n",
     "questions[1].max", "must be greater than min", 17),
    ("scale_max_below_min", BASE + SCALE_13 + "    min: 5\n    max: 1\n",
     "questions[1].max", "must be greater than min", 17),
    ("scale_too_many_points", BASE + SCALE_13 + "    min: 0\n    max: 11\n",
     "questions[1].max", "a scale can have at most 11 points", 17),
    ("scale_missing_min", BASE + SCALE_13 + "    max: 5\n",
     "questions[1].min", "a scale question needs a whole-number 'min'", 13),
    ("scale_text_max", BASE + SCALE_13 + "    min: 1\n    max: five\n",
     "questions[1].max", "a scale question needs a whole-number 'max'", 17),
    ("scale_label_below_range", BASE + SCALE_13 + "    min: 1\n    max: 5\n"
     "    labels: {0: Bad, 5: Good}\n",
     "questions[1].labels.0", "0 is outside the scale 1-5", 18),
    ("scale_label_above_range", BASE + SCALE_13 + "    min: 1\n    max: 5\n"
     "    labels:\n      1: Bad\n      6: Good\n",
     "questions[1].labels.6", "6 is outside the scale 1-5", 20),
    ("scale_label_not_a_point", BASE + SCALE_13 + "    min: 1\n    max: 5\n"
     "    labels: {high: Good}\n",
     "questions[1].labels", "'high' is not a scale point", 18),
    ("scale_labels_not_mapping", BASE + SCALE_13 + "    min: 1\n    max: 5\n"
     "    labels: [Bad, Good]\n",
     "questions[1].labels", "must map scale points to labels", 18),
    ("probe_on_choice_question", BASE + "    probe: Tell me more.\n",
     "questions[0].probe", "a probe only applies to open questions", 13),
    ("options_on_open_question", BASE + OPEN_WHY + "    options: [a, b]\n",
     "questions[1].options", "only choice questions have options (this one is open)", 16),
    ("min_on_choice_question", BASE + "    min: 1\n",
     "questions[0].min", "'min' only applies to scale questions", 13),
    ("labels_on_open_question", BASE + OPEN_WHY + "    labels: {1: x}\n",
     "questions[1].labels", "'labels' only applies to scale questions", 16),
    ("max_choices_above_option_count",
     BASE + "  - id: pick\n    type: multi_choice\n    text: Pick.\n    options: [a, b, c]\n"
     "    max_choices: 4\n",
     "questions[1].max_choices", "must be a whole number from 1 to 3", 17),
    ("max_choices_zero",
     BASE + "  - id: pick\n    type: multi_choice\n    text: Pick.\n    options: [a, b, c]\n"
     "    max_choices: 0\n",
     "questions[1].max_choices", "must be a whole number from 1 to 3", 17),
    ("retention_days_zero", BASE + "privacy:\n  retention_days: 0\n",
     "privacy.retention_days", "must be a whole number of days from 1 to 3650", 14),
    ("retention_days_too_long", BASE + "privacy:\n  retention_days: 3651\n",
     "privacy.retention_days", "must be a whole number of days from 1 to 3650", 14),
    ("retention_days_text", BASE + "privacy:\n  retention_days: a year\n",
     "privacy.retention_days", "must be a whole number of days from 1 to 3650", 14),
    ("quotes_not_ask_or_never", BASE + "privacy:\n  quotes: always\n",
     "privacy.quotes", "must be 'ask' or 'never' (got 'always')", 14),
    ("privacy_not_mapping", BASE + "privacy: keep it safe\n",
     "privacy", "must be a mapping with retention_days, quotes and contact", 13),
    ("knowledge_not_names", BASE + "knowledge: [1, 2]\n",
     "knowledge", "must be a list of knowledge collection names", 13),
    ("empty_questions_list", HEAD + "questions: []\n",
     "questions", "must be a non-empty list of questions", 8),
    ("null_questions", HEAD + "questions:\n",
     "questions", "must be a non-empty list of questions", 8),
    ("missing_questions", HEAD,
     "questions", "must be a non-empty list of questions", None),
    ("questions_not_a_list", HEAD + "questions: {id: a}\n",
     "questions", "must be a non-empty list of questions", 8),
    ("question_not_a_mapping", BASE + "  - Just a question?\n",
     "questions[1]", "each question must be a mapping with id, type and text", 13),
    ("invalid_yaml_unclosed_flow", BASE.replace("[Red, Green, Blue]", "[Red, Green, Blue"),
     "", "not valid YAML", 13),
    ("invalid_yaml_bad_indent", "slug: a\n  title: b\n",
     "", "not valid YAML: mapping values are not allowed here", 2),
    ("invalid_yaml_tab", "slug: a\n\ttitle: b\n",
     "", "not valid YAML", 2),
    ("file_is_a_list", "- slug: a\n- title: b\n",
     "", "the file must be a YAML mapping of fields", 1),
    ("file_is_a_scalar", "just some words\n",
     "", "the file must be a YAML mapping of fields", 1),
    ("file_is_empty", "",
     "", "the file must be a YAML mapping of fields", 1),
]


@pytest.mark.parametrize(("text", "path", "phrase", "line"),
                         [case[1:] for case in INVALID], ids=[case[0] for case in INVALID])
def test_invalid_file_reports_one_precise_issue(text: str, path: str, phrase: str,
                                                line: int | None) -> None:
    issues = issues_of(text)
    assert len(issues) == 1, [str(issue) for issue in issues]
    issue = issues[0]
    assert issue.path == path
    assert phrase in issue.message
    assert issue.line == line
    rendered = str(issue)
    assert phrase in rendered
    if line is None:
        assert not rendered.startswith("line ")
    else:
        assert rendered.startswith(f"line {line}: ")
    if path:
        assert f"{path}: " in rendered


def test_invalid_case_ids_are_unique() -> None:
    ids = [case[0] for case in INVALID]
    assert len(ids) == len(set(ids))


def test_single_choice_with_one_option_message() -> None:
    text = BASE.replace("[Red, Green, Blue]", "[Red]")
    with pytest.raises(ConsultationFileError) as caught:
        parse_consultation(text)
    rendered = str(caught.value)
    assert rendered == ("line 12: questions[0].options: "
                        "a single_choice question needs at least 2 options")
    assert str(caught.value.issues[0]) == rendered


def test_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="must be one of co-design"):
        parse_consultation(BASE.replace("kind: co-design", "kind: nope"))


def test_bad_question_type_does_not_cascade_into_type_specific_errors() -> None:
    text = BASE.replace("type: single_choice", "type: dropdown") + "    probe: More?\n    min: 1\n"
    issues = issues_of(text)
    assert [issue.path for issue in issues] == ["questions[0].type"]
    assert all("None" not in issue.message for issue in issues)


def test_all_problems_are_reported_at_once() -> None:
    text = (BASE.replace("slug: test-one", "slug: Bad Slug")
            .replace("kind: co-design", "kind: nope")
            .replace("[Red, Green, Blue]", "[Red]"))
    issues = issues_of(text)
    assert [(issue.path, issue.line) for issue in issues] == [
        ("slug", 1), ("kind", 5), ("questions[0].options", 12),
    ]
    assert "use only a-z" in issues[0].message
    assert "got 'nope'" in issues[1].message
    assert "needs at least 2 options" in issues[2].message


def test_many_problems_across_sections_are_all_reported() -> None:
    text = BASE.replace("title: A test consultation\n", "") + """\
  - id: colour
    type: scale
    text: Rate it
    min: 3
    max: 1
privacy:
  retention_days: 0
  quotes: sometimes
opens: 2027-06-01
closes: 2027-01-01
"""
    issues = issues_of(text)
    paths = [issue.path for issue in issues]
    assert sorted(paths) == sorted([
        "title", "closes", "privacy.retention_days", "privacy.quotes",
        "questions[1].max", "questions[1].id",
    ])


def test_error_message_lists_every_issue_on_its_own_line() -> None:
    text = BASE.replace("slug: test-one", "slug: Bad Slug").replace("kind: co-design", "kind: x")
    with pytest.raises(ConsultationFileError) as caught:
        parse_consultation(text)
    lines = str(caught.value).splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("line 1: slug: ")
    assert lines[1].startswith("line 5: kind: ")


# --- parse_consultation_file ------------------------------------------------------------


def test_file_errors_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.yml"
    path.write_text(BASE.replace("kind: co-design", "kind: nope"), encoding="utf-8")
    with pytest.raises(ConsultationFileError) as caught:
        parse_consultation_file(path)
    error = caught.value
    assert error.source == str(path)
    assert [issue.path for issue in error.issues] == ["kind"]
    assert str(error).startswith(f"{path}: line 5: kind: must be one of")


def test_valid_file_from_disk_matches_text(tmp_path: Path) -> None:
    path = tmp_path / "ok.yml"
    path.write_text(BASE, encoding="utf-8")
    assert parse_consultation_file(path) == parse_consultation(BASE)


def test_missing_file_is_reported_as_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "does-not-exist.yml"
    with pytest.raises(ConsultationFileError) as caught:
        parse_consultation_file(path)
    error = caught.value
    assert error.source == str(path)
    assert len(error.issues) == 1
    issue = error.issues[0]
    assert issue.path == ""
    assert issue.line is None
    assert issue.message.startswith("cannot read file: ")
    assert str(error).startswith(f"{path}: cannot read file: ")


def test_directory_is_reported_as_unreadable(tmp_path: Path) -> None:
    with pytest.raises(ConsultationFileError) as caught:
        parse_consultation_file(tmp_path)
    assert caught.value.issues[0].message.startswith("cannot read file: ")


def test_non_utf8_file_is_reported_as_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yml"
    path.write_bytes(BASE.replace("A test", "Caf\xe9").encode("latin-1"))
    with pytest.raises(ConsultationFileError) as caught:
        parse_consultation_file(path)
    assert caught.value.issues[0].message.startswith("cannot read file: ")


def test_invalid_yaml_file_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yml"
    path.write_text("slug: a\n  title: b\n", encoding="utf-8")
    with pytest.raises(ConsultationFileError) as caught:
        parse_consultation_file(path)
    assert str(caught.value).startswith(f"{path}: line 2: not valid YAML")


def test_issue_str_without_path_or_line() -> None:
    assert str(Issue("", "oops")) == "oops"
    assert str(Issue("", "oops", 3)) == "line 3: oops"
    assert str(Issue("slug", "bad")) == "slug: bad"
    assert str(Issue("slug", "bad", 1)) == "line 1: slug: bad"


def test_required_accepts_yes_and_no_words() -> None:
    """Agencies write `required: no`; it means false even though yes/no load as text."""
    assert parse_consultation(BASE + "    required: no\n")["questions"][0]["required"] is False
    assert parse_consultation(BASE + "    required: yes\n")["questions"][0]["required"] is True
