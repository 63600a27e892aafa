"""Property-based tests of the consultation file loader (bot.consultations.schema and
yamlsource): whatever the text, ``parse_consultation`` returns a definition or raises
``ConsultationFileError`` with every issue named; never another exception, never a hang.

Inputs: any text, YAML made from random data, the demo files mutated (cut, spliced,
characters changed), deeply nested and huge documents, anchors and aliases, and valid
definitions made from their parts (which must load, normalised, and load again to the
same definition).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import example, given
from hypothesis import strategies as st

from bot.consultations.schema import (
    KINDS,
    MAX_OPTION_LENGTH,
    ConsultationFileError,
    content_hash,
    parse_consultation,
)
from tests.unit.properties import report_outcomes, tally  # noqa: F401 (a fixture)

pytestmark = pytest.mark.usefixtures("report_outcomes")

DEMOS = sorted((Path(__file__).resolve().parents[2] / "consultations").glob("*.yml"))
DEMO_TEXTS = [path.read_text(encoding="utf-8") for path in DEMOS]


def load(prop: str, text: str) -> dict[str, Any] | None:
    """Parse ``text``; a definition, or None after checking the error is a clear one."""
    try:
        definition = parse_consultation(text)
    except ConsultationFileError as error:
        assert error.issues, "an error without issues"
        assert all(str(issue).strip() for issue in error.issues)
        assert str(error).strip()
        tally(prop, "ConsultationFileError")
        return None
    assert isinstance(definition, dict) and definition["questions"]
    tally(prop, "definition")
    return definition


# ---------------------------------------------------------------------------- any text
@given(st.text())
@example("[" * 100_000)
@example("a:\n" + "".join("  " * depth + "a:\n" for depth in range(1, 3000)))
@example("title: 0x" + "f" * 5000)
@example("title: " + "9" * 5000)
@example("&a [*a]")
@example("a: &a [*a, *a]\nb: *a")
@example("questions: [{id: q, type: scale, text: T, min: 1, max: 5, labels: {.inf: x}}]")
@example("\x00\ud800")
def test_any_text_loads_or_is_refused_clearly(text: str) -> None:
    load("any text", text)


def test_huge_file_is_refused_clearly_and_quickly() -> None:
    load("huge consultation file", "title: " + "x" * 2_000_000)
    load("huge consultation file", DEMO_TEXTS[0] + "#" * 2_000_000)


def test_billion_laughs_is_refused() -> None:
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 9)}]" for n in range(1, 10)]
    assert load("billion laughs", "\n".join(lines)) is None


# ---------------------------------------------------------------------------- YAML data
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(),
                    st.text(max_size=30), st.sampled_from(["yes", "No", "2027-02-30",
                                                           "2027-01-01", "~", ".inf"]))
KEYS = st.one_of(st.sampled_from(["slug", "title", "questions", "options", "id", "type",
                                  "text", "min", "max", "labels", "show_if", "privacy",
                                  "question", "in", "max_choices", "required"]),
                 st.text(max_size=10), st.integers())
DATA = st.recursive(SCALARS, lambda children: st.one_of(
    st.lists(children, max_size=5), st.dictionaries(KEYS, children, max_size=6)),
    max_leaves=40)


@given(DATA)
def test_yaml_of_random_data_loads_or_is_refused_clearly(data: Any) -> None:
    load("random YAML data", yaml.safe_dump(data, allow_unicode=True))


# ---------------------------------------------------------------------------- mutated demos
@st.composite
def mutated_demo(draw: st.DrawFn) -> str:
    """A demo file with a few random cuts, insertions, swaps and repeated lines."""
    text = draw(st.sampled_from(DEMO_TEXTS))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        kind = draw(st.sampled_from(["cut", "insert", "replace", "repeat-line"]))
        if kind == "cut":
            text = text[:at] + text[at + draw(st.integers(1, 80)):]
        elif kind == "insert":
            text = text[:at] + draw(st.sampled_from(
                ["\n", " ", ":", "- ", "[", "{", "&x ", "*x", "!!python/object ", "'", "\t",
                 "? ", "%YAML 1.1\n", "---\n"]) | st.text(max_size=10)) + text[at:]
        elif kind == "replace":
            text = text[:at] + draw(st.characters()) + text[at + 1:]
        else:
            lines = text.splitlines(keepends=True)
            line = draw(st.integers(0, len(lines) - 1))
            text = "".join(lines[:line + 1] + [lines[line]] * draw(st.integers(1, 3))
                           + lines[line + 1:])
    return text


@given(mutated_demo())
def test_mutated_demo_files_load_or_are_refused_clearly(text: str) -> None:
    load("mutated demo file", text)


# ---------------------------------------------------------------------------- valid files
WORDS = st.text(st.characters(codec="utf-8", exclude_categories=("C", "Z")) | st.just(" "),
                min_size=1, max_size=40).filter(lambda t: t.strip())
IDS = st.from_regex(r"[a-z][a-z0-9_]{0,15}", fullmatch=True)


@st.composite
def question(draw: st.DrawFn, qid: str) -> dict[str, Any]:
    kind = draw(st.sampled_from(["open", "single_choice", "multi_choice", "scale"]))
    raw: dict[str, Any] = {"id": qid, "type": kind, "text": draw(WORDS)}
    if kind in ("single_choice", "multi_choice"):
        raw["options"] = draw(st.lists(WORDS.map(lambda t: t[:MAX_OPTION_LENGTH]), min_size=2,
                                       max_size=8, unique_by=lambda t: " ".join(
                                           t.split()).casefold()))
        if kind == "multi_choice" and draw(st.booleans()):
            raw["max_choices"] = draw(st.integers(1, len(raw["options"])))
    if kind == "scale":
        low = draw(st.integers(-5, 5))
        high = draw(st.integers(low + 1, low + 10))
        raw.update(min=low, max=high, labels={low: draw(WORDS), high: draw(WORDS)})
    if kind == "open" and draw(st.booleans()):
        raw["probe"] = draw(WORDS)
    raw["required"] = draw(st.sampled_from([True, False, "yes", "no"]))
    return raw


@st.composite
def valid_file(draw: st.DrawFn) -> dict[str, Any]:
    ids = draw(st.lists(IDS, min_size=1, max_size=6, unique=True))
    return {"slug": draw(st.from_regex(r"[a-z0-9]{1,10}(-[a-z0-9]{1,10}){0,3}", fullmatch=True)),
            "title": draw(WORDS), "agency": draw(WORDS), "service": draw(WORDS),
            "kind": draw(st.sampled_from(KINDS)), "summary": draw(WORDS),
            "outcome": draw(WORDS), "opens": "2027-01-01",
            "closes": draw(st.sampled_from(["2027-01-01", "2027-12-31"])),
            "knowledge": draw(st.lists(WORDS, max_size=2)),
            "privacy": {"retention_days": draw(st.integers(1, 3650)),
                        "quotes": draw(st.sampled_from(["ask", "never"]))},
            "questions": [draw(question(qid)) for qid in ids]}


@given(valid_file())
def test_valid_files_load_normalised_and_load_again_to_the_same(raw: dict[str, Any]) -> None:
    definition = load("valid file", yaml.safe_dump(raw, allow_unicode=True, sort_keys=False))
    assert definition is not None
    assert [q["id"] for q in definition["questions"]] == [q["id"] for q in raw["questions"]]
    for given_q, loaded in zip(raw["questions"], definition["questions"], strict=True):
        assert loaded["text"] == " ".join(given_q["text"].split())
        if "options" in given_q:
            assert loaded["options"] == [" ".join(o.split()) for o in given_q["options"]]
    again = parse_consultation(yaml.safe_dump(definition, allow_unicode=True))
    assert again == definition and content_hash(again) == content_hash(definition)
