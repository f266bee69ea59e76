"""Kaplan-Meier and Cox from grouped day counts give what survival.py (lifelines) gives on the expanded
episodes: the report can read counts instead of one row per episode without changing a number."""

from __future__ import annotations

import math
import random
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import optimize
from scipy import stats as scipy_stats

from needlepoint.insights.grouped_survival import (
    DayCount,
    compare_needled_counts,
    hazard_ratio_counts,
    kaplan_meier_counts,
)
from needlepoint.insights.survival import NOT_RANDOMISED_CAVEAT
from tests.insights.lifelines_survival import hazard_ratio, kaplan_meier


def grouped(episodes: list[tuple[int, bool]]) -> list[DayCount]:
    """Episodes (days, goals met) counted per day, as the database returns them."""
    tally = Counter(episodes)
    return [DayCount(day, tally[(day, True)], tally[(day, False)]) for day in sorted({d for d, _ in episodes})]


def assert_same_curve(expanded, counted) -> None:
    assert (counted.n, counted.events) == (expanded.n, expanded.events)
    assert len(counted.points) == len(expanded.points)
    for mine, theirs in zip(counted.points, expanded.points, strict=True):
        assert (mine.time, mine.at_risk, mine.events, mine.censored) == (
            theirs.time,
            theirs.at_risk,
            theirs.events,
            theirs.censored,
        )
        assert mine.survival == pytest.approx(theirs.survival, abs=1e-12)
        for a, b in ((mine.ci_low, theirs.ci_low), (mine.ci_high, theirs.ci_high)):
            assert (a is None) == (b is None)
            if a is not None:
                assert a == pytest.approx(b, abs=1e-9)
    # lifelines multiplies through logarithms, so a curve exactly at one half can come out a hair above it and
    # "not reach" its median; the product here is exact. Compare medians wherever no point sits at one half.
    at_half = any(abs(point.survival - 0.5) < 1e-9 for point in counted.points)
    if not at_half:
        assert counted.median == expanded.median
    assert (counted.median_low, counted.median_high) == (expanded.median_low, expanded.median_high)


episodes_strategy = st.lists(st.tuples(st.integers(0, 40), st.booleans()), min_size=1, max_size=80)


@settings(max_examples=60, deadline=None)
@given(episodes_strategy)
def test_kaplan_meier_from_counts_equals_lifelines_on_expanded_episodes(episodes):
    assert_same_curve(kaplan_meier(episodes), kaplan_meier_counts(grouped(episodes)))


def efron_fit(needled: list[tuple[int, bool]], other: list[tuple[int, bool]]) -> tuple[float, float]:
    """Independent Cox fit on the expanded episodes: Efron's partial likelihood, one person at a time, maximised
    by scipy; returns (beta, standard error from the numerical second derivative)."""
    people = [(days, event, 1.0) for days, event in needled] + [(days, event, 0.0) for days, event in other]

    def log_likelihood(beta: float) -> float:
        total = 0.0
        for day in sorted({days for days, event, _ in people if event}):
            dying = [x for days, event, x in people if event and days == day]
            at_risk = [x for days, _, x in people if days >= day]
            risk_sum = sum(math.exp(beta * x) for x in at_risk)
            tied_sum = sum(math.exp(beta * x) for x in dying)
            total += beta * sum(dying)
            for k in range(len(dying)):
                total -= math.log(risk_sum - k / len(dying) * tied_sum)
        return total

    beta = optimize.minimize_scalar(
        lambda b: -log_likelihood(b), bounds=(-5, 5), method="bounded", options={"xatol": 1e-10}
    ).x
    h = 1e-4
    second = (log_likelihood(beta + h) - 2 * log_likelihood(beta) + log_likelihood(beta - h)) / h**2
    return beta, 1 / math.sqrt(-second)


@pytest.mark.parametrize("seed", range(5))
def test_hazard_ratio_from_counts_equals_an_independent_efron_fit(seed):
    rng = random.Random(seed)
    needled = [(rng.randint(3, 60), rng.random() < 0.6) for _ in range(rng.randint(20, 120))]
    other = [(rng.randint(3, 70), rng.random() < 0.5) for _ in range(rng.randint(20, 100))]
    beta, standard_error = efron_fit(needled, other)
    found = hazard_ratio_counts(grouped(needled), grouped(other))
    assert math.log(found.value) == pytest.approx(beta, abs=1e-6)
    assert math.log(found.high / found.value) / 1.959963984540054 == pytest.approx(standard_error, rel=1e-4)
    assert found.p_value == pytest.approx(2 * scipy_stats.norm.sf(abs(beta / standard_error)), rel=1e-3)
    # lifelines stops its Newton-Raphson earlier (score about 1e-3), so it agrees to about 1e-3 only.
    assert found.value == pytest.approx(hazard_ratio(needled, other).value, rel=1e-3)


def test_no_ratio_without_an_event_in_each_group():
    result = hazard_ratio_counts([DayCount(5, 0, 3)], [DayCount(4, 2, 1)])
    assert not result.enough_data and "each group needs" in result.reason


def test_no_ratio_when_the_groups_separate_completely():
    # Every needled episode ends before any other one does: the partial likelihood has no maximum.
    needled = [DayCount(day, 1, 0) for day in range(1, 6)]
    other = [DayCount(day, 1, 0) for day in range(10, 15)]
    result = hazard_ratio_counts(needled, other)
    assert not result.enough_data and "separate completely" in result.reason


def test_empty_curve_says_not_enough_data():
    curve = kaplan_meier_counts([])
    assert not curve.enough_data and curve.reason.startswith("Not enough data")


def test_comparison_carries_the_not_randomised_caveat():
    comparison = compare_needled_counts([DayCount(3, 2, 1)], [DayCount(5, 1, 1)])
    assert NOT_RANDOMISED_CAVEAT in comparison.caveats


def test_bad_counts_are_refused():
    with pytest.raises(ValueError):
        kaplan_meier_counts([DayCount(-1, 1, 0)])
    with pytest.raises(ValueError):
        kaplan_meier_counts([DayCount(3, -1, 0)])
