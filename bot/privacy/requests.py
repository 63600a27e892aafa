"""Answering a citizen's data-protection request: a copy of their data, or its erasure.

``codesign privacy export|erase`` is a thin shell over ``DataRequests``. Each request is
written to the audit trail under the citizen's ``Subject.reference`` (the pseudonym's
first characters), never their raw id.

Erasure deletes, for the one citizen, what "forget me" deletes (``erase_participant``:
participations with answers, revisions, evidence, questions asked, transcripts,
follow-ups and staff tags and notes on their answers; the Telegram bridge's state of the
chat) plus the messages the bridge still holds for Rasa and the conversation in Rasa's
tracker store. The tracker store goes first, so that no conversation is left pointing
at answers already deleted; run again, an erasure finishes what a failure interrupted.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import select

from bot.audit.trail import Action, Actor, record
from bot.privacy.access import personal_data
from bot.privacy.bridge import erase_chat
from bot.privacy.inventory import Inventory, count_app_store
from bot.privacy.subject import Channel, Subject, assisted_subject, identify
from bot.privacy.tracker import TrackerEvents, tracker_url
from bot.store.db import session_scope
from bot.store.models import Participation
from bot.store.repository import erase_participant
from bot.telegram.sealed import Sealer


class DataRequests:
    """Finds, copies and erases one citizen's data in the app and tracker stores.

    Args:
        database_url: the app store (``DATABASE_URL``).
        secret_key: ``CODESIGN_SECRET_KEY``, the one the bot runs with.
        tracker_database_url: Rasa's tracker store (default: ``RASA_TRACKER_URL``, else
            the app store).
    """

    def __init__(self, database_url: str, secret_key: bytes,
                 tracker_database_url: str | None = None) -> None:
        self.database_url = database_url
        self.secret_key = secret_key
        self.sealer = Sealer(secret_key)
        self.tracker = TrackerEvents(tracker_database_url or tracker_url(database_url))

    def subject(self, channel: Channel, raw_id: str) -> Subject:
        """The citizen with this channel id.

        Raises:
            ValueError: the id is not of that channel's form.
        """
        if channel.assisted:
            number = raw_id.strip()
            if not number.isdigit() or len(number) > 12:
                raise ValueError(f"a {channel.value} response number is a whole number, "
                                 "such as 1234")
            with session_scope(self.database_url) as session:
                participant_id = session.scalar(
                    select(Participation.participant_id).where(
                        Participation.id == int(number),
                        Participation.channel == channel.value))
            return assisted_subject(channel, number, participant_id)
        return identify(self.secret_key, channel, raw_id)

    def inventory(self, subject: Subject) -> Inventory:
        """What is stored about the citizen, counted."""
        events = self.tracker.count(subject.sender_id)
        with session_scope(self.database_url) as session:
            return count_app_store(session, subject, self.sealer, events)

    def export(self, subject: Subject, actor: Actor) -> tuple[dict[str, Any], Inventory]:
        """Everything stored about the citizen, and how much that is (recorded in the
        audit trail with the counts, also when nothing was found)."""
        conversation = self.tracker.messages(subject.sender_id)
        events = self.tracker.count(subject.sender_id)
        with session_scope(self.database_url) as session:
            found = count_app_store(session, subject, self.sealer, events)
            data = personal_data(session, subject, self.sealer, conversation)
            record(session, actor, Action.PRIVACY_EXPORT, subject.reference, **found.counts())
        return data, found

    def erase(self, subject: Subject, actor: Actor) -> Inventory:
        """Delete everything stored about the citizen; returns what was deleted (recorded
        in the audit trail with the counts)."""
        events = self.tracker.erase(subject.sender_id)
        with session_scope(self.database_url) as session:
            erased = replace(count_app_store(session, subject, self.sealer, 0),
                             conversation_events=events)
            erase_participant(session, subject.participant_id)
            if subject.chat_key is not None and subject.chat_id is not None:
                erase_chat(session, self.sealer, subject.chat_key, subject.chat_id)
            record(session, actor, Action.PRIVACY_ERASE, subject.reference, **erased.counts())
        return erased
