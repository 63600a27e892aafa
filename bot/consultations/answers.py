"""Understanding a citizen's typed answer to a question.

Choice and scale questions accept the option's number ("2", "two"), its text, a unique
prefix or a close misspelling; scale questions also accept "4/5", "4 out of 5" and the
labels. Open questions take free text; ``is_vague`` says when a follow-up probe helps.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from rapidfuzz import fuzz, process

NUMBER_WORDS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6,
    "seventh": 7, "eighth": 8, "ninth": 9, "tenth": 10, "last": -1,
}
FUZZY_THRESHOLD = 80
VAGUE_ANSWERS = {
    "idk", "dunno", "don't know", "dont know", "not sure", "no idea", "nothing", "none",
    "n/a", "na", "ok", "okay", "fine", "yes", "no", "maybe", "whatever", "it depends",
    "depends", "same", "nope", "yeah", "good", "bad", "meh", "stuff", "things", "not really",
}
MIN_SPECIFIC_WORDS = 4


@dataclass(frozen=True)
class Parsed:
    """A successfully understood answer: ``value`` is what is stored."""

    value: Any


@dataclass(frozen=True)
class NotUnderstood:
    """The text is not a valid answer; ``reason`` is shown to the citizen."""

    reason: str


ParseResult = Parsed | NotUnderstood


def normalise(text: str) -> str:
    """Lower-case, trim and collapse spaces and surrounding punctuation."""
    text = " ".join(text.casefold().split())
    return text.strip(" .!?,;:'\"")


def parse_answer(question: dict[str, Any], text: str) -> ParseResult:
    """Parse ``text`` as an answer to ``question`` (a normalised question definition)."""
    kind = question["type"]
    if kind == "open":
        cleaned = " ".join(text.split())
        if not cleaned:
            return NotUnderstood("Please type your answer.")
        return Parsed(cleaned[:5000])
    if kind == "single_choice":
        index = match_option(question["options"], text)
        if index is None:
            return NotUnderstood(_choice_hint(question["options"]))
        return Parsed(question["options"][index])
    if kind == "multi_choice":
        return _parse_multi(question, text)
    if kind == "scale":
        return _parse_scale(question, text)
    raise ValueError(f"unknown question type {kind!r}")


def match_option(options: list[str], text: str) -> int | None:
    """Return the 0-based index of the option ``text`` designates, or None."""
    wanted = normalise(text)
    if not wanted:
        # Only punctuation ("?", "..."): only an option written just so can mean it.
        typed = " ".join(text.split())
        return options.index(typed) if typed and typed in options else None
    number = _number(wanted, allow_prefix=True)
    if number == -1:
        return len(options) - 1
    if number is not None and 1 <= number <= len(options):
        return number - 1
    # Not an option's number ("0", "10" of four): it may still be an option's text.
    lowered = [normalise(option) for option in options]
    if wanted in lowered:
        return lowered.index(wanted)
    prefixed = [i for i, option in enumerate(lowered) if option.startswith(wanted)]
    if len(prefixed) == 1 and len(wanted) >= 3:
        return prefixed[0]
    contained = [i for i, option in enumerate(lowered) if len(option) >= 4 and option in wanted]
    if len(contained) == 1:
        return contained[0]
    for scorer, threshold in ((fuzz.ratio, FUZZY_THRESHOLD), (fuzz.token_set_ratio, 90)):
        best = process.extract(wanted, lowered, scorer=scorer, limit=2)
        clear = best and (len(best) == 1 or best[0][1] - best[1][1] >= 8)
        if clear and best[0][1] >= threshold:
            return int(best[0][2])
    return None


def _number(text: str, *, allow_prefix: bool = False) -> int | None:
    match = re.fullmatch(r"(?:(?:option|number|no\.?|answer)\s*)?(\d{1,3})(?:st|nd|rd|th)?", text)
    if match:
        return int(match.group(1))
    words = text.split()
    if allow_prefix and len(words) == 2 and words[0] in ("option", "number", "the"):
        text = words[1]
    if text in NUMBER_WORDS:
        return NUMBER_WORDS[text]
    return None


def _choice_hint(options: list[str]) -> str:
    listed = "; ".join(f"{i}. {option}" for i, option in enumerate(options, 1))
    return f"Please choose one of the options (you can type its number): {listed}."


def _parse_multi(question: dict[str, Any], text: str) -> ParseResult:
    options: list[str] = question["options"]
    wanted = normalise(text)
    if wanted in ("all", "all of them", "all of the above", "everything"):
        chosen = list(range(len(options)))
    else:
        chosen = []
        for part in _choice_parts(options, wanted):
            index = match_option(options, part)
            if index is None:
                return NotUnderstood(
                    f"I couldn't match “{part.strip()}” to an option. "
                    + _choice_hint(options).replace("choose one", "choose one or more")
                    + " Separate several with commas."
                )
            if index not in chosen:
                chosen.append(index)
        if not chosen:
            return NotUnderstood(
                _choice_hint(options).replace("choose one", "choose one or more")
                + " Separate several with commas."
            )
    limit = question.get("max_choices")
    if limit and len(chosen) > limit:
        return NotUnderstood(f"Please choose at most {limit} options (you picked {len(chosen)}).")
    return Parsed([options[i] for i in sorted(chosen)])


def _choice_parts(options: list[str], wanted: str) -> list[str]:
    """Split a typed list into option mentions: commas first, then "and", "&", "/"."""
    parts: list[str] = []
    for chunk in re.split(r"\s*[,;]\s*|(?<=\d)\s+(?=\d)", wanted):
        if not chunk.strip():
            continue
        if match_option(options, chunk) is not None and not re.search(r"\d\s+\d", chunk):
            whole = options[match_option(options, chunk) or 0]
            words = re.split(r"\s+(?:and|&|plus)\s+|\s*[/+]\s*", chunk)
            if len(words) == 1 or normalise(whole).count(" and ") or all(
                    match_option(options, w) is None for w in words):
                parts.append(chunk)
                continue
        parts += [w for w in re.split(r"\s+(?:and|&|plus)\s+|\s*[/+]\s*", chunk) if w.strip()]
    return parts


def _parse_scale(question: dict[str, Any], text: str) -> ParseResult:
    low, high = question["min"], question["max"]
    wanted = normalise(text)
    match = re.fullmatch(r"(-?\d{1,18})\s*(?:(?:/|out of|of)\s*-?\d{1,18})?", wanted)
    number = int(match.group(1)) if match else _number(wanted)
    if number is None:
        labels = {normalise(label): int(point) for point, label in question["labels"].items()}
        if wanted in labels:
            number = labels[wanted]
        elif labels:
            best = process.extract(wanted, list(labels), scorer=fuzz.ratio, limit=2)
            clear = best and (len(best) == 1 or best[0][1] - best[1][1] >= 8)
            if clear and best[0][1] >= FUZZY_THRESHOLD:
                number = labels[best[0][0]]
    if number is None or not low <= number <= high:
        labels_text = ", ".join(f"{p} = {label}" for p, label in question["labels"].items())
        extra = f" ({labels_text})" if labels_text else ""
        return NotUnderstood(f"Please answer with a number from {low} to {high}{extra}.")
    return Parsed(number)


def is_vague(text: str) -> bool:
    """True when an open answer is too short or too vague to be useful on its own."""
    cleaned = normalise(text)
    if cleaned in VAGUE_ANSWERS:
        return True
    return len(re.findall(r"\w+", cleaned)) < MIN_SPECIFIC_WORDS and len(cleaned) < 25
