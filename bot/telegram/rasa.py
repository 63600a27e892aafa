"""The Rasa REST channel as seen by the bridge: one citizen message in, bot messages out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from bot.store.telegram_state import CHANNEL

#: What Rasa sends first when it could not take a message (rasa_ext.unavailable): a custom
#: message; its apology text follows.
UNAVAILABLE_MARKER = {"codesign": "unavailable"}


class RasaUnavailable(Exception):
    """Rasa or the action server could not handle the message now; try again later."""


class RasaRejected(Exception):
    """Rasa refused the message (4xx): sending it again would not help."""


@dataclass(frozen=True)
class Button:
    """A button offered by the bot; pressing it sends ``payload``."""

    title: str
    payload: str


@dataclass(frozen=True)
class Reply:
    """One bot message: text and/or buttons."""

    text: str
    buttons: tuple[Button, ...] = ()


def parse_replies(body: Any) -> list[Reply]:
    """Turn the REST channel's JSON answer into replies, skipping what Telegram cannot show.

    Raises:
        RasaUnavailable: the answer is not a list, it has no message (the engine always
            answers, so silence means a custom action failed), or it is Rasa's apology for
            a message it could not take (the action server or a store was down): the
            message stays queued and the bridge tells the citizen in its own words.
    """
    if not isinstance(body, list):
        raise RasaUnavailable(f"unexpected answer from Rasa: {str(body)[:200]}")
    replies = []
    for item in body:
        if not isinstance(item, dict):
            continue
        if (item.get("custom") or {}).get("data") == UNAVAILABLE_MARKER:
            raise RasaUnavailable("Rasa could not take the message (a server it needs is "
                                  "not answering)")
        buttons = tuple(Button(str(b.get("title") or b.get("payload")), str(b["payload"]))
                        for b in item.get("buttons") or [] if isinstance(b, dict)
                        and b.get("payload"))
        text = str(item.get("text") or "")
        if text or buttons:
            replies.append(Reply(text, buttons))
    if not replies:
        raise RasaUnavailable("Rasa answered with no message (is the action server up?)")
    return replies


class RasaClient:
    """Posts citizen messages to ``{rasa_url}/webhooks/rest/webhook``.

    Args:
        rasa_url: base URL of the Rasa server.
        timeout: seconds to wait for one turn (a service question can take a few).
        transport: an httpx transport (tests).
    """

    def __init__(self, rasa_url: str, timeout: float = 30.0,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.endpoint = f"{rasa_url.rstrip('/')}/webhooks/rest/webhook"
        self._client = httpx.AsyncClient(timeout=timeout, transport=transport)

    async def send(self, sender: str, text: str, message_id: str) -> list[Reply]:
        """Send one message and return the bot's replies.

        Args:
            sender: the pseudonymous sender id.
            text: the citizen's text or a button payload.
            message_id: stable id of this message; Rasa's engine handles a repeated id once.

        Raises:
            RasaUnavailable: connection error, timeout, 5xx or an empty answer.
            RasaRejected: a 4xx answer.
        """
        body = {"sender": sender, "message": text,
                "metadata": {"message_id": message_id, "channel": CHANNEL}}
        try:
            # One chat's messages go to the same Rasa process behind the scaled mode's
            # nginx (it keeps the conversation in memory); the key is already a pseudonym.
            response = await self._client.post(self.endpoint, json=body,
                                               params={"affinity": sender[:16]})
        except httpx.HTTPError as exc:
            raise RasaUnavailable(f"cannot reach Rasa at {self.endpoint}: {exc!r}") from exc
        if response.status_code >= 500:
            raise RasaUnavailable(f"Rasa answered {response.status_code}")
        if response.status_code >= 400:
            raise RasaRejected(f"Rasa answered {response.status_code}: {response.text[:200]}")
        try:
            payload = response.json()
        except ValueError as exc:
            raise RasaUnavailable("Rasa answered with something other than JSON") from exc
        return parse_replies(payload)

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()
