"""``codesign ops``: running codesign as supervised processes (``make run``,
``make run-scaled``, and each machine of a multi-machine deployment)."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import typer

from bot.cli.common import fail
from bot.ops import layout as layouts
from bot.ops import preflight, render
from bot.ops.layout import LayoutError, Mode

app = typer.Typer(help="Run codesign as supervised processes: configuration, checks, "
                       "watchdog.", no_args_is_help=True)


@app.command()
def configure(
    mode: Mode = typer.Option(Mode.embedded, "--mode",
                              help="embedded: one of each process on its usual port "
                                   "(make run); scaled: several Rasa and action servers "
                                   "behind nginx (make run-scaled)."),
) -> None:
    """Write var/supervisord.conf (and var/nginx.conf in the scaled mode) for this machine.

    Which programs run here and on which ports comes from the environment: see
    `python -c "import bot.ops.layout; help(bot.ops.layout)"` for every variable
    (CODESIGN_PROGRAMS, CODESIGN_RASA_PROCESSES, CODESIGN_ACTION_PROCESSES,
    CODESIGN_WEB_WORKERS, CODESIGN_BIND, CODESIGN_PUBLIC_PORT, CODESIGN_*_UPSTREAMS, …).
    Prints the programs, one per line: name, health URL.
    """
    try:
        layout = layouts.from_env(mode)
        render.write(layout)
    except (LayoutError, ValueError) as exc:
        fail(str(exc))
    for program in layout.programs:
        typer.echo(f"{program.name}\t{program.health_url or '-'}")


@app.command()
def check(
    postgres: bool = typer.Option(True, help="Check PostgreSQL at DATABASE_URL."),
    redis: bool = typer.Option(True, help="Check Redis at REDIS_URL."),
    create_database: bool = typer.Option(False, "--create-database",
                                         help="Create DATABASE_URL's database if missing."),
) -> None:
    """Check the services the scaled mode needs; exit 1 naming the first one missing."""
    try:
        if postgres:
            preflight.check_postgres(os.environ.get("DATABASE_URL", ""), create_database)
        if redis:
            preflight.check_redis(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    except preflight.ServiceUnavailable as exc:
        fail(str(exc))
    typer.echo("services: OK")


@app.command()
def watchdog(
    programs: Path = typer.Option(..., "--programs", exists=True, dir_okay=False,
                                  help="The programs.json `codesign ops configure` wrote."),
    interval: float = typer.Option(5.0, min=0.5, help="Seconds between checks."),
    failures: int = typer.Option(3, min=1, help="Failed checks in a row before a restart."),
) -> None:
    """Restart programs that are running but stopped answering their health check
    (supervisord itself restarts programs that exit). Runs until stopped."""
    from bot.ops.watchdog import Watchdog, load

    logging.basicConfig(level=logging.INFO, stream=sys.stdout,
                        format="%(asctime)s [watchdog] %(levelname)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    supervisor, watched = load(programs)
    Watchdog(supervisor, watched, failures=failures).run_forever(interval)


@app.command()
def wait(
    programs: Path = typer.Option(..., "--programs", exists=True, dir_okay=False,
                                  help="The programs.json `codesign ops configure` wrote."),
    timeout: float = typer.Option(300.0, min=1, help="Seconds to wait at most."),
) -> None:
    """Wait until every program answers its health check (exit 1 naming the ones that
    did not, with the end of their logs)."""
    from bot.ops.readiness import wait_until_healthy
    from bot.ops.watchdog import load

    _, watched = load(programs)
    missing = wait_until_healthy({p.name: p.health_url for p in watched}, timeout,
                                 on_wait=lambda names: typer.echo(
                                     f"[ops] waiting for {', '.join(names)}…", err=True))
    if missing:
        logs = programs.parent / "logs"
        for name in missing:
            log = logs / f"{name}.log"
            tail = log.read_text(errors="replace").splitlines()[-15:] if log.exists() else []
            typer.echo(f"--- {log}\n" + "\n".join(tail), err=True)
        fail(f"not answering after {timeout:.0f} s: {', '.join(missing)} (logs above)")

