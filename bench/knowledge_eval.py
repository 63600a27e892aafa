"""Retrieval quality on the evaluation set (tests/eval/questions.jsonl).

Builds a fresh index of ``knowledge/`` (one collection per folder) in a temporary
folder, then reports recall@1, recall@5 and MRR for dense, BM25 and hybrid retrieval
(searching the question's collection, as inside a consultation), and the accuracy of the
"not covered" decision: the share of uncovered questions declined and of covered ones
wrongly declined, with a sweep of the similarity threshold.

Run: ``.venv/bin/python -m bench.knowledge_eval`` (part of ``make bench``).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bench.common import write_results
from bot.devtools.stack import ROOT, ingest_demo_knowledge
from bot.knowledge.answers import COVERED_THRESHOLD
from bot.knowledge.search import KnowledgeSearcher, Mode

EVAL_FILE = ROOT / "tests" / "eval" / "questions.jsonl"
MODES: tuple[Mode, ...] = ("dense", "bm25", "hybrid")


@dataclass
class Case:
    """One evaluation question."""

    question: str
    collection: str
    sources: list[str]


def load_cases(path: Path = EVAL_FILE) -> list[Case]:
    """The evaluation questions."""
    cases = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            cases.append(Case(row["question"], row["collection"], list(row["sources"])))
    return cases


def build_index(var: Path) -> None:
    """Ingest every collection folder of ``knowledge/`` into a fresh store under ``var``."""
    ingest_demo_knowledge(f"sqlite:///{var / 'eval.db'}", var)


def _source_of(document: str, collection: str) -> str:
    return f"{collection}/{document}"


def evaluate(searcher: KnowledgeSearcher, cases: list[Case]) -> dict[str, object]:
    """All figures for one index."""
    covered = [c for c in cases if c.sources]
    uncovered = [c for c in cases if not c.sources]
    figures: dict[str, object] = {"covered_questions": len(covered),
                                  "uncovered_questions": len(uncovered)}
    similarities_covered: list[float] = []
    for mode in MODES:
        r1 = r5 = rr = 0.0
        for case in covered:
            hits = searcher.search(case.question, [case.collection], k=10, mode=mode)
            ranks = [i for i, hit in enumerate(hits, 1)
                     if _source_of(hit.passage.document, hit.passage.collection) in case.sources]
            first = ranks[0] if ranks else None
            r1 += first == 1
            r5 += first is not None and first <= 5
            rr += 1 / first if first else 0.0
            if mode == "hybrid":
                similarities_covered.append(max((h.similarity for h in hits[:3]), default=0.0))
        n = max(len(covered), 1)
        figures[mode] = {"recall@1": r1 / n, "recall@5": r5 / n, "mrr": rr / n}
    similarities_uncovered = [
        max((h.similarity for h in searcher.search(c.question, [c.collection], k=3)),
            default=0.0) for c in uncovered]
    sweep = {}
    for step in range(30, 72, 2):
        threshold = step / 100
        sweep[f"{threshold:.2f}"] = {
            "uncovered_declined": sum(s < threshold for s in similarities_uncovered)
            / max(len(uncovered), 1),
            "covered_wrongly_declined": sum(s < threshold for s in similarities_covered)
            / max(len(covered), 1)}
    figures["threshold"] = COVERED_THRESHOLD
    figures["decision"] = {
        "uncovered_declined": sum(s < COVERED_THRESHOLD for s in similarities_uncovered)
        / max(len(uncovered), 1),
        "covered_wrongly_declined": sum(s < COVERED_THRESHOLD for s in similarities_covered)
        / max(len(covered), 1)}
    figures["sweep"] = sweep
    return figures


def main() -> None:
    """Build the index, evaluate and print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print JSON only")
    args = parser.parse_args()
    cases = load_cases()
    with tempfile.TemporaryDirectory(prefix="codesign-eval-") as tmp:
        build_index(Path(tmp))
        figures = evaluate(KnowledgeSearcher(Path(tmp)), cases)
    write_results("knowledge-eval", figures)
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    print(f"Retrieval on {figures['covered_questions']} covered and "
          f"{figures['uncovered_questions']} uncovered questions (tests/eval/questions.jsonl)")
    print(f"  {'mode':8} {'recall@1':>9} {'recall@5':>9} {'MRR':>6}")
    for mode in MODES:
        m = figures[mode]
        assert isinstance(m, dict)
        print(f"  {mode:8} {m['recall@1']:9.3f} {m['recall@5']:9.3f} {m['mrr']:6.3f}")
    decision = figures["decision"]
    assert isinstance(decision, dict)
    print(f"  not-covered decision at similarity {COVERED_THRESHOLD:.2f}: "
          f"{decision['uncovered_declined']:.0%} of uncovered declined (target >= 80%), "
          f"{decision['covered_wrongly_declined']:.0%} of covered wrongly declined "
          f"(target <= 10%)")
    print("  threshold sweep (uncovered declined / covered wrongly declined):")
    sweep = figures["sweep"]
    assert isinstance(sweep, dict)
    cells = [f"{t}: {v['uncovered_declined']:.0%}/{v['covered_wrongly_declined']:.0%}"
             for t, v in sweep.items()]
    print("   " + "  ".join(cells))


if __name__ == "__main__":
    main()
