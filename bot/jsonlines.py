"""Reading JSON Lines whose every line must be a JSON object (blank lines skipped)."""

from __future__ import annotations

import json
from typing import Any


def objects(text: str) -> list[tuple[int, dict[str, Any]]]:
    """The objects of ``text`` with their line numbers (1-based).

    Raises:
        ValueError: "line N is not valid JSON (…)", "line N is nested too deeply" or
            "line N is not a JSON object".
    """
    rows = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"line {number} is not valid JSON ({exc.msg})") from None
        except RecursionError:
            raise ValueError(f"line {number} is nested too deeply") from None
        if not isinstance(row, dict):
            raise ValueError(f"line {number} is not a JSON object")
        rows.append((number, row))
    return rows
