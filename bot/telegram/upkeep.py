"""The bridge's background round: what was left is handled again, what is old is dropped.

Every few seconds: updates left in the inbox (by a bridge that died, or a handler that
failed) are queued again; messages and replies older than their queue's limit are given
up; chats whose oldest message or reply is due are delivered again (each under its chat's
lock, different chats at once). Once an hour, handled keys older than 7 days and button
tokens older than 30 days are pruned.
"""

from __future__ import annotations

import asyncio
import logging
import time
from functools import partial

from sqlalchemy.orm import Session
from telegram import Bot
from telegram.error import TelegramError

from bot.telegram.guards import Seen
from bot.telegram.inbox import RecordingQueue
from bot.telegram.relay import Relay
from bot.telegram.sealed import SealError

logger = logging.getLogger(__name__)


class Upkeep:
    """Runs the background round.

    Args:
        relay: the relay (its store, queues, callback tokens and chat locks).
        queue: the update queue, for updates left in the inbox.
        seen: the keys handled once.
        prune_every: seconds between two prunings of old keys and tokens.
    """

    def __init__(self, relay: Relay, queue: RecordingQueue, seen: Seen,
                 prune_every: float = 3600) -> None:
        self.relay = relay
        self.queue = queue
        self.seen = seen
        self.prune_every = prune_every
        self._pruned_at: float | None = None

    async def round(self, bot: Bot) -> None:
        """One round: left-over updates, expiry, due chats, and pruning when it is time."""
        requeued = await self.queue.put_left_over(bot)
        if requeued:
            logger.info("%d update(s) left unhandled queued again", requeued)
        expired = await self.relay.store.run(self._expire)
        if any(expired.values()):
            logger.warning("given up after %.0f h: %s",
                           self.relay.outbox.policy.max_age / 3600, expired)
        await self.retry_chats(bot)
        now = time.monotonic()
        if self._pruned_at is None or now - self._pruned_at >= self.prune_every:
            self._pruned_at = now
            pruned = await self.relay.store.run(self._prune)
            logger.info("pruned %d handled key(s) and %d button token(s)", *pruned)

    async def retry_chats(self, bot: Bot) -> None:
        """Deliver again the chats whose oldest reply or message is due."""
        relay = self.relay

        def due(session: Session) -> dict[str, str]:
            return {**relay.outbox.due_chats(session), **relay.replies.due_chats(session)}

        chats = []
        for key, ref in (await relay.store.run(due)).items():
            try:
                chats.append(relay.store.sealer.open_chat(ref))
            except SealError as exc:
                logger.error("a queued chat cannot be opened (%s); its queue is dropped", exc)
                await relay.store.run(partial(self._drop_chat, chat_key=key))
        await asyncio.gather(*(self._retry(bot, chat_id) for chat_id in chats))

    async def _retry(self, bot: Bot, chat_id: int) -> None:
        async with self.relay.locks.hold(chat_id):
            try:
                await self.relay.deliver(bot, chat_id)
            except TelegramError as exc:
                logger.warning("could not deliver to a chat: %s", exc)

    async def forever(self, bot: Bot, interval: float = 5.0) -> None:
        """A round every ``interval`` seconds until cancelled."""
        while True:
            await asyncio.sleep(interval)
            try:
                await self.round(bot)
            except Exception:  # keep going whatever happened to one round
                logger.exception("the bridge's retry round failed")

    def _expire(self, session: Session) -> dict[str, int]:
        relay = self.relay
        return {"updates": relay.inbox.queue.expire(session),
                "messages": relay.outbox.expire(session),
                "replies": relay.replies.expire(session)}

    def _drop_chat(self, session: Session, chat_key: str) -> None:
        self.relay.outbox.drop_chat(session, chat_key)
        self.relay.replies.drop_chat(session, chat_key)

    def _prune(self, session: Session) -> tuple[int, int]:
        return self.seen.prune(session), self.relay.tokens.prune(session)
