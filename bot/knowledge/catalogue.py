"""What the knowledge base holds: its documents with their passage counts (the CLI's
``knowledge stats`` and the review area's Knowledge page)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.store.models import KnowledgeDocument, KnowledgePassage


@dataclass(frozen=True)
class DocumentSummary:
    """A stored document and how many passages it was split into."""

    collection: str
    path: str
    title: str
    format: str
    url: str | None
    ingested_at: datetime
    passages: int


def documents(session: Session) -> list[DocumentSummary]:
    """Every document, by collection, then title and path."""
    counts = (select(KnowledgePassage.document_id, func.count().label("passages"))
              .group_by(KnowledgePassage.document_id).subquery())
    rows = session.execute(
        select(KnowledgeDocument, func.coalesce(counts.c.passages, 0))
        .join(counts, counts.c.document_id == KnowledgeDocument.id, isouter=True)
        .order_by(KnowledgeDocument.collection, KnowledgeDocument.title,
                  KnowledgeDocument.path))
    return [DocumentSummary(d.collection, d.path, d.title, d.format, d.url, d.ingested_at,
                            int(passages)) for d, passages in rows]
