"""Citizens for the scaled-mode tests: REST chats that send a message again, with the
same message id, until the bot has taken it (as the Telegram bridge and the widget do)."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx

from bot.devtools.stack import Reply

MARKER = {"codesign": "unavailable"}


def taken(messages: list[dict[str, Any]]) -> bool:
    """Whether a reply shows the bot took the message (not empty, not its apology)."""
    return bool(messages) and not any((m.get("custom") or {}).get("data") == MARKER
                                      for m in messages)


class PatientChat:
    """One citizen on the REST channel at ``url``.

    Attributes:
        refused: replies that were not the bot taking the message (HTTP errors, connection
            errors, empty replies, apologies), each sent again.
        apologies: of those, the bot's "try again in a minute" replies.
        taken: (message id, text, when it was taken) of each message the bot took.
    """

    def __init__(self, url: str, sender: str | None = None, patience: float = 120) -> None:
        self.url = f"{url.rstrip('/')}/webhooks/rest/webhook"
        self.sender = sender or f"citizen-{uuid.uuid4().hex[:10]}"
        self.patience = patience
        self.client = httpx.Client(timeout=70)
        self.refused = 0
        self.apologies = 0
        self.taken: list[tuple[str, str, float]] = []
        self.last: Reply | None = None

    def say(self, text: str) -> Reply:
        """Send ``text`` until the bot takes it; returns its reply.

        Raises:
            AssertionError: it was not taken within the patience.
        """
        message_id = uuid.uuid4().hex
        body = {"sender": self.sender, "message": text, "metadata": {"message_id": message_id}}
        deadline = time.monotonic() + self.patience
        problem = ""
        while time.monotonic() < deadline:
            try:
                response = self.client.post(self.url, json=body)
                messages = response.json() if response.status_code == 200 else []
                problem = f"HTTP {response.status_code}"
            except (httpx.HTTPError, ValueError) as exc:
                messages, problem = [], repr(exc)
            if taken(messages):
                self.last = Reply(messages)
                self.taken.append((message_id, text, time.monotonic()))
                return self.last
            self.refused += 1
            if messages:
                self.apologies += 1
                problem = "apology"
            time.sleep(1.0)
        raise AssertionError(f"{text!r} was never taken ({problem})")

    def press(self, title_part: str) -> Reply:
        """Press a button of the last reply."""
        assert self.last is not None, "nothing to press yet"
        return self.say(self.last.button(title_part)["payload"])

    def close(self) -> None:
        self.client.close()


#: A weekly library visitor's whole consultation: (what to do, what to send or press,
#: what the reply must contain).
LIBRARY_VISIT = [
    ("say", "hello", "consultations are open"),
    ("press", "library", "Privacy"),
    ("press", "Yes, I agree", "Question 1 of 8"),
    ("say", "weekly", "Question 2 of 7"),
    ("press", "Evenings", "Selected so far"),
    ("press", "Done", "Question 3 of 7"),
    ("say", "4", "Question 4 of 7"),
    ("say", "2", "Question 5 of 7"),
    ("say", "borrowing books, study space", "Question 6 of 7"),
    ("say", "I would study there in the evenings after my shifts finish at six",
     "Question 7 of 7"),
    ("say", "Please keep the quiet study room open late", "quote your words"),
    ("press", "Yes, you may quote me", "summary of your answers"),
    ("press", "Submit", "What happens next"),
]
#: What the store must hold afterwards: question id -> (status, value).
LIBRARY_ANSWERS = {
    "visits": ("answered", "Weekly or more"),
    "preferred_times": ("answered", ["Evenings (after 6pm)"]),
    "evenings": ("answered", 4),
    "trade_off": ("answered", "Sunday afternoon opening"),
    "services": ("answered", ["Borrowing books", "Study or work space"]),
    "hours_reasons": ("answered",
                      "I would study there in the evenings after my shifts finish at six"),
    "anything_else": ("answered", "Please keep the quiet study room open late"),
}


def take_part(chat: PatientChat, pause: float = 0.3,
              steps: list[tuple[str, str, str]] = LIBRARY_VISIT) -> None:
    """Go through ``steps``, checking each reply."""
    for action, text, expect in steps:
        reply = chat.say(text) if action == "say" else chat.press(text)
        assert expect in reply.text, f"{chat.sender} after {text!r}: {reply.text}"
        time.sleep(pause)
