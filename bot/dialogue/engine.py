"""The consultation conversation: consent, questions, navigation, summary, erasure.

``ConversationEngine.handle`` takes one citizen turn and the conversation state kept by
Rasa (a slot) and returns what to say and the new state. Everything a participant
consents to have stored is committed before the reply is returned, so an abandoned
conversation keeps what was said. Before consent nothing is written.

The engine routes each turn by the conversation mode kept in that state to one of the
modes (``bot.dialogue.context.Mode``): ``idle``, ``consent``, ``participation`` (with
``questionnaire`` and ``summary``), ``service_questions`` and ``forget``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy.orm import Session

from bot.config import Settings
from bot.dialogue import follow_up
from bot.dialogue.consent import ConsentMode
from bot.dialogue.forget import ForgetMode
from bot.dialogue.idle import IdleMode, welcome_message
from bot.dialogue.messages import TurnResult, UserTurn
from bot.dialogue.participation import ParticipationMode
from bot.dialogue.questionnaire import QuestionnaireMode
from bot.dialogue.service_questions import (
    FORWARD,
    MISSED,
    QUERY_BUTTONS,
    ServiceQuestionMode,
    missed_button,
    query_button_reply,
    with_pass_on_offer,
)
from bot.dialogue.summary import SummaryMode
from bot.knowledge.service import KnowledgeService
from bot.store import repository as repo
from bot.store.db import session_scope
from bot.store.pseudonym import participant_key

__all__ = ["FORWARD", "MISSED", "QUERY_BUTTONS", "ConversationEngine", "missed_button",
           "query_button_reply", "with_pass_on_offer"]


class ConversationEngine:
    """Runs the consultation dialogue against the app store."""

    def __init__(self, settings: Settings, knowledge: KnowledgeService | None = None) -> None:
        self.settings = settings
        self.knowledge = knowledge
        self.idle = IdleMode(self)
        self.consent = ConsentMode(self)
        self.participation = ParticipationMode(self)
        self.questionnaire = QuestionnaireMode(self)
        self.summary = SummaryMode(self)
        self.service = ServiceQuestionMode(self)
        self.forget = ForgetMode(self)

    def key(self, turn: UserTurn) -> str:
        """The pseudonymous participant key of the turn's sender."""
        return participant_key(self.settings.secret_key, turn.channel, turn.sender_id)

    def welcome(self, turn: UserTurn) -> TurnResult:
        """Greet and list open consultations (and offer to resume a paused one)."""
        with session_scope(self.settings.database_url) as session:
            key = self.key(turn)
            return TurnResult([*follow_up.outcome_messages(session, key),
                               welcome_message(session, key)], None)

    def handle(self, turn: UserTurn, state: dict[str, Any] | None) -> TurnResult:
        """Handle one turn given the conversation state; returns messages and new state.

        Outcomes the citizen asked to hear about come first, whatever they wrote, except
        while they are answering a consultation's questions: news of another consultation
        would break into that, so it waits for their next turn outside one (Telegram also
        pushes it, ``bot.telegram.notify``).
        """
        with session_scope(self.settings.database_url) as session:
            answering = (state or {}).get("mode") == "participation"
            news = [] if answering else follow_up.outcome_messages(session, self.key(turn))
            result = self._dispatch(session, turn, state)
            return replace(result, messages=[*news, *result.messages]) if news else result

    def _dispatch(self, session: Session, turn: UserTurn,
                  state: dict[str, Any] | None) -> TurnResult:
        """Route a turn by the conversation mode kept in the flow state."""
        mode = (state or {}).get("mode")
        if mode == "follow_up" and state and follow_up.is_reply(turn):
            return follow_up.handle_reply(session, turn, int(state["participation_id"]),
                                          self.key(turn))
        if mode == "consent":
            return self.consent.handle(session, turn, state or {})
        if mode == "confirm_forget":
            return self.forget.confirm(session, turn, state or {})
        if mode == "forward" and turn.intent in ("affirm", "deny"):
            return self.service.forward_reply(session, turn, state or {})
        if mode == "participation":
            found = repo.participation_and_status(session, state["participation_id"]) \
                if state else None
            if found is not None:
                participation, consultation_status = found
                if participation.status == "active" and \
                        participation.participant_id == self.key(turn):
                    return self.participation.handle(session, turn, participation,
                                                     consultation_status)
        return self.idle.handle(session, turn)

    def query_ref(self, turn: UserTurn, query_id: int) -> str:
        """A reference to a logged service question that only its asker can use in a
        button ("id.signature", ``bot.dialogue.refs``): nobody can pass on or dispute
        someone else's question by sending a made-up id."""
        return self.service.query_ref(turn, query_id)
