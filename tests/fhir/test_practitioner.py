"""The clinic's staff as FHIR Practitioners: read with version, ETag and conditional read; searched by _id,
identifier and name within the clinic only; listed in the CapabilityStatement; reached by an app under
user/Practitioner.rs, and under patient/ scopes as the signed-in user's own (fhirUser) or as a member the
patient's record names. Every staff member a resource names is a Practitioner reference with their name, and the
access rule's list of them is the references the resources really make."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from needlepoint.accounts import actions as account_actions
from needlepoint.fhir import codes, records
from needlepoint.fhir.practitioner_mapping import referenced_members
from needlepoint.fhir.practitioners import named_in_records
from needlepoint.fhir.smart_pages import register_app
from needlepoint.outcomes import actions as outcome_actions
from needlepoint.outcomes.models import Source
from needlepoint.outcomes.scoring import instrument
from tests.conftest import client_for, make_member
from tests.fhir.conftest import Record, token_client
from tests.fhir.test_smart_launch import BASE, FHIR, REDIRECT, bearer, launched

USERS = codes.user_system()


def ids(response: Any) -> list[str]:
    assert response.status_code == 200, response.content
    return [e["resource"]["id"] for e in response.json().get("entry", [])]


def test_a_clinician_reads_as_a_practitioner_with_version_and_etag(clinician, colleague) -> None:
    client = token_client(clinician)
    answer = client.get(f"{BASE}/Practitioner/{colleague.pk}", **FHIR)
    assert answer.status_code == 200, answer.content
    found = answer.json()
    assert found["resourceType"] == "Practitioner" and found["id"] == str(colleague.pk)
    assert found["identifier"] == [{"use": "usual", "system": USERS, "value": str(colleague.user_id)}]
    assert found["name"] == [{"text": "Bob", "given": ["Bob"]}]
    assert found["active"] is True
    assert found["qualification"] == [{"identifier": [{"value": "DC-2"}], "code": {"text": "Chiropractor"}}]
    assert found["meta"]["versionId"] == "1" and "lastUpdated" in found["meta"]
    assert answer["ETag"] == 'W/"1"'
    assert client.get(f"{BASE}/Practitioner/{colleague.pk}", HTTP_IF_NONE_MATCH='W/"1"', **FHIR).status_code == 304
    assert client.get(f"{BASE}/Practitioner/{colleague.pk}/_history/1", **FHIR).status_code == 200


def test_front_desk_and_admins_are_practitioners_without_a_qualification(
    clinician, front_desk, clinic_admin, validator
) -> None:
    client = token_client(front_desk)  # any member reads the staff list: it holds no patient data
    for member in (front_desk, clinic_admin):
        found = client.get(f"{BASE}/Practitioner/{member.pk}", **FHIR).json()
        assert found["resourceType"] == "Practitioner" and "qualification" not in found
    staff = client.get(f"{BASE}/Practitioner", **FHIR).json()
    assert len(staff["entry"]) == 3
    assert validator.errors(staff) == []
    for entry in staff["entry"]:
        assert validator.errors(entry["resource"]) == []


def test_a_deactivated_member_stays_readable_as_inactive_in_a_new_version(clinician, colleague, clinic_admin) -> None:
    account_actions.deactivate_member(clinic_admin, colleague.pk)
    found = token_client(clinician).get(f"{BASE}/Practitioner/{colleague.pk}", **FHIR).json()
    assert found["active"] is False and found["meta"]["versionId"] == "2"


def test_another_clinics_practitioner_is_not_found(clinician, outsider) -> None:
    client = token_client(clinician)
    missing = client.get(f"{BASE}/Practitioner/{outsider.pk}", **FHIR)
    assert missing.status_code == 404 and missing.json()["resourceType"] == "OperationOutcome"
    assert ids(client.get(f"{BASE}/Practitioner", {"_id": str(outsider.pk)}, **FHIR)) == []
    assert ids(client.get(f"{BASE}/Practitioner", {"name": "charlie"}, **FHIR)) == []
    assert ids(client.get(f"{BASE}/Practitioner", {"identifier": f"{USERS}|{outsider.user_id}"}, **FHIR)) == []
    # And the outsider does not see this clinic's staff.
    assert token_client(outsider).get(f"{BASE}/Practitioner/{clinician.pk}", **FHIR).status_code == 404


def test_search_by_id_identifier_and_name(clinician, colleague, front_desk) -> None:
    client = token_client(clinician)
    everyone = ids(client.get(f"{BASE}/Practitioner", **FHIR))
    assert everyone == [str(m.pk) for m in sorted((clinician, colleague, front_desk), key=lambda m: m.pk)]
    assert ids(client.get(f"{BASE}/Practitioner", {"_id": f"{colleague.pk},{front_desk.pk}"}, **FHIR)) == [
        str(colleague.pk),
        str(front_desk.pk),
    ]
    by_identifier = {"identifier": f"{USERS}|{colleague.user_id}"}
    assert ids(client.get(f"{BASE}/Practitioner", by_identifier, **FHIR)) == [str(colleague.pk)]
    assert ids(client.get(f"{BASE}/Practitioner", {"identifier": str(colleague.user_id)}, **FHIR)) == [
        str(colleague.pk)
    ]
    assert ids(client.get(f"{BASE}/Practitioner", {"name": "BO"}, **FHIR)) == [str(colleague.pk)]
    assert ids(client.get(f"{BASE}/Practitioner", {"name": "bob,fran"}, **FHIR)) == [
        str(colleague.pk),
        str(front_desk.pk),
    ]
    assert ids(client.get(f"{BASE}/Practitioner", {"name": "zed"}, **FHIR)) == []
    refused = client.get(f"{BASE}/Practitioner", {"family:exact": "x"}, **FHIR)
    assert refused.status_code == 400


def test_the_capability_statement_lists_practitioner(db) -> None:
    statement = Client().get(f"{BASE}/metadata", **FHIR).json()
    entry = next(r for r in statement["rest"][0]["resource"] if r["type"] == "Practitioner")
    assert {p["name"] for p in entry["searchParam"]} == {"_id", "identifier", "name"}
    assert {i["code"] for i in entry["interaction"]} >= {"read", "vread", "search-type"}


@pytest.fixture
def app(clinic_admin):
    registered, _ = register_app(
        clinic_admin,
        "Staff directory",
        "public",
        "openid fhirUser launch/patient patient/*.rs patient/Practitioner.rs user/Practitioner.rs",
        REDIRECT,
    )
    return registered


def test_an_app_reads_the_staff_under_user_practitioner_scope(clinician, colleague, app) -> None:
    body = launched(clinician, app, None, "user/Practitioner.rs")
    reader = bearer(body["access_token"])
    assert reader.get(f"{BASE}/Practitioner/{colleague.pk}", **FHIR).status_code == 200
    assert str(colleague.pk) in ids(reader.get(f"{BASE}/Practitioner", {"name": "bob"}, **FHIR))


def test_a_patient_scope_reaches_the_users_own_practitioner_with_fhiruser(
    clinician, colleague, front_desk, app, record: Record
) -> None:
    # The colleague performed nothing for this patient: with fhirUser they read themselves, and no one else.
    body = launched(colleague, app, record.patient, "fhirUser launch/patient patient/*.rs")
    with_identity = bearer(body["access_token"])
    assert with_identity.get(f"{BASE}/Practitioner/{colleague.pk}", **FHIR).status_code == 200
    for url in (f"{BASE}/Practitioner/{front_desk.pk}", f"{BASE}/Practitioner?name=bob"):
        refused = with_identity.get(url, **FHIR)
        assert refused.status_code == 403 and "Practitioner" in refused.json()["issue"][0]["diagnostics"]
    without = bearer(launched(colleague, app, record.patient, "launch/patient patient/*.rs")["access_token"])
    assert without.get(f"{BASE}/Practitioner/{colleague.pk}", **FHIR).status_code == 403


def test_a_patient_scope_follows_a_procedures_performer_to_its_practitioner(
    clinician, colleague, front_desk, app, record: Record
) -> None:
    reader = bearer(launched(colleague, app, record.patient, "launch/patient patient/*.rs")["access_token"])
    procedure = reader.get(f"{BASE}/Procedure/{record.visit.pk}", **FHIR).json()
    performer = procedure["performer"][0]["actor"]
    assert performer["reference"] == f"Practitioner/{clinician.pk}" and performer["display"]
    assert reader.get(f"{BASE}/{performer['reference']}", **FHIR).status_code == 200
    # Not the rest of the staff, and no search of it.
    assert reader.get(f"{BASE}/Practitioner/{front_desk.pk}", **FHIR).status_code == 403
    assert reader.get(f"{BASE}/Practitioner", {"_id": str(clinician.pk)}, **FHIR).status_code == 403


def test_the_session_reads_practitioners_too(clinician, colleague) -> None:
    assert client_for(clinician).get(f"{BASE}/Practitioner/{colleague.pk}", **FHIR).status_code == 200


def _colleague_measures(colleague, record: Record):
    """The colleague measures a range of motion: the only thing of this record they did."""
    return outcome_actions.record_rom(
        colleague,
        record.neck,
        joint="cervical_spine",
        movement="rotation",
        side="right",
        degrees=60,
        method="goniometer",
        time_point="baseline",
    )


def test_every_staff_member_a_resource_names_is_their_practitioner_with_their_name(
    clinician, colleague, record: Record
) -> None:
    rom = _colleague_measures(colleague, record)
    everything, _ = records.everything(clinician, record.patient.pk)
    by_id = {(r["resourceType"], r["id"]): r for r in everything}
    alice = {"reference": f"Practitioner/{clinician.pk}", "display": clinician.display_name}
    bob = {"reference": f"Practitioner/{colleague.pk}", "display": colleague.display_name}
    procedure = by_id[("Procedure", str(record.visit.pk))]
    assert procedure["recorder"] == alice and procedure["performer"] == [{"actor": alice}]
    assert by_id[("Condition", str(record.neck.pk))]["recorder"] == alice
    assert by_id[("AdverseEvent", str(record.event.pk))]["recorder"] == alice
    assert by_id[("Observation", f"rom-{rom.pk}")]["performer"] == [bob]
    scores = [r for r in everything if r["id"].startswith("outcome-") and r["resourceType"] == "Observation"]
    assert scores and all(r["performer"] == [alice] for r in scores)
    responses = [r for r in everything if r["resourceType"] == "QuestionnaireResponse"]
    assert responses and all(r["author"] == alice for r in responses)
    # A consent names who consents; Needlepoint records who entered it, not a witness: no staff member is named.
    assert all(not referenced_members(r) for r in everything if r["resourceType"] == "Consent")


def test_the_access_rule_names_exactly_the_members_the_resources_reference(
    clinic, clinician, colleague, record: Record
) -> None:
    _colleague_measures(colleague, record)
    # Answers the patient gave on paper name the patient, whoever entered them.
    entering = make_member(clinic, "dana", "clinician", profession="physical_therapist")
    answers = {i.id: 2 for i in instrument("NDI").items}
    outcome_actions.record_questionnaire(
        entering, record.neck, "NDI", answers, time_point="baseline", source=Source.PATIENT
    )
    everything, _ = records.everything(clinician, record.patient.pk)
    referenced = set().union(*(referenced_members(r) for r in everything))
    assert referenced == {clinician.pk, colleague.pk}
    assert named_in_records([record.patient.pk]) == referenced


def test_a_patient_scope_follows_every_reference_to_its_practitioner(
    clinician, colleague, front_desk, app, record: Record
) -> None:
    reader = bearer(launched(clinician, app, record.patient, "launch/patient patient/*.rs")["access_token"])
    assert reader.get(f"{BASE}/Practitioner/{colleague.pk}", **FHIR).status_code == 403
    rom = _colleague_measures(colleague, record)
    observation = reader.get(f"{BASE}/Observation/rom-{rom.pk}", **FHIR).json()
    [performer] = observation["performer"]
    assert performer["reference"] == f"Practitioner/{colleague.pk}" and performer["display"]
    assert reader.get(f"{BASE}/{performer['reference']}", **FHIR).status_code == 200
    for kind, found in (("Condition", record.neck.pk), ("AdverseEvent", record.event.pk)):
        recorder = reader.get(f"{BASE}/{kind}/{found}", **FHIR).json()["recorder"]["reference"]
        assert reader.get(f"{BASE}/{recorder}", **FHIR).status_code == 200
    assert reader.get(f"{BASE}/Practitioner/{front_desk.pk}", **FHIR).status_code == 403


def test_a_performer_is_followed_only_with_procedure_scope_and_a_role_that_sees_clinical_content(
    clinician, colleague, front_desk, app, record: Record
) -> None:
    """Who needled the patient is clinical content: the front desk, and an app without Procedure read, learn
    nothing of it from the Practitioner either."""
    performer = f"{BASE}/Practitioner/{clinician.pk}"
    desk = bearer(launched(front_desk, app, record.patient, "launch/patient patient/*.rs")["access_token"])
    refused = desk.get(performer, **FHIR)
    assert refused.status_code == 403 and "Procedure" in refused.json()["issue"][0]["diagnostics"]
    scope = "launch/patient patient/Patient.rs patient/Practitioner.rs"
    no_procedures = bearer(launched(colleague, app, record.patient, scope)["access_token"])
    assert no_procedures.get(performer, **FHIR).status_code == 403
