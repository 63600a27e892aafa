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
"""

import logging
from typing import Any, Dict, Text

from jsonschema import ValidationError
from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL
from rasa.shared.core.events import Event

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


def apply() -> None:
    """Install the speed-ups (idempotent)."""
    if RemoteAction._validate_action_result is not _validate_action_result:
        RemoteAction._validate_action_result = _validate_action_result  # type: ignore
        Event.resolve_by_type = staticmethod(_resolve_by_type)  # type: ignore
        logger.info("codesign: cached the action response validator and event classes.")
