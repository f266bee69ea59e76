"""Plain-English verdicts on the three benefit claims, from the clinic's own aggregated data.

Clinics tell patients three things about dry needling: pain relief, often within the first treatment or two;
better range of motion; faster healing. For each claim and condition this module says whether the clinic's
data support it, do not support it, or are too few to say, with n and confidence intervals, the method, its
limits, and the published evidence beside it (data/published_evidence.json, citing the project's references).

The rules are deliberately conservative: a claim is "supported" only when the whole confidence interval
clears a stated bar. Even then the wording says what the data can show (what happened to this clinic's
patients) and what they cannot (that needling caused it). No Django imports.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

from needlepoint.insights.stats import Estimate, Proportion, Rate, rate_per_1000
from needlepoint.insights.survival import KaplanMeier, SurvivalComparison

Status = Literal["supported", "not_supported", "not_enough_data"]
Claim = Literal["relief", "rom", "recovery"]

DEFAULT_MINIMUM_N = 20
DEFAULT_SHARE_THRESHOLD = 0.5

_DATA = Path(__file__).parent / "data"

NO_COMPARISON_LIMIT = (
    "There is no untreated comparison group: improvement after treatment can also come from natural "
    "recovery, regression to the mean or expectation, so this shows what happened to the clinic's patients, "
    "not that needling caused it."
)


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
    """A claim's verdict for one condition: status, a headline, details with n and CIs, method and limits."""

    claim: Claim
    condition: str
    status: Status
    headline: str
    details: tuple[str, ...]
    method: str
    limits: tuple[str, ...]
    published: PublishedEvidence


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


def verdict_relief(
    condition: str,
    by_visit_1: Proportion,
    by_visit_2: Proportion,
    missing_follow_up: str,
    *,
    threshold: float = DEFAULT_SHARE_THRESHOLD,
    minimum_n: int = DEFAULT_MINIMUM_N,
) -> Verdict:
    """Verdict on "pain relief within the first treatment or two" for needled episodes of one condition.

    Inputs are the shares of needled episodes whose pain fell by at least the measure's MCID by the end of
    visit 1 and of visit 2, and the sentence saying how missing pain scores were handled.
    The claim is read as "more than ``threshold`` (default one half) of episodes reach the MCID by visit 2":

    - not enough data: fewer than ``minimum_n`` episodes, or the 95% interval contains the threshold;
    - supported: the lower bound of the interval for visit 2 is above the threshold;
    - not supported: the upper bound is at or below the threshold.
    """
    status = _share_status(by_visit_2, threshold, minimum_n)
    what = "reached a clinically important fall in pain (at least the MCID) by the end of visit 2"
    details = (
        f"By the end of visit 1: {_share(by_visit_1)}.",
        f"By the end of visit 2: {_share(by_visit_2)}.",
    )
    limits = (
        missing_follow_up,
        NO_COMPARISON_LIMIT,
        "A fall in pain right after a session says nothing about how long it lasts.",
    )
    return Verdict(
        claim="relief",
        condition=condition,
        status=status,
        headline=_share_headline(status, condition, by_visit_2, what, threshold, minimum_n),
        details=details,
        method=_share_method(threshold, minimum_n, "reaching the MCID by the end of visit 2"),
        limits=limits,
        published=published_evidence("relief"),
    )


def verdict_rom(
    condition: str,
    beyond_mdc: Proportion,
    degrees_gained: Estimate,
    missing_follow_up: str,
    *,
    percent_of_normal_gained: Estimate | None = None,
    threshold: float = DEFAULT_SHARE_THRESHOLD,
    minimum_n: int = DEFAULT_MINIMUM_N,
) -> Verdict:
    """Verdict on "better range of motion" for needled episodes of one condition.

    Inputs are the share of episodes whose gain exceeded the motion's minimal detectable change (MDC, the
    measurement error [S73–S79]), the mean degrees gained, optionally the mean gain in percent
    of normal range, and the sentence saying how missing measurements were handled. Rule:

    - not enough data: fewer than ``minimum_n`` episodes, or the interval for the share beyond the MDC
      contains ``threshold`` (default one half);
    - supported: the lower bound of that share is above the threshold AND the lower bound of the mean
      degrees gained is above zero;
    - not supported: the upper bound of the share is at or below the threshold, or the share clears it
      while the mean gain does not.
    """
    status = _share_status(beyond_mdc, threshold, minimum_n)
    what = "gained range of motion beyond the minimal detectable change"
    headline = _share_headline(status, condition, beyond_mdc, what, threshold, minimum_n)
    if status == "supported" and not (degrees_gained.enough_data and degrees_gained.low > 0):
        status = "not_supported"
        headline = (
            f"Not supported for {condition}: {_share(beyond_mdc)} {what}, but the mean gain in degrees is not "
            "above zero at the low end of its 95% interval."
        )
    details = [
        f"Gained more than the MDC: {_share(beyond_mdc)}.",
        f"Mean gain: {_mean(degrees_gained, '°')}.",
    ]
    if percent_of_normal_gained is not None:
        details.append(f"Mean gain as a share of normal range: {_mean(percent_of_normal_gained, ' %-points')}.")
    limits = (
        missing_follow_up,
        NO_COMPARISON_LIMIT,
        "Gains smaller than the MDC cannot be told apart from measurement error [S73–S79].",
        "Range of motion was measured by the treating clinicians, who knew the patient had been needled.",
    )
    return Verdict(
        claim="rom",
        condition=condition,
        status=status,
        headline=headline,
        details=tuple(details),
        method=_share_method(threshold, minimum_n, "gaining more than the MDC")
        + " The mean gain in degrees must also be above zero at the lower end of its 95% interval.",
        limits=limits,
        published=published_evidence("rom"),
    )


def verdict_recovery(condition: str, comparison: SurvivalComparison, *, minimum_n: int = DEFAULT_MINIMUM_N) -> Verdict:
    """Verdict on "faster healing" from time to discharge with goals met, needled against not needled.

    The cohorts were never randomised, so the best this can ever say is an observational association:

    - not enough data: either group has fewer than ``minimum_n`` episodes, or the not-needled group's
      median (or the lower bound of its interval) was not reached;
    - supported: the needled median's whole 95% interval lies below the not-needled median's interval AND
      the hazard ratio, when it can be estimated, has a lower bound above 1;
    - not supported: anything else (overlapping intervals, needled median not reached, needled slower).
    """
    needled, other = comparison.needled, comparison.comparison
    status = _recovery_status(comparison, minimum_n)
    details = (
        f"Needled: {_median(needled)}.",
        f"Not needled: {_median(other)}.",
        _hazard_ratio_sentence(comparison),
        _halving_sentence(needled, other, status),
    )
    return Verdict(
        claim="recovery",
        condition=condition,
        status=status,
        headline=_recovery_headline(status, condition, needled, other, minimum_n),
        details=details,
        method=(
            "Kaplan-Meier estimates of time to discharge with goals met, with 95% intervals for the median; "
            "a Cox proportional-hazards ratio for needled against not-needled episodes. The claim counts as "
            "supported only when the needled median's whole 95% interval lies below the other group's and "
            f"the hazard ratio's lower bound is above 1, with at least {minimum_n} episodes in each group."
        ),
        limits=comparison.caveats,
        published=published_evidence("recovery"),
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
    if share.low > threshold:
        return "supported"
    if share.high <= threshold:
        return "not_supported"
    return "not_enough_data"


def _share_headline(
    status: Status, condition: str, share: Proportion, what: str, threshold: float, minimum_n: int
) -> str:
    if share.n < minimum_n or not share.enough_data:
        return (
            f"Not enough data for {condition}: {share.n} needled episodes, fewer than the {minimum_n} "
            "needed before the report will judge this claim."
        )
    bar = f"{threshold:.0%}"
    if status == "supported":
        return (
            f"Supported for {condition} in this clinic: {_share(share)} {what}, more than {bar} even at "
            "the low end of the interval. This describes the clinic's patients; it does not show that "
            "needling caused the change."
        )
    if status == "not_supported":
        return (
            f"Not supported for {condition}: {_share(share)} {what}, no more than {bar} even at the high "
            "end of the interval."
        )
    return (
        f"Not enough data to decide for {condition}: {_share(share)} {what}; the interval includes "
        f"{bar}, so more episodes are needed."
    )


def _share_method(threshold: float, minimum_n: int, measure: str) -> str:
    return (
        f"Share of needled episodes {measure}, with a 95% Wilson interval. The claim counts as supported "
        f"only when the lower bound is above {threshold:.0%}, and as not supported when the upper bound is "
        f"at or below it; otherwise, or with fewer than {minimum_n} episodes, there is not enough data."
    )


def _recovery_status(comparison: SurvivalComparison, minimum_n: int) -> Status:
    needled, other = comparison.needled, comparison.comparison
    if needled.n < minimum_n or other.n < minimum_n or other.median_low is None:
        return "not_enough_data"
    ratio = comparison.hazard_ratio
    medians_separate = needled.median_high is not None and needled.median_high < other.median_low
    ratio_agrees = not ratio.enough_data or ratio.low > 1
    return "supported" if medians_separate and ratio_agrees else "not_supported"


def _recovery_headline(status: Status, condition: str, needled: KaplanMeier, other: KaplanMeier, minimum_n: int) -> str:
    if status == "not_enough_data" and min(needled.n, other.n) < minimum_n:
        return (
            f"Not enough data for {condition}: the report needs at least {minimum_n} needled and "
            f"{minimum_n} not-needled episodes (here {needled.n} and {other.n})."
        )
    if status == "not_enough_data":
        return (
            f"Not enough data for {condition}: too few episodes without needling have been discharged with "
            "goals met to place their median time, so there is nothing firm to compare against."
        )
    if status == "not_supported":
        return (
            f"Not supported for {condition}: the clinic's data do not show that needled episodes reach "
            "discharge with goals met sooner than episodes without needling."
        )
    return (
        f"Supported as an association only for {condition}: needled episodes reached discharge with goals "
        f"met sooner (median {_days(needled.median)} against {_days(other.median)} days). The groups were "
        "not randomised, so this does not prove that needling speeds recovery."
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
    if status == "supported" and needled.median_high <= other.median_low / 2:
        return (
            "Even the upper bound of the needled median is at most half the lower bound of the other "
            "group's median: consistent with recovery time cut in half, in this observational comparison."
        )
    return "The data do not show recovery time cut in half."


def _share(share: Proportion) -> str:
    if not share.enough_data:
        return f"no episodes to count ({share.reason})"
    return f"{share.value:.0%} ({share.successes} of {share.n}; 95% CI {share.low:.0%} to {share.high:.0%})"


def _mean(estimate: Estimate, unit: str) -> str:
    if not estimate.enough_data:
        return f"not available ({estimate.reason})"
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


def _load(name: str) -> dict:
    return json.loads((_DATA / name).read_text(encoding="utf-8"))
