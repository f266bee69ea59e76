"""A simulated clinic in which needling does nothing: classing episodes by needling at any visit invents a
difference (immortal time), the report's cohorts, fixed at the first visit, do not.

Each simulated episode has weekly visits. At each visit the patient reaches their goals (discharged, 15%) or stops
coming (10%) or carries on; pain falls by the same amount each week whatever the care. Needling starts at the first
visit for half the episodes and, for the others, at any later visit with a chance of 30%. Needling changes nothing.

An episode needled at a later visit had to stay in care until then, so "needled at any visit" gathers the long
episodes: their pain had more weeks to fall (a spurious benefit of needling on pain), and they were not discharged
in the weeks before their first needling (a spurious slowing of recovery, since discharge is the good outcome here).
"""

from __future__ import annotations

import math
import random
from datetime import date

import pytest

from needlepoint.insights.filters import parse_filters
from needlepoint.insights.report import claims_report
from needlepoint.outcomes.models import Observation
from needlepoint.patients.models import Episode, Patient
from needlepoint.visits.models import Visit
from tests.insights.evidence_data import facts, moment
from tests.insights.lifelines_survival import hazard_ratio

EPISODES = 400
AS_OF = date(2027, 12, 31)


def simulate(clinic, clinician, seed: int = 7) -> None:
    """Write the simulated episodes straight to the database (bulk inserts: a few thousand rows)."""
    rng = random.Random(seed)
    patients = Patient.objects.bulk_create(
        Patient(clinic=clinic, mrn=f"SIM-{n:05d}", given_name="Sim", family_name=f"Patient {n}",
                date_of_birth=date(1970, 1, 1))
        for n in range(EPISODES)
    )  # fmt: skip
    plans, episodes = [], []
    for patient in patients:
        opened = rng.randrange(0, 300)
        weeks, reason, needled_from = 0, "", 0 if rng.random() < 0.5 else None
        while reason == "" and weeks < 20:
            if needled_from is None and rng.random() < 0.3:
                needled_from = weeks
            roll = rng.random()
            reason = "goals_met" if roll < 0.15 else "plateau" if roll < 0.25 else ""
            weeks += 1
        baseline = rng.randint(5, 9)
        plans.append((opened, weeks, needled_from, baseline))
        episodes.append(
            Episode(
                clinic=clinic, patient=patient, condition="neck_pain", icd10_code="M54.2", side="central",
                onset_date=date(2024, 12, 1), opened_by=clinician, opened_at=moment(opened),
                status="discharged" if reason else "open",
                discharge_date=moment(opened + 7 * (weeks - 1)).date() if reason else None, discharge_reason=reason,
            )
        )  # fmt: skip
    Episode.objects.bulk_create(episodes)
    visits, observations = [], []
    for ep, (opened, weeks, needled_from, baseline) in zip(episodes, plans, strict=True):
        pain = float(baseline)
        for week in range(weeks):
            needles = 1 if needled_from is not None and week >= needled_from else 0
            before = max(0, min(10, round(pain + rng.gauss(0, 0.7))))
            visits.append(
                Visit(
                    clinic=clinic, patient=ep.patient, episode=ep, clinician=clinician,
                    started_at=moment(opened + 7 * week), pain_before=baseline if week == 0 else before,
                    pain_after=max(0, before - 1), needles_opened=needles, needles_inserted=needles,
                    needles_removed=needles, needles_in_sharps=needles,
                )
            )  # fmt: skip
            pain -= 0.6  # the natural course, the same with or without needling
        final = max(0, min(10, round(pain + rng.gauss(0, 0.7))))
        for day, value, point in ((opened, baseline, "baseline"), (opened + 7 * weeks, final, "discharge")):
            observations.append(
                Observation(
                    clinic=clinic, patient=ep.patient, episode=ep, instrument="NPRS", value=value, unit="points",
                    observed_on=moment(day).date(), observed_at=moment(day), time_point=point, source="clinician",
                    recorded_by=clinician,
                )
            )  # fmt: skip
    Visit.objects.bulk_create(visits)
    Observation.objects.bulk_create(observations)


def difference(first: list[float], second: list[float]) -> tuple[float, float, float]:
    """Mean of ``first`` minus mean of ``second`` with a 95% (Welch, normal) interval."""

    def mean_var(values: list[float]) -> tuple[float, float]:
        mean = sum(values) / len(values)
        return mean, sum((value - mean) ** 2 for value in values) / (len(values) - 1) / len(values)

    (m1, v1), (m2, v2) = mean_var(first), mean_var(second)
    half = 1.96 * math.sqrt(v1 + v2)
    return m1 - m2, m1 - m2 - half, m1 - m2 + half


@pytest.fixture
def simulated(clinic, clinician):
    simulate(clinic, clinician)
    return clinic


def test_needling_at_any_visit_invents_an_effect_that_cohorts_fixed_at_the_first_visit_do_not(simulated):
    episodes = facts(simulated, AS_OF)
    later = sum(ep.needled_any_visit and not ep.needled for ep in episodes)
    assert later > 50  # many episodes were first needled after their first visit

    # The naive classification: needled at any visit.
    def change(group):
        return [ep.pairs["NPRS"][1] - ep.pairs["NPRS"][0] for ep in group]

    naive_needled = [ep for ep in episodes if ep.needled_any_visit]
    naive_other = [ep for ep in episodes if not ep.needled_any_visit]
    *_, high = difference(change(naive_needled), change(naive_other))
    assert high < -0.5  # a "benefit": pain fell more in the needled group, only because it stayed in care longer
    naive_ratio = hazard_ratio(
        [(ep.days, ep.goals_met) for ep in naive_needled], [(ep.days, ep.goals_met) for ep in naive_other]
    )
    assert naive_ratio.high < 0.8  # and a spurious difference in time to discharge (slower: immortal time)

    # The report's analysis: cohorts fixed at the first visit.
    report = claims_report(simulated, *parse_filters(simulated.pk, {}), as_of=AS_OF)
    rows = {row.cohort: row for row in report.measures if row.instrument == "NPRS"}
    assert rows["needled"].change.n + rows["not needled"].change.n == EPISODES
    needled, other = rows["needled"].change, rows["not needled"].change
    spread = 1.96 * math.hypot((needled.high - needled.value) / 1.96, (other.high - other.value) / 1.96)
    assert abs(needled.value - other.value) < spread  # no difference in pain change
    (recovery,) = report.recovery
    ratio = recovery.comparison.hazard_ratio
    assert ratio.low < 1 < ratio.high  # no difference in time to discharge
    assert report.verdicts[0].recovery.status != "consistent"
    assert (
        "first visit" in report.verdicts[0].recovery.definition and "[S234]" in report.verdicts[0].recovery.definition
    )
