"""What the conversation modes share: a participation turn's context and the mode base.

The engine (``bot.dialogue.engine``) routes each turn to one conversation mode: idle
(``idle``), consent (``consent``), a participation turn (``participation``) with its
question phase (``questionnaire``) and end phases (``summary``), service questions
(``service_questions``) and erasure (``forget``). Each mode is a ``Mode``: it reaches the
engine's settings, knowledge service and the other modes through ``engine``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from bot.consultations import flow
from bot.dialogue.messages import BotMessage, UserTurn
from bot.store.models import Answer, Participation

if TYPE_CHECKING:
    from bot.dialogue.engine import ConversationEngine


@dataclass(frozen=True)
class Launched:
    """What turns read of a launched version: its definition and its questions' ids."""

    definition: dict[str, Any]
    question_ids: dict[str, int]


@dataclass
class Context:
    """Everything a participation turn needs, loaded once."""

    session: Session
    participation: Participation
    definition: dict[str, Any]
    answers: dict[str, Answer]
    turn: UserTurn
    out: list[BotMessage]

    @property
    def phase(self) -> dict[str, Any]:
        return self.participation.state

    def values(self) -> dict[str, Any]:
        """Answers as navigation sees them (skips are SKIPPED)."""
        return {key: (flow.SKIPPED if a.status == "skipped" else a.value)
                for key, a in self.answers.items()}


class Mode:
    """The turn handlers of one conversation mode, run for ``engine``."""

    def __init__(self, engine: ConversationEngine) -> None:
        self.engine = engine
