"""Ingesting documents into a collection: read, chunk, embed what changed, rebuild.

Only passages whose content is new are embedded: unchanged documents are skipped and a
changed document reuses the stored embedding of every passage whose text is the same.
A file that cannot be read is reported by name and skipped; the rest goes in. The index
generation is rebuilt from the stored embeddings, recorded in the database (so action
servers on other machines follow it, see ``bot.knowledge.generations``) and swapped in
atomically.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bot.knowledge import generations, glossaries
from bot.knowledge import index as ix
from bot.knowledge.chunking import Passage, chunk_document
from bot.knowledge.documents import Document, DocumentError, FaqFields, iter_files, read_document
from bot.knowledge.embedder import embed
from bot.knowledge.glossary import GlossaryError, read_folder
from bot.store.models import KnowledgeDocument, KnowledgePassage

COLLECTION_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789-_")


@dataclass
class IngestReport:
    """What an ingest run did."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    passages_embedded: int = 0
    passages_reused: int = 0
    #: Entries of the glossary found next to the documents and stored (None: none).
    glossary: int | None = None


def _use_general(session: Session, collection: str) -> bool:
    """Whether the general glossary applies to ``collection`` (kept as the admin set it)."""
    row = glossaries.stored(session, collection)
    return True if row is None else row.use_general


def check_collection(name: str) -> str:
    """Validate a collection name (a-z, 0-9, '-' and '_')."""
    if not name or not set(name) <= COLLECTION_CHARS or len(name) > 64:
        raise ValueError(f"invalid collection name '{name}': use a-z, 0-9, '-' and '_'")
    return name


def ingest(session: Session, paths: list[Path], collection: str, var: Path, *,
           faq: FaqFields = FaqFields(),
           on_file: Callable[[str], None] | None = None,
           on_embed: Callable[[int, int], None] | None = None) -> IngestReport:
    """Ingest files and folders into ``collection`` and rebuild the index."""
    check_collection(collection)
    report = IngestReport()
    for folder in (path for path in paths if path.is_dir()):
        try:
            found = read_folder(folder)
        except GlossaryError as exc:
            report.failed.append(str(exc))
        else:
            if found is not None:
                glossaries.save(session, collection, found.text, _use_general(session,
                                                                              collection))
                report.glossary = len(found.glossary)
    pending: list[tuple[Document, list[Passage], KnowledgeDocument | None]] = []
    for file, base in iter_files(paths):
        if on_file:
            on_file(str(file))
        try:
            document = read_document(file, relative_to=base, faq=faq)
        except DocumentError as exc:
            report.failed.append(str(exc))
            continue
        existing = session.scalar(select(KnowledgeDocument).where(
            KnowledgeDocument.collection == collection, KnowledgeDocument.path == document.path))
        if existing is not None and existing.content_hash == document.content_hash:
            report.unchanged.append(document.path)
            continue
        pending.append((document, chunk_document(document), existing))

    known = _known_embeddings(session, [p for _, passages, _ in pending for p in passages])
    to_embed = sorted({p.content_hash: p for _, passages, _ in pending for p in passages
                       if p.content_hash not in known}.values(), key=lambda p: p.content_hash)
    vectors = _embed_in_batches([p.embedding_text() for p in to_embed], on_embed)
    for passage, vector in zip(to_embed, vectors, strict=True):
        known[passage.content_hash] = vector.tobytes()
    report.passages_embedded = len(to_embed)

    for document, passages, existing in pending:
        if existing is None:
            existing = KnowledgeDocument(collection=collection, path=document.path)
            session.add(existing)
            report.added.append(document.path)
        else:
            session.execute(delete(KnowledgePassage)
                            .where(KnowledgePassage.document_id == existing.id))
            report.updated.append(document.path)
        existing.title, existing.url = document.title[:300], document.url
        existing.format, existing.content_hash = document.format, document.content_hash
        session.flush()
        for passage in passages:
            session.add(KnowledgePassage(document_id=existing.id, position=passage.position,
                                         section=passage.section[:300], text=passage.text,
                                         content_hash=passage.content_hash,
                                         embedding=known[passage.content_hash]))
    report.passages_reused = sum(len(p) for _, p, _ in pending) - report.passages_embedded
    session.flush()
    rebuild_index(session, var)
    return report


def _known_embeddings(session: Session, passages: list[Passage]) -> dict[str, bytes]:
    hashes = list({p.content_hash for p in passages})
    known: dict[str, bytes] = {}
    for start in range(0, len(hashes), 500):
        rows = session.execute(select(KnowledgePassage.content_hash, KnowledgePassage.embedding)
                               .where(KnowledgePassage.content_hash.in_(hashes[start:start + 500])))
        known.update({h: e for h, e in rows})
    return known


def _embed_in_batches(texts: list[str],
                      on_embed: Callable[[int, int], None] | None) -> list[np.ndarray]:
    vectors: list[np.ndarray] = []
    for start in range(0, len(texts), 64):
        batch = embed(texts[start:start + 64])
        vectors.extend(batch)
        if on_embed:
            on_embed(len(batch), len(texts))
    return vectors


def remove_document(session: Session, collection: str, path: str, var: Path) -> bool:
    """Delete a document (and its passages) and rebuild the index; False if unknown."""
    document = session.scalar(select(KnowledgeDocument).where(
        KnowledgeDocument.collection == collection, KnowledgeDocument.path == path))
    if document is None:
        return False
    session.delete(document)
    session.flush()
    rebuild_index(session, var)
    return True


def rebuild_index(session: Session, var: Path) -> Path:
    """Write a new index generation from the stored passages and swap it in.

    The build is recorded in the database (``knowledge_generations``, flushed with the
    caller's transaction) and its manifest carries the row's id and fingerprint, so
    searchers on other machines notice it and rebuild their own copy.
    """
    stored = generations.read_stored(session)
    recorded = generations.record(session, stored)
    return ix.write_generation(var, stored.collections,
                               stamp=ix.Stamp(stored.fingerprint, recorded))
