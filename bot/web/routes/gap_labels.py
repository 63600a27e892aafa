"""Labelling unanswered questions on the Knowledge gaps pages (reviewers and admins):
"the documents do answer this" (with the passage that does) or "not covered", and undoing
a label. The labels calibrate each collection's "not covered" decision
(``bot.review.gap_labels``). Each form redirects back to the page it came from."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Form, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.audit.trail import Action
from bot.knowledge import collection_thresholds
from bot.knowledge.answers import Thresholds
from bot.review import gap_labels
from bot.store.models import KnowledgeThreshold
from bot.web.auth import Reviewer
from bot.web.routes.review_common import (
    DbSession,
    back_in_review,
    done,
    flash,
    parse_int,
    reviewer_router,
)

router = reviewer_router()
GAPS_PATH = "/review/gaps"
SAID = {gap_labels.ANSWERED: "the documents do answer it",
        gap_labels.NOT_COVERED: "not covered"}


def labels_context(session: Session, consultation_id: int | None) -> dict[str, Any]:
    """What the gaps page shows for labelling and calibration: the questions to label,
    and per collection its label counts and thresholds (stored or the defaults)."""
    counts = gap_labels.counts(session)
    try:
        default = Thresholds.from_env()
    except ValueError:
        default = Thresholds()
    stored = {row.collection: row for row in session.scalars(select(KnowledgeThreshold))}
    calibration = [{"collection": name,
                    "answered": counts.get(name, {}).get(gap_labels.ANSWERED, 0),
                    "not_covered": counts.get(name, {}).get(gap_labels.NOT_COVERED, 0),
                    "stored": stored.get(name),
                    "thresholds": collection_thresholds.for_collection(session, name, default)}
                   for name in sorted(set(counts) | set(stored))]
    return {"labelable": gap_labels.labelable(session, consultation_id),
            "calibration": calibration, "default_thresholds": default}


@router.post("/gap-labels/label")
def label(request: Request, session: DbSession, user: Reviewer,
          query: Annotated[str, Form()] = "", label: Annotated[str, Form()] = "",
          source: Annotated[str, Form()] = "",
          next: Annotated[str, Form()] = "") -> RedirectResponse:
    """Label an unanswered (declined or disputed) question, replacing its label."""
    query_id = parse_int(query)
    if query_id is None:
        flash(request, "That is not a question of the list: nothing was changed.", "error")
        return back_in_review(next, GAPS_PATH)
    if label == gap_labels.NOT_COVERED:
        source = ""
    try:
        row = gap_labels.set_label(session, query_id, label, source[:600] or None, user.id)
    except gap_labels.LabelError as problem:
        flash(request, f"{problem}: nothing was changed.", "error")
        return back_in_review(next, GAPS_PATH)
    detail = {"change": row.label, "source": row.source} if row.source else \
        {"change": row.label}
    done(request, session, user, Action.KNOWLEDGE_LABEL, f"{row.collection}/{query_id}",
         f"Labelled question {query_id} “{SAID[row.label]}” ({row.collection})"
         + (f", answered by {row.source}." if row.source else "."), **detail)
    return back_in_review(next, GAPS_PATH)


@router.post("/gap-labels/undo")
def undo(request: Request, session: DbSession, user: Reviewer,
         query: Annotated[str, Form()] = "",
         next: Annotated[str, Form()] = "") -> RedirectResponse:
    """Remove a question's label."""
    query_id = parse_int(query)
    collection = gap_labels.undo_label(session, query_id) if query_id is not None else None
    if collection is None:
        flash(request, "That question has no label: nothing was changed.", "error")
        return back_in_review(next, GAPS_PATH)
    done(request, session, user, Action.KNOWLEDGE_LABEL, f"{collection}/{query_id}",
         f"Removed the label of question {query_id} ({collection}).", change="undo")
    return back_in_review(next, GAPS_PATH)
