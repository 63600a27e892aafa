"""Questions about the service: telling them from answers, answering them from the
agency's documents, logging what was shown, and the buttons offered with the answer.

Inside an open question a citizen's text may be an answer that happens to end in "?" or
a real question about how the service works. It is taken as a question only when NLU is
confident it is one *and* it is phrased as a question; the citizen can still press
"That was my answer". In choice and scale questions, text that is not an answer and is
phrased as (or classified as) a question is a question.

With an answer the citizen can say it missed (a knowledge gap, passed on to the agency);
when the documents don't cover the question, they are offered to pass it on.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from bot.dialogue import refs, render
from bot.dialogue.context import Context, Mode
from bot.dialogue.messages import TurnResult, UserTurn, payload
from bot.knowledge.answers import GroundedAnswer
from bot.store.models import AnswerEvidence, KnowledgeQuery

OPEN_QUESTION_CONFIDENCE = 0.8
CHOICE_QUESTION_CONFIDENCE = 0.5
QUESTION_WORDS = (
    "what", "when", "where", "who", "whom", "which", "why", "how", "is", "are", "can", "could",
    "do", "does", "did", "will", "would", "should", "may", "might", "am", "have", "has",
    "tell me", "i was wondering", "do you know", "any idea",
)


def phrased_as_question(text: str) -> bool:
    """Ends with '?' or starts like a question ("what time…", "can I…")."""
    cleaned = " ".join(text.casefold().split())
    if cleaned.endswith("?"):
        return True
    return any(re.match(rf"^{re.escape(word)}\b", cleaned) for word in QUESTION_WORDS)


def is_service_question(turn: UserTurn, question_type: str, parsed_as_answer: bool) -> bool:
    """Whether the turn asks about the service rather than answering ``question_type``."""
    if turn.is_button:
        return False
    if question_type == "open":
        return turn.intent == "ask_service" and \
            turn.confidence >= OPEN_QUESTION_CONFIDENCE and phrased_as_question(turn.text)
    if parsed_as_answer:
        return False
    return (turn.intent == "ask_service" and turn.confidence >= CHOICE_QUESTION_CONFIDENCE) \
        or phrased_as_question(turn.text)


def log_query(session: Session, participation_id: int | None, question_key: str | None,
              text: str, collections: list[str] | None,
              answer: GroundedAnswer) -> KnowledgeQuery:
    """Record a service question, the passages shown with their scores, and the outcome."""
    query = KnowledgeQuery(
        participation_id=participation_id, question_key=question_key, text=text[:2000],
        collections=collections or [], answered=answer.covered,
        top_score=answer.top_similarity,
        hits=[{"passage_id": h.passage.id, "title": h.passage.title,
               "section": h.passage.section, "source": h.passage.url or h.passage.document,
               "collection": h.passage.collection, "score": round(h.score, 4),
               "similarity": round(h.similarity, 4)} for h in answer.hits],
    )
    session.add(query)
    session.flush()
    return query


def link_evidence(session: Session, answer_id: int, query_ids: list[int]) -> None:
    """Record that the citizen had seen these service answers before answering."""
    for query_id in dict.fromkeys(query_ids):
        if session.get(KnowledgeQuery, query_id) is not None:
            session.add(AnswerEvidence(answer_id=answer_id, query_id=query_id))


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


class ServiceQuestionMode(Mode):
    """Answering service questions, in a consultation or outside one, and the buttons
    and replies that pass them on."""

    def ground(self, session: Session, text: str, collections: list[str] | None,
               participation_id: int | None, question_key: str | None
               ) -> tuple[GroundedAnswer, int]:
        """Answer ``text`` from the documents and log it; returns the answer and the
        logged question's id."""
        knowledge = self.engine.knowledge
        if knowledge is None:
            grounded = GroundedAnswer(False, "I can’t look things up at the moment.", [], [])
        else:
            grounded = knowledge.answer(text, collections)
        query = log_query(session, participation_id, question_key, text, collections,
                          grounded)
        return grounded, query.id

    def idle_question(self, session: Session, turn: UserTurn) -> TurnResult:
        """A service question asked outside a consultation (all collections)."""
        grounded, query_id = self.ground(session, turn.text, None, None, None)
        ref = self.query_ref(turn, query_id)
        if grounded.covered:
            return TurnResult([render.text(grounded.text, missed_button(ref))], None)
        return TurnResult([render.text(
            with_pass_on_offer(grounded, "the council"),
            render.Button("Yes, pass it on", "/affirm"),
            render.Button("No, thanks", "/deny"))], {"mode": "forward", "query_id": ref})

    def answer(self, ctx: Context, q: dict[str, Any]) -> None:
        """Answer from the consultation's own collections, then return to the question."""
        text = ctx.turn.text
        collections = list(ctx.definition.get("knowledge") or [])
        grounded, query_id = self.ground(ctx.session, text, collections,
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
        self.engine.questionnaire.reprompt(ctx)

    def query_ref(self, turn: UserTurn, query_id: int) -> str:
        """A reference to a logged service question that only its asker can use in a
        button (``ConversationEngine.query_ref``)."""
        return refs.sign(self.engine.settings.secret_key, self._scope(turn), query_id)

    def _scope(self, turn: UserTurn) -> str:
        return f"knowledge-query:{self.engine.key(turn)}"

    def _own_query(self, session: Session, ref: object,
                   turn: UserTurn) -> KnowledgeQuery | None:
        """The logged service question behind ``ref`` if this citizen asked it."""
        query_id = refs.verify(self.engine.settings.secret_key, self._scope(turn), ref)
        return None if query_id is None else session.get(KnowledgeQuery, query_id)

    def _mark(self, session: Session, button: str, ref: object, turn: UserTurn) -> None:
        """Do what a ``QUERY_BUTTONS`` button does to the logged service question behind
        ``ref``, if it is this citizen's own (otherwise nothing)."""
        query = self._own_query(session, ref, turn)
        if query is not None:
            QUERY_BUTTONS[button](query)

    def query_choice(self, session: Session, turn: UserTurn,
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

    def forward_reply(self, session: Session, turn: UserTurn,
                      state: dict[str, Any]) -> TurnResult:
        """The yes or no to passing on a question the documents don't cover."""
        if turn.intent == "affirm":
            self._mark(session, FORWARD, state.get("query_id"), turn)
            message = render.text(query_button_reply(FORWARD, None))
        else:
            message = render.text("All right.")
        return TurnResult([message], None)
