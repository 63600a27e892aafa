"""Index generations in the database: what every machine's local index is built from.

The stored passages (with their float32 embeddings) are the truth; a local generation
under ``<var>/knowledge/`` is a copy built from them without re-embedding anything.
Each build an ingest or removal makes is recorded as a ``KnowledgeGeneration`` row whose
fingerprint hashes the passages' ids and content hashes in index order, so any machine
that builds from the same stored passages gets the same fingerprint.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.knowledge import index as ix
from bot.store.models import KnowledgeDocument, KnowledgeGeneration, KnowledgePassage


@dataclass(frozen=True)
class StoredIndex:
    """The stored passages, grouped by collection in index order, ready to index.

    Attributes:
        collections: per collection, its passages and their embeddings (one row each).
        fingerprint: ``index.fingerprint`` of every passage, in index order.
        passages: how many passages there are in all.
    """

    collections: dict[str, tuple[list[ix.PassageMeta], np.ndarray]]
    fingerprint: str
    passages: int


def read_stored(session: Session) -> StoredIndex:
    """Every stored passage with its embedding, in index order (one query)."""
    rows = session.execute(
        select(KnowledgeDocument, KnowledgePassage)
        .join(KnowledgePassage, KnowledgePassage.document_id == KnowledgeDocument.id)
        .order_by(KnowledgeDocument.collection, KnowledgeDocument.path,
                  KnowledgePassage.position, KnowledgePassage.id))
    grouped: dict[str, tuple[list[ix.PassageMeta], list[bytes]]] = {}
    hashed: list[tuple[int, str]] = []
    for document, passage in rows:
        metas, blobs = grouped.setdefault(document.collection, ([], []))
        metas.append(ix.PassageMeta(passage.id, document.collection, document.path,
                                    document.title, passage.section, document.url,
                                    passage.text))
        blobs.append(passage.embedding)
        hashed.append((passage.id, passage.content_hash))
    collections = {name: (metas, ix.as_vectors(blobs))
                   for name, (metas, blobs) in grouped.items()}
    return StoredIndex(collections, ix.fingerprint(hashed), len(hashed))


def record(session: Session, stored: StoredIndex) -> ix.GenerationRef:
    """Record a build of ``stored`` as the latest generation (flushed, not committed)."""
    row = KnowledgeGeneration(passages=stored.passages, fingerprint=stored.fingerprint)
    session.add(row)
    session.flush()
    return ix.GenerationRef(row.id, row.fingerprint)


def latest_row(session: Session) -> KnowledgeGeneration | None:
    """The most recently recorded generation; None when none has been recorded."""
    return session.scalars(select(KnowledgeGeneration)
                           .order_by(KnowledgeGeneration.id.desc()).limit(1)).first()


def latest(session: Session) -> ix.GenerationRef | None:
    """The most recently recorded generation's id and fingerprint (one small query)."""
    row = latest_row(session)
    return ix.GenerationRef(row.id, row.fingerprint) if row else None


def build_local(session: Session, var: Path, generation: ix.GenerationRef | None) -> Path:
    """Build a local generation from the stored passages and swap it in (no embedding).

    Args:
        session: a session on the database holding the passages.
        var: the local data folder.
        generation: the database generation this build is for (the latest one seen
            before reading the passages; None when none is recorded). It is stamped into
            the manifest next to the fingerprint of what was actually read.

    Returns:
        The new generation's folder.
    """
    stored = read_stored(session)
    return ix.write_generation(var, stored.collections,
                               stamp=ix.Stamp(stored.fingerprint, generation))
