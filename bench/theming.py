"""Theme quality and speed: adjusted Rand index on the labelled answers, and the time to
theme 5,000 open answers (embedding included) on this machine.

The 5,000 answers are built from the labelled ones of tests/eval/themes.jsonl: one to
three answers of the same theme joined into one, so each has a known theme.

Run: ``.venv/bin/python -m bench.theming`` (part of ``make bench``).
"""

from __future__ import annotations

import argparse
import os
import random
import time

from bench.common import write_results
from bot.devtools.stack import ROOT, rss_mb
from bot.review.theme_eval import adjusted_rand, load_labelled
from bot.review.themes import find_themes

JOINS = [". Also, ", " and ", "; ", ", plus ", ". And "]


def synthetic_answers(count: int, seed: int = 7) -> tuple[list[str], list[str]]:
    """``count`` distinct answers and their themes: one to three labelled answers of the
    same question and theme, joined as people write them."""
    rng = random.Random(seed)
    pools: dict[str, list[str]] = {}
    for question in load_labelled(ROOT / "tests" / "eval" / "themes.jsonl"):
        for answer, theme in zip(question.answers, question.themes, strict=True):
            pools.setdefault(f"{question.key}/{theme}", []).append(answer)
    made: dict[str, str] = {}
    while len(made) < count:
        theme = rng.choice(sorted(pools))
        parts = rng.sample(pools[theme], rng.randint(1, 3))
        text = parts[0]
        for part in parts[1:]:
            text += rng.choice(JOINS) + part[0].lower() + part[1:]
        made.setdefault(text, theme)
    texts = sorted(made)
    return texts, [made[t] for t in texts]


def main() -> None:
    """Print the adjusted Rand index per question and the time to theme N answers."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--answers", type=int, default=5000, help="how many answers to theme")
    args = parser.parse_args()
    from bot.knowledge.embedder import warm_up

    warm_up()
    figures: dict[str, object] = {}
    print("Theme quality on tests/eval/themes.jsonl (target: adjusted Rand index >= 0.6)")
    for question in load_labelled(ROOT / "tests" / "eval" / "themes.jsonl"):
        score, count = adjusted_rand(question)
        figures[f"ari_{question.key}"] = score
        print(f"  {question.key:20} ARI {score:.3f}  ({count} themes, "
              f"{len(set(question.themes))} labelled, {len(question.answers)} answers)")
    answers, labels = synthetic_answers(args.answers)
    started = time.perf_counter()
    themes = find_themes(answers)
    seconds = time.perf_counter() - started
    predicted = [0] * len(answers)
    for number, theme in enumerate(themes):
        for member in theme.members:
            predicted[member] = number
    from sklearn.metrics import adjusted_rand_score

    figures.update(answers=len(answers), seconds=seconds, themes=len(themes),
                   ari=float(adjusted_rand_score(labels, predicted)),
                   rss_mb=rss_mb(os.getpid()))
    print(f"  theming {len(answers)} answers (all three questions mixed, "
          f"{len(set(labels))} true themes): {seconds:.1f} s including embedding "
          f"(target <= 60 s); {len(themes)} themes, ARI {figures['ari']:.3f}; "
          f"resident memory {figures['rss_mb']:.0f} MiB")
    write_results("theming", figures)


if __name__ == "__main__":
    main()
