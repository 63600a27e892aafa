"""Relaying a chat's messages to Rasa, in order, and its replies back to Telegram."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial

from sqlalchemy.orm import Session
from telegram import Bot
from telegram.constants import ChatAction
from telegram.error import BadRequest, ChatMigrated, Forbidden, TelegramError

from bot.store.telegram_models import TelegramOutboxMessage, TelegramReply
from bot.telegram.inbox import Inbox
from bot.telegram.ordering import ChatLocks
from bot.telegram.outbox import Outbox
from bot.telegram.queues import Attempt
from bot.telegram.rasa import RasaClient, RasaRejected, RasaUnavailable, Reply
from bot.telegram.render import CallbackTokens, markup, messages
from bot.telegram.replies import ReplyQueue
from bot.telegram.store import BridgeStore

logger = logging.getLogger(__name__)

UNAVAILABLE = ("Sorry, the consultation service is not answering right now. I’ve kept your "
               "message and will pass it on as soon as it’s back, so there’s no need to send "
               "it again. Please try again in a minute if you don’t hear from me.")
REJECTED = "Sorry, I couldn’t process that message. Could you say it another way?"
TYPING_EVERY = 4.0  # seconds; Telegram shows "typing…" for 5 s
#: Seconds before "typing…" is shown: most replies come sooner and need none (fewer Bot
#: API calls, and no indicator lingering after a quick reply).
TYPING_AFTER = 0.4
#: Seconds the reply waits at most for a "typing…" request already on its way, so the
#: indicator never arrives after the reply (it would then show for 5 s over the answer).
TYPING_SETTLE = 2.0


@asynccontextmanager
async def typing(bot: Bot, chat_id: int, after: float = TYPING_AFTER) -> AsyncIterator[None]:
    """Show "typing…" in the chat while the block runs, once it has run ``after`` seconds.

    When the block ends, a "typing…" request already sent is allowed to finish (up to
    ``TYPING_SETTLE`` seconds) rather than cancelled half-way, so that it cannot reach the
    chat after the reply that follows.
    """
    done = asyncio.Event()

    async def until_done(seconds: float) -> bool:
        """Wait up to ``seconds``; True when the block has ended."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), seconds)
        return done.is_set()

    async def keep_typing() -> None:
        if await until_done(after):
            return
        while True:
            try:
                await bot.send_chat_action(chat_id, ChatAction.TYPING)
            except TelegramError as exc:
                logger.debug("sendChatAction failed: %s", exc)
            if await until_done(TYPING_EVERY):
                return

    task = asyncio.create_task(keep_typing())
    try:
        yield
    finally:
        done.set()
        try:
            await asyncio.wait_for(task, TYPING_SETTLE)
        except TimeoutError:  # wait_for has cancelled the stuck request
            logger.debug("sendChatAction still pending after %.1f s; cancelled", TYPING_SETTLE)


#: Session work done in the transaction of a step (recording a contact, a pressed keyboard…).
Also = Sequence[Callable[[Session], object]]
#: Errors after which sending the same message again cannot help.
PERMANENT = (BadRequest, Forbidden, ChatMigrated)


@dataclass(frozen=True)
class Backlog:
    """What a chat has queued, oldest first: replies not yet sent, messages for Rasa."""

    replies: list[TelegramReply]
    messages: list[TelegramOutboxMessage]


class Relay:
    """Moves a chat's messages through the outbox to Rasa and its replies to Telegram.

    Every step is one transaction of the app store: the update leaves the inbox as its
    message enters the outbox; the message leaves the outbox as Rasa's replies enter the
    reply queue; each reply leaves the queue once Telegram accepted it.

    Callers hold the chat's lock (``locks``), so one chat's messages go one at a time; the
    retry loop (``bot.telegram.upkeep``) takes the lock itself.

    Args:
        store: the app database.
        rasa: the Rasa REST client.
        locks: the per-chat locks.
        inbox: the updates received and not yet handled.
        outbox: the messages on their way to Rasa.
        replies: the replies on their way to the chats.
        tokens: the callback data of long button payloads.
    """

    def __init__(self, store: BridgeStore, rasa: RasaClient, locks: ChatLocks, inbox: Inbox,
                 outbox: Outbox | None = None, replies: ReplyQueue | None = None,
                 tokens: CallbackTokens | None = None) -> None:
        self.store = store
        self.rasa = rasa
        self.locks = locks
        self.inbox = inbox
        self.outbox = outbox or Outbox()
        self.replies = replies or ReplyQueue()
        self.tokens = tokens or CallbackTokens()

    def sender_for(self, chat_id: int) -> str:
        """The chat's pseudonymous key, Rasa's sender id: Rasa never sees the Telegram id."""
        return self.store.chat_key(chat_id)

    async def submit(self, bot: Bot, chat_id: int, update_key: str, message_id: str,
                     text: str, also: Also = ()) -> None:
        """Queue a citizen's message for Rasa, then deliver the chat's queue.

        Args:
            bot: the bot.
            chat_id: the chat.
            update_key: the update it came in (taken out of the inbox with the same
                transaction).
            message_id: the message's stable id (Rasa's engine handles a repeat once).
            text: the citizen's text or a button payload.
            also: more work for the same transaction.
        """
        await self.forward(bot, chat_id,
                           await self.queue(chat_id, update_key, message_id, text, also))

    async def queue(self, chat_id: int, update_key: str, message_id: str, text: str,
                    also: Also = ()) -> Backlog:
        """Move a message from the inbox to the outbox (one transaction).

        Returns:
            The chat's backlog, read in the same transaction.
        """
        key, ref = self.sender_for(chat_id), self.store.sealer.seal_chat(chat_id)

        def work(session: Session) -> Backlog:
            self._take(session, update_key, (
                lambda session: self.outbox.add(session, key, ref, message_id, text), *also))
            return self._backlog(session, key)

        return await self.store.run(work)

    async def forward(self, bot: Bot, chat_id: int, backlog: Backlog | None = None) -> None:
        """Deliver the chat's backlog; tell the citizen when Rasa is unavailable (the message
        stays queued)."""
        if not await self.deliver(bot, chat_id, backlog):
            try:
                await bot.send_message(chat_id, UNAVAILABLE)
            except TelegramError as exc:
                logger.warning("could not say that Rasa is unavailable: %s", exc)

    async def tell(self, bot: Bot, chat_id: int, update_key: str, source: str, text: str,
                   also: Also = ()) -> None:
        """Answer an update with ``text`` without Rasa (a hint, a refusal): the update
        leaves the inbox as the reply is queued; then the chat's replies are sent."""
        key, ref = self.sender_for(chat_id), self.store.sealer.seal_chat(chat_id)

        def work(session: Session) -> list[TelegramReply]:
            self._take(session, update_key, (
                lambda session: self.replies.add(session, key, ref, source, [(text, None)]),
                *also))
            return self.replies.waiting(session, key)

        await self.send(bot, chat_id, await self.store.run(work))

    async def settle(self, update_key: str, also: Also = ()) -> None:
        """Take an update out of the inbox, in one transaction with ``also`` (what it leads
        to, if anything)."""
        await self.store.run(lambda session: self._take(session, update_key, also))

    def _take(self, session: Session, update_key: str, steps: Also) -> None:
        self.inbox.take(session, update_key)
        for step in steps:
            step(session)

    def _backlog(self, session: Session, chat_key: str) -> Backlog:
        return Backlog(self.replies.waiting(session, chat_key),
                       self.outbox.waiting(session, chat_key))

    async def deliver(self, bot: Bot, chat_id: int, backlog: Backlog | None = None) -> bool:
        """Send the chat's waiting replies, then its queued messages to Rasa, oldest first,
        and their replies.

        Args:
            bot: the bot.
            chat_id: the chat.
            backlog: the chat's backlog if just read (under the chat's lock it stays so).

        Returns:
            False when Rasa was unavailable (that message and later ones stay queued).
            While Telegram does not accept the chat's replies, its messages wait too.
        """
        key = self.sender_for(chat_id)
        if backlog is None:
            backlog = await self.store.run(partial(self._backlog, chat_key=key))
        if not await self.send(bot, chat_id, backlog.replies):
            return True
        for item in backlog.messages:
            try:
                async with typing(bot, chat_id):
                    replies = await self.rasa.send(key, item.text, item.message_id)
            except RasaUnavailable as exc:
                outcome = await self.store.run(partial(self.outbox.failed, row=item))
                logger.warning("Rasa unavailable (%s); message %s %s", exc, item.message_id,
                               "kept" if outcome is Attempt.scheduled else outcome.value)
                return False
            except RasaRejected as exc:
                logger.error("Rasa rejected message %s: %s", item.message_id, exc)
                replies = [Reply(REJECTED)]
            queued = await self.store.run(partial(self._answer, item=item, replies=replies))
            if not await self.send(bot, chat_id, queued):
                return True
        return True

    def _answer(self, session: Session, item: TelegramOutboxMessage,
                replies: list[Reply]) -> list[TelegramReply]:
        """Replace a message in the outbox by its replies; none when it was gone."""
        if not self.outbox.remove(session, item):
            return []
        chat_messages = messages(
            replies, lambda payload: self.tokens.data_for(session, item.chat_key, payload))
        return self.replies.add(session, item.chat_key, item.chat_ref, item.message_id,
                                chat_messages)

    async def send(self, bot: Bot, chat_id: int, rows: list[TelegramReply]) -> bool:
        """Send queued replies in order, deleting each once Telegram accepted it.

        Returns:
            False when Telegram did not take one for now (after the Bot API client's own
            retries): it is tried again later, and the rest wait for it.
        """
        for row in rows:
            try:
                await bot.send_message(chat_id, row.text, reply_markup=markup(row.keyboard))
            except PERMANENT as exc:
                logger.warning("Telegram refused a reply (%s); dropped", exc)
            except TelegramError as exc:
                outcome = await self.store.run(partial(self.replies.failed, row=row))
                logger.warning("could not send a reply (%s); %s", exc, outcome.value)
                if outcome is Attempt.scheduled:
                    return False
                continue
            await self.store.run(partial(self.replies.remove, row=row))
        return True
