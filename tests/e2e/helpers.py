"""Database checks used by the end-to-end tests."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text

from bot.devtools.bridge import BridgeThread
from bot.devtools.fake_telegram import FakeTelegram
from bot.store.db import session_scope
from bot.store.models import Answer, Participant, Participation, Question
from bot.store.pseudonym import participant_key
from bot.telegram.config import TelegramConfig
from bot.telegram.guards import ChatRateLimiter


def key_of(sender: str, channel: str = "rest") -> str:
    """The pseudonymous key the action server derives for a REST sender."""
    return participant_key(os.environ["CODESIGN_SECRET_KEY"].encode(), channel, sender)


def answers_of(database_url: str, sender: str, channel: str = "rest") -> dict[str, Any]:
    """Question id -> (status, value) for the sender's latest participation."""
    with session_scope(database_url) as session:
        participation = session.scalar(
            select(Participation).where(Participation.participant_id == key_of(sender, channel))
            .order_by(Participation.id.desc()).limit(1))
        if participation is None:
            return {}
        rows = session.execute(select(Question.key, Answer.status, Answer.value)
                               .join(Answer, Answer.question_id == Question.id)
                               .where(Answer.participation_id == participation.id))
        return {key: (status, value) for key, status, value in rows}


def participation_of(database_url: str, sender: str,
                     channel: str = "rest") -> Participation | None:
    """The sender's latest participation."""
    with session_scope(database_url) as session:
        return session.scalar(
            select(Participation).where(Participation.participant_id == key_of(sender, channel))
            .order_by(Participation.id.desc()).limit(1))


def rows_mentioning(database_url: str, sender: str) -> dict[str, int]:
    """Rows about a sender in the app tables and the Rasa tracker store."""
    key = key_of(sender)
    with session_scope(database_url) as session:
        participations = select(Participation.id).where(Participation.participant_id == key)
        counts = {
            "participants": session.scalar(select(func.count()).select_from(Participant)
                                           .where(Participant.id == key)),
            "participations": session.scalar(select(func.count()).select_from(Participation)
                                             .where(Participation.participant_id == key)),
            "answers": session.scalar(select(func.count()).select_from(Answer)
                                      .where(Answer.participation_id.in_(participations))),
            "tracker_events": session.execute(
                text("SELECT count(*) FROM events WHERE sender_id = :s"), {"s": sender}
            ).scalar_one(),
        }
    return {name: int(value or 0) for name, value in counts.items()}


@contextmanager
def polling_bridge(telegram: FakeTelegram, database_url: str, rasa_url: str,
                   folder: Path) -> Iterator[BridgeThread]:
    """The Telegram bridge in this process, polling the fake Bot API, relaying to
    ``rasa_url`` and pushing published outcomes from ``database_url`` every half second."""
    config = TelegramConfig(token=telegram.token,
                            secret_key=os.environ["CODESIGN_SECRET_KEY"].encode(),
                            rasa_url=rasa_url, api_base_url=telegram.base_url,
                            outbox_path=folder / "outbox.sqlite3", database_url=database_url,
                            contacts_path=folder / "contacts.sqlite3", notify_interval=0.5)
    # The tests answer at machine speed; the default flood limit is for people.
    limiter = ChatRateLimiter(burst=100, per_minute=600)
    with BridgeThread(config, retry_interval=0.5, limiter=limiter) as running:
        yield running
