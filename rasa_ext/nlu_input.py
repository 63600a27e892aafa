"""What of a message NLU reads: its beginning, so no message costs much more than a
normal one.

DIET's work grows with the number of tokens: a 2,000-character message of one-letter
words (1,000 tokens) took about 300 ms to classify, a normal message 20 to 50 ms, and
Rasa runs NLU on its event loop, so every other citizen waits meanwhile. The intent of
a long message is in its first words (commands are short; a long text is an answer or a
question), so NLU reads at most the first ``MAX_NLU_WORDS`` words and
``MAX_NLU_CHARS`` characters. Everything else keeps the whole text: the tracker, the
actions (the answer stored is the whole message) and a button's payload, which is
unpacked before NLU (``rasa_ext.speedups``).
"""

import logging
from typing import Any, Dict, List, Optional, Text

from rasa.core.channels.channel import UserMessage
from rasa.core.processor import MessageProcessor
from rasa.graph_components.converters.nlu_message_converter import NLUMessageConverter
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message

logger = logging.getLogger(__name__)

MAX_NLU_WORDS = 64
MAX_NLU_CHARS = 400

_CONVERT = NLUMessageConverter.convert_user_message
_PARSE = MessageProcessor.parse_message


def nlu_text(text: Text) -> Text:
    """The part of ``text`` NLU reads: its first 64 words and at most 400 characters."""
    if len(text) <= MAX_NLU_CHARS and text.count(" ") < MAX_NLU_WORDS:
        return text
    words = text.split(maxsplit=MAX_NLU_WORDS)
    return " ".join(words[:MAX_NLU_WORDS])[:MAX_NLU_CHARS]


def _convert(self: NLUMessageConverter, messages: List[UserMessage]) -> List[Message]:
    converted = _CONVERT(self, messages)
    for message in converted:
        text = message.get(TEXT)
        if isinstance(text, str):
            message.set(TEXT, nlu_text(text))
    return converted


async def _parse(self: MessageProcessor, message: UserMessage,
                 tracker: Optional[Any] = None,
                 only_output_properties: bool = True) -> Dict[Text, Any]:
    parse_data = await _PARSE(self, message, tracker, only_output_properties)
    if message.text and parse_data.get(TEXT) != message.text:
        parse_data[TEXT] = message.text  # what the tracker and the actions see
    return parse_data


def apply() -> None:
    """Install the cap (idempotent)."""
    if NLUMessageConverter.convert_user_message is not _convert:
        NLUMessageConverter.convert_user_message = _convert  # type: ignore[method-assign]
        MessageProcessor.parse_message = _parse  # type: ignore[method-assign]
        logger.info("codesign: NLU reads the first %d words (%d characters) of a message.",
                    MAX_NLU_WORDS, MAX_NLU_CHARS)
