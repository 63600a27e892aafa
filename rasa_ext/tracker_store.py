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

import itertools
import json
import logging
from collections import OrderedDict
from typing import Any, Iterator, Optional, Text, Tuple

import sqlalchemy as sa
from rasa.core.tracker_store import (
    FailSafeTrackerStore,
    SQLTrackerStore,
    create_engine_kwargs,
)
from rasa.shared.core.events import SlotSet, UserUttered
from rasa.shared.nlu.constants import INTENT_NAME_KEY
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


def _sqlite_wal_normal(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


#: On a tracker this store loaded: how many of its events are stored (those of the
#: current session). Saving then adds the ones after them without counting the stored
#: events in the database first (Rasa's way: a COUNT query on every save, 9 % of the
#: server's CPU under load). One citizen's turns never overlap (the lock store), so
#: nobody else adds events to the conversation between loading and saving it.
STORED_EVENTS = "_codesign_stored_events"
#: Conversations kept in memory after their turn, per Rasa process.
RECENT_TRACKERS = 5000


class RecentTrackers:
    """The trackers this process saved last, each with the id of its last stored event.

    Loading a conversation (query, JSON, replaying every event since the session started)
    was a quarter of the Rasa server's CPU under load, and grows with the conversation.
    A tracker saved here is handed out again for the citizen's next turn when the
    database's last event of that conversation is still the one it saved: one indexed
    query instead of the whole load. Another process that handled the conversation
    since, or an erasure, changes that last event, and the conversation is loaded from
    the database as usual. An entry is taken out when handed out, so a turn that fails
    half-way leaves nothing behind.
    """

    def __init__(self, size: int = RECENT_TRACKERS) -> None:
        self.size = size
        self._entries: "OrderedDict[str, Tuple[DialogueStateTracker, int]]" = OrderedDict()

    def take(self, sender_id: str) -> Optional[Tuple[DialogueStateTracker, int]]:
        return self._entries.pop(sender_id, None)

    def keep(self, tracker: DialogueStateTracker, last_event_id: int) -> None:
        self._entries[tracker.sender_id] = (tracker, last_event_id)
        self._entries.move_to_end(tracker.sender_id)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)

    def forget(self, sender_id: str) -> None:
        self._entries.pop(sender_id, None)


class ErasableSQLTrackerStore(SQLTrackerStore):
    """``SQLTrackerStore`` whose conversations can be erased by a custom action.

    Configure it in ``endpoints.yml`` with ``type: rasa_ext.tracker_store.ErasableSQLTrackerStore``
    and ``url:`` a full SQLAlchemy URL (``sqlite:////abs/path.db`` or
    ``postgresql://user@host:5432/db``).
    """

    def __init__(self, host: Optional[Text] = None, **kwargs: Any) -> None:
        super().__init__(host=host, **kwargs)
        if self.engine.dialect.name == "sqlite":
            # WAL, and a commit written to the log without waiting for the disk (as the
            # app store does): a crash of the process loses nothing committed, a power cut
            # the last commits at most; each turn's save no longer blocks Rasa on fsync.
            sa.event.listen(self.engine, "connect", _sqlite_wal_normal)
            self.engine.dispose()
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
        self.recent = RecentTrackers()
        events = self.SQLEvent.__table__
        self._insert_events = events.insert()
        self._last_event = sa.select(sa.func.max(events.c.id)).where(
            events.c.sender_id == sa.bindparam("sender_id"))

    def _last_event_id(self, sender_id: Text, connection: Any = None) -> Optional[int]:
        """The id of the conversation's last stored event (a compiled, cached statement)."""
        if connection is None:
            with self.engine.connect() as fresh:
                return fresh.execute(self._last_event, {"sender_id": sender_id}).scalar()
        return connection.execute(self._last_event, {"sender_id": sender_id}).scalar()

    async def retrieve(self, sender_id: Text) -> Optional[DialogueStateTracker]:
        """The conversation's current session: the one this process saved last if nothing
        changed it since, else loaded from the database."""
        kept = self.recent.take(sender_id)
        if kept is not None and self._last_event_id(sender_id) == kept[1]:
            return kept[0]
        return await super().retrieve(sender_id)

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Save new events, or erase the whole conversation when asked to.

        The new events are written as Rasa's ``SQLTrackerStore.save`` writes them (the
        same columns and values), in one multi-row INSERT rather than through the ORM's
        unit of work (8 % of the server's CPU under load), and the conversation's last
        event id is read in the same transaction for ``RecentTrackers``.
        """
        if _erase_requested(tracker):
            await self.erase(tracker.sender_id)
            return
        await self.stream_events(tracker)
        if getattr(tracker, STORED_EVENTS, None) is None:
            with self.session_scope() as session:  # not loaded here: count what is stored
                new = list(self._additional_events(session, tracker))
        else:
            new = list(self._additional_events(None, tracker))
        rows = []
        for event in new:
            data = event.as_dict()
            rows.append({"sender_id": tracker.sender_id, "type_name": event.type_name,
                         "timestamp": data.get("timestamp"),
                         "intent_name": data.get("parse_data", {}).get("intent", {})
                         .get(INTENT_NAME_KEY),
                         "action_name": data.get("name"), "data": json.dumps(data)})
        with self.engine.begin() as connection:
            if rows:
                connection.execute(self._insert_events, rows)
            last = self._last_event_id(tracker.sender_id, connection)
        setattr(tracker, STORED_EVENTS, len(tracker.events))
        if last is not None:
            self.recent.keep(tracker, last)

    async def _retrieve(self, sender_id: Text, fetch_events_from_all_sessions: bool
                        ) -> Optional[DialogueStateTracker]:
        tracker = await super()._retrieve(sender_id, fetch_events_from_all_sessions)
        if tracker is not None and not fetch_events_from_all_sessions:
            setattr(tracker, STORED_EVENTS, len(tracker.events))
        return tracker

    def _additional_events(self, session: Any, tracker: DialogueStateTracker) -> Iterator:
        """The tracker's events not stored yet (counted from those it was loaded with)."""
        stored = getattr(tracker, STORED_EVENTS, None)
        if stored is None:  # not loaded by this store: ask the database, as Rasa does
            return super()._additional_events(session, tracker)
        return itertools.islice(tracker.events, stored, len(tracker.events))

    async def erase(self, sender_id: Text) -> None:
        """Delete every stored event of ``sender_id``."""
        self.recent.forget(sender_id)
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

