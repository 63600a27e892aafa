"""The consultation file format: validation with field paths and line numbers.

A consultation file is YAML written by an agency. ``parse_consultation`` turns it into a
normalised, JSON-serialisable definition or raises ``ConsultationFileError`` listing every
problem as ``line N: path: message``.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from datetime import date
from pathlib import Path
from typing import Any

from bot.consultations import population
from bot.consultations.checking import Checker, ConsultationFileError, Issue
from bot.consultations.yamlsource import YamlSyntaxError, load_with_lines

__all__ = ["ConsultationFileError", "Issue", "content_hash", "parse_consultation",
           "parse_consultation_file"]

KINDS = ("co-design", "co-assessment", "co-commissioning", "co-delivery")
QUESTION_TYPES = ("open", "single_choice", "multi_choice", "scale")
CHOICE_TYPES = ("single_choice", "multi_choice")
SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
QUESTION_ID_RE = re.compile(r"^[a-z][a-z0-9_]*$")
MAX_QUESTION_ID = 24
MAX_OPTION_LENGTH = 100
MAX_QUESTIONS = 100

TOP_FIELDS = {
    "slug": True, "title": True, "agency": True, "service": True, "kind": True,
    "summary": True, "intro": False, "opens": False, "closes": False, "knowledge": False,
    "privacy": False, "outcome": True, "questions": True, "language": False,
    "population": False, "profile_why": False,
}
PRIVACY_FIELDS = {"retention_days", "quotes", "contact"}
QUESTION_FIELDS = {
    "id", "type", "text", "options", "probe", "show_if", "min", "max", "labels",
    "required", "help", "max_choices", "profile",
}
#: What the bot says before the first profile question, unless the file says otherwise.
PROFILE_WHY = ("Finally, a few optional questions about you. They help us see whether we "
               "heard from a fair mix of the people who live here. You can skip any of "
               "them, and they are never shown next to what you told us.")


def parse_consultation_file(path: Path) -> dict[str, Any]:
    """Read and validate a consultation file.

    Raises:
        ConsultationFileError: with every problem found, naming the file.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConsultationFileError([Issue("", f"cannot read file: {exc}")], str(path)) from exc
    shared = path.parent / "population"
    try:
        return parse_consultation(text, shared if shared.is_dir() else None)
    except ConsultationFileError as exc:
        raise ConsultationFileError(exc.issues, str(path)) from None


def parse_consultation(text: str, population_folder: Path | None = None) -> dict[str, Any]:
    """Validate consultation YAML text and return the normalised definition.

    A population named by a shared file is read from ``population_folder`` (by default
    ``population.population_dir()``) and copied into the definition.

    Raises:
        ConsultationFileError: with every problem found.
    """
    try:
        data, lines = load_with_lines(text)
    except YamlSyntaxError as exc:
        raise ConsultationFileError([Issue("", f"not valid YAML: {exc}", exc.line)]) from exc
    check = Checker(lines)
    if not isinstance(data, dict):
        raise ConsultationFileError([Issue("", "the file must be a YAML mapping of fields", 1)])
    check.unknown_keys(data, TOP_FIELDS, "")
    result: dict[str, Any] = {}
    for key in ("title", "agency", "service", "summary", "outcome"):
        result[key] = check.text(data, key, "", required=True,
                                 max_length=200 if key != "outcome" else 2000)
    result["intro"] = check.text(data, "intro", "", required=False)
    result["language"] = check.text(data, "language", "", required=False) or "en"

    slug = check.text(data, "slug", "", required=True, max_length=64)
    if slug and not SLUG_RE.match(slug):
        check.add("slug",
                  "use only a-z, 0-9 and single '-' between words, e.g. 'park-redesign-2027'")
    result["slug"] = slug

    kind = check.text(data, "kind", "", required=True)
    if kind and kind not in KINDS:
        check.add("kind", f"must be one of {', '.join(KINDS)} (got '{kind}')")
    result["kind"] = kind

    result["opens"] = _date(check, data, "opens")
    result["closes"] = _date(check, data, "closes")
    if result["opens"] and result["closes"] and result["closes"] < result["opens"]:
        check.add("closes", "must not be before 'opens'")

    result["knowledge"] = _knowledge(check, data.get("knowledge"))
    result["privacy"] = _privacy(check, data.get("privacy"))
    result["questions"] = _questions(check, data.get("questions"))
    if any(q.get("profile") for q in result["questions"]):
        result["profile_why"] = check.text(data, "profile_why", "", required=False,
                                           max_length=500) or PROFILE_WHY
    elif "profile_why" in data:
        check.add("profile_why", "only applies when some questions have 'profile'")
    if "population" in data:
        result["population"] = population.read(check, data["population"], population_folder)
        population.check_against_questions(check, result["population"], result["questions"])

    if check.issues:
        raise ConsultationFileError(check.issues)
    return result


def content_hash(definition: dict[str, Any]) -> str:
    """A stable hash of a normalised definition (same content, same hash)."""
    encoded = json.dumps(definition, sort_keys=True, ensure_ascii=False).encode()
    return hashlib.sha256(encoded).hexdigest()


def _date(check: Checker, data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip()).isoformat()
        except ValueError:
            pass
    check.add(key, f"must be a date written YYYY-MM-DD (got '{value}')")
    return None


def _knowledge(check: Checker, value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        check.add("knowledge", "must be a list of knowledge collection names")
        return []
    return [v.strip() for v in value]


def _privacy(check: Checker, value: Any) -> dict[str, Any]:
    result: dict[str, Any] = {"retention_days": 365, "quotes": "ask", "contact": None}
    if value is None:
        return result
    if not isinstance(value, dict):
        check.add("privacy", "must be a mapping with retention_days, quotes and contact")
        return result
    check.unknown_keys(value, PRIVACY_FIELDS, "privacy")
    days = value.get("retention_days", 365)
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 3650:
        check.add("privacy.retention_days", "must be a whole number of days from 1 to 3650")
    else:
        result["retention_days"] = days
    quotes = value.get("quotes", "ask")
    if quotes not in ("ask", "never"):
        check.add("privacy.quotes", f"must be 'ask' or 'never' (got '{quotes}')")
    else:
        result["quotes"] = quotes
    result["contact"] = check.text(value, "contact", "privacy", required=False, max_length=200)
    return result


def _questions(check: Checker, value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not value:
        check.add("questions", "must be a non-empty list of questions")
        return []
    if len(value) > MAX_QUESTIONS:
        check.add("questions", f"has {len(value)} questions; at most {MAX_QUESTIONS} are allowed")
    questions: list[dict[str, Any]] = []
    seen: dict[str, dict[str, Any]] = {}
    for index, raw in enumerate(value):
        path = f"questions[{index}]"
        if not isinstance(raw, dict):
            check.add(path, "each question must be a mapping with id, type and text")
            continue
        question = _question(check, raw, path, seen)
        if question is not None:
            if question["id"] in seen:
                check.add(f"{path}.id", f"duplicate question id '{question['id']}'")
            else:
                seen[question["id"]] = question
            questions.append(question)
    _check_profiles(check, questions)
    return questions


def _check_profiles(check: Checker, questions: list[dict[str, Any]]) -> None:
    """Profile questions come after every other question, one per dimension."""
    seen: dict[str, str] = {}
    profiled = False
    for index, question in enumerate(questions):
        dimension = question.get("profile")
        if dimension is None:
            if profiled:
                check.add(f"questions[{index}]", "profile questions must come after every "
                                                 "other question; move this one above them")
            continue
        profiled = True
        if dimension in seen:
            check.add(f"questions[{index}].profile",
                      f"'{dimension}' is already asked by '{seen[dimension]}'")
        seen.setdefault(dimension, question["id"])


def _question(check: Checker, raw: dict[str, Any], path: str,
              earlier: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    check.unknown_keys(raw, QUESTION_FIELDS, path)
    qid = check.text(raw, "id", path, required=True, max_length=MAX_QUESTION_ID)
    if qid and not QUESTION_ID_RE.match(qid):
        check.add(f"{path}.id", "use a-z, 0-9 and '_' only, starting with a letter")
    qtype = check.text(raw, "type", path, required=True)
    if qtype and qtype not in QUESTION_TYPES:
        check.add(f"{path}.type", f"must be one of {', '.join(QUESTION_TYPES)} (got '{qtype}')")
        qtype = None
    question: dict[str, Any] = {
        "id": qid or f"q{len(earlier) + 1}",
        "type": qtype,
        "text": check.text(raw, "text", path, required=True, max_length=500),
        "help": check.text(raw, "help", path, required=False, max_length=500),
        "required": True,
    }
    required = raw.get("required", True)
    if isinstance(required, str) and required.casefold() in ("yes", "no"):
        required = required.casefold() == "yes"
    if not isinstance(required, bool):
        check.add(f"{path}.required", "must be true or false")
    else:
        question["required"] = required
    if qtype in CHOICE_TYPES:
        question["options"] = _options(check, raw, path, qtype)
        if qtype == "multi_choice":
            question["max_choices"] = _max_choices(check, raw, path, len(question["options"]))
    elif "options" in raw and qtype is not None:
        check.add(f"{path}.options", f"only choice questions have options (this one is {qtype})")
    if qtype == "scale":
        question.update(_scale(check, raw, path))
    else:
        for key in ("min", "max", "labels"):
            if key in raw and qtype is not None:
                check.add(f"{path}.{key}", f"'{key}' only applies to scale questions")
    if qtype == "open":
        question["probe"] = check.text(raw, "probe", path, required=False, max_length=500)
    elif "probe" in raw and qtype is not None:
        check.add(f"{path}.probe", "a probe only applies to open questions")
    question["show_if"] = _show_if(check, raw.get("show_if"), f"{path}.show_if", earlier)
    if "profile" in raw:
        _profile(check, raw, path, question)
    return question


def _profile(check: Checker, raw: dict[str, Any], path: str, question: dict[str, Any]) -> None:
    """A profile question: single choice, optional, asked of everyone, with "Prefer not
    to say" (added when missing)."""
    dimension = raw["profile"]
    if not isinstance(dimension, str) or not population.DIMENSION_RE.match(dimension):
        check.add(f"{path}.profile", "must name a dimension, e.g. age_band or area (a-z, 0-9 "
                                     "and '_')")
        return
    question["profile"] = dimension
    if question["type"] != "single_choice":
        check.add(f"{path}.profile", "a profile question must be a single_choice question")
        return
    if raw.get("show_if") is not None:
        check.add(f"{path}.show_if", "a profile question is asked of everyone; remove show_if")
    if raw.get("required") is True:
        check.add(f"{path}.required", "a profile question is always optional")
    options = question.get("options") or []
    if options and population.PREFER_NOT not in options:
        question["options"] = [*options, population.PREFER_NOT]
    question["required"] = False


def _options(check: Checker, raw: dict[str, Any], path: str, qtype: str) -> list[str]:
    options = raw.get("options")
    where = f"{path}.options"
    if not isinstance(options, list) or len(options) < 2:
        check.add(where, f"a {qtype} question needs at least 2 options")
        return []
    result: list[str] = []
    for index, option in enumerate(options):
        if isinstance(option, bool) or not isinstance(option, str | int | float):
            check.add(f"{where}[{index}]", "each option must be text")
            continue
        text = " ".join(str(option).split())
        if not text:
            check.add(f"{where}[{index}]", "an option must not be empty")
        elif len(text) > MAX_OPTION_LENGTH:
            check.add(f"{where}[{index}]", f"is too long (at most {MAX_OPTION_LENGTH} characters)")
        elif text.casefold() in (r.casefold() for r in result):
            check.add(f"{where}[{index}]", f"duplicate option '{text}'")
        else:
            result.append(text)
    if len(options) > 20:
        check.add(where, "at most 20 options are allowed")
    return result


def _max_choices(check: Checker, raw: dict[str, Any], path: str, count: int) -> int | None:
    value = raw.get("max_choices")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= max(count, 1):
        check.add(f"{path}.max_choices", f"must be a whole number from 1 to {count}")
        return None
    return value


def _scale(check: Checker, raw: dict[str, Any], path: str) -> dict[str, Any]:
    low, high = raw.get("min"), raw.get("max")
    ok = True
    for key, value in (("min", low), ("max", high)):
        if isinstance(value, bool) or not isinstance(value, int):
            check.add(f"{path}.{key}", f"a scale question needs a whole-number '{key}'")
            ok = False
    if not ok:
        return {"min": 1, "max": 5, "labels": {}}
    assert isinstance(low, int) and isinstance(high, int)
    if high <= low:
        check.add(f"{path}.max", "must be greater than min")
    elif high - low > 10:
        check.add(f"{path}.max", "a scale can have at most 11 points")
    labels: dict[str, str] = {}
    raw_labels = raw.get("labels") or {}
    if not isinstance(raw_labels, dict):
        check.add(f"{path}.labels", "must map scale points to labels, e.g. {1: Poor, 5: Great}")
    else:
        for point, label in raw_labels.items():
            try:
                number = int(point)
            except (TypeError, ValueError, OverflowError):  # OverflowError: .inf
                check.add(f"{path}.labels", f"'{point}' is not a scale point")
                continue
            if not low <= number <= high:
                check.add(f"{path}.labels.{point}", f"{number} is outside the scale {low}-{high}")
            elif not isinstance(label, str) or not label.strip():
                check.add(f"{path}.labels.{point}", "a label must be text")
            else:
                labels[str(number)] = " ".join(label.split())
    return {"min": low, "max": high, "labels": labels}


def _show_if(check: Checker, value: Any, path: str,
             earlier: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict) or "question" not in value or "in" not in value:
        check.add(path, "must be a mapping like {question: visits, in: [Never]}")
        return None
    check.unknown_keys(value, {"question", "in"}, path)
    target_id = str(value["question"])
    target = earlier.get(target_id)
    if target is None:
        check.add(f"{path}.question", f"'{target_id}' is not an earlier question of this file")
        return None
    values = value["in"] if isinstance(value["in"], list) else [value["in"]]
    if not values:
        check.add(f"{path}.in", "must list at least one answer")
        return None
    if target["type"] in CHOICE_TYPES:
        options = target.get("options") or []
        normalised = [" ".join(str(v).split()) for v in values]
        for item in normalised:
            if item not in options:
                hint = difflib.get_close_matches(item, options, n=1)
                suggestion = f" (did you mean '{hint[0]}'?)" if hint else ""
                check.add(f"{path}.in", f"'{item}' is not an option of '{target_id}'{suggestion}")
        return {"question": target_id, "in": normalised}
    if target["type"] == "scale":
        points = []
        for item in values:
            if isinstance(item, bool) or not isinstance(item, int):
                check.add(f"{path}.in", f"'{item}' is not a point of the scale '{target_id}'")
            else:
                points.append(item)
        return {"question": target_id, "in": points}
    check.add(f"{path}.question", "show_if can only refer to a choice or scale question")
    return None
