"""Who took part against the population: a known skew checked by hand (shares, index,
chi-square test, raked weights), and the raking's warnings."""

from __future__ import annotations

import math

import pandas as pd
import pytest
import weightipy

from bot.review.representation import compare
from bot.review.weighting import EXTREME_WEIGHT, rake

POPULATION = {"65 or over": 0.2, "16 to 64": 0.8}


def test_twice_as_many_over_65s_as_in_the_population() -> None:
    result = compare("age_band", {"65 or over": 40, "16 to 64": 60}, POPULATION,
                     preferred_not=7, order=["16 to 64", "65 or over"])
    young, old = result.categories
    assert (young.name, young.count, young.sample_share) == ("16 to 64", 60, 0.6)
    assert (old.name, old.count, old.sample_share) == ("65 or over", 40, 0.4)
    assert old.index == pytest.approx(2.0) and old.flag == "over"
    assert young.index == pytest.approx(0.75) and young.flag == "under"
    assert result.answered == 100 and result.preferred_not == 7
    # By hand: expected 20 and 80; (40-20)^2/20 + (60-80)^2/80 = 20 + 5 = 25, one degree
    # of freedom, so p = erfc(sqrt(25 / 2)).
    assert result.chi_square == pytest.approx(25.0)
    assert result.p_value == pytest.approx(math.erfc(math.sqrt(12.5)))
    assert not result.few_expected


def test_a_sample_like_the_population_is_not_flagged() -> None:
    result = compare("age_band", {"65 or over": 21, "16 to 64": 79}, POPULATION)
    assert result.flagged == []
    assert result.p_value is not None and result.p_value > 0.5


def test_small_samples_say_the_test_is_unreliable() -> None:
    result = compare("age_band", {"65 or over": 2, "16 to 64": 8}, POPULATION)
    assert result.few_expected  # 2 expected over-65s


def test_no_population_or_no_answers_means_no_test() -> None:
    assert compare("area", {"North": 3}, None).p_value is None
    empty = compare("age_band", {}, POPULATION)
    assert empty.answered == 0 and empty.p_value is None
    assert [c.sample_share for c in empty.categories] == [None, None]


def test_a_category_the_population_does_not_have() -> None:
    result = compare("age_band", {"65 or over": 5, "under 16": 5}, POPULATION)
    assert (result.chi_square, result.p_value) == (None, 0.0)
    assert [c.name for c in result.categories] == ["65 or over", "16 to 64", "under 16"]


def test_raking_one_dimension_is_the_ratio_of_shares() -> None:
    profiles = [{"age_band": "65 or over"}] * 40 + [{"age_band": "16 to 64"}] * 60
    raking = rake(profiles, {"age_band": POPULATION})
    # By hand: 0.2 / 0.4 = 0.5 for an over-65, 0.8 / 0.6 = 4/3 for the others.
    assert raking.weights[:40] == pytest.approx([0.5] * 40)
    assert raking.weights[40:] == pytest.approx([4 / 3] * 60)
    # Kish: 100^2 / (40 * 0.25 + 60 * 16/9); weightipy documents the same measure as a
    # percentage of the sample (of 100 here), its "weighting efficiency".
    assert raking.effective_size == pytest.approx(10_000 / (10 + 60 * 16 / 9))
    assert weightipy.weighting_efficiency(pd.Series(raking.weights)) == \
        pytest.approx(raking.effective_size)
    assert raking.largest == pytest.approx(4 / 3) and raking.warnings == []


def test_raking_two_dimensions_matches_both_margins() -> None:
    profiles = ([{"age": "old", "area": "N"}] * 20 + [{"age": "young", "area": "N"}] * 30 +
                [{"age": "old", "area": "S"}] * 10 + [{"age": "young", "area": "S"}] * 40)
    population = {"age": {"old": 0.2, "young": 0.8}, "area": {"N": 0.6, "S": 0.4}}
    raking = rake(profiles, population)
    assert sum(raking.weights) == pytest.approx(100)
    for dimension, shares in population.items():
        for category, share in shares.items():
            total = sum(w for p, w in zip(profiles, raking.weights, strict=True)
                        if p[dimension] == category)
            assert total / 100 == pytest.approx(share, abs=1e-6)
    assert raking.margin_error < 1e-6


def test_unknown_answers_keep_their_share_and_others_are_raked_within_the_rest() -> None:
    profiles = ([{"age": "old"}] * 40 + [{"age": "young"}] * 40 + [{"age": None}] * 20)
    raking = rake(profiles, {"age": {"old": 0.25, "young": 0.75}})
    assert raking.weights[80:] == pytest.approx([1.0] * 20)
    assert sum(raking.weights[:40]) == pytest.approx(0.25 * 80)
    assert sum(raking.weights[40:80]) == pytest.approx(0.75 * 80)


def test_extreme_weights_and_missing_groups_are_warned_about() -> None:
    profiles = [{"age": "old"}] * 2 + [{"age": "young"}] * 98
    raking = rake(profiles, {"age": {"old": 0.5, "young": 0.4, "child": 0.1}})
    assert raking.largest > EXTREME_WEIGHT
    warnings = " | ".join(raking.warnings)
    assert "the largest weight is" in warnings
    assert "fewer than half" in warnings
    assert "nobody in child (age) took part" in warnings


def test_nothing_to_weight_by_gives_everyone_one() -> None:
    assert rake([{"age": None}] * 3, {"age": POPULATION}).weights == [1.0, 1.0, 1.0]
    assert rake([], {"age": POPULATION}).weights == []
