"""Automatic themes of open answers: quality on a labelled set, labels, quotes, edge cases."""

from __future__ import annotations

import numpy as np
import pytest

from bot.devtools.stack import ROOT
from bot.review.theme_eval import LabelledQuestion, adjusted_rand, load_labelled
from bot.review.themes import centred, find_themes, keywords_by_cluster

LABELLED = load_labelled(ROOT / "tests" / "eval" / "themes.jsonl")


def test_the_labelled_set_is_big_enough() -> None:
    assert sum(len(q.answers) for q in LABELLED) >= 120 and len(LABELLED) >= 2
    assert all(len(set(q.themes)) >= 4 for q in LABELLED)


@pytest.mark.parametrize("question", LABELLED, ids=[q.key for q in LABELLED])
def test_themes_recover_the_labelled_themes(question: object, capsys: pytest.CaptureFixture[str]
                                            ) -> None:
    assert isinstance(question, LabelledQuestion)
    score, count = adjusted_rand(question)
    with capsys.disabled():
        print(f"\n  themes for {question.key}: adjusted Rand index {score:.3f} "
              f"({count} themes found, {len(set(question.themes))} labelled)")
    assert score >= 0.6


def test_labels_are_distinctive_words_and_quotes_are_members() -> None:
    park = next(q for q in LABELLED if q.key == "park-improvements")
    themes = find_themes(park.answers)
    assert sum(t.size for t in themes) == len(park.answers)
    assert sorted(m for t in themes for m in t.members) == list(range(len(park.answers)))
    dogs = next(t for t in themes if "dogs" in t.keywords or "dog" in t.keywords)
    assert sum(park.themes[m] == "dogs" for m in dogs.members) >= 0.8 * dogs.size
    for theme in themes:
        assert theme.quotes == theme.members[:3] and theme.label
    assert [t.size for t in themes] == sorted((t.size for t in themes), reverse=True)


def test_keywords_prefer_words_frequent_in_one_cluster_only() -> None:
    texts = ["dog mess", "dog bins", "dog area", "toilet open", "toilet clean", "open toilet"]
    keywords = keywords_by_cluster(texts, np.array([0, 0, 0, 1, 1, 1]))
    assert keywords[0][0] == "dog" and keywords[1][0] == "toilet"


def test_a_fixed_number_of_themes_and_progress_reports() -> None:
    seen: list[float] = []
    answers = LABELLED[0].answers
    themes = find_themes(answers, themes=3, progress=lambda _, done: seen.append(done))
    assert len(themes) == 3 and seen[-1] == 1.0 and seen == sorted(seen)


def test_few_answers_make_one_theme_and_none_make_none() -> None:
    assert find_themes([]) == []
    (only,) = find_themes(["more benches", "benches please"])
    assert only.members == [0, 1] or only.members == [1, 0]
    assert only.size == 2


def test_centring_removes_the_shared_direction() -> None:
    vectors = np.array([[1.0, 1.0], [1.0, 0.8], [1.0, 1.2]], dtype=np.float32)
    shifted = centred(vectors)
    assert np.allclose(np.linalg.norm(shifted[[1, 2]], axis=1), 1.0)
    assert shifted[1, 1] < 0 < shifted[2, 1]
    assert not shifted[0].any()  # the answer at the mean stays zero, not NaN
