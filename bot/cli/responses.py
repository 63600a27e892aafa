"""``codesign responses``: responses taken on paper or by phone, imported from a file."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer

from bot.audit.trail import Action, Actor, record
from bot.cli.common import fail, store
from bot.review import assisted, response_import
from bot.store import repository as repo

app = typer.Typer(help="Responses taken by staff on paper or by phone (assisted digital).",
                  no_args_is_help=True)


class Channel(StrEnum):
    """How the responses were taken."""

    paper = "paper"
    phone = "phone"


#: The format, shown by ``--help`` (``\b`` keeps the lines as they are).
FORMAT_HELP = """Import responses taken on paper or by phone from a CSV or XLSX file.

\b
One row per response, one column per question id; row 1 names the
question ids (the ids in the consultation's YAML file).
- open question: the text as written;
- single choice: the option's text (any case) or its number (1 = first);
- multiple choice: options separated by ;  e.g. "Saturdays; Sundays" or "4;5";
- scale: the number (or a label's text);
- blank cell: the question was skipped (refused when it is required and
  asked); a question the branching (show_if) does not ask must be blank.
CSV: UTF-8 (Excel: "CSV UTF-8"), comma-separated. XLSX: the first sheet.
Blank rows are ignored.

\b
Every problem is listed with its row (header = row 1) and column, and
nothing is stored unless the whole file is valid: the responses are stored
in one transaction, completed, each with a random pseudonymous participant
id and the channel given. --dry-run checks the file and shows what would be
stored. The import is audited (responses.import, with the count only).
"""


@app.command("import", help=FORMAT_HELP)
def import_responses(
    slug: str = typer.Argument(..., help="The consultation's slug."),
    file: Path = typer.Argument(..., help="The responses: a .csv or .xlsx file."),
    channel: Channel = typer.Option(..., "--channel", case_sensitive=False,
                                    help="How the responses were taken: paper or phone."),
    dry_run: bool = typer.Option(False, "--dry-run",
                                 help="Check the file and show what would be stored; "
                                      "store nothing."),
) -> None:
    """Import responses taken on paper or by phone (see the help text above)."""
    from rich.progress import Progress

    with store() as session:
        consultation = repo.get_consultation(session, slug)
        if consultation is None or consultation.current_version is None:
            fail(f"no consultation '{slug}' (see `codesign consultations list`)")
        if not assisted.is_open(consultation):
            fail(f"'{slug}' is closed to new answers (or outside its dates), so no "
                 "response can be added; open it first (`codesign consultations launch`)")
        definition = consultation.current_version.definition
        try:
            checked = response_import.check(definition, response_import.read_rows(file))
        except response_import.ImportFileError as exc:
            fail(str(exc))
        if checked.problems:
            count = len(checked.problems)
            typer.secho(f"{file.name}: {count} problem{'s' if count != 1 else ''}; "
                        "nothing was stored.", err=True, fg=typer.colors.RED)
            for problem in checked.problems[:response_import.MAX_LISTED]:
                typer.echo(f"  {problem}", err=True)
            if count > response_import.MAX_LISTED:
                typer.echo(f"  … and {count - response_import.MAX_LISTED} more", err=True)
            raise typer.Exit(1)
        total = len(checked.responses)
        if total == 0:
            fail(f"{file.name} has no responses (only the header row)")
        _print_counts(definition, checked, channel.value, dry_run)
        if dry_run:
            typer.echo("Dry run: nothing was stored.")
            return
        with Progress(transient=True) as progress:
            task = progress.add_task("Storing responses", total=total)
            stored = response_import.store(
                session, consultation, channel.value, checked,
                on_stored=lambda done: progress.update(task, completed=done))
        record(session, Actor.cli(), Action.RESPONSE_IMPORT, slug, channel=channel.value,
               count=len(stored))
    typer.echo(f"Stored {len(stored)} {channel.value} response{'s' if len(stored) != 1 else ''} "
               f"in {slug} (participations {stored[0].id}–{stored[-1].id}).")


def _print_counts(definition: dict[str, object], checked: response_import.Checked,
                  channel: str, dry_run: bool) -> None:
    total = len(checked.responses)
    verb = "Would store" if dry_run else "Storing"
    typer.echo(f"{verb} {total} response{'s' if total != 1 else ''}, channel {channel}: "
               f"{channel} {total}.")
    if checked.blank_rows:
        typer.echo(f"({checked.blank_rows} blank row{'s' if checked.blank_rows != 1 else ''} "
                   "ignored.)")
    typer.echo(f"{'question':<26}{'answered':>9}{'skipped':>9}{'not asked':>11}")
    for qid, answered, skipped, not_asked in checked.counts(definition):  # type: ignore[arg-type]
        typer.echo(f"{qid:<26}{answered:>9}{skipped:>9}{not_asked:>11}")
