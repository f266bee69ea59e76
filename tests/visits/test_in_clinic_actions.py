"""The in-clinic safety actions through the real database: the lying first session after fainting (refused
in adding needling and in signing), the patient's position, the clean-technique checklist, and a vasovagal
event's observation and driving advice. Refusals change nothing."""

from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from needlepoint.patients import actions as patient_actions
from needlepoint.patients.consent import current_consent_text
from needlepoint.patients.models import Screening
from needlepoint.patients.screening_rules import Finding, ScreeningResult
from needlepoint.visits import actions
from needlepoint.visits.models import AdverseEvent, NeedlingEntry, Visit, VisitLocked
from tests.conftest import all_no
from tests.visits.visit_helpers import add, entry_input, fresh, open_neck_episode, reconcile

FAINTING = Finding(
    code="fainting_history",
    contraindication="relative",
    scope="patient",
    message="Has fainted with needles or blood before: needle lying down, first session especially.",
    source="WHO 1999 §II.3.3",
)


def screen_with_fainting_history(clinician, patient) -> Screening:
    """A screening whose findings include a history of fainting, acknowledged, and consent recorded.

    Stored as the screening action stores a result (``ScreeningResult`` with ``asdict`` findings), so the test
    does not depend on when the screening form gains the question."""
    result = ScreeningResult("cleared_with_precautions", (FAINTING,))
    screening = Screening.objects.create(
        clinic_id=patient.clinic_id,
        patient=patient,
        answers=all_no() | {"fainting_history": "yes"},
        status=result.status,
        findings=[asdict(f) for f in result.findings],
        screened_by=clinician,
    )
    patient_actions.acknowledge_precautions(clinician, screening, "Needle lying down; watch for pallor.")
    patient_actions.record_consent(clinician, patient, patient.full_name, current_consent_text(patient.clinic).version)
    return screening


@pytest.fixture
def fainter_visit(clinician, patient):
    screen_with_fainting_history(clinician, patient)
    episode = open_neck_episode(clinician, patient)
    return actions.start_visit(clinician, episode, {"started_at": timezone.now() - timedelta(minutes=5)})


def position(clinician, visit, *codes: str) -> Visit:
    actions.record_patient_position(clinician, visit.pk, list(codes), fresh(visit).version)
    return fresh(visit)


def test_the_first_session_of_a_patient_who_fainted_is_refused_until_recorded_lying(clinician, fainter_visit) -> None:
    version = fresh(fainter_visit).version
    with pytest.raises(ValidationError) as caught:
        actions.add_needling_entry(clinician, fainter_visit.pk, entry_input(), version)
    assert "has fainted before" in str(caught.value) and "first needling session" in str(caught.value)
    assert "patient_positions" in caught.value.error_dict
    assert not NeedlingEntry.objects.exists() and fresh(fainter_visit).version == version

    seated = position(clinician, fainter_visit, "seated")
    with pytest.raises(ValidationError, match="now: sitting, supported"):
        actions.add_needling_entry(clinician, fainter_visit.pk, entry_input(), seated.version)
    assert not NeedlingEntry.objects.exists()

    lying = position(clinician, fainter_visit, "prone")
    add(clinician, lying)
    assert NeedlingEntry.objects.count() == 1


def test_a_needled_first_session_cannot_be_moved_off_lying(clinician, fainter_visit) -> None:
    visit = add(clinician, position(clinician, fainter_visit, "supine"))
    with pytest.raises(ValidationError, match="has fainted before"):
        actions.record_patient_position(clinician, visit.pk, ["seated"], visit.version)
    assert fresh(visit).patient_positions == ["supine"] and fresh(visit).version == visit.version


def test_signing_checks_the_first_session_again(clinician, fainter_visit) -> None:
    visit = reconcile(clinician, add(clinician, position(clinician, fainter_visit, "prone")))
    # A row changed outside the actions (an import, a script): signing still refuses it.
    Visit.objects.filter(pk=visit.pk).update(patient_positions=["seated"])
    with pytest.raises(ValidationError, match="has fainted before"):
        actions.sign_visit(clinician, visit.pk, visit.version)
    assert fresh(visit).signed_at is None

    Visit.objects.filter(pk=visit.pk).update(patient_positions=["prone"])
    signed = actions.sign_visit(clinician, visit.pk, visit.version)
    assert "Patient position: lying face down (prone)." in signed.note_text


def test_only_the_first_needled_session_must_be_lying(clinician, fainter_visit) -> None:
    first = reconcile(clinician, add(clinician, position(clinician, fainter_visit, "prone")))
    actions.sign_visit(clinician, first.pk, first.version)
    second = actions.start_visit(clinician, first.episode, {"started_at": timezone.now()})

    stored = add(clinician, position(clinician, second, "seated"))

    assert stored.needles_inserted == 2


def test_a_patient_without_a_fainting_history_may_be_needled_seated_at_the_first_session(clinician, visit) -> None:
    stored = add(clinician, position(clinician, visit, "seated"))
    assert stored.needles_inserted == 2


def test_a_session_after_earlier_needling_is_not_the_first_even_after_a_new_fainting_history(
    clinician, patient
) -> None:
    # Needled before the fainting was reported; the next visit is then the first after the new screening
    # but not the first needled one, so it is not refused: the rule is about the first needling session.
    from tests.conftest import clear_for_needling

    clear_for_needling(clinician, patient)
    episode = open_neck_episode(clinician, patient, days_ago=1)  # the earlier visit may fall on yesterday
    earlier = actions.start_visit(clinician, episode, {"started_at": timezone.now() - timedelta(hours=2)})
    add(clinician, earlier)
    screen_with_fainting_history(clinician, patient)
    later = actions.start_visit(clinician, episode, {"started_at": timezone.now()})
    copied = actions.copy_previous_needling(clinician, later.pk, later.version)
    assert len(copied) == 1


def test_bad_positions_are_refused_and_nothing_changes(clinician, visit) -> None:
    version = fresh(visit).version
    for bad in (["standing"], []):
        with pytest.raises(ValidationError) as caught:
            actions.record_patient_position(clinician, visit.pk, bad, version)
        assert "patient_positions" in caught.value.error_dict
    with pytest.raises(ValidationError, match="Someone else changed this visit"):
        actions.record_patient_position(clinician, visit.pk, ["prone"], version - 1)
    assert fresh(visit).patient_positions == [] and fresh(visit).version == version


def test_the_clean_technique_checklist_is_one_click_and_printed_on_the_signed_note(clinician, colleague, visit) -> None:
    stored = add(clinician, visit)
    done = actions.record_clean_technique(clinician, visit.pk, gloves_worn=True, expected_version=stored.version)
    assert done.clean_technique == {
        "items": ["hand_hygiene", "skin_clean", "gloves", "single_use_needles", "sharps_disposal"],
        "gloves_worn": True,
    }
    assert done.clean_technique_by == clinician and done.clean_technique_at is not None

    signed = actions.sign_visit(clinician, visit.pk, reconcile(clinician, visit).version)

    assert "Clean technique: hand hygiene before needling; skin at the needling sites clean; gloves worn;" in (
        signed.note_text
    )
    assert "(confirmed by Alice (Physical therapist, licence PT-1)" in signed.note_text
    with pytest.raises(VisitLocked):
        actions.record_clean_technique(colleague, visit.pk, gloves_worn=False, expected_version=signed.version)
    assert fresh(visit).clean_technique["gloves_worn"] is True


def test_a_partial_checklist_names_what_was_not_confirmed_and_bad_items_change_nothing(clinician, visit) -> None:
    stored = add(clinician, visit)
    for bad in (["hand_hygiene", "mask"], []):
        with pytest.raises(ValidationError) as caught:
            actions.record_clean_technique(
                clinician, visit.pk, items=bad, gloves_worn=True, expected_version=stored.version
            )
        assert "clean_technique" in caught.value.error_dict
    assert fresh(visit).clean_technique == {} and fresh(visit).version == stored.version

    actions.record_clean_technique(
        clinician,
        visit.pk,
        items=["hand_hygiene", "single_use_needles"],
        gloves_worn=False,
        expected_version=stored.version,
    )
    signed = actions.sign_visit(clinician, visit.pk, reconcile(clinician, visit).version)
    assert "no gloves used" in signed.note_text
    assert "NOT CONFIRMED: used needles straight into the sharps container" in signed.note_text


def test_a_needled_visit_without_the_checklist_says_so_on_the_note(clinician, visit) -> None:
    stored = reconcile(clinician, add(clinician, visit))
    signed = actions.sign_visit(clinician, visit.pk, stored.version)
    assert "Clean technique: checklist not recorded." in signed.note_text
    assert "Patient position: not recorded." in signed.note_text


def vasovagal(**change):
    return {
        "event_type": "vasovagal",
        "severity": "mild",
        "description": "Pale and light-headed after the second needle.",
        "onset_at": timezone.now(),
        "action_taken": "Needles out, lay flat with legs raised.",
        "outcome": "resolved",
        "follow_up_due": None,
        "observed_minutes": 20,
        "driving_advice_given": True,
    } | change


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"observed_minutes": None}, "observed_minutes"),
        ({"observed_minutes": 0}, "observed_minutes"),
        ({"observed_minutes": 500}, "observed_minutes"),
        ({"driving_advice_given": False}, "driving_advice_given"),
        ({"event_type": "bruising"}, "observed_minutes"),
    ],
)
def test_a_fainting_event_without_its_after_care_is_refused_and_nothing_stored(clinician, visit, change, field) -> None:
    with pytest.raises(ValidationError) as caught:
        actions.record_adverse_event(clinician, visit.pk, vasovagal(**change))
    assert field in caught.value.error_dict
    assert not AdverseEvent.objects.exists()


def test_a_fainting_event_records_the_observation_and_advice_and_the_note_prints_them(clinician, visit) -> None:
    stored = add(clinician, visit)
    event = actions.record_adverse_event(clinician, visit.pk, vasovagal())
    assert (event.observed_minutes, event.driving_advice_given) == (20, True)
    assert event.after_care == "Observed 20 min after recovery. Advised: No driving until fully recovered."

    signed = actions.sign_visit(clinician, visit.pk, reconcile(clinician, stored).version)

    assert "Observed 20 min after recovery. Advised: No driving until fully recovered." in signed.note_text


def test_the_database_refuses_observation_minutes_on_another_event_type(clinician, visit) -> None:
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        AdverseEvent.objects.create(
            clinic_id=visit.clinic_id,
            patient_id=visit.patient_id,
            visit=visit,
            event_type="bruising",
            severity="mild",
            onset_at=timezone.now(),
            action_taken="Pressure",
            outcome="resolved",
            observed_minutes=10,
            recorded_by=clinician,
            closed_at=timezone.now(),
        )
