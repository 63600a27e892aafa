"""Reviewers' labels of unanswered service questions, for calibrating the "not covered"
decision from real traffic.

On the Knowledge gaps page each unanswered question can be labelled: those the bot
declined (passed on or not: a wrongly declined question is the commonest mistake on an
agency's own documents, and citizens pass few of them on) and those whose answer the
citizen disputed ("That didn't answer it"). A label is "the documents do answer this"
(choosing, among the passages the bot found for it, the one that answers) or "not
covered". The labels accumulate per collection and become the labelled questions of
``bot.knowledge.evaluation`` (``cases``), which ``codesign knowledge calibrate
--from-reviews`` and the admins' button turn into suggested thresholds.

A label's collection is the one whose thresholds decide the question: the chosen
passage's for "answered"; for "not covered", the collection of the best passage found
(``ThresholdBook.for_hits``), else the one collection it searched.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from bot.knowledge.evaluation import Case
from bot.review.gap_words import latest_queries
from bot.store.models import (
    KnowledgeDocument,
    KnowledgePassage,
    KnowledgeQuery,
    utcnow,
)
from bot.store.review_models import KnowledgeLabel, User

ANSWERED = "answered"
NOT_COVERED = "not_covered"
LABELS = (ANSWERED, NOT_COVERED)
#: The latest questions offered for labelling.
LIMIT = 200


class LabelError(ValueError):
    """Why a label cannot be stored (for people)."""


@dataclass(frozen=True)
class PassageChoice:
    """A passage the bot found for a question, as the reviewer picks it."""

    source: str  # collection/document, as evaluation cases name it
    title: str
    section: str

    @property
    def collection(self) -> str:
        return self.source.split("/", 1)[0]


@dataclass
class Labelable:
    """An unanswered question (declined, or its answer disputed), the passages found for
    it and its label."""

    query_id: int
    text: str
    asked_at: datetime
    disputed: bool
    forwarded: bool
    declined: bool
    choices: list[PassageChoice] = field(default_factory=list)
    label: str | None = None
    source: str | None = None
    collection: str | None = None
    labelled_by: str | None = None
    labelled_at: datetime | None = None


def _documents(session: Session, hits: list[dict[str, object]]) -> dict[int, str]:
    """passage id -> ``collection/document`` of the hits' passages still stored."""
    ids = [pid for h in hits if isinstance(pid := h.get("passage_id"), int)]
    if not ids:
        return {}
    rows = session.execute(
        select(KnowledgePassage.id, KnowledgeDocument.collection, KnowledgeDocument.path)
        .join(KnowledgeDocument, KnowledgePassage.document_id == KnowledgeDocument.id)
        .where(KnowledgePassage.id.in_(ids)))
    return {row.id: f"{row.collection}/{row.path}" for row in rows}


def choices(session: Session, query: KnowledgeQuery,
            known: dict[int, str] | None = None) -> list[PassageChoice]:
    """The documents of the passages the bot found for ``query`` (best first, one per
    document), those still in the knowledge base (``known``: passage id -> document,
    read when not given)."""
    hits = [h for h in query.hits or [] if isinstance(h, dict)]
    if known is None:
        known = _documents(session, hits)
    found: dict[str, PassageChoice] = {}
    for hit in hits:
        passage_id = hit.get("passage_id")
        source = known.get(passage_id) if isinstance(passage_id, int) else None
        if source is not None and source not in found:
            found[source] = PassageChoice(source, str(hit.get("title") or ""),
                                          str(hit.get("section") or ""))
    return list(found.values())


def label_collection(query: KnowledgeQuery, label: str, source: str | None) -> str | None:
    """The collection a label of ``query`` counts for (see the module's docstring)."""
    if label == ANSWERED and source:
        return source.split("/", 1)[0]
    for hit in query.hits or []:
        if isinstance(hit, dict) and hit.get("collection"):
            return str(hit["collection"])
    named = [str(c) for c in query.collections or [] if c]
    return named[0] if len(named) == 1 else None


def labelable(session: Session, consultation_id: int | None = None,
              limit: int = LIMIT) -> list[Labelable]:
    """The latest ``limit`` unanswered questions (declined, disputed or passed on; of one
    consultation, or all), most recent first, with the passages to choose from and their
    current labels (three queries)."""
    rows = latest_queries(session, or_(KnowledgeQuery.answered.is_(False),
                                       KnowledgeQuery.disputed.is_(True),
                                       KnowledgeQuery.forwarded.is_(True)),
                          consultation_id, limit)
    labels = {label.query_id: (label, email) for label, email in session.execute(
        select(KnowledgeLabel, User.email).outerjoin(User, KnowledgeLabel.labelled_by == User.id)
        .where(KnowledgeLabel.query_id.in_([r.id for r in rows])))} if rows else {}
    known = _documents(session, [h for row in rows for h in row.hits or []
                                 if isinstance(h, dict)])
    items = []
    for row in rows:
        item = Labelable(row.id, " ".join(row.text.split()), row.asked_at, bool(row.disputed),
                         bool(row.forwarded), not row.answered, choices(session, row, known))
        if row.id in labels:
            stored, email = labels[row.id]
            item.label, item.source, item.collection = stored.label, stored.source, \
                stored.collection
            item.labelled_by, item.labelled_at = email, stored.labelled_at
        items.append(item)
    return items


def set_label(session: Session, query_id: int, label: str, source: str | None,
              user_id: int | None) -> KnowledgeLabel:
    """Label an unanswered (declined, disputed or passed-on) question, replacing its
    label, if any.

    Args:
        session: the app store.
        query_id: the ``KnowledgeQuery``.
        label: ``answered`` (``source`` must be one of its ``choices``) or ``not_covered``.
        source: the answering document (``collection/document``), for ``answered``.
        user_id: the reviewer.

    Raises:
        LabelError: saying why, when nothing was stored.
    """
    query = session.get(KnowledgeQuery, query_id)
    if query is None or not (query.disputed or query.forwarded or not query.answered):
        raise LabelError("There is no such unanswered question (it may have been erased, or "
                         "the bot answered it and nobody disputed the answer)")
    if label not in LABELS:
        raise LabelError("Choose “the documents answer this” or “not covered”")
    if label == ANSWERED:
        offered = {c.source for c in choices(session, query)}
        if not source or source not in offered:
            raise LabelError("Choose the passage that answers it among those found" if offered
                             else "None of the passages found for it is still in the "
                                  "knowledge base, so it cannot be labelled as answered")
    else:
        source = None
    collection = label_collection(query, label, source)
    if collection is None:
        raise LabelError("It is not known which collection's documents it was asked about, "
                         "so it cannot be used to calibrate one")
    row = session.scalar(select(KnowledgeLabel).where(KnowledgeLabel.query_id == query_id))
    if row is None:
        row = KnowledgeLabel(query_id=query_id)
        session.add(row)
    row.collection, row.label, row.source = collection, label, source
    row.labelled_by, row.labelled_at = user_id, utcnow()
    session.flush()
    return row


def undo_label(session: Session, query_id: int) -> str | None:
    """Remove a question's label; its collection, or None when it had none."""
    row = session.scalar(select(KnowledgeLabel).where(KnowledgeLabel.query_id == query_id))
    if row is None:
        return None
    collection = row.collection
    session.delete(row)
    session.flush()
    return collection


def counts(session: Session) -> dict[str, dict[str, int]]:
    """Per collection: how many questions are labelled answered and not covered."""
    result: dict[str, dict[str, int]] = {}
    for collection, label in session.execute(select(KnowledgeLabel.collection,
                                                    KnowledgeLabel.label)):
        shares = result.setdefault(collection, dict.fromkeys(LABELS, 0))
        shares[label] = shares.get(label, 0) + 1
    return dict(sorted(result.items()))


def cases(session: Session, collection: str | None = None) -> dict[str, list[Case]]:
    """The labelled questions as evaluation cases, per collection (oldest first): the
    question as the citizen asked it, its collection, and the chosen document as its
    source (none for "not covered")."""
    query = select(KnowledgeLabel, KnowledgeQuery.text).join(
        KnowledgeQuery, KnowledgeLabel.query_id == KnowledgeQuery.id)
    if collection is not None:
        query = query.where(KnowledgeLabel.collection == collection)
    result: dict[str, list[Case]] = {}
    for label, text in session.execute(query.order_by(KnowledgeLabel.id)):
        question = " ".join(text.split())
        if not question:
            continue
        sources = [label.source] if label.label == ANSWERED and label.source else []
        result.setdefault(label.collection, []).append(Case(question, label.collection,
                                                            sources))
    return dict(sorted(result.items()))
