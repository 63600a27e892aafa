"""Knowledge-base speed: ingestion throughput, query latency by index size, HNSW recall,
and the action server's memory with the largest index loaded.

* Ingestion: synthetic council-style documents are written to a temporary folder and
  ingested with the real pipeline (read, chunk, embed, store, build the index).
* Query latency (including embedding the question) at 1k, 10k and 100k passages. The
  large indexes use synthetic vectors with realistic structure: mixtures of real MiniLM
  embeddings of generated sentences plus noise (embedding 100k real passages would take
  half an hour on 2 cores and measures the same index code).
* Recall@10 of the approximate (HNSW) index against exact search at 100k.
* Resident memory of a real action server started on the 100k-passage index.

Run: ``.venv/bin/python -m bench.knowledge_search`` (part of ``make bench``).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

from bench.common import percentile, write_results
from bot.devtools.stack import ROOT, tree_rss_mb
from bot.knowledge import index as ix
from bot.knowledge.embedder import embed, embed_query, warm_up
from bot.knowledge.ingest import ingest
from bot.knowledge.search import KnowledgeSearcher
from bot.store.db import migrate, session_scope

TOPICS = ["library", "park", "bins", "recycling", "council tax", "parking", "playground",
          "allotment", "leisure centre", "housing repair", "street lighting", "toilets"]
VERBS = ["opens", "closes", "charges", "offers", "requires", "accepts", "collects", "books"]
THINGS = ["on Saturdays", "before 9am", "for residents", "with a permit", "every fortnight",
          "during school holidays", "online", "by phone", "for free", "after 6pm",
          "with proof of address", "for blue badge holders", "on bank holidays"]
QUERIES = ["what time does the library open on saturday", "when are my bins collected",
           "can I park near the playground", "how do I book an allotment",
           "is the leisure centre open on bank holidays", "how much is a parking permit",
           "who fixes a broken street light", "are the park toilets open in winter"]


def sentence(rng: random.Random) -> str:
    """A council-style synthetic sentence."""
    return (f"The {rng.choice(TOPICS)} service {rng.choice(VERBS)} {rng.choice(THINGS)} "
            f"and {rng.choice(VERBS)} {rng.choice(THINGS)}.")




def ingestion(tmp: Path, documents: int) -> dict[str, float]:
    """Passages per second for a real ingest of synthetic Markdown documents."""
    rng = random.Random(3)
    folder = tmp / "docs"
    folder.mkdir()
    for n in range(documents):
        sections = "\n\n".join(f"## Section {s}\n" + " ".join(sentence(rng) for _ in range(4))
                               for s in range(5))
        (folder / f"doc-{n:04d}.md").write_text(f"# Document {n}\n\n{sections}\n")
    url = f"sqlite:///{tmp / 'ingest.db'}"
    migrate(url)
    warm_up()
    started = time.perf_counter()
    with session_scope(url) as session:
        report = ingest(session, [folder], "synthetic", tmp / "ingest-var")
    elapsed = time.perf_counter() - started
    passages = report.passages_embedded + report.passages_reused
    return {"documents": documents, "passages": passages, "seconds": elapsed,
            "passages_per_second": passages / elapsed}


def synthetic_vectors(count: int, seed: int = 0) -> np.ndarray:
    """Unit vectors mixing real embeddings of generated sentences, plus noise."""
    rng = random.Random(seed)
    base = embed([sentence(rng) for _ in range(1500)])
    generator = np.random.default_rng(seed)
    first = generator.integers(0, len(base), count)
    second = generator.integers(0, len(base), count)
    weights = generator.uniform(0.55, 0.9, (count, 1)).astype(np.float32)
    vectors = weights * base[first] + (1 - weights) * base[second]
    vectors += generator.normal(0, 0.02, vectors.shape).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors.astype(np.float32)


def write_sized_generation(var: Path, vectors: np.ndarray) -> None:
    """An index generation holding ``len(vectors)`` synthetic passages."""
    metas = [ix.PassageMeta(i, "synthetic", f"doc-{i // 10}.md", f"Document {i // 10}",
                            f"Section {i % 10}", None, f"Synthetic passage {i}.")
             for i in range(len(vectors))]
    ix.write_generation(var, {"synthetic": (metas, vectors)})


def query_latency(var: Path, repeats: int) -> dict[str, float]:
    """p50/p95 of embedding a question plus a dense search (hybrid adds BM25)."""
    searcher = KnowledgeSearcher(var)
    searcher.collections()
    samples = []
    for _ in range(repeats):
        for query in QUERIES:
            started = time.perf_counter()
            vector = embed_query(query)
            searcher.collections()["synthetic"].dense_search(vector, 10)
            samples.append((time.perf_counter() - started) * 1000)
    return {"p50_ms": statistics.median(samples), "p95_ms": percentile(samples, 95),
            "n": len(samples)}


def hnsw_recall(vectors: np.ndarray, queries: int = 200) -> float:
    """Recall@10 of the HNSW index against exact search."""
    exact = ix.build_faiss(vectors, force_kind="flat")
    approximate = ix.build_faiss(vectors, force_kind="hnsw")
    rng = np.random.default_rng(5)
    probe = vectors[rng.integers(0, len(vectors), queries)] + \
        rng.normal(0, 0.05, (queries, vectors.shape[1])).astype(np.float32)
    probe /= np.linalg.norm(probe, axis=1, keepdims=True)
    _, truth = exact.search(probe, 10)
    _, found = approximate.search(probe, 10)
    return float(np.mean([len(set(t) & set(f)) / 10 for t, f in zip(truth, found,
                                                                     strict=True)]))


def action_server_memory(var: Path) -> float:
    """RSS (MiB) of a real action server after warm-up on the index under ``var``."""
    env = dict(os.environ, CODESIGN_VAR_DIR=str(var), PYTHONPATH=str(ROOT),
               DATABASE_URL=f"sqlite:///{var / 'mem.db'}",
               CODESIGN_SECRET_KEY=os.environ.get("CODESIGN_SECRET_KEY", "x" * 32))
    port = 5499
    process = subprocess.Popen([str(ROOT / ".venv/bin/python"), "-m", "rasa_sdk", "--actions",
                                "actions", "--port", str(port)], cwd=ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        time.sleep(2)
        return tree_rss_mb(process.pid)
    finally:
        process.terminate()
        process.wait(timeout=30)


def main() -> None:
    """Run every measurement and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=120, help="synthetic documents")
    parser.add_argument("--repeats", type=int, default=25, help="query repetitions")
    args = parser.parse_args()
    figures: dict[str, object] = {}
    with tempfile.TemporaryDirectory(prefix="codesign-kb-bench-") as name:
        tmp = Path(name)
        figures["ingestion"] = ingestion(tmp, args.documents)
        all_vectors = synthetic_vectors(100_000)
        latency: dict[str, dict[str, object]] = {}
        for size in (1_000, 10_000, 100_000):
            var = tmp / f"var-{size}"
            write_sized_generation(var, all_vectors[:size])
            kind = "hnsw" if size >= ix.HNSW_THRESHOLD else "flat"
            latency[f"{size}"] = {"index": kind, **query_latency(var, args.repeats)}
        figures["query_latency"] = latency
        figures["hnsw_recall_at_10_vs_exact_100k"] = hnsw_recall(all_vectors)
        exact_var = tmp / "var-exact-100k"
        metas = [ix.PassageMeta(i, "synthetic", "d", "D", "", None, "x")
                 for i in range(len(all_vectors))]
        root = ix.knowledge_dir(exact_var)
        import faiss

        generation = root / "gen-exact"
        generation.mkdir()
        faiss.write_index(ix.build_faiss(all_vectors, force_kind="flat"),
                          str(generation / "synthetic.faiss"))
        (generation / "passages.json").write_text(json.dumps(
            {"synthetic": [m.__dict__ for m in metas]}))
        (generation / "manifest.json").write_text(json.dumps({"collections": {}}))
        (root / "CURRENT").write_text("gen-exact")
        figures["query_latency_exact_100k"] = query_latency(exact_var, args.repeats)
        figures["action_server_rss_mb_100k"] = action_server_memory(tmp / "var-100000")
    ing = figures["ingestion"]
    assert isinstance(ing, dict)
    print("Knowledge base (2 cores, CPU)")
    print(f"  ingestion: {ing['passages']} passages in {ing['seconds']:.1f} s = "
          f"{ing['passages_per_second']:.0f} passages/s (target >= 150)")
    print("  query latency incl. embedding the question:")
    for label, row in latency.items():
        print(f"    {int(label):>7,} passages ({row['index']!s:5}): p50 {row['p50_ms']:5.1f} ms  "
              f"p95 {row['p95_ms']:5.1f} ms")
    exact = figures["query_latency_exact_100k"]
    assert isinstance(exact, dict)
    print(f"    100,000 passages (exact): p50 {exact['p50_ms']:5.1f} ms  "
          f"p95 {exact['p95_ms']:5.1f} ms   (target p50 <= 20 ms at 100k)")
    print(f"  HNSW recall@10 vs exact at 100k: "
          f"{figures['hnsw_recall_at_10_vs_exact_100k']:.3f} (target >= 0.98)")
    print(f"  action server RSS with the 100k index loaded: "
          f"{figures['action_server_rss_mb_100k']:.0f} MiB")
    write_results("bench-knowledge", figures)


if __name__ == "__main__":
    main()
