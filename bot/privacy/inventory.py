"""How much is stored about one citizen: what an erasure would delete, counted."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.privacy.bridge import chat_state
from bot.privacy.subject import Subject
from bot.store.models import (
    Answer,
    AnswerRevision,
    KnowledgeQuery,
    Participant,
    Participation,
    TranscriptEntry,
)
from bot.store.review_models import FollowUp
from bot.telegram.sealed import Sealer

#: Field -> how a count of it reads ("3 answers").
NOUNS = {"participations": ("participation", "participations"),
         "answers": ("answer", "answers"),
         "answer_revisions": ("earlier version of an answer", "earlier versions of answers"),
         "transcript_messages": ("transcript message", "transcript messages"),
         "service_questions": ("question about the service", "questions about the service"),
         "follow_ups": ("request to hear the outcome", "requests to hear the outcome"),
         "conversation_events": ("conversation event in Rasa's tracker store",
                                 "conversation events in Rasa's tracker store"),
         "telegram_items": ("item kept by the Telegram bridge",
                            "items kept by the Telegram bridge")}


@dataclass(frozen=True)
class Inventory:
    """Counts of what is stored about one citizen."""

    participant: bool
    participations: int
    answers: int
    answer_revisions: int
    transcript_messages: int
    service_questions: int
    follow_ups: int
    conversation_events: int
    telegram_items: int

    @property
    def empty(self) -> bool:
        """Nothing at all is stored."""
        return not self.participant and not any(self.counts().values())

    def counts(self) -> dict[str, int]:
        """The counts by name (for the audit trail's detail)."""
        return {key: value for key, value in asdict(self).items() if key != "participant"}

    def lines(self) -> list[str]:
        """The counts in words, one per kind."""
        return [f"{value} {NOUNS[key][0 if value == 1 else 1]}"
                for key, value in self.counts().items()]


def count_app_store(session: Session, subject: Subject, sealer: Sealer,
                    conversation_events: int) -> Inventory:
    """Count the citizen's rows in the app store (``conversation_events`` comes from the
    tracker store, which may be another database)."""
    mine = select(Participation.id).where(
        Participation.participant_id == subject.participant_id).scalar_subquery()
    answers = select(Answer.id).where(Answer.participation_id.in_(mine)).scalar_subquery()

    def count(model: type, *where: object) -> int:
        return int(session.scalar(select(func.count()).select_from(model)
                                  .where(*where)) or 0)  # type: ignore[arg-type]

    telegram = 0
    if subject.chat_key is not None and subject.chat_id is not None:
        telegram = chat_state(session, sealer, subject.chat_key, subject.chat_id).rows
    return Inventory(
        participant=session.get(Participant, subject.participant_id) is not None,
        participations=count(Participation,
                             Participation.participant_id == subject.participant_id),
        answers=count(Answer, Answer.participation_id.in_(mine)),
        answer_revisions=count(AnswerRevision, AnswerRevision.answer_id.in_(answers)),
        transcript_messages=count(TranscriptEntry, TranscriptEntry.participation_id.in_(mine)),
        service_questions=count(KnowledgeQuery, KnowledgeQuery.participation_id.in_(mine)),
        follow_ups=count(FollowUp, FollowUp.participation_id.in_(mine)),
        conversation_events=conversation_events,
        telegram_items=telegram)
