"""What a simulated citizen knows about the consultations and the bot's wording.

Reading a reply: which question the bot is asking ("Question 3 of 8" and the question's
text from ``consultations/*.yml``), the probe, the summary, the quote and consent
questions, "Paused", the welcome, the submission and the "unavailable" marker
(``rasa_ext/unavailable.py``). Answering: the value a citizen means to give each question
(``Intended``: what the store must then hold, as ``bot.consultations.answers`` parses it)
and the ways to say it, typed ("4", "four", an option's text, a close misspelling,
"1, 3") or by a button's payload. Every typed form is checked with the bot's own parser,
so a form that would not be understood is never used.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from bot.consultations.answers import NUMBER_WORDS, Parsed, match_option, normalise, parse_answer
from bot.consultations.schema import parse_consultation_file
from bot.devtools.stack import ROOT
from bot.dialogue.messages import payload
from bot.dialogue.render import format_value

# ------------------------------------------------------------------ replies


@dataclass(frozen=True)
class Message:
    """One message from the bot, whatever the channel."""

    text: str = ""
    buttons: tuple[tuple[str, str], ...] = ()  # (title, payload)
    custom: Any = None


QUESTION = "question"
PROBE = "probe"
SUMMARY = "summary"
QUOTE = "quote"
CONSENT = "consent"
PAUSED = "paused"
WELCOME = "welcome"
SUBMITTED = "submitted"
UNAVAILABLE = "unavailable"
OTHER = "other"

#: Kinds after which the bot says nothing more in that turn (socket.io has no end marker).
LAST_OF_A_REPLY = {QUESTION, PROBE, SUMMARY, QUOTE, CONSENT, PAUSED, WELCOME}
UNAVAILABLE_TEXTS = ("try again in a minute", "send it again in a minute")
FOLLOW_UP_OFFER = "Would you like us to tell you what the council decides"

_QUESTION = re.compile(r"^Question (\d+) of (\d+)\n([^\n]+)")
_CURRENT = re.compile(r"^Your current answer: (.*)$", re.MULTILINE)
_SELECTED = re.compile(r"^Selected so far: (.*)$", re.MULTILINE)
_SUMMARY_ROW = re.compile(r"^\d+\. (.+)\n   → (.*)$", re.MULTILINE)


@dataclass(frozen=True)
class BotState:
    """Where the conversation stands after a reply (its last recognisable message).

    ``key``: the question asked (or probed); ``current``: "Your current answer" shown with
    it; ``selected``: a multi-choice question's options selected so far; ``summary``:
    question key -> answer as the summary shows it; ``can_resume``: a welcome that offers
    "Continue"; ``buttons``: the deciding message's buttons; ``text``: the whole reply.
    """

    kind: str
    key: str | None = None
    current: str | None = None
    selected: str | None = None
    summary: tuple[tuple[str, str], ...] = ()
    can_resume: bool = False
    buttons: tuple[tuple[str, str], ...] = ()
    text: str = ""

    def payload_of(self, title: str) -> str | None:
        """The payload of the first button whose title contains ``title``."""
        return next((p for t, p in self.buttons if title.casefold() in t.casefold()), None)


def is_unavailable(message: Message) -> bool:
    """The bot's "not answering right now, send it again in a minute" reply: the custom
    marker ``{"codesign": "unavailable"}`` (at any depth of the custom payload) or its text."""
    if _has_marker(message.custom, 3):
        return True
    lowered = message.text.casefold()
    return any(text in lowered for text in UNAVAILABLE_TEXTS)


def _has_marker(value: Any, depth: int) -> bool:
    if not isinstance(value, dict) or depth < 0:
        return False
    if value.get("codesign") == "unavailable":
        return True
    return any(_has_marker(inner, depth - 1) for inner in value.values())


@lru_cache(maxsize=1)
def consultations(folder: Path | None = None) -> dict[str, dict[str, Any]]:
    """The demo consultations' definitions by slug (``consultations/*.yml``)."""
    found = {}
    for path in sorted((folder or ROOT / "consultations").glob("*.yml")):
        definition = parse_consultation_file(path)
        found[definition["slug"]] = definition
    return found


@lru_cache(maxsize=1)
def _texts() -> tuple[dict[str, str], dict[str, str]]:
    """Question text -> key, probe text -> key, over every demo consultation."""
    questions: dict[str, str] = {}
    probes: dict[str, str] = {}
    for definition in consultations().values():
        for q in definition["questions"]:
            questions[q["text"]] = q["id"]
            if q.get("probe"):
                probes[q["probe"]] = q["id"]
    return questions, probes


def message_kind(message: Message) -> BotState | None:
    """What one message is, or None when it is not one of the kinds a citizen acts on."""
    if is_unavailable(message):
        return BotState(UNAVAILABLE)
    text = message.text
    questions, probes = _texts()
    found = _QUESTION.match(text)
    # An optional single-choice question's text ends in " (optional)" (no hint line).
    asked = found.group(3).removesuffix(" (optional)") if found else ""
    if asked in questions:
        current = _CURRENT.search(text)
        selected = _SELECTED.search(text)
        return BotState(QUESTION, key=questions[asked],
                        current=current.group(1) if current else None,
                        selected=selected.group(1) if selected else None,
                        buttons=message.buttons)
    if text.strip() in probes:
        return BotState(PROBE, key=probes[text.strip()], buttons=message.buttons)
    if text.startswith("Here is a summary of your answers:"):
        rows = tuple((questions.get(q_text, q_text), shown)
                     for q_text, shown in _SUMMARY_ROW.findall(text))
        return BotState(SUMMARY, summary=rows, buttons=message.buttons)
    if "quote your words" in text:
        return BotState(QUOTE, buttons=message.buttons)
    if "agree to take part?" in text:
        return BotState(CONSENT, buttons=message.buttons)
    if text.startswith("Paused. Your answers so far are saved"):
        return BotState(PAUSED, buttons=message.buttons)
    if "Which one would you like to take part in?" in text or "none is open right now" in text:
        resume = any(p == "/resume" for _, p in message.buttons)
        return BotState(WELCOME, can_resume=resume, buttons=message.buttons)
    if "Your answers have been submitted." in text:
        return BotState(SUBMITTED, buttons=message.buttons)
    return None


def read_reply(messages: list[Message]) -> BotState:
    """The state a reply leaves the conversation in: "unavailable" if the reply says so
    anywhere, else its last recognisable message (a submission stays a submission when
    the follow-up offer comes after it)."""
    state = BotState(OTHER)
    for message in messages:
        kind = message_kind(message)
        if kind is None:
            continue
        if kind.kind == UNAVAILABLE:
            state = kind
            break
        state = kind
    return replace(state, text="\n".join(m.text for m in messages))


COMPLETE = "complete"
PARTIAL = "partial"
UNRECOGNISED = "unrecognised"


def reply_status(messages: list[Message]) -> str:
    """How far a reply received so far has come (for socket.io, which has no end marker):
    ``complete`` when its last message is one the bot ends a turn with; ``partial`` when
    something the citizen acts on came but may be followed by more (a submission before
    the follow-up offer, the unavailable marker before its text); ``unrecognised``
    otherwise (the first parts of the consent request, a service answer before the
    question is asked again: more will come)."""
    if reply_complete(messages):
        return COMPLETE
    return PARTIAL if read_reply(messages).kind != OTHER else UNRECOGNISED


def reply_complete(messages: list[Message]) -> bool:
    """Whether a reply received so far is whole: its last message is one the bot ends a
    turn with."""
    if not messages:
        return False
    last = messages[-1]
    if FOLLOW_UP_OFFER in last.text or (is_unavailable(last) and last.text):
        return True
    kind = message_kind(last)
    return kind is not None and kind.kind in LAST_OF_A_REPLY


# ------------------------------------------------------------------ answers

OPEN_ANSWERS = (
    "The library closes before I finish work so evening hours would really help me",
    "I mostly use the study space to revise for exams at the weekend",
    "Buses into town are infrequent after seven so I cannot get there in the evening",
    "Longer Saturday opening would let me bring my children to story time",
    "I would borrow books and use the computers after my shift ends at six",
    "Please keep the quiet study room open late during the exam season",
    "More benches near the pond and better paths for wheelchairs would help a lot",
    "The lighting along the main path feels poor on winter evenings",
    "I would walk there more often if the toilets were open all day",
    "A fenced area for dogs would keep the play area cleaner for small children",
    "The uneven paths make it hard to push a buggy around the lake",
    "My elderly father needs somewhere to sit down every few minutes on our walks",
)
PROBE_REPLIES = (
    "Mostly the bus times after six in the evening and the early closing on Saturdays",
    "The gravel paths near the lake and the steep slope by the main gate are the worst",
)
SERVICE_QUESTIONS = {
    "library-hours-2027": ("what time does the library open on saturday?",
                           "how many books can I borrow at once?",
                           "can I renew my books online?"),
    "park-redesign-2027": ("are dogs allowed off the lead in the park?",
                           "is there a toilet in Millbrook Park?",
                           "when is the park cafe open?"),
}
TYPED_STARTS = {
    "library-hours-2027": "I'd like to take part in the library opening hours consultation",
    "park-redesign-2027": "start the Millbrook Park consultation",
}
_WORD_FOR = {n: w for w, n in NUMBER_WORDS.items() if n > 0 and w not in (
    "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth",
    "tenth")}


@dataclass(frozen=True)
class Intended:
    """What a citizen means to answer to one question.

    ``choices``: 1-based option numbers (choice questions) or the scale point; ``value``:
    what the store must then hold (option texts, a list of them in the options' order,
    an int, or the text); ``skip``: the citizen skips it (stored as skipped, no value).
    """

    skip: bool = False
    value: Any = None
    choices: tuple[int, ...] = ()

    @property
    def stored(self) -> tuple[str, Any]:
        """(status, value) the answers table must hold."""
        return ("skipped", None) if self.skip else ("answered", self.value)


def stored_value(question: dict[str, Any], choices: tuple[int, ...], text: str = "") -> Any:
    """The value the bot stores for an answer: an option's text (single choice), the
    chosen options in the options' order (multi choice), the point (scale), the text with
    spaces collapsed (open)."""
    kind = question["type"]
    if kind == "single_choice":
        return question["options"][choices[0] - 1]
    if kind == "multi_choice":
        return [question["options"][i - 1] for i in sorted(set(choices))]
    if kind == "scale":
        return int(choices[0])
    return " ".join(text.split())[:5000]


def shown_value(stored: tuple[str, Any]) -> str:
    """An answer as the bot shows it ("Your current answer", the summary)."""
    status, value = stored
    return format_value(value, status)


def plan_answers(definition: dict[str, Any], rng: random.Random) -> dict[str, Intended]:
    """An answer for every question of a consultation; exactly one optional question (if
    there is one) is to be skipped."""
    optional = [q["id"] for q in definition["questions"] if not q.get("required", True)]
    skipped = rng.choice(optional) if optional else None
    plan = {}
    for q in definition["questions"]:
        if q["id"] == skipped:
            plan[q["id"]] = Intended(skip=True)
            continue
        kind = q["type"]
        if kind == "single_choice":
            choices: tuple[int, ...] = (rng.randint(1, len(q["options"])),)
        elif kind == "multi_choice":
            most = min(len(q["options"]), q.get("max_choices") or len(q["options"]), 3)
            choices = tuple(sorted(rng.sample(range(1, len(q["options"]) + 1),
                                              rng.randint(1, most))))
        elif kind == "scale":
            choices = (rng.randint(q["min"], q["max"]),)
        else:
            text = rng.choice(OPEN_ANSWERS)
            plan[q["id"]] = Intended(value=stored_value(q, (), text))
            continue
        plan[q["id"]] = Intended(value=stored_value(q, choices), choices=choices)
    return plan


def button_payloads(question: dict[str, Any], intended: Intended) -> list[str]:
    """The payloads of the buttons that give this answer, in the order to press them
    (a multi-choice question: each option, then Done)."""
    qid = question["id"]
    if intended.skip:
        return [payload("skip")]
    if question["type"] == "open":
        return []
    presses = [payload("choose", choice=f"{qid}:{c}") for c in intended.choices]
    if question["type"] == "multi_choice":
        presses.append(payload("choose", choice=f"{qid}:done"))
    return presses


def typed_forms(question: dict[str, Any], intended: Intended,
                rng: random.Random | None = None) -> dict[str, str]:
    """Ways to type this answer, by name ("number", "word", "text", "misspelt",
    "numbers", "label", ...), each one the bot parses to ``intended.value``."""
    if intended.skip:
        return {"skip": "skip"}
    kind = question["type"]
    candidates: dict[str, str] = {}
    if kind == "open":
        return {"text": str(intended.value)}
    if kind == "single_choice":
        number = intended.choices[0]
        option = question["options"][number - 1]
        candidates = {"number": str(number), "word": _WORD_FOR.get(number, str(number)),
                      "text": option.lower() if rng and rng.random() < 0.5 else option}
        misspelt = misspell(question["options"], number - 1, rng or random.Random(number))
        if misspelt:
            candidates["misspelt"] = misspelt
    elif kind == "multi_choice":
        options = [question["options"][i - 1] for i in intended.choices]
        candidates = {"numbers": ", ".join(str(i) for i in intended.choices),
                      "texts": ", ".join(option.lower() for option in options)}
    elif kind == "scale":
        point = intended.choices[0]
        candidates = {"number": str(point), "word": _WORD_FOR.get(point, str(point)),
                      "fraction": f"{point}/{question['max']}",
                      "out of": f"{point} out of {question['max']}"}
        label = (question.get("labels") or {}).get(str(point))
        if label:
            candidates["label"] = label.lower()
    return {name: text for name, text in candidates.items()
            if _parses_to(question, text, intended.value)}


def _parses_to(question: dict[str, Any], text: str, value: Any) -> bool:
    result = parse_answer(question, text)
    return isinstance(result, Parsed) and result.value == value


def misspell(options: list[str], index: int, rng: random.Random) -> str | None:
    """A close misspelling of option ``index`` that the bot still matches to it (a letter
    swapped, dropped or doubled in its longest word), or None when none is safe."""
    option = options[index]
    words = option.split()
    longest = max(range(len(words)), key=lambda i: len(words[i]))
    word = words[longest]
    if len(word) < 5:
        return None
    variants = []
    for at in range(1, len(word) - 2):
        variants.append(word[:at] + word[at + 1] + word[at] + word[at + 2:])  # swapped
        variants.append(word[:at] + word[at + 1:])  # dropped
        variants.append(word[:at] + word[at] + word[at:])  # doubled
    rng.shuffle(variants)
    for variant in variants:
        text = " ".join([*words[:longest], variant, *words[longest + 1:]]).lower()
        if normalise(text) != normalise(option) and match_option(options, text) == index:
            return text
    return None


@dataclass
class Events:
    """When (the n-th distinct question asked) a citizen does each of the unhappy paths:
    a question about the service, "repeat", "pause" then resume, "back" then the answer
    again. ``done`` lists those done."""

    at: dict[str, int]
    done: list[str] = field(default_factory=list)

    def due(self, ordinal: int) -> list[str]:
        """Events whose turn has come (postponed ones too), not done yet."""
        return [name for name, when in sorted(self.at.items(), key=lambda kv: kv[1])
                if when <= ordinal and name not in self.done]


def plan_events(rng: random.Random) -> Events:
    """Each unhappy path once, at questions 1-6 ("back" from question 2 on)."""
    return Events({"service": rng.randint(1, 5), "repeat": rng.randint(1, 6),
                   "pause": rng.randint(1, 6), "back": rng.randint(2, 6)})
