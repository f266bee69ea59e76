"""The reference the product's grouped survival estimates are tested against: lifelines on one
``(duration_days, event_observed)`` pair per episode, giving the product's own result types. Test-only: lifelines
and pandas are test dependencies."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import pandas as pd
from lifelines import CoxPHFitter, KaplanMeierFitter
from lifelines.exceptions import ConvergenceError, ConvergenceWarning
from lifelines.utils import median_survival_times

from needlepoint.insights.survival import (
    CENSORING_NOTE,
    NOT_RANDOMISED_CAVEAT,
    PROPORTIONAL_HAZARDS_NOTE,
    CurvePoint,
    HazardRatio,
    KaplanMeier,
    SurvivalComparison,
)

Episode = tuple[float, bool]


def kaplan_meier(episodes: Sequence[Episode], confidence: float = 0.95) -> KaplanMeier:
    """Kaplan-Meier curve with exponential-Greenwood (log-log) pointwise intervals and the median.

    The median is the first time the curve reaches one half or below; its interval is where the lower and
    upper confidence bands cross one half (Brookmeyer-Crowley style, as lifelines' ``median_survival_times``).
    """
    _check_confidence(confidence)
    durations, observed = _validated(episodes)
    if not durations:
        return KaplanMeier(0, 0, (), None, None, None, confidence, "Not enough data: no episodes.")
    fitter = KaplanMeierFitter(alpha=1 - confidence).fit(durations, observed)
    median_low, median_high = median_survival_times(fitter.confidence_interval_).iloc[0]
    return KaplanMeier(
        n=len(durations),
        events=sum(observed),
        points=_curve_points(fitter),
        median=_finite_or_none(fitter.median_survival_time_),
        median_low=_finite_or_none(median_low),
        median_high=_finite_or_none(median_high),
        confidence=confidence,
    )


def hazard_ratio(needled: Sequence[Episode], comparison: Sequence[Episode], confidence: float = 0.95) -> HazardRatio:
    """Cox proportional-hazards ratio (Efron ties, Wald interval) for needled against not-needled episodes.

    Without an event in each group, or when the groups separate completely, the ratio is infinite or zero
    and the model cannot be fitted; the result then says so instead of giving a number.
    """
    _check_confidence(confidence)
    needled_durations, needled_observed = _validated(needled)
    other_durations, other_observed = _validated(comparison)
    if not any(needled_observed) or not any(other_observed):
        return _no_ratio(confidence, "Not enough data: each group needs at least one discharge with goals met.")
    frame = pd.DataFrame(
        {
            "duration": needled_durations + other_durations,
            "event": needled_observed + other_observed,
            "needled": [1] * len(needled_durations) + [0] * len(other_durations),
        }
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", ConvergenceWarning)
            fitter = CoxPHFitter(alpha=1 - confidence).fit(frame, "duration", "event")
    except (ConvergenceWarning, ConvergenceError):
        return _no_ratio(confidence, "Not enough data: the groups separate completely, so no ratio can be fitted.")
    coef_low, coef_high = fitter.confidence_intervals_.loc["needled"]
    return HazardRatio(
        value=math.exp(fitter.params_["needled"]),
        low=math.exp(coef_low),
        high=math.exp(coef_high),
        p_value=float(fitter.summary.loc["needled", "p"]),
        confidence=confidence,
    )


def compare_needled(
    needled: Sequence[Episode], comparison: Sequence[Episode], confidence: float = 0.95
) -> SurvivalComparison:
    """Both curves, the hazard ratio and the caveats (never randomised, censoring, one-number summary)."""
    return SurvivalComparison(
        needled=kaplan_meier(needled, confidence),
        comparison=kaplan_meier(comparison, confidence),
        hazard_ratio=hazard_ratio(needled, comparison, confidence),
        caveats=(NOT_RANDOMISED_CAVEAT, CENSORING_NOTE, PROPORTIONAL_HAZARDS_NOTE),
    )


def _curve_points(fitter: KaplanMeierFitter) -> tuple[CurvePoint, ...]:
    survival = fitter.survival_function_.iloc[:, 0]
    bands = fitter.confidence_interval_
    table = fitter.event_table
    return tuple(
        CurvePoint(
            time=float(time),
            survival=float(survival.loc[time]),
            ci_low=_finite_or_none(bands.iloc[:, 0].loc[time]),
            ci_high=_finite_or_none(bands.iloc[:, 1].loc[time]),
            at_risk=int(table.at[time, "at_risk"]),
            events=int(table.at[time, "observed"]),
            censored=int(table.at[time, "censored"]),
        )
        for time in table.index
    )


def _validated(episodes: Sequence[Episode]) -> tuple[list[float], list[bool]]:
    durations = [float(duration) for duration, _ in episodes]
    if any(not math.isfinite(duration) or duration < 0 for duration in durations):
        raise ValueError("Durations must be finite and not negative.")
    return durations, [bool(event) for _, event in episodes]


def _no_ratio(confidence: float, reason: str) -> HazardRatio:
    return HazardRatio(None, None, None, None, confidence, reason)


def _finite_or_none(value: float) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def _check_confidence(confidence: float) -> None:
    if not 0 < confidence < 1:
        raise ValueError(f"Confidence must lie strictly between 0 and 1, got {confidence!r}.")
