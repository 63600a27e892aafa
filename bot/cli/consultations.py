"""``codesign consultations``: validate, launch, list and close consultations."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer

from bot.audit.trail import Action, Actor, record
from bot.cli.common import fail, store
from bot.consultations.schema import ConsultationFileError, parse_consultation_file
from bot.store import repository as repo

app = typer.Typer(help="Write, check and launch consultations (YAML files).",
                  no_args_is_help=True)

FILES = typer.Argument(..., help="Consultation YAML files (or folders of them).",
                       exists=False)


def _expand(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files += sorted(list(path.glob("*.yml")) + list(path.glob("*.yaml")))
        else:
            files.append(path)
    return files


@app.command()
def validate(files: list[Path] = FILES) -> None:
    """Check consultation files; errors name the line and field."""
    bad = 0
    for file in _expand(files):
        try:
            definition = parse_consultation_file(file)
        except ConsultationFileError as exc:
            bad += 1
            typer.secho(str(exc), err=True, fg=typer.colors.RED)
            continue
        typer.echo(f"{file}: OK ({definition['slug']}, {len(definition['questions'])} questions)")
    if bad:
        raise typer.Exit(1)


@app.command()
def launch(
    files: list[Path] = FILES,
    only_new: bool = typer.Option(False, "--only-new",
                                  help="Skip consultations that already exist (first start)."),
) -> None:
    """Validate and launch (or update) consultations; citizens can take part at once.

    A changed file creates a new version; answers keep pointing at the version they
    answered. Launching a closed consultation reopens it.
    """
    definitions = []
    for file in _expand(files):
        try:
            definitions.append((parse_consultation_file(file), file.read_text(encoding="utf-8")))
        except ConsultationFileError as exc:
            typer.secho(str(exc), err=True, fg=typer.colors.RED)
            fail("nothing was launched; fix the errors above")
    with store() as session:
        for definition, source in definitions:
            if only_new and repo.get_consultation(session, definition["slug"]) is not None:
                continue
            result = repo.launch_consultation(session, definition, source)
            record(session, Actor.cli(), Action.CONSULTATION_LAUNCH, definition["slug"],
                   version=result.version.number, new_version=result.new_version)
            what = (f"launched version {result.version.number}" if result.new_version
                    else f"unchanged (version {result.version.number})")
            if result.reopened:
                what += ", reopened"
            typer.echo(f"{definition['slug']}: {what}")


@app.command("list")
def list_(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List consultations with status, version and participation counts."""
    import json

    with store() as session:
        counts = repo.participation_counts(session)
        rows = []
        for c in repo.list_consultations(session):
            version = c.current_version
            per_status = counts.get(c.id, {})
            opens = version.definition.get("opens") if version else None
            rows.append({
                "slug": c.slug, "title": version.title if version else "",
                # open now, not open yet (scheduled), or closed (by hand or past its dates)
                "status": ("open" if repo.is_open(c) else
                           "scheduled" if c.status == "open" and opens
                           and opens > date.today().isoformat() else "closed"),
                "version": version.number if version else 0,
                "opens": opens,
                "closes": version.definition.get("closes") if version else None,
                "participations": sum(per_status.values()),
                "completed": per_status.get("completed", 0),
            })
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        typer.echo("No consultations yet: launch one with `codesign consultations launch FILE`.")
        return
    typer.echo(f"{'SLUG':28} {'STATUS':9} {'VER':>3} {'CLOSES':10} {'TAKEN':>6} {'DONE':>5}  TITLE")
    for r in rows:
        typer.echo(f"{r['slug']:28} {r['status']:9} {r['version']:>3} {r['closes'] or '-':10} "
                   f"{r['participations']:>6} {r['completed']:>5}  {r['title']}")


@app.command()
def close(slug: str = typer.Argument(..., help="The consultation's slug.")) -> None:
    """Close a consultation: it stops taking answers; everything stored is kept."""
    with store() as session:
        if repo.close_consultation(session, slug) is None:
            fail(f"no consultation '{slug}' (see `codesign consultations list`)")
        record(session, Actor.cli(), Action.CONSULTATION_CLOSE, slug)
    typer.echo(f"{slug}: closed")
