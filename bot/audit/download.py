"""The audit trail as a file: CSV (one row per entry) or a JSON array, newest first.

Both stream from ``bot.audit.query.entries``. The CSV's text cells are made safe for
spreadsheets (a failed sign-in's e-mail is typed by anyone, and could be a formula).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from typing import Any, TextIO

from sqlalchemy.orm import Session

from bot.audit.query import AuditFilter, entries
from bot.export import spreadsheet_cell
from bot.store.audit_models import AuditEntry
from bot.store.models import as_utc

COLUMNS = ["id", "at", "actor", "actor_id", "action", "target", "detail"]


def as_record(entry: AuditEntry) -> dict[str, Any]:
    """An entry as plain values (``at`` in ISO 8601, UTC)."""
    return {"id": entry.id, "at": as_utc(entry.at).isoformat(), "actor": entry.actor,
            "actor_id": entry.actor_id, "action": entry.action, "target": entry.target,
            "detail": entry.detail}


def write_csv(session: Session, chosen: AuditFilter, out: TextIO) -> int:
    """Write the matching entries as CSV; returns how many."""
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    count = 0
    for entry in entries(session, chosen):
        record = as_record(entry)
        detail = record["detail"]
        record["detail"] = json.dumps(detail, ensure_ascii=False, sort_keys=True) if detail \
            else ""
        writer.writerow([spreadsheet_cell(record[column]) for column in COLUMNS])
        count += 1
    return count


def write_json(session: Session, chosen: AuditFilter, out: TextIO) -> int:
    """Write the matching entries as a JSON array of objects; returns how many."""
    out.write("[")
    count = 0
    for entry in entries(session, chosen):
        out.write(("," if count else "") + "\n  "
                  + json.dumps(as_record(entry), ensure_ascii=False, sort_keys=True))
        count += 1
    out.write("\n]\n" if count else "]\n")
    return count


#: format -> (writer, media type)
FORMATS: dict[str, tuple[Callable[[Session, AuditFilter, TextIO], int], str]] = {
    "csv": (write_csv, "text/csv; charset=utf-8"),
    "json": (write_json, "application/json"),
}
