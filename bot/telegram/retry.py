"""Retrying Bot API calls: 429 after ``retry_after``, 5xx and network errors with backoff.

python-telegram-bot passes every Bot API call except ``getUpdates`` (which its updater
retries itself) through the application's rate limiter, so that hook is the one place
where retries apply to every message, keyboard edit and callback answer.
"""

from __future__ import annotations

import asyncio
import logging
import warnings
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

from telegram.error import BadRequest, NetworkError, RetryAfter
from telegram.ext import BaseRateLimiter
from telegram.warnings import PTBDeprecationWarning

logger = logging.getLogger(__name__)
Result = bool | dict[str, Any] | list[dict[str, Any]]


class RetryingLimiter(BaseRateLimiter[None]):
    """Calls the Bot API at once and retries what Telegram says is temporary.

    Retried: ``RetryAfter`` (HTTP 429; waits what Telegram asks, at most ``max_wait``) and
    ``NetworkError`` (HTTP 5xx, connection errors, time-outs; waits ``base_delay``,
    doubling). Other errors (bad request, blocked by the user, …) are raised at once.

    Args:
        attempts: calls at most, the first included.
        base_delay: first backoff after a network error, in seconds.
        max_wait: longest single wait, in seconds.
    """

    def __init__(self, attempts: int = 5, base_delay: float = 0.5, max_wait: float = 60) -> None:
        self.attempts = attempts
        self.base_delay = base_delay
        self.max_wait = max_wait

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Result]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: None,
    ) -> Result:
        """Call ``callback`` and retry it on temporary errors.

        Raises:
            TelegramError: the last error, when every attempt failed or it is permanent.
        """
        for attempt in range(1, self.attempts + 1):
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                if attempt == self.attempts:
                    raise
                delay = _retry_after(exc)
            except BadRequest:
                raise  # a NetworkError subclass, but sending it again cannot help
            except NetworkError as exc:
                if attempt == self.attempts:
                    raise
                delay = self.base_delay * 2 ** (attempt - 1)
                logger.info("Bot API %s failed (%s); retrying", endpoint, exc)
            await asyncio.sleep(min(delay, self.max_wait))
        raise AssertionError("unreachable")


def _retry_after(exc: RetryAfter) -> float:
    """Seconds to wait (PTB 22 warns that the attribute becomes a timedelta; both work)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)
