"""The end of a consultation: offer to tell the citizen its outcome, and tell them later.

A citizen who says yes gets the outcome once it is published: pushed on Telegram by the
bridge, or shown here the next time they write to the bot (any channel).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from bot.dialogue import render
from bot.dialogue.messages import BotMessage, TurnResult, UserTurn, payload
from bot.review.outcomes import ask_to_hear_back, mark_told, pending_notices, still_waiting
from bot.store.models import Participation

YES = "follow_up:yes"
NO = "follow_up:no"


HOW = {"telegram": "We’ll send you one message in this chat when the outcome is published.",
       "web": "We’ll show it here when you next open this chat in this browser, once the "
              "outcome is published."}


def offer(channel: str) -> BotMessage:
    """Ask whether the citizen wants to hear what happened as a result."""
    how = HOW.get(channel, "We’ll tell you the next time you write to us, once the outcome "
                           "is published.")
    return render.text(
        f"Would you like us to tell you what the council decides as a result? {how}",
        render.Button("Yes, tell me", payload("choose", choice=YES)),
        render.Button("No, thanks", payload("choose", choice=NO)))


def is_reply(turn: UserTurn) -> bool:
    """A press of one of the offer's buttons, or a plain yes/no right after it."""
    return turn.entities.get("choice") in (YES, NO) or turn.intent in ("affirm", "deny")


def handle_reply(session: Session, turn: UserTurn, participation_id: int,
                 participant_key: str) -> TurnResult:
    """Record the citizen's answer to the offer."""
    participation = session.get(Participation, participation_id)
    wants = turn.entities.get("choice") == YES or (
        turn.intent == "affirm" and turn.entities.get("choice") != NO)
    if participation is None or participation.participant_id != participant_key:
        return TurnResult([render.text("All right.")], None)
    if wants:
        ask_to_hear_back(session, participation.id)
        return TurnResult([render.text("Thank you: we’ll let you know here.")], None)
    return TurnResult([render.text("No problem. Thank you again for taking part!")], None)


def outcome_messages(session: Session, participant_key: str) -> list[BotMessage]:
    """Outcomes this citizen asked to hear and has not been told yet (now marked told).

    Asked on every turn, so the common case (nothing asked for) is one cheap existence
    check rather than the join over the latest outcomes.
    """
    if not still_waiting(session, participant_key):
        return []
    messages = []
    for notice in pending_notices(session, participant_id=participant_key):
        messages.append(render.text(notice.message))
        mark_told(session, notice)
    return messages
