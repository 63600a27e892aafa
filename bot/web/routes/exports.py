"""Downloads of a consultation's answers: CSV, XLSX, JSON and transcripts (JSON Lines).

Each export streams (``bot.web.streaming``): a thread with its own database session
writes, the response sends what it wrote, so memory stays flat however large it is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import HTTPException, Request
from fastapi.responses import StreamingResponse

from bot import export
from bot.audit.trail import Action, Actor, record
from bot.store.db import session_scope
from bot.web.auth import Reviewer
from bot.web.deps import settings
from bot.web.routes.review_common import DbSession, known_consultation, reviewer_router
from bot.web.streaming import stream_writer

router = reviewer_router()


@dataclass(frozen=True)
class Format:
    """An export format: its writer, file name suffix and media type."""

    write: Callable[..., int]
    suffix: str
    media_type: str
    text: bool = True


FORMATS = {
    "csv": Format(export.write_csv, "answers.csv", "text/csv; charset=utf-8"),
    "xlsx": Format(export.write_xlsx, "answers.xlsx",
                   "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                   text=False),
    "json": Format(export.write_json, "answers.json", "application/json"),
    "transcripts": Format(export.write_transcripts, "transcripts.jsonl",
                          "application/x-ndjson; charset=utf-8"),
    "participants": Format(export.write_participants, "who-took-part.json",
                           "application/json"),
}


@router.get("/c/{slug}/export/{kind}")
def download(slug: str, kind: str, request: Request, session: DbSession,
             user: Reviewer) -> StreamingResponse:
    """Download one export, named ``<slug>-<what>.<ext>``."""
    chosen = FORMATS.get(kind)
    if chosen is None:
        raise HTTPException(status_code=404, detail="There is no export of that kind.")
    found = known_consultation(session, slug)
    consultation_id, url = found.id, settings(request).database_url
    record(session, Actor.staff(user), Action.EXPORT, slug, format=kind, via="web")

    def write(out: Any) -> None:
        with session_scope(url) as own:
            chosen.write(own, consultation_id, slug, out)

    filename = f"{slug}-{chosen.suffix}"  # slugs are a-z, 0-9 and '-'
    return StreamingResponse(
        stream_writer(write, text=chosen.text), media_type=chosen.media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'})
