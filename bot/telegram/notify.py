"""Pushing published outcomes to the Telegram citizens who asked to hear back."""

from __future__ import annotations

import asyncio
import logging

from telegram import Bot
from telegram.error import Forbidden, TelegramError

from bot.review.outcomes import Notice, mark_told, pending_notices, still_waiting
from bot.store.db import session_scope
from bot.store.pseudonym import participant_key
from bot.telegram.contacts import Contacts
from bot.telegram.render import split_text

logger = logging.getLogger(__name__)
CHANNEL = "telegram"


class OutcomeNotifier:
    """Finds outcomes due for Telegram contacts in the app store and sends them."""

    def __init__(self, database_url: str, secret_key: bytes, contacts: Contacts) -> None:
        self.database_url = database_url
        self.secret_key = secret_key
        self.contacts = contacts

    def _due(self) -> list[tuple[Notice, str, int]]:
        """Notices with the sender and chat they go to."""
        by_key = {participant_key(self.secret_key, CHANNEL, sender): (sender, chat_id)
                  for sender, chat_id in self.contacts.chats().items()}
        if not by_key:
            return []
        with session_scope(self.database_url) as session:
            notices = pending_notices(session, channel=CHANNEL)
        return [(n, *by_key[n.participant_id]) for n in notices if n.participant_id in by_key]

    def _told(self, notice: Notice) -> bool:
        """Record the notice as told; True when the citizen waits for no other outcome."""
        with session_scope(self.database_url) as session:
            mark_told(session, notice)
            session.flush()
            return not still_waiting(session, notice.participant_id)

    async def deliver(self, bot: Bot) -> int:
        """Send every due outcome once; returns how many were sent."""
        sent = 0
        for notice, sender, chat_id in await asyncio.to_thread(self._due):
            try:
                for part in split_text(notice.message):
                    await bot.send_message(chat_id, part)
            except Forbidden:  # the citizen blocked the bot: nobody left to tell
                logger.info("a citizen blocked the bot; outcome not delivered")
            except TelegramError as exc:  # try again on the next round
                logger.warning("could not send an outcome: %s", exc)
                continue
            if await asyncio.to_thread(self._told, notice):
                self.contacts.remove_sender(sender)  # nothing more to tell: forget the chat
            sent += 1
        return sent

    async def deliver_forever(self, bot: Bot, interval: float = 60.0) -> None:
        """Check for due outcomes every ``interval`` seconds until cancelled."""
        while True:
            try:
                await self.deliver(bot)
            except Exception:  # a database hiccup must not stop the bridge
                logger.exception("outcome delivery failed; retrying later")
            await asyncio.sleep(interval)
