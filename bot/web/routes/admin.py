"""Admin pages: write or upload a consultation's YAML, check and preview it, launch it;
open and close consultations; publish the outcome ("you said, we did")."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from bot.audit.trail import Action, Actor, record
from bot.consultations.schema import ConsultationFileError, parse_consultation
from bot.review.outcomes import OutcomeError, publish_outcome
from bot.store.repository import launch_consultation
from bot.web.auth import Admin, StaffUser
from bot.web.render import render
from bot.web.routes.review_common import (
    DbSession,
    admin_router,
    back,
    flash,
    known_consultation,
)

router = admin_router()
MAX_YAML_BYTES = 256 * 1024
NEW_PATH = "/review/admin/consultations/new"


def _editor(request: Request, source: str, *, errors: list[str] | None = None,
            definition: dict[str, Any] | None = None, slug: str | None = None,
            status_code: int = 200) -> HTMLResponse:
    return render(request, "edit.html", {"source": source, "errors": errors or [],
                                         "definition": definition, "slug": slug},
                  status_code=status_code)


@router.get("/admin/consultations/new", response_class=HTMLResponse)
def new_consultation(request: Request, _user: Admin) -> HTMLResponse:
    """An empty editor for a new consultation's YAML (or a file to upload)."""
    return _editor(request, "")


@router.get("/c/{slug}/edit", response_class=HTMLResponse)
def edit_consultation(slug: str, request: Request, session: DbSession,
                      _user: Admin) -> HTMLResponse:
    """The editor with the consultation's current YAML; launching a change adds a version."""
    found = known_consultation(session, slug)
    assert found.current_version is not None  # known_consultation checks it
    return _editor(request, found.current_version.source_yaml, slug=slug)


async def _source(text: str, upload: UploadFile | None) -> tuple[str, str | None]:
    """The YAML from the uploaded file (when one was chosen) or the text area."""
    if upload is not None and upload.filename:
        data = await upload.read(MAX_YAML_BYTES + 1)
        if len(data) > MAX_YAML_BYTES:
            return "", f"the file is larger than {MAX_YAML_BYTES // 1024} KB"
        try:
            return data.decode("utf-8"), None
        except UnicodeDecodeError:
            return "", "the file is not UTF-8 text"
    if len(text.encode()) > MAX_YAML_BYTES:
        return "", f"the text is larger than {MAX_YAML_BYTES // 1024} KB"
    return text, None


@router.post("/admin/consultations", response_class=HTMLResponse)
async def check_or_launch(request: Request, session: DbSession, user: Admin,
                          source: Annotated[str, Form()] = "",
                          file: Annotated[UploadFile | None, File()] = None,
                          action: Annotated[str, Form()] = "preview") -> Response:
    """Validate the YAML as the CLI does; preview it, or launch it when asked and valid."""
    text, problem = await _source(source, file)
    if problem:
        return _editor(request, source, errors=[problem], status_code=400)
    try:
        definition = parse_consultation(text)
    except ConsultationFileError as invalid:
        return _editor(request, text, errors=[str(issue) for issue in invalid.issues],
                       status_code=400)
    if action != "launch":
        return _editor(request, text, definition=definition, slug=definition["slug"])
    result = launch_consultation(session, definition, text)
    slug = definition["slug"]
    record(session, Actor.staff(user), Action.CONSULTATION_LAUNCH, slug,
           version=result.version.number, new_version=result.new_version)
    if result.new_version:
        flash(request, f"Launched version {result.version.number} of “{result.version.title}”: "
                       "it is open for answers.")
    else:
        flash(request, "Nothing changed in the questions; the consultation is open"
                       + (" again." if result.reopened else "."))
    return RedirectResponse(f"/review/c/{slug}", status_code=303)


def _set_status(request: Request, session: Session, slug: str, status: str,
                message: str, user: StaffUser, action: Action) -> RedirectResponse:
    known_consultation(session, slug).status = status
    record(session, Actor.staff(user), action, slug)
    flash(request, message)
    return back(None, f"/review/c/{slug}")


@router.post("/c/{slug}/close")
def close(slug: str, request: Request, session: DbSession, user: Admin) -> RedirectResponse:
    """Close a consultation to new answers (what was said is kept)."""
    return _set_status(request, session, slug, "closed",
                       "Closed the consultation: citizens can no longer take part.",
                       user, Action.CONSULTATION_CLOSE)


@router.post("/c/{slug}/open")
def reopen(slug: str, request: Request, session: DbSession, user: Admin) -> RedirectResponse:
    """Open a closed consultation again (within its dates, if it has any)."""
    return _set_status(request, session, slug, "open", "Opened the consultation for answers.",
                       user, Action.CONSULTATION_REOPEN)


@router.post("/c/{slug}/outcome")
def outcome(slug: str, request: Request, session: DbSession, user: Admin,
            text: Annotated[str, Form()] = "") -> RedirectResponse:
    """Publish "you said, we did": participants who asked to hear back will be told."""
    found = known_consultation(session, slug)
    try:
        published = publish_outcome(session, found.id, text, user.id)
        record(session, Actor.staff(user), Action.OUTCOME_PUBLISH, slug, outcome=published.id)
        flash(request, "Published the outcome. Participants who asked to hear back will be "
                       "told: on Telegram now, on the web when they return.")
    except OutcomeError as problem:
        flash(request, f"The outcome was not published: {problem}.", "error")
    return back(None, f"/review/c/{slug}#outcome")
