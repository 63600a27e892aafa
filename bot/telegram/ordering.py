"""One update at a time per chat, many chats at once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor


class ChatLocks:
    """An asyncio lock per chat, dropped when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[int, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, chat_id: int) -> AsyncIterator[None]:
        """Hold the chat's lock (waiters get it in arrival order)."""
        lock, users = self._locks.get(chat_id, (asyncio.Lock(), 0))
        self._locks[chat_id] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[chat_id]
            if users == 1:
                del self._locks[chat_id]
            else:
                self._locks[chat_id] = (lock, users - 1)

    def __len__(self) -> int:
        return len(self._locks)


class ChatOrderedProcessor(BaseUpdateProcessor):
    """Processes updates of different chats concurrently and those of one chat in order.

    A citizen's messages must reach Rasa in the order they were sent (answers belong to
    questions), while one slow turn must not hold up everyone else.

    Args:
        locks: the per-chat locks, shared with the retry round.
        max_concurrent_updates: updates processed at once at most.
        on_done: called with each update once processed, whatever the outcome (the inbox
            then knows it is no longer in flight).
    """

    def __init__(self, locks: ChatLocks, max_concurrent_updates: int = 64,
                 on_done: Callable[[object], None] | None = None) -> None:
        super().__init__(max_concurrent_updates)
        self.locks = locks
        self.on_done = on_done

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Await ``coroutine`` while holding the lock of the update's chat."""
        chat = update.effective_chat if isinstance(update, Update) else None
        try:
            if chat is None:
                await coroutine
            else:
                async with self.locks.hold(chat.id):
                    await coroutine
        finally:
            if self.on_done is not None:
                self.on_done(update)

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""
