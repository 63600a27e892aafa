"""Searching the live index generation: dense (FAISS), lexical (BM25) or hybrid (weighted
reciprocal rank fusion of the two, ``Fusion``).

``KnowledgeSearcher`` keeps the live generation in memory and checks the ``CURRENT``
pointer before each search, so a rebuild is picked up without a restart; a search in
progress keeps using the generation it started with. Given the database URL (action
servers), it also follows the database's latest generation, rebuilding the local copy
when another machine ingested or removed documents (``bot.knowledge.follow``).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from bot.knowledge import index as ix
from bot.knowledge.embedder import embed_query
from bot.knowledge.follow import CHECK_INTERVAL, GenerationFollower

Mode = Literal["dense", "bm25", "hybrid"]
CANDIDATES = 30
#: Loads tried when rebuilds keep replacing the generation being loaded.
LOAD_ATTEMPTS = 5


@dataclass(frozen=True)
class Fusion:
    """How hybrid search merges the dense and the BM25 ranking: weighted reciprocal rank
    fusion, a passage scoring ``dense_weight / (k + dense rank)`` plus ``1 / (k + BM25
    rank)`` (ranks from 1; a ranking it is missing from adds nothing).

    A small ``k`` lets the first places of a ranking count for more; ``dense_weight``
    above 1 trusts the embedding over shared words when they disagree.
    """

    k: float
    dense_weight: float

    def __post_init__(self) -> None:
        if self.k <= 0 or self.dense_weight <= 0:
            raise ValueError(f"fusion needs k > 0 and a dense weight > 0, not {self}")

    def score(self, dense_rank: float | None, bm25_rank: float | None) -> float:
        """A passage's fused score from its ranks (from 1; None: not in that ranking)."""
        return (0.0 if dense_rank is None else self.dense_weight / (self.k + dense_rank)) + \
            (0.0 if bm25_rank is None else 1.0 / (self.k + bm25_rank))


#: Chosen by ``bench/knowledge_eval.py`` on the demo pool of evaluation sets (the
#: highest MRR of a grid of k and weights); the external sets, and the decision-test
#: set, were not used to choose it, and its leave-one-set-out figures are reported there.
#: Plain reciprocal rank fusion (k 60, equal weights) had been used until 2026-12-04.
FUSION = Fusion(k=5, dense_weight=1.5)


@dataclass(frozen=True)
class Hit:
    """One search result: the passage, its rank score and its dense similarity."""

    passage: ix.PassageMeta
    score: float
    similarity: float

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form (the CLI's ``--json`` output)."""
        p = self.passage
        return {"passage_id": p.id, "text": p.text, "title": p.title, "section": p.section,
                "source": p.url or p.document, "collection": p.collection,
                "score": round(self.score, 4), "similarity": round(self.similarity, 4)}


class _Collection:
    """One collection's indexes in memory."""

    def __init__(self, folder: Path, name: str, passages: list[ix.PassageMeta]) -> None:
        import faiss

        self.passages = passages
        self.dense = faiss.read_index(str(folder / f"{name}.faiss"))
        if hasattr(self.dense, "hnsw"):
            self.dense.hnsw.efSearch = ix.HNSW_EF_SEARCH
        self._bm25: Any = None
        self._bm25_lock = threading.Lock()

    def bm25(self) -> Any:
        """The BM25 index, built on first lexical search."""
        with self._bm25_lock:
            if self._bm25 is None:
                import bm25s

                corpus = [f"{p.title} {p.section} {p.text}" for p in self.passages]
                retriever = bm25s.BM25()
                retriever.index(bm25s.tokenize(corpus, stopwords="en", show_progress=False),
                                show_progress=False)
                self._bm25 = retriever
            return self._bm25

    def dense_search(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        if not self.passages:
            return []
        scores, ids = self.dense.search(vector.reshape(1, -1), min(k, len(self.passages)))
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]

    def lexical_search(self, query: str, k: int) -> list[tuple[int, float]]:
        import bm25s

        if not self.passages:
            return []
        tokens = bm25s.tokenize([query], stopwords="en", show_progress=False)
        if not tokens.vocab:
            return []
        results, scores = self.bm25().retrieve(tokens, k=min(k, len(self.passages)),
                                               show_progress=False)
        return [(int(i), float(s)) for i, s in zip(results[0], scores[0], strict=True)
                if s > 0]


class KnowledgeSearcher:
    """Searches the live generation under ``var``; reloads when it changes."""

    def __init__(self, var: Path, database_url: str | None = None, *,
                 check_interval: float = CHECK_INTERVAL) -> None:
        """Search the index under ``var``.

        Args:
            var: the local data folder holding the index generations.
            database_url: the app store the index is built from. With it, each search
                first checks the database's latest generation (at most once per
                ``check_interval`` seconds) and rebuilds the local one from the stored
                passages when it is behind or missing; an unreachable database leaves the
                local generation in use (see ``bot.knowledge.follow``). Without it, the
                local ``CURRENT`` is all there is (the embedded default, CLI tools).
            check_interval: seconds the database's answer is reused.
        """
        self.var = var
        self.follower = None if database_url is None else \
            GenerationFollower(var, database_url, check_interval)
        self._loaded: tuple[Path, dict[str, _Collection]] | None = None
        self._lock = threading.Lock()

    def _live(self) -> Path | None:
        if self.follower is not None:
            return self.follower.live()
        return ix.current_generation(self.var)

    def collections(self) -> dict[str, _Collection]:
        """The live collections (loading or reloading them when needed).

        A generation can be pruned by newer rebuilds between reading ``CURRENT`` and
        loading its files; then the newer one is loaded instead.

        Raises:
            RuntimeError: when the live generation's files cannot be read, the index kept
                changing during ``LOAD_ATTEMPTS`` loads, or (with a database URL) there is
                no local generation and the database cannot be reached.
        """
        for _attempt in range(LOAD_ATTEMPTS):
            current = self._live()
            if current is None:
                return {}
            loaded = self._loaded
            if loaded is not None and loaded[0] == current:
                return loaded[1]
            with self._lock:
                if self._loaded is None or self._loaded[0] != current:
                    try:
                        _, metadata = ix.read_generation(current)
                        collections = {name: _Collection(current, name, passages)
                                       for name, passages in metadata.items()}
                    except (OSError, RuntimeError):  # faiss reports a missing file so
                        if ix.current_generation(self.var) == current:
                            raise  # the live generation itself is unreadable
                        continue  # pruned meanwhile: load the newer one
                    self._loaded = (current, collections)
                return self._loaded[1]
        raise RuntimeError("the knowledge index kept changing while it was being loaded")

    def search(self, query: str, collections: list[str] | None = None, k: int = 5,
               mode: Mode = "hybrid", vector: np.ndarray | None = None,
               fusion: Fusion = FUSION) -> list[Hit]:
        """The ``k`` best passages for ``query`` in ``collections`` (all when None).

        ``vector`` is the query's embedding when the caller has already computed it;
        ``fusion``, how the hybrid mode merges its two rankings.
        """
        available = self.collections()
        names = [c for c in (collections or list(available)) if c in available]
        if not names or not query.strip():
            return []
        if vector is None:
            vector = embed_query(query)
        candidates: dict[tuple[str, int], dict[str, float]] = {}
        for name in names:
            collection = available[name]
            for i, similarity in collection.dense_search(vector, max(k, CANDIDATES)):
                candidates.setdefault((name, i), {})["similarity"] = similarity
            if mode != "dense":
                for i, score in collection.lexical_search(query, max(k, CANDIDATES)):
                    candidates.setdefault((name, i), {})["bm25"] = score
        for (name, i), entry in candidates.items():
            if "similarity" not in entry:  # found by BM25 only: score it from the same snapshot
                stored = available[name].dense.reconstruct(i)
                entry["similarity"] = float(np.dot(vector, np.asarray(stored, dtype=np.float32)))
        # Ranks are global across the searched collections, so fusing them stays comparable.
        for key in ("similarity", "bm25"):
            ordered = sorted((c for c in candidates if key in candidates[c]),
                             key=lambda c, key=key: candidates[c][key],  # type: ignore[misc]
                             reverse=True)
            for rank, c in enumerate(ordered, 1):
                candidates[c][f"{key}_rank"] = rank
        hits = []
        for (name, i), entry in candidates.items():
            if mode == "dense":
                score = entry["similarity"]
            elif mode == "bm25":
                if "bm25" not in entry:
                    continue
                score = entry["bm25"]
            else:
                score = fusion.score(entry.get("similarity_rank"), entry.get("bm25_rank"))
            hits.append(Hit(available[name].passages[i], score, entry["similarity"]))
        hits.sort(key=lambda hit: (hit.score, hit.similarity), reverse=True)
        return hits[:k]
