"""Calibrating a collection's "not covered" decision from reviewers' labels (admins, on
the Knowledge gaps page): suggest thresholds (a background job: it searches every labelled
question with the embedding model, as the Knowledge page's uploads embed in one), apply
the suggestion, or go back to the defaults. Applied thresholds are stored per collection
(``bot.knowledge.collection_thresholds``); the bot uses them within seconds."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

from fastapi import Form, Request
from fastapi.responses import RedirectResponse

from bot.audit.trail import Action
from bot.knowledge import collection_thresholds
from bot.knowledge.answers import Thresholds
from bot.knowledge.ingest import check_collection
from bot.review import gap_labels
from bot.review.themes import Progress
from bot.store.db import session_scope
from bot.web.auth import Admin
from bot.web.deps import settings
from bot.web.jobs import Job, JobRunner
from bot.web.routes.review_common import DbSession, admin_router, done, flash

router = admin_router()
GAPS_PATH = "/review/gaps"
BACK = f"{GAPS_PATH}#calibration"
JOB_PREFIX = "calibrate:"
MAX_FIELD = 200


def _jobs(request: Request) -> JobRunner:
    runner: JobRunner = request.app.state.jobs
    return runner


def _collection(request: Request, value: str) -> str | None:
    """``value`` when it is a collection name, else None (an error message flashed)."""
    try:
        check_collection(value[:MAX_FIELD])
    except ValueError:
        flash(request, "That is not a collection name: nothing was changed.", "error")
        return None
    return value


def _default() -> Thresholds:
    try:
        return Thresholds.from_env()
    except ValueError:
        return Thresholds()


def suggestion_work(database_url: str, var: Path, collection: str) -> Callable[[Progress], str]:
    """The job: score the collection's labelled questions and suggest thresholds; its
    result is the suggestion as JSON (``Suggestion.as_dict``), read by ``shown``."""

    def work(progress: Progress) -> str:
        from bot.knowledge.glossaries import GlossaryBook
        from bot.knowledge.review_calibration import needs_both, suggest
        from bot.knowledge.search import KnowledgeSearcher

        progress("Reading the labelled questions", 0.0)
        with session_scope(database_url) as session:
            cases = gap_labels.cases(session, collection).get(collection, [])
            current = collection_thresholds.for_collection(session, collection, _default())
        if not cases:
            raise RuntimeError(f"no question of {collection} is labelled yet")
        answered = sum(c.covered for c in cases)
        problem = needs_both(answered, len(cases) - answered)
        if problem:
            raise RuntimeError(problem)
        progress("Loading the knowledge base", 0.05)
        searcher = KnowledgeSearcher(var, database_url)
        if collection not in searcher.collections():
            raise RuntimeError(f"the collection {collection} has no documents")
        scored = 0

        def on_case() -> None:
            nonlocal scored
            scored += 1
            progress(f"Searching the labelled questions ({scored} of {len(cases)})",
                     0.1 + 0.85 * scored / len(cases))

        result = suggest(searcher, collection, cases, current,
                         glossary=GlossaryBook(database_url).for_collections([collection]),
                         on_case=on_case)
        return json.dumps(result.as_dict())

    return work


def shown(runner: JobRunner, job_id: str) -> dict[str, Any] | None:
    """A calibration job for the gaps page: the job, and its suggestion once done."""
    job: Job | None = runner.get(job_id) if job_id else None
    if job is None or not job.key.startswith(JOB_PREFIX):
        return None
    suggestion = None
    if job.status == "done":
        try:
            suggestion = json.loads(job.result)
        except ValueError:
            suggestion = None
    return {"job": job, "collection": job.key[len(JOB_PREFIX):], "suggestion": suggestion}


@router.post("/admin/calibration/suggest")
def suggest_thresholds(request: Request, admin: Admin,
                       collection: Annotated[str, Form()] = "") -> RedirectResponse:
    """Start suggesting thresholds for a collection from its labels (in the background);
    the gaps page shows the progress, then the before and after."""
    name = _collection(request, collection)
    if name is None:
        return RedirectResponse(BACK, status_code=303)
    job = _jobs(request).start(
        f"{JOB_PREFIX}{name}", suggestion_work(settings(request).database_url,
                                               settings(request).var, name),
        started_by=admin.id)
    return RedirectResponse(f"{GAPS_PATH}?job={job.id}#calibration", status_code=303)


@router.post("/admin/calibration/apply")
def apply(request: Request, session: DbSession, admin: Admin,
          job: Annotated[str, Form()] = "") -> RedirectResponse:
    """Store the suggestion a finished calibration job made (as the gaps page showed it)
    as its collection's thresholds. The values come from the job's stored result, not
    from the form, so what is applied is what was suggested."""
    found = shown(_jobs(request), job[:MAX_FIELD])
    suggested = (found.get("suggestion") or {}).get("suggested") if found else None
    try:
        chosen = Thresholds(float(suggested["similarity"]), float(suggested["word_match"]),
                            float(suggested["offered_match"]), _default().closest) \
            if isinstance(suggested, dict) else None
    except (KeyError, TypeError, ValueError):
        chosen = None
    if found is None or chosen is None:
        flash(request, "That suggestion is no longer available (suggest thresholds again): "
                       "nothing was changed.", "error")
        return RedirectResponse(BACK, status_code=303)
    name = found["collection"]
    collection_thresholds.save(session, name, chosen, admin.email)
    done(request, session, admin, Action.KNOWLEDGE_THRESHOLDS, name,
         f"Applied thresholds to {name}: similarity {chosen.similarity:.2f}, word match "
         f"{chosen.word_match:.2f}, {chosen.offered_match:.2f} for “is there…” questions. "
         "The bot uses them within a few seconds.", change="apply", via="web",
         similarity=chosen.similarity, word_match=chosen.word_match,
         offered_match=chosen.offered_match)
    return RedirectResponse(BACK, status_code=303)


@router.post("/admin/calibration/reset")
def reset(request: Request, session: DbSession, admin: Admin,
          collection: Annotated[str, Form()] = "") -> RedirectResponse:
    """Forget a collection's stored thresholds: it uses the defaults again."""
    name = _collection(request, collection)
    if name is None:
        return RedirectResponse(BACK, status_code=303)
    if not collection_thresholds.reset(session, name):
        flash(request, f"{name} already uses the default thresholds: nothing was changed.",
              "error")
        return RedirectResponse(BACK, status_code=303)
    done(request, session, admin, Action.KNOWLEDGE_THRESHOLDS, name,
         f"{name} uses the default thresholds again. The bot uses them within a few "
         "seconds.", change="reset", via="web")
    return RedirectResponse(BACK, status_code=303)
