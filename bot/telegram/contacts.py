"""Chats to tell a consultation's outcome: kept only for citizens who asked to hear back.

When a citizen presses "Yes, tell me" at the end of a consultation, the bridge records
their chat in the app store (``telegram_contacts``): its pseudonymous key, and its chat id
sealed (``bot.telegram.sealed``), never in the clear. The entry is deleted once they were
told, or when they say /forget or confirm "forget me".
"""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bot.store.telegram_models import TelegramContact
from bot.telegram.store import change


def add_contact(session: Session, chat_key: str, chat_ref: str) -> None:
    """Remember where to tell this chat the outcome (again: the latest sealed id wins)."""
    session.merge(TelegramContact(chat_key=chat_key, chat_ref=chat_ref))


def contacts(session: Session) -> dict[str, str]:
    """Every contact: chat key -> sealed chat id."""
    return {key: ref for key, ref in session.execute(
        select(TelegramContact.chat_key, TelegramContact.chat_ref))}


def remove_contact(session: Session, chat_key: str) -> None:
    """Forget one contact (they were told)."""
    change(session, delete(TelegramContact).where(TelegramContact.chat_key == chat_key))
