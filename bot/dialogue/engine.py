"""The consultation conversation: consent, questions, navigation, summary, erasure.

``ConversationEngine.handle`` takes one citizen turn and the conversation state kept by
Rasa (a slot) and returns what to say and the new state. Everything a participant
consents to have stored is committed before the reply is returned, so an abandoned
conversation keeps what was said. Before consent nothing is written.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from rapidfuzz import fuzz, process
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from bot.config import Settings
from bot.consultations import flow
from bot.consultations.answers import (
    NotUnderstood,
    Parsed,
    is_vague,
    match_option,
    normalise,
    parse_answer,
)
from bot.dialogue import follow_up, refs, render, service_questions
from bot.dialogue.commands import uses_command_words
from bot.dialogue.messages import BotMessage, TurnResult, UserTurn, payload
from bot.knowledge.answers import GroundedAnswer
from bot.knowledge.service import KnowledgeService
from bot.store import repository as repo
from bot.store import telegram_state
from bot.store.db import session_scope
from bot.store.models import Answer, ConsultationVersion, KnowledgeQuery, Participation, utcnow
from bot.store.pseudonym import participant_key

CONTROL_INTENTS = {
    "skip", "go_back", "repeat", "help", "pause", "forget_me", "goodbye", "resume", "greet",
    "bot_challenge", "list_consultations", "start_consultation", "change_answer", "submit",
}
COMMAND_CONFIDENCE = 0.75
OPEN_COMMAND_MAX_WORDS = 7
IDLE_REPLIES = {
    "bot_challenge": "I’m an automated assistant that runs public consultations for the council.",
    "thank": "You’re welcome!",
    "goodbye": "Goodbye, and thank you.",
    "deny": "All right.",
}
DONE_WORDS = {"done", "finished", "that's all", "thats all", "that is all", "next", "ok", "okay"}


@dataclass(frozen=True)
class _Launched:
    """What turns read of a launched version: its definition and its questions' ids."""

    definition: dict[str, Any]
    question_ids: dict[str, int]


@dataclass
class _Context:
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


class ConversationEngine:
    """Runs the consultation dialogue against the app store."""

    def __init__(self, settings: Settings, knowledge: KnowledgeService | None = None) -> None:
        self.settings = settings
        self.knowledge = knowledge
        #: What turns read of each launched version (cached: versions never change).
        self._versions: dict[int, _Launched] = {}

    # ------------------------------------------------------------------ entry points
    def key(self, turn: UserTurn) -> str:
        """The pseudonymous participant key of the turn's sender."""
        return participant_key(self.settings.secret_key, turn.channel, turn.sender_id)

    def welcome(self, turn: UserTurn) -> TurnResult:
        """Greet and list open consultations (and offer to resume a paused one)."""
        with session_scope(self.settings.database_url) as session:
            key = self.key(turn)
            return TurnResult([*follow_up.outcome_messages(session, key),
                               self._welcome_message(session, key)], None)

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
            return self._consent(session, turn, state or {})
        if mode == "confirm_forget":
            return self._confirm_forget(session, turn, state or {})
        if mode == "forward" and turn.intent in ("affirm", "deny"):
            return self._forward_reply(session, turn, state or {})
        if mode == "participation":
            found = repo.participation_and_status(session, state["participation_id"]) \
                if state else None
            if found is not None:
                participation, consultation_status = found
                if participation.status == "active" and \
                        participation.participant_id == self.key(turn):
                    return self._participation_turn(session, turn, participation,
                                                    consultation_status)
        return self._idle(session, turn)

    # ------------------------------------------------------------------ idle
    def _welcome_message(self, session: Session, key: str) -> BotMessage:
        items = [(c.slug, c.current_version.definition) for c in repo.open_consultations(session)
                 if c.current_version is not None]
        unfinished = repo.unfinished_participation(session, key)
        paused_title = unfinished.version.definition["title"] if unfinished else None
        return render.welcome(items, paused_title)

    def _idle(self, session: Session, turn: UserTurn) -> TurnResult:
        key = self.key(turn)
        intent = turn.intent
        if intent == "forget_me":
            return TurnResult([self._forget_prompt(session, key)],
                              {"mode": "confirm_forget", "back": None})
        if intent == "start_consultation" or (intent == "choose" and "consultation" in
                                              turn.entities):
            return self._start(session, turn)
        unfinished = repo.unfinished_participation(session, key)
        if unfinished is not None and intent in ("resume", "affirm", "skip", "go_back",
                                                 "repeat", "submit", "change_answer"):
            return self._resume(session, turn, unfinished)
        if intent == "ask_service" or (intent in ("nlu_fallback", "inform", "out_of_scope") and
                                       service_questions.phrased_as_question(turn.text)):
            return self._idle_service_question(session, turn)
        if intent == "choose" and turn.entities.get("choice") in (follow_up.YES, follow_up.NO):
            latest = repo.latest_participation(session, key, status="completed")
            if latest is not None:  # the offer's button pressed later on
                return follow_up.handle_reply(session, turn, latest.id, key)
        reply = self._query_choice(session, turn, None)
        if reply is not None:
            return TurnResult([render.text(reply)], None)
        if intent in IDLE_REPLIES:
            return TurnResult([render.text(IDLE_REPLIES[intent])], None)
        if intent == "choose":
            message = render.text("That button belongs to a conversation that has ended.")
            return TurnResult([message, self._welcome_message(session, key)], None)
        note = render.text("You’re not in a consultation at the moment.")
        return TurnResult([note, self._welcome_message(session, key)], None)

    # ------------------------------------------------------------------ service questions
    def _ground(self, session: Session, text: str, collections: list[str] | None,
                participation_id: int | None, question_key: str | None
                ) -> tuple[GroundedAnswer, int]:
        if self.knowledge is None:
            grounded = GroundedAnswer(False, "I can’t look things up at the moment.", [], [])
        else:
            grounded = self.knowledge.answer(text, collections)
        query = service_questions.log_query(session, participation_id, question_key, text,
                                            collections, grounded)
        return grounded, query.id

    def _idle_service_question(self, session: Session, turn: UserTurn) -> TurnResult:
        grounded, query_id = self._ground(session, turn.text, None, None, None)
        ref = self.query_ref(turn, query_id)
        if grounded.covered:
            return TurnResult([render.text(grounded.text, missed_button(ref))], None)
        return TurnResult([render.text(
            with_pass_on_offer(grounded, "the council"),
            render.Button("Yes, pass it on", "/affirm"),
            render.Button("No, thanks", "/deny"))], {"mode": "forward", "query_id": ref})

    def query_ref(self, turn: UserTurn, query_id: int) -> str:
        """A reference to a logged service question that only its asker can use in a
        button ("id.signature", ``bot.dialogue.refs``): nobody can pass on or dispute
        someone else's question by sending a made-up id."""
        return refs.sign(self.settings.secret_key, self._query_scope(turn), query_id)

    def _query_scope(self, turn: UserTurn) -> str:
        return f"knowledge-query:{self.key(turn)}"

    def _own_query(self, session: Session, ref: object,
                   turn: UserTurn) -> KnowledgeQuery | None:
        """The logged service question behind ``ref`` if this citizen asked it."""
        query_id = refs.verify(self.settings.secret_key, self._query_scope(turn), ref)
        return None if query_id is None else session.get(KnowledgeQuery, query_id)

    def _mark(self, session: Session, button: str, ref: object, turn: UserTurn) -> None:
        """Do what a ``QUERY_BUTTONS`` button does to the logged service question behind
        ``ref``, if it is this citizen's own (otherwise nothing)."""
        query = self._own_query(session, ref, turn)
        if query is not None:
            QUERY_BUTTONS[button](query)

    def _query_choice(self, session: Session, turn: UserTurn,
                      agency: str | None) -> str | None:
        """Handle a press of a button offered with an answer from the documents
        (``QUERY_BUTTONS``), in a consultation of ``agency`` or outside one (None).

        The signed reference after the button's prefix is checked (``query_ref``): someone
        else's or a made-up one changes nothing, and gets the same reply.

        Returns:
            What to say, or None when the turn pressed no such button (nothing is done).
        """
        choice = turn.entities.get("choice", "") if turn.intent == "choose" else ""
        button = next((prefix for prefix in QUERY_BUTTONS if choice.startswith(prefix)), None)
        if button is None:
            return None
        self._mark(session, button, choice.removeprefix(button), turn)
        return query_button_reply(button, agency)

    def _forward_reply(self, session: Session, turn: UserTurn,
                       state: dict[str, Any]) -> TurnResult:
        if turn.intent == "affirm":
            self._mark(session, FORWARD, state.get("query_id"), turn)
            message = render.text(query_button_reply(FORWARD, None))
        else:
            message = render.text("All right.")
        return TurnResult([message], None)

    def _start(self, session: Session, turn: UserTurn) -> TurnResult:
        key = self.key(turn)
        open_now = repo.open_consultations(session)
        slug = turn.entities.get("consultation")
        chosen = None
        if slug:
            consultation = repo.get_consultation(session, slug)
            if consultation is None:
                note = render.text(f"I couldn’t find a consultation called “{slug}”.")
                return TurnResult([note, self._welcome_message(session, key)], None)
            if consultation not in open_now:
                note = render.text(f"“{consultation.current_version.title}” is closed and no "
                                   "longer takes answers." if consultation.current_version
                                   else "That consultation is closed.")
                return TurnResult([note, self._welcome_message(session, key)], None)
            chosen = consultation
        elif len(open_now) == 1:
            chosen = open_now[0]
        elif open_now:
            chosen = _guess_consultation(open_now, turn.text)
        if chosen is None or chosen.current_version is None:
            return TurnResult([self._welcome_message(session, key)], None)
        unfinished = repo.unfinished_participation(session, key)
        if unfinished is not None and unfinished.version.consultation_id == chosen.id:
            return self._resume(session, turn, unfinished)
        definition = chosen.current_version.definition
        repo.count_opening(session, chosen.id, turn.channel)
        return TurnResult([render.consent_request(definition)],
                          {"mode": "consent", "slug": chosen.slug,
                           "version_id": chosen.current_version.id})

    # ------------------------------------------------------------------ consent
    def _consent(self, session: Session, turn: UserTurn, state: dict[str, Any]) -> TurnResult:
        consultation = repo.get_consultation(session, state["slug"])
        if consultation is None or not repo.is_open(consultation):
            note = render.text("Sorry, this consultation has just closed.")
            return TurnResult([note, self._welcome_message(session, self.key(turn))], None,
                              erase_conversation=True)
        version = next(v for v in consultation.versions if v.id == state["version_id"])
        definition = version.definition
        if turn.intent == "affirm" and (turn.is_button or turn.confidence >= 0.5):
            key = self.key(turn)
            participation = repo.start_participation(session, key, version.id, turn.channel)
            notice = render.consent_request(definition)
            repo.record_outgoing(session, participation.id, notice.text,
                                 notice.buttons_as_dicts())
            repo.record_incoming(session, participation.id, turn.text, turn.intent,
                                 turn.message_id)
            ctx = _Context(session, participation, definition, {}, turn, [])
            ctx.out.append(render.text("Thank you! Let’s begin."))
            first = flow.next_question(definition, {}, None)
            assert first is not None, "validated consultations have questions"
            self._ask(ctx, first, hint=True)
            return self._finish_participation_turn(ctx)
        if turn.intent in ("deny", "forget_me", "goodbye", "pause"):
            message = render.text("No problem. Nothing about you has been stored. "
                                  "Say hello any time if you change your mind.")
            return TurnResult([message], None, erase_conversation=True)
        if turn.intent == "start_consultation" and turn.entities.get("consultation") and \
                turn.entities["consultation"] != state["slug"]:
            return self._start(session, turn)
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

    # ------------------------------------------------------------------ forget me
    def _forget_prompt(self, session: Session, key: str) -> BotMessage:
        del session, key
        return render.text(
            "This deletes everything stored about you: your answers and our conversations, "
            "in every consultation. It cannot be undone. Are you sure?",
            render.Button("Yes, delete everything", "/affirm"),
            render.Button("No, keep my answers", "/deny"))

    def _confirm_forget(self, session: Session, turn: UserTurn,
                        state: dict[str, Any]) -> TurnResult:
        if turn.intent == "affirm" or (turn.intent == "forget_me" and turn.is_button):
            removed = repo.erase_participant(session, self.key(turn))
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
                        participation.participant_id == self.key(turn):
                    ctx = self._context(session, participation, turn)
                    self._reprompt(ctx)
                    ctx.out[:0] = out
                    return self._finish_participation_turn(ctx)
            return TurnResult(out, None)
        return TurnResult([render.text("Please answer yes or no."),
                           self._forget_prompt(session, self.key(turn))], state)

    # ------------------------------------------------------------------ participation
    def _context(self, session: Session, participation: Participation,
                 turn: UserTurn) -> _Context:
        definition = self._launched(session, participation.version_id).definition
        return _Context(session, participation, definition,
                        repo.current_answers(session, participation.id), turn, [])

    def _launched(self, session: Session, version_id: int) -> _Launched:
        """A launched version's definition and question ids (cached; callers must not
        change them)."""
        launched = self._versions.get(version_id)
        if launched is None:
            definition = session.scalars(select(ConsultationVersion.definition)
                                         .where(ConsultationVersion.id == version_id)).one()
            ids = {k: q.id for k, q in repo.questions_by_key(session, version_id).items()}
            launched = self._versions[version_id] = _Launched(definition, ids)
        return launched

    def _resume(self, session: Session, turn: UserTurn,
                participation: Participation) -> TurnResult:
        participation.status = "active"
        ctx = self._context(session, participation, turn)
        repo.record_incoming(session, participation.id, turn.text, turn.intent, turn.message_id)
        ctx.out.append(render.text(f"Welcome back to “{ctx.definition['title']}”. "
                                   "Let’s continue where you left off."))
        self._reprompt(ctx)
        return self._finish_participation_turn(ctx)

    def _participation_turn(self, session: Session, turn: UserTurn, participation: Participation,
                            consultation_status: str) -> TurnResult:
        ctx = self._context(session, participation, turn)
        if consultation_status != "open":
            participation.status = "paused"
            message = render.text("This consultation has closed, so it no longer takes "
                                  "answers. What you told us so far is kept. Thank you!")
            repo.record_outgoing(session, participation.id, message.text, None)
            return TurnResult([message], None)
        if not repo.record_incoming(session, participation.id, turn.text, turn.intent,
                                    turn.message_id):
            self._reprompt(ctx)  # a retried delivery: answer again, change nothing
            return TurnResult(ctx.out, {"mode": "participation",
                                        "participation_id": participation.id})
        phase = ctx.phase.get("phase", "question")
        if phase == "quote":
            self._on_quote(ctx)
        elif phase == "summary":
            self._on_summary(ctx)
        elif phase == "change":
            self._on_change(ctx)
        else:
            self._on_question(ctx)
        return self._finish_participation_turn(ctx)

    def _finish_participation_turn(self, ctx: _Context) -> TurnResult:
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

    # ------------------------------------------------------------------ asking
    def _ask(self, ctx: _Context, q: dict[str, Any], *, hint: bool = False,
             show_current: bool = False) -> None:
        values = ctx.values()
        keep = ["return_to_summary", "evidence"]
        if ctx.phase.get("current") == q["id"]:
            keep.append("asked")  # re-asking after a service answer: "That was my answer"
        state = {k: v for k, v in ctx.phase.items() if k in keep}
        state.update(phase="question", current=q["id"])
        ctx.participation.state = state
        previous = None
        if show_current and q["id"] in ctx.answers:
            answer = ctx.answers[q["id"]]
            previous = render.format_value(answer.value, answer.status)
        can_go_back = flow.previous_question(ctx.definition, values, q["id"]) is not None
        ctx.out.append(render.question(ctx.definition, q, flow.progress(ctx.definition, values,
                                                                         q["id"]),
                                       previous_answer=previous, can_go_back=can_go_back,
                                       first_time_hint=hint))

    def _reprompt(self, ctx: _Context) -> None:
        phase = ctx.phase.get("phase", "question")
        if phase == "quote":
            ctx.out.append(render.quote_consent(ctx.definition["agency"]))
        elif phase == "summary":
            ctx.out.append(render.summary(self._summary_rows(ctx)))
        elif phase == "change":
            ctx.out.append(render.change_menu(self._change_rows(ctx)))
        else:
            q = self._current_question(ctx)
            if q is None:
                self._advance(ctx, None)
                return
            if ctx.phase.get("probing") and q.get("probe"):
                ctx.out.append(render.text(q["probe"]))
                return
            pending = ctx.phase.get("pending")
            self._ask(ctx, q, show_current=True)
            if pending:
                ctx.phase["pending"] = pending
                ctx.out[-1] = render.question(ctx.definition, q,
                                              flow.progress(ctx.definition, ctx.values(), q["id"]),
                                              pending=pending)

    def _current_question(self, ctx: _Context) -> dict[str, Any] | None:
        current = ctx.phase.get("current")
        if current is None:
            return flow.first_unanswered(ctx.definition, ctx.values())
        return flow.question_by_id(ctx.definition, current)

    # ------------------------------------------------------------------ question phase
    def _on_question(self, ctx: _Context) -> None:
        q = self._current_question(ctx)
        if q is None:
            self._advance(ctx, None)
            return
        turn = ctx.turn
        # Checked before commands: NLU labels "next" skip and "that's all" goodbye.
        if q["type"] == "multi_choice" and ctx.phase.get("pending") and \
                normalise(turn.text) in DONE_WORDS:
            ctx.turn = replace(turn, entities={"choice": f"{q['id']}:done"})
            self._on_button_choice(ctx, q)
            return
        command = self._command_for(ctx, q)
        if command == "skip" and ctx.phase.get("probing"):
            self._on_probe_reply(ctx, q)  # skipping the follow-up keeps the answer given
            return
        if command is not None:
            self._run_command(ctx, q, command)
            return
        if turn.intent == "choose" and "choice" in turn.entities:
            if not self._on_special_choice(ctx, q):
                self._on_button_choice(ctx, q)
            return
        parse_first = q["type"] != "open"
        result = parse_answer(q, turn.text) if parse_first else None
        if service_questions.is_service_question(turn, q["type"],
                                                 isinstance(result, Parsed)):
            self._answer_service_question(ctx, q)
            return
        if ctx.phase.get("probing"):
            self._on_probe_reply(ctx, q)
            return
        result = result or parse_answer(q, turn.text)
        if isinstance(result, NotUnderstood):
            if turn.intent == "bot_challenge":
                ctx.out.append(render.text(f"I’m an automated assistant run by "
                                           f"{ctx.definition['agency']}."))
            elif turn.intent in ("out_of_scope", "ask_service", "nlu_fallback"):
                ctx.out.append(render.text("I can only help with this consultation here."))
            ctx.out.append(render.text(result.reason))
            self._reprompt(ctx)
            return
        assert isinstance(result, Parsed)
        self._store(ctx, q, "answered", result.value, turn.text)
        if q["type"] == "open" and q.get("probe") and is_vague(turn.text) and \
                not ctx.phase.get("probed"):
            ctx.phase["probing"] = True
            ctx.phase["probed"] = True
            ctx.out.append(render.text(q["probe"]))
            return
        self._advance(ctx, q)

    def _answer_service_question(self, ctx: _Context, q: dict[str, Any]) -> None:
        """Answer from the consultation's own collections, then return to the question."""
        text = ctx.turn.text
        collections = list(ctx.definition.get("knowledge") or [])
        grounded, query_id = self._ground(ctx.session, text, collections,
                                          ctx.participation.id, q["id"])
        ctx.phase.setdefault("evidence", []).append(query_id)
        buttons: list[render.Button] = []
        message = grounded.text
        ref = self.query_ref(ctx.turn, query_id)
        if grounded.covered:
            buttons.append(missed_button(ref))
        else:
            message = with_pass_on_offer(grounded, ctx.definition["agency"])
            buttons.append(render.Button("Pass my question on",
                                         payload("choose", choice=f"{FORWARD}{ref}")))
        if q["type"] == "open":
            ctx.phase["asked"] = {"query_id": query_id, "text": text}
            buttons.append(render.Button("That was my answer",
                                         payload("choose", choice=f"{q['id']}:was_answer")))
        ctx.out.append(render.text(message, *buttons))
        ctx.out.append(render.text("Now, back to the consultation:"))
        self._reprompt(ctx)

    def _on_special_choice(self, ctx: _Context, q: dict[str, Any]) -> bool:
        """Buttons offered with service answers; True when the turn was one of them."""
        reply = self._query_choice(ctx.session, ctx.turn, ctx.definition["agency"])
        if reply is not None:
            ctx.out.append(render.text(reply))
            self._reprompt(ctx)  # back at the same question
            return True
        if ctx.turn.entities.get("choice", "") == f"{q['id']}:was_answer":
            asked = ctx.phase.pop("asked", None)
            if asked is None:
                self._reprompt(ctx)
                return True
            query = ctx.session.get(KnowledgeQuery, asked["query_id"])
            if query is not None:  # it was an answer, not a question: not a knowledge gap
                ctx.session.delete(query)
            evidence = ctx.phase.get("evidence") or []
            ctx.phase["evidence"] = [i for i in evidence if i != asked["query_id"]]
            ctx.out.append(render.text("Sorry about that: I’ve saved it as your answer."))
            self._store(ctx, q, "answered", asked["text"], asked["text"])
            self._advance(ctx, q)
            return True
        return False

    def _command_for(self, ctx: _Context, q: dict[str, Any]) -> str | None:
        """The navigation command the turn expresses, or None when it is an answer."""
        turn = ctx.turn
        intent = turn.intent or ""
        if intent not in CONTROL_INTENTS and intent not in ("affirm", "deny", "thank"):
            return None
        if turn.is_button:
            return intent if intent in CONTROL_INTENTS else None
        if intent not in CONTROL_INTENTS or turn.confidence < COMMAND_CONFIDENCE:
            return None
        if q["type"] == "open":
            is_command = turn.word_count() <= OPEN_COMMAND_MAX_WORDS and \
                uses_command_words(intent, turn.text)
            return intent if is_command else None
        # Choice and scale: a clear option match wins over a command of the same words.
        if match_option(q.get("options") or [], turn.text) is not None and q["type"] != "scale":
            return None
        if q["type"] == "scale" and isinstance(parse_answer(q, turn.text), Parsed):
            return None
        return intent

    def _run_command(self, ctx: _Context, q: dict[str, Any], command: str) -> None:
        if command == "skip":
            if q.get("required", True):
                ctx.out.append(render.text("This question needs an answer, so it can’t be "
                                           "skipped. Say “pause” if you’d like to stop for now."))
                self._reprompt(ctx)
                return
            ctx.phase.pop("probing", None)
            self._store(ctx, q, "skipped", None, ctx.turn.text)
            self._advance(ctx, q)
        elif command == "go_back":
            previous = flow.previous_question(ctx.definition, ctx.values(), q["id"])
            if previous is None:
                ctx.out.append(render.text("This is the first question."))
                self._reprompt(ctx)
            else:
                self._ask(ctx, previous, show_current=True)
        elif command == "help":
            help_text = q.get("help")
            lines = ([help_text] if help_text else []) + [render.COMMANDS_HELP]
            ctx.out.append(render.text("\n".join(lines)))
            self._reprompt(ctx)
        elif command in ("pause", "goodbye"):
            self._pause(ctx)
        elif command == "forget_me":
            ctx.phase["forget"] = True
            ctx.out.append(self._forget_prompt(ctx.session, ""))
        elif command in ("change_answer", "submit"):
            ctx.out.append(render.text("Let’s finish the questions first; you’ll see a summary "
                                       "at the end where you can change any answer."))
            self._reprompt(ctx)
        elif command == "bot_challenge":
            ctx.out.append(render.text(f"I’m an automated assistant run by "
                                       f"{ctx.definition['agency']}."))
            self._reprompt(ctx)
        elif command in ("list_consultations", "start_consultation"):
            ctx.out.append(render.text(f"You’re taking part in “{ctx.definition['title']}”. "
                                       "Say “pause” to stop here and pick another one."))
            self._reprompt(ctx)
        elif command in ("greet", "resume"):
            ctx.out.append(render.text("Hello again! Let’s continue."))
            self._reprompt(ctx)
        else:  # repeat
            self._reprompt(ctx)

    def _pause(self, ctx: _Context) -> None:
        ctx.participation.status = "paused"
        ctx.phase.pop("probing", None)
        ctx.out.append(render.text(
            "Paused. Your answers so far are saved. Come back any time and say “resume” "
            "to continue where you left off."))

    def _on_button_choice(self, ctx: _Context, q: dict[str, Any]) -> None:
        choice = ctx.turn.entities.get("choice", "")
        qid, _, value = choice.rpartition(":")
        if qid != q["id"]:
            ctx.out.append(render.text("That button belongs to another question."))
            self._reprompt(ctx)
            return
        if q["type"] == "multi_choice":
            pending: list[str] = list(ctx.phase.get("pending") or [])
            if value == "done":
                if not pending and q.get("required", True):
                    ctx.out.append(render.text("Please choose at least one option."))
                    self._reprompt(ctx)
                    return
                ctx.phase.pop("pending", None)
                chosen = [o for o in q["options"] if o in pending]
                status = "answered" if chosen else "skipped"
                self._store(ctx, q, status, chosen or None, ", ".join(chosen))
                self._advance(ctx, q)
                return
            option = _option_at(q, value)
            if option is None:
                self._reprompt(ctx)
                return
            if option in pending:
                pending.remove(option)
            elif q.get("max_choices") and len(pending) >= q["max_choices"]:
                ctx.out.append(render.text(f"You can choose up to {q['max_choices']}."))
            else:
                pending.append(option)
            ctx.phase["pending"] = pending
            ctx.out.append(render.question(ctx.definition, q, flow.progress(
                ctx.definition, ctx.values(), q["id"]), pending=pending))
            return
        if q["type"] == "scale":
            result = parse_answer(q, value)
        else:
            option = _option_at(q, value)
            result = Parsed(option) if option is not None else NotUnderstood("")
        if isinstance(result, Parsed):
            self._store(ctx, q, "answered", result.value, str(result.value))
            self._advance(ctx, q)
        else:
            self._reprompt(ctx)

    def _on_probe_reply(self, ctx: _Context, q: dict[str, Any]) -> None:
        ctx.phase.pop("probing", None)
        answer = ctx.answers.get(q["id"])
        extra = " ".join(ctx.turn.text.split())
        if answer is not None and answer.status == "answered" and ctx.turn.intent not in (
                "deny", "skip") and extra:
            combined = f"{answer.value} — {extra}"
            raw = f"{answer.raw_text}\n{ctx.turn.text}"
            self._store(ctx, q, "answered", combined, raw)
        elif answer is None and extra:
            self._store(ctx, q, "answered", extra, ctx.turn.text)
        self._advance(ctx, q)

    def _store(self, ctx: _Context, q: dict[str, Any], status: str, value: Any,
               raw: str | None) -> None:
        ctx.answers[q["id"]] = repo.record_answer(
            ctx.session, ctx.answers.get(q["id"]), ctx.participation.id,
            self._launched(ctx.session, ctx.participation.version_id).question_ids[q["id"]],
            status=status, value=value, raw_text=raw, message_id=ctx.turn.message_id)
        evidence = ctx.phase.pop("evidence", None)
        if evidence:
            service_questions.link_evidence(ctx.session, ctx.answers[q["id"]].id, evidence)
        # No commit here: the answer, the message's record and the next step are stored
        # together when the turn ends, or not at all, so a delivery repeated after a failed
        # turn finds the conversation where the answer left it.

    def _advance(self, ctx: _Context, after: dict[str, Any] | None) -> None:
        values = ctx.values()
        if ctx.phase.get("return_to_summary"):
            nxt = flow.first_unanswered(ctx.definition, values)
        else:
            nxt = flow.next_question(ctx.definition, values, after["id"] if after else None)
            if nxt is None:
                nxt = flow.first_unanswered(ctx.definition, values)
        if nxt is not None:
            self._ask(ctx, nxt, show_current=True)
            return
        if ctx.definition["privacy"]["quotes"] == "ask" and \
                ctx.participation.quote_consent is None and self._has_open_answers(ctx):
            ctx.participation.state = {"phase": "quote"}
            ctx.out.append(render.quote_consent(ctx.definition["agency"]))
            return
        ctx.participation.state = {"phase": "summary"}
        ctx.out.append(render.summary(self._summary_rows(ctx)))

    def _has_open_answers(self, ctx: _Context) -> bool:
        return any(q["type"] == "open" and ctx.answers.get(q["id"]) is not None and
                   ctx.answers[q["id"]].status == "answered"
                   for q in ctx.definition["questions"])

    # ------------------------------------------------------------------ end phases
    def _on_quote(self, ctx: _Context) -> None:
        intent = ctx.turn.intent
        if intent in ("affirm", "deny"):
            ctx.participation.quote_consent = intent == "affirm"
            ctx.participation.state = {"phase": "summary"}
            ctx.out.append(render.summary(self._summary_rows(ctx)))
        elif intent in ("pause", "goodbye"):
            self._pause(ctx)
        elif intent == "forget_me":
            ctx.phase["forget"] = True
            ctx.out.append(self._forget_prompt(ctx.session, ""))
        else:
            ctx.out.append(render.text("Please answer yes or no."))
            self._reprompt(ctx)

    def _summary_rows(self, ctx: _Context) -> list[tuple[int, str, str]]:
        rows = []
        for number, q in enumerate(flow.visible_questions(ctx.definition, ctx.values()), 1):
            answer = ctx.answers.get(q["id"])
            shown = render.format_value(answer.value, answer.status) if answer else "(no answer)"
            rows.append((number, q["text"], shown))
        return rows

    def _change_rows(self, ctx: _Context) -> list[tuple[int, str, str]]:
        return [(n, q["id"], q["text"]) for n, q in
                enumerate(flow.visible_questions(ctx.definition, ctx.values()), 1)]

    def _on_summary(self, ctx: _Context) -> None:
        intent = ctx.turn.intent
        if intent in ("submit", "affirm"):
            self._complete(ctx)
        elif intent in ("change_answer", "go_back", "deny"):
            ctx.participation.state = {"phase": "change"}
            ctx.out.append(render.change_menu(self._change_rows(ctx)))
        elif intent in ("pause", "goodbye"):
            self._pause(ctx)
        elif intent == "forget_me":
            ctx.phase["forget"] = True
            ctx.out.append(self._forget_prompt(ctx.session, ""))
        else:
            if intent == "help":
                ctx.out.append(render.text("Press “Submit my answers” to send them, or "
                                           "“Change an answer” to edit one first."))
            self._reprompt(ctx)

    def _on_change(self, ctx: _Context) -> None:
        turn = ctx.turn
        rows = self._change_rows(ctx)
        target = None
        choice = turn.entities.get("choice", "")
        if choice.startswith("change:"):
            target = choice.split(":", 1)[1]
        elif turn.intent in ("submit",):
            self._complete(ctx)
            return
        elif turn.intent in ("repeat", "help", "go_back", "deny"):
            ctx.participation.state = {"phase": "summary"}
            ctx.out.append(render.summary(self._summary_rows(ctx)))
            return
        else:
            texts = [text for _, _, text in rows]
            index = match_option(texts, turn.text)
            if index is not None:
                target = rows[index][1]
        if target is None or target not in {qid for _, qid, _ in rows}:
            ctx.out.append(render.text("Please pick the question to change by its number."))
            ctx.out.append(render.change_menu(rows))
            return
        ctx.participation.state = {"return_to_summary": True}
        self._ask(ctx, flow.question_by_id(ctx.definition, target), show_current=True)

    def _complete(self, ctx: _Context) -> None:
        participation = ctx.participation
        participation.status = "completed"
        participation.finished_at = utcnow()
        participation.state = {"phase": "done", "follow_up_offered": True}
        ctx.out.append(render.text(
            f"Thank you! Your answers have been submitted.\n\nWhat happens next: "
            f"{ctx.definition['outcome']}"))
        ctx.out.append(follow_up.offer(ctx.turn.channel))


def _option_at(q: dict[str, Any], value: str) -> str | None:
    try:
        index = int(value)
    except ValueError:
        return None
    options = q.get("options") or []
    return options[index - 1] if 1 <= index <= len(options) else None


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


#: The choices behind the buttons offered with an answer from the documents, each followed
#: by the logged question's signed reference (``ConversationEngine.query_ref``): "Pass my
#: question on" and "That didn't answer it".
FORWARD = "forward:"
MISSED = "missed:"


def _pass_on(query: KnowledgeQuery) -> None:
    query.forwarded = True


def _dispute(query: KnowledgeQuery) -> None:
    query.disputed = query.forwarded = True  # a knowledge gap, passed on to the agency


#: What each of these buttons does to the citizen's own logged question.
QUERY_BUTTONS: dict[str, Callable[[KnowledgeQuery], None]] = {FORWARD: _pass_on,
                                                              MISSED: _dispute}


def missed_button(ref: str) -> render.Button:
    """Offered with every answer from the documents: the citizen can say it missed
    (``ref``: ``ConversationEngine.query_ref``)."""
    return render.Button("That didn’t answer it", payload("choose", choice=f"{MISSED}{ref}"))


def query_button_reply(button: str, agency: str | None) -> str:
    """What the bot says to a ``QUERY_BUTTONS`` button (or to "yes, pass it on" outside a
    consultation), in a consultation of ``agency`` or outside one (None)."""
    if button == MISSED:
        return (f"Sorry it didn’t help. I’ve passed your question on to "
                f"{agency or 'the council'}, who use these questions to improve their "
                "information and services.")
    if agency is None:
        return ("Thank you: your question has been passed on to the council, who use these "
                "questions to improve their information and services.")
    return f"Thank you: I’ve passed your question on to {agency}."


def with_pass_on_offer(grounded: GroundedAnswer, agency: str) -> str:
    """The "not covered" reply with the offer to pass the question on (after the closest
    passage's source line, when one is shown)."""
    gap = "\n\n" if grounded.closest else " "
    return f"{grounded.text}{gap}Would you like me to pass your question on to {agency}?"
