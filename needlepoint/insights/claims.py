"""Plain-English verdicts on the three benefit claims, from the clinic's own aggregated data.

Clinics tell patients three things about dry needling: pain relief, often within the first treatment or two;
better range of motion; faster healing. For each claim and condition this module says whether the clinic's
records are consistent with the claim, not consistent with it, or too few to say, with n and confidence
intervals, the definition measured, the reason such records cannot show cause and effect, and the published
trial evidence beside it (data/published_evidence.json, citing the project's references).

The words fit the design. A clinic's records are a non-randomised cohort: they can be consistent with a claim,
never prove it, so no verdict says "supported". Every definition is fixed before the data are read (one time
point per figure, never the better of two). No Django imports.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

from needlepoint.grammar import clause
from needlepoint.insights.stats import Estimate, Proportion, Rate, rate_per_1000
from needlepoint.insights.survival import KaplanMeier, SurvivalComparison

Status = Literal["consistent", "not_consistent", "not_enough_data"]
Claim = Literal["relief", "rom", "recovery"]

MINIMUM_N = 20
"""The fewest episodes per group before a claim is judged, whatever smaller group the privacy setting shows.

Why 20, argued from the verdict rule itself (a share must clear 50% at the low end of its 95% Wilson interval):

- at 20 episodes one patient moves a share by 5 percentage points; at 10 by 10 points, so a verdict on 10
  episodes turns on one or two patients;
- at 20 the rule needs 15 of 20 (75%) to call a share consistent with the claim, at 10 it needs 9 of 10 and at
  4 it would accept 4 of 4 (Wilson 51% to 100%): with fewer episodes the rule rests on the interval's behaviour
  at its extreme, where binomial intervals are least reliable;
- a Kaplan-Meier median needs at least half of a group to reach the event: 20 episodes give 10 events at the
  median, the usual rule of thumb of about 10 events per estimated parameter for the Cox model beside it.

``--min-n`` and the page's "smallest group shown" can raise the minimum, never lower it.
"""
DEFAULT_SHARE_THRESHOLD = 0.5

# Pain relief responder: a fall of at least 2 points or at least 30% of the baseline score on the 0-10 scale,
# the consensus individual MCID (Ostelo 2008 [S34]; Farrar 2001 [S36]).
RELIEF_POINTS = 2.0
RELIEF_PERCENT = 30.0

_DATA = Path(__file__).parent / "data"

OBSERVATIONAL_REASON = (
    "Why this cannot show cause and effect: these are the clinic's own records of routine care, not a trial. "
    "There is no untreated comparison group, so improvement can also come from natural recovery, regression to "
    "the mean (patients come when pain is at its worst) or expectation; the figure describes what happened to "
    "the clinic's patients, not what needling did."
)
NOT_RANDOMISED_REASON = (
    "Why this cannot show cause and effect: needled and not-needled episodes were not randomised. Clinicians and "
    "patients chose needling, so the groups can differ in severity, duration of symptoms and other care; any "
    "difference is an association, not an effect of needling."
)
NO_COMPARISON_LIMIT = OBSERVATIONAL_REASON

RELIEF_DEFINITION = (
    "Relief, defined as a trial would: pain (0-10) reported before visit 3, after two treatments and on a later "
    "day, against pain before visit 1 (baseline). A responder's pain fell by at least 2 points or at least 30% of "
    "the baseline score (the consensus MCID). The time point was fixed in advance; the figure before visit 2 is "
    "reported beside it and never used to choose the better of two. The pain at the end of a session is reported "
    "apart, as the immediate change recorded by the treating clinician. Cohort: episodes needled at their first "
    "visit."
)
ROM_DEFINITION = (
    "Range of motion per episode, not per side: the gain from an episode's first to its last measurement of the "
    "movement it was measured on most (one method), on the treated side when the episode names one, else the "
    "mean of the sides measured. Beyond the MDC means a gain of at least the method's minimal detectable change. "
    "Intervals allow for patients with several episodes (cluster-robust, by patient). Cohort: episodes needled at "
    "their first visit."
)
RECOVERY_DEFINITION = (
    "Time from the episode's opening to discharge with goals met (Kaplan-Meier, Cox hazard ratio). Cohorts are "
    "fixed at the first visit, the landmark: needled at the first visit against not needled at it. An episode "
    "first needled later stays in the not-needled cohort, so no episode is credited with the time it had to stay "
    "in care to be needled (immortal time [S234])."
)

DEFINITIONS = {"relief": RELIEF_DEFINITION, "rom": ROM_DEFINITION, "recovery": RECOVERY_DEFINITION}


@dataclass(frozen=True)
class Source:
    """A published source: its section, its key in the project's references, and the citation."""

    section: str
    key: str
    citation: str


@dataclass(frozen=True)
class PublishedEvidence:
    """What published reviews say about one claim, with the sources behind it."""

    claim: str
    summary: str
    sources: tuple[Source, ...]


@dataclass(frozen=True)
class Verdict:
    """A claim's verdict for one condition: status, headline, details with n and CIs, definition, method, limits and
    the reason the design cannot show cause and effect."""

    claim: Claim
    condition: str
    status: Status
    headline: str
    details: tuple[str, ...]
    method: str
    limits: tuple[str, ...]
    published: PublishedEvidence
    definition: str
    reason: str  # why the clinic's records cannot show cause and effect, shown beside the verdict
    minimum_n: int


@dataclass(frozen=True)
class PublishedRate:
    """A published adverse-event rate per 1,000 sessions; an exact interval when the count is published."""

    study: str
    source: Source
    type: str
    severity: str
    reported: str
    per_1000: float
    denominator: int
    interval: Rate | None
    note: str = ""


def minimum_for(chosen: int | None = None) -> int:
    """The minimum group size a verdict uses: the module's own ``MINIMUM_N``, or a larger one chosen by the user."""
    return max(MINIMUM_N, chosen or 0)


def verdict_relief(
    condition: str,
    before_visit_3: Proportion,
    before_visit_2: Proportion,
    immediate: Proportion,
    missing_follow_up: str,
    *,
    threshold: float = DEFAULT_SHARE_THRESHOLD,
    minimum_n: int | None = None,
) -> Verdict:
    """Verdict on "pain relief within the first treatment or two" for episodes needled at their first visit.

    The pre-specified figure is the share of responders (a fall of at least 2 points or 30%) in the pain
    reported before visit 3 against before visit 1. The share before visit 2 and the immediate change at the end
    of visit 1 (clinician-recorded) are reported as details and never decide. Rule, with the interval a Wilson
    95% interval and ``minimum_n`` never below ``MINIMUM_N``:

    - not enough data: fewer than the minimum, or the interval contains ``threshold`` (default one half);
    - consistent with the claim: the lower bound is above the threshold;
    - not consistent with the claim: the upper bound is at or below the threshold.
    """
    minimum = minimum_for(minimum_n)
    status = _share_status(before_visit_3, threshold, minimum)
    what = (
        "reported pain at least 2 points or 30% below baseline before visit 3, after two treatments (the "
        "pre-specified time point)"
    )
    details = (
        f"Before visit 3, after two treatments (pre-specified): {_share(before_visit_3)}.",
        f"Before visit 2, after one treatment (reported, not used for the verdict): {_share(before_visit_2)}.",
        f"Immediate change at the end of visit 1, recorded by the treating clinician (reported apart; says nothing "
        f"about the days after): {_share(immediate)}.",
    )
    limits = (
        missing_follow_up,
        "Pain before a visit is recorded at that visit, by the clinic, with the patient knowing they were needled.",
    )
    return Verdict(
        claim="relief",
        condition=condition,
        status=status,
        headline=_share_headline(status, condition, before_visit_3, what, threshold, minimum),
        details=details,
        method=_share_method(threshold, minimum, "with pain before visit 3 at least 2 points or 30% below baseline"),
        limits=limits,
        published=published_evidence("relief"),
        definition=RELIEF_DEFINITION,
        reason=OBSERVATIONAL_REASON,
        minimum_n=minimum,
    )


def verdict_rom(
    condition: str,
    beyond_mdc: Proportion,
    degrees_gained: Estimate,
    missing_follow_up: str,
    *,
    percent_of_normal_gained: Estimate | None = None,
    threshold: float = DEFAULT_SHARE_THRESHOLD,
    minimum_n: int | None = None,
) -> Verdict:
    """Verdict on "better range of motion" for episodes needled at their first visit, one value per episode.

    Inputs are the share of episodes whose gain reached the motion's minimal detectable change (MDC, the
    measurement error [S73–S79]), the mean degrees gained, optionally the mean gain in percent of normal range,
    and the sentence saying how missing measurements were handled. Rule (``minimum_n`` never below ``MINIMUM_N``):

    - not enough data: fewer than the minimum episodes, or the interval for the share beyond the MDC
      contains ``threshold`` (default one half);
    - consistent with the claim: the lower bound of that share is above the threshold AND the lower bound of
      the mean degrees gained is above zero;
    - not consistent with the claim: the upper bound of the share is at or below the threshold, or the share
      clears it while the mean gain does not.
    """
    minimum = minimum_for(minimum_n)
    status = _share_status(beyond_mdc, threshold, minimum)
    what = "gained range of motion beyond the minimal detectable change"
    headline = _share_headline(status, condition, beyond_mdc, what, threshold, minimum)
    if status == "consistent" and not (degrees_gained.enough_data and (degrees_gained.low or 0) > 0):
        status = "not_consistent"
        headline = (
            f"Not consistent with the claim for {condition}: {_share(beyond_mdc)} {what}, but the mean gain in "
            "degrees is not above zero at the low end of its 95% interval."
        )
    details = [
        f"Gained at least the MDC: {_share(beyond_mdc)}.",
        f"Mean gain: {_mean(degrees_gained, '°')}.",
    ]
    if percent_of_normal_gained is not None:
        details.append(f"Mean gain as a share of normal range: {_mean(percent_of_normal_gained, ' %-points')}.")
    limits = (
        missing_follow_up,
        "Gains smaller than the MDC cannot be told apart from measurement error [S73–S79].",
        "Range of motion was measured by the treating clinicians, who knew the patient had been needled.",
    )
    return Verdict(
        claim="rom",
        condition=condition,
        status=status,
        headline=headline,
        details=tuple(details),
        method=_share_method(threshold, minimum, "gaining at least the MDC")
        + " The mean gain in degrees must also be above zero at the lower end of its 95% interval.",
        limits=limits,
        published=published_evidence("rom"),
        definition=ROM_DEFINITION,
        reason=OBSERVATIONAL_REASON,
        minimum_n=minimum,
    )


def verdict_recovery(condition: str, comparison: SurvivalComparison, *, minimum_n: int | None = None) -> Verdict:
    """Verdict on "faster healing" from time to discharge with goals met, cohorts fixed at the first visit.

    The cohorts were never randomised, so the most this can say is that the records are consistent with the
    claim (an association). ``minimum_n`` is never below ``MINIMUM_N``:

    - not enough data: either cohort has fewer than the minimum episodes, or the not-needled median (or the
      lower bound of its interval) was not reached;
    - consistent with the claim: the needled median's whole 95% interval lies below the not-needled median's
      interval AND the hazard ratio, when it can be estimated, has a lower bound above 1;
    - not consistent with the claim: anything else (overlapping intervals, needled median not reached, slower).
    """
    minimum = minimum_for(minimum_n)
    needled, other = comparison.needled, comparison.comparison
    status = _recovery_status(comparison, minimum)
    details = (
        f"Needled at the first visit: {_median(needled)}.",
        f"Not needled at the first visit: {_median(other)}.",
        _hazard_ratio_sentence(comparison),
        _halving_sentence(needled, other, status),
    )
    return Verdict(
        claim="recovery",
        condition=condition,
        status=status,
        headline=_recovery_headline(status, condition, needled, other, minimum),
        details=details,
        method=(
            "Kaplan-Meier estimates of time to discharge with goals met, with 95% intervals for the median; "
            "a Cox proportional-hazards ratio for episodes needled at the first visit against the others. The "
            "records count as consistent with the claim only when the needled median's whole 95% interval lies "
            "below the other cohort's and the hazard ratio's lower bound is above 1, with at least "
            f"{minimum} episodes in each cohort."
        ),
        limits=comparison.caveats,
        published=published_evidence("recovery"),
        definition=RECOVERY_DEFINITION,
        reason=NOT_RANDOMISED_REASON,
        minimum_n=minimum,
    )


@cache
def published_evidence(claim: Claim) -> PublishedEvidence:
    """The published evidence for one claim, from data/published_evidence.json."""
    entry = _load("published_evidence.json")["claims"][claim]
    return PublishedEvidence(
        claim=entry["claim"],
        summary=entry["summary"],
        sources=tuple(_source(item["source"]) for item in entry["entries"]),
    )


@cache
def published_adverse_event_rates() -> tuple[PublishedRate, ...]:
    """Brady 2014 and Boyce 2020 adverse-event rates per 1,000 sessions, by type and severity."""
    return tuple(
        PublishedRate(
            study=study["id"],
            source=_source(study["source"]),
            type=rate["type"],
            severity=rate["severity"],
            reported=rate["reported"],
            per_1000=rate["per_1000"],
            denominator=study["denominator"],
            interval=rate_per_1000(rate["events"], study["denominator"]) if "events" in rate else None,
            note=rate.get("note", ""),
        )
        for study in _load("adverse_event_rates.json")["studies"]
        for rate in study["rates"]
    )


def _share_status(share: Proportion, threshold: float, minimum_n: int) -> Status:
    if not 0 < threshold < 1:
        raise ValueError(f"The threshold must lie strictly between 0 and 1, got {threshold!r}.")
    if share.n < minimum_n or not share.enough_data:
        return "not_enough_data"
    if share.low is not None and share.low > threshold:
        return "consistent"
    if share.high is not None and share.high <= threshold:
        return "not_consistent"
    return "not_enough_data"


def _share_headline(
    status: Status, condition: str, share: Proportion, what: str, threshold: float, minimum_n: int
) -> str:
    if share.n < minimum_n or not share.enough_data:
        return (
            f"Not enough data for {condition}: {share.n} episodes needled at their first visit could be judged, "
            f"fewer than the {minimum_n} needed before the report will judge this claim."
        )
    bar = f"{threshold:.0%}"
    if status == "consistent":
        return (
            f"Consistent with the claim for {condition} in this clinic: {_share(share)} {what}, more than {bar} "
            "even at the low end of the interval. This describes the clinic's patients; it does not show that "
            "needling caused the change."
        )
    if status == "not_consistent":
        return (
            f"Not consistent with the claim for {condition}: {_share(share)} {what}, no more than {bar} even at "
            "the high end of the interval."
        )
    return (
        f"Not enough data to decide for {condition}: {_share(share)} {what}; the interval includes "
        f"{bar}, so more episodes are needed."
    )


def _share_method(threshold: float, minimum_n: int, measure: str) -> str:
    return (
        f"Share of episodes needled at their first visit {measure}, with a 95% Wilson interval (widened for "
        "patients with several episodes). The records count as consistent with the claim only when the lower "
        f"bound is above {threshold:.0%}, and as not consistent when the upper bound is at or below it; otherwise, "
        f"or with fewer than {minimum_n} episodes, there is not enough data."
    )


def _recovery_status(comparison: SurvivalComparison, minimum_n: int) -> Status:
    needled, other = comparison.needled, comparison.comparison
    if needled.n < minimum_n or other.n < minimum_n or other.median_low is None:
        return "not_enough_data"
    ratio = comparison.hazard_ratio
    medians_separate = needled.median_high is not None and needled.median_high < other.median_low
    ratio_agrees = not ratio.enough_data or (ratio.low is not None and ratio.low > 1)
    return "consistent" if medians_separate and ratio_agrees else "not_consistent"


def _recovery_headline(status: Status, condition: str, needled: KaplanMeier, other: KaplanMeier, minimum_n: int) -> str:
    if status == "not_enough_data" and min(needled.n, other.n) < minimum_n:
        return (
            f"Not enough data for {condition}: the report needs at least {minimum_n} episodes needled at the "
            f"first visit and {minimum_n} not needled at it (here {needled.n} and {other.n})."
        )
    if status == "not_enough_data":
        return (
            f"Not enough data for {condition}: too few episodes without needling have been discharged with "
            "goals met to place their median time, so there is nothing firm to compare against."
        )
    if status == "not_consistent":
        return (
            f"Not consistent with the claim for {condition}: the clinic's records do not show episodes needled at "
            "the first visit reaching discharge with goals met sooner than episodes not needled at it."
        )
    return (
        f"Consistent with the claim, as an association only, for {condition}: episodes needled at the first "
        f"visit reached discharge with goals met sooner (median {_days(needled.median)} against "
        f"{_days(other.median)} days). The cohorts were not randomised, so this does not show that needling "
        "speeds recovery."
    )


def _hazard_ratio_sentence(comparison: SurvivalComparison) -> str:
    ratio = comparison.hazard_ratio
    if not ratio.enough_data:
        return f"Hazard ratio: {ratio.reason}"
    return (
        f"Hazard ratio of discharge with goals met, needled against not needled: {ratio.value:.2f} "
        f"(95% CI {ratio.low:.2f} to {ratio.high:.2f}); above 1 means sooner with needling."
    )


def _halving_sentence(needled: KaplanMeier, other: KaplanMeier, status: Status) -> str:
    # "Cut in half" is judged as conservatively as "faster": the slowest plausible needled median must be
    # at most half the fastest plausible comparison median.
    high, low = needled.median_high, other.median_low
    if status == "consistent" and high is not None and low is not None and high <= low / 2:
        return (
            "Even the upper bound of the needled median is at most half the lower bound of the other "
            "group's median: consistent with recovery time cut in half, in this observational comparison."
        )
    return "The data do not show recovery time cut in half."


def _share(share: Proportion) -> str:
    if not share.enough_data:
        return f"no episodes to count ({clause(share.reason)})"
    return f"{share.value:.0%} ({share.successes} of {share.n}; 95% CI {share.low:.0%} to {share.high:.0%})"


def _mean(estimate: Estimate, unit: str) -> str:
    if not estimate.enough_data:
        return f"not available ({clause(estimate.reason)})"
    return f"{estimate.value:.1f}{unit} (95% CI {estimate.low:.1f} to {estimate.high:.1f}; n = {estimate.n})"


def _median(curve: KaplanMeier) -> str:
    if not curve.enough_data:
        return curve.reason.rstrip(".")  # the caller ends the sentence
    if curve.median is None:
        return f"median not reached ({curve.events} of {curve.n} episodes discharged with goals met)"
    return (
        f"median {_days(curve.median)} days (95% CI {_days(curve.median_low)} to {_days(curve.median_high)}; "
        f"{curve.events} of {curve.n} episodes discharged with goals met)"
    )


def _days(value: float | None) -> str:
    return "not reached" if value is None else f"{value:g}"


def _source(raw: dict[str, str]) -> Source:
    return Source(section=raw["section"], key=raw["key"], citation=raw["citation"])


def _load(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((_DATA / name).read_text(encoding="utf-8"))
    return loaded
