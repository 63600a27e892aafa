"""Erasing what the Telegram bridge keeps about one chat (``/forget``, "forget me").

Kept here, next to the models, so that the conversation engine can call it without
loading python-telegram-bot.
"""

from __future__ import annotations

from sqlalchemy import delete, or_
from sqlalchemy.orm import Session

from bot.store.telegram_models import (
    TelegramCallbackToken,
    TelegramContact,
    TelegramReply,
    TelegramSeen,
)

#: The channel name of Telegram turns (``UserTurn.channel``); its sender ids are chat keys.
CHANNEL = "telegram"
#: The sets of ``telegram_seen``: updates handled, keyboards pressed, group chats refused.
UPDATE, PRESSED, REFUSED = "update", "pressed", "refused"


def pressed_key(chat_key: str, message_id: int) -> str:
    """The ``telegram_seen`` key of a keyboard pressed in a chat."""
    return f"{chat_key}:{message_id}"


def forget_chat(session: Session, chat_key: str) -> None:
    """Delete the chat's contact, its replies not yet sent, its button tokens and the
    keyboards it pressed.

    Messages still on their way to Rasa are kept: they are what the citizen has just said
    (the confirmation of "forget me" itself, or what they wrote after it), and Rasa
    handles them as usual.

    Args:
        session: the app store session (the caller commits).
        chat_key: the chat's pseudonymous key, which is its Rasa sender id.
    """
    session.execute(delete(TelegramContact).where(TelegramContact.chat_key == chat_key))
    session.execute(delete(TelegramReply).where(TelegramReply.chat_key == chat_key))
    session.execute(delete(TelegramCallbackToken)
                    .where(TelegramCallbackToken.chat_key == chat_key))
    session.execute(delete(TelegramSeen).where(or_(
        (TelegramSeen.kind == PRESSED) & TelegramSeen.key.startswith(f"{chat_key}:"),
        (TelegramSeen.kind == REFUSED) & (TelegramSeen.key == chat_key))))
