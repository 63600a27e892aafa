"""Who a data-protection request is about: from a channel and the id the citizen gives,
the ids the bot stores them under.

The same functions as the bot: the Telegram bridge names a chat by
``participant_key(secret, "telegram", chat id)`` (its chat key, which is also the Rasa
sender id), the web chat's sender id is the widget's session id, and the dialogue
engine files a participant under ``participant_key(secret, channel, sender id)``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from bot.store.pseudonym import participant_key
from bot.store.telegram_state import CHANNEL as TELEGRAM

TELEGRAM_ID = re.compile(r"-?[0-9]{1,20}")
SENDER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}")


class Channel(StrEnum):
    """Where the citizen took part."""

    telegram = "telegram"
    #: The chat widget on the web pages (its id is the session id it keeps in the tab).
    web = "web"
    #: Rasa's REST channel used directly (``codesign chat``, integrations).
    rest = "rest"
    #: Taken by staff on the phone or from a paper form: the id is the response number
    #: staff were shown when they stored it (``bot.web.routes.assisted``).
    phone = "phone"
    paper = "paper"

    @property
    def assisted(self) -> bool:
        """Whether staff took the response (its id is a response number)."""
        return self in (Channel.phone, Channel.paper)


@dataclass(frozen=True)
class Subject:
    """The ids one citizen is stored under (never written anywhere by this module).

    Attributes:
        channel: where they took part.
        sender_id: Rasa's sender id (the tracker store's ``sender_id``).
        participant_id: the app store's pseudonym (``participants.id``).
        chat_id: the Telegram chat id, or None on other channels.
        chat_key: the Telegram bridge's key of the chat, or None.
    """

    channel: Channel
    sender_id: str
    participant_id: str
    chat_id: int | None = None
    chat_key: str | None = None

    @property
    def reference(self) -> str:
        """How the audit trail names them: the channel and the pseudonym's first 12
        characters (no raw id)."""
        return f"{self.channel.value}:{self.participant_id[:12]}"


def assisted_subject(channel: Channel, number: str, participant_id: str | None) -> Subject:
    """Whoever gave phone or paper response ``number`` (``participant_id``: the store's
    pseudonym of that response, None when there is no such response).

    Raises:
        ValueError: the number is not a number, or names no response of that channel.
    """
    if participant_id is None:
        raise ValueError(f"no {channel.value} response has the number {number} (staff are "
                         "shown it when they store the response)")
    # Nothing of theirs is in Rasa's tracker store or the Telegram bridge: a sender id
    # that no conversation has (a pseudonym is never a Rasa sender id).
    return Subject(channel, f"{channel.value}-response:{participant_id}", participant_id)


def identify(secret_key: bytes, channel: Channel, raw_id: str) -> Subject:
    """The ids the bot stores the citizen with this channel id under.

    Args:
        secret_key: ``CODESIGN_SECRET_KEY``, the one the bot ran with.
        channel: the channel.
        raw_id: the Telegram chat id (a number), or the web chat's session id.

    Raises:
        ValueError: the id does not look like an id of that channel.
    """
    raw = raw_id.strip()
    if channel.assisted:
        raise ValueError(f"a {channel.value} response is found by its number in the store "
                         "(DataRequests.subject)")
    if channel is Channel.telegram:
        if not TELEGRAM_ID.fullmatch(raw):
            raise ValueError("a Telegram id is a number, such as 123456789")
        chat_id = int(raw)
        chat_key = participant_key(secret_key, TELEGRAM, str(chat_id))
        return Subject(channel, chat_key, participant_key(secret_key, TELEGRAM, chat_key),
                       chat_id, chat_key)
    if not SENDER_ID.fullmatch(raw):
        raise ValueError(f"a {channel.value} id is 1 to 128 letters, digits and - _ . : @ "
                         "(the web chat's session id looks like "
                         "3f2b8c1e-9d4a-4f6b-8e2d-1a2b3c4d5e6f)")
    return Subject(channel, raw, participant_key(secret_key, channel.value, raw))
