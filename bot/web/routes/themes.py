"""Theme pages: a question's themes, recomputing them in the background, and editing them
(rename, merge, split, turn into a tag)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Form, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse

from bot.review import stats
from bot.review.coding import CodingError
from bot.review.theme_store import (
    merge_themes,
    recompute_themes,
    rename_theme,
    split_theme,
    theme_to_tag,
    themes_of,
)
from bot.review.themes import Progress
from bot.store.db import session_scope
from bot.web.auth import Reviewer
from bot.web.deps import settings
from bot.web.jobs import JobRunner
from bot.web.render import render
from bot.web.routes.review_common import (
    DbSession,
    back,
    flash,
    known_consultation,
    reviewer_router,
)

router = reviewer_router()
NOT_OPEN = "Themes are found for open questions only."
NO_JOB = "There is no such job (it may have finished long ago)."


def _jobs(request: Request) -> JobRunner:
    runner: JobRunner = request.app.state.jobs
    return runner


def _open_question(session: DbSession, consultation_id: int, key: str) -> str:
    for question in stats.current_questions(session, consultation_id):
        if question.key == key:
            if question.type != "open":
                raise HTTPException(status_code=404, detail=NOT_OPEN)
            return question.text
    raise HTTPException(status_code=404, detail="This consultation has no question with that id.")


def _job_key(consultation_id: int, key: str) -> str:
    return f"themes:{consultation_id}:{key}"


@router.get("/c/{slug}/q/{key}/themes", response_class=HTMLResponse)
def themes(slug: str, key: str, request: Request, session: DbSession,
           _user: Reviewer, job: str = "") -> HTMLResponse:
    """The question's themes, largest first, with keywords and representative quotes."""
    found = known_consultation(session, slug)
    text = _open_question(session, found.id, key)
    running = _jobs(request).get(job) if job else _jobs(request).running(
        _job_key(found.id, key))
    if running is not None and running.key != _job_key(found.id, key):
        running = None
    return render(request, "themes.html", {
        "c": found, "version": found.current_version, "key": key, "question_text": text,
        "themes": themes_of(session, found.id, key), "job": running})


@router.post("/c/{slug}/q/{key}/themes/recompute")
def recompute(slug: str, key: str, request: Request, session: DbSession,
              user: Reviewer) -> RedirectResponse:
    """Start recomputing the question's themes in the background; the page shows progress."""
    found = known_consultation(session, slug)
    _open_question(session, found.id, key)
    consultation_id, url = found.id, settings(request).database_url

    def work(progress: Progress) -> str:
        with session_scope(url) as own:
            made = recompute_themes(own, consultation_id, key, progress=progress)
        return f"Found {made} theme{'s' if made != 1 else ''}."

    job = _jobs(request).start(_job_key(found.id, key), work, started_by=user.id)
    return RedirectResponse(f"/review/c/{slug}/q/{key}/themes?job={job.id}", status_code=303)


@router.get("/jobs/{job_id}")
def job_progress(job_id: str, request: Request, _user: Reviewer) -> JSONResponse:
    """A background job's progress, for the page to poll."""
    job = _jobs(request).get(job_id)
    if job is None:
        raise HTTPException(status_code=404, detail=NO_JOB)
    return JSONResponse(job.as_json())


def _edit(request: Request, session: DbSession, slug: str, key: str, done: str,
          action: Callable[[], object]) -> RedirectResponse:
    """Run a theme edit in a savepoint (all or nothing); say what happened."""
    try:
        with session.begin_nested():
            action()
        flash(request, done)
    except CodingError as problem:
        flash(request, f"Nothing was changed: {problem}.", "error")
    return back(None, f"/review/c/{slug}/q/{key}/themes")


@router.post("/c/{slug}/q/{key}/themes/{theme_id}/rename")
def rename(slug: str, key: str, theme_id: int, request: Request, session: DbSession,
           _user: Reviewer, label: Annotated[str, Form()] = "") -> RedirectResponse:
    """Give a theme a reviewer's name."""
    found = known_consultation(session, slug)
    return _edit(request, session, slug, key, "Renamed the theme.",
                 lambda: rename_theme(session, found.id, theme_id, label))


@router.post("/c/{slug}/q/{key}/themes/merge")
def merge(slug: str, key: str, request: Request, session: DbSession, _user: Reviewer,
          theme: Annotated[list[int] | None, Form()] = None,
          into: Annotated[int | None, Form()] = None) -> RedirectResponse:
    """Merge the chosen themes into one (``into``, or the first chosen)."""
    found = known_consultation(session, slug)
    chosen = list(dict.fromkeys(theme or []))
    if len(chosen) < 2:
        flash(request, "Choose at least two themes to merge.", "error")
        return back(None, f"/review/c/{slug}/q/{key}/themes")
    target = into if into in chosen else chosen[0]
    return _edit(request, session, slug, key, f"Merged {len(chosen)} themes.",
                 lambda: merge_themes(session, found.id, target,
                                      [t for t in chosen if t != target]))


@router.post("/c/{slug}/q/{key}/themes/{theme_id}/split")
def split(slug: str, key: str, theme_id: int, request: Request, session: DbSession,
          _user: Reviewer, parts: Annotated[int, Form()] = 2) -> RedirectResponse:
    """Split a theme into ``parts`` (2 to 6) by clustering its answers again."""
    found = known_consultation(session, slug)
    return _edit(request, session, slug, key, "Split the theme.",
                 lambda: split_theme(session, found.id, theme_id, min(max(parts, 2), 6)))


@router.post("/c/{slug}/q/{key}/themes/{theme_id}/tag")
def make_tag(slug: str, key: str, theme_id: int, request: Request, session: DbSession,
             _user: Reviewer) -> RedirectResponse:
    """Turn a theme into a codebook tag given to all of its answers."""
    found = known_consultation(session, slug)
    return _edit(request, session, slug, key, "Made a tag from the theme and tagged its answers.",
                 lambda: theme_to_tag(session, found.id, theme_id))
