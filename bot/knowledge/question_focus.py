"""The part of a citizen's message that asks something, without the backstory around it.

People put context before and after their question: "left my umbrella in central library
yesterday, is there lost property" asks about lost property, and "how early does millbrook
park open? want to go for a run before work" about opening times. The grounding check
(``grounding.TermGrounder``) needs the documents to mention what is asked, not the
umbrella or the run: on questions written blind to the bot, requiring every word of the
message wrongly declined about twice as many answerable questions at the same share of
unanswerable ones declined (bench/knowledge_eval.py).

A sentence asks when one of its clauses opens like a question ("is there…", "how much…",
"can I…", "what time…"). Within it, the clauses before the first asking one are
backstory; the rest stays, so a list after a comma ("is there a cafe, toilets or
parking") is kept whole. A message with no asking clause ("opening hours sunday",
"I want to book a pitch") is all focus.

Questions asking whether something exists or is offered ("is there a skate park?",
"does the library lend drills?", "can I borrow a laptop?") are told apart
(``asks_if_offered``): the documents answer them only by naming the thing itself, so a
merely related word ("computers" for "laptop") must not count (``answers.Thresholds``).
"""

from __future__ import annotations

import re

from bot.knowledge.text import words

#: Words that open a question in English, apostrophes dropped ("what's" -> "whats").
ASKING_OPENERS = frozenset({
    "what", "whats", "when", "whens", "where", "wheres", "which", "who", "whos", "whom",
    "whose", "why", "how", "hows", "is", "isnt", "are", "arent", "was", "were", "do",
    "dont", "does", "doesnt", "did", "didnt", "can", "cant", "could", "couldnt", "will",
    "wont", "would", "wouldnt", "should", "shouldnt", "shall", "may", "might", "must",
    "have", "has", "any", "anyone", "anybody", "anything", "anywhere"})
#: Words skipped before the opener: "so can I…", "and is there…", "hi, what time…".
FILLERS = frozenset({"so", "and", "but", "also", "then", "ok", "okay", "please", "hi",
                     "hello", "hey", "oh", "um", "well", "or", "plus"})

SENTENCE_BREAK = re.compile(r"[.?!;:\n]+")
CLAUSE_BREAK = re.compile(r",| - | – ")
#: Openings (after fillers, lower case, apostrophes dropped) asking whether something
#: exists or is offered; "do I have to…" and "does my dog have to…" are not.
OFFER_QUESTION = re.compile(
    r"(?:is|are) there\b|is anywhere\b|have you got\b"
    r"|(?:do|does) (?:the |a |any |your )?[\w-]+(?: [\w-]+)? "
    r"(?:have|sell|lend|offer|run|do)\b(?! to\b)"
    r"|can (?:i|we|you) (?:borrow|hire|rent|buy)\b")


def _opening(clause: str) -> str:
    """``clause``'s words after any filler words, lower case, apostrophes dropped."""
    said = words(clause)
    while said and said[0] in FILLERS:
        said.pop(0)
    return " ".join(said)


def _asks(clause: str) -> bool:
    """Whether ``clause`` opens like a question (after any filler words)."""
    return _opening(clause).split(" ", 1)[0] in ASKING_OPENERS


def _questions(message: str) -> list[str]:
    """Each sentence's part from its first asking clause on (sentences asking nothing
    are left out)."""
    asked = []
    for sentence in SENTENCE_BREAK.split(message):
        clauses = [c.strip() for c in CLAUSE_BREAK.split(sentence) if c.strip()]
        first = next((i for i, clause in enumerate(clauses) if _asks(clause)), None)
        if first is not None:
            asked.append(" ".join(clauses[first:]))
    return asked


def asked_part(message: str) -> str:
    """The clauses of ``message`` that ask something (the whole message when none does)."""
    return " ".join(_questions(message)) or message


def asks_if_offered(message: str) -> bool:
    """Whether ``message`` asks if something exists or is offered ("is there…", "do you
    have…", "does the library lend…", "can I borrow…")."""
    return any(OFFER_QUESTION.match(_opening(question)) for question in _questions(message))
