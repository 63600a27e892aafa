"""The Knowledge page (admins): the collections of service documents the bot cites, with
their documents and glossaries; uploading documents, ingested in the background with
progress; removing one; editing a collection's glossary.

Ingesting and removing share ``bot.knowledge.ingest`` with the CLI. Every change writes a
new index generation of all collections, swapped in atomically; the running action server
picks it up by itself. One ingest job runs at a time (key ``knowledge``, across web
workers), and removing waits until it has finished: each rebuild then starts from what the
other committed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Annotated

from fastapi import Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from bot.audit.trail import Action, Actor, record
from bot.knowledge import catalogue, glossaries
from bot.knowledge.documents import SUPPORTED_SUFFIXES
from bot.knowledge.glossaries import general
from bot.knowledge.glossary import GlossaryError
from bot.knowledge.ingest import IngestReport, check_collection, ingest, remove_document
from bot.review.themes import Progress
from bot.store import repository as repo
from bot.store.db import session_scope
from bot.store.models import KnowledgeDocument, KnowledgeGlossary, utcnow
from bot.web import knowledge_uploads as uploads
from bot.web.auth import Admin, StaffUser
from bot.web.deps import settings
from bot.web.jobs import Job, JobRunner
from bot.web.render import render
from bot.web.routes.review_common import DbSession, admin_router, flash

router = admin_router()
KNOWLEDGE_PATH = "/review/admin/knowledge"
JOB_KEY = "knowledge"
BUSY = ("Documents are being added to the knowledge base right now: wait until that has "
        "finished (its progress is shown at the top of the page), then try again.")
MAX_FIELD = 200
#: The longest glossary text accepted from the page (2,000 entries fit).
MAX_GLOSSARY_CHARS = 200_000


@dataclass(frozen=True)
class DocumentRow:
    """A document as the page lists it."""

    title: str
    path: str
    url: str | None
    format: str
    passages: int
    ingested_at: datetime
    uploaded: bool

    @property
    def link(self) -> str | None:
        """The document's web address when it is one a page may link to."""
        return self.url if self.url and self.url.startswith(("https://", "http://")) else None


@dataclass(frozen=True)
class Usage:
    """A consultation whose current version names a collection."""

    slug: str
    title: str
    status: str


@dataclass
class CollectionView:
    """A collection with its documents, the consultations that search it and its
    glossary (as stored, or as the admin just submitted it with ``glossary_error``)."""

    name: str
    documents: list[DocumentRow] = field(default_factory=list)
    used_by: list[Usage] = field(default_factory=list)
    glossary: str = ""
    use_general: bool = True
    glossary_error: str = ""

    @property
    def passages(self) -> int:
        """How many passages its documents hold."""
        return sum(d.passages for d in self.documents)


def _jobs(request: Request) -> JobRunner:
    runner: JobRunner = request.app.state.jobs
    return runner


def _usage(session: Session) -> dict[str, list[Usage]]:
    """Collection name -> the consultations whose current version lists it, by title.

    The consultations come with their versions loaded (``list_consultations``: two
    queries, however many there are).
    """
    current = [(version.title, consultation.slug, consultation.status, version.definition)
               for consultation in repo.list_consultations(session)
               if (version := consultation.current_version) is not None]
    used: dict[str, list[Usage]] = defaultdict(list)
    for title, slug, status, definition in sorted(current, key=lambda row: row[0]):
        for name in (definition or {}).get("knowledge") or []:
            used[str(name)].append(Usage(slug, title, status))
    return used


def _collections(session: Session, var: Path) -> list[CollectionView]:
    """Every collection holding documents or named by a consultation, by name."""
    views: dict[str, CollectionView] = {}
    kept: dict[str, set[str]] = {}
    for document in catalogue.documents(session):
        name = document.collection
        if name not in views:
            views[name] = CollectionView(name)
            kept[name] = uploads.uploaded_names(var, name)
        views[name].documents.append(DocumentRow(
            document.title, document.path, document.url, document.format, document.passages,
            document.ingested_at, document.path in kept[name]))
    for name, consultations in _usage(session).items():
        views.setdefault(name, CollectionView(name)).used_by = consultations
    for row in session.scalars(select(KnowledgeGlossary)):
        if row.collection in views:
            views[row.collection].glossary = row.text
            views[row.collection].use_general = row.use_general
    return [views[name] for name in sorted(views)]


def _shown_job(runner: JobRunner, job_id: str) -> Job | None:
    """The job asked for (a knowledge job only), else the one running."""
    job = runner.get(job_id) if job_id else runner.running(JOB_KEY)
    return job if job is not None and job.key == JOB_KEY else None


def _page(request: Request, session: Session, *, job: Job | None, collection: str = "",
          problems: list[str] | None = None, invalid: tuple[str, ...] = (),
          status_code: int = 200, edited: CollectionView | None = None) -> HTMLResponse:
    collections = _collections(session, settings(request).var)
    if edited is not None:  # show what the admin submitted, with what is wrong with it
        collections = [edited if c.name == edited.name else c for c in collections]
    return render(request, "knowledge.html", {
        "collections": collections, "job": job, "general_glossary": len(general()),
        "form": {"collection": collection}, "problems": problems or [], "invalid": invalid,
        "formats": uploads.FORMATS, "accept": ",".join(sorted(SUPPORTED_SUFFIXES)),
        "max_file_mb": uploads.MAX_FILE_BYTES // (1024 * 1024),
        "max_total_mb": uploads.MAX_TOTAL_BYTES // (1024 * 1024),
        "max_files": uploads.MAX_FILES}, status_code=status_code)


@router.get("/admin/knowledge", response_class=HTMLResponse)
def knowledge(request: Request, session: DbSession, _admin: Admin,
              job: str = "") -> HTMLResponse:
    """The collections with their documents, the upload form and an upload's progress."""
    return _page(request, session, job=_shown_job(_jobs(request), job))


def _counted(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def result_sentence(collection: str, report: IngestReport) -> str:
    """What an upload's ingest did, for people."""
    text = (f"Collection {collection}: {_counted(len(report.added), 'document')} added, "
            f"{len(report.updated)} updated, {len(report.unchanged)} unchanged; "
            f"{_counted(report.passages_embedded, 'passage')} embedded, "
            f"{report.passages_reused} reused.")
    if report.failed:
        text += (f" Skipped {_counted(len(report.failed), 'file')} that could not be read "
                 f"(not kept): {'; '.join(report.failed)}.")
    return text


def _ingest_work(database_url: str, var: Path, collection: str,
                 paths: list[Path]) -> Callable[[Progress], str]:
    """The job: ingest the saved files, reporting progress; broken files' copies go."""

    def work(progress: Progress) -> str:
        read = embedded = 0

        def on_file(name: str) -> None:
            nonlocal read
            read += 1
            progress(f"Reading {Path(name).name} ({read} of {len(paths)})",
                     0.3 * (read - 1) / len(paths))

        def on_embed(done: int, total: int) -> None:
            nonlocal embedded
            embedded += done
            progress(f"Embedding passages ({embedded} of {total})" if embedded < total
                     else "Rebuilding the search index", 0.3 + 0.65 * embedded / total)

        with session_scope(database_url) as session:
            report = ingest(session, paths, collection, var, on_file=on_file,
                            on_embed=on_embed)
        readable = set(report.added) | set(report.updated) | set(report.unchanged)
        for path in paths:
            if path.name not in readable:
                path.unlink(missing_ok=True)
        return result_sentence(collection, report)

    return work


@router.post("/admin/knowledge", response_class=HTMLResponse)
async def upload(request: Request, session: DbSession, admin: Admin) -> Response:
    """Keep the uploaded files under the data folder and ingest them in the background.

    The form is read here, not by FastAPI before the checks: the body of a request from
    anyone but a signed-in admin is never read (nor spooled to disk).
    """
    form = await request.form(max_files=uploads.MAX_FILES + 5, max_fields=20)
    collection = str(form.get("collection") or "").strip()[:MAX_FIELD]
    problems: list[str] = []
    try:
        check_collection(collection)
    except ValueError as bad_name:
        problems.append(f"Collection: {bad_name}." if collection else
                        "Collection: give the collection a name (a-z, 0-9, '-' and '_').")
    checked = await uploads.check_uploads(
        [value for value in form.getlist("files") if isinstance(value, UploadFile)])
    invalid: tuple[str, ...] = ("collection",) if problems else ()
    if checked.problems:
        problems += checked.problems
        invalid += ("files",)
    return await run_in_threadpool(_start_upload, request, session, admin, collection,
                                   checked.files, problems, invalid)


def _start_upload(request: Request, session: Session, admin: StaffUser, collection: str,
                  files: dict[str, bytes], problems: list[str],
                  invalid: tuple[str, ...]) -> Response:
    runner = _jobs(request)
    running = runner.running(JOB_KEY)
    if problems or running is not None:
        return _page(request, session, job=running, collection=collection,
                     problems=problems or [BUSY], invalid=invalid,
                     status_code=400 if problems else 409)
    var, asked = settings(request).var, utcnow()
    paths = uploads.save(var, collection, files)
    job = runner.start(JOB_KEY, _ingest_work(settings(request).database_url, var, collection,
                                             paths), started_by=admin.id)
    record(session, Actor.staff(admin), Action.KNOWLEDGE_ADD, collection, files=len(paths))
    if job.started_at is not None and job.started_at < asked:
        flash(request, "Another upload started just before yours, so your files were kept "
                       "but not added: upload them again when it has finished.", "error")
    return RedirectResponse(f"{KNOWLEDGE_PATH}?job={job.id}", status_code=303)


@router.post("/admin/knowledge/glossary", response_class=HTMLResponse)
def save_glossary(request: Request, session: DbSession, admin: Admin,
                  collection: Annotated[str, Form()] = "",
                  glossary: Annotated[str, Form()] = "",
                  use_general: Annotated[str, Form()] = "") -> Response:
    """Store a collection's glossary; the bot uses it within seconds. A glossary with a
    mistake is shown again with the mistake named, and nothing is stored."""
    collection = collection[:MAX_FIELD]
    view = next((c for c in _collections(session, settings(request).var)
                 if c.name == collection), None)
    if view is None:
        flash(request, f"There is no collection {collection}.", "error")
        return RedirectResponse(KNOWLEDGE_PATH, status_code=303)
    if len(glossary) > MAX_GLOSSARY_CHARS:
        problem = f"The glossary is too long: at most {MAX_GLOSSARY_CHARS:,} characters."
    else:
        try:
            entries = len(glossaries.save(session, collection, glossary.replace("\r\n", "\n"),
                                          use_general=bool(use_general)))
        except GlossaryError as exc:
            problem = str(exc)
        else:
            record(session, Actor.staff(admin), Action.KNOWLEDGE_GLOSSARY, collection,
                   entries=entries, general=bool(use_general))
            session.commit()
            counted = f"{entries} {'entry' if entries == 1 else 'entries'}"
            flash(request, f"Saved the glossary of {collection}: {counted}"
                           + (", with the general glossary." if use_general else
                              ", without the general glossary.")
                           + " The bot uses it within a few seconds.")
            return RedirectResponse(f"{KNOWLEDGE_PATH}#glossary-{collection}", status_code=303)
    edited = CollectionView(view.name, view.documents, view.used_by, glossary[:MAX_GLOSSARY_CHARS],
                            bool(use_general), problem)
    return _page(request, session, job=_shown_job(_jobs(request), ""), edited=edited,
                 status_code=400)


@router.post("/admin/knowledge/remove")
def remove(request: Request, session: DbSession, admin: Admin,
           collection: Annotated[str, Form()] = "",
           path: Annotated[str, Form()] = "") -> RedirectResponse:
    """Remove a document (and its passages, and its uploaded copy) and rebuild the index."""
    collection, path = collection[:MAX_FIELD], path[:1000]
    back = RedirectResponse(KNOWLEDGE_PATH, status_code=303)
    if _jobs(request).running(JOB_KEY) is not None:
        flash(request, f"Nothing was removed. {BUSY}", "error")
        return back
    title = session.scalar(select(KnowledgeDocument.title).where(
        KnowledgeDocument.collection == collection, KnowledgeDocument.path == path))
    var = settings(request).var
    if title is None or not remove_document(session, collection, path, var):
        flash(request, f"There is no document {path} in collection {collection} (it may have "
                       "been removed already).", "error")
        return back
    record(session, Actor.staff(admin), Action.KNOWLEDGE_REMOVE, f"{collection}/{path}")
    session.commit()
    copy = uploads.saved_copy(var, collection, path)
    if copy is not None:
        copy.unlink(missing_ok=True)
    flash(request, f"Removed “{title}” ({path}) from collection {collection}"
                   + (" and deleted its uploaded file." if copy else "."))
    return back
