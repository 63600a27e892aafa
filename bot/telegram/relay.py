"""Relaying a chat's messages to Rasa, in order, and its replies back to Telegram."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from telegram import Bot
from telegram.constants import ChatAction
from telegram.error import TelegramError

from bot.store.pseudonym import participant_key
from bot.telegram.ordering import ChatLocks
from bot.telegram.outbox import Outbox
from bot.telegram.rasa import CHANNEL, RasaClient, RasaRejected, RasaUnavailable, Reply
from bot.telegram.render import CallbackTokens, keyboard, split_text

logger = logging.getLogger(__name__)

UNAVAILABLE = ("Sorry, the consultation service is not answering right now. I’ve kept your "
               "message and will pass it on as soon as it’s back, so there’s no need to send "
               "it again. Please try again in a minute if you don’t hear from me.")
REJECTED = "Sorry, I couldn’t process that message. Could you say it another way?"
BUTTONS_ONLY = "Please choose:"
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


class Relay:
    """Delivers a chat's queued messages to Rasa and sends the replies.

    Callers of ``submit``/``deliver`` hold the chat's lock, so one chat's messages go one
    at a time; the retry loop takes the lock itself.

    Args:
        secret_key: key of the pseudonymous sender ids.
        rasa: the Rasa REST client.
        outbox: the persistent queue of messages not yet taken by Rasa.
        tokens: the callback-data mapping of the buttons sent.
        locks: the per-chat locks (the retry loop takes them; handlers already hold them).
    """

    def __init__(self, secret_key: bytes, rasa: RasaClient, outbox: Outbox,
                 tokens: CallbackTokens, locks: ChatLocks) -> None:
        self.secret_key = secret_key
        self.rasa = rasa
        self.outbox = outbox
        self.tokens = tokens
        self.locks = locks

    def sender_for(self, chat_id: int) -> str:
        """The pseudonymous sender id of a chat: Rasa never sees the Telegram id."""
        return participant_key(self.secret_key, CHANNEL, str(chat_id))

    async def submit(self, bot: Bot, chat_id: int, message_id: str, text: str) -> None:
        """Queue a citizen's message and deliver the chat's queue.

        When Rasa is unavailable the citizen is told so; the message stays queued.
        """
        self.outbox.add(chat_id, message_id, text)
        if not await self.deliver(bot, chat_id):
            await bot.send_message(chat_id, UNAVAILABLE)

    async def deliver(self, bot: Bot, chat_id: int) -> bool:
        """Send the chat's queued messages to Rasa, oldest first, and relay the replies.

        Returns:
            False when Rasa was unavailable (that message and later ones stay queued).
        """
        for item in self.outbox.pending(chat_id):
            try:
                async with typing(bot, chat_id):
                    replies = await self.rasa.send(self.sender_for(chat_id), item.text,
                                                   item.message_id)
            except RasaUnavailable as exc:
                kept = self.outbox.failed(item)
                logger.warning("Rasa unavailable (%s); message %s %s", exc, item.message_id,
                               "kept" if kept else "given up after too many attempts")
                return False
            except RasaRejected as exc:
                logger.error("Rasa rejected message %s: %s", item.message_id, exc)
                self.outbox.delivered(item)
                await bot.send_message(chat_id, REJECTED)
                continue
            self.outbox.delivered(item)
            await self.send_replies(bot, chat_id, replies)
        return True

    async def send_replies(self, bot: Bot, chat_id: int, replies: list[Reply]) -> None:
        """Send the bot's replies: long texts split, buttons under the last part."""
        for reply in replies:
            parts = split_text(reply.text) or [BUTTONS_ONLY]
            markup = keyboard(chat_id, reply.buttons, self.tokens)
            for index, part in enumerate(parts):
                last = index == len(parts) - 1
                await bot.send_message(chat_id, part, reply_markup=markup if last else None)

    async def retry_due(self, bot: Bot) -> None:
        """Try again to deliver the queues whose next attempt is due."""
        for chat_id in self.outbox.due_chats():
            async with self.locks.hold(chat_id):
                try:
                    await self.deliver(bot, chat_id)
                except TelegramError as exc:
                    logger.warning("could not send the replies to a chat: %s", exc)

    async def retry_forever(self, bot: Bot, interval: float = 5.0) -> None:
        """Re-deliver queued messages when they are due, until cancelled."""
        while True:
            await asyncio.sleep(interval)
            try:
                await self.retry_due(bot)
            except Exception:  # keep retrying whatever happened to one round
                logger.exception("outbox retry round failed")
