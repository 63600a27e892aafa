"""Citizen messages on their way to Rasa, kept in the app store until Rasa has taken them.

A message is added in the transaction that takes its update out of the inbox, and removed
in the transaction that stores Rasa's replies (``bot.telegram.replies``), so a Rasa
outage, a crash mid-turn or the bridge moving to another machine loses nothing: what is
left is delivered again, in order, on the chat's next message or by the retry loop. (A
message Rasa did process before a crash is sent again with the same message id, and the
engine answers a repeated answer without recording it twice.)

The chat is found by its pseudonymous key; its id is kept only sealed (``chat_ref``).

Durability is the database's, for this queue as for the inbox and the replies. A kill of
the bridge, or its machine, loses nothing committed. PostgreSQL fsyncs each commit
(``synchronous_commit`` on, its default), so a commit also survives the database server's
power cut; that wait is most of the bridge's database time there (a relayed message makes
four commits: update recorded, message queued, replies stored, each reply sent). With
``synchronous_commit`` off for the bridge's role, a crash of the database server could
lose its last commits: an update recorded just before (a lost message), or the deletion
of a reply just sent (sent again). The embedded SQLite store runs in WAL mode with
``synchronous=NORMAL`` (``bot.store.db``), which is like the latter: a power cut or an
operating-system crash can lose the last commits before the next checkpoint.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bot.store.telegram_models import TelegramOutboxMessage
from bot.telegram.queues import ChatQueue
from bot.telegram.store import change


@dataclass
class Outbox(ChatQueue[TelegramOutboxMessage]):
    """The per-chat queue of messages not yet taken by Rasa.

    Its policy gives a message up after 12 failed deliveries or 24 hours; the first
    retry waits 15 s, doubling to at most 10 minutes.

    Attributes:
        max_per_chat: messages kept per chat; the oldest is dropped beyond it.
    """

    model: type[TelegramOutboxMessage] = TelegramOutboxMessage
    max_per_chat: int = 20

    def add(self, session: Session, chat_key: str, chat_ref: str, message_id: str,
            text: str) -> None:
        """Queue a message at the end of its chat's queue."""
        session.add(TelegramOutboxMessage(chat_key=chat_key, chat_ref=chat_ref,
                                          message_id=message_id, text=text))
        session.flush()
        newest = (select(TelegramOutboxMessage.id)
                  .where(TelegramOutboxMessage.chat_key == chat_key)
                  .order_by(TelegramOutboxMessage.id.desc()).limit(self.max_per_chat))
        change(session, delete(TelegramOutboxMessage).where(
            TelegramOutboxMessage.chat_key == chat_key,
            TelegramOutboxMessage.id.not_in(newest.scalar_subquery())))
