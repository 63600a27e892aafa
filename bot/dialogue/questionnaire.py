"""The question phase of a participation: asking, answers, buttons, probes and commands.

Answers are stored as they come (``QuestionnaireMode.store``) and navigation follows the
consultation's branching (``bot.consultations.flow``); when no question is left the
participation moves on to its end phases (``bot.dialogue.summary``).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from bot.consultations import flow
from bot.consultations.answers import NotUnderstood, Parsed, is_vague, normalise, parse_answer
from bot.dialogue import forget, render, service_questions, summary
from bot.dialogue.commands import command_for
from bot.dialogue.context import Context, Mode
from bot.dialogue.participation import pause
from bot.store import repository as repo
from bot.store.models import KnowledgeQuery

DONE_WORDS = {"done", "finished", "that's all", "thats all", "that is all", "next", "ok", "okay"}


def current_question(ctx: Context) -> dict[str, Any] | None:
    """The question the participation is at (the first unanswered one if none is set)."""
    current = ctx.phase.get("current")
    if current is None:
        return flow.first_unanswered(ctx.definition, ctx.values())
    return flow.question_by_id(ctx.definition, current)


class QuestionnaireMode(Mode):
    """Turns while a participation is at a question, and (re-)asking questions."""

    def ask(self, ctx: Context, q: dict[str, Any], *, hint: bool = False,
            show_current: bool = False) -> None:
        """Move to question ``q`` and ask it."""
        values = ctx.values()
        if q.get("profile") and not self._is_profile(ctx, ctx.phase.get("current")):
            # Entering the profile questions: say why they are asked (schema.PROFILE_WHY).
            ctx.out.append(render.text(ctx.definition["profile_why"]))
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

    @staticmethod
    def _is_profile(ctx: Context, question_id: Any) -> bool:
        """Whether ``question_id`` names a profile question of the consultation."""
        return any(q["id"] == question_id and q.get("profile")
                   for q in ctx.definition["questions"])

    def reprompt(self, ctx: Context) -> None:
        """Say again what the participation is waiting for, in whatever phase."""
        phase = ctx.phase.get("phase", "question")
        if phase == "quote":
            ctx.out.append(render.quote_consent(ctx.definition["agency"]))
        elif phase == "summary":
            ctx.out.append(render.summary(summary.summary_rows(ctx)))
        elif phase == "change":
            ctx.out.append(render.change_menu(summary.change_rows(ctx)))
        else:
            q = current_question(ctx)
            if q is None:
                self.advance(ctx, None)
                return
            if ctx.phase.get("probing") and q.get("probe"):
                ctx.out.append(render.text(q["probe"]))
                return
            pending = ctx.phase.get("pending")
            self.ask(ctx, q, show_current=True)
            if pending:
                ctx.phase["pending"] = pending
                ctx.out[-1] = render.question(ctx.definition, q,
                                              flow.progress(ctx.definition, ctx.values(), q["id"]),
                                              pending=pending)

    def on_question(self, ctx: Context) -> None:
        """A turn at a question: a command, a button, a service question or an answer."""
        q = current_question(ctx)
        if q is None:
            self.advance(ctx, None)
            return
        turn = ctx.turn
        # Checked before commands: NLU labels "next" skip and "that's all" goodbye.
        if q["type"] == "multi_choice" and ctx.phase.get("pending") and \
                normalise(turn.text) in DONE_WORDS:
            ctx.turn = replace(turn, entities={"choice": f"{q['id']}:done"})
            self.on_button_choice(ctx, q)
            return
        command = command_for(ctx.turn, q)
        if command == "skip" and ctx.phase.get("probing"):
            self.on_probe_reply(ctx, q)  # skipping the follow-up keeps the answer given
            return
        if command is not None:
            self.run_command(ctx, q, command)
            return
        if turn.intent == "choose" and "choice" in turn.entities:
            if not self.on_special_choice(ctx, q):
                self.on_button_choice(ctx, q)
            return
        parse_first = q["type"] != "open"
        result = parse_answer(q, turn.text) if parse_first else None
        if service_questions.is_service_question(turn, q["type"],
                                                 isinstance(result, Parsed)):
            self.engine.service.answer(ctx, q)
            return
        if ctx.phase.get("probing"):
            self.on_probe_reply(ctx, q)
            return
        result = result or parse_answer(q, turn.text)
        if isinstance(result, NotUnderstood):
            if turn.intent == "bot_challenge":
                ctx.out.append(render.text(f"I’m an automated assistant run by "
                                           f"{ctx.definition['agency']}."))
            elif turn.intent in ("out_of_scope", "ask_service", "nlu_fallback"):
                ctx.out.append(render.text("I can only help with this consultation here."))
            ctx.out.append(render.text(result.reason))
            self.reprompt(ctx)
            return
        assert isinstance(result, Parsed)
        self.store(ctx, q, "answered", result.value, turn.text)
        if q["type"] == "open" and q.get("probe") and is_vague(turn.text) and \
                not ctx.phase.get("probed"):
            ctx.phase["probing"] = True
            ctx.phase["probed"] = True
            ctx.out.append(render.text(q["probe"]))
            return
        self.advance(ctx, q)

    def on_special_choice(self, ctx: Context, q: dict[str, Any]) -> bool:
        """Buttons offered with service answers; True when the turn was one of them."""
        reply = self.engine.service.query_choice(ctx.session, ctx.turn,
                                                 ctx.definition["agency"])
        if reply is not None:
            ctx.out.append(render.text(reply))
            self.reprompt(ctx)  # back at the same question
            return True
        if ctx.turn.entities.get("choice", "") == f"{q['id']}:was_answer":
            asked = ctx.phase.pop("asked", None)
            if asked is None:
                self.reprompt(ctx)
                return True
            query = ctx.session.get(KnowledgeQuery, asked["query_id"])
            if query is not None:  # it was an answer, not a question: not a knowledge gap
                ctx.session.delete(query)
            evidence = ctx.phase.get("evidence") or []
            ctx.phase["evidence"] = [i for i in evidence if i != asked["query_id"]]
            ctx.out.append(render.text("Sorry about that: I’ve saved it as your answer."))
            self.store(ctx, q, "answered", asked["text"], asked["text"])
            self.advance(ctx, q)
            return True
        return False

    def run_command(self, ctx: Context, q: dict[str, Any], command: str) -> None:
        """Carry out a navigation command (``bot.dialogue.commands``) at question ``q``."""
        if command == "skip":
            if q.get("required", True):
                ctx.out.append(render.text("This question needs an answer, so it can’t be "
                                           "skipped. Say “pause” if you’d like to stop for now."))
                self.reprompt(ctx)
                return
            ctx.phase.pop("probing", None)
            self.store(ctx, q, "skipped", None, ctx.turn.text)
            self.advance(ctx, q)
        elif command == "go_back":
            previous = flow.previous_question(ctx.definition, ctx.values(), q["id"])
            if previous is None:
                ctx.out.append(render.text("This is the first question."))
                self.reprompt(ctx)
            else:
                self.ask(ctx, previous, show_current=True)
        elif command == "help":
            help_text = q.get("help")
            lines = ([help_text] if help_text else []) + [render.COMMANDS_HELP]
            ctx.out.append(render.text("\n".join(lines)))
            self.reprompt(ctx)
        elif command in ("pause", "goodbye"):
            pause(ctx)
        elif command == "forget_me":
            forget.ask_in(ctx)
        elif command in ("change_answer", "submit"):
            ctx.out.append(render.text("Let’s finish the questions first; you’ll see a summary "
                                       "at the end where you can change any answer."))
            self.reprompt(ctx)
        elif command == "bot_challenge":
            ctx.out.append(render.text(f"I’m an automated assistant run by "
                                       f"{ctx.definition['agency']}."))
            self.reprompt(ctx)
        elif command in ("list_consultations", "start_consultation"):
            ctx.out.append(render.text(f"You’re taking part in “{ctx.definition['title']}”. "
                                       "Say “pause” to stop here and pick another one."))
            self.reprompt(ctx)
        elif command in ("greet", "resume"):
            ctx.out.append(render.text("Hello again! Let’s continue."))
            self.reprompt(ctx)
        else:  # repeat
            self.reprompt(ctx)

    def on_button_choice(self, ctx: Context, q: dict[str, Any]) -> None:
        """A press of one of question ``q``'s option buttons (or a multiple choice's
        "done")."""
        choice = ctx.turn.entities.get("choice", "")
        qid, _, value = choice.rpartition(":")
        if qid != q["id"]:
            ctx.out.append(render.text("That button belongs to another question."))
            self.reprompt(ctx)
            return
        if q["type"] == "multi_choice":
            pending: list[str] = list(ctx.phase.get("pending") or [])
            if value == "done":
                if not pending and q.get("required", True):
                    ctx.out.append(render.text("Please choose at least one option."))
                    self.reprompt(ctx)
                    return
                ctx.phase.pop("pending", None)
                chosen = [o for o in q["options"] if o in pending]
                status = "answered" if chosen else "skipped"
                self.store(ctx, q, status, chosen or None, ", ".join(chosen))
                self.advance(ctx, q)
                return
            option = _option_at(q, value)
            if option is None:
                self.reprompt(ctx)
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
            self.store(ctx, q, "answered", result.value, str(result.value))
            self.advance(ctx, q)
        else:
            self.reprompt(ctx)

    def on_probe_reply(self, ctx: Context, q: dict[str, Any]) -> None:
        """The reply to an open question's follow-up: added to the answer."""
        ctx.phase.pop("probing", None)
        answer = ctx.answers.get(q["id"])
        extra = " ".join(ctx.turn.text.split())
        if answer is not None and answer.status == "answered" and ctx.turn.intent not in (
                "deny", "skip") and extra:
            combined = f"{answer.value} — {extra}"
            raw = f"{answer.raw_text}\n{ctx.turn.text}"
            self.store(ctx, q, "answered", combined, raw)
        elif answer is None and extra:
            self.store(ctx, q, "answered", extra, ctx.turn.text)
        self.advance(ctx, q)

    def store(self, ctx: Context, q: dict[str, Any], status: str, value: Any,
              raw: str | None) -> None:
        """Record the answer to ``q`` (and the service answers seen before it)."""
        launched = self.engine.participation.launched
        ctx.answers[q["id"]] = repo.record_answer(
            ctx.session, ctx.answers.get(q["id"]), ctx.participation.id,
            launched(ctx.session, ctx.participation.version_id).question_ids[q["id"]],
            status=status, value=value, raw_text=raw, message_id=ctx.turn.message_id)
        evidence = ctx.phase.pop("evidence", None)
        if evidence:
            service_questions.link_evidence(ctx.session, ctx.answers[q["id"]].id, evidence)
        # No commit here: the answer, the message's record and the next step are stored
        # together when the turn ends, or not at all, so a delivery repeated after a failed
        # turn finds the conversation where the answer left it.

    def advance(self, ctx: Context, after: dict[str, Any] | None) -> None:
        """Ask the next question after ``after``, or move on to the end phases."""
        values = ctx.values()
        if ctx.phase.get("return_to_summary"):
            nxt = flow.first_unanswered(ctx.definition, values)
        else:
            nxt = flow.next_question(ctx.definition, values, after["id"] if after else None)
            if nxt is None:
                nxt = flow.first_unanswered(ctx.definition, values)
        if nxt is not None:
            self.ask(ctx, nxt, show_current=True)
            return
        summary.after_questions(ctx)


def _option_at(q: dict[str, Any], value: str) -> str | None:
    try:
        index = int(value)
    except ValueError:
        return None
    options = q.get("options") or []
    return options[index - 1] if 1 <= index <= len(options) else None
