"""YAML loading that keeps line numbers and reads ``yes``/``no`` as text.

Consultation files are written by people: ``options: [Yes, No]`` must mean the words,
not booleans (YAML 1.1 would turn them into ``true``/``false``), and validation errors
must name the line.

Whatever the text, loading ends in data or ``YamlSyntaxError``: a file longer than
``MAX_TEXT_CHARS``, nested deeper than ``MAX_DEPTH`` or using anchors and aliases (a
few lines of them expand to billions of values, or to a value containing itself) is
refused with a message, and a number too long to be one stays text.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

#: The longest text loaded (a consultation file is a few thousand characters).
MAX_TEXT_CHARS = 1_000_000
#: How deep lists and mappings may nest (a consultation file needs five levels).
MAX_DEPTH = 32
#: A number written with more characters than this stays text.
MAX_NUMBER_CHARS = 100


class _TextFriendlyLoader(yaml.SafeLoader):
    """SafeLoader where only true/false are booleans (YAML 1.2 style), with no aliases
    and a bounded nesting depth."""

    _depth = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None, None, "anchors and aliases (&name, *name) are not supported: write "
                "the value out in full", event.start_mark)
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise yaml.composer.ComposerError(
                    None, None, f"nested more than {MAX_DEPTH} levels deep",
                    self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


_TextFriendlyLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_TextFriendlyLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


def _timestamp_or_text(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Any:
    """A date-like scalar that is not a real date (2027-02-30) stays text for validation."""
    try:
        return loader.construct_yaml_timestamp(node)
    except ValueError:
        return loader.construct_scalar(node)


_TextFriendlyLoader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_or_text)


def _int_or_text(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Any:
    """A whole number written with very many digits stays text (Python refuses to turn
    an integer of more than 4,300 digits into text and back)."""
    if len(str(node.value)) > MAX_NUMBER_CHARS:
        return loader.construct_scalar(node)
    return loader.construct_yaml_int(node)


_TextFriendlyLoader.add_constructor("tag:yaml.org,2002:int", _int_or_text)


class YamlSyntaxError(ValueError):
    """The text is not valid YAML; ``line`` is 1-based when known."""

    def __init__(self, message: str, line: int | None) -> None:
        super().__init__(message)
        self.line = line


def load_with_lines(text: str) -> tuple[Any, dict[str, int]]:
    """Parse YAML text into Python data plus a map of value paths to 1-based lines.

    Paths look like ``questions[2].options`` (list indexes are 0-based).

    Raises:
        YamlSyntaxError: when the text is not valid YAML, or longer, deeper or more
            entangled than a consultation file can be (see the module's docstring).
    """
    if len(text) > MAX_TEXT_CHARS:
        raise YamlSyntaxError(f"the text is too long ({len(text):,} characters; at most "
                              f"{MAX_TEXT_CHARS:,})", None)
    try:
        loader = _TextFriendlyLoader(text)
    except yaml.YAMLError as exc:  # a character YAML does not allow, e.g. NUL
        raise YamlSyntaxError(str(exc), None) from exc
    try:
        node = loader.get_single_node()
        lines: dict[str, int] = {}
        if node is None:
            return None, lines
        _record_lines(node, "", lines)
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise YamlSyntaxError(f"{exc.problem or exc}", line) from exc
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(str(exc), None) from exc
    finally:
        loader.dispose()
    return data, lines


def _record_lines(node: yaml.Node, path: str, lines: dict[str, int]) -> None:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = str(key_node.value)
            child = f"{path}.{key}" if path else key
            lines[child] = key_node.start_mark.line + 1
            _record_lines(value_node, child, lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _record_lines(item, f"{path}[{index}]", lines)
