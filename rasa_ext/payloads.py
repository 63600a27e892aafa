"""Button payloads a citizen may send, and Rasa's internal intents, which they may not.

A message starting with "/" is a payload: Rasa takes its intent (and entities) as
given, without NLU. Rasa's internal intents act on the conversation itself:
``/restart`` wipes its slots (where the citizen is in a consultation), ``/back`` undoes
a turn, ``/session_start`` starts a new session; each left the citizen without a reply
(the chat fuzz found them). No button of the bot sends them, so on the public channels
such a message is read as the words it contains instead.

A payload Rasa cannot parse made it log a warning with the whole message: citizen text
in the log, as much as a hostile client sends. ``quiet_payload_warnings`` drops those
(Rasa resets the ``warnings`` filters after start-up, so its ``raise_warning`` is
wrapped instead). Rasa is imported only there: the app's tests load this file by its
path.
"""

import re
from typing import Any

INTERNAL_INTENTS = frozenset({"restart", "back", "session_start"})
#: How Rasa's warnings about an unparsable payload begin.
UNPARSABLE = "Failed to parse arguments in line"
_INTENT = re.compile(r"/([^{@]+)")


def as_citizen_text(text: str) -> str:
    """``text``, without its leading "/" when it names one of Rasa's internal intents."""
    found = _INTENT.match(text)
    if found and found.group(1).strip() in INTERNAL_INTENTS:
        return text[1:]
    return text


def quiet_payload_warnings() -> None:
    """Drop Rasa's warnings about payloads it could not parse (they quote the text)."""
    import rasa.shared.utils.io as rasa_io

    original = rasa_io.raise_warning
    if getattr(original, "codesign_quiet", False):
        return

    def raise_warning(message: str, *args: Any, **kwargs: Any) -> None:
        if not str(message).startswith(UNPARSABLE):
            original(message, *args, **kwargs)

    raise_warning.codesign_quiet = True  # type: ignore[attr-defined]
    rasa_io.raise_warning = raise_warning
