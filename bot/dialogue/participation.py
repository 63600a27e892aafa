"""A turn inside a participation: load its context, route it by phase, record the turn.

Everything a participant consents to have stored is committed with the turn, so an
abandoned conversation keeps what was said.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from bot.dialogue import render
from bot.dialogue.context import Context, Launched, Mode
from bot.dialogue.messages import TurnResult, UserTurn
from bot.store import repository as repo
from bot.store.models import ConsultationVersion, Participation, utcnow

if TYPE_CHECKING:
    from bot.dialogue.engine import ConversationEngine


def pause(ctx: Context) -> None:
    """Pause the participation, keeping the answers so far."""
    ctx.participation.status = "paused"
    ctx.phase.pop("probing", None)
    ctx.out.append(render.text(
        "Paused. Your answers so far are saved. Come back any time and say “resume” "
        "to continue where you left off."))


class ParticipationMode(Mode):
    """Turns of an active participation, whatever its phase."""

    def __init__(self, engine: ConversationEngine) -> None:
        super().__init__(engine)
        #: What turns read of each launched version (cached: versions never change).
        self._versions: dict[int, Launched] = {}

    def launched(self, session: Session, version_id: int) -> Launched:
        """A launched version's definition and question ids (cached; callers must not
        change them)."""
        launched = self._versions.get(version_id)
        if launched is None:
            definition = session.scalars(select(ConsultationVersion.definition)
                                         .where(ConsultationVersion.id == version_id)).one()
            ids = {k: q.id for k, q in repo.questions_by_key(session, version_id).items()}
            launched = self._versions[version_id] = Launched(definition, ids)
        return launched

    def context(self, session: Session, participation: Participation,
                turn: UserTurn) -> Context:
        """Load what a turn of ``participation`` works with."""
        definition = self.launched(session, participation.version_id).definition
        return Context(session, participation, definition,
                       repo.current_answers(session, participation.id), turn, [])

    def resume(self, session: Session, turn: UserTurn,
               participation: Participation) -> TurnResult:
        """Take up a paused or unfinished participation where it was left."""
        participation.status = "active"
        ctx = self.context(session, participation, turn)
        repo.record_incoming(session, participation.id, turn.text, turn.intent, turn.message_id)
        ctx.out.append(render.text(f"Welcome back to “{ctx.definition['title']}”. "
                                   "Let’s continue where you left off."))
        self.engine.questionnaire.reprompt(ctx)
        return self.finish(ctx)

    def handle(self, session: Session, turn: UserTurn, participation: Participation,
               consultation_status: str) -> TurnResult:
        """A turn of the citizen's active participation, routed by its phase."""
        engine = self.engine
        ctx = self.context(session, participation, turn)
        if consultation_status != "open":
            participation.status = "paused"
            message = render.text("This consultation has closed, so it no longer takes "
                                  "answers. What you told us so far is kept. Thank you!")
            repo.record_outgoing(session, participation.id, message.text, None)
            return TurnResult([message], None)
        if not repo.record_incoming(session, participation.id, turn.text, turn.intent,
                                    turn.message_id):
            # A retried delivery: answer again, change nothing.
            engine.questionnaire.reprompt(ctx)
            return TurnResult(ctx.out, {"mode": "participation",
                                        "participation_id": participation.id})
        phase = ctx.phase.get("phase", "question")
        if phase == "quote":
            engine.summary.on_quote(ctx)
        elif phase == "summary":
            engine.summary.on_summary(ctx)
        elif phase == "change":
            engine.summary.on_change(ctx)
        else:
            engine.questionnaire.on_question(ctx)
        return self.finish(ctx)

    def finish(self, ctx: Context) -> TurnResult:
        """Record the replies and return them with the conversation state to keep."""
        participation = ctx.participation
        for message in ctx.out:
            repo.record_outgoing(ctx.session, participation.id, message.text,
                                 message.buttons_as_dicts())
        participation.updated_at = utcnow()
        flag_modified(participation, "state")  # the JSON dict was changed in place
        if ctx.phase.get("forget"):
            participation.state.pop("forget", None)
            return TurnResult(ctx.out, {"mode": "confirm_forget",
                                        "back": {"mode": "participation",
                                                 "participation_id": participation.id}})
        if participation.status != "active":
            if participation.state.get("follow_up_offered"):
                return TurnResult(ctx.out, {"mode": "follow_up",
                                            "participation_id": participation.id})
            return TurnResult(ctx.out, None)
        return TurnResult(ctx.out, {"mode": "participation", "participation_id": participation.id})
