"""SQLAlchemy models of the Telegram bridge's state, kept in the app store so that a
bridge restarted on another machine loses and repeats nothing.

Telegram chat ids are personal data the app store otherwise never holds: here a chat is
found by its pseudonymous key (``chat_key``: the HMAC the bridge also uses as Rasa's
sender id) and the chat id itself is stored only sealed (``chat_ref``, a Fernet token
under a key derived from ``CODESIGN_SECRET_KEY``; ``bot.telegram.sealed``), because the
bridge must be able to answer the chat. An update waiting to be handled is sealed whole.

A citizen's message goes through three queues, each step one transaction:
``telegram_inbox`` (the update, recorded before Telegram is told it arrived) ->
``telegram_outbox`` (the text on its way to Rasa) -> ``telegram_replies`` (Rasa's answer
on its way to the chat, one row per Telegram message).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.store.models import Base, utcnow


class TelegramQueued:
    """Columns of a queued row that is retried with backoff and given up eventually."""

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True, sort_order=-3)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow,
                                                      index=True)


class TelegramChatQueued(TelegramQueued):
    """Columns of a queued row that belongs to one chat."""

    #: The chat's pseudonymous key (also its Rasa sender id).
    chat_key: Mapped[str] = mapped_column(String(64), sort_order=-2)
    #: The chat id, sealed.
    chat_ref: Mapped[str] = mapped_column(Text, sort_order=-1)


class TelegramInboxUpdate(TelegramQueued, Base):
    """An update received from Telegram and not yet handled (the whole update, sealed)."""

    __tablename__ = "telegram_inbox"

    #: ``<bot id>:<update id>``, as in ``telegram_seen``.
    update_key: Mapped[str] = mapped_column(String(48), unique=True)
    sealed: Mapped[str] = mapped_column(Text)


class TelegramOutboxMessage(TelegramChatQueued, Base):
    """A citizen's message on its way to Rasa, kept until Rasa has taken it."""

    __tablename__ = "telegram_outbox"
    __table_args__ = (UniqueConstraint("chat_key", "message_id"),
                      Index("ix_telegram_outbox_chat_key_id", "chat_key", "id"))

    message_id: Mapped[str] = mapped_column(String(128))
    text: Mapped[str] = mapped_column(Text)


class TelegramReply(TelegramChatQueued, Base):
    """One Telegram message of the bot's answer, kept until Telegram has accepted it."""

    __tablename__ = "telegram_replies"
    __table_args__ = (UniqueConstraint("chat_key", "source", "position"),
                      Index("ix_telegram_replies_chat_key_id", "chat_key", "id"))

    #: The message id of what it answers (``tg-<update id>``).
    source: Mapped[str] = mapped_column(String(128))
    #: Its place among the messages answering ``source``, from 0.
    position: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    #: Rows of ``{"text", "callback_data"}`` buttons, or None without a keyboard.
    keyboard: Mapped[list[Any] | None] = mapped_column(JSON)


class TelegramContact(Base):
    """A chat that asked to hear a consultation's outcome (until told, or /forget)."""

    __tablename__ = "telegram_contacts"

    #: The chat's pseudonymous key, which is also its Rasa sender id.
    chat_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    chat_ref: Mapped[str] = mapped_column(Text)
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class TelegramSeen(Base):
    """Keys the bridge has handled once: update ids, pressed keyboards, refused groups.

    ``kind`` names the set (``update``, ``pressed``, ``refused``); ``key`` is the value,
    made of pseudonymous chat keys and Telegram's own message and update numbers.
    """

    __tablename__ = "telegram_seen"

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow,
                                              index=True)


class TelegramCallbackToken(Base):
    """The payload of a button whose payload was too long for Telegram's callback data."""

    __tablename__ = "telegram_callback_tokens"

    chat_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    token: Mapped[str] = mapped_column(String(32), primary_key=True)
    payload: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow,
                                                 index=True)
