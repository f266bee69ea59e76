"""Claim verdicts at their boundaries, their wording, and the published reference data behind them."""

import json
import re
from pathlib import Path

import pytest

from needlepoint.insights.claims import (
    MINIMUM_N,
    NOT_RANDOMISED_REASON,
    OBSERVATIONAL_REASON,
    minimum_for,
    published_adverse_event_rates,
    published_evidence,
    verdict_recovery,
    verdict_relief,
    verdict_rom,
)
from needlepoint.insights.stats import Estimate, Proportion, mean_ci, proportion
from needlepoint.insights.survival import NOT_RANDOMISED_CAVEAT, HazardRatio, KaplanMeier, SurvivalComparison
from tests.insights.lifelines_survival import compare_needled

MISSING = "Intention to treat: episodes without a follow-up value count as non-responders."


def _share(low, high, n=40, value=None):
    value = (low + high) / 2 if value is None else value
    return Proportion(successes=round(value * n), n=n, value=value, low=low, high=high, confidence=0.95)


GAIN = Estimate(n=40, value=12.0, low=8.0, high=16.0, sd=12.5, confidence=0.95)

# --- relief ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("low", "high", "status"),
    [
        (0.5001, 0.8, "consistent"),
        (0.5, 0.8, "not_enough_data"),  # the lower bound must be strictly above one half
        (0.3, 0.7, "not_enough_data"),
        (0.3, 0.5, "not_consistent"),  # at or below one half even at the optimistic end
        (0.3, 0.5001, "not_enough_data"),
    ],
)
def test_relief_status_at_the_threshold(low, high, status):
    share = _share(low, high)
    assert verdict_relief("neck pain", share, share, share, MISSING).status == status


def test_relief_needs_the_claims_own_minimum_whatever_smaller_minimum_is_asked_for():
    strong = proportion(19, 19)
    assert strong.low > 0.5 and MINIMUM_N == 20
    for asked in (None, 1, 10, 19):
        assert verdict_relief("neck pain", strong, strong, strong, MISSING, minimum_n=asked).status == "not_enough_data"
    assert "fewer than the 20 needed" in verdict_relief("neck pain", strong, strong, strong, MISSING).headline
    enough = proportion(20, 20)
    assert verdict_relief("neck pain", enough, enough, enough, MISSING, minimum_n=1).status == "consistent"
    raised = verdict_relief("neck pain", enough, enough, enough, MISSING, minimum_n=25)
    assert raised.status == "not_enough_data" and raised.minimum_n == 25 and "fewer than the 25" in raised.headline


def test_every_claim_uses_the_claims_own_minimum():
    assert minimum_for(None) == minimum_for(1) == minimum_for(20) == 20 and minimum_for(30) == 30
    nineteen = proportion(19, 19)
    assert verdict_rom("LE", nineteen, GAIN, MISSING, minimum_n=1).status == "not_enough_data"
    needled, other = _curve(20, 15, 27, n=19), _curve(35, 28, 45)
    assert verdict_recovery("LE", _comparison(needled, other), minimum_n=1).status == "not_enough_data"


def test_relief_on_real_counts_either_side_of_the_bar():
    # Wilson 95% for 15/20 is 0.531-0.888, for 14/20 0.481-0.855, for 5/20 0.112-0.469, for 6/20 0.145-0.519.
    statuses = [verdict_relief("LBP", *[proportion(k, 20)] * 3, MISSING).status for k in (15, 14, 6, 5)]
    assert statuses == ["consistent", "not_enough_data", "not_enough_data", "not_consistent"]


def test_relief_threshold_is_configurable_and_must_be_a_share():
    share = proportion(30, 40)
    assert verdict_relief("LBP", share, share, share, MISSING, threshold=0.7).status == "not_enough_data"
    with pytest.raises(ValueError):
        verdict_relief("LBP", share, share, share, MISSING, threshold=1.0)


def test_relief_consistent_with_the_claim_says_what_the_design_cannot_show_and_gives_its_definition():
    verdict = verdict_relief("neck pain", proportion(30, 40), proportion(20, 40), proportion(10, 40), MISSING)
    assert verdict.status == "consistent" and verdict.claim == "relief"
    assert verdict.headline.startswith("Consistent with the claim for neck pain in this clinic: 75% (30 of 40")
    assert "before visit 3" in verdict.headline and "does not show that needling caused" in verdict.headline
    assert "supported" not in verdict.headline.lower()
    assert verdict.details[1].startswith("Before visit 2, after one treatment (reported, not used for the verdict)")
    assert "recorded by the treating clinician" in verdict.details[2]
    assert MISSING in verdict.limits and verdict.reason == OBSERVATIONAL_REASON
    assert "cannot show cause and effect" in verdict.reason and "no untreated comparison" in verdict.reason.lower()
    assert "before visit 3" in verdict.definition and "2 points or at least 30%" in verdict.definition
    assert "Wilson" in verdict.method and "above 50%" in verdict.method
    assert verdict.published.sources and "S83" in {source.key for source in verdict.published.sources}


def test_no_episodes_at_all_gives_not_enough_data_with_a_readable_headline():
    empty = proportion(0, 0)
    verdict = verdict_relief("TMD", empty, empty, empty, MISSING)
    assert verdict.status == "not_enough_data" and "0 episodes needled at their first visit" in verdict.headline


# --- range of motion -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("low", "high", "gain", "status"),
    [
        (0.55, 0.8, GAIN, "consistent"),
        (0.55, 0.8, Estimate(40, 3.0, 0.0, 6.0, 9.0, 0.95), "not_consistent"),  # mean gain not above zero
        (0.55, 0.8, Estimate(40, 3.0, 0.01, 6.0, 9.0, 0.95), "consistent"),
        (0.45, 0.8, GAIN, "not_enough_data"),
        (0.2, 0.5, GAIN, "not_consistent"),
    ],
)
def test_rom_status_at_the_thresholds(low, high, gain, status):
    assert verdict_rom("shoulder pain", _share(low, high), gain, MISSING).status == status


def test_rom_share_without_a_mean_gain_is_not_supported_and_says_why():
    flat = Estimate(40, 3.0, -1.0, 6.0, 9.0, 0.95)
    verdict = verdict_rom("shoulder pain", _share(0.55, 0.8), flat, MISSING)
    assert verdict.status == "not_consistent"
    assert "mean gain in degrees is not above zero" in verdict.headline
    assert "even at the high end" not in verdict.headline


def test_rom_details_give_degrees_and_percent_of_normal_with_intervals():
    percent = mean_ci(40, 400, 40 * 10**2 + 39 * 16)  # mean 10 %-points
    verdict = verdict_rom("shoulder pain", proportion(28, 40), GAIN, MISSING, percent_of_normal_gained=percent)
    assert any("12.0° (95% CI 8.0 to 16.0; n = 40)" in detail for detail in verdict.details)
    assert any("share of normal range: 10.0 %-points" in detail for detail in verdict.details)
    assert any("MDC" in limit for limit in verdict.limits)


# --- recovery --------------------------------------------------------------------------------------------------


def _curve(median, low, high, n=30):
    return KaplanMeier(n=n, events=n // 2, points=(), median=median, median_low=low, median_high=high,
                       confidence=0.95)  # fmt: skip


def _comparison(needled, other, ratio=None):
    ratio = ratio or HazardRatio(2.0, 1.2, 3.3, 0.01, 0.95)
    return SurvivalComparison(needled, other, ratio, (NOT_RANDOMISED_CAVEAT,))


@pytest.mark.parametrize(
    ("needled", "other", "ratio", "status"),
    [
        (_curve(20, 15, 27.9), _curve(35, 28, 45), None, "consistent"),
        (_curve(20, 15, 28), _curve(35, 28, 45), None, "not_consistent"),  # touching intervals do not separate
        (_curve(20, 15, 27), _curve(35, 28, 45), HazardRatio(1.8, 1.0, 3.0, 0.05, 0.95), "not_consistent"),
        (_curve(20, 15, 27), _curve(35, 28, 45), HazardRatio(None, None, None, None, 0.95, "no fit"), "consistent"),
        (_curve(20, 15, None), _curve(35, 28, 45), None, "not_consistent"),  # needled upper bound not reached
        (_curve(None, 30, None), _curve(35, 28, 45), None, "not_consistent"),  # needled median not reached
        (_curve(40, 30, 50), _curve(20, 15, 25), HazardRatio(0.5, 0.3, 0.8, 0.01, 0.95), "not_consistent"),
        (_curve(20, 15, 27), _curve(None, None, None), None, "not_enough_data"),  # nothing to compare against
        (_curve(20, 15, 27, n=19), _curve(35, 28, 45), None, "not_enough_data"),
        (_curve(20, 15, 27), _curve(35, 28, 45, n=19), None, "not_enough_data"),
    ],
)
def test_recovery_status_at_its_boundaries(needled, other, ratio, status):
    assert verdict_recovery("LE", _comparison(needled, other, ratio)).status == status


def test_recovery_consistent_with_the_claim_still_says_the_cohorts_were_not_randomised():
    verdict = verdict_recovery("LE", _comparison(_curve(20, 15, 27), _curve(35, 28, 45)))
    assert verdict.status == "consistent"
    assert "not randomised" in verdict.headline and "does not show that needling speeds" in verdict.headline
    assert verdict.reason == NOT_RANDOMISED_REASON and "first visit" in verdict.definition
    assert NOT_RANDOMISED_CAVEAT in verdict.limits
    assert any("do not show recovery time cut in half" in detail for detail in verdict.details)


def test_halving_is_only_mentioned_when_even_the_bounds_show_it():
    verdict = verdict_recovery("LE", _comparison(_curve(10, 8, 14), _curve(35, 28, 45)))
    assert verdict.status == "consistent"
    assert any("consistent with recovery time cut in half" in detail for detail in verdict.details)


def test_recovery_verdict_from_real_episodes():
    needled = [(day, True) for day in range(10, 40)]
    not_needled = [(day, True) for day in range(30, 90, 2)]
    verdict = verdict_recovery("neck pain", compare_needled(needled, not_needled))
    assert verdict.status == "consistent"
    assert any("Hazard ratio" in detail and "95% CI" in detail for detail in verdict.details)
    overlapping = verdict_recovery("neck pain", compare_needled(needled, needled[::-1]))
    assert overlapping.status == "not_consistent"


def test_recovery_with_small_groups_reports_their_sizes():
    verdict = verdict_recovery("TMD", compare_needled([(5, True)] * 3, [(9, True)] * 25))
    assert verdict.status == "not_enough_data" and "here 3 and 25" in verdict.headline


# --- published data --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("claim", ["relief", "rom", "recovery"])
def test_every_published_finding_names_its_source(claim):
    evidence = published_evidence(claim)
    assert evidence.summary and evidence.sources
    for source in evidence.sources:
        assert source.section and re.fullmatch(r"S\d+", source.key)
        assert re.search(r"(19|20)\d\d", source.citation)


def test_recovery_evidence_says_halving_is_unsupported():
    assert "No study supporting" in published_evidence("recovery").summary


def test_published_adverse_event_rates_are_internally_consistent():
    rates = published_adverse_event_rates()
    assert {rate.study for rate in rates} == {"brady2014", "boyce2020"}
    for rate in rates:
        assert rate.source.key in {"S1", "S2"} and rate.denominator in {7629, 20464}
        if rate.interval is not None:
            assert rate.per_1000 == pytest.approx(rate.interval.per_1000, abs=0.005)
            assert rate.interval.low <= rate.per_1000 <= rate.interval.high


def test_published_rates_match_clinical_md_figures():
    rates = {(r.study, r.type, r.severity): r for r in published_adverse_event_rates()}
    assert rates["brady2014", "bruising", "mild"].per_1000 == 75.5  # 7.55% of 7,629 treatments
    assert rates["boyce2020", "bleeding", "mild"].per_1000 == 160.0  # 16% of 20,464 sessions
    major = rates["boyce2020", "any", "major"]
    assert 1000 / major.interval.per_1000 == pytest.approx(1023.2, abs=0.1)  # "about 1 per 1,024"
    # Brady: no significant events in 7,629 treatments; the exact upper bound is near the published <=0.04%.
    assert rates["brady2014", "any", "significant"].interval.high == pytest.approx(0.48, abs=0.01)


def test_published_percentages_convert_to_per_1000_and_types_match_the_clinic_vocabulary():
    raw = json.loads((Path(__file__).parents[2] / "needlepoint/insights/data/adverse_event_rates.json").read_text())
    catalogue = Path(__file__).parents[2] / "needlepoint/visits/data/adverse_events.json"
    clinic_types = {entry["code"] for entry in json.loads(catalogue.read_text())["types"]}
    published_only = {"any", "fatigue", "altered_emotions", "shaking", "itching", "claustrophobia", "numbness"}
    for study in raw["studies"]:
        for rate in study["rates"]:
            if "events" in rate:
                assert rate["per_1000"] == pytest.approx(rate["events"] / study["denominator"] * 1000, abs=0.005)
            else:
                assert rate["per_1000"] == pytest.approx(rate["percent"] * 10, abs=1e-9)
            assert rate["type"] in clinic_types | published_only
            assert rate["severity"] in {"mild", "significant", "major"}
