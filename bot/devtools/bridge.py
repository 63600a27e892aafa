"""Run the Telegram bridge in a background thread (tests and benchmarks)."""

from __future__ import annotations

import asyncio
import threading
import time

from sqlalchemy.orm import Session
from telegram.ext import Application

from bot.telegram.app import build_application, run
from bot.telegram.config import TelegramConfig
from bot.telegram.guards import ChatRateLimiter
from bot.telegram.relay import Relay
from bot.telegram.retry import RetryingLimiter


class BridgeThread:
    """The bridge, polling or serving its webhook, in a thread with its own event loop.

    Args:
        config: the bridge's configuration (e.g. pointed at a ``FakeTelegram``).
        retry_interval: seconds between the bridge's retry rounds.
        limiter: the per-chat flood limit (default: the bridge's).
        bot_api: how Bot API calls are retried (default: the bridge's).
    """

    def __init__(self, config: TelegramConfig, retry_interval: float = 1.0,
                 limiter: ChatRateLimiter | None = None,
                 bot_api: RetryingLimiter | None = None) -> None:
        self.config = config
        self.app: Application = build_application(config, retry_interval, limiter, bot_api)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True, name="telegram-bridge")

    @property
    def relay(self) -> Relay:
        """The bridge's relay (its store, queues, callback tokens, …)."""
        relay: Relay = self.app.bot_data["relay"]
        return relay

    def queued(self) -> dict[str, int]:
        """Rows in the bridge's queues: updates, messages for Rasa, replies for chats."""
        relay = self.relay

        def count(session: Session) -> dict[str, int]:
            return {"updates": relay.inbox.queue.count(session),
                    "messages": relay.outbox.count(session),
                    "replies": relay.replies.count(session)}

        return relay.store.call(count)

    def start(self, timeout: float = 30) -> BridgeThread:
        """Start and wait until updates are being fetched or served.

        Raises:
            RuntimeError: the bridge failed or was not ready in time.
        """
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not (self.app.running and self.app.updater and self.app.updater.running):
            if self._error is not None or not self._thread.is_alive():
                raise RuntimeError(f"the bridge stopped: {self._error!r}")
            if time.monotonic() > deadline:
                raise RuntimeError("the bridge did not start in time")
            time.sleep(0.05)
        return self

    def stop(self, timeout: float = 30) -> None:
        """Stop the bridge and wait for it to shut down."""
        if self._loop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self.app.stop_running)
        self._thread.join(timeout)

    def __enter__(self) -> BridgeThread:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self._loop)
        try:
            run(self.config, self.app, stop_signals=None, close_loop=True)
        except BaseException as exc:
            self._error = exc
