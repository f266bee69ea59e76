"""The synthetic clinic group: realistic shape, published adverse-event rates, every reference valid, the same
data for the same seed, and a clear refusal instead of a half-written run."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest
from django.apps import apps
from django.db import transaction

from needlepoint.accounts.models import Clinic, Membership
from needlepoint.insights.synthetic import (
    MILD_EVENTS,
    NOT_NEEDLED_INTERVENTIONS,
    SyntheticError,
    generate,
)
from needlepoint.outcomes.models import Observation, RomMeasurement
from needlepoint.patients.conditions import conditions
from needlepoint.patients.models import Episode, Patient
from needlepoint.visits.adverse_events import adverse_event_types, severities
from needlepoint.visits.models import AdverseEvent, NeedlingEntry, Visit

END = date(2026, 6, 30)
GENERATED = (Patient, Episode, Visit, NeedlingEntry, Observation, RomMeasurement, AdverseEvent)


@pytest.fixture
def summary(db):
    return generate(2, 400, seed=7, end_date=END)


def test_clinics_clinicians_and_episodes_are_made(summary):
    assert summary.clinics == ["synth-s7-1", "synth-s7-2"]
    clinics = Clinic.objects.filter(slug__in=summary.clinics)
    assert Episode.objects.filter(clinic__in=clinics).count() == 400
    for clinic in clinics:
        assert 3 <= Membership.objects.filter(clinic=clinic, role="clinician").count() <= 8
        assert Membership.objects.filter(clinic=clinic, role="clinic_admin").exists()
    assert summary.rows["episodes"] == 400 and summary.rows["visits"] == Visit.objects.count()
    assert set(Episode.objects.values_list("condition", flat=True)) <= set(conditions())


def test_episodes_have_three_to_eight_visits_unless_still_open(summary):
    per_episode = Counter(Visit.objects.values_list("episode_id", flat=True))
    for episode in Episode.objects.all():
        visits = per_episode[episode.pk]
        if episode.status == "discharged":
            assert 3 <= visits <= 8
        else:
            assert 1 <= visits <= 8  # still open at the end date: the rest of the course lies in the future


def test_a_comparison_cohort_is_treated_without_needling(summary):
    needled = set(Visit.objects.filter(needles_inserted__gt=0).values_list("episode_id", flat=True))
    episodes = Episode.objects.count()
    assert 0.6 < len(needled) / episodes < 0.9
    for visit in Visit.objects.exclude(episode_id__in=needled)[:50]:
        assert visit.interventions == NOT_NEEDLED_INTERVENTIONS and visit.cpt_code == ""
    # Needle counts reconcile on every needled visit, and the CPT code follows the number of muscles.
    for visit in Visit.objects.filter(needles_inserted__gt=0)[:200]:
        entries = list(visit.needling_entries.all())
        assert visit.needles_inserted == sum(entry.needles for entry in entries) == visit.needles_removed
        assert visit.cpt_code == ("20560" if len({entry.muscle_id for entry in entries}) <= 2 else "20561")
        assert visit.signed_at is not None


def test_adverse_events_use_the_catalogue_and_come_at_about_the_published_rate(db):
    generate(1, 3000, seed=11, end_date=END)
    types = {kind.code for kind in adverse_event_types()}
    grades = {grade.code for grade in severities()}
    events = list(AdverseEvent.objects.values_list("event_type", "severity"))
    assert {kind for kind, _ in events} <= types and {grade for _, grade in events} <= grades
    needled_visits = Visit.objects.filter(needles_inserted__gt=0).count()
    mild = sum(grade == "mild" for _, grade in events) / needled_visits
    # Brady 2014: 19.2% of treatments; a binomial 99.9% band around it for this many visits.
    expected = sum(MILD_EVENTS.values())
    band = 3.3 * (expected * (1 - expected) / needled_visits) ** 0.5
    assert abs(mild - expected) < band
    assert not AdverseEvent.objects.filter(visit__needles_inserted=0).exists()


def test_outcomes_cover_baseline_and_discharge_with_missing_follow_up(summary):
    baseline = Observation.objects.filter(instrument="NPRS", time_point="baseline").count()
    discharge = Observation.objects.filter(instrument="NPRS", time_point="discharge").count()
    assert 0.5 * baseline < discharge < baseline  # some episodes are open or self-discharged: no final value
    assert RomMeasurement.objects.filter(time_point="baseline").exists()
    assert not Observation.objects.filter(value__lt=0).exists()
    assert Episode.objects.filter(discharge_reason="goals_met").exists()
    assert Episode.objects.filter(status="open").exists()


def test_every_reference_points_at_an_existing_row(summary):
    # On PostgreSQL the generator may skip per-row foreign-key checks for speed, so check each reference here.
    for model in GENERATED:
        for field in model._meta.concrete_fields:
            if not field.is_relation:
                continue
            target = field.related_model
            values = set(
                model.objects.exclude(**{f"{field.attname}__isnull": True}).values_list(field.attname, flat=True)
            )
            existing = set(target.objects.filter(pk__in=values).values_list("pk", flat=True))
            assert values == existing, f"{model._meta.label}.{field.name} points at missing rows"


def _content(slug: str) -> list[tuple]:
    clinic = Clinic.objects.get(slug=slug)
    episodes = Episode.objects.filter(clinic=clinic).select_related("patient").order_by("pk")
    return (
        [(e.condition, e.side, e.status, e.discharge_reason, e.opened_at, e.discharge_date, e.patient.family_name)
         for e in episodes]
        + [(v.started_at, v.pain_before, v.pain_after, v.needles_inserted, v.cpt_code)
           for v in Visit.objects.filter(clinic=clinic).order_by("pk")]
        + [(o.instrument, o.value, o.time_point) for o in Observation.objects.filter(clinic=clinic).order_by("pk")]
        + [(a.event_type, a.severity) for a in AdverseEvent.objects.filter(clinic=clinic).order_by("pk")]
    )  # fmt: skip


def test_the_same_seed_and_end_date_give_the_same_data(db):
    with transaction.atomic():
        generate(1, 150, seed=5, end_date=END)
        first = _content("synth-s5-1")
        transaction.set_rollback(True)
    generate(1, 150, seed=6, end_date=END)  # other data in the database first: ids move, content must not
    generate(1, 150, seed=5, end_date=END)
    assert _content("synth-s5-1") == first
    assert _content("synth-s6-1") != first


def test_a_second_run_with_the_same_seed_is_refused_and_writes_nothing(summary):
    counts = {model: model.objects.count() for model in GENERATED}
    with pytest.raises(SyntheticError, match="already exist"):
        generate(2, 400, seed=7, end_date=END)
    assert {model: model.objects.count() for model in GENERATED} == counts


@pytest.mark.parametrize(("clinics", "episodes", "share"), [(0, 10, 0.75), (3, 2, 0.75), (1, 10, 1.5), (51, 100, 0.75)])
def test_impossible_sizes_are_refused(db, clinics, episodes, share):
    with pytest.raises(SyntheticError):
        generate(clinics, episodes, seed=1, end_date=END, needled_share=share)
    assert not Clinic.objects.exists()


def test_generator_covers_every_model_it_writes():
    # A field added to one of these models later must get a default or be written by the generator.
    from needlepoint.insights.synthetic import COLUMNS

    for model in COLUMNS:
        assert apps.get_model(model._meta.label) is model
