"""Entry point of the ``codesign`` command (``codesign --help``)."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path

import typer

from bot.audit.trail import Action, Actor, record
from bot.cli import audit, backup, consultations, knowledge, ops, privacy, responses, users
from bot.cli.chat import chat
from bot.cli.common import database_url, fail, store
from bot.cli.telegram import telegram
from bot.store import repository as repo
from bot.store.db import migrate

app = typer.Typer(help="codesign: co-design consultations for public services.",
                  no_args_is_help=True, add_completion=False)
app.add_typer(consultations.app, name="consultations")
app.add_typer(knowledge.app, name="knowledge")
app.add_typer(ops.app, name="ops")
app.add_typer(privacy.app, name="privacy")
app.add_typer(users.app, name="users")
app.add_typer(audit.app, name="audit")
app.add_typer(responses.app, name="responses")
app.command()(chat)
app.command()(telegram)
backup.register(app)


class ExportFormat(StrEnum):
    """Export file formats."""

    json = "json"
    csv = "csv"
    xlsx = "xlsx"
    transcripts = "transcripts"
    participants = "participants"


@app.command()
def export(
    slug: str = typer.Argument(..., help="The consultation's slug."),
    format: ExportFormat = typer.Option(ExportFormat.json, "--format", "-f",
                                        help="json: one record per participation; "
                                             "csv or xlsx: one row per answer; "
                                             "transcripts: JSON Lines, one conversation "
                                             "per participation; participants: the Who "
                                             "took part figures (JSON)."),
    output: Path | None = typer.Option(None, "--output", "-o",
                                       help="Write to this file instead of standard output."),
) -> None:
    """Export a consultation's answers (pseudonymous participant ids only)."""
    from bot.export import (
        write_csv,
        write_json,
        write_participants,
        write_transcripts,
        write_xlsx,
    )

    if format == ExportFormat.xlsx and output is None:
        fail("an xlsx export needs --output FILE (it is not text)")
    text_writer = {ExportFormat.json: write_json, ExportFormat.csv: write_csv,
                   ExportFormat.transcripts: write_transcripts,
                   ExportFormat.participants: write_participants}.get(format)
    with store() as session:
        consultation = repo.get_consultation(session, slug)
        if consultation is None:
            fail(f"no consultation '{slug}' (see `codesign consultations list`)")
        record(session, Actor.cli(), Action.EXPORT, slug, format=format.value, via="cli")
        if output is None:
            assert text_writer is not None
            count = text_writer(session, consultation.id, slug, sys.stdout)
        else:
            tmp = output.with_name(output.name + ".part")
            if format == ExportFormat.xlsx:
                with tmp.open("wb") as binary:
                    count = write_xlsx(session, consultation.id, slug, binary)
            else:
                assert text_writer is not None
                with tmp.open("w", encoding="utf-8", newline="") as handle:
                    count = text_writer(session, consultation.id, slug, handle)
            tmp.replace(output)
    unit = "answers" if format in (ExportFormat.csv, ExportFormat.xlsx) else "participations"
    typer.secho(f"exported {count} {unit}", err=True)


@app.command("migrate")
def migrate_command() -> None:
    """Create or upgrade the database schema (also done by every command)."""
    migrate(database_url())
    typer.echo("database is up to date")


if __name__ == "__main__":
    app()
