"""Time to discharge with goals met: Kaplan-Meier curves, medians and a Cox hazard ratio.

Input is one ``(duration_days, event_observed)`` pair per episode, produced in SQL. ``event_observed`` is
True when the episode ended in discharge with its goals met; every other episode (still open, or closed
without the goals met) is censored at its last known day. "Survival" here is therefore the probability of
still being in care without the goals met; lower is better.

The estimates come from lifelines, which the tests check against hand-worked examples and an independent
partial-likelihood fit. No Django imports.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lifelines import KaplanMeierFitter

# lifelines and pandas are imported inside the two functions that fit models: importing them costs about a
# third of a second, which every process start (each page server, each `needlepoint` command) would pay.

Episode = tuple[float, bool]

NOT_RANDOMISED_CAVEAT = (
    "Needled and not-needled episodes were not randomised: clinicians and patients chose needling, so the "
    "groups can differ in condition, severity, duration of symptoms and other care. Any difference in time "
    "to discharge is an observational association, not proof that needling caused it."
)

CENSORING_NOTE = (
    "Episodes still open, or closed without the goals met, are counted as censored: the curves assume those "
    "patients would have gone on like the patients still in care, which may make both groups look better."
)

PROPORTIONAL_HAZARDS_NOTE = (
    "The hazard ratio summarises the whole follow-up in one number and assumes the ratio stays constant "
    "over time; if the curves cross, it can hide the difference."
)


@dataclass(frozen=True)
class CurvePoint:
    """The Kaplan-Meier estimate just after ``time``, with its pointwise interval and the risk set."""

    time: float
    survival: float
    ci_low: float | None
    ci_high: float | None
    at_risk: int
    events: int
    censored: int


@dataclass(frozen=True)
class KaplanMeier:
    """A Kaplan-Meier curve and its median time, or the reason why there is none.

    ``median`` (and either bound) is None when the curve (or its confidence band) never falls to one half:
    the median was not reached during follow-up.
    """

    n: int
    events: int
    points: tuple[CurvePoint, ...]
    median: float | None
    median_low: float | None
    median_high: float | None
    confidence: float
    reason: str = ""

    @property
    def enough_data(self) -> bool:
        """True when a curve could be estimated."""
        return not self.reason


@dataclass(frozen=True)
class HazardRatio:
    """Cox hazard ratio of discharge with goals met, needled over not needled, or the reason why none.

    Above 1: needled episodes reached discharge with goals met at a higher rate (sooner).
    """

    value: float | None
    low: float | None
    high: float | None
    p_value: float | None
    confidence: float
    reason: str = ""

    @property
    def enough_data(self) -> bool:
        """True when a hazard ratio could be estimated."""
        return not self.reason


@dataclass(frozen=True)
class SurvivalComparison:
    """Needled against not-needled episodes: both curves, the hazard ratio and the caveats to print."""

    needled: KaplanMeier
    comparison: KaplanMeier
    hazard_ratio: HazardRatio
    caveats: tuple[str, ...]


def kaplan_meier(episodes: Sequence[Episode], confidence: float = 0.95) -> KaplanMeier:
    """Kaplan-Meier curve with exponential-Greenwood (log-log) pointwise intervals and the median.

    The median is the first time the curve reaches one half or below; its interval is where the lower and
    upper confidence bands cross one half (Brookmeyer-Crowley style, as lifelines' ``median_survival_times``).
    """
    _check_confidence(confidence)
    durations, observed = _validated(episodes)
    if not durations:
        return KaplanMeier(0, 0, (), None, None, None, confidence, "Not enough data: no episodes.")
    from lifelines import KaplanMeierFitter
    from lifelines.utils import median_survival_times

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
    import pandas as pd
    from lifelines import CoxPHFitter
    from lifelines.exceptions import ConvergenceError, ConvergenceWarning

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
