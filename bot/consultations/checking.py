"""Validation helpers shared by the consultation and population file readers: every
problem is collected as ``line N: path: message`` rather than stopping at the first."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Issue:
    """One problem in a consultation or population file."""

    path: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line else ""
        return f"{where}{self.path}: {self.message}" if self.path else f"{where}{self.message}"


class ConsultationFileError(ValueError):
    """A consultation or population file failed validation; ``issues`` lists every
    problem."""

    def __init__(self, issues: list[Issue], source: str = "") -> None:
        self.issues = issues
        self.source = source
        prefix = f"{source}: " if source else ""
        super().__init__("\n".join(f"{prefix}{issue}" for issue in issues))


@dataclass
class Checker:
    """Collects the problems of one file, each with the line of the field it names
    (or of the nearest enclosing field)."""

    lines: dict[str, int]
    issues: list[Issue] = field(default_factory=list)

    def add(self, path: str, message: str) -> None:
        line = self.lines.get(path)
        probe = path
        while line is None and probe:
            probe = re.sub(r"(\.[^.\[\]]+|\[\d+\])$", "", probe)
            if probe == path:
                break
            line = self.lines.get(probe)
        self.issues.append(Issue(path, message, line))

    def text(self, data: dict[str, Any], key: str, path: str, *, required: bool,
             max_length: int = 2000) -> str | None:
        value = data.get(key)
        where = f"{path}.{key}" if path else key
        if value is None:
            if required:
                self.add(where if key in data else path or key, f"'{key}' is required"
                         if key not in data else "must not be empty")
            return None
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            self.add(where, "must be text")
            return None
        text = " ".join(str(value).split())
        if not text:
            if required:
                self.add(where, "must not be empty")
            return None
        if len(text) > max_length:
            self.add(where, f"is too long ({len(text)} characters, at most {max_length})")
        return text

    def unknown_keys(self, data: dict[str, Any], allowed: set[str] | dict[str, bool],
                     path: str) -> None:
        for key in data:
            if key not in allowed:
                hint = difflib.get_close_matches(str(key), list(allowed), n=1)
                suggestion = f" (did you mean '{hint[0]}'?)" if hint else ""
                self.add(f"{path}.{key}" if path else str(key),
                         f"unknown field '{key}'{suggestion}")
