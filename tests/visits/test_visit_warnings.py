"""The safety checks enforced in the write actions, pages and API, at entry, on copy and again at signing:
each warning needs a precaution (or a real reason), refusals cannot be acknowledged away, reminders and
acknowledgements are printed on the note. Screenings with the newer findings are built directly (the form
that asks for them lands separately)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from needlepoint.accounts.actions import create_api_token
from needlepoint.patients import actions as patient_actions
from needlepoint.patients.consent import current_consent_text
from needlepoint.patients.models import Screening
from needlepoint.patients.screening_rules import Finding
from needlepoint.visits import actions
from needlepoint.visits.models import NeedlingEntry, Visit
from needlepoint.visits.safety import warning_key
from tests.conftest import all_no, client_for
from tests.visits.visit_helpers import add, clear_with, entry, entry_input, fresh, open_neck_episode, reconcile

HX = {"HTTP_HX_REQUEST": "true"}
REAL_REASON = "Needle angled away from the structure at risk"


def pending_codes(caught: pytest.ExceptionInfo) -> list[str]:
    return [w.code for w in caught.value.warnings]


def precaution_for(caught: pytest.ExceptionInfo) -> dict[str, dict[str, Any]]:
    """The one-click acknowledgement: each pending warning's first precaution."""
    return {warning_key(w): {"precautions": [w.precautions[0].code], "note": ""} for w in caught.value.warnings}


def screen_with(clinician: Any, patient: Any, *findings: Finding) -> Screening:
    """A current screening carrying these findings, its precautions acknowledged, and a current consent."""
    screening = patient_actions.record_screening(clinician, patient, all_no())
    Screening.objects.filter(pk=screening.pk).update(
        status=Screening.Status.CLEARED_WITH_PRECAUTIONS,
        findings=[asdict(f) for f in findings],
        precautions_acknowledged_by=clinician,
        precautions_acknowledged_at=timezone.now(),
        precautions_note="Managed with care at each visit.",
    )
    patient_actions.record_consent(clinician, patient, patient.full_name, current_consent_text(patient.clinic).version)
    return screening


def finding(code: str, **details: object) -> Finding:
    return Finding(code, "relative", "site", f"{code} found", "[S12]", details=dict(details))


def start(clinician: Any, patient: Any) -> Visit:
    episode = open_neck_episode(clinician, patient)
    return actions.start_visit(clinician, episode, {"started_at": timezone.now() - timedelta(minutes=5)})


def thin(clinician: Any, patient: Any) -> Visit:
    screen_with(clinician, patient, finding("low_bmi", bmi=17.1))
    return start(clinician, patient)


RHOMBOIDS_15 = {"muscle": "rhomboids", "trigger_point": "", "side": "left", "length_mm": "15"}


# --- warnings at entry -----------------------------------------------------------------------------

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
def test_each_warning_blocks_the_entry_until_a_precaution_is_chosen(clinician, patient, code) -> None:
    change, answers = MATRIX[code]
    if code == "organ":
        change = change | {"trigger_point": _first_point("quadratus-lumborum")}
    clear_with(clinician, patient, **answers)
    visit = actions.start_visit(clinician, open_neck_episode(clinician, patient), {})
    with pytest.raises(actions.WarningsNeedAcknowledgement) as caught:
        actions.add_needling_entry(clinician, visit.pk, entry_input(**change), visit.version)
    assert code in pending_codes(caught)
    assert not NeedlingEntry.objects.exists()
    blank = {key: {"precautions": [], "note": "   "} for key in precaution_for(caught)}
    with pytest.raises(actions.WarningsNeedAcknowledgement):
        actions.add_needling_entry(clinician, visit.pk, entry_input(**change), visit.version, blank)
    actions.add_needling_entry(clinician, visit.pk, entry_input(**change), visit.version, precaution_for(caught))
    stored = fresh(visit).acknowledgements
    assert set(stored) == set(precaution_for(caught))
    for key, ack in stored.items():
        assert ack["code"] == key.split(":")[0] and ack["message"] and ack["by"] == clinician.pk and ack["at"]
        assert len(ack["precautions"]) == 1 and ack["precaution_codes"] and ack["note"] == ""


def _first_point(muscle_id: str) -> str:
    from needlepoint.visits.muscles import needling_muscles

    points = needling_muscles()[muscle_id].trigger_points
    return points[0][0] if len(points) > 1 else ""


def test_a_short_needle_over_the_rhomboids_is_a_reminder_not_a_warning(clinician, visit) -> None:
    stored = reconcile(clinician, add(clinician, visit, **RHOMBOIDS_15))
    assert stored.needles_inserted == 2 and stored.acknowledgements == {}
    signed = actions.sign_visit(clinician, visit.pk, stored.version)
    assert "Safety reminders:\n- Rhomboids (left side): over the thorax, at any needle length:" in signed.note_text
    assert "rib bracketing" in signed.note_text and "Safety warnings acknowledged" not in signed.note_text


def test_a_thin_patient_rhomboid_at_15_mm_warns_and_signs_after_one_precaution(clinician, patient) -> None:
    visit = thin(clinician, patient)
    with pytest.raises(actions.WarningsNeedAcknowledgement) as caught:
        actions.add_needling_entry(clinician, visit.pk, entry_input(**RHOMBOIDS_15), visit.version)
    assert pending_codes(caught) == ["ptx_patient_risk"]
    assert "thin build (BMI 17.1)" in caught.value.warnings[0].message
    one_click = {"ptx_patient_risk:rhomboids:left": {"precautions": ["pincer_grasp"]}}
    actions.add_needling_entry(clinician, visit.pk, entry_input(**RHOMBOIDS_15), visit.version, one_click)
    stored = reconcile(clinician, fresh(visit))
    signed = actions.sign_visit(clinician, visit.pk, stored.version)
    note = signed.note_text
    assert "Safety reminders:" in note and "Safety warnings acknowledged:" in note
    assert "thin build (BMI 17.1)" in note and "Precautions: Pincer grasp: muscle lifted off the chest wall." in note


@pytest.mark.parametrize("code", ["copd_emphysema", "previous_pneumothorax"])
def test_lung_disease_warns_over_the_thorax_at_13_mm(clinician, patient, code) -> None:
    screen_with(clinician, patient, finding(code))
    visit = start(clinician, patient)
    with pytest.raises(actions.WarningsNeedAcknowledgement) as caught:
        actions.add_needling_entry(
            clinician, visit.pk, entry_input(**RHOMBOIDS_15 | {"length_mm": "13"}), visit.version
        )
    assert pending_codes(caught) == ["ptx_patient_risk"]
    add(clinician, visit, acknowledgements=None)  # infraspinatus, away from the thorax: nothing to acknowledge


def test_the_issue_case_a_reason_of_x_is_refused_and_nothing_stored(clinician, patient) -> None:
    visit = thin(clinician, patient)
    with pytest.raises(actions.WarningsNeedAcknowledgement) as caught:
        actions.add_needling_entry(
            clinician, visit.pk, entry_input(**RHOMBOIDS_15), visit.version, {"ptx_patient_risk:rhomboids:left": "x"}
        )
    assert "real sentence" in caught.value.problems["ptx_patient_risk:rhomboids:left"]
    assert any("not 'x'" in m for m in caught.value.messages)
    assert not NeedlingEntry.objects.exists() and fresh(visit).acknowledgements == {}


def test_a_real_sentence_still_acknowledges_without_a_precaution(clinician, patient) -> None:
    visit = thin(clinician, patient)
    reason = {"ptx_patient_risk:rhomboids:left": "Ultrasound showed the pleura at 24 mm today"}
    actions.add_needling_entry(clinician, visit.pk, entry_input(**RHOMBOIDS_15), visit.version, reason)
    (ack,) = fresh(visit).acknowledgements.values()
    assert ack["precautions"] == [] and ack["note"] == "Ultrasound showed the pleura at 24 mm today"


def test_pregnancy_warns_over_gb21_naming_the_trimester(clinician, patient) -> None:
    screen_with(clinician, patient, finding("pregnancy", pregnancy_trimester=2))
    visit = start(clinician, patient)
    change = {"muscle": "upper-trapezius", "trigger_point": _first_point("upper-trapezius"), "length_mm": "13"}
    with pytest.raises(actions.WarningsNeedAcknowledgement) as caught:
        actions.add_needling_entry(clinician, visit.pk, entry_input(**change), visit.version)
    (warning,) = caught.value.warnings
    assert warning.code == "pregnancy_region" and "second trimester" in warning.message and "GB21" in warning.message


def test_implant_tumour_and_lymph_node_findings_warn_at_entry(clinician, patient) -> None:
    screen_with(
        clinician,
        patient,
        finding("breast_implant", breast_implant_side="right"),
        finding("tumour_at_site", tumour_site="left thigh"),
        finding("lymph_node_removal", lymph_node_side="right"),
        finding("latex_allergy"),
    )
    visit = start(clinician, patient)
    change = {"muscle": "pectoralis-major", "trigger_point": _first_point("pectoralis-major"), "length_mm": "13"}
    with pytest.raises(actions.WarningsNeedAcknowledgement) as caught:
        actions.add_needling_entry(clinician, visit.pk, entry_input(**change), visit.version)
    assert sorted(pending_codes(caught)) == ["breast_implant", "lymph_node_side", "tumour_site"]
    assert "left thigh" in next(w.message for w in caught.value.warnings if w.code == "tumour_site")
    actions.add_needling_entry(clinician, visit.pk, entry_input(**change), visit.version, precaution_for(caught))
    stored = reconcile(clinician, fresh(visit))
    note = actions.sign_visit(clinician, visit.pk, stored.version).note_text
    assert "latex-free gloves" in note and "Muscle is away from the recorded site" in note


def test_electrical_stimulation_with_an_implanted_device_is_refused_and_cannot_be_acknowledged(
    clinician, patient
) -> None:
    clear_with(clinician, patient, implanted_device="yes", implanted_device_type="pacemaker")
    visit = actions.start_visit(clinician, open_neck_episode(clinician, patient), {})
    estim = entry_input(technique="electrical_stimulation", minutes_left_in=15)
    with pytest.raises(ValidationError) as caught:
        actions.add_needling_entry(
            clinician, visit.pk, estim, visit.version, {"estim_implanted_device:infraspinatus:right": REAL_REASON}
        )
    assert not isinstance(caught.value, actions.WarningsNeedAcknowledgement)
    assert "Needling refused" in caught.value.messages[0]
    assert not NeedlingEntry.objects.exists()


def test_an_absolute_contraindication_is_refused(clinician, patient) -> None:
    patient_actions.record_screening(clinician, patient, all_no() | {"needle_phobia": "yes"})
    patient_actions.record_consent(clinician, patient, patient.full_name, current_consent_text(patient.clinic).version)
    visit = actions.start_visit(clinician, open_neck_episode(clinician, patient), {})
    with pytest.raises(ValidationError, match="did not clear"):
        actions.add_needling_entry(clinician, visit.pk, entry_input(), visit.version)


def test_both_sides_of_the_thorax_in_one_visit_is_warned(clinician, visit) -> None:
    stored = add(clinician, visit, **RHOMBOIDS_15)
    with pytest.raises(actions.WarningsNeedAcknowledgement) as caught:
        actions.add_needling_entry(clinician, visit.pk, entry_input(**RHOMBOIDS_15 | {"side": "right"}), stored.version)
    assert pending_codes(caught) == ["bilateral_thorax"]


def test_lymphoedema_on_the_other_side_is_not_warned(clinician, patient) -> None:
    clear_with(clinician, patient, lymphoedema="yes", lymphoedema_side="left")
    visit = actions.start_visit(clinician, open_neck_episode(clinician, patient), {})
    actions.add_needling_entry(clinician, visit.pk, entry_input(side="right"), visit.version)
    assert fresh(visit).acknowledgements == {}


# --- copying, acknowledging later, signing ---------------------------------------------------------


def test_copying_the_previous_visit_checks_the_warnings_again(clinician, patient) -> None:
    clear_with(clinician, patient)
    episode = open_neck_episode(clinician, patient, days_ago=1)  # half an hour ago may be yesterday
    first = actions.start_visit(clinician, episode, {"started_at": timezone.now() - timedelta(minutes=30)})
    actions.add_needling_entry(clinician, first.pk, entry_input(**RHOMBOIDS_15), first.version)
    reconcile(clinician, first)
    actions.sign_visit(clinician, first.pk, fresh(first).version)
    screen_with(clinician, patient, finding("low_bmi", bmi=17.9))
    second = actions.start_visit(clinician, episode, {"started_at": timezone.now() - timedelta(minutes=5)})
    with pytest.raises(actions.WarningsNeedAcknowledgement) as caught:
        actions.copy_previous_needling(clinician, second.pk, second.version)
    assert pending_codes(caught) == ["ptx_patient_risk"]
    actions.copy_previous_needling(clinician, second.pk, second.version, precaution_for(caught))
    assert fresh(second).needling_entries.count() == 1


def test_acknowledge_warnings_takes_precautions_and_refuses_a_non_sentence(clinician, patient) -> None:
    visit = thin(clinician, patient)
    key = "ptx_patient_risk:rhomboids:left"
    actions.add_needling_entry(clinician, visit.pk, entry_input(**RHOMBOIDS_15), visit.version, {key: REAL_REASON})
    # As if acknowledged before the acknowledgement was required (an older visit): it is pending again.
    Visit.objects.filter(pk=visit.pk).update(acknowledgements={})
    visit = fresh(visit)
    with pytest.raises(ValidationError, match="real sentence"):
        actions.acknowledge_warnings(clinician, visit.pk, {key: "x"}, visit.version)
    with pytest.raises(ValidationError, match="no longer applies"):
        actions.acknowledge_warnings(clinician, visit.pk, {"bleeding_risk:-:-": REAL_REASON}, visit.version)
    assert fresh(visit).acknowledgements == {} and fresh(visit).version == visit.version
    done = actions.acknowledge_warnings(clinician, visit.pk, {key: {"precautions": ["pincer_grasp"]}}, visit.version)
    assert done.acknowledgements[key]["precaution_codes"] == ["pincer_grasp"]
    with pytest.raises(ValidationError, match="at least one warning"):
        actions.acknowledge_warnings(clinician, visit.pk, {key: {"precautions": ["ultrasound_guidance"]}}, done.version)


def test_warnings_are_checked_again_at_signing(clinician, visit, cleared_patient) -> None:
    stored = reconcile(clinician, add(clinician, visit))
    # A new screening after the needling records anticoagulants: signing asks for the bleeding warning.
    clear_with(clinician, cleared_patient, anticoagulants="yes", anticoagulant_medication="warfarin")
    NeedlingEntry.objects.filter(visit=visit).update(recorded_at=Screening.objects.latest("screened_at").screened_at)
    with pytest.raises(actions.WarningsNeedAcknowledgement) as caught:
        actions.sign_visit(clinician, visit.pk, stored.version)
    assert pending_codes(caught) == ["bleeding_risk"]
    with pytest.raises(actions.WarningsNeedAcknowledgement):
        actions.sign_visit(clinician, visit.pk, stored.version, {"bleeding_risk:-:-": "INR ok"})
    assert fresh(visit).signed_at is None
    given = {"bleeding_risk:-:-": {"precautions": ["bleeding_risk_assessed"], "note": "INR 2.1"}}
    signed = actions.sign_visit(clinician, visit.pk, stored.version, given)
    assert "Safety warnings acknowledged:" in signed.note_text
    assert "Precautions: Individual bleeding risk assessed (medication, history). Note: INR 2.1" in signed.note_text


def test_an_old_acknowledgement_with_only_a_reason_still_prints(clinician, visit) -> None:
    key = "nerve_vessel:piriformis:right"
    stored = add(clinician, visit, {key: REAL_REASON}, muscle="piriformis", trigger_point="lateral")
    old = {"code": "nerve_vessel", "message": "Piriformis (right side): sciatic nerve close by.", "reason": "x"}
    Visit.objects.filter(pk=visit.pk).update(acknowledgements={key: old | {"by": clinician.pk, "by_name": "Dr Old"}})
    stored = reconcile(clinician, fresh(visit))
    signed = actions.sign_visit(clinician, visit.pk, stored.version)
    assert "sciatic nerve close by. Reason to proceed: x (Dr Old)" in signed.note_text


# --- the page --------------------------------------------------------------------------------------


def entry_form(version: int, **change: Any) -> dict[str, str]:
    data = {k: ("" if v is None else v) for k, v in entry(**change).items()}
    return data | {"version": str(version)}


def test_the_page_offers_one_click_precautions_and_refuses_x(clinician, patient) -> None:
    visit = thin(clinician, patient)
    client = client_for(clinician)
    url = f"/visits/{visit.pk}/needling/"
    body = client.post(url, entry_form(1, **RHOMBOIDS_15), **HX).content.decode()
    assert 'name="ackp:ptx_patient_risk:rhomboids:left" value="pincer_grasp"' in body
    assert "Reason to proceed" in body and not NeedlingEntry.objects.exists()
    body = client.post(url, entry_form(1, **RHOMBOIDS_15) | {"ack:ptx_patient_risk:rhomboids:left": "x"}, **HX)
    assert "real sentence" in body.content.decode() and not NeedlingEntry.objects.exists()
    one_click = entry_form(1, **RHOMBOIDS_15) | {"ackp:ptx_patient_risk:rhomboids:left": "pincer_grasp"}
    body = client.post(url, one_click, **HX).content.decode()
    assert "Acknowledged" in body and "Pincer grasp: muscle lifted off the chest wall" in body
    assert 'data-testid="reminder"' in body and "Reminder:" in body
    assert NeedlingEntry.objects.count() == 1


def test_several_pending_warnings_are_checkboxes_on_the_page(clinician, patient) -> None:
    screen_with(clinician, patient, finding("low_bmi", bmi=17.0), finding("tumour_at_site", tumour_site="left thigh"))
    visit = start(clinician, patient)
    body = client_for(clinician).post(f"/visits/{visit.pk}/needling/", entry_form(1, **RHOMBOIDS_15), **HX)
    text = body.content.decode()
    assert 'type="checkbox" name="ackp:ptx_patient_risk:rhomboids:left" value="pincer_grasp"' in text
    assert 'type="checkbox" name="ackp:tumour_site:rhomboids:left" value="away_from_site"' in text


# --- the API -----------------------------------------------------------------------------------------


@pytest.fixture
def api(clinician) -> Client:
    _token, raw = create_api_token(clinician, "test")
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


def api_needling(version: int, acknowledgements: Any = None, **change: Any) -> dict[str, Any]:
    data = {k: v for k, v in entry(**RHOMBOIDS_15 | change).items() if v is not None}
    return data | {"version": version, "acknowledgements": acknowledgements or {}}


def test_the_api_takes_precautions_and_shows_the_three_kinds(api, clinician, patient) -> None:
    visit = thin(clinician, patient)
    url = f"/api/v1/visits/{visit.pk}"
    warned = api.post(f"{url}/needling", api_needling(1), content_type="application/json")
    assert warned.status_code == 400 and "thin build" in warned.json()["detail"]
    refused = api.post(
        f"{url}/needling", api_needling(1, {"ptx_patient_risk:rhomboids:left": "x"}), content_type="application/json"
    )
    assert refused.status_code == 400 and "real sentence" in refused.json()["detail"]
    wrong = {"ptx_patient_risk:rhomboids:left": {"precautions": ["directed_away"]}}
    refused = api.post(f"{url}/needling", api_needling(1, wrong), content_type="application/json")
    assert refused.status_code == 400 and "not a precaution for this warning" in refused.json()["detail"]
    assert not NeedlingEntry.objects.exists()
    ok = {"ptx_patient_risk:rhomboids:left": {"precautions": ["pincer_grasp", "ptx_signs_explained"], "note": "Thin"}}
    created = api.post(f"{url}/needling", api_needling(1, ok), content_type="application/json")
    assert created.status_code == 201, created.content
    warnings = {w["code"]: w for w in created.json()["warnings"]}
    assert warnings["thorax_technique"]["severity"] == "reminder" and warnings["thorax_technique"]["precautions"] == []
    risk = warnings["ptx_patient_risk"]
    assert risk["severity"] == "warning" and "pincer_grasp" in {p["code"] for p in risk["precautions"]}
    assert risk["acknowledgement"]["precautions"][1].startswith("Patient told the signs of a pneumothorax")
    assert risk["acknowledgement"]["note"] == "Thin" and risk["acknowledged_reason"].startswith("Precautions: ")
    assert "Safety reminders:" in created.json()["note"]


def test_the_api_acknowledgements_endpoint_and_a_plain_reason(api, clinician, patient) -> None:
    visit = thin(clinician, patient)
    url = f"/api/v1/visits/{visit.pk}"
    key = "ptx_patient_risk:rhomboids:left"
    body = api.post(f"{url}/needling", api_needling(1, {key: REAL_REASON}), content_type="application/json").json()
    Visit.objects.filter(pk=visit.pk).update(acknowledgements={})
    bad = api.post(
        f"{url}/acknowledgements",
        {"version": body["version"], "acknowledgements": {key: "ok"}},
        content_type="application/json",
    )
    assert bad.status_code == 400 and "real sentence" in bad.json()["detail"]
    good = api.post(
        f"{url}/acknowledgements",
        {"version": body["version"], "acknowledgements": {key: {"precautions": ["ultrasound_guidance"]}}},
        content_type="application/json",
    )
    assert good.status_code == 200, good.content
    (risk,) = [w for w in good.json()["warnings"] if w["code"] == "ptx_patient_risk"]
    assert risk["acknowledgement"]["precautions"] == ["Ultrasound guidance"]


def test_a_thin_build_measured_at_screening_makes_a_short_thorax_needle_warn(clinician, patient) -> None:
    clear_with(clinician, patient, height_cm="165", weight_kg="47")  # BMI 17.3: below the WHO cut-off of 18.5
    visit = start(clinician, patient)
    with pytest.raises(actions.WarningsNeedAcknowledgement) as refused:
        actions.add_needling_entry(clinician, visit.pk, entry_input(**RHOMBOIDS_15), visit.version)
    assert any("thin build (BMI 17.3)" in w.message for w in refused.value.warnings)
    assert not visit.needling_entries.exists()
