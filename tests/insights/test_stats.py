"""Each interval is checked against an independent computation: scipy, a hand-worked example, or a
published worked example (Newcombe 1998; the classic exact Poisson table)."""

import math
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats as scipy_stats

from needlepoint.insights.stats import (
    ClusteredSums,
    chi2_quantile,
    clustered_mean_ci,
    clustered_proportion,
    mean_ci,
    normal_quantile,
    proportion,
    rate_per_1000,
    t_quantile,
    two_proportion_difference,
    wilson_interval,
)

confidences = st.floats(min_value=0.5, max_value=0.999)
# Clinical measures are recorded to at most two decimals.
measures = st.integers(min_value=-18_000, max_value=18_000).map(lambda hundredths: hundredths / 100)


def _aggregates(values):
    return len(values), sum(values), sum(v * v for v in values)


# --- quantiles ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("confidence", [0.8, 0.9, 0.95, 0.99])
def test_quantiles_are_scipy_stats_own_to_the_last_bit(confidence):
    """The direct quantiles give exactly what scipy.stats' ppf gives (the report's figures may not move a bit)."""
    upper, lower = (1 + confidence) / 2, (1 - confidence) / 2
    assert normal_quantile(upper) == scipy_stats.norm.ppf(upper)
    for df in [*range(1, 3000), 10_000, 123_456, 1_000_000]:
        assert t_quantile(upper, df) == scipy_stats.t.ppf(upper, df)
    for events in [*range(0, 1500), 20_000, 300_000]:
        if events:
            assert chi2_quantile(lower, 2 * events) == scipy_stats.chi2.ppf(lower, 2 * events)
        assert chi2_quantile(1 - lower, 2 * events + 2) == scipy_stats.chi2.ppf(1 - lower, 2 * events + 2)


# --- mean_ci -------------------------------------------------------------------------------------------------


def test_mean_ci_hand_worked_example():
    # 2, 4, 4, 4, 5, 5, 7, 9: mean 5, squared deviations sum to 32, so s = sqrt(32/7); t(0.975, 7) = 2.364624.
    estimate = mean_ci(*_aggregates([2, 4, 4, 4, 5, 5, 7, 9]))
    half_width = 2.364624 * math.sqrt(32 / 7) / math.sqrt(8)
    assert estimate.value == 5
    assert estimate.sd == pytest.approx(math.sqrt(32 / 7))
    assert estimate.low == pytest.approx(5 - half_width, abs=1e-5)
    assert estimate.high == pytest.approx(5 + half_width, abs=1e-5)
    assert estimate.n == 8 and estimate.enough_data


@given(
    st.lists(st.integers(min_value=-180, max_value=180), min_size=2, max_size=60),
    st.sampled_from([0.8, 0.9, 0.95, 0.99]),
)
def test_mean_ci_matches_scipy_t_interval(values, confidence):
    estimate = mean_ci(*_aggregates(values), confidence=confidence)
    data = np.array(values, dtype=float)
    assert estimate.value == pytest.approx(data.mean())
    assert estimate.sd == pytest.approx(data.std(ddof=1), abs=1e-9)
    if data.std() > 0:
        low, high = scipy_stats.t.interval(confidence, len(data) - 1, loc=data.mean(), scale=scipy_stats.sem(data))
        assert (estimate.low, estimate.high) == pytest.approx((low, high), rel=1e-9, abs=1e-9)
    else:
        assert estimate.low == estimate.high == estimate.value


@given(
    st.lists(measures, min_size=2, max_size=40),
    confidences,
    confidences,
)
def test_mean_interval_contains_mean_and_narrows_at_lower_confidence(values, first, second):
    lower, higher = sorted((first, second))
    narrow = mean_ci(*_aggregates(values), confidence=lower)
    wide = mean_ci(*_aggregates(values), confidence=higher)
    assert narrow.low <= narrow.value <= narrow.high
    assert wide.low <= narrow.low + 1e-12 and narrow.high <= wide.high + 1e-12


@pytest.mark.parametrize("n", [0, 1])
def test_mean_ci_says_not_enough_data_below_two_values(n):
    estimate = mean_ci(n, 3 * n, 9 * n)
    assert not estimate.enough_data
    assert estimate.value is None and estimate.low is None and estimate.high is None
    assert "Not enough data" in estimate.reason


def test_integer_sums_lose_no_precision_far_from_zero():
    # The float formula sum(x²) - sum(x)²/n returns 0 or garbage here; exact integer sums give s = 1 exactly.
    values = [10**9 + 1, 10**9 + 2, 10**9 + 3]
    estimate = mean_ci(*_aggregates(values))
    assert estimate.sd == 1.0
    assert estimate.value == pytest.approx(10**9 + 2)


def test_decimal_sums_from_postgresql_are_exact():
    values = [Decimal("7.1"), Decimal("7.3"), Decimal("7.2")]
    estimate = mean_ci(3, sum(values), sum(v * v for v in values))
    assert estimate.value == pytest.approx(7.2)
    assert estimate.sd == pytest.approx(0.1, rel=1e-12)


def test_shift_recovers_a_small_spread_from_float_sums():
    values = [1000.001, 1000.002, 1000.003]
    shifted = [v - 1000 for v in values]
    estimate = mean_ci(*_aggregates(shifted), shift=1000)
    assert estimate.value == pytest.approx(1000.002)
    assert estimate.sd == pytest.approx(0.001, rel=1e-6)


def test_tiny_negative_variance_from_float_rounding_is_treated_as_zero():
    values = [0.1] * 3
    n, total, squares = _aggregates(values)
    assert Fraction(squares) - Fraction(total) ** 2 / n < 0  # the float rounding this guard exists for
    estimate = mean_ci(n, total, squares)
    assert estimate.sd == 0 and estimate.low == estimate.high == pytest.approx(0.1)


def test_inconsistent_sums_are_rejected():
    with pytest.raises(ValueError, match="Inconsistent"):
        mean_ci(2, 10, 1)


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_sums_are_rejected(bad):
    with pytest.raises(ValueError, match="finite"):
        mean_ci(3, bad, 1)


@pytest.mark.parametrize("confidence", [0, 1, 1.5, -0.1])
def test_confidence_must_lie_between_zero_and_one(confidence):
    with pytest.raises(ValueError):
        mean_ci(3, 3, 5, confidence=confidence)


# --- Wilson ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("successes", "n", "low", "high"),
    [
        # Newcombe RG. Stat Med 1998;17:857-72, Table I, method 3 (Wilson score without continuity correction).
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0000, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_wilson_matches_newcombe_worked_examples(successes, n, low, high):
    assert wilson_interval(successes, n) == pytest.approx((low, high), abs=5e-5)


def _wilson_by_hand(successes, n, confidence):
    # The quadratic-root form of the Wilson interval, independent of the centre/half-width form in the module.
    z = scipy_stats.norm.ppf((1 + confidence) / 2)
    p = successes / n
    root = z * math.sqrt(z * z + 4 * n * p * (1 - p))
    denominator = 2 * (n + z * z)
    return (2 * n * p + z * z - root) / denominator, (2 * n * p + z * z + root) / denominator


@given(st.integers(min_value=1, max_value=500).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))), confidences)
def test_wilson_matches_the_formula_worked_by_hand(pair, confidence):
    successes, n = pair
    assert wilson_interval(successes, n, confidence) == pytest.approx(
        _wilson_by_hand(successes, n, confidence), abs=1e-12
    )


@given(
    st.integers(min_value=1, max_value=500).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))),
    confidences,
    confidences,
)
def test_wilson_bounds_contain_estimate_stay_in_unit_interval_and_nest(pair, first, second):
    successes, n = pair
    lower, higher = sorted((first, second))
    narrow = proportion(successes, n, lower)
    wide = proportion(successes, n, higher)
    assert 0 <= wide.low <= narrow.low <= narrow.value <= narrow.high <= wide.high <= 1


@given(st.integers(min_value=1, max_value=300).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_wilson_is_symmetric_between_successes_and_failures(pair):
    successes, n = pair
    low, high = wilson_interval(successes, n)
    mirror_low, mirror_high = wilson_interval(n - successes, n)
    assert (low, high) == pytest.approx((1 - mirror_high, 1 - mirror_low), abs=1e-12)


def test_proportion_of_no_episodes_is_not_enough_data():
    share = proportion(0, 0)
    assert not share.enough_data and share.value is None and share.n == 0
    with pytest.raises(ValueError):
        wilson_interval(0, 0)


@pytest.mark.parametrize(("successes", "n"), [(-1, 5), (6, 5), (1, -1)])
def test_impossible_counts_are_rejected(successes, n):
    with pytest.raises(ValueError):
        proportion(successes, n)


# --- Garwood ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("events", "low", "high"),
    # Classic exact 95% limits for a Poisson count (Garwood 1936; e.g. the tables in Ulm 1990).
    [(0, 0.0, 3.689), (1, 0.0253, 5.572), (10, 4.795, 18.390)],
)
def test_garwood_matches_the_exact_poisson_table(events, low, high):
    rate = rate_per_1000(events, 1000)
    assert rate.per_1000 == events
    assert (rate.low, rate.high) == pytest.approx((low, high), abs=1e-3)


@given(st.integers(min_value=0, max_value=400), st.integers(min_value=1, max_value=100_000), confidences)
def test_garwood_bounds_invert_the_poisson_tail_probabilities(events, visits, confidence):
    rate = rate_per_1000(events, visits, confidence)
    alpha = 1 - confidence
    low_count, high_count = rate.low * visits / 1000, rate.high * visits / 1000
    # At the upper bound, seeing this few events has probability alpha/2; at the lower bound, this many.
    assert scipy_stats.poisson.cdf(events, high_count) == pytest.approx(alpha / 2, rel=1e-6)
    if events > 0:
        assert scipy_stats.poisson.sf(events - 1, low_count) == pytest.approx(alpha / 2, rel=1e-6)
    else:
        assert rate.low == 0


@given(st.integers(min_value=0, max_value=400), st.integers(min_value=1, max_value=100_000), confidences, confidences)
def test_rate_interval_contains_rate_and_nests(events, visits, first, second):
    lower, higher = sorted((first, second))
    narrow = rate_per_1000(events, visits, lower)
    wide = rate_per_1000(events, visits, higher)
    assert 0 <= wide.low <= narrow.low <= narrow.per_1000 <= narrow.high <= wide.high


def test_rate_without_visits_is_not_enough_data():
    rate = rate_per_1000(0, 0)
    assert not rate.enough_data and rate.per_1000 is None
    with pytest.raises(ValueError):
        rate_per_1000(-1, 10)


# --- Newcombe difference ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("counts", "low", "high"),
    [
        # Newcombe RG. Stat Med 1998;17:873-90, Table II, method 10 (hybrid score, no continuity correction).
        ((56, 70, 48, 80), 0.0524, 0.3339),
        ((9, 10, 3, 10), 0.1705, 0.8090),
        ((6, 7, 2, 7), 0.0582, 0.8062),
        ((5, 56, 0, 29), -0.0381, 0.1926),
        ((0, 10, 0, 20), -0.1611, 0.2775),
        ((10, 10, 0, 20), 0.6791, 1.0000),
    ],
)
def test_difference_matches_newcombe_worked_examples(counts, low, high):
    difference = two_proportion_difference(*counts)
    assert (difference.low, difference.high) == pytest.approx((low, high), abs=5e-5)
    assert difference.value == pytest.approx(counts[0] / counts[1] - counts[2] / counts[3])


@given(
    st.integers(1, 200).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))),
    st.integers(1, 200).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))),
)
def test_difference_interval_contains_estimate_and_stays_within_minus_one_and_one(first, second):
    difference = two_proportion_difference(*first, *second)
    assert -1 <= difference.low <= difference.value <= difference.high <= 1


def test_difference_with_an_empty_group_is_not_enough_data():
    assert not two_proportion_difference(3, 10, 0, 0).enough_data


# --- clustering by patient --------------------------------------------------------------------------------------


def clustered_sums(clusters: list[list[float]]) -> ClusteredSums:
    """The seven aggregates the database returns, worked out from each patient's values."""
    values = [value for cluster in clusters for value in cluster]
    return ClusteredSums(
        n=len(values),
        total=sum(values),
        total_sq=sum(value * value for value in values),
        clusters=sum(1 for cluster in clusters if cluster),
        cluster_sq=sum(sum(cluster) ** 2 for cluster in clusters),
        cross=sum(len(cluster) * sum(cluster) for cluster in clusters),
        count_sq=sum(len(cluster) ** 2 for cluster in clusters),
    )


def test_one_episode_per_patient_gives_exactly_the_plain_intervals():
    values = [3.0, 7.5, 12.0, 4.0, 9.0, 10.5]
    sums = clustered_sums([[value] for value in values])
    assert clustered_mean_ci(sums) == mean_ci(len(values), sum(values), sum(v * v for v in values))
    flags = [1, 0, 1, 1, 0, 1, 1]
    assert clustered_proportion(5, 7, clustered_sums([[flag] for flag in flags])) == proportion(5, 7)


def test_a_patient_counted_twice_adds_no_precision():
    # Each patient's two episodes are identical: the data hold 5 patients' worth of information, not 10.
    patients = [3.0, 7.5, 12.0, 4.0, 9.0]
    twice = clustered_mean_ci(clustered_sums([[value, value] for value in patients]))
    once = mean_ci(5, sum(patients), sum(v * v for v in patients))
    assert (twice.n, twice.value) == (10, pytest.approx(once.value))
    assert (twice.low, twice.high) == pytest.approx((once.low, once.high))  # CR1 with t(G-1): exactly one each
    doubled = mean_ci(10, 2 * sum(patients), 2 * sum(v * v for v in patients))
    assert twice.high - twice.low > doubled.high - doubled.low  # what counting episodes as independent claims


def test_a_share_with_patients_counted_twice_is_as_wide_as_one_per_patient():
    flags = [1] * 14 + [0] * 6  # 20 patients, each with two identical episodes
    twice = clustered_proportion(28, 40, clustered_sums([[flag, flag] for flag in flags]))
    once = proportion(14, 20)
    assert twice.value == once.value and (twice.successes, twice.n) == (28, 40)
    # Effective size 40 / design effect = 40 x 19 / 39, a little under 20 patients.
    assert (twice.low, twice.high) == pytest.approx((once.low, once.high), abs=0.01)
    assert twice.high - twice.low > proportion(28, 40).high - proportion(28, 40).low


def test_clustering_never_narrows_an_interval():
    # Patients whose episodes differ a lot within and agree between: the sandwich alone would be narrower.
    clusters = [[0.0, 10.0], [1.0, 9.0], [2.0, 8.0], [0.5, 9.5]]
    values = [value for cluster in clusters for value in cluster]
    plain = mean_ci(len(values), sum(values), sum(v * v for v in values))
    clustered = clustered_mean_ci(clustered_sums(clusters))
    assert clustered.high - clustered.low >= plain.high - plain.low
    assert not clustered_mean_ci(clustered_sums([[1.0, 2.0, 3.0]])).enough_data  # one patient: no interval
