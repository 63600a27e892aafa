"""The channels citizens write on, with hostile input turned away before NLU.

- ``RestInput`` is Rasa's REST channel (same URL, ``/webhooks/rest/webhook``);
  ``SocketIOInput`` its socketio channel, with the session room actually joined (Rasa 3.6
  does not await python-socketio 5.18's ``enter_room`` coroutine, so with
  ``session_persistence: true`` the replies went to a room nobody was in).
- On both, a message over ``CODESIGN_MAX_MESSAGE_CHARS`` (``rasa_ext.text``) gets a
  polite reply asking for a shorter one, as a normal bot message, and goes no further:
  not to NLU, not into the tracker, not to the actions. Any other message is cleaned
  (control characters, invisible characters, NFC: ``rasa_ext.text.clean``) before NLU,
  and a payload naming one of Rasa's internal intents (``/restart``…) is read as words
  (``rasa_ext.payloads``).
- What the channels take from a client is checked: the REST body must be a JSON object
  with a ``sender`` (printable, at most 128 characters) and a text ``message`` (400
  otherwise); on socket.io a message that is not text gets a polite reply and a session
  id that is not such a string is replaced by a new one; an event with no data, or with
  more than one argument, is taken like any other (python-socketio passes what the
  client sent as arguments: a handler that expects exactly one fails on anything else). Only the metadata the bot uses
  is kept (``channel``, ``message_id``), within the sizes the app store holds, and the
  REST body's ``input_channel`` is ignored (the channel is the one it came in on).
- Messages wait their turn: a Rasa process works on a few at once, in arrival order
  (``rasa_ext.turns``).
- Bodies are capped before they are read: ``rasa_ext.serve`` sets Sanic's request and
  websocket limits; here engine.io's, for socket.io's long-polling and websocket packets.

credentials.yml: ``rasa_ext.webchat.RestInput:`` and ``rasa_ext.webchat.SocketIOInput:``
with the usual settings.
"""

import hashlib
import inspect
import json
import logging
import re
import uuid
from typing import Any, Awaitable, Callable, Dict, Optional, Text

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.rest import RestInput as RasaRestInput
from rasa.core.channels.socketio import SocketIOInput as RasaSocketIOInput
from rasa.core.channels.socketio import SocketIOOutput
from sanic import Blueprint
from sanic.exceptions import InvalidUsage
from sanic.request import Request

from rasa_ext import text as chat_text
from rasa_ext.payloads import as_citizen_text
from rasa_ext.serve import MAX_BODY_BYTES
from rasa_ext.turns import TurnQueue, concurrent_turns

logger = logging.getLogger(__name__)

MAX_SENDER_CHARS = 128
#: The app store's sizes (``transcript_entries.message_id``, ``participations.channel``).
MAX_MESSAGE_ID_CHARS = 128
CHANNEL_RE = re.compile(r"^[a-z0-9_-]{1,32}$")
UNREADABLE = "Sorry, I couldn’t read that message. Please type your answer as text."

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]


def valid_sender(value: Any) -> bool:
    """Whether ``value`` can be a sender (conversation) id: printable text of 1 to 128
    characters."""
    return isinstance(value, str) and 0 < len(value) <= MAX_SENDER_CHARS and \
        value.isprintable() and value.strip() == value


def safe_metadata(raw: Any) -> Dict[Text, Text]:
    """The metadata the bot uses, checked: ``channel`` (a short name) and ``message_id``
    (text or a number; a longer id is replaced by its SHA-256, so distinct ids stay
    distinct). Anything else is dropped: metadata is stored with every message."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            return {}
    if not isinstance(raw, dict):
        return {}
    kept: Dict[Text, Text] = {}
    channel = raw.get("channel")
    if isinstance(channel, str) and CHANNEL_RE.match(channel):
        kept["channel"] = channel
    message_id = raw.get("message_id")
    if isinstance(message_id, (int, float)) and not isinstance(message_id, bool):
        message_id = str(message_id)
    if isinstance(message_id, str) and message_id:
        if len(message_id) > MAX_MESSAGE_ID_CHARS or not message_id.isprintable():
            message_id = "sha256:" + hashlib.sha256(
                message_id.encode("utf-8", "surrogatepass")).hexdigest()
        kept["message_id"] = message_id
    return kept


#: One queue per Rasa process, shared by its channels (``rasa_ext.turns``).
TURNS = TurnQueue(concurrent_turns())


def guarded(on_new_message: OnNewMessage, limit: int) -> OnNewMessage:
    """``on_new_message`` behind the size limit and the cleaning (see the module), in
    turn (``TURNS``)."""

    async def handle(message: UserMessage) -> Any:
        text = message.text or ""
        if chat_text.too_long(text, limit):
            logger.info("a message of %d characters was refused (limit %d)", len(text), limit)
            await message.output_channel.send_text_message(
                message.sender_id, chat_text.too_long_reply(limit))
            return None
        message.text = as_citizen_text(chat_text.clean(text).strip())
        message.metadata = safe_metadata(message.metadata)
        return await TURNS.run(lambda: on_new_message(message))

    return handle


class RestInput(RasaRestInput):
    """Rasa's REST channel with the body checked and messages guarded."""

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        """Rasa's blueprint, each message through ``guarded``."""
        return super().blueprint(guarded(on_new_message, chat_text.max_message_chars()))

    @staticmethod
    def _body(req: Request) -> Dict[Text, Any]:
        body = req.json
        if not isinstance(body, dict):
            raise InvalidUsage("The body must be a JSON object with a sender and a message.")
        return body

    async def _extract_sender(self, req: Request) -> Optional[Text]:
        sender = self._body(req).get("sender")
        if not valid_sender(sender):
            raise InvalidUsage(f"sender must be printable text of 1 to {MAX_SENDER_CHARS} "
                               "characters.")
        return sender

    def _extract_message(self, req: Request) -> Optional[Text]:
        message = self._body(req).get("message")
        if not isinstance(message, str):
            raise InvalidUsage("message must be text.")
        return message

    def _extract_input_channel(self, req: Request) -> Text:
        return self.name()

    def get_metadata(self, request: Request) -> Optional[Dict[Text, Any]]:
        return safe_metadata(self._body(request).get("metadata"))


class SocketIOInput(RasaSocketIOInput):
    """The socketio channel, with the session room joined before it is confirmed and
    messages checked and guarded."""

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        """Rasa's blueprint with its ``session_request`` and message handlers replaced."""
        handle = guarded(on_new_message, chat_text.max_message_chars())
        blueprint = super().blueprint(handle)
        sio = self.sio
        assert sio is not None, "Rasa's blueprint() creates the socket.io server"
        sio.eio.max_http_buffer_size = MAX_BODY_BYTES

        async def session_request(sid: Text, data: Any = None, *_: Any) -> None:
            data = data if isinstance(data, dict) else {}
            if not valid_sender(data.get("session_id")):
                data["session_id"] = uuid.uuid4().hex
            if self.session_persistence:
                joined = sio.enter_room(sid, data["session_id"], namespace=self.namespace)
                if inspect.isawaitable(joined):
                    await joined
            await sio.emit("session_confirm", data["session_id"], room=sid,
                           namespace=self.namespace)
            logger.debug(f"User {sid} joined session {data['session_id']}.")

        async def user_uttered(sid: Text, data: Any = None, *_: Any) -> None:
            if not isinstance(data, dict):
                logger.info("socket.io message that is not an object ignored")
                return
            if not self.session_persistence:
                sender = sid
            elif valid_sender(data.get("session_id")):
                sender = data["session_id"]
            else:
                logger.info("socket.io message without a valid session_id ignored")
                return
            output = SocketIOOutput(sio, self.bot_message_evt)
            text = data.get("message", "")
            if not isinstance(text, str):
                await output.send_text_message(sender, UNREADABLE)
                return
            await handle(UserMessage(text, output, sender, input_channel=self.name(),
                                     metadata=data.get(self.metadata_key)))

        sio.on("session_request", handler=session_request, namespace=self.namespace)
        sio.on(self.user_message_evt, handler=user_uttered, namespace=self.namespace)
        return blueprint
