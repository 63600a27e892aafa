"""An SQL tracker store that can erase a conversation on request, and never forgets one
silently.

When a custom action returns ``SlotSet("erase_conversation", True)`` (a citizen declined
consent or confirmed "forget me"), every stored event of that sender is deleted and the
current turn is not saved, so nothing about the conversation remains in the tracker
store. The next message starts a fresh conversation.

Rasa wraps every tracker store in a ``FailSafeTrackerStore`` that, when the database
fails (PostgreSQL restarting), hands out a *new, empty* conversation and keeps the turn
in memory only: a citizen half-way through a consultation would be greeted as a
stranger and the turn lost. ``refuse_fallback`` makes it raise instead, so the turn
fails as a whole and the citizen is asked to send the message again
(``rasa_ext.unavailable``), which then continues where they were.
"""

import logging
from typing import Any, Optional, Text

import sqlalchemy as sa
from rasa.core.tracker_store import (
    FailSafeTrackerStore,
    SQLTrackerStore,
    create_engine_kwargs,
)
from rasa.shared.core.events import SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

logger = logging.getLogger(__name__)

ERASE_SLOT = "erase_conversation"


def _erase_requested(tracker: DialogueStateTracker) -> bool:
    """True when the latest turn set the erase slot."""
    for event in reversed(tracker.events):
        if isinstance(event, SlotSet) and event.key == ERASE_SLOT and event.value:
            return True
        if isinstance(event, UserUttered):
            return False
    return False


class ErasableSQLTrackerStore(SQLTrackerStore):
    """``SQLTrackerStore`` whose conversations can be erased by a custom action.

    Configure it in ``endpoints.yml`` with ``type: rasa_ext.tracker_store.ErasableSQLTrackerStore``
    and ``url:`` a full SQLAlchemy URL (``sqlite:////abs/path.db`` or
    ``postgresql://user@host:5432/db``).
    """

    def __init__(self, host: Optional[Text] = None, **kwargs: Any) -> None:
        super().__init__(host=host, **kwargs)
        if self.engine.dialect.name == "sqlite":
            with self.engine.connect() as connection:
                connection.exec_driver_sql("PRAGMA journal_mode=WAL")
        else:
            # Check a pooled connection before using it, so a restarted PostgreSQL costs
            # no citizen's turn (Rasa's own engine would fail the first turn after it).
            url = self.engine.url
            self.engine.dispose()
            self.engine = sa.create_engine(url, pool_pre_ping=True,
                                           **create_engine_kwargs(url))
            self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Save new events, or erase the whole conversation when asked to."""
        if _erase_requested(tracker):
            await self.erase(tracker.sender_id)
            return
        await super().save(tracker)

    async def erase(self, sender_id: Text) -> None:
        """Delete every stored event of ``sender_id``."""
        with self.session_scope() as session:
            deleted = (
                session.query(self.SQLEvent)
                .filter(self.SQLEvent.sender_id == sender_id)
                .delete(synchronize_session=False)
            )
            session.commit()
        logger.info("Erased conversation: %s events deleted.", deleted)


class TrackerStoreUnavailable(RuntimeError):
    """The tracker store failed; the turn is abandoned rather than run on an empty
    conversation."""


def _raise(self: FailSafeTrackerStore, error: Exception) -> None:
    raise TrackerStoreUnavailable(f"the tracker store failed: {error}") from error


def refuse_fallback() -> None:
    """Make ``FailSafeTrackerStore`` raise on a tracker store error (idempotent)."""
    FailSafeTrackerStore.on_tracker_store_error = _raise  # type: ignore[method-assign]
    FailSafeTrackerStore.on_tracker_store_retrieve_error = _raise  # type: ignore[method-assign]

