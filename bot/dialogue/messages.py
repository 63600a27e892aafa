"""Value objects passed between the Rasa actions and the dialogue engine."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Button:
    """A reply button: ``payload`` is sent back as the citizen's message when pressed."""

    title: str
    payload: str

    def as_dict(self) -> dict[str, str]:
        """The Rasa button format."""
        return {"title": self.title, "payload": self.payload}


@dataclass(frozen=True)
class BotMessage:
    """One message from the bot, optionally with buttons."""

    text: str
    buttons: tuple[Button, ...] = ()

    def buttons_as_dicts(self) -> list[dict[str, str]]:
        """Buttons in the Rasa format."""
        return [button.as_dict() for button in self.buttons]


def payload(intent: str, **entities: str) -> str:
    """A Rasa intent payload such as ``/choose{"choice": "visits:2"}``."""
    if not entities:
        return f"/{intent}"
    return f"/{intent}{json.dumps(entities, separators=(',', ':'))}"


@dataclass(frozen=True)
class UserTurn:
    """What the citizen just said, as understood by Rasa NLU.

    ``sender_id`` is the raw channel id: it is only used to derive the pseudonymous key
    and is never stored.
    """

    sender_id: str
    channel: str
    text: str
    intent: str | None = None
    confidence: float = 0.0
    entities: dict[str, str] = field(default_factory=dict)
    message_id: str | None = None

    @property
    def is_button(self) -> bool:
        """True when the message is an intent payload (a pressed button)."""
        return self.text.startswith("/")

    def word_count(self) -> int:
        """Number of words in the text."""
        return len(self.text.split())


@dataclass
class TurnResult:
    """What the engine decided: messages to send and the conversation state to keep.

    ``state`` is None when the citizen is not inside a consultation flow.
    ``erase_conversation`` asks the tracker store to delete the whole conversation.
    """

    messages: list[BotMessage]
    state: dict[str, Any] | None
    erase_conversation: bool = False
