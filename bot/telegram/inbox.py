"""Updates recorded in the app store before Telegram is told they arrived.

python-telegram-bot confirms updates to Telegram early: polling, the next ``getUpdates``
(sent as soon as a batch is queued) tells Telegram not to send them again; as a webhook,
the ``200 OK`` does. A citizen's message still waiting behind their previous one (one
chat's updates are handled in order) would then be lost with the process. So the bridge's
update queue records each update first, in one transaction: its key in ``telegram_seen``
(a redelivered update is dropped right there) and the update itself, sealed, in
``telegram_inbox``. A handler takes it out of the inbox in the transaction that queues
what it leads to (the message for Rasa, a reply); updates a dead bridge or a failed
handler left in the inbox are handed to python-telegram-bot again, oldest first.

One bridge process at a time: what is "in flight" is known only to the process handling
it.
"""

from __future__ import annotations

import asyncio
import json
import logging

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session
from telegram import Bot, Update

from bot.store.models import utcnow
from bot.store.telegram_models import TelegramInboxUpdate, TelegramSeen
from bot.store.telegram_state import UPDATE
from bot.telegram.queues import Attempt, Queue, RetryPolicy
from bot.telegram.sealed import SealError
from bot.telegram.store import BridgeStore, change

logger = logging.getLogger(__name__)
#: Longest wait between two attempts to record an update while the database is down.
RECORD_MAX_WAIT = 30.0


class Inbox:
    """The updates received and not yet handled.

    Args:
        store: the app database.
        bot_id: the bot's id (the token's number), part of each update's key.
        policy: when an update left over is handed out again, and when it is given up
            (by default 12 tries or 24 hours).
    """

    def __init__(self, store: BridgeStore, bot_id: str,
                 policy: RetryPolicy | None = None) -> None:
        self.store = store
        self.bot_id = bot_id
        self.queue = Queue(TelegramInboxUpdate, policy or RetryPolicy())
        #: Keys of the updates this process has queued and not finished handling.
        self.in_flight: set[str] = set()

    def key(self, update: Update) -> str:
        """The update's key: ``<bot id>:<update id>``."""
        return f"{self.bot_id}:{update.update_id}"

    async def record(self, update: Update) -> bool:
        """Record a new update; waits (retrying) while the database is unavailable.

        Returns:
            False when the update was recorded before: a redelivery, to drop.
        """
        key = self.key(update)
        sealed = self.store.sealer.seal(update.to_json())

        def insert(session: Session) -> None:
            session.add(TelegramSeen(kind=UPDATE, key=key))
            session.add(TelegramInboxUpdate(update_key=key, sealed=sealed))
            session.flush()

        wait = 0.5
        handling = key in self.in_flight  # this is a redelivery of one being handled
        self.in_flight.add(key)  # before the commit: the retry round must not hand it out
        while True:
            try:
                await self.store.run(insert)
            except IntegrityError:
                if not handling:
                    self.in_flight.discard(key)
                logger.info("update %s delivered again; ignored", update.update_id)
                return False
            except SQLAlchemyError as exc:  # not confirmed to Telegram: it is kept there
                logger.warning("cannot record update %s (%s); retrying in %.1f s",
                               update.update_id, exc.__class__.__name__, wait)
                await asyncio.sleep(wait)
                wait = min(wait * 2, RECORD_MAX_WAIT)
                continue
            return True

    def take(self, session: Session, update_key: str) -> None:
        """Remove a handled update (in the transaction that queues what it led to)."""
        change(session, delete(TelegramInboxUpdate)
               .where(TelegramInboxUpdate.update_key == update_key))

    def done(self, update: object) -> None:
        """python-telegram-bot finished with ``update`` (handled, or its handler failed)."""
        if isinstance(update, Update):
            self.in_flight.discard(self.key(update))

    async def left_over(self, bot: Bot) -> list[Update]:
        """The due updates nobody is handling (a previous process died, or a handler
        failed), oldest first, each counted as one more attempt and now in flight."""
        rows = await self.store.run(self._due)
        updates = []
        for row in rows:
            if row.update_key in self.in_flight:
                continue
            self.in_flight.add(row.update_key)  # before any await: never handed out twice
            update = await self._hand_out(row, bot)
            if update is None:
                self.in_flight.discard(row.update_key)
            else:
                updates.append(update)
        return updates

    def _due(self, session: Session) -> list[TelegramInboxUpdate]:
        return list(session.scalars(
            select(TelegramInboxUpdate)
            .where(TelegramInboxUpdate.next_attempt_at <= utcnow(),
                   TelegramInboxUpdate.created_at >= self.queue.policy.cutoff())
            .order_by(TelegramInboxUpdate.id)))

    async def _hand_out(self, row: TelegramInboxUpdate, bot: Bot) -> Update | None:
        """The update of ``row``, counted as an attempt; None when it is not to be handled
        (handled meanwhile, given up, or unreadable)."""
        outcome = await self.store.run(lambda session: self.queue.failed(session, row))
        if outcome is Attempt.given_up:
            logger.error("update %s given up after %d attempts", row.update_key,
                         row.attempts + 1)
        if outcome is not Attempt.scheduled:
            return None
        try:
            return Update.de_json(json.loads(self.store.sealer.open(row.sealed)), bot)
        except (SealError, ValueError, TypeError, KeyError) as exc:
            logger.error("update %s cannot be read (%r); dropped", row.update_key, exc)
            await self.store.run(lambda session: self.queue.remove(session, row))
            return None


class RecordingQueue(asyncio.Queue[object]):
    """python-telegram-bot's update queue: each update is recorded in the inbox before it is
    queued (so before Telegram is told it arrived), and a redelivered one is dropped."""

    def __init__(self, inbox: Inbox) -> None:
        super().__init__()
        self.inbox = inbox

    async def put(self, item: object) -> None:
        """Record and queue an update (other items, e.g. the stop signal, just queue)."""
        if isinstance(item, Update) and not await self.inbox.record(item):
            return
        await super().put(item)

    async def put_left_over(self, bot: Bot) -> int:
        """Queue again the updates left in the inbox and not being handled; returns how
        many."""
        updates = await self.inbox.left_over(bot)
        for update in updates:
            await super().put(update)
        return len(updates)
