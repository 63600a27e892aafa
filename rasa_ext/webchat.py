"""Rasa's socketio channel with session persistence that works on python-socketio 5.18.

Rasa 3.6 joins the socket to the room named after the session id with
``sio.enter_room(sid, session_id)`` without ``await``. Since python-socketio made
``AsyncServer.enter_room`` a coroutine, that call does nothing (only a "never awaited"
warning): with ``session_persistence: true`` the bot's replies go to a room nobody is
in, so the web chat stays silent. This channel re-registers the ``session_request``
handler with the call awaited; everything else is Rasa's own channel.

credentials.yml: ``rasa_ext.webchat.SocketIOInput:`` with the usual socketio settings.
"""

import inspect
import logging
import uuid
from typing import Any, Awaitable, Callable, Dict, Optional, Text

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.socketio import SocketIOInput as RasaSocketIOInput
from sanic import Blueprint

logger = logging.getLogger(__name__)


class SocketIOInput(RasaSocketIOInput):
    """The socketio channel, with the session room joined before it is confirmed."""

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Blueprint:
        """Rasa's blueprint with a ``session_request`` handler that awaits the room."""
        blueprint = super().blueprint(on_new_message)
        sio = self.sio
        assert sio is not None, "Rasa's blueprint() creates the socket.io server"

        async def session_request(sid: Text, data: Optional[Dict]) -> None:
            data = data if isinstance(data, dict) else {}
            if not data.get("session_id"):
                data["session_id"] = uuid.uuid4().hex
            if self.session_persistence:
                joined = sio.enter_room(sid, data["session_id"], namespace=self.namespace)
                if inspect.isawaitable(joined):
                    await joined
            await sio.emit("session_confirm", data["session_id"], room=sid,
                           namespace=self.namespace)
            logger.debug(f"User {sid} joined session {data['session_id']}.")

        sio.on("session_request", handler=session_request, namespace=self.namespace)
        return blueprint
