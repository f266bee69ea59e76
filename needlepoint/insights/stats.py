"""Confidence intervals computed from aggregates that the database returns.

The evidence report aggregates inside SQL (counts, sums, sums of squares per group) and never loads one row
per observation into Python. The functions here turn those aggregates into honest statistics: every result
carries its n and, when the data cannot support a number, a reason instead of a number.

No Django imports: this module is pure and tested against scipy and published worked examples.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import cast

Number = int | float | Decimal | Fraction

# Float sums from the database can leave a sum of squared deviations a hair below zero when all values are
# equal. Anything more negative than this share of the sum of squares cannot be rounding: the inputs disagree.
_NEGATIVE_VARIANCE_TOLERANCE = 1e-6


class Result:
    """What every statistic result here shares: a ``reason`` that, when set, says why there is no number.

    A plain class without fields, so that each result dataclass keeps its own field order and positional
    construction (``Estimate(n, value, low, high, sd, confidence, reason)``) is unchanged.
    """

    reason: str

    @property
    def enough_data(self) -> bool:
        """True when the result carries a number (and any interval): no reason was given for leaving it out."""
        return not self.reason


@dataclass(frozen=True)
class Estimate(Result):
    """A mean with its confidence interval, or the reason why none can be given.

    ``value``, ``low``, ``high`` and ``sd`` are ``None`` when ``reason`` is set.
    """

    n: int
    value: float | None
    low: float | None
    high: float | None
    sd: float | None
    confidence: float
    reason: str = ""


@dataclass(frozen=True)
class Proportion(Result):
    """A share of ``n`` with its Wilson score interval, or the reason why none can be given."""

    successes: int
    n: int
    value: float | None
    low: float | None
    high: float | None
    confidence: float
    reason: str = ""


@dataclass(frozen=True)
class Rate(Result):
    """Events per 1,000 exposures (visits) with an exact Poisson interval, or the reason why none is given."""

    events: int
    exposures: int
    per_1000: float | None
    low: float | None
    high: float | None
    confidence: float
    reason: str = ""


@dataclass(frozen=True)
class Difference(Result):
    """A difference between two proportions (first minus second) with its confidence interval."""

    value: float | None
    low: float | None
    high: float | None
    confidence: float
    reason: str = ""


def mean_ci(
    n: int,
    total: Number,
    total_of_squares: Number,
    confidence: float = 0.95,
    *,
    shift: Number = 0,
) -> Estimate:
    """Mean with a Student-t confidence interval from ``COUNT``, ``SUM(x)`` and ``SUM(x*x)``.

    Why this interface: SQLite has no STDDEV, so ``SUM(x)`` and ``SUM(x*x)`` are the aggregates that both
    SQLite and PostgreSQL can return. The textbook formula ``SUM(x*x) - SUM(x)**2 / n`` subtracts two large,
    nearly equal numbers; here it is evaluated in exact rational arithmetic, so no precision is lost in
    Python. What remains is the precision of the sums themselves:

    - integer-valued measures (NPRS points, degrees, questionnaire totals, change scores) give exact integer
      sums in both databases, and PostgreSQL ``numeric`` sums of decimals are exact too: no loss at all;
    - float sums (SQLite ``REAL``) carry a relative error of roughly n x 1e-16, which the subtraction inflates
      by (mean² + variance) / variance. That only matters when the spread is tiny next to the mean; then let
      SQL sum ``x - c`` and ``(x - c)²`` for a constant ``c`` near the mean and pass ``shift=c``.

    A sum of squared deviations slightly below zero (float rounding when all values are equal) is treated as
    zero; a clearly negative one means the sums are inconsistent and raises ``ValueError``.
    With fewer than two observations no interval exists, and the result says so instead of giving a number.
    """
    _check_confidence(confidence)
    _check_count(n)
    if n < 2:
        reason = f"Not enough data: {n} value(s); at least 2 are needed for a confidence interval."
        return Estimate(n, None, None, None, None, confidence, reason)
    sum_sq_dev = _sum_of_squared_deviations(n, _exact(total), _exact(total_of_squares))
    mean = float(_exact(total) / n + _exact(shift))
    sd = math.sqrt(float(sum_sq_dev / (n - 1)))
    half_width = t_quantile((1 + confidence) / 2, n - 1) * sd / math.sqrt(n)
    return Estimate(n, mean, mean - half_width, mean + half_width, sd, confidence)


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (Wilson 1927; Newcombe 1998, method 3).

    Chosen over the Wald interval because it stays inside [0, 1] and keeps close to its nominal coverage
    for the small clinic samples this report deals with. Raises ``ValueError`` when ``n`` is 0.
    """
    _check_confidence(confidence)
    _check_successes(successes, n)
    if n == 0:
        raise ValueError("A proportion of zero episodes has no interval.")
    z = normal_quantile((1 + confidence) / 2)
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half_width = z / denominator * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    # At 0 and n the exact bounds are 0 and 1; pin them so rounding cannot leave 1e-17 outside [0, 1].
    low = 0.0 if successes == 0 else max(0.0, centre - half_width)
    high = 1.0 if successes == n else min(1.0, centre + half_width)
    return low, high


def proportion(successes: int, n: int, confidence: float = 0.95) -> Proportion:
    """Share of ``n`` with its Wilson interval; with ``n`` = 0 it says there is not enough data."""
    _check_confidence(confidence)
    _check_successes(successes, n)
    if n == 0:
        return Proportion(successes, n, None, None, None, confidence, "Not enough data: no episodes.")
    low, high = wilson_interval(successes, n, confidence)
    return Proportion(successes, n, successes / n, low, high, confidence)


def rate_per_1000(events: int, exposures: int, confidence: float = 0.95) -> Rate:
    """Events per 1,000 exposures (e.g. adverse events per 1,000 visits) with Garwood's exact interval.

    Garwood (1936): the bounds for a Poisson count k are chi2(a/2, 2k)/2 and chi2(1 - a/2, 2k + 2)/2,
    the central interval that inverts the Poisson test exactly. It is conservative, which suits rare
    events such as adverse reactions, where a normal approximation would give negative lower bounds.
    """
    _check_confidence(confidence)
    if events < 0 or exposures < 0:
        raise ValueError("Counts cannot be negative.")
    if exposures == 0:
        return Rate(events, 0, None, None, None, confidence, "Not enough data: no visits recorded.")
    alpha = 1 - confidence
    low_count = 0.0 if events == 0 else chi2_quantile(alpha / 2, 2 * events) / 2
    high_count = chi2_quantile(1 - alpha / 2, 2 * events + 2) / 2
    scale = 1000 / exposures
    return Rate(events, exposures, events * scale, low_count * scale, high_count * scale, confidence)


def two_proportion_difference(
    successes_1: int, n_1: int, successes_2: int, n_2: int, confidence: float = 0.95
) -> Difference:
    """Difference p1 - p2 with Newcombe's hybrid score interval (Newcombe 1998, method 10).

    Built from the two Wilson intervals, so it behaves well at 0% and 100% and with small groups, where the
    Wald difference interval is known to fail.
    """
    _check_confidence(confidence)
    if n_1 == 0 or n_2 == 0:
        _check_successes(successes_1, n_1)
        _check_successes(successes_2, n_2)
        return Difference(None, None, None, confidence, "Not enough data: one group has no episodes.")
    p1, p2 = successes_1 / n_1, successes_2 / n_2
    low_1, high_1 = wilson_interval(successes_1, n_1, confidence)
    low_2, high_2 = wilson_interval(successes_2, n_2, confidence)
    difference = p1 - p2
    low = difference - math.hypot(p1 - low_1, high_2 - p2)
    high = difference + math.hypot(high_1 - p1, p2 - low_2)
    return Difference(difference, max(-1.0, low), min(1.0, high), confidence)


@dataclass(frozen=True)
class ClusteredSums:
    """Aggregates of one value over episodes grouped into clusters (patients), as the database returns them.

    ``n``, ``total`` and ``total_sq`` are COUNT, SUM(x) and SUM(x*x) over the episodes; ``clusters`` counts the
    patients with at least one value; ``cluster_sq`` is the sum over patients of (their SUM(x))², ``cross`` the
    sum of (their count x their SUM(x)) and ``count_sq`` the sum of (their count)².
    """

    n: int
    total: Number
    total_sq: Number
    clusters: int
    cluster_sq: Number
    cross: Number
    count_sq: Number


def clustered_mean_ci(sums: ClusteredSums, confidence: float = 0.95) -> Estimate:
    """Mean with a 95% interval that allows for several episodes of one patient being alike.

    The cluster-robust (sandwich) variance of a mean with the CR1 factor G/(G-1) and a t critical value with
    G-1 degrees of freedom, G being the number of patients (Cameron & Miller 2015 [S233]). When every patient
    has one value the clusters are the episodes and the result is exactly ``mean_ci``. The interval is never
    narrower than the one that treats episodes as independent: with few patients the sandwich can come out
    too small by chance, and clustering must not make a figure look surer.
    """
    plain = mean_ci(sums.n, sums.total, sums.total_sq, confidence)
    if not plain.enough_data or sums.clusters >= sums.n or plain.value is None or plain.low is None:
        return plain
    if sums.clusters < 2:
        reason = f"Not enough data: {sums.n} values from one patient; an interval needs at least 2 patients."
        return Estimate(sums.n, None, None, None, None, confidence, reason)
    variance = _cluster_variance(sums, _exact(sums.total) / sums.n)
    clusters = sums.clusters
    half_width = max(
        t_quantile((1 + confidence) / 2, clusters - 1) * math.sqrt(variance),
        plain.value - plain.low,
    )
    return Estimate(sums.n, plain.value, plain.value - half_width, plain.value + half_width, plain.sd, confidence)


def clustered_proportion(successes: int, n: int, sums: ClusteredSums, confidence: float = 0.95) -> Proportion:
    """Share of ``n`` with a Wilson interval widened for episodes of the same patient (``sums`` of the 0/1 values).

    The design effect is the cluster-robust variance of the share over the variance that treats episodes as
    independent; the Wilson interval is then taken at the effective size n / design effect (Kish's effective
    sample size). The design effect is never below 1, and it is exactly 1 when every patient has one episode.
    """
    plain = proportion(successes, n, confidence)
    if not plain.enough_data or sums.clusters >= n or successes in (0, n):
        return plain
    if sums.n != n or _exact(sums.total) != successes:
        raise ValueError("The cluster sums do not describe these successes and episodes.")
    if sums.clusters < 2:
        return Proportion(successes, n, None, None, None, confidence, "Not enough data: all from one patient.")
    share = Fraction(successes, n)
    independent = share * (1 - share) / (n - 1)  # the sample variance of 0/1 values over n
    design_effect = max(1.0, float(_cluster_variance(sums, share) / independent))
    if design_effect == 1.0:
        return plain
    low, high = _wilson(float(share), n / design_effect, confidence)
    return Proportion(successes, n, successes / n, low, high, confidence)


def _cluster_variance(sums: ClusteredSums, mean: Fraction) -> Fraction:
    """CR1 variance of a mean: G/(G-1) x sum over clusters of (cluster sum - cluster count x mean)² / n²."""
    between = _exact(sums.cluster_sq) - 2 * mean * _exact(sums.cross) + mean * mean * _exact(sums.count_sq)
    clusters = sums.clusters
    return Fraction(clusters, clusters - 1) * max(Fraction(0), between) / (sums.n * sums.n)


def _wilson(share: float, n: float, confidence: float) -> tuple[float, float]:
    z = normal_quantile((1 + confidence) / 2)
    denominator = 1 + z * z / n
    centre = (share + z * z / (2 * n)) / denominator
    half_width = z / denominator * math.sqrt(share * (1 - share) / n + z * z / (4 * n * n))
    return max(0.0, centre - half_width), min(1.0, centre + half_width)


# The quantiles below are the very functions scipy.stats' ``t.ppf``, ``norm.ppf`` and ``chi2.ppf`` evaluate for a
# probability strictly between 0 and 1 (``stdtrit``, ``ndtri``, ``2 * gammaincinv``), called directly: the same
# numbers (tests/insights/test_stats.py checks them against scipy.stats) without the hundred-odd microseconds each
# ``ppf`` spends checking and broadcasting its arguments, which a report with hundreds of intervals paid for.
# scipy is imported inside: it takes seconds to import, and commands that never compute must not pay it.


def t_quantile(probability: float, df: float) -> float:
    """Student's t quantile: ``scipy.stats.t.ppf(probability, df)`` for 0 < probability < 1 and df > 0."""
    from scipy import special

    return cast(float, special.stdtrit(df, probability))  # scipy ships no types; a numpy float64


def normal_quantile(probability: float) -> float:
    """Standard normal quantile: ``scipy.stats.norm.ppf(probability)`` for 0 < probability < 1."""
    from scipy import special

    return cast(float, special.ndtri(probability))


def chi2_quantile(probability: float, df: float) -> float:
    """Chi-squared quantile: ``scipy.stats.chi2.ppf(probability, df)`` for 0 < probability < 1 and df > 0."""
    from scipy import special

    return cast(float, 2 * special.gammaincinv(df / 2, probability))


def _sum_of_squared_deviations(n: int, total: Fraction, total_of_squares: Fraction) -> Fraction:
    sum_sq_dev = total_of_squares - total * total / n
    if sum_sq_dev >= 0:
        return sum_sq_dev
    if -sum_sq_dev <= _NEGATIVE_VARIANCE_TOLERANCE * total_of_squares:
        return Fraction(0)
    raise ValueError("Inconsistent aggregates: the sum of squares is smaller than the square of the sum / n.")


def _exact(value: Number) -> Fraction:
    try:
        return Fraction(value)
    except (ValueError, OverflowError) as error:
        raise ValueError(f"Aggregates must be finite numbers, got {value!r}.") from error


def _check_confidence(confidence: float) -> None:
    if not 0 < confidence < 1:
        raise ValueError(f"Confidence must lie strictly between 0 and 1, got {confidence!r}.")


def _check_count(n: int) -> None:
    if n < 0:
        raise ValueError(f"A count cannot be negative, got {n!r}.")


def _check_successes(successes: int, n: int) -> None:
    _check_count(n)
    if not 0 <= successes <= n:
        raise ValueError(f"Successes must lie between 0 and n, got {successes!r} of {n!r}.")
