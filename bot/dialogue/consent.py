"""Starting a consultation: choosing one, and asking for (and recording) consent.

Before consent nothing about the citizen is written; the participation starts with yes.
"""

from __future__ import annotations

from typing import Any

from rapidfuzz import fuzz, process
from sqlalchemy.orm import Session

from bot.consultations import flow
from bot.dialogue import render
from bot.dialogue.context import Context, Mode
from bot.dialogue.idle import welcome_message
from bot.dialogue.messages import TurnResult, UserTurn
from bot.store import repository as repo


class ConsentMode(Mode):
    """Choosing a consultation and the consent question that opens it."""

    def start(self, session: Session, turn: UserTurn) -> TurnResult:
        """Open the consultation the turn asks for (or the only one): ask for consent,
        or resume the citizen's unfinished participation in it."""
        engine = self.engine
        key = engine.key(turn)
        open_now = repo.open_consultations(session)
        slug = turn.entities.get("consultation")
        chosen = None
        if slug:
            consultation = repo.get_consultation(session, slug)
            if consultation is None:
                note = render.text(f"I couldn’t find a consultation called “{slug}”.")
                return TurnResult([note, welcome_message(session, key)], None)
            if consultation not in open_now:
                note = render.text(f"“{consultation.current_version.title}” is closed and no "
                                   "longer takes answers." if consultation.current_version
                                   else "That consultation is closed.")
                return TurnResult([note, welcome_message(session, key)], None)
            chosen = consultation
        elif len(open_now) == 1:
            chosen = open_now[0]
        elif open_now:
            chosen = _guess_consultation(open_now, turn.text)
        if chosen is None or chosen.current_version is None:
            return TurnResult([welcome_message(session, key)], None)
        unfinished = repo.unfinished_participation(session, key)
        if unfinished is not None and unfinished.version.consultation_id == chosen.id:
            return engine.participation.resume(session, turn, unfinished)
        definition = chosen.current_version.definition
        repo.count_opening(session, chosen.id, turn.channel)
        return TurnResult([render.consent_request(definition)],
                          {"mode": "consent", "slug": chosen.slug,
                           "version_id": chosen.current_version.id})

    def handle(self, session: Session, turn: UserTurn, state: dict[str, Any]) -> TurnResult:
        """The reply to the consent question: yes starts the participation."""
        engine = self.engine
        consultation = repo.get_consultation(session, state["slug"])
        if consultation is None or not repo.is_open(consultation):
            note = render.text("Sorry, this consultation has just closed.")
            return TurnResult([note, welcome_message(session, engine.key(turn))], None,
                              erase_conversation=True)
        version = next(v for v in consultation.versions if v.id == state["version_id"])
        definition = version.definition
        if turn.intent == "affirm" and (turn.is_button or turn.confidence >= 0.5):
            key = engine.key(turn)
            participation = repo.start_participation(session, key, version.id, turn.channel)
            notice = render.consent_request(definition)
            repo.record_outgoing(session, participation.id, notice.text,
                                 notice.buttons_as_dicts())
            repo.record_incoming(session, participation.id, turn.text, turn.intent,
                                 turn.message_id)
            ctx = Context(session, participation, definition, {}, turn, [])
            ctx.out.append(render.text("Thank you! Let’s begin."))
            first = flow.next_question(definition, {}, None)
            assert first is not None, "validated consultations have questions"
            engine.questionnaire.ask(ctx, first, hint=True)
            return engine.participation.finish(ctx)
        if turn.intent in ("deny", "forget_me", "goodbye", "pause"):
            message = render.text("No problem. Nothing about you has been stored. "
                                  "Say hello any time if you change your mind.")
            return TurnResult([message], None, erase_conversation=True)
        if turn.intent == "start_consultation" and turn.entities.get("consultation") and \
                turn.entities["consultation"] != state["slug"]:
            return self.start(session, turn)
        if turn.intent == "bot_challenge":
            lead = f"I’m an automated assistant run by {definition['agency']}. "
        elif turn.intent == "help":
            lead = ("Before we start I need your agreement to store your answers as "
                    "described. ")
        else:
            lead = ""
        ask = render.consent_request(definition)
        prompt = render.text(lead + "Please answer yes or no: do you agree to take part?",
                             *ask.buttons) if lead or turn.intent != "repeat" else ask
        return TurnResult([prompt], state)


def _guess_consultation(candidates: list[Any], text: str) -> Any:
    """The open consultation a typed request most likely means, or None when unclear."""
    names = {}
    for consultation in candidates:
        definition = consultation.current_version.definition
        names[consultation.slug] = " ".join(
            [definition["title"], definition["service"], consultation.slug.replace("-", " ")])
    scored = process.extract(text.casefold(), {k: v.casefold() for k, v in names.items()},
                             scorer=fuzz.token_set_ratio, limit=2)
    if not scored or scored[0][1] < 55:
        return None
    if len(scored) > 1 and scored[0][1] - scored[1][1] < 10:
        return None
    slug = scored[0][2]
    return next(c for c in candidates if c.slug == slug)
