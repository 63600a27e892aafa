"""Choosing how hybrid search fuses its dense and BM25 rankings (``search.Fusion``), by
cross-validation across the evaluation sets.

Each question is embedded once and searched with every fusion of a small grid. A set is
judged by the MRR of the first relevant hit: the first passage that shows the labelled
fact when the set has answer keys for every covered question, else the first passage of
a labelled document. The shipped fusion is the grid's best on the demo pool; leave one
set out chooses on all the other sets and measures on the one left out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict

from bot.knowledge import evaluation
from bot.knowledge.answer_keys import AnswerKey, fact_rank
from bot.knowledge.embedder import embed
from bot.knowledge.evaluation import RETRIEVAL_DEPTH, Case
from bot.knowledge.glossary import Glossary
from bot.knowledge.search import FUSION, Fusion, KnowledgeSearcher

GRID = [Fusion(k, weight) for k in (1, 2, 5, 10, 20, 60) for weight in (1.0, 1.25, 1.5, 2.0)]
Ranks = dict[Fusion, list[int | None]]


def ranks_by_fusion(searcher: KnowledgeSearcher, cases: list[Case],
                    keys: Mapping[str, AnswerKey],
                    glossaries: Mapping[str, Glossary] | None) -> Ranks:
    """For each fusion of ``GRID`` (and the shipped one), the rank of each covered
    question's first relevant hit."""
    covered = [case for case in cases if case.covered]
    by_fact = all(case.question in keys for case in covered)
    queries = [evaluation.searched(case, glossaries) for case in covered]
    vectors = embed(queries, batch_size=128)
    ranks: Ranks = {}
    for fusion in dict.fromkeys([*GRID, FUSION]):
        ranks[fusion] = []
        for case, query, vector in zip(covered, queries, vectors, strict=True):
            hits = searcher.search(query, [case.collection] if case.collection else None,
                                   k=RETRIEVAL_DEPTH, vector=vector, fusion=fusion)
            ranks[fusion].append(fact_rank(hits, keys[case.question]) if by_fact
                                 else evaluation.source_rank(case, hits))
    return ranks


def best(groups: list[Ranks]) -> Fusion:
    """The fusion with the highest MRR over the questions of ``groups`` pooled (the
    shipped one wins ties, then the grid's order)."""
    def mrr(fusion: Fusion) -> float:
        pooled = [rank for group in groups for rank in group[fusion]]
        return evaluation.recall_figures(pooled)["mrr"]
    return max([FUSION, *GRID], key=mrr)


def fusion_figures(ranks: Mapping[str, Ranks], pool: list[str]) -> dict[str, object]:
    """The grid's MRR on each set, the fusion the pool chooses, and leave one set out:
    for each set that is not part of the pool (and the pool as one set), the fusion
    chosen on all the others and its figures there beside the shipped one's."""
    groups = {"pool": [ranks[name] for name in pool],
              **{name: [r] for name, r in ranks.items() if name not in pool}}
    left_out = {}
    for name, group in groups.items():
        chosen = best([g for other, rest in groups.items() if other != name for g in rest])
        pooled = {f: [rank for g in group for rank in g[f]] for f in (chosen, FUSION)}
        left_out[name] = {"chosen": asdict(chosen),
                          "figures": evaluation.recall_figures(pooled[chosen]),
                          "shipped": evaluation.recall_figures(pooled[FUSION])}
    return {"shipped": asdict(FUSION), "chosen_on_pool": asdict(best(groups["pool"])),
            "grid": {name: {f"k={f.k:g} dense×{f.dense_weight:g}":
                            evaluation.recall_figures(r[f])["mrr"] for f in GRID}
                     for name, r in ranks.items()},
            "leave_one_set_out": left_out}


def report_fusion(figures: Mapping[str, object]) -> None:
    """Print ``fusion_figures``."""
    shipped, chosen = figures["shipped"], figures["chosen_on_pool"]
    assert isinstance(shipped, dict) and isinstance(chosen, dict)
    print(f"\nHybrid fusion (weighted reciprocal rank fusion): shipped k={shipped['k']:g}, "
          f"dense weight {shipped['dense_weight']:g}; the demo pool's best: "
          f"k={chosen['k']:g}, dense weight {chosen['dense_weight']:g}")
    grid = figures["grid"]
    assert isinstance(grid, dict)
    names = list(grid)
    print("  MRR of the first relevant hit (by passage where the set is keyed):")
    print(f"  {'fusion':18} " + " ".join(f"{name[-18:]:>18}" for name in names))
    for cell in next(iter(grid.values())):
        print(f"  {cell:18} " + " ".join(f"{grid[name][cell]:18.3f}" for name in names))
    print("  leave one set out (chosen on the others): recall@1 / recall@5 / MRR, "
          "shipped beside it")
    left_out = figures["leave_one_set_out"]
    assert isinstance(left_out, dict)
    for name, row in left_out.items():
        f, s, c = row["figures"], row["shipped"], row["chosen"]
        print(f"  {name:22} k={c['k']:<3g} ×{c['dense_weight']:<5g} "
              f"{f['recall@1']:.3f}/{f['recall@5']:.3f}/{f['mrr']:.3f}   shipped "
              f"{s['recall@1']:.3f}/{s['recall@5']:.3f}/{s['mrr']:.3f}")
