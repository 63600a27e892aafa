"""The bot's replies on their way to the chat, kept in the app store until Telegram took them.

Rasa's answer to a message is stored in the transaction that removes the message from the
outbox, one row per Telegram message (long texts split, the keyboard with the last part),
then sent in order; each row is deleted once Telegram accepted its message. So a Bot API
outage or a crash after Rasa answered loses no reply, and a reply Telegram accepted is not
sent again, except when the bridge dies in the moment between Telegram's acceptance and
the row's deletion (one commit), or when a request timed out after Telegram delivered it:
then that one message is sent twice rather than lost (the Bot API has no idempotency key).

A reply Telegram refuses for good (400 Bad Request, 403 blocked by the user) is dropped.
Others are retried with the queue's backoff; a chat's next message is not relayed to Rasa
before the chat's earlier replies were sent.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from bot.store.telegram_models import TelegramReply
from bot.telegram.queues import ChatQueue
from bot.telegram.render import Message


@dataclass
class ReplyQueue(ChatQueue[TelegramReply]):
    """The per-chat queue of Telegram messages not yet accepted by Telegram.

    Its policy gives a message up after 12 failed sends (each already retried by the Bot
    API client, ``bot.telegram.retry``) or 24 hours; the first retry waits 15 s, doubling
    to at most 10 minutes.
    """

    model: type[TelegramReply] = TelegramReply

    def add(self, session: Session, chat_key: str, chat_ref: str, source: str,
            messages: list[Message]) -> list[TelegramReply]:
        """Queue the messages answering ``source`` (a message id), in order.

        Returns:
            The queued rows, in order.
        """
        rows = [TelegramReply(chat_key=chat_key, chat_ref=chat_ref, source=source,
                              position=position, text=text, keyboard=keyboard)
                for position, (text, keyboard) in enumerate(messages)]
        session.add_all(rows)
        session.flush()
        return rows
