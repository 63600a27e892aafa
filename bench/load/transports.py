"""The two ways a simulated citizen reaches the bot: Rasa's REST channel and socket.io.

Each citizen keeps one connection open (an aiohttp session with one connection, or one
socket.io client), as a browser or the Telegram bridge does, so the load generator stays
cheap. ``send`` delivers one message and returns the bot's reply, or raises
``TransportError`` when the reply did not arrive (refused or reset connection, timeout,
HTTP 5xx, an empty reply); the citizen then sends it again with the same message id.

REST answers with the whole reply: its latency is the full turn. socket.io has no end
marker: replies come as several ``bot_uttered`` events, and a turn is complete when the
kind of message the bot ends a turn with has arrived (``script.reply_status``), after
``quiet`` seconds without another once something the citizen acts on has come, or at
the reply timeout otherwise (under load Rasa's event loop can pause seconds between the
messages of one reply); its latency is to the first reply message.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import aiohttp
import socketio

from bench.load.script import COMPLETE, PARTIAL, Message

#: Seconds to open a connection (a full listen backlog drops SYNs: the client retries).
CONNECT_TIMEOUT = 10.0


class TransportError(Exception):
    """The reply did not arrive; ``reason`` says why (for the counts)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Delivery:
    """A reply: its messages, when (``time.perf_counter``) the message was sent and the
    first and last reply messages arrived, and how many late messages of an earlier turn
    were dropped before sending."""

    messages: list[Message]
    sent_at: float
    first_at: float
    last_at: float
    stale: int = 0


class Transport(Protocol):
    """One citizen's connection to the bot."""

    name: str  # "rest" | "socketio"
    channel: str  # the channel the action server keys participants by: "rest" | "web"

    async def open(self) -> None: ...

    async def send(self, text: str, message_id: str) -> Delivery: ...

    async def close(self) -> None: ...


def rest_message(item: Any) -> Message:
    """One element of the REST channel's reply list."""
    if not isinstance(item, dict):
        return Message(text=str(item))
    buttons = tuple((str(b.get("title", "")), str(b.get("payload", "")))
                    for b in item.get("buttons") or [] if isinstance(b, dict))
    return Message(text=str(item.get("text") or ""), buttons=buttons, custom=item.get("custom"))


def socket_message(data: Any) -> Message:
    """One ``bot_uttered`` event (text with ``quick_replies``, or a custom payload such as
    the unavailable marker ``{"codesign": "unavailable"}``)."""
    if not isinstance(data, dict):
        return Message(text=str(data))
    buttons = tuple((str(b.get("title", "")), str(b.get("payload", "")))
                    for b in data.get("quick_replies") or data.get("buttons") or []
                    if isinstance(b, dict))
    custom = data.get("custom") if "custom" in data else (
        data if "text" not in data and "quick_replies" not in data else None)
    return Message(text=str(data.get("text") or ""), buttons=buttons, custom=custom)


class RestTransport:
    """POST /webhooks/rest/webhook on one kept-open connection."""

    name = "rest"
    channel = "rest"

    def __init__(self, base_url: str, sender: str, timeout: float) -> None:
        # The affinity query parameter keeps a conversation on one Rasa process behind
        # the scaled mode's nginx (that process has the conversation in memory).
        self.url = f"{base_url.rstrip('/')}/webhooks/rest/webhook?affinity={sender}"
        self.sender = sender
        self.timeout = timeout
        self.session: aiohttp.ClientSession | None = None

    async def open(self) -> None:
        connector = aiohttp.TCPConnector(limit=1, ttl_dns_cache=None)
        timeout = aiohttp.ClientTimeout(total=self.timeout, connect=min(CONNECT_TIMEOUT,
                                                                        self.timeout))
        self.session = aiohttp.ClientSession(connector=connector, timeout=timeout)

    async def send(self, text: str, message_id: str) -> Delivery:
        assert self.session is not None, "open() first"
        body = {"sender": self.sender, "message": text, "metadata": {"message_id": message_id}}
        started = time.perf_counter()
        try:
            async with self.session.post(self.url, json=body) as response:
                if response.status >= 300:
                    raise TransportError(f"HTTP {response.status}")
                items = await response.json(content_type=None)
        except aiohttp.ConnectionTimeoutError:
            raise TransportError("timeout (connect)") from None
        except TimeoutError:
            raise TransportError("timeout") from None
        except aiohttp.ClientError as exc:
            raise TransportError(_reason(exc)) from None
        except ValueError:
            raise TransportError("unreadable reply") from None
        arrived = time.perf_counter()
        if not isinstance(items, list) or not items:
            raise TransportError("empty reply")
        return Delivery([rest_message(item) for item in items], started, arrived, arrived)

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()
            self.session = None


def _reason(exc: BaseException) -> str:
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "server disconnected"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return "connection refused" if isinstance(exc.os_error, ConnectionRefusedError) \
            else "cannot connect"
    if isinstance(exc, aiohttp.ClientOSError) and isinstance(exc.__cause__ or exc,
                                                              ConnectionResetError):
        return "connection reset"
    text = str(exc).casefold()
    if "reset" in text:
        return "connection reset"
    return exc.__class__.__name__


_GONE = object()


class SocketTransport:
    """A socket.io client (websocket only) on ``{base_url}/socket.io?affinity=...``:
    ``session_request`` with the citizen's session id (the sender id), then
    ``user_uttered`` per message; replies arrive as ``bot_uttered`` events.

    Replies carry no message id, but Rasa handles one sender's messages in order, one
    reply each. So the ids of the messages whose replies are still to come are kept in
    order (``pending``), and each whole reply is matched to the oldest: the reply to a
    message whose first sending timed out may come after it was sent again, and then the
    reply to the re-sent copy follows. When a message was sent more than once, the
    replies to every copy are awaited (until the reply timeout, at least ``settle``
    seconds) and the last is returned: the conversation as it stands after every copy was
    handled. Latency is to the first message of the first reply to any copy.
    """

    name = "socketio"
    channel = "web"

    def __init__(self, base_url: str, sender: str, affinity: str, timeout: float,
                 status: Callable[[list[Message]], str], quiet: float = 3.0,
                 settle: float = 3.0) -> None:
        self.url = f"{base_url.rstrip('/')}?affinity={affinity}"
        self.sender = sender
        self.timeout = timeout
        self.status = status
        self.quiet = quiet
        self.settle = settle
        self.client: Any = None
        self.replies: asyncio.Queue[tuple[float, Any]] = asyncio.Queue()
        self.confirmed = asyncio.Event()
        self.pending: deque[str] = deque()

    async def open(self) -> None:
        await self._connect()

    async def _connect(self) -> None:
        await self._drop_client()
        client = socketio.AsyncClient(reconnection=False, logger=False, engineio_logger=False)
        client.on("bot_uttered", self._on_bot)
        client.on("session_confirm", self._on_confirm)
        client.on("disconnect", self._on_disconnect)
        self.client = client
        self.confirmed.clear()
        try:
            await client.connect(self.url, socketio_path="socket.io", transports=["websocket"],
                                 wait_timeout=self.timeout)
            await client.emit("session_request", {"session_id": self.sender})
            await asyncio.wait_for(self.confirmed.wait(), self.timeout)
        except TimeoutError:
            await self._drop_client()
            raise TransportError("timeout (connect)") from None
        except (socketio.exceptions.ConnectionError, aiohttp.ClientError, OSError) as exc:
            await self._drop_client()
            raise TransportError(f"cannot connect ({str(exc)[:60]})") from None

    async def _drop_client(self) -> None:
        client, self.client = self.client, None
        if client is not None:
            with contextlib.suppress(Exception):  # already gone
                await client.disconnect()
            http = getattr(client.eio, "http", None)
            if http is not None and not http.closed:
                await http.close()

    async def _on_bot(self, data: Any) -> None:
        self.replies.put_nowait((time.perf_counter(), data))

    async def _on_confirm(self, *_: Any) -> None:
        self.confirmed.set()

    async def _on_disconnect(self, *_: Any) -> None:
        self.replies.put_nowait((time.perf_counter(), _GONE))

    def _connected(self) -> bool:
        return self.client is not None and bool(self.client.connected) and \
            self.confirmed.is_set()

    async def send(self, text: str, message_id: str) -> Delivery:
        if not self._connected():
            await self._connect()
        stale = 0
        if not self.pending:
            while not self.replies.empty():  # late messages of an earlier turn
                _, item = self.replies.get_nowait()
                stale += item is not _GONE
        started = time.perf_counter()
        try:
            await self.client.emit("user_uttered", {
                "message": text, "session_id": self.sender,
                "metadata": {"channel": "web", "message_id": message_id}})
        except Exception as exc:  # BadNamespaceError, a closed websocket
            self.confirmed.clear()
            raise TransportError(f"send failed ({exc.__class__.__name__})") from None
        self.pending.append(message_id)
        return await self._collect(message_id, started, stale)

    async def _collect(self, message_id: str, started: float, stale: int) -> Delivery:
        deadline = started + self.timeout
        unit: list[Message] = []  # the reply being received
        unit_first = last = started
        status = ""
        ours: Delivery | None = None  # the latest whole reply to this message
        first_ours = 0.0
        while True:
            now = time.perf_counter()
            if unit:
                wait = deadline - now if status != PARTIAL else min(deadline - now, self.quiet)
            elif ours is not None:  # the reply to this copy, after one to a copy before
                wait = max(deadline - now, self.settle)
            else:
                wait = deadline - now
            item: Any = None
            try:
                at, item = await asyncio.wait_for(self.replies.get(), max(wait, 0.001))
            except TimeoutError:
                if not unit and ours is None:
                    raise TransportError("timeout") from None
                if not unit:
                    self.pending.clear()  # what is still owed is taken as lost
                    break
                at = last  # a reply without its usual last message: take it as whole
            if item is _GONE:
                self.confirmed.clear()
                self.pending.clear()
                raise TransportError("disconnected")
            if item is not None:
                if not unit:
                    unit_first = at
                last = at
                unit.append(socket_message(item))
                status = self.status(unit)
                if status != COMPLETE:
                    continue
            owner = self.pending.popleft() if self.pending else message_id
            if owner == message_id:
                first_ours = first_ours or unit_first
                ours = Delivery(unit, started, first_ours, last, stale)
            unit, status = [], ""
            if not self.pending and ours is not None:
                break
        assert ours is not None, "the loop ends only once a reply to this message came"
        return ours

    async def close(self) -> None:
        await self._drop_client()
