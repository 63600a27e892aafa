"""Retrieval quality and the "not covered" decision on the evaluation sets (tests/eval/).

Builds a fresh index of ``knowledge/`` (one collection per folder) in a temporary
folder, then reports recall@1, recall@5 and MRR for dense, BM25 and hybrid retrieval
(searching the question's collection, as inside a consultation), and the accuracy of the
"not covered" decision: the share of uncovered questions declined and of covered ones
wrongly declined, with sweeps of the similarity and word-match thresholds; and how many
covered questions get an answer that shows their labelled fact (answer-keys.jsonl,
``bot.knowledge.answer_keys``), which document-level recall cannot tell.

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
from pathlib import Path

from bench.common import write_results
from bot.devtools.stack import ROOT, ingest_demo_knowledge
from bot.knowledge import evaluation
from bot.knowledge.answer_keys import AnswerKey, answer_shown, load_answer_keys
from bot.knowledge.answers import DEFAULT_THRESHOLDS, Thresholds
from bot.knowledge.evaluation import MODES, Case, Scored, load_cases
from bot.knowledge.grounding import TermGrounder
from bot.knowledge.search import KnowledgeSearcher

EVAL_DIR = ROOT / "tests" / "eval"
EVAL_FILE = EVAL_DIR / "questions.jsonl"
#: The sets the thresholds are chosen on (pooled), and the test set that never is.
TUNING_SETS = {"tuning": EVAL_FILE, "held-out": EVAL_DIR / "heldout.jsonl",
               "decision-train": EVAL_DIR / "decision-train.jsonl"}
TEST_SET = {"decision-test": EVAL_DIR / "decision-test.jsonl"}
EVAL_SETS = {**TUNING_SETS, **TEST_SET}
POOL = "pool"
#: Per covered question of the tuning and decision-test sets, the snippets that answer it.
ANSWER_KEYS = EVAL_DIR / "answer-keys.jsonl"


def build_index(var: Path) -> None:
    """Ingest every collection folder of ``knowledge/`` into a fresh store under ``var``."""
    ingest_demo_knowledge(f"sqlite:///{var / 'eval.db'}", var)


def evaluate(searcher: KnowledgeSearcher, cases: list[Case], grounder: TermGrounder,
             keys: dict[str, AnswerKey]) -> dict[str, object]:
    """All figures for one set."""
    figures: dict[str, object] = {
        "covered_questions": sum(c.covered for c in cases),
        "uncovered_questions": sum(not c.covered for c in cases)}
    scored = evaluation.score(searcher, cases, grounder)
    for mode in MODES:
        figures[mode] = evaluation.hybrid_retrieval(scored) if mode == "hybrid" else \
            evaluation.retrieval(searcher, cases, mode)
    figures.update(decision_figures(scored))
    shown, keyed = answer_shown(scored, keys)
    if keyed and keyed == figures["covered_questions"]:  # sets keyed in full only
        figures["answer_shown"] = {"shown": shown, "questions": keyed}
    return figures


def decision_figures(scored: list[Scored]) -> dict[str, object]:
    """The "not covered" decision: similarity alone, the bot's rule, and sweeps of both
    thresholds (each with the other at its default)."""
    rule = DEFAULT_THRESHOLDS
    similarity_only = Thresholds(rule.similarity, 0.0, 0.0)
    return {
        "threshold": rule.similarity, "word_match": rule.word_match,
        "similarity_only": evaluation.rates(scored, similarity_only),
        "decision": evaluation.rates(scored, rule),
        "outcomes": evaluation.outcomes(scored, rule),
        "missed_uncovered": [s.case.question for s in scored if not s.case.covered
                             and s.covered_by(rule)],
        "wrongly_declined": [s.case.question for s in scored if s.case.covered
                             and not s.covered_by(rule)],
        "sweep": {f"{t / 100:.2f}": evaluation.rates(scored, Thresholds(t / 100, 0.0, 0.0))
                  for t in range(30, 72, 2)},
        "word_sweep": {f"{w / 100:.2f}": evaluation.rates(
            scored, Thresholds(rule.similarity, w / 100, rule.offered_match))
            for w in range(36, 58)},
        "offered_sweep": {f"{o / 100:.2f}": evaluation.rates(
            scored, Thresholds(rule.similarity, rule.word_match, o / 100))
            for o in range(40, 95, 5)},
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
    shown = figures.get("answer_shown")
    if isinstance(shown, dict):
        print(f"  answer shown: {shown['shown']} of {shown['questions']} covered questions "
              f"({shown['shown'] / shown['questions']:.0%}) get an answer that contains "
              f"their labelled fact ({ANSWER_KEYS.relative_to(ROOT)})")
    rule = DEFAULT_THRESHOLDS
    for key, label in (("similarity_only", f"similarity < {rule.similarity:.2f} only"),
                       ("decision", f"similarity + word grounding ({rule.word_match:.2f}, "
                                    f"{rule.offered_match:.2f} for 'is there…' questions)")):
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
                       ("word_sweep", "word-match threshold (the others as used)"),
                       ("offered_sweep", "word match for 'is there…' questions (the others "
                                         "as used)")):
        print(f"  {label} sweep (uncovered declined / covered wrongly declined):")
        sweep = figures[key]
        assert isinstance(sweep, dict)
        cells = [f"{t}: {v['uncovered_declined']:.0%}/{v['covered_wrongly_declined']:.0%}"
                 for t, v in sweep.items()]
        print("   " + "  ".join(cells))


def main() -> None:
    """Build the index, evaluate every set and the pool, and print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print JSON only")
    args = parser.parse_args()
    sets = {name: load_cases(path) for name, path in EVAL_SETS.items() if path.is_file()}
    sets[POOL] = [case for name in TUNING_SETS if name in sets for case in sets[name]]
    with tempfile.TemporaryDirectory(prefix="codesign-eval-") as tmp:
        build_index(Path(tmp))
        searcher = KnowledgeSearcher(Path(tmp))
        grounder = TermGrounder()
        keys = load_answer_keys(ANSWER_KEYS)
        figures = {name: evaluate(searcher, cases, grounder, keys)
                   for name, cases in sets.items()}
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
