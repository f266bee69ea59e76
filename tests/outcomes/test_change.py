"""Change from baseline: direction, responder status against the MCID, and the MDC."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from needlepoint.outcomes import ChangeError, ScoringError, change_from_baseline, responder_rules, score
from needlepoint.outcomes.scoring import Threshold


def test_fall_on_a_higher_is_worse_scale_is_improvement():
    # NDI 40 % → 26 %: fall of 14 = improvement 14 ≥ MCID 14 (Abbott & Schmitt); 14 ≥ MDC 10
    change = change_from_baseline("NDI", 40, 26)
    assert change.points == -14
    assert change.improvement_points == 14
    assert change.percent == -35  # −14/40 × 100
    assert change.improvement_percent == 35
    assert change.improved
    assert change.is_responder is True
    assert change.beyond_mdc is True


def test_just_below_the_mcid_is_not_a_responder_but_can_be_beyond_the_mdc():
    change = change_from_baseline("NDI", 40, 27)  # improvement 13 < 14; 13 ≥ MDC 10
    assert change.is_responder is False
    assert change.beyond_mdc is True


def test_change_smaller_than_the_mdc_is_within_error():
    change = change_from_baseline("NDI", 40, 32)  # 8 < MDC 10
    assert change.improved
    assert change.beyond_mdc is False


def test_worsening_is_never_a_responder():
    change = change_from_baseline("ODI", 30, 45)  # rise of 15 on a higher-is-worse scale
    assert change.improvement_points == -15
    assert not change.improved
    assert change.is_responder is False
    assert change.beyond_mdc is True  # |15| ≥ MDC 10: a real deterioration


def test_rise_on_a_higher_is_better_scale_is_improvement():
    # LEFS 40 → 49: +9 ≥ MCID 9 and ≥ MDC 9
    assert change_from_baseline("LEFS", 40, 49).is_responder is True
    assert change_from_baseline("LEFS", 40, 48).is_responder is False
    assert change_from_baseline("LEFS", 49, 40).improvement_points == -9


def test_percent_rule_override():
    # ODI 30 % relative rule (Ostelo 2008): 40 → 28 is a 30 % fall exactly
    percent_rule = next(r for r in responder_rules("ODI") if r.unit == "percent" and r.value == 30)
    assert change_from_baseline("ODI", 40, 28, rule=percent_rule).is_responder is True
    assert change_from_baseline("ODI", 40, 29, rule=percent_rule).is_responder is False  # 27.5 %


def test_percent_rule_is_exact_for_decimals():
    # NPRS 10 → 7: (10 − 7)/10 × 100 = 30 % exactly, though 3/10*100 is 30.000000000000004 in binary
    rule = Threshold(30, "percent", "S34 Ostelo 2008")
    assert change_from_baseline("NPRS", 10, 7, rule=rule).is_responder is True


def test_points_rule_is_exact_for_decimals():
    # PSFS 3.1 → 5.4 is +2.3 exactly, reaching the 2.3 MCID (binary subtraction gives 2.3000000000000003 or less)
    assert change_from_baseline("PSFS", 3.1, 5.4).is_responder is True
    assert change_from_baseline("PSFS", 3.2, 5.4).is_responder is False


def test_percent_rule_from_a_zero_baseline_cannot_be_judged():
    rule = Threshold(30, "percent", "S34 Ostelo 2008")
    change = change_from_baseline("NPRS", 0, 3, rule=rule)
    assert change.percent is None
    assert change.is_responder is None
    assert "baseline of 0" in change.note


def test_instrument_without_mcid_gives_no_verdict_unless_a_rule_is_given():
    change = change_from_baseline("MIDAS", 30, 10)
    assert change.is_responder is None
    assert "no MCID" in change.note
    assert change.beyond_mdc is None  # no MDC sourced for MIDAS either
    clinic_rule = Threshold(50, "percent", "clinic policy")
    assert change_from_baseline("MIDAS", 30, 10, rule=clinic_rule).is_responder is True  # 66.7 % fall


def test_scores_can_be_passed_directly():
    baseline = score("HIT6", [11] * 6)  # 66 (six "very often")
    current = score("HIT6", [10] * 6)  # 60 (six "sometimes")
    change = change_from_baseline("HIT6", baseline, current)
    assert change.improvement_points == 6
    assert change.is_responder is False  # 6 < 8 (Castien 2012)


def test_bad_input_is_refused():
    with pytest.raises(ChangeError, match="rating of change"):
        change_from_baseline("GROC", 0, 3)
    with pytest.raises(ChangeError, match="outside the scale"):
        change_from_baseline("ODI", 40, 120)
    with pytest.raises(ChangeError, match="not a number"):
        change_from_baseline("ODI", float("nan"), 20)
    with pytest.raises(ChangeError, match="is a NDI score"):
        change_from_baseline("ODI", score("NDI", [1] * 10), 20)
    with pytest.raises(ScoringError, match="unknown instrument"):
        change_from_baseline("VAS", 40, 20)


def test_responder_rules_lists_primary_first():
    rules = responder_rules("NPRS")
    assert (rules[0].value, rules[0].unit) == (2, "points")
    assert any(r.unit == "percent" for r in rules)
    assert responder_rules("MIDAS") == ()


@given(st.integers(0, 100), st.integers(0, 100))
def test_improvement_sign_follows_direction(baseline, current):
    worse_scale = change_from_baseline("ODI", baseline, current)
    assert worse_scale.improvement_points == baseline - current
    assert worse_scale.improved == (current < baseline)
    assert worse_scale.is_responder == (baseline - current >= 10)


def test_a_change_inside_the_mdc_is_never_clinically_important():
    # QuickDASH: MCID 14 lies below the MDC 17.1 (van Kampen 2013); 15 points reaches the MCID, not the MDC
    inside = change_from_baseline("QUICKDASH", 60, 45)
    assert inside.improvement_points == 15 and inside.rule_below_mdc
    assert inside.beyond_mdc is False and inside.is_responder is False
    assert "below the MDC 17.1" in inside.note
    beyond = change_from_baseline("QUICKDASH", 60, 42)
    assert beyond.beyond_mdc is True and beyond.is_responder is True
    # a percent rule reached inside the MDC does not count either (NPRS 3 -> 2 is 33 %, MDC 2)
    from needlepoint.outcomes.scoring import instrument as defn_of

    percent = defn_of("NPRS").mcid_alternatives[0]
    small = change_from_baseline("NPRS", 3, 2, rule=percent)
    assert small.improvement_percent > 30 and small.beyond_mdc is False and small.is_responder is False
    assert not change_from_baseline("NDI", 40, 20).rule_below_mdc  # MCID 14 above the MDC 10
