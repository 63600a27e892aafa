"""``codesign privacy``: keep personal data no longer than each consultation promises."""

from __future__ import annotations

import typer

from bot.cli.common import store
from bot.store.retention import DEFAULT_LOG_RETENTION_DAYS, purge_expired

app = typer.Typer(help="Data retention: delete what is past each consultation's retention period.",
                  no_args_is_help=True)


@app.command()
def purge(
    dry_run: bool = typer.Option(False, "--dry-run", help="Only count what would be deleted."),
    log_days: int = typer.Option(DEFAULT_LOG_RETENTION_DAYS, "--log-days", min=1,
                                 help="Keep anonymous service questions this many days."),
) -> None:
    """Delete participations older than their consultation's retention_days (run daily)."""
    with store() as session:
        report = purge_expired(session, dry_run=dry_run, log_retention_days=log_days)
    verb = "would delete" if dry_run else "deleted"
    typer.echo(f"{verb}: {report.participations} participations, {report.participants} "
               f"participants, {report.anonymous_questions} anonymous service questions, "
               f"{report.tracker_events} conversation events")
