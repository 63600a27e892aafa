"""Custom actions served to Rasa by ``python -m bot.action_server`` (rasa-sdk's app).

They translate the tracker into a ``UserTurn``, run the dialogue engine off the event
loop (it does blocking database work) and turn the result into messages and slots.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from functools import lru_cache
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.config import Settings, var_dir
from bot.dialogue.engine import ConversationEngine
from bot.dialogue.messages import TurnResult, UserTurn
from bot.knowledge.service import KnowledgeService
from bot.text.clean import clean

logger = logging.getLogger(__name__)

FLOW_STATE_SLOT = "flow_state"
IN_FLOW_SLOT = "in_flow"
ERASE_SLOT = "erase_conversation"


@lru_cache(maxsize=1)
def engine() -> ConversationEngine:
    """The process-wide engine, built from the environment on first use."""
    settings = Settings.from_env()
    return ConversationEngine(settings, KnowledgeService(var_dir(),
                                                         database_url=settings.database_url))


def start_warm_up() -> None:
    """Load the embedding model and the index in a background thread, now rather than on
    the first question (``python -m bot.action_server`` calls it once it listens). A
    question asked before it finishes waits for the model instead.
    """
    threading.Thread(target=_warm_up_knowledge, name="warm-up", daemon=True).start()


def _warm_up_knowledge() -> None:
    knowledge = engine().knowledge
    if knowledge is not None:
        started = time.perf_counter()
        try:
            knowledge.warm_up()
        except Exception:  # a broken index must not kill the server: questions report it
            logger.exception("Knowledge base warm-up failed.")
            return
        logger.info("Knowledge base warmed up in %.1f s.", time.perf_counter() - started)


def user_turn(tracker: Tracker) -> UserTurn:
    """The latest user message as a ``UserTurn``, its text and entity values cleaned
    (``bot.text.clean``: the Rasa server cleaned the text, but entity values come from
    the JSON of a payload and may hold any character)."""
    message = tracker.latest_message or {}
    intent = message.get("intent") or {}
    metadata = message.get("metadata") or {}
    entities: dict[str, str] = {}
    for entity in message.get("entities") or []:
        if entity.get("entity") and entity.get("value") is not None:
            entities[clean(str(entity["entity"]))] = clean(str(entity["value"]))
    return UserTurn(
        sender_id=tracker.sender_id,
        channel=str(metadata.get("channel") or tracker.get_latest_input_channel() or "rest"),
        text=clean(str(message.get("text") or "")),
        intent=intent.get("name"),
        confidence=float(intent.get("confidence") or 0.0),
        entities=entities,
        message_id=str(metadata["message_id"]) if metadata.get("message_id") else None,
    )


def load_state(tracker: Tracker) -> dict[str, Any] | None:
    """The conversation state kept in the ``flow_state`` slot."""
    raw = tracker.get_slot(FLOW_STATE_SLOT)
    if not raw:
        return None
    try:
        state = json.loads(raw)
    except (TypeError, ValueError):
        logger.warning("Ignoring unreadable flow_state slot.")
        return None
    return state if isinstance(state, dict) else None


def apply(result: TurnResult, dispatcher: CollectingDispatcher,
          tracker: Tracker) -> list[EventType]:
    """Send the result's messages and return slot events for what changed.

    Unchanged slots are not re-set: every event makes the tracker Rasa loads and saves
    on each turn longer.
    """
    for message in result.messages:
        dispatcher.utter_message(text=message.text, buttons=message.buttons_as_dicts())
    if result.erase_conversation:
        return [SlotSet(FLOW_STATE_SLOT, None), SlotSet(IN_FLOW_SLOT, False),
                SlotSet(ERASE_SLOT, True)]
    wanted = {FLOW_STATE_SLOT: json.dumps(result.state, sort_keys=True) if result.state else None,
              IN_FLOW_SLOT: result.state is not None}
    return [SlotSet(name, value) for name, value in wanted.items()
            if tracker.get_slot(name) != value]


class ActionFlow(Action):
    """Handles every turn inside a consultation, and starting/resuming/erasing."""

    def name(self) -> str:
        return "action_flow"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        result = await asyncio.to_thread(engine().handle, user_turn(tracker), load_state(tracker))
        return apply(result, dispatcher, tracker)


class ActionWelcome(Action):
    """Greets the citizen and lists open consultations as buttons."""

    def name(self) -> str:
        return "action_welcome"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        result = await asyncio.to_thread(engine().welcome, user_turn(tracker))
        return apply(result, dispatcher, tracker)


class ActionPing(Action):
    """A trivial action: the baseline of the turn-latency benchmark."""

    def name(self) -> str:
        return "action_ping"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        dispatcher.utter_message(text="pong")
        return []

