"""A fake Telegram Bot API server for tests and benchmarks (127.0.0.1, a free port).

It speaks enough of the Bot API for python-telegram-bot: ``getMe``, ``getUpdates`` (long
polling from a queue the test fills, honouring ``offset`` and ``timeout``),
``setWebhook``/``deleteWebhook``, and it records every other call (``sendMessage``,
``editMessageReplyMarkup``, ``answerCallbackQuery``, ``sendChatAction``, …) with its
parameters. It can be told to fail the next calls of a method with 429 or a 5xx
(``fail_next``), or every call for a while, as in an outage of Telegram (``fail_for``).

    with FakeTelegram() as telegram:
        telegram.push_text(chat_id=42, text="hello")
        reply = telegram.wait_for("sendMessage", chat_id=42)
"""

from __future__ import annotations

import contextlib
import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

BOT_ID = 123456
TOKEN = f"{BOT_ID}:FAKE-token-for-tests_0123456789abcdef"


@dataclass
class Call:
    """One recorded Bot API call."""

    method: str
    params: dict[str, Any]
    at: float = field(default_factory=time.perf_counter)

    @property
    def chat_id(self) -> int | None:
        value = self.params.get("chat_id")
        return int(value) if value is not None else None


class FakeTelegram:
    """The fake Bot API server.

    Args:
        token: the bot token it accepts (others get 401, as on Telegram).
        username: the bot's username (``getMe``).
        first_update_id: the first update's id. By default the time in microseconds, so
            that fake servers of successive tests and runs never reuse an update id: the
            bridge remembers the ids it handled (for 7 days) and drops a repeat.
    """

    def __init__(self, token: str = TOKEN, username: str = "codesign_test_bot",
                 first_update_id: int | None = None) -> None:
        self.token = token
        self.username = username
        self.calls: list[Call] = []  # answered calls
        self.rejected: list[Call] = []  # calls answered with an injected 429/5xx
        self.delivered: dict[int, float] = {}  # update_id -> when getUpdates returned it
        self._updates: list[dict[str, Any]] = []
        self._queries: dict[int, list[str]] = {}  # chat -> callback query ids pushed
        self._failures: dict[str, list[int]] = {}
        self._outage: tuple[float, tuple[int, ...]] | None = None  # (until, statuses)
        self._outage_calls = itertools.count()
        self._ids = itertools.count(first_update_id or time.time_ns() // 1000)
        self._message_ids = itertools.count(1000)
        self._changed = threading.Condition()
        self._closing = False
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        name="fake-telegram")

    @property
    def base_url(self) -> str:
        """The root URL (``TELEGRAM_API_BASE_URL``)."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FakeTelegram:
        """Start serving in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving (long polls in progress return at once)."""
        with self._changed:
            self._closing = True
            self._changed.notify_all()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeTelegram:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    # --- what citizens do -------------------------------------------------------------

    def push_update(self, update: dict[str, Any]) -> dict[str, Any]:
        """Queue a raw update (a missing ``update_id`` is assigned) and return it."""
        update.setdefault("update_id", next(self._ids))
        with self._changed:
            self._updates.append(update)
            self._changed.notify_all()
        return update

    def push_text(self, chat_id: int, text: str, chat_type: str = "private") -> dict[str, Any]:
        """A citizen sends ``text`` (a leading ``/command`` is marked as a command)."""
        message = self.message(chat_id, text, chat_type)
        if text.startswith("/"):
            message["entities"] = [{"type": "bot_command", "offset": 0,
                                    "length": len(text.split()[0])}]
        return self.push_update({"message": message})

    def push_press(self, chat_id: int, message: dict[str, Any], data: str) -> dict[str, Any]:
        """A citizen presses the inline button with callback ``data`` under ``message``."""
        query_id = str(next(self._ids))
        self._queries.setdefault(chat_id, []).append(query_id)
        query = {"id": query_id, "from": self.user(chat_id), "chat_instance": "1",
                 "data": data, "message": message}
        return self.push_update({"callback_query": query})

    def press(self, chat_id: int, title_part: str) -> dict[str, Any]:
        """Press the button containing ``title_part`` in the latest keyboard sent to a chat."""
        for call in reversed(self.sent(chat_id)):
            for row in (call.params.get("reply_markup") or {}).get("inline_keyboard", []):
                for button in row:
                    if title_part.casefold() in button["text"].casefold():
                        return self.push_press(chat_id, call.params["_message"],
                                               button["callback_data"])
        raise AssertionError(f"no button containing {title_part!r} sent to chat {chat_id}")

    def fail_next(self, method: str, count: int = 1, status: int = 429) -> None:
        """Answer the next ``count`` calls of ``method`` with ``status`` (429: retry after 1 s)."""
        with self._changed:
            self._failures.setdefault(method, []).extend([status] * count)

    def fail_for(self, seconds: float, statuses: tuple[int, ...] = (429, 500)) -> None:
        """Answer every call, ``getUpdates`` included, with ``statuses`` in turn (429 with
        ``retry_after`` 1 s) for the next ``seconds``; a long poll waiting when the window
        opens fails too. Updates pushed meanwhile wait, as on Telegram."""
        with self._changed:
            self._outage = (time.monotonic() + seconds, statuses)
            self._changed.notify_all()

    @property
    def failing(self) -> bool:
        """Whether a ``fail_for`` window is open."""
        return self._outage is not None and time.monotonic() < self._outage[0]

    # --- what the bot did -------------------------------------------------------------

    def calls_of(self, method: str, chat_id: int | None = None) -> list[Call]:
        """Recorded calls of ``method`` (to ``chat_id`` if given)."""
        with self._changed:
            return [c for c in self.calls if c.method == method
                    and (chat_id is None or c.chat_id == chat_id)]

    def query_ids(self, chat_id: int) -> list[str]:
        """Ids of the button presses pushed for a chat."""
        return list(self._queries.get(chat_id, []))

    def sent(self, chat_id: int) -> list[Call]:
        """Messages sent to a chat."""
        return self.calls_of("sendMessage", chat_id)

    def wait_for(self, method: str, chat_id: int | None = None, count: int = 1,
                 timeout: float = 60, where: Callable[[Call], bool] | None = None) -> Call:
        """Wait until ``count`` calls of ``method`` (matching ``where``) were made.

        Returns:
            The ``count``-th matching call.

        Raises:
            AssertionError: they were not made in time (the message lists what was).
        """
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = [c for c in self.calls if c.method == method
                         and (chat_id is None or c.chat_id == chat_id)
                         and (where is None or where(c))]
                if len(found) >= count:
                    return found[count - 1]
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [(c.method, c.params.get("text", "")[:60]) for c in self.calls[-15:]]
                    raise AssertionError(f"no {count}×{method} for chat {chat_id} within "
                                         f"{timeout} s; latest calls: {seen}")
                self._changed.wait(left)

    def wait_for_text(self, chat_id: int, part: str, after: int = 0,
                      timeout: float = 60) -> Call:
        """Wait for a message to ``chat_id`` containing ``part``.

        Args:
            chat_id: the chat.
            part: text the message must contain.
            after: skip the chat's first ``after`` messages (``len(sent(chat_id))`` before
                the citizen spoke: only replies count).
            timeout: seconds to wait.
        """
        matches = [c for c in self.sent(chat_id)[:after] if part in str(c.params.get("text"))]
        return self.wait_for("sendMessage", chat_id, count=len(matches) + 1, timeout=timeout,
                             where=lambda c: part in str(c.params.get("text", "")))

    def say(self, chat_id: int, text: str, expect: str, timeout: float = 60) -> str:
        """A citizen sends ``text``; wait for a reply containing ``expect``.

        Returns:
            The text of every message the chat received after ``text`` was sent.
        """
        after = len(self.sent(chat_id))
        self.push_text(chat_id, text)
        self.wait_for_text(chat_id, expect, after, timeout)
        return self.texts(chat_id, after)

    def choose(self, chat_id: int, title_part: str, expect: str, timeout: float = 60) -> str:
        """Like :meth:`say`, pressing the latest button containing ``title_part``."""
        after = len(self.sent(chat_id))
        self.press(chat_id, title_part)
        self.wait_for_text(chat_id, expect, after, timeout)
        return self.texts(chat_id, after)

    def texts(self, chat_id: int, after: int = 0) -> str:
        """The texts sent to a chat (from its ``after``-th message on), one per line."""
        return "\n".join(str(c.params.get("text", "")) for c in self.sent(chat_id)[after:])

    # --- Bot API objects --------------------------------------------------------------

    def user(self, chat_id: int) -> dict[str, Any]:
        return {"id": chat_id, "is_bot": False, "first_name": "Citizen"}

    def chat(self, chat_id: int, chat_type: str = "private") -> dict[str, Any]:
        chat: dict[str, Any] = {"id": chat_id, "type": chat_type}
        if chat_type == "private":
            chat["first_name"] = "Citizen"
        else:
            chat["title"] = "A group"
        return chat

    def message(self, chat_id: int, text: str, chat_type: str = "private",
                from_bot: bool = False) -> dict[str, Any]:
        message = {"message_id": next(self._message_ids), "date": int(time.time()),
                   "chat": self.chat(chat_id, chat_type), "text": text}
        if chat_type != "channel":
            message["from"] = ({"id": BOT_ID, "is_bot": True, "first_name": "Codesign",
                                "username": self.username} if from_bot else self.user(chat_id))
        return message

    # --- the HTTP side ----------------------------------------------------------------

    def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]] | None:
        """The next updates (long polling); None when an outage opened while waiting."""
        offset = int(params.get("offset") or 0)
        deadline = time.monotonic() + float(params.get("timeout") or 0)
        with self._changed:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
            while not self._updates and not self._closing and not self.failing:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._changed.wait(left)
            if self.failing:
                return None
            batch = self._updates[: int(params.get("limit") or 100)]
            now = time.perf_counter()
            for update in batch:
                self.delivered.setdefault(update["update_id"], now)
            return batch

    def _failure(self, method: str) -> int | None:
        """The status of an injected failure for this call, if any."""
        with self._changed:
            if self.failing and self._outage is not None:
                statuses = self._outage[1]
                return statuses[next(self._outage_calls) % len(statuses)]
            failures = self._failures.get(method)
            return failures.pop(0) if failures else None

    def _fail(self, method: str, params: dict[str, Any],
              status: int) -> tuple[int, dict[str, Any]]:
        with self._changed:
            self.rejected.append(Call(method, params))
        if status == 429:
            return 429, {"ok": False, "error_code": 429, "parameters": {"retry_after": 1},
                         "description": "Too Many Requests: retry after 1"}
        return status, {"ok": False, "error_code": status, "description": "Bad Gateway"}

    def _answer(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        status = self._failure(method)
        if status is not None:
            return self._fail(method, params, status)
        if method == "getUpdates":
            updates = self._get_updates(params)
            if updates is None:
                return self._fail(method, params, self._failure(method) or 500)
            return 200, {"ok": True, "result": updates}
        if method == "getMe":
            result: Any = {"id": BOT_ID, "is_bot": True, "first_name": "Codesign",
                           "username": self.username, "can_join_groups": True,
                           "can_read_all_group_messages": False,
                           "supports_inline_queries": False}
        elif method == "sendMessage":
            result = self.message(int(params["chat_id"]), str(params["text"]), from_bot=True)
            if params.get("reply_markup"):
                result["reply_markup"] = params["reply_markup"]
            params["_message"] = result
        elif method == "editMessageReplyMarkup":
            result = self.message(int(params["chat_id"]), "", from_bot=True)
            result["message_id"] = int(params["message_id"])
        else:  # answerCallbackQuery, sendChatAction, setWebhook, deleteWebhook, …
            result = True
        with self._changed:
            self.calls.append(Call(method, params))
            self._changed.notify_all()
        return 200, {"ok": True, "result": result}

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Each answer leaves in one write, with Nagle's algorithm off, as HTTP servers
            # send small answers (nginx: ``tcp_nodelay on``). Written as headers, then body,
            # with Nagle on, the body waited for the client's delayed ACK of the headers:
            # about 40 ms on Linux, added to every ``getUpdates`` hand-out, which made the
            # bridge look 40 ms slower than it is.
            disable_nagle_algorithm = True

            def do_POST(self) -> None:
                self._serve(self.rfile.read(int(self.headers.get("Content-Length") or 0)))

            def do_GET(self) -> None:
                self._serve(b"")

            def _serve(self, body: bytes) -> None:
                prefix = f"/bot{fake.token}/"
                if not self.path.startswith(prefix):
                    status, answer = 401, {"ok": False, "error_code": 401,
                                           "description": "Unauthorized"}
                else:
                    status, answer = fake._answer(self.path[len(prefix):].split("?")[0],
                                                  _parse(self.headers.get("Content-Type"), body))
                data = json.dumps(answer).encode()
                head = (f"{self.protocol_version} {status} {HTTPStatus(status).phrase}\r\n"
                        "Content-Type: application/json\r\n"
                        f"Content-Length: {len(data)}\r\n\r\n").encode("ascii")
                # The client may have given up, e.g. a long poll cut short at shutdown.
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(head + data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


def _parse(content_type: str | None, body: bytes) -> dict[str, Any]:
    """Request parameters: JSON bodies, or form fields whose JSON values are decoded."""
    if not body:
        return {}
    if (content_type or "").startswith("application/json"):
        return dict(json.loads(body))
    params: dict[str, Any] = {}
    for key, value in parse_qsl(body.decode(), keep_blank_values=True):
        try:
            params[key] = json.loads(value) if value[:1] in ("{", "[") else value
        except ValueError:
            params[key] = value
    return params
