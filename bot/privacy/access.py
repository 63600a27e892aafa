"""A citizen's copy of everything stored about them, as JSON a person can read.

Keys are plain words, times are ISO 8601 in UTC, every section says what it is. The
pseudonym is shown (it is how the store files them); their raw Telegram or web id is
not written.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from bot.privacy.bridge import chat_state
from bot.privacy.subject import Subject
from bot.store.models import (
    Answer,
    AnswerEvidence,
    ConsultationVersion,
    KnowledgeQuery,
    Participation,
    TranscriptEntry,
    as_utc,
    utcnow,
)
from bot.store.review_models import AnswerReview, AnswerTag, FollowUp, Tag, Theme, ThemeMember
from bot.telegram.sealed import Sealer

FORMAT = "codesign personal data, version 1"
ABOUT = (
    "Everything this consultation service stores about you. Your answers and our "
    "conversations are filed under a pseudonymous code (the 'pseudonym' below), derived "
    "from your chat's id with a secret key; your Telegram or web id itself is not stored "
    "with them. 'participations' are the consultations you took part in, with your answers "
    "(and their earlier versions if you changed them), the questions you asked about the "
    "service, the conversation, and whether you asked to hear the outcome. "
    "'conversation_log' is the record the chatbot keeps of the conversation itself, filed "
    "under a code derived from your chat's id (Telegram) or under your web chat's session "
    "id. "
    "Questions about the service asked outside a consultation are stored without any link "
    "to you, so they appear only in the conversation log.")


def _iso(moment: datetime | None) -> str | None:
    return as_utc(moment).isoformat() if moment is not None else None


def _answers(session: Session, participation: Participation) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(Answer).where(Answer.participation_id == participation.id)
        .options(selectinload(Answer.question), selectinload(Answer.revisions))
        .order_by(Answer.id)).all()
    ids = [answer.id for answer in rows]
    seen: dict[int, list[str]] = {}
    for answer_id, text in session.execute(
            select(AnswerEvidence.answer_id, KnowledgeQuery.text)
            .join(KnowledgeQuery, AnswerEvidence.query_id == KnowledgeQuery.id)
            .where(AnswerEvidence.answer_id.in_(ids)).order_by(AnswerEvidence.id)):
        seen.setdefault(answer_id, []).append(text)
    tags: dict[int, list[str]] = {}
    for answer_id, name in session.execute(
            select(AnswerTag.answer_id, Tag.name).join(Tag, AnswerTag.tag_id == Tag.id)
            .where(AnswerTag.answer_id.in_(ids)).order_by(Tag.name)):
        tags.setdefault(answer_id, []).append(name)
    themes: dict[int, list[str]] = {}
    for answer_id, label in session.execute(
            select(ThemeMember.answer_id, Theme.label).join(Theme)
            .where(ThemeMember.answer_id.in_(ids)).order_by(Theme.label)):
        themes.setdefault(answer_id, []).append(label)
    notes = {answer_id: note for answer_id, note in session.execute(
        select(AnswerReview.answer_id, AnswerReview.note)
        .where(AnswerReview.answer_id.in_(ids), AnswerReview.note != ""))}
    return [{
        "question": answer.question.text,
        "question_id": answer.question.key,
        "status": answer.status,
        "answer": answer.value,
        "your_words": answer.raw_text,
        "answered_at": _iso(answer.answered_at),
        "last_changed_at": _iso(answer.updated_at),
        "earlier_versions": [{"status": r.status, "answer": r.value, "your_words": r.raw_text,
                              "given_at": _iso(r.recorded_at), "replaced_at": _iso(r.replaced_at)}
                             for r in answer.revisions],
        "service_answers_you_had_seen": seen.get(answer.id, []),
        "staff_tags": tags.get(answer.id, []),
        "themes": themes.get(answer.id, []),
        "staff_note": notes.get(answer.id),
    } for answer in rows]


def _participation(session: Session, participation: Participation) -> dict[str, Any]:
    version: ConsultationVersion = participation.version
    definition = version.definition
    follow_up = session.get(FollowUp, participation.id)
    questions = session.scalars(select(KnowledgeQuery)
                                .where(KnowledgeQuery.participation_id == participation.id)
                                .order_by(KnowledgeQuery.id))
    transcript = session.scalars(select(TranscriptEntry)
                                 .where(TranscriptEntry.participation_id == participation.id)
                                 .order_by(TranscriptEntry.id))
    return {
        "consultation": {"title": version.title, "slug": version.consultation.slug,
                         "version": version.number, "run_by": definition.get("agency"),
                         "service": definition.get("service")},
        "channel": participation.channel,
        "status": participation.status,
        "agreed_to_take_part_at": _iso(participation.consent_at),
        "may_quote_you": participation.quote_consent,
        "started_at": _iso(participation.started_at),
        "last_activity_at": _iso(participation.updated_at),
        "finished_at": _iso(participation.finished_at),
        "answers": _answers(session, participation),
        "questions_you_asked_about_the_service": [
            {"asked_at": _iso(q.asked_at), "question": q.text, "answered": q.answered,
             "you_said_the_answer_missed": q.disputed,
             "passed_on_to_staff": q.forwarded,
             "sources_shown": [hit.get("title") for hit in q.hits if isinstance(hit, dict)]}
            for q in questions],
        "conversation": [{"at": _iso(entry.created_at),
                          "from": "you" if entry.direction == "in" else "bot",
                          "text": entry.text,
                          "buttons": [b.get("title") for b in entry.buttons or []
                                      if isinstance(b, dict)]}
                         for entry in transcript],
        "asked_to_hear_the_outcome": None if follow_up is None else {
            "asked_at": _iso(follow_up.consented_at), "told_at": _iso(follow_up.told_at)},
    }


def personal_data(session: Session, subject: Subject, sealer: Sealer,
                  conversation_log: list[dict[str, Any]]) -> dict[str, Any]:
    """Everything stored about the citizen, as a JSON-ready dict.

    Args:
        session: the app store.
        subject: who.
        sealer: opens the Telegram bridge's sealed updates (to find the chat's).
        conversation_log: their messages in Rasa's tracker store
            (``TrackerEvents.messages``).
    """
    participations = session.scalars(
        select(Participation).where(Participation.participant_id == subject.participant_id)
        .options(selectinload(Participation.version).selectinload(ConsultationVersion
                                                                  .consultation))
        .order_by(Participation.id)).all()
    data: dict[str, Any] = {
        "format": FORMAT,
        "about": ABOUT,
        "made_at": utcnow().isoformat(),
        "channel": subject.channel.value,
        "pseudonym": subject.participant_id,
        "participations": [_participation(session, p) for p in participations],
        "conversation_log": conversation_log,
    }
    if subject.chat_key is not None and subject.chat_id is not None:
        data["telegram"] = chat_state(session, sealer, subject.chat_key,
                                      subject.chat_id).as_dict()
    return data
