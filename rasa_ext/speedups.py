"""Speed-ups for Rasa 3.6 that keep its behaviour.

- Rasa validates every action-server response with ``jsonschema.validate``, which
  re-checks the (constant) schema itself on every call; profiling showed this was about
  half of the Rasa server's CPU time per turn that runs a custom action. Here the
  validator is built once and reused: the response is still validated against the same
  schema.
- Loading a conversation turns each stored event back into an object, and for each one
  ``Event.resolve_by_type`` walked every subclass of ``Event`` to find the one with that
  name: 12 % of the Rasa server's CPU under load (py-spy, 100 citizens). Here the class
  found for a name is remembered; an unknown name still goes through Rasa's own lookup.
- A button's payload (``/choose{"choice": ...}``, about half of all messages) went
  through the whole NLU pipeline, DIET included, only for the pipeline's last component
  (``RegexMessageHandler``) to replace the result with the payload's intent and entities.
  Here a payload naming a known intent is unpacked directly, with the same function that
  component calls, giving the same parse (checked against the full pipeline); any other
  text still goes through the pipeline.
- Every call to the action server opened a new HTTP client session and connection
  (``EndpointConfig.session``; 9 % of the CPU). Here each endpoint keeps one session and
  its connections alive; a call on a connection the action server has just closed is
  sent once more (``rasa_ext.unavailable``).
- A citizen's message that arrives while their previous turn still holds the
  conversation's lock (socket.io replies are sent before Rasa saves the turn and lets go,
  so a quick next message often does) waited a whole second before Rasa looked again
  (``LockStore.lock``'s ``wait_time_in_seconds=1``, both lock stores). Here it looks every
  50 ms: the same ticket order, one cheap lookup per look.
"""

import asyncio
import logging
from typing import Any, Dict, Optional, Text, Tuple

import aiohttp

from jsonschema import ValidationError
from jsonschema.validators import validator_for
from rasa.core import lock_store
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL
from rasa.core.processor import MessageProcessor
from rasa.nlu.classifiers.regex_message_handler import RegexMessageHandler
from rasa.shared.core.events import Event
from rasa.shared.core.training_data.story_reader.yaml_story_reader import YAMLStoryReader
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_NAME_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.utils.endpoints import EndpointConfig

logger = logging.getLogger(__name__)
_VALIDATOR: Any = None


def _cached_validator(schema: Dict[Text, Any]) -> Any:
    global _VALIDATOR
    if _VALIDATOR is None:
        cls = validator_for(schema)
        cls.check_schema(schema)
        _VALIDATOR = cls(schema)
    return _VALIDATOR


def _validate_action_result(self: RemoteAction, result: Dict[Text, Any]) -> bool:
    try:
        _cached_validator(self.action_response_format_spec()).validate(result)
        return True
    except ValidationError as e:
        e.message += (
            f". Failed to validate Action server response from API, "
            f"make sure your response from the Action endpoint is valid. "
            f"For more information about the format visit "
            f"{DOCS_BASE_URL}/custom-actions"
        )
        raise e


_RESOLVE_BY_TYPE = Event.resolve_by_type
_EVENT_CLASSES: Dict[Text, Any] = {}


def _resolve_by_type(type_name: Text, default: Any = None) -> Any:
    cls = _EVENT_CLASSES.get(type_name)
    if cls is None:
        cls = _RESOLVE_BY_TYPE(type_name, default)
        if cls is not None and getattr(cls, "type_name", None) == type_name:
            _EVENT_CLASSES[type_name] = cls
    return cls


_PARSE_WITH_GRAPH = MessageProcessor._parse_message_with_graph


def _parse_payload_or_run_graph(self: MessageProcessor, message: Any, tracker: Any,
                                only_output_properties: bool = True) -> Dict[Text, Any]:
    text = message.text or ""
    if text.lstrip().startswith("/"):
        unpacked = YAMLStoryReader.unpack_regex_message(
            Message(data={TEXT: text}), self.domain,
            entity_extractor_name=RegexMessageHandler.__name__)
        if unpacked.get(INTENT):  # a payload with a known intent: what the pipeline ends in
            parse_data: Dict[Text, Any] = {
                TEXT: "", INTENT: {INTENT_NAME_KEY: None, "confidence": 0.0}, ENTITIES: []}
            parse_data.update(unpacked.as_dict(only_output_properties=only_output_properties))
            return parse_data
    return _PARSE_WITH_GRAPH(self, message, tracker, only_output_properties)


_NEW_SESSION = EndpointConfig.session
_KEPT_SESSIONS: Dict[Tuple[Any, ...], aiohttp.ClientSession] = {}


class _KeptSession:
    """``async with`` on a kept session: hands it out and leaves it open."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self.session = session

    async def __aenter__(self) -> aiohttp.ClientSession:
        return self.session

    async def __aexit__(self, *exc: Any) -> None:
        return None


def _kept_session(self: EndpointConfig) -> Any:
    try:
        loop: Optional[asyncio.AbstractEventLoop] = asyncio.get_running_loop()
    except RuntimeError:  # not in a loop: nothing to keep it in
        return _NEW_SESSION(self)
    key = (id(loop), self.url, tuple(sorted(self.headers.items())),
           tuple(sorted(self.basic_auth.items())))
    session = _KEPT_SESSIONS.get(key)
    if session is None or session.closed:
        session = _KEPT_SESSIONS[key] = _NEW_SESSION(self)
    return _KeptSession(session)


LOCK_POLL_S = 0.05
_ORIGINAL_LOCK = lock_store.LockStore.lock


def _lock_polled_often(self: lock_store.LockStore, conversation_id: Text,
                       lock_lifetime: float = lock_store.LOCK_LIFETIME,
                       wait_time_in_seconds: float = LOCK_POLL_S) -> Any:
    """``LockStore.lock`` looking for its turn every ``LOCK_POLL_S`` instead of 1 s."""
    return _ORIGINAL_LOCK(self, conversation_id, lock_lifetime, wait_time_in_seconds)


def apply() -> None:
    """Install the speed-ups (idempotent)."""
    if RemoteAction._validate_action_result is not _validate_action_result:
        RemoteAction._validate_action_result = _validate_action_result  # type: ignore
        Event.resolve_by_type = staticmethod(_resolve_by_type)  # type: ignore
        MessageProcessor._parse_message_with_graph = _parse_payload_or_run_graph  # type: ignore
        EndpointConfig.session = _kept_session  # type: ignore
        lock_store.LockStore.lock = _lock_polled_often  # type: ignore
        logger.info("codesign: cached the action response validator and event classes; "
                    "button payloads skip the NLU pipeline.")
