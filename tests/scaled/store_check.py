"""What the store must hold after citizens took part: every acknowledged answer once with
its value, and each conversation's messages complete, once each and in order."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bot.store.db import session_scope
from bot.store.models import TranscriptEntry
from tests.e2e.helpers import answers_of, participation_of
from tests.scaled.citizens import PatientChat


def assert_stored_once(database_url: str, chat: PatientChat,
                       answers: dict[str, tuple[str, Any]], first_logged: int = 3) -> None:
    """Check ``chat``'s latest participation: ``answers`` exactly, completed, and its
    transcript holding each message the bot took from ``first_logged`` on (the first
    ones come before consent, when nothing is kept) once, in the order sent.

    Raises:
        AssertionError: naming what is lost, duplicated, wrong or out of order.
    """
    stored = answers_of(database_url, chat.sender)
    assert stored == answers, f"{chat.sender}: stored {stored}, expected {answers}"
    participation = participation_of(database_url, chat.sender)
    assert participation is not None and participation.status == "completed", participation
    with session_scope(database_url) as session:
        incoming = list(session.scalars(
            select(TranscriptEntry.message_id).where(
                TranscriptEntry.participation_id == participation.id,
                TranscriptEntry.direction == "in").order_by(TranscriptEntry.id)))
    assert len(incoming) == len(set(incoming)), f"{chat.sender}: a message logged twice"
    sent = [message_id for message_id, _, _ in chat.taken]
    assert set(incoming) <= set(sent), f"{chat.sender}: messages nobody sent were logged"
    expected = sent[first_logged:]
    logged = [m for m in incoming if m in set(expected)]
    assert logged == expected, f"{chat.sender}: transcript {incoming}, sent {sent}"
