"""The demographics a FHIR import brings are editable too: the registration and edit forms take the name prefix,
the address in parts, marital status, race, ethnicity and birth sex, refused on the server when not a known code;
the patient page shows them and the identifiers from other systems, a Social Security number only masked."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from needlepoint.patients import actions
from needlepoint.patients.models import Patient, PatientIdentifier
from tests.conftest import audit_lock_queries, client_for
from tests.patients.test_query_counts import PAGE_BUDGET, add_history, queries_for

pytestmark = pytest.mark.django_db
SSN = "999-55-2827"
FORM = {
    "given_name": "Alexia",
    "family_name": "Senger",
    "date_of_birth": "1958-03-14",
    "sex": "female",
    "preferred_language": "en",
}
SYNTHEA_IDENTIFIERS = [
    {"system": "https://github.com/synthetichealth/synthea", "value": "a5f5a550"},
    {
        "system": "http://hl7.org/fhir/sid/us-ssn",
        "value": SSN,
        "type_system": "http://terminology.hl7.org/CodeSystem/v2-0203",
        "type_code": "SS",
        "type_text": "Social Security Number",
    },
    {
        "system": "urn:oid:2.16.840.1.113883.4.3.25",
        "value": "S99991651",
        "type_system": "http://terminology.hl7.org/CodeSystem/v2-0203",
        "type_code": "DL",
        "type_text": "Driver's License",
    },
]


def register(clinician, given: str = "Alexia") -> Patient:
    return actions.register_patient(
        clinician, {"given_name": given, "family_name": "Senger", "date_of_birth": date(1958, 3, 14)}
    )


def test_registration_keeps_every_new_demographic_and_the_page_shows_them(clinician) -> None:
    client = client_for(clinician)
    form = FORM | {
        "name_prefix": "Ms.",
        "address": "183 Muller Manor\nUnit 2",
        "address_city": "Somerville",
        "address_state": "MA",
        "address_postal_code": "02138",
        "address_country": "US",
        "marital_status": "S",
        "race_codes": ["2028-9", "2106-3"],
        "race_text": "Korean and Irish",
        "ethnicity_code": "ASKU",
        "birth_sex": "F",
    }

    response = client.post("/patients/new/", form)

    assert response.status_code == 302, response.content.decode()[:3000]
    patient = Patient.objects.get()
    assert (patient.name_prefix, patient.address, patient.address_city, patient.address_postal_code) == (
        "Ms.",
        "183 Muller Manor\nUnit 2",
        "Somerville",
        "02138",
    )
    assert (patient.marital_status, patient.race_codes, patient.ethnicity_code, patient.birth_sex) == (
        "S",
        ["2028-9", "2106-3"],
        "ASKU",
        "F",
    )
    page = client.get(f"/patients/{patient.pk}/").content.decode()
    assert "Never Married" in page and "Asian, White (Korean and Irish)" in page
    assert "Asked, no answer (declined)" in page and "183 Muller Manor<br>Unit 2<br>Somerville, MA 02138" in page


def test_the_edit_form_shows_and_changes_them(clinician) -> None:
    patient = register(clinician)
    client = client_for(clinician)
    form = FORM | {"version": patient.version, "marital_status": "W", "race_codes": ["UNK"], "birth_sex": "UNK"}

    assert client.post(f"/patients/{patient.pk}/edit/", form).status_code == 302
    edit = client.get(f"/patients/{patient.pk}/edit/").content.decode()

    patient.refresh_from_db()
    assert (patient.marital_status, patient.race_codes, patient.birth_sex) == ("W", ["UNK"], "UNK")
    assert '<input type="checkbox" name="race_codes" value="UNK" id="id_race_codes_6" checked>' in edit
    assert '<option value="W" selected>Widowed' in edit


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"race_codes": ["2106-3", "ASKU"]}, "race_codes", "stands alone"),
        ({"race_codes": ["1234-5"]}, "race_codes", "not one of the available choices"),
        ({"marital_status": "X"}, "marital_status", "not one of the available choices"),
        ({"ethnicity_code": "2106-3"}, "ethnicity_code", "not one of the available choices"),
        ({"birth_sex": "female"}, "birth_sex", "not one of the available choices"),
        ({"name_prefix": "M" * 41}, "name_prefix", "at most 40 characters"),
        ({"address_postal_code": "0" * 21}, "address_postal_code", "at most 20 characters"),
    ],
)
def test_the_form_refuses_what_is_not_a_known_code_and_saves_nothing(clinician, change, field, words) -> None:
    response = client_for(clinician).post("/patients/new/", FORM | change)

    assert response.status_code == 200
    assert words in str(response.context["form"].errors[field]).lower().replace("&quot;", "")
    assert not Patient.objects.exists()


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"race_codes": ["2106-3", "2106-3"]}, "race_codes"),
        ({"race_codes": ["1002-5", "2028-9", "2054-5", "2076-8", "2106-3", "UNK"]}, "race_codes"),
        ({"race_codes": "2106-3"}, "race_codes"),
        ({"ethnicity_code": "2106-3"}, "ethnicity_code"),
        ({"marital_status": "married"}, "marital_status"),
        ({"birth_sex": "X"}, "birth_sex"),
        ({"race_text": "x" * 201}, "race_text"),
    ],
)
def test_the_action_refuses_them_whatever_sent_them(clinician, data: dict[str, Any], field: str) -> None:
    base = {"given_name": "Ann", "family_name": "Lee", "date_of_birth": date(1980, 1, 1)}

    with pytest.raises(ValidationError) as refused:
        actions.register_patient(clinician, base | data)

    assert field in refused.value.message_dict
    assert not Patient.objects.exists()


def test_identifiers_are_shown_by_name_and_an_ssn_only_masked(clinician, clinic_admin, keeps_ssns) -> None:
    patient = register(clinician)
    actions.keep_identifiers(clinician, patient, SYNTHEA_IDENTIFIERS, source="FHIR import")

    pages = [
        client_for(clinician).get(f"/patients/{patient.pk}/").content.decode(),
        client_for(clinician).get(f"/patients/{patient.pk}/edit/").content.decode(),
        client_for(clinic_admin).get("/audit/").content.decode(),
    ]

    chart = pages[0]
    assert "US Social Security number" in chart and "•••-••-2827" in chart
    assert "Driver&#x27;s license number" in chart and "S99991651" in chart
    assert "Synthea record id (synthetic data)" in chart and "FHIR import" in chart
    for page in pages:
        assert SSN not in page and "55-2827" not in page and "999552827" not in page


def test_identifiers_kept_twice_or_without_a_system_are_refused_and_none_kept(clinician) -> None:
    patient = register(clinician)
    actions.keep_identifiers(clinician, patient, SYNTHEA_IDENTIFIERS[:1], source="FHIR import")

    for bad in ([SYNTHEA_IDENTIFIERS[1], SYNTHEA_IDENTIFIERS[0]], [{"system": "", "value": "1"}]):
        with pytest.raises(ValidationError):
            actions.keep_identifiers(clinician, patient, bad, source="FHIR import")

    assert PatientIdentifier.objects.filter(patient=patient).count() == 1


def test_the_patient_page_costs_the_same_with_many_identifiers(clinician, keeps_ssns) -> None:
    none, many = register(clinician, "None"), register(clinician, "Many")
    for patient in (none, many):
        add_history(clinician, patient, 2)
    more = [{"system": f"https://example.org/system-{n}", "value": f"V{n}"} for n in range(6)]
    actions.keep_identifiers(clinician, many, SYNTHEA_IDENTIFIERS + more, source="FHIR import")
    client = client_for(clinician)
    queries_for(client, f"/patients/{none.pk}/")

    assert (
        queries_for(client, f"/patients/{many.pk}/")
        == queries_for(client, f"/patients/{none.pk}/")
        <= (PAGE_BUDGET + audit_lock_queries())
    )


def test_the_api_takes_and_gives_the_coded_demographics_and_refuses_an_unknown_code(front_desk) -> None:
    from tests.patients.test_actions_bad_input import API, api_post

    client = client_for(front_desk)
    body = {
        **FORM,
        "name_prefix": "Ms.",
        "address": "183 Muller Manor",
        "address_city": "Somerville",
        "address_state": "MA",
        "address_postal_code": "02138",
        "address_country": "US",
        "marital_status": "S",
        "race_codes": ["2106-3", "2028-9"],
        "race_text": "White and Asian",
        "ethnicity_code": "2186-5",
        "birth_sex": "F",
    }
    refused = api_post(client, API, {**body, "race_codes": ["2135-2"]})  # an ethnicity code sent as a race
    assert refused.status_code in (400, 422), refused.content
    assert "race" in refused.content.decode().lower()
    assert not Patient.objects.exists()

    created = api_post(client, API, body)
    assert created.status_code == 201, created.content
    given = created.json()
    assert {k: given[k] for k in body if k not in FORM} == {k: v for k, v in body.items() if k not in FORM}

    changed = api_post(client, f"{API}/{given['id']}", {"version": given["version"], "birth_sex": "UNK"}, "PATCH")
    assert changed.status_code == 200, changed.content
    assert (changed.json()["birth_sex"], changed.json()["race_codes"]) == ("UNK", ["2106-3", "2028-9"])
    assert Patient.objects.get().address_city == "Somerville"  # untouched by the change of another field
