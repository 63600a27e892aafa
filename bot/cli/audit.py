"""``codesign audit``: read the audit trail of staff actions (it cannot be changed)."""

from __future__ import annotations

import json
from datetime import datetime

import typer

from bot.audit.download import as_record
from bot.audit.query import AuditFilter, page
from bot.audit.trail import Action
from bot.cli.common import store
from bot.store.models import as_utc

app = typer.Typer(help="The audit trail: who did what, when, to what (sign-ins, exports, "
                       "launches, outcomes, users, tokens, privacy requests, documents).",
                  no_args_is_help=True)
DAY = ["%Y-%m-%d"]


@app.command("list")
def list_entries(
    action: Action | None = typer.Option(None, "--action", "-a", help="Only this action."),
    who: str = typer.Option("", "--who", help="Part of the actor's e-mail, or cli:"),
    target: str = typer.Option("", "--target", help="Part of the target."),
    since: datetime | None = typer.Option(None, "--since", formats=DAY,
                                          help="From this day (UTC), YYYY-MM-DD."),
    until: datetime | None = typer.Option(None, "--until", formats=DAY,
                                          help="Up to and including this day (UTC)."),
    limit: int = typer.Option(50, "--limit", min=1, max=100_000,
                              help="At most this many entries, newest first."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON array."),
) -> None:
    """List audit entries, newest first (the review area's Audit trail page downloads all)."""
    chosen = AuditFilter(action=action, who=who, target=target,
                         since=since.date() if since else None,
                         until=until.date() if until else None)
    with store() as session:
        rows, total = page(session, chosen, 1, limit)
        records = [as_record(entry) for entry in rows]
    if as_json:
        typer.echo(json.dumps(records, indent=2, ensure_ascii=False))
        return
    if not records:
        typer.echo("No audit entry matches.")
        return
    for entry in records:
        at = as_utc(datetime.fromisoformat(entry["at"])).strftime("%Y-%m-%d %H:%M:%S")
        detail = " ".join(f"{k}={v}" for k, v in sorted((entry["detail"] or {}).items()))
        typer.echo(f"{at}  {entry['actor']:30} {entry['action']:24} {entry['target']}"
                   + (f"  [{detail}]" if detail else ""))
    if total > len(records):
        typer.echo(f"({len(records)} of {total}; use --limit or filters for more)", err=True)
