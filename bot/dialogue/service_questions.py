"""Telling a question about the service from an answer, and logging what was shown.

Inside an open question a citizen's text may be an answer that happens to end in "?" or
a real question about how the service works. It is taken as a question only when NLU is
confident it is one *and* it is phrased as a question; the citizen can still press
"That was my answer". In choice and scale questions, text that is not an answer and is
phrased as (or classified as) a question is a question.
"""

from __future__ import annotations

import re

from sqlalchemy.orm import Session

from bot.dialogue.messages import UserTurn
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
