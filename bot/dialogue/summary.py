"""The end phases of a participation: quote consent, the summary, changing an answer and
submitting."""

from __future__ import annotations

from bot.consultations import flow
from bot.consultations.answers import match_option
from bot.dialogue import follow_up, forget, render
from bot.dialogue.context import Context, Mode
from bot.dialogue.participation import pause
from bot.store.models import utcnow


def summary_rows(ctx: Context) -> list[tuple[int, str, str]]:
    """Number, question and the answer shown, for each question the citizen was asked."""
    rows = []
    for number, q in enumerate(flow.visible_questions(ctx.definition, ctx.values()), 1):
        answer = ctx.answers.get(q["id"])
        shown = render.format_value(answer.value, answer.status) if answer else "(no answer)"
        rows.append((number, q["text"], shown))
    return rows


def change_rows(ctx: Context) -> list[tuple[int, str, str]]:
    """Number, question id and question text, for each question that can be changed."""
    return [(n, q["id"], q["text"]) for n, q in
            enumerate(flow.visible_questions(ctx.definition, ctx.values()), 1)]


def show_summary(ctx: Context) -> None:
    """Move to the summary phase and show the answers."""
    ctx.participation.state = {"phase": "summary"}
    ctx.out.append(render.summary(summary_rows(ctx)))


def after_questions(ctx: Context) -> None:
    """No question is left: ask whether open answers may be quoted (when the consultation
    asks and the citizen has not said), then show the summary."""
    if ctx.definition["privacy"]["quotes"] == "ask" and \
            ctx.participation.quote_consent is None and _has_open_answers(ctx):
        ctx.participation.state = {"phase": "quote"}
        ctx.out.append(render.quote_consent(ctx.definition["agency"]))
        return
    show_summary(ctx)


def _has_open_answers(ctx: Context) -> bool:
    return any(q["type"] == "open" and ctx.answers.get(q["id"]) is not None and
               ctx.answers[q["id"]].status == "answered"
               for q in ctx.definition["questions"])


def complete(ctx: Context) -> None:
    """Submit the answers and offer to tell the citizen the outcome."""
    participation = ctx.participation
    participation.status = "completed"
    participation.finished_at = utcnow()
    participation.state = {"phase": "done", "follow_up_offered": True}
    ctx.out.append(render.text(
        f"Thank you! Your answers have been submitted.\n\nWhat happens next: "
        f"{ctx.definition['outcome']}"))
    ctx.out.append(follow_up.offer(ctx.turn.channel))


class SummaryMode(Mode):
    """Turns in the quote, summary and change phases."""

    def on_quote(self, ctx: Context) -> None:
        """The reply to whether open answers may be quoted."""
        intent = ctx.turn.intent
        if intent in ("affirm", "deny"):
            ctx.participation.quote_consent = intent == "affirm"
            show_summary(ctx)
        elif intent in ("pause", "goodbye"):
            pause(ctx)
        elif intent == "forget_me":
            forget.ask_in(ctx)
        else:
            ctx.out.append(render.text("Please answer yes or no."))
            self.engine.questionnaire.reprompt(ctx)

    def on_summary(self, ctx: Context) -> None:
        """A turn at the summary: submit, or change an answer first."""
        intent = ctx.turn.intent
        if intent in ("submit", "affirm"):
            complete(ctx)
        elif intent in ("change_answer", "go_back", "deny"):
            ctx.participation.state = {"phase": "change"}
            ctx.out.append(render.change_menu(change_rows(ctx)))
        elif intent in ("pause", "goodbye"):
            pause(ctx)
        elif intent == "forget_me":
            forget.ask_in(ctx)
        else:
            if intent == "help":
                ctx.out.append(render.text("Press “Submit my answers” to send them, or "
                                           "“Change an answer” to edit one first."))
            self.engine.questionnaire.reprompt(ctx)

    def on_change(self, ctx: Context) -> None:
        """The choice of the question whose answer to change."""
        turn = ctx.turn
        rows = change_rows(ctx)
        target = None
        choice = turn.entities.get("choice", "")
        if choice.startswith("change:"):
            target = choice.split(":", 1)[1]
        elif turn.intent in ("submit",):
            complete(ctx)
            return
        elif turn.intent in ("repeat", "help", "go_back", "deny"):
            show_summary(ctx)
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
        self.engine.questionnaire.ask(ctx, flow.question_by_id(ctx.definition, target),
                                      show_current=True)
