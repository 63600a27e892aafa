"""Pushing published outcomes to the Telegram citizens who asked to hear back."""

from __future__ import annotations

import asyncio
import logging
from functools import partial

from sqlalchemy.orm import Session
from telegram import Bot
from telegram.error import Forbidden, TelegramError

from bot.review.outcomes import Notice, mark_told, pending_notices, still_waiting
from bot.store.pseudonym import participant_key
from bot.store.telegram_state import CHANNEL
from bot.telegram.contacts import contacts, remove_contact
from bot.telegram.render import split_text
from bot.telegram.sealed import SealError
from bot.telegram.store import BridgeStore

logger = logging.getLogger(__name__)


class OutcomeNotifier:
    """Finds outcomes due for Telegram contacts in the app store and sends them.

    Args:
        store: the app database (outcomes, and the contacts with their sealed chat ids).
    """

    def __init__(self, store: BridgeStore) -> None:
        self.store = store

    def _due(self, session: Session) -> list[tuple[Notice, str, str]]:
        """Notices with the chat key and sealed chat id they go to."""
        by_participant = {participant_key(self.store.secret_key, CHANNEL, key): (key, ref)
                          for key, ref in contacts(session).items()}
        if not by_participant:
            return []
        notices = pending_notices(session, channel=CHANNEL)
        return [(n, *by_participant[n.participant_id]) for n in notices
                if n.participant_id in by_participant]

    @staticmethod
    def _told(session: Session, notice: Notice, chat_key: str) -> None:
        """Record the notice as told; forget the contact when nothing else is awaited."""
        mark_told(session, notice)
        session.flush()
        if not still_waiting(session, notice.participant_id):
            remove_contact(session, chat_key)

    async def deliver(self, bot: Bot) -> int:
        """Send every due outcome once; returns how many were sent."""
        sent = 0
        for notice, key, ref in await self.store.run(self._due):
            try:
                chat_id = self.store.sealer.open_chat(ref)
            except SealError as exc:
                logger.error("a contact cannot be opened (%s); forgotten", exc)
                await self.store.run(partial(remove_contact, chat_key=key))
                continue
            try:
                for part in split_text(notice.message):
                    await bot.send_message(chat_id, part)
            except Forbidden:  # the citizen blocked the bot: nobody left to tell
                logger.info("a citizen blocked the bot; outcome not delivered")
            except TelegramError as exc:  # try again on the next round
                logger.warning("could not send an outcome: %s", exc)
                continue
            await self.store.run(partial(self._told, notice=notice, chat_key=key))
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
