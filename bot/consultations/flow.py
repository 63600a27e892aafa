"""Navigation through a consultation's questions, honouring ``show_if`` branches.

Everything here is pure: it takes the normalised definition and the current answers
(question id -> stored value, ``SKIPPED`` for a skipped question) and says which question
comes next, which came before, and how far along the citizen is.
"""

from __future__ import annotations

from typing import Any

SKIPPED = object()


def questions_of(definition: dict[str, Any]) -> list[dict[str, Any]]:
    """The questions of a definition, in order."""
    return list(definition["questions"])


def question_by_id(definition: dict[str, Any], question_id: str) -> dict[str, Any]:
    """Return one question; raises KeyError when the id is unknown."""
    for question in definition["questions"]:
        if question["id"] == question_id:
            return question
    raise KeyError(question_id)


def is_visible(question: dict[str, Any], answers: dict[str, Any]) -> bool:
    """Whether a question is asked, given the answers so far.

    A question whose condition refers to an unanswered or skipped question is hidden.
    """
    condition = question.get("show_if")
    if not condition:
        return True
    value = answers.get(condition["question"], SKIPPED)
    if value is SKIPPED or value is None:
        return False
    chosen = value if isinstance(value, list) else [value]
    return any(item in condition["in"] for item in chosen)


def _shown_ids(definition: dict[str, Any], answers: dict[str, Any], *,
               undecided: bool = False) -> set[str]:
    """Ids of the questions shown (or, with ``undecided``, that might still be shown).

    A question whose condition refers to a hidden question is hidden too, even when a
    stale answer to that question is still stored (the citizen went back and changed
    the branch). ``show_if`` only refers to earlier questions, so one pass suffices.
    """
    shown: set[str] = set()
    for question in definition["questions"]:
        condition = question.get("show_if")
        if condition and condition["question"] not in shown:
            continue
        if (might_be_shown if undecided else is_visible)(question, answers):
            shown.add(question["id"])
    return shown


def visible_questions(definition: dict[str, Any], answers: dict[str, Any]) -> list[dict[str, Any]]:
    """The questions shown for these answers, in order."""
    shown = _shown_ids(definition, answers)
    return [q for q in definition["questions"] if q["id"] in shown]


def next_question(definition: dict[str, Any], answers: dict[str, Any],
                  after: str | None) -> dict[str, Any] | None:
    """The next visible question after ``after`` (or the first one), or None at the end."""
    questions = definition["questions"]
    start = 0
    if after is not None:
        start = [q["id"] for q in questions].index(after) + 1
    shown = _shown_ids(definition, answers)
    for question in questions[start:]:
        if question["id"] in shown:
            return question
    return None


def previous_question(definition: dict[str, Any], answers: dict[str, Any],
                      before: str) -> dict[str, Any] | None:
    """The visible question before ``before``, or None when it is the first."""
    questions = definition["questions"]
    end = [q["id"] for q in questions].index(before)
    shown = _shown_ids(definition, answers)
    for question in reversed(questions[:end]):
        if question["id"] in shown:
            return question
    return None


def first_unanswered(definition: dict[str, Any], answers: dict[str, Any]) -> dict[str, Any] | None:
    """The first visible question without an answer (skips count as answered)."""
    for question in visible_questions(definition, answers):
        if question["id"] not in answers:
            return question
    return None


def might_be_shown(question: dict[str, Any], answers: dict[str, Any]) -> bool:
    """Visible, or hidden only because the question it depends on is not answered yet."""
    condition = question.get("show_if")
    if condition and condition["question"] not in answers:
        return True
    return is_visible(question, answers)


def progress(definition: dict[str, Any], answers: dict[str, Any],
             question_id: str) -> tuple[int, int]:
    """(position, total) of a question: 'Question 3 of 8'.

    Undecided branches count towards the total, so it can only shrink as answers
    rule questions out.
    """
    possible = _shown_ids(definition, answers, undecided=True)
    shown = [q["id"] for q in definition["questions"] if q["id"] in possible]
    if question_id not in shown:
        shown.append(question_id)
        shown.sort(key=[q["id"] for q in definition["questions"]].index)
    return shown.index(question_id) + 1, len(shown)
