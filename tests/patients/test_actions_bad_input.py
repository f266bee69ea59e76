"""Bad input, through the page and through the API: each gets a clear message, and nothing changes.

The issue's list: a birth date in the future, an MRN collision, a consent signed with a name that is not
the patient's, contradicting screening answers, a second open episode of the same condition and side, a
form posted after the session expired, a crafted POST to another clinic's patient.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone
from django.utils.html import escape

from needlepoint.accounts.models import AuditEntry
from needlepoint.patients import actions
from needlepoint.patients.consent import current_consent_text
from needlepoint.patients.models import ConsentText
from tests.accounts.test_access_matrix import api_client, patient_data_snapshot
from tests.conftest import all_no, client_for

API = "/api/v1/patients"
TOMORROW = timezone.localdate() + timedelta(days=1)
NEW_PATIENT = {"given_name": "Sam", "family_name": "Lee", "date_of_birth": "1990-02-03", "sex": "male"}
NECK = {"condition": "neck_pain", "icd10_code": "M54.2", "side": "central", "onset_date": "2024-01-05"}


def state() -> dict[str, Any]:
    """Every patient-data row, and how many writes of patient data the audit trail has recorded."""
    writes = AuditEntry.objects.filter(action__in=("create", "update"), object_type__startswith="patients.").count()
    return patient_data_snapshot() | {"audited_writes": writes}


def assert_page_says(response, message: str) -> None:
    """The form came back (not saved) with ``message`` on it."""
    assert response.status_code == 200
    assert escape(message) in response.content.decode(), response.content.decode()[-3000:]


def api_post(client: Client, url: str, body: dict[str, Any], method: str = "POST"):
    return client.generic(method, url, json.dumps(body), content_type="application/json")


# A birth date in the future


def test_a_future_birth_date_is_refused_on_the_registration_page(clinician) -> None:
    before = state()

    response = client_for(clinician).post("/patients/new/", NEW_PATIENT | {"date_of_birth": TOMORROW.isoformat()})

    assert_page_says(response, "The date of birth cannot be in the future.")
    assert state() == before


def test_a_future_birth_date_is_refused_by_the_api(clinician) -> None:
    before = state()

    response = api_post(api_client(clinician), API, NEW_PATIENT | {"date_of_birth": TOMORROW.isoformat()})

    assert response.status_code == 400
    assert response.json() == {
        "detail": "date_of_birth: The date of birth cannot be in the future.",
        "errors": {"date_of_birth": ["The date of birth cannot be in the future."]},
    }
    assert state() == before


def test_a_future_birth_date_is_refused_when_editing_a_patient_on_the_page_and_the_api(clinician, patient) -> None:
    before = state()
    edit = {"given_name": "Jane", "family_name": "Doe", "date_of_birth": TOMORROW.isoformat(), "sex": "female"}

    page = client_for(clinician).post(f"/patients/{patient.pk}/edit/", edit | {"version": 1})
    api = api_post(
        api_client(clinician), f"{API}/{patient.pk}", {"version": 1, "date_of_birth": str(TOMORROW)}, "PATCH"
    )

    assert_page_says(page, "The date of birth cannot be in the future.")
    assert api.status_code == 400
    assert api.json()["errors"] == {"date_of_birth": ["The date of birth cannot be in the future."]}
    assert state() == before


def test_a_birth_date_before_1900_is_refused_as_a_likely_typo(clinician) -> None:
    before = state()

    page = client_for(clinician).post("/patients/new/", NEW_PATIENT | {"date_of_birth": "1890-02-03"})
    api = api_post(api_client(clinician), API, NEW_PATIENT | {"date_of_birth": "1890-02-03"})

    assert_page_says(page, "The date of birth is before 1900; check the year.")
    assert api.status_code == 400
    assert state() == before


def test_a_birth_date_that_is_not_a_date_gets_a_json_schema_error(clinician) -> None:
    before = state()

    response = api_post(api_client(clinician), API, NEW_PATIENT | {"date_of_birth": "17/05/1980"})

    assert response.status_code == 422
    assert response.json()["detail"] == "The request does not match the schema."
    assert [field for field in response.json()["errors"] if field.endswith("date_of_birth")]
    assert state() == before


# An MRN collision


def test_an_mrn_that_belongs_to_another_patient_is_refused_on_the_page(clinician, patient) -> None:
    before = state()

    response = client_for(clinician).post("/patients/new/", NEW_PATIENT | {"mrn": patient.mrn.lower()})

    assert_page_says(response, f"MRN {patient.mrn} already belongs to another patient of this clinic.")
    assert state() == before


def test_an_mrn_that_belongs_to_another_patient_is_refused_by_the_api(clinician, patient) -> None:
    before = state()

    response = api_post(api_client(clinician), API, NEW_PATIENT | {"mrn": patient.mrn})

    assert response.status_code == 400
    assert response.json()["errors"] == {
        "mrn": [f"MRN {patient.mrn} already belongs to another patient of this clinic."]
    }
    assert state() == before


def test_another_clinic_may_use_the_same_mrn(outsider, patient) -> None:
    response = api_post(api_client(outsider), API, NEW_PATIENT | {"mrn": patient.mrn})

    assert response.status_code == 201
    assert response.json()["mrn"] == patient.mrn


def test_a_malformed_mrn_is_refused(clinician) -> None:
    before = state()

    page = client_for(clinician).post("/patients/new/", NEW_PATIENT | {"mrn": "A/1"})
    api = api_post(api_client(clinician), API, NEW_PATIENT | {"mrn": "A/1"})

    assert_page_says(page, "An MRN has 3-30 letters, digits or hyphens.")
    assert api.json()["errors"] == {"mrn": ["An MRN has 3-30 letters, digits or hyphens."]}
    assert state() == before


def test_a_generated_mrn_skips_one_already_brought_in_from_another_system(clinician, patient) -> None:
    """Jane Doe is TC-0000001; a patient brought in as TC-0000002 must not block the next registration."""
    imported = actions.register_patient(
        clinician, {"given_name": "Ian", "family_name": "Port", "date_of_birth": date(1960, 1, 1)}, mrn="TC-0000002"
    )

    response = client_for(clinician).post("/patients/new/", NEW_PATIENT)

    assert response.status_code == 302, response.content.decode()[-2000:]
    assert imported.mrn == "TC-0000002"
    follow = client_for(clinician).get(response["Location"])
    assert "MRN TC-0000003" in follow.content.decode()


# A consent signed with a name that is not the patient's


def test_a_consent_signed_with_another_name_is_refused_on_the_page(clinician, patient) -> None:
    before = state()

    response = client_for(clinician).post(
        f"/patients/{patient.pk}/consent/new/", {"signed_name": "John Smith", "text_version": 1}
    )

    assert_page_says(response, "The signature must be the patient's full name (Jane Doe).")
    assert state() == before


def test_a_consent_signed_with_another_name_is_refused_by_the_api(clinician, patient) -> None:
    before = state()

    response = api_post(
        api_client(clinician), f"{API}/{patient.pk}/consents", {"signed_name": "Jane Dough", "text_version": 1}
    )

    assert response.status_code == 400
    assert response.json()["errors"] == {"signed_name": ["The signature must be the patient's full name (Jane Doe)."]}
    assert state() == before


@pytest.mark.parametrize("typed", ["Jane Doe", "  jane   DOE ", "Doe Jane"])
def test_the_patients_own_name_signs_in_either_order_and_any_case(clinician, patient, typed: str) -> None:
    response = api_post(
        api_client(clinician), f"{API}/{patient.pk}/consents", {"signed_name": typed, "text_version": 1}
    )

    assert response.status_code == 201


def test_a_consent_to_a_text_version_that_is_no_longer_current_is_refused(clinician, patient) -> None:
    current_consent_text(patient.clinic)
    ConsentText.objects.filter(clinic=patient.clinic).update(is_current=False)
    ConsentText.objects.create(clinic=patient.clinic, version=2, title="Consent v2", body="New wording.")
    before = state()
    message = (
        "The consent text changed to version 2 while this form was open; "
        "show the patient the current text and sign again."
    )

    page = client_for(clinician).post(
        f"/patients/{patient.pk}/consent/new/", {"signed_name": "Jane Doe", "text_version": 1}
    )
    api = api_post(
        api_client(clinician), f"{API}/{patient.pk}/consents", {"signed_name": "Jane Doe", "text_version": 1}
    )

    assert_page_says(page, message)
    assert api.status_code == 400
    assert api.json() == {"detail": message}
    assert state() == before


def test_withdrawing_a_consent_twice_is_refused(clinician, cleared_patient) -> None:
    consent = cleared_patient_consent(cleared_patient)
    client = api_client(clinician)
    assert api_post(client, f"{API}/{cleared_patient.pk}/consents/{consent.pk}/withdraw", {}).status_code == 200
    before = state()

    again = api_post(client, f"{API}/{cleared_patient.pk}/consents/{consent.pk}/withdraw", {"reason": "again"})

    assert again.status_code == 400
    assert again.json() == {"detail": "This consent was already withdrawn."}
    assert state() == before


def cleared_patient_consent(patient):
    from needlepoint.patients.models import Consent

    return Consent.objects.get(patient=patient)


# Contradicting screening answers


def test_contradicting_screening_answers_are_refused_on_the_page(clinician, patient) -> None:
    before = state()

    response = client_for(clinician).post(
        f"/patients/{patient.pk}/screening/new/", all_no() | {"lymphoedema_side": "left"}
    )

    assert_page_says(
        response,
        "Lymphoedema is answered no, but “On which side?” is answered (left): the answers contradict each other.",
    )
    assert state() == before


def test_contradicting_screening_answers_are_refused_by_the_api(clinician, patient) -> None:
    before = state()

    response = api_post(
        api_client(clinician),
        f"{API}/{patient.pk}/screenings",
        {"answers": all_no() | {"pregnancy_trimester": "2"}},
    )

    assert response.status_code == 400
    message = "Pregnancy is answered no, but “Which trimester?” is answered (2): the answers contradict each other."
    assert response.json() == {
        "detail": f"pregnancy_trimester: {message}",
        "errors": {"pregnancy_trimester": [message]},
    }
    assert state() == before


def test_a_yes_without_its_required_detail_is_refused(clinician, patient) -> None:
    before = state()

    page = client_for(clinician).post(f"/patients/{patient.pk}/screening/new/", all_no() | {"lymphoedema": "yes"})
    api = api_post(
        api_client(clinician), f"{API}/{patient.pk}/screenings", {"answers": all_no() | {"lymphoedema": "yes"}}
    )

    assert page.status_code == 200
    assert "lymphoedema_side" in page.content.decode()
    assert api.status_code == 400
    assert "lymphoedema_side" in api.json()["detail"]
    assert state() == before


def test_incomplete_or_unknown_screening_answers_are_refused_by_the_api(clinician, patient) -> None:
    before = state()
    answers = all_no()
    del answers["needle_phobia"]

    missing = api_post(api_client(clinician), f"{API}/{patient.pk}/screenings", {"answers": answers})
    unknown = api_post(
        api_client(clinician), f"{API}/{patient.pk}/screenings", {"answers": all_no() | {"smoker": "yes"}}
    )

    assert missing.status_code == 400
    assert "needle_phobia" in missing.json()["detail"]
    assert unknown.status_code == 400
    assert "Unknown screening answer 'smoker'." in unknown.json()["detail"]
    assert state() == before


def test_an_unanswered_question_on_the_page_names_the_item(clinician, patient) -> None:
    before = state()
    answers = all_no()
    del answers["anticoagulants"]

    response = client_for(clinician).post(f"/patients/{patient.pk}/screening/new/", answers)

    assert response.status_code == 200
    assert "Answer: " in response.content.decode()
    assert state() == before


# A second open episode of the same condition and side


def test_a_second_open_episode_of_the_same_condition_and_side_is_refused_on_the_page(clinician, patient) -> None:
    client = client_for(clinician)
    assert client.post(f"/patients/{patient.pk}/episodes/new/", NECK).status_code == 302
    before = state()

    response = client.post(f"/patients/{patient.pk}/episodes/new/", NECK | {"onset_date": "2024-06-01"})

    assert_page_says(response, "This patient already has an open episode for this condition and side.")
    assert state() == before


def test_a_second_open_episode_of_the_same_condition_and_side_is_refused_by_the_api(clinician, patient) -> None:
    client = api_client(clinician)
    assert api_post(client, f"{API}/{patient.pk}/episodes", NECK).status_code == 201
    before = state()

    response = api_post(client, f"{API}/{patient.pk}/episodes", NECK)

    assert response.status_code == 400
    assert response.json() == {"detail": "This patient already has an open episode for this condition and side."}
    assert state() == before


def test_the_same_condition_may_be_opened_on_another_side_or_after_discharge(clinician, patient) -> None:
    client = api_client(clinician)
    first = api_post(client, f"{API}/{patient.pk}/episodes", NECK).json()

    other_side = api_post(client, f"{API}/{patient.pk}/episodes", NECK | {"side": "left"})
    discharge = {"discharge_date": timezone.localdate().isoformat(), "reason": "goals_met"}
    api_post(client, f"{API}/{patient.pk}/episodes/{first['id']}/discharge", discharge)
    reopened = api_post(client, f"{API}/{patient.pk}/episodes", NECK)

    assert other_side.status_code == 201
    assert reopened.status_code == 201


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"onset_date": "2099-01-01"}, "onset_date", "The onset date cannot be in the future."),
        ({"onset_date": "1970-01-01"}, "onset_date", "The onset date is before the patient's birth."),
        ({"icd10_code": "M54.50"}, "icd10_code", "Choose an ICD-10-CM code listed for this condition."),
        (
            {"condition": "sciatica", "icd10_code": "M54.41", "side": "left"},
            "icd10_code",
            "M54.41 is for the right side; the episode is left.",
        ),
    ],
)
def test_an_episode_with_inconsistent_details_is_refused(clinician, patient, change, field, message) -> None:
    before = state()

    api = api_post(api_client(clinician), f"{API}/{patient.pk}/episodes", NECK | change)
    page = client_for(clinician).post(f"/patients/{patient.pk}/episodes/new/", NECK | change)

    assert api.status_code == 400
    assert api.json()["errors"] == {field: [message]}
    assert_page_says(page, message)
    assert state() == before


def test_an_episode_cannot_be_discharged_twice(clinician, patient) -> None:
    client = api_client(clinician)
    episode = api_post(client, f"{API}/{patient.pk}/episodes", NECK).json()
    url = f"{API}/{patient.pk}/episodes/{episode['id']}/discharge"
    discharge = {"discharge_date": timezone.localdate().isoformat(), "reason": "goals_met"}
    assert api_post(client, url, discharge).status_code == 200
    before = state()

    again = api_post(client, url, discharge | {"reason": "plateau"})

    assert again.status_code == 400
    assert again.json() == {"detail": "This episode is already discharged."}
    assert state() == before


# A form posted after the session expired


def expire_session(client: Client) -> None:
    """What fifteen idle minutes leave behind: the session row is past its expiry date."""
    Session.objects.filter(session_key=client.session.session_key).update(
        expire_date=timezone.now() - timedelta(seconds=1)
    )


def test_a_form_posted_after_the_session_expired_saves_nothing_and_says_why(clinician) -> None:
    client = client_for(clinician)
    assert client.get("/patients/new/").status_code == 200
    expire_session(client)
    before = state()

    response = client.post("/patients/new/", NEW_PATIENT)

    assert response.status_code == 302
    assert response["Location"] == "/login/?next=%2Fpatients%2Fnew%2F&expired=1"
    login_page = client.get(response["Location"])
    assert "Your session expired. Sign in again; anything you were entering was not saved." in (
        login_page.content.decode()
    )
    assert state() == before


def test_a_clinical_form_posted_after_the_session_expired_saves_nothing(clinician, patient) -> None:
    client = client_for(clinician)
    expire_session(client)
    before = state()

    screening = client.post(f"/patients/{patient.pk}/screening/new/", all_no())
    consent = client.post(f"/patients/{patient.pk}/consent/new/", {"signed_name": "Jane Doe", "text_version": 1})
    episode = client.post(f"/patients/{patient.pk}/episodes/new/", NECK)

    for response in (screening, consent, episode):
        assert response.status_code == 302
        assert response["Location"].startswith("/login/?next=")
        assert response["Location"].endswith("&expired=1")
    assert state() == before


def test_a_background_request_after_the_session_expired_gets_a_json_message(clinician) -> None:
    client = client_for(clinician)
    expire_session(client)

    response = client.get("/patients/?q=doe", headers={"HX-Request": "true"})

    assert response.status_code == 401
    assert response.json() == {"error": "Your session has expired. Sign in again."}


def test_an_api_call_on_an_expired_session_is_refused_with_json(clinician) -> None:
    client = client_for(clinician)
    assert client.get("/api/v1/me").status_code == 200
    expire_session(client)
    before = state()

    response = api_post(client, API, NEW_PATIENT)

    assert response.status_code == 401
    assert response.json() == {"detail": "Authenticate with an API token: Authorization: Bearer <token>."}
    assert state() == before


# A crafted POST to another clinic's patient


def test_a_crafted_post_to_another_clinics_patient_page_is_not_found(outsider, patient) -> None:
    before = state()
    client = client_for(outsider)

    posts = [
        client.post(f"/patients/{patient.pk}/edit/", NEW_PATIENT | {"version": 1}),
        client.post(f"/patients/{patient.pk}/screening/new/", all_no()),
        client.post(f"/patients/{patient.pk}/consent/new/", {"signed_name": "Jane Doe", "text_version": 1}),
        client.post(f"/patients/{patient.pk}/episodes/new/", NECK),
        client.post(f"/patients/{patient.pk}/health-change/", {"description": "fell over"}),
    ]

    for response in posts:
        assert response.status_code == 404
        assert "There is no such page, or it belongs to a record you cannot open." in response.content.decode()
    assert state() == before


def test_a_crafted_api_call_to_another_clinics_patient_is_not_found(outsider, patient) -> None:
    before = state()
    client = api_client(outsider)

    calls = [
        api_post(client, f"{API}/{patient.pk}", {"version": 1, "phone": "0"}, "PATCH"),
        api_post(client, f"{API}/{patient.pk}/screenings", {"answers": all_no()}),
        api_post(client, f"{API}/{patient.pk}/consents", {"signed_name": "Jane Doe", "text_version": 1}),
        api_post(client, f"{API}/{patient.pk}/episodes", NECK),
        api_post(client, f"{API}/{patient.pk}/health-change", {"description": "fell over"}),
    ]

    for response in calls:
        assert response.status_code == 404
        assert response.json() == {"detail": "Not found."}
    assert state() == before


# Two people editing the same patient


def test_a_save_over_someone_elses_newer_edit_is_refused_on_the_page_and_the_api(clinician, colleague, patient) -> None:
    actions.update_patient(colleague, patient.pk, {"phone": "+1 555 0199"}, expected_version=1)
    before = state()
    message = (
        "Someone else changed this patient while you were editing. Reload to see their changes; "
        "nothing of yours was saved."
    )
    edit = {"given_name": "Janet", "family_name": "Doe", "date_of_birth": "1980-05-17", "sex": "female"}

    page = client_for(clinician).post(f"/patients/{patient.pk}/edit/", edit | {"version": 1})
    api = api_post(api_client(clinician), f"{API}/{patient.pk}", {"version": 1, "given_name": "Janet"}, "PATCH")

    assert_page_says(page, message)
    assert api.status_code == 400
    assert api.json() == {"detail": message}
    assert state() == before
