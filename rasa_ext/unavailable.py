"""No silent hangs and no silent drops: a short time limit on custom actions, and a clear
reply whenever a message could not be taken.

Rasa 3.6 waits up to five minutes for the action server; when the call fails, or when
its own stores (the tracker store, the lock store) fail, it logs the error and sends the
citizen nothing. Here:

- custom actions have a time limit of ``CODESIGN_ACTION_TIMEOUT`` seconds (default 10);
- when the action server cannot be reached, times out or answers with an error, or when
  handling the message fails for any other reason (PostgreSQL or Redis restarting), the
  citizen is told at once to send the message again in a minute. The reply carries a
  machine marker so that channels can keep the message and send it again: first a custom
  message ``{"data": {"codesign": "unavailable"}}`` (the socket.io widget receives
  ``{"codesign": "unavailable"}`` as a ``bot_uttered`` event; REST clients see it as
  ``{"custom": {"data": {"codesign": "unavailable"}}}``), then the text.

Nothing the citizen said before is affected: the engine stores answers in the app store
as they are given, and a message sent again with the same ``message_id`` is handled once.
"""

import logging
import os
from typing import Any, List, Optional

import aiohttp
from rasa.core.actions import action as rasa_action
from rasa.core.actions.action import ActionExecutionRejection, RemoteAction
from rasa.core.agent import Agent
from rasa.core.channels.channel import OutputChannel, UserMessage
from rasa.shared.core.events import BotUttered, Event

logger = logging.getLogger(__name__)

TIMEOUT_ENV = "CODESIGN_ACTION_TIMEOUT"
DEFAULT_TIMEOUT = 10.0
MARKER = {"codesign": "unavailable"}
UNAVAILABLE_TEXT = ("Sorry, I can’t take your message right now: part of the consultation "
                    "service is not answering. Please send it again in a minute. Nothing you "
                    "told me before is lost.")
_ORIGINAL_RUN = RemoteAction.run
_ORIGINAL_HANDLE = Agent.handle_message


def timeout_from_env() -> float:
    """Seconds Rasa waits for the action server (``CODESIGN_ACTION_TIMEOUT``, default 10).

    Raises:
        ValueError: the variable is not a number of seconds in (0, 300].
    """
    raw = os.environ.get(TIMEOUT_ENV, "").strip()
    try:
        value = float(raw) if raw else DEFAULT_TIMEOUT
    except ValueError:
        raise ValueError(f"{TIMEOUT_ENV} must be a number of seconds, not {raw!r}") from None
    if not 0 < value <= 300:
        raise ValueError(f"{TIMEOUT_ENV} must be between 0 and 300 seconds, not {value}")
    return value


def apology_events() -> List[Event]:
    """The bot's reply to a message it could not take: the marker, then the text."""
    return [BotUttered(data={"custom": {"data": dict(MARKER)}}), BotUttered(UNAVAILABLE_TEXT)]


def _connection_dropped(exc: BaseException) -> bool:
    """Whether the call failed because the kept connection was closed under it."""
    cause = exc.__cause__ or exc.__context__
    return isinstance(cause, (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError))


async def _run_or_apologise(self: RemoteAction, *args: Any, **kwargs: Any) -> List[Event]:
    for attempt in (1, 2):
        try:
            return await _ORIGINAL_RUN(self, *args, **kwargs)
        except ActionExecutionRejection:
            raise  # the action declined to run: Rasa predicts another one, as designed
        except Exception as exc:  # unreachable, timed out, 5xx, invalid answer
            if attempt == 1 and _connection_dropped(exc):
                # A kept-alive connection the action server had closed (it restarted):
                # send the call once more on a new one. The engine handles a message id
                # once, should the first attempt have reached it after all.
                continue
            return _apologise(self, exc)
    raise AssertionError("unreachable")


def _apologise(self: RemoteAction, exc: BaseException) -> List[Event]:
    logger.error("custom action %s failed (%s: %s); the citizen is asked to send the "
                 "message again", self.name(), exc.__class__.__name__, exc)
    return apology_events()


async def _handle_or_apologise(self: Agent, message: UserMessage) -> Optional[Any]:
    try:
        return await _ORIGINAL_HANDLE(self, message)
    except Exception:  # the tracker store or the lock store failed: nothing was kept
        logger.exception("could not handle a message; the citizen is asked to send it again")
        await _send_apology(message.output_channel, message.sender_id)
        return None


async def _send_apology(channel: Optional[OutputChannel], recipient: Optional[str]) -> None:
    if channel is None or recipient is None:
        return
    try:
        for event in apology_events():
            assert isinstance(event, BotUttered)
            await channel.send_response(recipient, event.message())
    except Exception:  # the channel itself is gone; the client will time out and retry
        logger.exception("could not send the apology either")


def apply() -> None:
    """Set the time limit and install the apologies (idempotent).

    Raises:
        ValueError: ``CODESIGN_ACTION_TIMEOUT`` is not a number of seconds in (0, 300].
    """
    rasa_action.DEFAULT_REQUEST_TIMEOUT = timeout_from_env()  # type: ignore[attr-defined]
    if RemoteAction.run is not _run_or_apologise:
        RemoteAction.run = _run_or_apologise  # type: ignore[method-assign]
        Agent.handle_message = _handle_or_apologise  # type: ignore[method-assign]
        logger.info("codesign: custom actions time out after %.0f s; failed messages get "
                    "an apology.", rasa_action.DEFAULT_REQUEST_TIMEOUT)
