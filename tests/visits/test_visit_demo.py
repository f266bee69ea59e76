"""The demo clinic's visits: needling, signed notes, addenda, adverse events near the published rates and
one needle unaccounted for, all consistent with the rules the actions enforce."""

from __future__ import annotations

import pytest

from needlepoint.demo import build_demo
from needlepoint.visits import accountability
from needlepoint.visits.models import Addendum, AdverseEvent, NeedlingEntry, Visit
from needlepoint.visits.summary import incident_of, reconciliation_of
from tests.conftest import built_once


@pytest.fixture(scope="module")
def built_demo(django_db_setup, django_db_blocker):
    """The 400-patient demo clinic, built once for this module's tests (each undoes what it writes)."""
    yield from built_once(django_db_blocker, lambda: build_demo(patients=400, seed=7))


@pytest.fixture
def demo(built_demo, db):
    return built_demo


def test_the_demo_has_signed_visits_with_needling_and_addenda(demo) -> None:
    visits = Visit.objects.filter(clinic=demo.clinic)
    assert visits.count() > 600 and NeedlingEntry.objects.count() > visits.count()
    signed = visits.filter(signed_at__isnull=False)
    assert signed.count() > 0.8 * visits.count()
    assert not signed.filter(note_text="").exists() and not signed.filter(needles_inserted__gt=0, cpt_code="").exists()
    assert set(signed.values_list("cpt_code", flat=True)) == {"20560", "20561"}
    assert visits.filter(signed_at__isnull=True).exists() and Addendum.objects.exists()
    assert demo.summary["visits"] == visits.count()


def test_every_signed_demo_visit_could_be_signed_by_the_rules(demo) -> None:
    for visit in Visit.objects.filter(signed_at__isnull=False).prefetch_related("adverse_events"):
        allowed, message = accountability.can_sign(reconciliation_of(visit), incident_of(visit))
        assert allowed, (visit.pk, message)


def test_adverse_events_come_at_about_brady_rates_with_one_unaccounted_needle(demo) -> None:
    needled = Visit.objects.filter(needles_inserted__gt=0).count()
    events = AdverseEvent.objects.filter(needles_unaccounted__isnull=True)
    rate = events.count() / needled
    assert 0.13 < rate < 0.26, rate
    assert set(events.values_list("severity", flat=True)) == {"mild"}
    assert events.filter(event_type="bruising").count() > events.filter(event_type="headache").count()
    incidents = AdverseEvent.objects.filter(needles_unaccounted__isnull=False)
    assert incidents.count() == 1 and incidents.get().follow_ups.count() == 1
    assert "Needle unaccounted for" in incidents.get().visit.note_text


def test_demo_visits_record_position_checklist_one_fainting_and_one_needle_stick(demo) -> None:
    from needlepoint.visits.clinic_safety import all_checklist_codes, all_lying
    from needlepoint.visits.models import NeedleStickIncident

    needled = Visit.objects.filter(needles_inserted__gt=0)
    assert all(all_lying(v.patient_positions) for v in needled.only("patient_positions"))
    used = {code for positions in needled.values_list("patient_positions", flat=True) for code in positions}
    assert used == {"supine", "prone", "side_lying"}
    assert not needled.filter(clean_technique_at__isnull=True).exists()
    assert all(v.clean_technique["items"] == all_checklist_codes() for v in needled.only("clean_technique"))
    signed = needled.filter(signed_at__isnull=False).first()
    assert "Clean technique: hand hygiene before needling" in signed.note_text
    assert "Patient position: lying" in signed.note_text

    fainting = AdverseEvent.objects.get(event_type="vasovagal")
    assert (fainting.observed_minutes, fainting.driving_advice_given) == (20, True)
    if fainting.visit.signed_at is not None:
        assert "Observed 20 min after recovery. Advised: No driving" in fainting.visit.note_text

    incident = NeedleStickIncident.objects.get()
    assert incident.source_consent == "consented" and incident.steps_missing() == []
    assert incident.source_patient_id == incident.source_visit.patient_id and incident.is_open
    assert demo.summary["needle_stick_incidents"] == 1
