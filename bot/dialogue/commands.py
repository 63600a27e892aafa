"""Telling a navigation command from an answer to a question.

NLU models are over-confident on short unseen words ("time" can come out as ``repeat``
at 0.9), and an open question accepts any text. So inside an open question a message is
a command only when NLU is confident *and* it uses that command's vocabulary. In choice
and scale questions a clear answer wins over a command of the same words.
"""

from __future__ import annotations

import re
from typing import Any

from bot.consultations.answers import Parsed, match_option, parse_answer
from bot.dialogue.messages import UserTurn

CONTROL_INTENTS = {
    "skip", "go_back", "repeat", "help", "pause", "forget_me", "goodbye", "resume", "greet",
    "bot_challenge", "list_consultations", "start_consultation", "change_answer", "submit",
}
COMMAND_CONFIDENCE = 0.75
OPEN_COMMAND_MAX_WORDS = 7

COMMAND_WORDS: dict[str, tuple[str, ...]] = {
    "skip": ("skip", "pass", "next question", "rather not", "prefer not", "no answer",
             "don't want to answer", "dont want to answer", "move on"),
    "go_back": ("back", "previous", "undo", "last question", "change my previous"),
    "repeat": ("repeat", "again", "pardon", "what was the question", "didn't get",
               "didnt get", "what was that", "come again", "say that"),
    "help": ("help", "how does this work", "what can i", "confused", "options", "commands",
             "what do i do", "stuck"),
    "pause": ("pause", "later", "stop", "brb", "have to go", "got to go", "gotta go",
              "break", "continue another", "finish this another", "hold on"),
    "forget_me": ("forget", "delete", "erase", "remove my", "withdraw", "gdpr", "wipe"),
    "goodbye": ("bye", "goodbye", "see you", "cya", "farewell"),
    "resume": ("resume", "continue", "carry on", "where i left", "i'm back", "im back"),
    "greet": ("hello", "hi", "hey", "good morning", "good afternoon", "good evening"),
    "bot_challenge": ("bot", "human", "robot", "real person", "machine", "computer"),
    "list_consultations": ("consultations", "surveys", "what can i take part", "list"),
    "start_consultation": ("start", "take part", "begin", "survey", "consultation"),
    "change_answer": ("change", "edit", "amend", "correct"),
    "submit": ("submit", "send", "finish"),
}


def uses_command_words(intent: str, text: str) -> bool:
    """True when ``text`` contains vocabulary typical of the command ``intent``."""
    lowered = " " + re.sub(r"[^\w' ]+", " ", text.casefold()) + " "
    return any(f" {word} " in lowered or (" " in word and word in lowered)
               for word in COMMAND_WORDS.get(intent, ()))


def command_for(turn: UserTurn, q: dict[str, Any]) -> str | None:
    """The navigation command the turn expresses at question ``q``, or None when it is
    an answer."""
    intent = turn.intent or ""
    if intent not in CONTROL_INTENTS and intent not in ("affirm", "deny", "thank"):
        return None
    if turn.is_button:
        return intent if intent in CONTROL_INTENTS else None
    if intent not in CONTROL_INTENTS or turn.confidence < COMMAND_CONFIDENCE:
        return None
    if q["type"] == "open":
        is_command = turn.word_count() <= OPEN_COMMAND_MAX_WORDS and \
            uses_command_words(intent, turn.text)
        return intent if is_command else None
    # Choice and scale: a clear option match wins over a command of the same words.
    if match_option(q.get("options") or [], turn.text) is not None and q["type"] != "scale":
        return None
    if q["type"] == "scale" and isinstance(parse_answer(q, turn.text), Parsed):
        return None
    return intent
