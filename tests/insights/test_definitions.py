"""The report's definitions on hand-made edge cases: which score is the baseline and which the final value, how
missing pain is counted, what a ROM series is, and how the filters read their parameters."""

from __future__ import annotations

from datetime import date

import pytest

from needlepoint.insights.filters import FilterError, parse_filters
from needlepoint.insights.report import claims_report
from needlepoint.insights.responders import MissingPolicy
from needlepoint.patients.models import Episode
from tests.insights.evidence_data import episode, observation, rom, visit

AS_OF = date(2025, 12, 31)


def report(clinic, **params):
    return claims_report(clinic, *parse_filters(clinic.pk, params), as_of=AS_OF)


def nprs(result):
    return next(row for row in result.measures if row.instrument == "NPRS")


def test_the_first_score_is_the_baseline_only_if_taken_as_one(clinic, clinician):
    normal = episode(clinic, clinician)
    observation(normal, clinician, "NPRS", 8, 0, "baseline")
    observation(normal, clinician, "NPRS", 6, 10, "reassessment")
    observation(normal, clinician, "NPRS", 3, 20, "discharge")
    late_baseline = episode(clinic, clinician)
    observation(late_baseline, clinician, "NPRS", 5, 0, "reassessment")
    observation(late_baseline, clinician, "NPRS", 9, 3, "baseline")
    two_baselines = episode(clinic, clinician)
    observation(two_baselines, clinician, "NPRS", 7, 0, "baseline")
    observation(two_baselines, clinician, "NPRS", 4, 1, "baseline")
    row = nprs(report(clinic))
    # The second episode's first score is a re-assessment, so it has no baseline; the third has no follow-up.
    assert (row.with_baseline, row.completers) == (2, 1)
    assert row.baseline.value == pytest.approx(7.5)
    assert row.change.n == 1 and not row.change.enough_data  # one completer: no interval, and it says so
    assert (row.responders.successes, row.responders.n) == (1, 2)


def test_relief_is_pain_before_visits_2_and_3_against_baseline_each_time_point_on_its_own(clinic, clinician):
    needling = [("upper-trapezius", "static")]
    immediate_only = episode(clinic, clinician)  # 7 -> 3 in the session, but back to 7 and 6 on later days
    visit(immediate_only, clinician, 0, 7, 3, needling)
    visit(immediate_only, clinician, 4, 7, 5, needling)
    visit(immediate_only, clinician, 8, 6, 4, needling)
    better_at_2_only = episode(clinic, clinician)  # 7 -> 5 before visit 2 (a responder), 6 before visit 3 (not)
    visit(better_at_2_only, clinician, 0, 7, 6, needling)
    visit(better_at_2_only, clinician, 4, 5, 4, needling)
    visit(better_at_2_only, clinician, 8, 6, 5, needling)
    thirty_percent = episode(clinic, clinician)  # 3 -> 2 is 1 point but 33%: a responder by the 30% rule
    visit(thirty_percent, clinician, 0, 3, 3, needling)
    visit(thirty_percent, clinician, 4, 2, 2, needling)
    visit(thirty_percent, clinician, 8, 2, 1, needling)
    one_visit = episode(clinic, clinician)
    visit(one_visit, clinician, 0, 8, 8, needling)
    no_baseline = episode(clinic, clinician)
    visit(no_baseline, clinician, 0, None, 2, needling)
    needled_later = episode(clinic, clinician)  # not needled at the first visit: the other cohort, for good
    visit(needled_later, clinician, 0, 7, 6)
    visit(needled_later, clinician, 4, 2, 2, needling)
    visit(needled_later, clinician, 8, 1, 1, needling)

    itt = next(row for row in report(clinic).relief if row.cohort == "needled")
    assert (itt.episodes, itt.with_baseline) == (5, 4)
    assert (itt.immediate.successes, itt.immediate.n) == (1, 4)
    assert (itt.before_visit_2.successes, itt.before_visit_2.n) == (2, 4)
    # Before visit 3 is the pre-specified figure: the episode better only before visit 2 is not a responder there.
    assert (itt.before_visit_3.successes, itt.before_visit_3.n) == (1, 4)
    assert "1 episode had no pain recorded before visit 1" in itt.missing_note
    later = next(row for row in report(clinic).relief if row.cohort == "not needled")
    assert (later.episodes, later.before_visit_3.successes) == (1, 1)

    completers = next(row for row in report(clinic, missing="completers").relief if row.cohort == "needled")
    assert (completers.before_visit_2.successes, completers.before_visit_2.n) == (2, 3)
    assert (completers.before_visit_3.successes, completers.before_visit_3.n) == (1, 3)

    details = report(clinic).verdicts[0].relief.details
    assert details[0].startswith("Before visit 3, after two treatments (pre-specified): 25% (1 of 4")
    assert details[1].startswith("Before visit 2, after one treatment (reported, not used for the verdict): 50%")
    assert details[2].startswith("Immediate change at the end of visit 1, recorded by the treating clinician")


def test_a_rom_series_needs_two_measurements_to_show_a_gain(clinic, clinician):
    measured_twice = episode(clinic, clinician)
    rom(measured_twice, clinician, 40, 0, "baseline")
    rom(measured_twice, clinician, 45, 5, "reassessment")
    rom(measured_twice, clinician, 62, 9, "discharge")
    measured_once = episode(clinic, clinician)
    rom(measured_once, clinician, 50, 0, "baseline")
    rows = [row for row in report(clinic).rom if row.movement == "rotation"]
    assert len(rows) == 1
    row = rows[0]
    assert (row.episodes, row.completers, row.mdc) == (2, 1, 9.6)
    assert (row.beyond_mdc.successes, row.beyond_mdc.n) == (1, 2)  # 22° gained; the other never re-measured
    assert row.degrees.n == 1 and row.percent_of_normal.n == 1


def test_range_of_motion_is_one_value_per_episode_on_the_treated_side(clinic, clinician):
    left = episode(clinic, clinician)
    Episode.objects.filter(pk=left.pk).update(side="left")
    for side, gain in (("left", 20), ("right", 2)):
        rom(left, clinician, 40, 0, "baseline", side=side)
        rom(left, clinician, 40 + gain, 9, "discharge", side=side)
    both = episode(clinic, clinician)  # a central episode measured on both sides: the mean of the two gains
    for side, gain in (("left", 10), ("right", 6)):
        rom(both, clinician, 40, 0, "baseline", side=side)
        rom(both, clinician, 40 + gain, 9, "discharge", side=side)
    (row,) = [row for row in report(clinic).rom if row.movement == "rotation"]
    assert (row.episodes, row.patients, row.completers) == (2, 2, 2)  # not four "series"
    assert row.degrees.value == pytest.approx((20 + 8) / 2)
    assert (row.beyond_mdc.successes, row.beyond_mdc.n) == (1, 2)  # 20° reaches the 9.6° MDC; 8° does not


def test_parameters_are_read_with_a_message_for_each_bad_one(clinic, clinician):
    filters, options = parse_filters(
        clinic.pk,
        {"condition": "neck_pain", "clinician": "alice", "date_from": "2025-01-01", "rule": "final-at-most:2",
         "missing": "Completers", "min_n": "5", "technique": "static", "muscle": "upper-trapezius"},
    )  # fmt: skip
    assert (filters.condition, filters.clinician_id, filters.date_from) == ("neck_pain", clinician.pk, date(2025, 1, 1))
    assert (options.rule.value, options.missing, options.minimum_n) == (2.0, MissingPolicy.COMPLETERS, 5)
    assert "Upper trapezius" in filters.describe() and "static" in filters.describe()
    with pytest.raises(FilterError) as caught:
        parse_filters(
            clinic.pk,
            {"condition": "knee", "clinician": "nobody", "date_from": "2025-02-01", "date_to": "2025-01-01",
             "muscle": "heart", "technique": "twirl", "rule": "percent:0", "missing": "some", "min_n": "0"},
        )  # fmt: skip
    assert set(caught.value.errors) == {
        "condition",
        "clinician",
        "date_to",
        "muscle",
        "technique",
        "rule",
        "missing",
        "min_n",
    }


def test_a_clinician_of_another_clinic_is_not_a_filter_value(clinic, outsider):
    with pytest.raises(FilterError, match="No clinician"):
        parse_filters(clinic.pk, {"clinician": str(outsider.pk)})


def test_a_patient_with_several_episodes_counts_as_one_cluster_in_the_intervals(clinic, clinician):
    from needlepoint.insights.stats import mean_ci

    gains = [12.0, 20.0, 15.0, 30.0]
    for gain in gains:  # four patients, each with two episodes that gained the same
        first = episode(clinic, clinician, opened=0, discharged=30, reason="goals_met")
        second = Episode.objects.create(
            clinic=clinic, patient=first.patient, condition="neck_pain", icd10_code="M54.2", side="central",
            onset_date=date(2025, 1, 1), opened_by=clinician, opened_at=first.opened_at, status="open",
        )  # fmt: skip
        for ep in (first, second):
            rom(ep, clinician, 40, 0, "baseline")
            rom(ep, clinician, 40 + gain, 9, "discharge")
    (row,) = [row for row in report(clinic).rom if row.movement == "rotation"]
    assert (row.episodes, row.patients) == (8, 4)
    per_patient = mean_ci(4, sum(gains), sum(g * g for g in gains))
    assert (row.degrees.n, row.degrees.value) == (8, pytest.approx(per_patient.value))
    assert (row.degrees.low, row.degrees.high) == pytest.approx((per_patient.low, per_patient.high))
