"""Time to discharge with goals met: the results (Kaplan-Meier curves, medians, a Cox hazard ratio) and the
caveats printed with them.

An episode's ``event`` is True when it ended in discharge with its goals met; every other episode (still open,
or closed without the goals met) is censored at its last known day. "Survival" here is therefore the
probability of still being in care without the goals met; lower is better.

The estimates are computed from grouped day counts in ``grouped_survival.py``; the tests check them against
lifelines on the expanded episodes (tests/insights/lifelines_survival.py). No Django imports.
"""

from __future__ import annotations

from dataclasses import dataclass

from needlepoint.insights.stats import Result

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
class KaplanMeier(Result):
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


@dataclass(frozen=True)
class HazardRatio(Result):
    """Cox hazard ratio of discharge with goals met, needled over not needled, or the reason why none.

    Above 1: needled episodes reached discharge with goals met at a higher rate (sooner).
    """

    value: float | None
    low: float | None
    high: float | None
    p_value: float | None
    confidence: float
    reason: str = ""


@dataclass(frozen=True)
class SurvivalComparison:
    """Needled against not-needled episodes: both curves, the hazard ratio and the caveats to print."""

    needled: KaplanMeier
    comparison: KaplanMeier
    hazard_ratio: HazardRatio
    caveats: tuple[str, ...]
