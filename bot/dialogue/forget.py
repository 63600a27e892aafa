"""Forget me: asking to delete everything stored about a citizen, and doing it."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from bot.dialogue import render
from bot.dialogue.context import Context, Mode
from bot.dialogue.messages import BotMessage, TurnResult, UserTurn
from bot.store import repository as repo
from bot.store import telegram_state
from bot.store.models import Participation


def prompt() -> BotMessage:
    """The question that asks the citizen to confirm the erasure."""
    return render.text(
        "This deletes everything stored about you: your answers and our conversations, "
        "in every consultation. It cannot be undone. Are you sure?",
        render.Button("Yes, delete everything", "/affirm"),
        render.Button("No, keep my answers", "/deny"))


def ask() -> TurnResult:
    """Ask to confirm the erasure outside a consultation."""
    return TurnResult([prompt()], {"mode": "confirm_forget", "back": None})


def ask_in(ctx: Context) -> None:
    """Ask to confirm the erasure during a participation (which the turn's end then
    leaves for the confirmation, remembering where to come back)."""
    ctx.phase["forget"] = True
    ctx.out.append(prompt())


class ForgetMode(Mode):
    """The reply to the confirmation question."""

    def confirm(self, session: Session, turn: UserTurn, state: dict[str, Any]) -> TurnResult:
        """Erase on yes; on no, go back to where the citizen was; otherwise ask again."""
        engine = self.engine
        if turn.intent == "affirm" or (turn.intent == "forget_me" and turn.is_button):
            removed = repo.erase_participant(session, engine.key(turn))
            if turn.channel == telegram_state.CHANNEL:  # what the Telegram bridge keeps
                telegram_state.forget_chat(session, turn.sender_id)
            what = "your answers and conversations" if removed else "the conversation"
            message = render.text(f"Done: {what} have been deleted. Nothing about you is "
                                  "kept. Thank you for your time.")
            return TurnResult([message], None, erase_conversation=True)
        back = state.get("back")
        if turn.intent == "deny":
            out = [render.text("OK, nothing has been deleted.")]
            if back and back.get("mode") == "participation":
                participation = session.get(Participation, back["participation_id"])
                if participation is not None and participation.status == "active" and \
                        participation.participant_id == engine.key(turn):
                    ctx = engine.participation.context(session, participation, turn)
                    engine.questionnaire.reprompt(ctx)
                    ctx.out[:0] = out
                    return engine.participation.finish(ctx)
            return TurnResult(out, None)
        return TurnResult([render.text("Please answer yes or no."), prompt()], state)
