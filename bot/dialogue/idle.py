"""Outside a consultation: the welcome, and routing what a citizen says when idle."""

from __future__ import annotations

from sqlalchemy.orm import Session

from bot.dialogue import follow_up, forget, render, service_questions
from bot.dialogue.context import Mode
from bot.dialogue.messages import BotMessage, TurnResult, UserTurn
from bot.store import repository as repo

IDLE_REPLIES = {
    "bot_challenge": "I’m an automated assistant that runs public consultations for the council.",
    "thank": "You’re welcome!",
    "goodbye": "Goodbye, and thank you.",
    "deny": "All right.",
}


def welcome_message(session: Session, key: str) -> BotMessage:
    """Greeting with the open consultations, and a resume button when one is paused."""
    items = [(c.slug, c.current_version.definition) for c in repo.open_consultations(session)
             if c.current_version is not None]
    unfinished = repo.unfinished_participation(session, key)
    paused_title = unfinished.version.definition["title"] if unfinished else None
    return render.welcome(items, paused_title)


class IdleMode(Mode):
    """Turns outside any consultation flow: start, resume, ask, forget, small talk."""

    def handle(self, session: Session, turn: UserTurn) -> TurnResult:
        """Handle a turn of a citizen who is not in a consultation flow."""
        engine = self.engine
        key = engine.key(turn)
        intent = turn.intent
        if intent == "forget_me":
            return forget.ask()
        if intent == "start_consultation" or (intent == "choose" and "consultation" in
                                              turn.entities):
            return engine.consent.start(session, turn)
        unfinished = repo.unfinished_participation(session, key)
        if unfinished is not None and intent in ("resume", "affirm", "skip", "go_back",
                                                 "repeat", "submit", "change_answer"):
            return engine.participation.resume(session, turn, unfinished)
        if intent == "ask_service" or (intent in ("nlu_fallback", "inform", "out_of_scope") and
                                       service_questions.phrased_as_question(turn.text)):
            return engine.service.idle_question(session, turn)
        if intent == "choose" and turn.entities.get("choice") in (follow_up.YES, follow_up.NO):
            latest = repo.latest_participation(session, key, status="completed")
            if latest is not None:  # the offer's button pressed later on
                return follow_up.handle_reply(session, turn, latest.id, key)
        reply = engine.service.query_choice(session, turn, None)
        if reply is not None:
            return TurnResult([render.text(reply)], None)
        if intent in IDLE_REPLIES:
            return TurnResult([render.text(IDLE_REPLIES[intent])], None)
        if intent == "choose":
            message = render.text("That button belongs to a conversation that has ended.")
            return TurnResult([message, welcome_message(session, key)], None)
        note = render.text("You’re not in a consultation at the moment.")
        return TurnResult([note, welcome_message(session, key)], None)
