"""Time to discharge with goals met from grouped counts: Kaplan-Meier curves and a Cox hazard ratio.

The report cannot load one (duration, event) row per episode without its memory growing with the clinic, so
the database returns counts instead: how many episodes ended (or were censored) on each day. The results here
are the same as lifelines gives on the expanded episodes, and the tests check exactly that
(tests/insights/lifelines_survival.py):

- the Kaplan-Meier curve is the product-limit estimate with exponential Greenwood intervals, as lifelines
  computes them, written out over the days (they only ever use the events and the number at risk per day);
- the hazard ratio is the Cox model with one binary covariate (needled or not), Efron's method for ties,
  fitted by Newton-Raphson on the partial likelihood written out per distinct day, with a Wald interval.

No Django imports.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats as scipy_stats

from needlepoint.insights.stats import normal_quantile
from needlepoint.insights.survival import (
    CENSORING_NOTE,
    NOT_RANDOMISED_CAVEAT,
    PROPORTIONAL_HAZARDS_NOTE,
    CurvePoint,
    HazardRatio,
    KaplanMeier,
    SurvivalComparison,
)

MAX_ITERATIONS = 50
CONVERGED = 1e-10


@dataclass(frozen=True)
class DayCount:
    """Episodes whose time in care was ``days``: how many ended with goals met, how many were censored."""

    days: float
    events: int
    censored: int


def kaplan_meier_counts(counts: Sequence[DayCount], confidence: float = 0.95) -> KaplanMeier:
    """Kaplan-Meier curve, pointwise log-log intervals and the median with its interval, from day counts.

    The same estimates as lifelines (tests/insights/lifelines_survival.py): product-limit survival, exponential
    Greenwood intervals, and the median's interval where the lower and upper bands cross one half.
    """
    _check_confidence(confidence)
    rows = _validated(counts)
    total = sum(row.events + row.censored for row in rows)
    if total == 0:
        return KaplanMeier(0, 0, (), None, None, None, confidence, "Not enough data: no episodes.")
    by_day: dict[float, list[int]] = {}
    for row in rows:
        tally = by_day.setdefault(float(row.days), [0, 0])
        tally[0] += row.events
        tally[1] += row.censored
    by_day.setdefault(0.0, [0, 0])
    days = np.array(sorted(by_day))
    events = np.array([by_day[day][0] for day in days], dtype=float)
    censored = np.array([by_day[day][1] for day in days], dtype=float)
    at_risk = total - np.concatenate([[0.0], np.cumsum(events + censored)[:-1]])
    with np.errstate(divide="ignore", invalid="ignore"):
        survival = np.cumprod(1 - events / at_risk)
        terms = events / (at_risk * (at_risk - events))
        variance = np.cumsum(np.where(np.isfinite(terms), terms, 0.0))
        z = normal_quantile((1 + confidence) / 2)
        log_survival = np.log(survival)
        spread = z * np.sqrt(variance) / log_survival
        low = np.exp(-np.exp(np.log(-log_survival) - spread))
        high = np.exp(-np.exp(np.log(-log_survival) + spread))
    low, high = np.nan_to_num(low, nan=1.0), np.nan_to_num(high, nan=1.0)
    points = tuple(
        CurvePoint(
            time=float(day),
            survival=float(survival[i]),
            ci_low=_finite_or_none(low[i]),
            ci_high=_finite_or_none(high[i]),
            at_risk=int(at_risk[i]),
            events=int(events[i]),
            censored=int(censored[i]),
        )
        for i, day in enumerate(days)
    )
    return KaplanMeier(
        n=total,
        events=int(events.sum()),
        points=points,
        median=_first_at_or_below_half(days, survival),
        median_low=_first_at_or_below_half(days, low),
        median_high=_first_at_or_below_half(days, high),
        confidence=confidence,
    )


def _first_at_or_below_half(days: np.ndarray, values: np.ndarray) -> float | None:
    """The first day a curve reaches one half or below; None when it never does (median not reached)."""
    below = np.nonzero(values <= 0.5)[0]
    return float(days[below[0]]) if below.size else None


def hazard_ratio_counts(
    needled: Sequence[DayCount], comparison: Sequence[DayCount], confidence: float = 0.95
) -> HazardRatio:
    """Cox hazard ratio of discharge with goals met, needled over not needled (Efron ties, Wald interval).

    Without an event in each group, or when the fit runs off to infinity (the groups separate completely),
    the result says so instead of giving a number.
    """
    _check_confidence(confidence)
    first, second = _validated(needled), _validated(comparison)
    if not any(row.events for row in first) or not any(row.events for row in second):
        return _no_ratio(confidence, "Not enough data: each group needs at least one discharge with goals met.")
    terms = _efron_terms(_risk_table(first, second))
    beta = 0.0
    for _ in range(MAX_ITERATIONS):
        score, information = _efron_derivatives(beta, terms)
        if not information > 0 or not math.isfinite(score):
            break
        step = score / information
        beta += max(-2.0, min(2.0, step))
        if abs(step) < CONVERGED:
            break
    else:
        return _no_ratio(confidence, "Not enough data: the groups separate completely, so no ratio can be fitted.")
    score, information = _efron_derivatives(beta, terms)
    if not information > 0 or abs(beta) > 20:
        return _no_ratio(confidence, "Not enough data: the groups separate completely, so no ratio can be fitted.")
    standard_error = 1 / math.sqrt(information)
    z = normal_quantile((1 + confidence) / 2)
    p_value = 2 * scipy_stats.norm.sf(abs(beta / standard_error))
    return HazardRatio(
        value=math.exp(beta),
        low=math.exp(beta - z * standard_error),
        high=math.exp(beta + z * standard_error),
        p_value=float(p_value),
        confidence=confidence,
    )


def compare_needled_counts(
    needled: Sequence[DayCount], comparison: Sequence[DayCount], confidence: float = 0.95
) -> SurvivalComparison:
    """Both curves, the hazard ratio and the caveats (never randomised, censoring, one-number summary)."""
    return SurvivalComparison(
        needled=kaplan_meier_counts(needled, confidence),
        comparison=kaplan_meier_counts(comparison, confidence),
        hazard_ratio=hazard_ratio_counts(needled, comparison, confidence),
        caveats=(NOT_RANDOMISED_CAVEAT, CENSORING_NOTE, PROPORTIONAL_HAZARDS_NOTE),
    )


def _risk_table(first: Sequence[DayCount], second: Sequence[DayCount]) -> np.ndarray:
    """Per distinct event day: events and numbers at risk in each group (columns d1, d0, n1, n0)."""
    days = sorted({row.days for row in (*first, *second)})
    index = {day: position for position, day in enumerate(days)}
    events = np.zeros((2, len(days)))
    leaving = np.zeros((2, len(days)))
    for group, rows in enumerate((first, second)):
        for row in rows:
            events[group, index[row.days]] += row.events
            leaving[group, index[row.days]] += row.events + row.censored
    # At risk on a day: everyone whose time in care is that day or longer.
    at_risk = np.cumsum(leaving[:, ::-1], axis=1)[:, ::-1]
    keep = events.sum(axis=0) > 0
    return np.vstack([events[0, keep], events[1, keep], at_risk[0, keep], at_risk[1, keep]]).T


def _efron_terms(table: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """The risk table's rows repeated once per tied event (``d1 + d0`` times), with Efron's fraction k / ties
    (k = 0 .. ties - 1) of each repeat, and the needled group's events: the terms of the partial likelihood, laid
    out once for every iteration."""
    tied = (table[:, 0] + table[:, 1]).astype(int)
    rows = np.repeat(np.arange(len(table)), tied)
    first_of_row = np.repeat(np.cumsum(tied) - tied, tied)
    fractions = (np.arange(rows.size) - first_of_row) / tied[rows]
    return table[rows], fractions, float(table[:, 0].sum())


def _efron_derivatives(beta: float, terms: tuple[np.ndarray, np.ndarray, float]) -> tuple[float, float]:
    """Score and observed information of Efron's partial log-likelihood at ``beta`` (one binary covariate), over
    the terms ``_efron_terms`` laid out."""
    repeated, fractions, needled_events = terms
    d1, d0, n1, n0 = repeated.T
    risk = math.exp(beta)
    denominator = n1 * risk + n0 - fractions * (d1 * risk + d0)
    numerator = n1 * risk - fractions * d1 * risk  # derivative of the denominator in beta
    share = numerator / denominator
    return needled_events - float(share.sum()), float((share * (1 - share)).sum())


def _validated(counts: Sequence[DayCount]) -> list[DayCount]:
    for row in counts:
        if not math.isfinite(row.days) or row.days < 0:
            raise ValueError("Durations must be finite and not negative.")
        if row.events < 0 or row.censored < 0:
            raise ValueError("Counts cannot be negative.")
    return list(counts)


def _finite_or_none(value: float) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def _no_ratio(confidence: float, reason: str) -> HazardRatio:
    return HazardRatio(None, None, None, None, confidence, reason)


def _check_confidence(confidence: float) -> None:
    if not 0 < confidence < 1:
        raise ValueError(f"Confidence must lie strictly between 0 and 1, got {confidence!r}.")
