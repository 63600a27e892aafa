"""SQLAlchemy models of the Telegram bridge's state, kept in the app store so that a
bridge restarted on another machine loses and repeats nothing.

Telegram chat ids are personal data the app store otherwise never holds: here a chat is
found by its pseudonymous key (the HMAC the bridge already uses as Rasa's sender id) and
the chat id itself is stored only encrypted (``chat_ref``, a Fernet token under a key
derived from ``CODESIGN_SECRET_KEY``), because the bridge must be able to answer the chat.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.store.models import Base, utcnow


class TelegramOutboxMessage(Base):
    """A citizen's message on its way to Rasa, kept until Rasa has taken it."""

    __tablename__ = "telegram_outbox"
    __table_args__ = (UniqueConstraint("chat_key", "message_id"),
                      Index("ix_telegram_outbox_chat_key_id", "chat_key", "id"))

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    chat_key: Mapped[str] = mapped_column(String(64))
    chat_ref: Mapped[str] = mapped_column(Text)
    message_id: Mapped[str] = mapped_column(String(128))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow,
                                                      index=True)


class TelegramContact(Base):
    """A chat that asked to hear a consultation's outcome (until told, or /forget)."""

    __tablename__ = "telegram_contacts"

    #: The chat's pseudonymous key, which is also its Rasa sender id.
    sender: Mapped[str] = mapped_column(String(64), primary_key=True)
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
