"""The safety warnings enforced in the write actions, at entry and again at signing: each warning needs a
reason to proceed, refusals cannot be acknowledged away, acknowledgements are on the note."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from needlepoint.patients import actions as patient_actions
from needlepoint.patients.models import Screening
from needlepoint.visits import actions
from needlepoint.visits.models import NeedlingEntry
from tests.visits.visit_helpers import add, clear_with, entry, fresh, open_neck_episode, reconcile


def pending_codes(caught: pytest.ExceptionInfo) -> list[str]:
    return [w.code for w in caught.value.warnings]


def pending_keys(caught: pytest.ExceptionInfo) -> dict[str, str]:
    from needlepoint.visits.safety import warning_key

    return {warning_key(w): "Reason given" for w in caught.value.warnings}


# (entry changes, screening answers) -> the warning code the action asks to acknowledge
MATRIX = {
    "ptx_depth": ({"muscle": "rhomboids", "trigger_point": "", "length_mm": "25"}, {}),
    "ptx_unverified_depth": ({"muscle": "serratus-anterior", "trigger_point": "", "length_mm": "15"}, {}),
    "nerve_vessel": ({"muscle": "piriformis", "trigger_point": "lateral"}, {}),
    "organ": ({"muscle": "quadratus-lumborum", "trigger_point": "", "length_mm": "50"}, {}),
    "bleeding_risk": ({}, {"anticoagulants": "yes", "anticoagulant_medication": "apixaban"}),
    "lymphoedema_side": ({"side": "right"}, {"lymphoedema": "yes", "lymphoedema_side": "right"}),
}


@pytest.mark.parametrize("code", sorted(MATRIX))
def test_each_warning_blocks_the_entry_until_acknowledged(clinician, patient, code) -> None:
    change, answers = MATRIX[code]
    if code == "organ":
        change = change | {"trigger_point": _first_point("quadratus-lumborum")}
    clear_with(clinician, patient, **answers)
    visit = actions.start_visit(clinician, open_neck_episode(clinician, patient), {})
    with pytest.raises(actions.WarningsNeedAcknowledgement) as caught:
        actions.add_needling_entry(clinician, visit.pk, entry(**change), visit.version)
    assert code in pending_codes(caught)
    assert not NeedlingEntry.objects.exists()
    with pytest.raises(actions.WarningsNeedAcknowledgement):
        blank = dict.fromkeys(pending_keys(caught), "   ")
        actions.add_needling_entry(clinician, visit.pk, entry(**change), visit.version, blank)
    actions.add_needling_entry(clinician, visit.pk, entry(**change), visit.version, pending_keys(caught))
    stored = fresh(visit)
    assert set(stored.acknowledgements) == set(pending_keys(caught))
    assert all(a["reason"] == "Reason given" and a["by"] == clinician.pk for a in stored.acknowledgements.values())


def _first_point(muscle_id: str) -> str:
    from needlepoint.visits.muscles import needling_muscles

    points = needling_muscles()[muscle_id].trigger_points
    return points[0][0] if len(points) > 1 else ""


def test_a_short_needle_over_the_rhomboids_is_not_warned(clinician, visit) -> None:
    stored = add(clinician, visit, muscle="rhomboids", trigger_point="", length_mm="15")
    assert stored.needles_inserted == 2 and stored.acknowledgements == {}


def test_both_sides_of_the_thorax_in_one_visit_is_warned(clinician, visit) -> None:
    stored = add(clinician, visit, muscle="rhomboids", trigger_point="", side="left", length_mm="15")
    with pytest.raises(actions.WarningsNeedAcknowledgement) as caught:
        actions.add_needling_entry(
            clinician,
            visit.pk,
            entry(muscle="rhomboids", trigger_point="", side="right", length_mm="15"),
            stored.version,
        )
    assert pending_codes(caught) == ["bilateral_thorax"]


def test_lymphoedema_on_the_other_side_is_not_warned(clinician, patient) -> None:
    clear_with(clinician, patient, lymphoedema="yes", lymphoedema_side="left")
    visit = actions.start_visit(clinician, open_neck_episode(clinician, patient), {})
    actions.add_needling_entry(clinician, visit.pk, entry(side="right"), visit.version)
    assert fresh(visit).acknowledgements == {}


def test_electrical_stimulation_with_an_implanted_device_is_refused_and_cannot_be_acknowledged(
    clinician, patient
) -> None:
    clear_with(clinician, patient, implanted_device="yes", implanted_device_type="pacemaker")
    visit = actions.start_visit(clinician, open_neck_episode(clinician, patient), {})
    estim = entry(technique="electrical_stimulation", minutes_left_in=15)
    with pytest.raises(ValidationError) as caught:
        actions.add_needling_entry(
            clinician, visit.pk, estim, visit.version, {"estim_implanted_device:infraspinatus:right": "I insist"}
        )
    assert not isinstance(caught.value, actions.WarningsNeedAcknowledgement)
    assert "Needling refused" in caught.value.messages[0]
    assert not NeedlingEntry.objects.exists()


def test_an_absolute_contraindication_is_refused(clinician, patient) -> None:
    patient_actions.record_screening(clinician, patient, _all_no() | {"needle_phobia": "yes"})
    from needlepoint.patients.consent import current_consent_text

    patient_actions.record_consent(clinician, patient, patient.full_name, current_consent_text(patient.clinic).version)
    visit = actions.start_visit(clinician, open_neck_episode(clinician, patient), {})
    with pytest.raises(ValidationError, match="did not clear"):
        actions.add_needling_entry(clinician, visit.pk, entry(), visit.version)


def _all_no() -> dict[str, str]:
    from tests.conftest import all_no

    return all_no()


def test_warnings_are_checked_again_at_signing(clinician, visit, cleared_patient) -> None:
    stored = reconcile(clinician, add(clinician, visit))
    # A new screening after the needling records anticoagulants: signing asks for the bleeding warning.
    clear_with(clinician, cleared_patient, anticoagulants="yes", anticoagulant_medication="warfarin")
    NeedlingEntry.objects.filter(visit=visit).update(recorded_at=Screening.objects.latest("screened_at").screened_at)
    with pytest.raises(actions.WarningsNeedAcknowledgement) as caught:
        actions.sign_visit(clinician, visit.pk, stored.version)
    assert pending_codes(caught) == ["bleeding_risk"]
    assert fresh(visit).signed_at is None
    signed = actions.sign_visit(clinician, visit.pk, stored.version, {"bleeding_risk:-:-": "INR checked: 2.1"})
    assert "Safety warnings acknowledged:" in signed.note_text and "INR checked: 2.1" in signed.note_text


def test_acknowledgements_are_on_the_signed_note(clinician, visit) -> None:
    key = "nerve_vessel:piriformis:right"
    stored = add(
        clinician,
        visit,
        {key: "Needle directed away from the sciatic nerve"},
        muscle="piriformis",
        trigger_point="lateral",
    )
    stored = reconcile(clinician, stored)
    signed = actions.sign_visit(clinician, visit.pk, stored.version)
    assert "Needle directed away from the sciatic nerve" in signed.note_text
    assert "sciatic nerve" in signed.note_text.lower()
