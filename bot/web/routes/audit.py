"""The audit trail page (admins only): filter, page through and download staff actions.

Filters are a GET form, so a filtered view has an address to share; downloading the
trail (CSV or JSON, the same filters) is itself recorded in it.
"""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException, Request
from fastapi.responses import HTMLResponse, StreamingResponse

from bot.audit import query as audit_query
from bot.audit.download import FORMATS
from bot.audit.query import PAGE_SIZE, AuditFilter, parse_action
from bot.audit.trail import LABELS, Action, Actor, record
from bot.store.db import session_scope
from bot.web.auth import Admin
from bot.web.deps import settings
from bot.web.render import render
from bot.web.routes.review_common import DbSession, admin_router, paging, parse_day, parse_int
from bot.web.streaming import stream_writer

router = admin_router()
PATH = "/review/audit"
BAD_DATE = "Write dates as YYYY-MM-DD; the {} date was left out of the filter."


def _filter(action: str, who: str, since: str, until: str,
            target: str) -> tuple[AuditFilter, list[str]]:
    """The filter from the query string, and what in it could not be used."""
    problems = [BAD_DATE.format(name) for name, value in (("first", since), ("last", until))
                if value.strip() and parse_day(value) is None]
    return AuditFilter(action=parse_action(action), who=who[:200], since=parse_day(since),
                       until=parse_day(until), target=target[:200]), problems


@router.get("/audit", response_class=HTMLResponse)
def audit(request: Request, session: DbSession, _admin: Admin, action: str = "",
          who: str = "", since: str = "", until: str = "", target: str = "",
          page: str = "1") -> HTMLResponse:
    """Staff actions, newest first, filtered by action, who, dates and target."""
    chosen, problems = _filter(action, who, since, until, target)
    number = parse_int(page) or 1
    rows, total = audit_query.page(session, chosen, number)
    query = chosen.as_query()
    return render(request, "audit.html", {
        "rows": rows, "total": total, "filter": chosen, "actions": LABELS,
        "problems": problems, "download_query": query,
        **paging(PATH, query, number, total, PAGE_SIZE)})


@router.get("/audit/download/{kind}")
def download(kind: str, request: Request, session: DbSession, admin: Admin, action: str = "",
             who: str = "", since: str = "", until: str = "",
             target: str = "") -> StreamingResponse:
    """The filtered trail as ``audit-trail.csv`` or ``audit-trail.json`` (recorded)."""
    chosen_format = FORMATS.get(kind)
    if chosen_format is None:
        raise HTTPException(status_code=404, detail="The audit trail downloads as csv or json.")
    chosen, _ = _filter(action, who, since, until, target)
    write, media_type = chosen_format
    record(session, Actor.staff(admin), Action.AUDIT_DOWNLOAD, "audit trail", format=kind,
           **{f"filter_{key}": value for key, value in chosen.as_query().items()})
    url = settings(request).database_url

    def produce(out: Any) -> None:
        with session_scope(url) as own:
            write(own, chosen, out)

    return StreamingResponse(
        stream_writer(produce, text=True), media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="audit-trail.{kind}"'})
