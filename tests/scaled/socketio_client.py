"""A small synchronous socket.io chat client for the scaled-mode tests (the widget's
protocol: ``session_request``, ``user_uttered``, replies as ``bot_uttered``)."""

from __future__ import annotations

import uuid
from typing import Any

import socketio


class SocketChat:
    """One citizen on the socket.io channel at ``base_url`` (nginx's public URL).

    Args:
        base_url: where ``/socket.io`` is served.
        transports: engine.io transports to use (``["polling"]`` tests the affinity).
        affinity: the widget's per-tab ``affinity`` parameter (random when not given).
    """

    def __init__(self, base_url: str, transports: list[str] | None = None,
                 affinity: str | None = None) -> None:
        self.session_id = uuid.uuid4().hex
        self.client = socketio.SimpleClient()
        self.client.connect(f"{base_url}?affinity={affinity or uuid.uuid4().hex}",
                            socketio_path="socket.io", transports=transports or ["polling"],
                            wait_timeout=30)
        self.client.emit("session_request", {"session_id": self.session_id})
        event = self.client.receive(timeout=30)
        assert event[0] == "session_confirm", event
        self.buttons: list[dict[str, str]] = []

    def say(self, text: str, quiet: float = 2.0, timeout: float = 60) -> str:
        """Send ``text`` and return the reply's text, once no message came for ``quiet``
        seconds after the first."""
        self.client.emit("user_uttered", {"message": text, "session_id": self.session_id,
                                          "metadata": {"channel": "web",
                                                       "message_id": uuid.uuid4().hex}})
        messages = [self._next(timeout)]
        while True:
            try:
                messages.append(self._next(quiet))
            except socketio.exceptions.TimeoutError:
                break
        self.buttons = [b for m in messages for b in (m.get("quick_replies") or [])]
        return "\n".join(str(m.get("text") or "") for m in messages)

    def press(self, title_part: str) -> str:
        """Press the last reply's button whose title contains ``title_part``."""
        for button in self.buttons:
            if title_part.casefold() in button["title"].casefold():
                return self.say(button["payload"])
        raise AssertionError(f"no button {title_part!r} in {self.buttons}")

    def _next(self, timeout: float) -> dict[str, Any]:
        while True:
            name, *args = self.client.receive(timeout=timeout)
            if name == "bot_uttered" and args and isinstance(args[0], dict):
                return args[0]

    def close(self) -> None:
        """Disconnect."""
        self.client.disconnect()
