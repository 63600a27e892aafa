"""``codesign privacy``: retention, and a citizen's requests to see or erase their data."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import typer

from bot.audit.trail import Action, Actor, record
from bot.cli.common import fail, migrated_database_url, store
from bot.config import Settings
from bot.privacy.requests import DataRequests
from bot.privacy.subject import Channel, Subject
from bot.store.retention import DEFAULT_LOG_RETENTION_DAYS, purge_expired

app = typer.Typer(help="Personal data: delete what is past each consultation's retention "
                       "period; answer a citizen's request for a copy of their data (export) "
                       "or to erase it (erase). Run these with the bot's CODESIGN_SECRET_KEY "
                       "and DATABASE_URL (embedded default: `source scripts/env.sh` first).",
                  no_args_is_help=True)

CHANNEL = typer.Option(..., "--channel", "-c", show_default=False,
                       help="Where the citizen took part: telegram, web (the chat widget), "
                            "rest (Rasa's REST channel used directly), or phone or paper "
                            "(a response staff took).")
RAW_ID = typer.Option(..., "--id", show_default=False,
                      help="telegram: the citizen's chat id (a number, e.g. 123456789); web: "
                           "the chat widget's session id (e.g. "
                           "3f2b8c1e-9d4a-4f6b-8e2d-1a2b3c4d5e6f); rest: the sender id; "
                           "phone, paper: the response number staff were shown.")
NO_KEY_HINT = ("Use the key the bot runs with (on the embedded default, `source scripts/env.sh` "
               "reads it from var/secret.key).")


@app.command()
def purge(
    dry_run: bool = typer.Option(False, "--dry-run", help="Only count what would be deleted."),
    log_days: int = typer.Option(DEFAULT_LOG_RETENTION_DAYS, "--log-days", min=1,
                                 help="Keep anonymous service questions this many days."),
) -> None:
    """Delete participations older than their consultation's retention_days (run daily)."""
    with store() as session:
        report = purge_expired(session, dry_run=dry_run, log_retention_days=log_days)
        if not dry_run:
            record(session, Actor.cli(), Action.PRIVACY_PURGE, "retention",
                   participations=report.participations, participants=report.participants,
                   anonymous_questions=report.anonymous_questions,
                   tracker_events=report.tracker_events)
    verb = "would delete" if dry_run else "deleted"
    typer.echo(f"{verb}: {report.participations} participations, {report.participants} "
               f"participants, {report.anonymous_questions} anonymous service questions, "
               f"{report.tracker_events} conversation events")


def _find(channel: Channel, raw_id: str) -> tuple[DataRequests, Subject]:
    """The requests desk and the citizen, or exit with a clear error."""
    try:
        secret = Settings.from_env().secret_key
    except RuntimeError as problem:
        fail(f"{problem} {NO_KEY_HINT}")
    requests = DataRequests(migrated_database_url(), secret)
    try:
        return requests, requests.subject(channel, raw_id)
    except ValueError as problem:
        fail(f"--id: {problem}", code=2)


def _nothing_found(channel: Channel) -> str:
    return (f"nothing is stored about that {channel.value} id. Check the id and the channel, "
            "and that CODESIGN_SECRET_KEY is the bot's: another key finds nobody.")


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by its owner only, replacing it at once."""
    part = path.with_name(path.name + ".part")
    descriptor = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
    part.replace(path)


@app.command("export")
def export_command(
    channel: Channel = CHANNEL,
    raw_id: str = RAW_ID,
    output: Path | None = typer.Option(None, "--output", "-o",
                                       help="Write to this file (readable by you only) "
                                            "instead of standard output."),
) -> None:
    """Write everything stored about one citizen as JSON (a subject-access request).

    The citizen is found as the bot finds them, through the pseudonym of their channel id
    under CODESIGN_SECRET_KEY: their participations with the consultation's title, their
    answers with earlier versions and the service answers they had seen, the questions
    they asked, the conversations, whether they asked to hear the outcome, the
    conversation in Rasa's tracker store and what the Telegram bridge holds for them.
    The request is recorded in the audit trail under the pseudonym's first characters,
    never the id.

    Exit status: 0 when written; 1 when nothing is stored about that id (nothing is
    written) or on an error; 2 when the id is not of the channel's form.
    """
    requests, subject = _find(channel, raw_id)
    data, found = requests.export(subject, Actor.cli())
    if found.empty:
        fail(_nothing_found(channel))
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    if output is None:
        sys.stdout.write(text)
    else:
        _write_private(output, text)
    typer.secho(f"exported: {', '.join(found.lines())}", err=True)


@app.command()
def erase(
    channel: Channel = CHANNEL,
    raw_id: str = RAW_ID,
    yes: bool = typer.Option(False, "--yes", "-y",
                             help="Erase without asking (for scripts)."),
) -> None:
    """Erase everything stored about one citizen (a request to be forgotten).

    Deletes what "forget me" deletes (participations, answers and their earlier
    versions, service questions, transcripts, requests to hear the outcome, staff tags
    and notes on their answers), their conversation in Rasa's tracker store, and all the
    Telegram bridge keeps for their chat. Shows what will be deleted and asks first;
    --yes skips the question. With nobody to answer (no input) and no --yes, nothing is
    deleted. Recorded in the audit trail with the counts, under the pseudonym's first
    characters, never the id.

    Exit status: 0 when erased; 1 when nothing is stored about that id, when the answer
    was no or missing, or on an error; 2 when the id is not of the channel's form.
    """
    requests, subject = _find(channel, raw_id)
    found = requests.inventory(subject)
    if found.empty:
        requests.erase(subject, Actor.cli())  # the answer "nothing stored" is on record
        fail(_nothing_found(channel))
    typer.echo(f"Stored about {subject.reference} (channel:pseudonym):")
    for line in found.lines():
        typer.echo(f"  {line}")
    if not yes:
        try:
            confirmed = typer.confirm("Delete all of this? It cannot be undone", default=False)
        except typer.Abort:
            fail("no answer (no input): nothing was deleted. Pass --yes to erase without "
                 "asking.")
        if not confirmed:
            typer.echo("Nothing was deleted.")
            raise typer.Exit(1)
    erased = requests.erase(subject, Actor.cli())
    typer.echo(f"Deleted: {', '.join(erased.lines())}.")
