"""Kaplan-Meier and Cox results against hand-worked examples, lifelines used directly, and an independent
Efron partial-likelihood fit with scipy."""

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lifelines import KaplanMeierFitter
from lifelines.utils import median_survival_times
from scipy import optimize
from scipy import stats as scipy_stats

from needlepoint.insights.survival import NOT_RANDOMISED_CAVEAT
from tests.insights.lifelines_survival import compare_needled, hazard_ratio, kaplan_meier

# Seven episodes: days to discharge with goals met (True) or censored (False).
SMALL = [(3, True), (5, True), (5, False), (8, True), (10, True), (12, False), (15, True)]


def test_kaplan_meier_product_limit_worked_by_hand():
    curve = kaplan_meier(SMALL)
    by_time = {point.time: point for point in curve.points}
    # S(t) = product of (1 - d/n) over event times: 6/7, then 5/6, then 3/4, then 2/3, then 0/1.
    expected = {0: 1, 3: 6 / 7, 5: 5 / 7, 8: 15 / 28, 10: 5 / 14, 12: 5 / 14, 15: 0}
    assert {time: point.survival for time, point in by_time.items()} == pytest.approx(expected)
    assert [(p.at_risk, p.events, p.censored) for p in curve.points] == [
        (7, 0, 0), (7, 1, 0), (6, 1, 1), (4, 1, 0), (3, 1, 0), (2, 0, 1), (1, 1, 0),
    ]  # fmt: skip
    assert curve.n == 7 and curve.events == 5
    assert curve.median == 10  # first time S(t) <= 0.5


def _log_log_interval(survival, greenwood_sum):
    # Exponential Greenwood: a normal interval on log(-log S), mapped back.
    spread = scipy_stats.norm.ppf(0.975) * math.sqrt(greenwood_sum) / abs(math.log(survival))
    return survival ** math.exp(spread), survival ** math.exp(-spread)


def test_pointwise_intervals_follow_the_exponential_greenwood_formula_by_hand():
    by_time = {point.time: point for point in kaplan_meier(SMALL).points}
    greenwood = 0.0
    for time, at_risk, events in [(3, 7, 1), (5, 6, 1), (8, 4, 1), (10, 3, 1)]:
        greenwood += events / (at_risk * (at_risk - events))
        low, high = _log_log_interval(by_time[time].survival, greenwood)
        assert (by_time[time].ci_low, by_time[time].ci_high) == pytest.approx((low, high), rel=1e-9)


def test_median_interval_is_where_the_bands_cross_one_half():
    curve = kaplan_meier(SMALL)
    # Lower band first drops to 0.5 or below at day 3 (0.334); upper band at day 15 (0.699 at day 12).
    assert (curve.median_low, curve.median_high) == (3, 15)


episode_lists = st.lists(st.tuples(st.integers(min_value=0, max_value=120), st.booleans()), min_size=1, max_size=60)


@settings(max_examples=40, deadline=None)
@given(episode_lists)
def test_kaplan_meier_agrees_with_lifelines_used_directly(episodes):
    curve = kaplan_meier(episodes)
    fitter = KaplanMeierFitter().fit([d for d, _ in episodes], [e for _, e in episodes])
    survival = fitter.survival_function_["KM_estimate"]
    assert [p.time for p in curve.points] == list(survival.index)
    assert [p.survival for p in curve.points] == pytest.approx(list(survival))
    assert [p.at_risk for p in curve.points] == list(fitter.event_table["at_risk"])
    bounds = median_survival_times(fitter.confidence_interval_).iloc[0]
    for ours, theirs in [(curve.median, fitter.median_survival_time_), (curve.median_low, bounds.iloc[0]),
                         (curve.median_high, bounds.iloc[1])]:  # fmt: skip
        assert ours == (None if math.isinf(theirs) else theirs)


@settings(max_examples=40, deadline=None)
@given(episode_lists)
def test_curve_is_non_increasing_and_inside_its_band(episodes):
    points = kaplan_meier(episodes).points
    survivals = [p.survival for p in points]
    assert all(later <= earlier for earlier, later in itertools.pairwise(survivals))
    for point in points:
        assert 0 <= point.ci_low <= point.survival + 1e-12 and point.survival <= point.ci_high + 1e-12 <= 1 + 1e-12


def test_median_not_reached_is_none_not_a_number():
    curve = kaplan_meier([(10, False), (12, True), (20, False), (30, False)])
    assert curve.enough_data and curve.median is None and curve.median_high is None


def test_no_episodes_is_not_enough_data():
    curve = kaplan_meier([])
    assert not curve.enough_data and curve.points == () and "Not enough data" in curve.reason


def test_negative_or_infinite_durations_are_rejected():
    with pytest.raises(ValueError):
        kaplan_meier([(-1, True)])
    with pytest.raises(ValueError):
        kaplan_meier([(math.inf, True)])


# --- Cox -------------------------------------------------------------------------------------------------------

NEEDLED = [(3, True), (5, True), (5, True), (8, False), (10, True), (12, True), (14, False), (20, True)]
NOT_NEEDLED = [(5, True), (7, True), (9, False), (11, True), (15, True), (18, True), (20, False), (22, True)]


def _efron_log_likelihood(beta, episodes):
    # Independent Efron partial likelihood for one binary covariate (1 = needled).
    times = np.array([t for t, _, _ in episodes], dtype=float)
    events = np.array([e for _, e, _ in episodes], dtype=bool)
    risk = np.exp(beta * np.array([x for _, _, x in episodes], dtype=float))
    covariate = np.array([x for _, _, x in episodes], dtype=float)
    total = 0.0
    for time in np.unique(times[events]):
        tied = events & (times == time)
        at_risk = risk[times >= time].sum()
        tied_risk = risk[tied].sum()
        ties = tied.sum()
        total += beta * covariate[tied].sum()
        total -= sum(math.log(at_risk - (k / ties) * tied_risk) for k in range(ties))
    return total


def test_hazard_ratio_matches_an_independent_efron_fit():
    episodes = [(t, e, 1) for t, e in NEEDLED] + [(t, e, 0) for t, e in NOT_NEEDLED]
    fit = optimize.minimize_scalar(lambda b: -_efron_log_likelihood(b, episodes), bounds=(-5, 5), method="bounded",
                                   options={"xatol": 1e-10})  # fmt: skip
    beta, step = fit.x, 1e-4
    curvature = (
        _efron_log_likelihood(beta + step, episodes)
        - 2 * _efron_log_likelihood(beta, episodes)
        + _efron_log_likelihood(beta - step, episodes)
    ) / step**2
    standard_error = 1 / math.sqrt(-curvature)
    z = scipy_stats.norm.ppf(0.975)

    ratio = hazard_ratio(NEEDLED, NOT_NEEDLED)

    assert ratio.value == pytest.approx(math.exp(beta), rel=1e-5)
    assert ratio.low == pytest.approx(math.exp(beta - z * standard_error), rel=1e-4)
    assert ratio.high == pytest.approx(math.exp(beta + z * standard_error), rel=1e-4)
    assert ratio.p_value == pytest.approx(2 * scipy_stats.norm.sf(abs(beta) / standard_error), rel=1e-3)
    assert ratio.value > 1  # the needled episodes here were discharged sooner


def test_swapping_the_groups_inverts_the_ratio():
    forward, backward = hazard_ratio(NEEDLED, NOT_NEEDLED), hazard_ratio(NOT_NEEDLED, NEEDLED)
    assert forward.value == pytest.approx(1 / backward.value, rel=1e-6)
    assert forward.low == pytest.approx(1 / backward.high, rel=1e-6)


@pytest.mark.parametrize(
    ("needled", "comparison"),
    [
        ([], NOT_NEEDLED),
        (NEEDLED, []),
        ([(5, False), (9, False)], NOT_NEEDLED),  # no discharge with goals met among the needled
        ([(1, True), (2, True)], [(5, True), (6, True)]),  # complete separation: the ratio runs off to infinity
    ],
)
def test_hazard_ratio_says_not_enough_data_instead_of_a_number(needled, comparison):
    ratio = hazard_ratio(needled, comparison)
    assert not ratio.enough_data and ratio.value is None and ratio.reason.startswith("Not enough data")


def test_comparison_carries_both_curves_and_the_not_randomised_caveat():
    result = compare_needled(NEEDLED, NOT_NEEDLED)
    assert result.needled.n == len(NEEDLED) and result.comparison.n == len(NOT_NEEDLED)
    assert result.hazard_ratio.enough_data
    assert NOT_RANDOMISED_CAVEAT in result.caveats
    assert "not randomised" in NOT_RANDOMISED_CAVEAT and "not proof" in NOT_RANDOMISED_CAVEAT


def test_one_empty_group_still_gives_the_other_curve():
    result = compare_needled(NEEDLED, [])
    assert result.needled.enough_data and not result.comparison.enough_data and not result.hazard_ratio.enough_data
