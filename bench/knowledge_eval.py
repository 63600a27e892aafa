"""Retrieval quality and the "not covered" decision on the evaluation sets (tests/eval/).

Builds a fresh index of ``knowledge/`` (one collection per folder) in a temporary
folder, then reports recall@1, recall@5 and MRR for dense, BM25 and hybrid retrieval
(searching the question's collection, as inside a consultation), and the accuracy of the
"not covered" decision: the share of uncovered questions declined and of covered ones
wrongly declined, with sweeps of the similarity and word-match thresholds.

The sets, each written by someone who had read the documents but not the bot's code:
questions.jsonl (tuning), heldout.jsonl, decision-train.jsonl and decision-test.jsonl.
The thresholds are chosen on the first three pooled ("pool"); decision-test.jsonl is
never used to choose anything, so its figures show how the decision generalises.

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
from bot.knowledge.answers import COVERED_THRESHOLD, evidence_texts, judge
from bot.knowledge.grounding import WORD_MATCH, TermGrounder
from bot.knowledge.search import KnowledgeSearcher, Mode

EVAL_DIR = ROOT / "tests" / "eval"
EVAL_FILE = EVAL_DIR / "questions.jsonl"
#: The sets the thresholds are chosen on (pooled), and the test set that never is.
TUNING_SETS = {"tuning": EVAL_FILE, "held-out": EVAL_DIR / "heldout.jsonl",
               "decision-train": EVAL_DIR / "decision-train.jsonl"}
TEST_SET = {"decision-test": EVAL_DIR / "decision-test.jsonl"}
EVAL_SETS = {**TUNING_SETS, **TEST_SET}
POOL = "pool"
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
        n = max(len(covered), 1)
        figures[mode] = {"recall@1": r1 / n, "recall@5": r5 / n, "mrr": rr / n}
    figures.update(decision_figures(searcher, covered, uncovered))
    return figures


def _share(flags: list[bool]) -> float:
    return sum(flags) / max(len(flags), 1)


def decision_figures(searcher: KnowledgeSearcher, covered: list[Case],
                     uncovered: list[Case]) -> dict[str, object]:
    """The "not covered" decision: similarity alone (with a sweep) and the bot's full rule."""
    grounder = TermGrounder()
    top: dict[str, float] = {}
    weakest: dict[str, float] = {}
    declined: dict[str, bool] = {}
    outcome: dict[str, str] = {}
    for case in covered + uncovered:
        hits = searcher.search(case.question, [case.collection], k=5)
        top[case.question] = max((h.similarity for h in hits[:3]), default=0.0)
        weakest[case.question] = min(
            (score for score, _ in grounder.matches(case.question, evidence_texts(hits))),
            default=1.0)
        coverage = judge(case.question, hits, grounder)
        declined[case.question] = not coverage.covered
        outcome[case.question] = "answered" if coverage.covered else \
            "closest" if coverage.closest else "declined"

    def rates(decline: dict[str, bool]) -> dict[str, float]:
        return {"uncovered_declined": _share([decline[c.question] for c in uncovered]),
                "covered_wrongly_declined": _share([decline[c.question] for c in covered])}

    sweep = {f"{t / 100:.2f}": rates({q: s < t / 100 for q, s in top.items()})
             for t in range(30, 72, 2)}
    word_sweep = {f"{w / 100:.2f}": rates({q: s < COVERED_THRESHOLD or weakest[q] < w / 100
                                           for q, s in top.items()})
                  for w in range(36, 58)}
    return {
        "threshold": COVERED_THRESHOLD, "word_match": WORD_MATCH,
        "similarity_only": rates({q: s < COVERED_THRESHOLD for q, s in top.items()}),
        "decision": rates(declined),
        "outcomes": {name: {kind: _share([outcome[c.question] == kind for c in group])
                            for kind in ("answered", "closest", "declined")}
                     for name, group in (("covered", covered), ("uncovered", uncovered))},
        "missed_uncovered": [c.question for c in uncovered if not declined[c.question]],
        "wrongly_declined": [c.question for c in covered if declined[c.question]],
        "sweep": sweep,
        "word_sweep": word_sweep,
    }


def report(figures: dict[str, object], source: str) -> None:
    """Print one set's figures."""
    print(f"Retrieval on {figures['covered_questions']} covered and "
          f"{figures['uncovered_questions']} uncovered questions ({source})")
    print(f"  {'mode':8} {'recall@1':>9} {'recall@5':>9} {'MRR':>6}")
    for mode in MODES:
        m = figures[mode]
        assert isinstance(m, dict)
        print(f"  {mode:8} {m['recall@1']:9.3f} {m['recall@5']:9.3f} {m['mrr']:6.3f}")
    for key, label in (("similarity_only", f"similarity < {COVERED_THRESHOLD:.2f} only"),
                       ("decision", f"similarity + word grounding ({WORD_MATCH:.2f})")):
        rates = figures[key]
        assert isinstance(rates, dict)
        print(f"  not covered, {label}: {rates['uncovered_declined']:.0%} of uncovered declined "
              f"(target >= 80%), {rates['covered_wrongly_declined']:.0%} of covered wrongly "
              f"declined (target <= 10%)")
    outcomes = figures["outcomes"]
    assert isinstance(outcomes, dict)
    for group, shares in outcomes.items():
        print(f"  {group} questions: {shares['answered']:.0%} answered, {shares['closest']:.0%} "
              f"told the word is not found and shown the closest passage, "
              f"{shares['declined']:.0%} declined outright")
    for key in ("missed_uncovered", "wrongly_declined"):
        print(f"  {key.replace('_', ' ')}: {figures[key]}")
    for key, label in (("sweep", "similarity-only threshold"),
                       ("word_sweep", f"word-match threshold at similarity {COVERED_THRESHOLD}")):
        print(f"  {label} sweep (uncovered declined / covered wrongly declined):")
        sweep = figures[key]
        assert isinstance(sweep, dict)
        cells = [f"{t}: {v['uncovered_declined']:.0%}/{v['covered_wrongly_declined']:.0%}"
                 for t, v in sweep.items()]
        print("   " + "  ".join(cells))


def main() -> None:
    """Build the index, evaluate both sets and print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print JSON only")
    args = parser.parse_args()
    sets = {name: load_cases(path) for name, path in EVAL_SETS.items() if path.is_file()}
    sets[POOL] = [case for name in TUNING_SETS if name in sets for case in sets[name]]
    with tempfile.TemporaryDirectory(prefix="codesign-eval-") as tmp:
        build_index(Path(tmp))
        searcher = KnowledgeSearcher(Path(tmp))
        figures = {name: evaluate(searcher, cases) for name, cases in sets.items()}
    write_results("knowledge-eval", dict(figures))
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    for name, set_figures in figures.items():
        where = "the thresholds are chosen on these" if name == POOL else \
            f"{EVAL_SETS[name].relative_to(ROOT)}, {name} set"
        report(set_figures, where)


if __name__ == "__main__":
    main()
