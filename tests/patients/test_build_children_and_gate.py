"""Screening build and age through the action, the page and the API; guardian consent with the child's assent;
the clinic's minimum needling age and the gate's rules for children. Real database, real views, no mocks."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone
from django.utils.html import escape

from needlepoint.accounts.models import AuditEntry
from needlepoint.patients import actions
from needlepoint.patients.consent import current_consent_text
from needlepoint.patients.gate import NeedlingRefused, needling_clearance, require_needling_clearance
from needlepoint.patients.models import Consent, Screening
from needlepoint.patients.screening_form import none_apply_name
from needlepoint.patients.screening_rules import screening_items
from tests.accounts.test_access_matrix import api_client, patient_data_snapshot
from tests.conftest import all_no, client_for

API = "/api/v1/patients"


def born_years_ago(years: int, extra_days: int = 30) -> date:
    """A date of birth that makes the patient ``years`` old today (``extra_days`` past the birthday)."""
    today = timezone.localdate()
    try:
        birthday = today.replace(year=today.year - years)
    except ValueError:  # 29 February in a year without it
        birthday = today.replace(year=today.year - years, day=28)
    return birthday - timedelta(days=extra_days)


def register(clinician, years: int, extra_days: int = 30):
    birth = born_years_ago(years, extra_days)
    return actions.register_patient(
        clinician, {"given_name": "Lily", "family_name": "Moss", "date_of_birth": birth, "sex": "female"}
    )


def state() -> dict[str, Any]:
    writes = AuditEntry.objects.filter(action__in=("create", "update"), object_type__startswith="patients.").count()
    return patient_data_snapshot() | {"audited_writes": writes}


def api_post(client, url: str, body: dict[str, Any]):
    return client.post(url, json.dumps(body), content_type="application/json")


def page_says(response, message: str) -> bool:
    return response.status_code == 200 and escape(message) in response.content.decode()


def screen(clinician, patient, **build: str) -> Screening:
    """Screen with every answer no; a child's screening has precautions, which the clinician acknowledges."""
    screening = actions.record_screening(clinician, patient, all_no() | build)
    if screening.needs_acknowledgement:
        screening = actions.acknowledge_precautions(clinician, screening, "Guardian present; explained simply.")
    return screening


def guardian_consent(clinician, patient, **change: Any) -> Consent:
    data = {
        "guardian_name": "Rose Moss",
        "guardian_relationship": "parent",
        "child_assent": True,
    } | change
    signed = data.pop("signed_name", data["guardian_name"])
    version = current_consent_text(patient.clinic).version
    return actions.record_consent(clinician, patient, signed, version, **data)


# --- the screening records build and age ------------------------------------------------------------------


def test_a_screening_stores_the_measured_build_the_derived_bmi_and_the_age(clinician) -> None:
    patient = register(clinician, 34)

    screening = actions.record_screening(clinician, patient, all_no() | {"height_cm": "165", "weight_kg": "49"})

    screening.refresh_from_db()
    assert screening.age_years == 34
    assert (screening.height_cm, screening.weight_kg) == (165.0, 49.0)
    assert float(screening.bmi) == 18.0
    assert screening.result().finding("low_bmi").details == {"bmi": 18.0}
    assert screening.status == "cleared_with_precautions"


@pytest.mark.parametrize("missing", ["height_cm", "weight_kg"])
def test_a_screening_without_the_build_is_refused_on_the_page_and_the_api(clinician, patient, missing: str) -> None:
    answers = all_no()
    del answers[missing]
    label = {"height_cm": "Height (cm)", "weight_kg": "Weight (kg)"}[missing]
    message = f"{label} is required: the thorax warnings depend on the build."
    before = state()

    page = client_for(clinician).post(f"/patients/{patient.pk}/screening/new/", answers)
    api = api_post(api_client(clinician), f"{API}/{patient.pk}/screenings", {"answers": answers})

    assert page_says(page, message)
    assert api.status_code == 400
    assert message in api.json()["errors"][missing]
    assert state() == before


def test_an_implausible_height_is_refused_on_the_page_and_the_api(clinician, patient) -> None:
    answers = all_no() | {"height_cm": "1.72"}
    message = "Height (cm) 1.72 is outside 50-250; check the value and its unit."
    before = state()

    page = client_for(clinician).post(f"/patients/{patient.pk}/screening/new/", answers)
    api = api_post(api_client(clinician), f"{API}/{patient.pk}/screenings", {"answers": answers})

    assert page_says(page, message)
    assert api.status_code == 400
    assert api.json()["errors"] == {"height_cm": [message]}
    assert state() == before


def test_a_trimester_without_pregnancy_is_refused_on_the_page(clinician, patient) -> None:
    before = state()

    page = client_for(clinician).post(f"/patients/{patient.pk}/screening/new/", all_no() | {"pregnancy_trimester": "2"})

    assert page_says(
        page, "Pregnancy is answered no, but “Which trimester?” is answered (2): the answers contradict each other."
    )
    assert state() == before


def test_details_missing_for_a_new_item_are_refused_by_the_api(clinician, patient) -> None:
    before = state()

    api = api_post(
        api_client(clinician), f"{API}/{patient.pk}/screenings", {"answers": all_no() | {"tumour_at_site": "yes"}}
    )

    assert api.status_code == 400
    assert api.json()["errors"] == {
        "tumour_site": ["Tumour at the needling site is answered yes but “Where is it?” is missing (tumour_site)."]
    }
    assert state() == before


def test_the_api_returns_age_bmi_and_typed_details(clinician) -> None:
    patient = register(clinician, 29)
    answers = all_no() | {"pregnancy": "yes", "pregnancy_trimester": "3", "height_cm": 160, "weight_kg": 62.5}

    response = api_post(api_client(clinician), f"{API}/{patient.pk}/screenings", {"answers": answers})

    assert response.status_code == 201
    body = response.json()
    assert (body["age_years"], body["bmi"]) == (29, 24.4)
    (pregnancy,) = [f for f in body["findings"] if f["code"] == "pregnancy"]
    assert pregnancy["details"] == {"pregnancy_trimester": 3}


# --- "None of these apply" and the patient's form -----------------------------------------------------------


def test_none_of_these_apply_answers_its_whole_section_no(clinician, patient) -> None:
    section_codes = {item.code for item in screening_items() if item.section == "lungs_heart_blood"}
    post = {k: v for k, v in all_no().items() if k not in section_codes} | {none_apply_name("lungs_heart_blood"): "on"}

    response = client_for(clinician).post(f"/patients/{patient.pk}/screening/new/", post)

    assert response.status_code == 302
    screening = Screening.objects.get(patient=patient)
    assert all(screening.answers[code] == "no" for code in section_codes)
    assert screening.status == "cleared"


def test_none_of_these_apply_beside_a_yes_is_refused(clinician, patient) -> None:
    before = state()
    post = all_no() | {"copd_emphysema": "yes", none_apply_name("lungs_heart_blood"): "on"}

    response = client_for(clinician).post(f"/patients/{patient.pk}/screening/new/", post)

    assert page_says(
        response,
        "“None of these apply” is ticked in Lungs, heart and blood, but COPD or emphysema is answered yes: "
        "untick it or change the answer.",
    )
    assert state() == before


def test_an_unanswered_question_outside_a_ticked_section_is_still_required(clinician, patient) -> None:
    post = all_no()
    del post["latex_allergy"]

    response = client_for(clinician).post(f"/patients/{patient.pk}/screening/new/", post)

    assert page_says(response, "Answer: Latex allergy.")
    assert not Screening.objects.filter(patient=patient).exists()


def test_the_form_speaks_to_the_patient_and_keeps_source_marks_for_the_clinician(clinician, patient) -> None:
    client = client_for(clinician)

    form_page = client.get(f"/patients/{patient.pk}/screening/new/").content.decode()
    screening = actions.record_screening(clinician, patient, all_no() | {"copd_emphysema": "yes"})
    detail_page = client.get(f"/patients/{patient.pk}/screening/{screening.pk}/").content.decode()

    assert "unverified" not in form_page.lower()
    assert form_page.count('name="none_apply__') == 7
    assert escape("Have you ever had a collapsed lung (pneumothorax)?") in form_page
    assert "(unverified: S400 is a case report" in detail_page
    assert 'id="S200"' in detail_page and "Kim KK, Lee KM, Kim KT" in detail_page
    assert "BMI (derived)" in detail_page and "23.7 kg/m²" in detail_page


# --- consent for children ----------------------------------------------------------------------------------


def test_a_guardian_consents_for_a_child_with_the_childs_assent(clinician) -> None:
    child = register(clinician, 15)

    consent = guardian_consent(clinician, child)

    assert (consent.signed_name, consent.guardian_name, consent.guardian_relationship) == (
        "Rose Moss",
        "Rose Moss",
        "parent",
    )
    assert consent.child_assent and consent.patient_age_years == 15


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        (
            {"guardian_name": "", "guardian_relationship": "", "signed_name": "Lily Moss"},
            "guardian_name",
            "Lily Moss is 15: a patient under 18 needs a guardian's consent; enter the guardian's name.",
        ),
        (
            {"child_assent": False},
            "child_assent",
            "Record the child's assent: needling a child needs their own agreement as well as the guardian's consent.",
        ),
        (
            {"guardian_relationship": "neighbour"},
            "guardian_relationship",
            "Choose the guardian's relationship: parent, legal guardian or other.",
        ),
        ({"signed_name": "Lily Moss"}, "signed_name", "The guardian signs with their own full name (Rose Moss)."),
        (
            {"guardian_name": "Lily Moss", "signed_name": "Lily Moss"},
            "guardian_name",
            "The guardian is someone other than the child: enter the guardian's own name.",
        ),
    ],
)
def test_a_childs_consent_without_a_guardian_or_assent_is_refused(clinician, change, field, message) -> None:
    child = register(clinician, 15)
    before = state()

    with pytest.raises(Exception) as caught:
        guardian_consent(clinician, child, **change)

    assert caught.value.message_dict[field] == [message]
    assert state() == before


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        (
            {"guardian_name": "Rose Moss", "guardian_relationship": "parent"},
            "guardian_name",
            "Jane Doe is {age}: an adult consents for themselves, not through a guardian.",
        ),
        ({"child_assent": True}, "child_assent", "Jane Doe is {age}: assent is recorded only for a child under 18."),
    ],
)
def test_a_guardian_or_an_assent_for_an_adult_is_refused_by_the_api(clinician, patient, body, field, message) -> None:
    before = state()
    age = patient.age_on(timezone.localdate())
    version = current_consent_text(patient.clinic).version

    response = api_post(
        api_client(clinician),
        f"{API}/{patient.pk}/consents",
        {"signed_name": patient.full_name, "text_version": version} | body,
    )

    assert response.status_code == 400
    assert response.json()["errors"][field] == [message.format(age=age)]
    assert state() == before


def test_an_assent_without_a_guardian_is_refused_by_the_api(clinician) -> None:
    child = register(clinician, 14)
    before = state()
    version = current_consent_text(child.clinic).version

    response = api_post(
        api_client(clinician),
        f"{API}/{child.pk}/consents",
        {"signed_name": "Lily Moss", "text_version": version, "child_assent": True},
    )

    assert response.status_code == 400
    assert response.json()["errors"]["guardian_name"] == [
        "Lily Moss is 14: a patient under 18 needs a guardian's consent; enter the guardian's name."
    ]
    assert state() == before


def test_the_api_records_a_guardian_consent(front_desk, clinician) -> None:
    child = register(clinician, 16)
    version = current_consent_text(child.clinic).version

    response = api_post(
        api_client(front_desk),
        f"{API}/{child.pk}/consents",
        {
            "signed_name": "Tom Moss",
            "text_version": version,
            "guardian_name": "Tom  Moss",
            "guardian_relationship": "legal_guardian",
            "child_assent": True,
        },
    )

    assert response.status_code == 201
    body = response.json()
    assert (body["guardian_name"], body["guardian_relationship"], body["child_assent"]) == (
        "Tom Moss",
        "legal_guardian",
        True,
    )
    assert body["patient_age_years"] == 16


def test_the_consent_page_asks_for_the_guardian_of_a_child_and_refuses_a_missing_assent(front_desk, clinician) -> None:
    child = register(clinician, 13)
    client = client_for(front_desk)
    url = f"/patients/{child.pk}/consent/new/"

    page = client.get(url).content.decode()
    refused = client.post(
        url,
        {
            "signed_name": "Rose Moss",
            "text_version": current_consent_text(child.clinic).version,
            "guardian_name": "Rose Moss",
            "guardian_relationship": "parent",
        },
    )

    assert "Guardian&#x27;s full name" in page and "assent" in page
    assert page_says(
        refused,
        "Record the child's assent: needling a child needs their own agreement as well as the guardian's consent.",
    )
    assert not Consent.objects.filter(patient=child).exists()


# --- the gate ------------------------------------------------------------------------------------------------


def test_a_child_with_a_guardians_consent_and_assent_may_be_needled(clinician) -> None:
    child = register(clinician, 15)
    screen(clinician, child, height_cm="160", weight_kg="50")
    guardian_consent(clinician, child)

    clearance = needling_clearance(child)

    assert clearance.allowed, clearance.reasons
    assert clearance.screening.result().finding("child").details == {"age_years": 15}


def test_a_patient_under_the_clinics_minimum_age_is_refused(clinician) -> None:
    child = register(clinician, 11)
    screen(clinician, child, height_cm="145", weight_kg="38")
    guardian_consent(clinician, child)

    with pytest.raises(NeedlingRefused) as refused:
        require_needling_clearance(child)

    assert child.clinic.minimum_needling_age == 12
    assert refused.value.reasons == [
        "Lily Moss is 11; this clinic does not needle patients under 12 (the clinic's minimum needling age)."
    ]


def test_a_clinic_may_set_a_lower_minimum_age(clinician) -> None:
    child = register(clinician, 11)
    screen(clinician, child, height_cm="145", weight_kg="38")
    guardian_consent(clinician, child)
    child.clinic.minimum_needling_age = 10
    child.clinic.save()
    child.refresh_from_db()

    assert needling_clearance(child).allowed


def test_a_minor_whose_consent_has_no_guardian_is_refused(clinician) -> None:
    # A consent recorded before guardian consent existed: the action can no longer make one.
    child = register(clinician, 16)
    screen(clinician, child)
    Consent.objects.create(
        clinic=child.clinic, patient=child, text=current_consent_text(child.clinic), signed_name=child.full_name,
        recorded_by=clinician,
    )  # fmt: skip

    assert needling_clearance(child).reasons == [
        "The patient is 16: a patient under 18 needs a guardian's consent, with the child's assent."
    ]


def test_a_guardians_consent_without_the_childs_assent_is_refused(clinician) -> None:
    child = register(clinician, 16)
    screen(clinician, child)
    Consent.objects.create(
        clinic=child.clinic, patient=child, text=current_consent_text(child.clinic), signed_name="Rose Moss",
        guardian_name="Rose Moss", guardian_relationship="parent", child_assent=False, recorded_by=clinician,
    )  # fmt: skip

    assert needling_clearance(child).reasons == ["The child's assent is not recorded with the guardian's consent."]


def test_a_patient_who_turned_18_after_a_guardian_consented_must_consent_again(clinician) -> None:
    patient = register(clinician, 17, extra_days=360)
    screen(clinician, patient)
    guardian_consent(clinician, patient)
    a_week_later = timezone.now() + timedelta(days=7)

    clearance = needling_clearance(patient, at=a_week_later)

    assert clearance.reasons == [
        "The patient is now 18: a guardian consented while they were a child; "
        "the patient needs to give their own consent."
    ]


# --- the clinic's setting ------------------------------------------------------------------------------------


def test_a_clinic_admin_sets_the_minimum_needling_age_and_it_is_audited(clinic_admin, clinician) -> None:
    client = client_for(clinic_admin)

    response = client.post("/patients/needling-age/", {"minimum_needling_age": "14"})

    assert response.status_code == 302
    clinic_admin.clinic.refresh_from_db()
    assert clinic_admin.clinic.minimum_needling_age == 14
    entry = AuditEntry.objects.filter(object_type="accounts.Clinic", action="update").latest("pk")
    assert entry.summary == "minimum needling age 12 -> 14"


@pytest.mark.parametrize("age", ["19", "-1", "twelve"])
def test_an_impossible_minimum_age_is_refused(clinic_admin, age: str) -> None:
    response = client_for(clinic_admin).post("/patients/needling-age/", {"minimum_needling_age": age})

    assert response.status_code == 200
    clinic_admin.clinic.refresh_from_db()
    assert clinic_admin.clinic.minimum_needling_age == 12


def test_only_a_clinic_admin_may_change_the_minimum_age(clinician) -> None:
    with pytest.raises(PermissionDenied):
        actions.set_minimum_needling_age(clinician, 8)
    clinician.clinic.refresh_from_db()
    assert clinician.clinic.minimum_needling_age == 12
