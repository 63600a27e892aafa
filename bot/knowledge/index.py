"""Search indexes on disk, rebuilt as a new generation and swapped in atomically.

Layout under ``<var>/knowledge/``::

    CURRENT                 name of the live generation (replaced with os.replace)
    .build.lock             taken (fcntl) while a searcher rebuilds from the database
    gen-<timestamp>/        one folder per build
        manifest.json       collections, counts, index kinds; the build's stamp:
                            ``fingerprint`` (of its passages) and ``generation`` (the
                            database row it was built for: id and fingerprint, or null)
        passages.json       passage metadata in index order, per collection
        <collection>.faiss  dense index (exact inner product, or HNSW when large)

A build writes a complete new folder first and only then points ``CURRENT`` at it, so a
reader never sees a half-written index. Readers notice the change on their next search.

The folder is a local copy: the passages and their embeddings live in the database, and
each build is recorded there (``knowledge_generations``, see
``bot.knowledge.generations``), so an action server on another machine, with its own
``<var>``, rebuilds its copy when its live generation's fingerprint is not the latest.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bot.knowledge.embedder import DIMENSION

# Chosen from bench/knowledge_search.py: below this many passages an exact search is fast
# enough (p50 under 5 ms); above it HNSW keeps query time flat with recall@10 >= 0.98.
HNSW_THRESHOLD = 20_000
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 128
KEEP_GENERATIONS = 2


@dataclass(frozen=True)
class PassageMeta:
    """What a search hit shows: passage text and where it comes from."""

    id: int
    collection: str
    document: str
    title: str
    section: str
    url: str | None
    text: str


@dataclass(frozen=True)
class GenerationRef:
    """A generation recorded in the database: its row id and passage fingerprint."""

    id: int
    fingerprint: str


@dataclass(frozen=True)
class Stamp:
    """What a local generation was built from.

    Attributes:
        fingerprint: ``fingerprint()`` of the passages in this generation.
        generation: the database generation it was built for (None: none was recorded,
            e.g. a database from before generations were recorded).
    """

    fingerprint: str
    generation: GenerationRef | None


def fingerprint(passages: Iterable[tuple[int, str]]) -> str:
    """A stable hash of passages' ``(id, content hash)`` pairs, in index order.

    The same stored passages give the same fingerprint on any machine.
    """
    digest = hashlib.sha256()
    for passage_id, content_hash in passages:
        digest.update(f"{passage_id}:{content_hash}\n".encode())
    return digest.hexdigest()


def knowledge_dir(var: Path) -> Path:
    """The folder holding index generations."""
    path = var / "knowledge"
    path.mkdir(parents=True, exist_ok=True)
    return path


def build_faiss(vectors: np.ndarray, *, force_kind: str | None = None) -> Any:
    """An inner-product index over normalised vectors: flat when small, HNSW when large."""
    import faiss

    kind = force_kind or ("hnsw" if len(vectors) >= HNSW_THRESHOLD else "flat")
    index: Any
    if kind == "hnsw":
        index = faiss.IndexHNSWFlat(DIMENSION, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        index.hnsw.efSearch = HNSW_EF_SEARCH
    else:
        index = faiss.IndexFlatIP(DIMENSION)
    if len(vectors):
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


def write_generation(var: Path, collections: dict[str, tuple[list[PassageMeta], np.ndarray]],
                     progress: Callable[[str], None] | None = None, *,
                     stamp: Stamp | None = None) -> Path:
    """Write a complete index generation and make it the live one atomically.

    Args:
        var: the data folder (generations go under ``<var>/knowledge/``).
        collections: per collection, its passages in index order and their vectors.
        progress: called with each collection's name before its index is built.
        stamp: what the generation was built from, written into its manifest (None:
            unstamped, as for synthetic indexes; a searcher following a database
            replaces an unstamped generation).

    Returns:
        The new generation's folder.
    """
    import faiss

    root = knowledge_dir(var)
    name = f"gen-{time.time_ns()}"
    tmp = root / f".{name}.tmp"
    tmp.mkdir()
    manifest: dict[str, dict[str, object]] = {}
    metadata: dict[str, list[dict[str, object]]] = {}
    for collection, (passages, vectors) in sorted(collections.items()):
        if progress:
            progress(collection)
        index = build_faiss(vectors)
        faiss.write_index(index, str(tmp / f"{collection}.faiss"))
        metadata[collection] = [asdict(p) for p in passages]
        manifest[collection] = {"passages": len(passages),
                                "index": "hnsw" if isinstance(index, faiss.IndexHNSWFlat)
                                else "flat"}
    (tmp / "passages.json").write_text(json.dumps(metadata, ensure_ascii=False))
    described: dict[str, object] = {"collections": manifest}
    if stamp is not None:
        described["fingerprint"] = stamp.fingerprint
        described["generation"] = asdict(stamp.generation) if stamp.generation else None
    (tmp / "manifest.json").write_text(json.dumps(described, indent=2))
    final = root / name
    tmp.rename(final)
    pointer = root / f".CURRENT.{name}.tmp"  # one per writer: builds may run at once
    pointer.write_text(name)
    os.replace(pointer, root / "CURRENT")
    _prune(root, keep=name)
    return final


def _prune(root: Path, keep: str) -> None:
    generations = sorted(p for p in root.glob("gen-*") if p.is_dir())
    for old in generations[:-KEEP_GENERATIONS]:
        if old.name != keep:
            shutil.rmtree(old, ignore_errors=True)


def current_generation(var: Path) -> Path | None:
    """The live generation folder, or None before the first build."""
    pointer = knowledge_dir(var) / "CURRENT"
    try:
        name = pointer.read_text().strip()
    except FileNotFoundError:
        return None
    path = knowledge_dir(var) / name
    return path if path.is_dir() else None


def read_generation(path: Path) -> tuple[dict[str, object], dict[str, list[PassageMeta]]]:
    """Manifest and passage metadata of a generation."""
    manifest = json.loads((path / "manifest.json").read_text())
    raw = json.loads((path / "passages.json").read_text())
    return manifest, {c: [PassageMeta(**p) for p in items] for c, items in raw.items()}


def read_stamp(path: Path) -> Stamp | None:
    """The stamp in a generation's manifest; None when it has none or cannot be read."""
    try:
        manifest = json.loads((path / "manifest.json").read_text())
        generation = manifest.get("generation")
        return Stamp(str(manifest["fingerprint"]),
                     GenerationRef(int(generation["id"]), str(generation["fingerprint"]))
                     if generation else None)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def as_vectors(blobs: Iterable[bytes]) -> np.ndarray:
    """Stack stored float32 embeddings into a matrix."""
    rows = [np.frombuffer(blob, dtype=np.float32) for blob in blobs]
    if not rows:
        return np.zeros((0, DIMENSION), dtype=np.float32)
    return np.vstack(rows)
