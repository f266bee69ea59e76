"""One audit entry per event: a write leaves exactly one entry (not a read plus the save plus a hand-written
one), a refused write leaves only the read it made, a list names the patients it showed, and a probe of
another clinic's record is recorded as refused."""

from __future__ import annotations

import json

from needlepoint.accounts.models import AuditEntry
from needlepoint.patients.models import Episode
from needlepoint.visits import actions as visit_actions
from tests.accounts.test_access_matrix import api_client
from tests.conftest import all_no, client_for
from tests.visits.visit_helpers import open_neck_episode

NECK = {"condition": "neck_pain", "icd10_code": "M54.2", "side": "central", "onset_date": "2024-01-05"}


def after(mark: int) -> list[tuple[str, str, int | None]]:
    return list(
        AuditEntry.objects.filter(pk__gt=mark).order_by("pk").values_list("action", "object_type", "patient_id")
    )


def mark() -> int:
    return AuditEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def test_opening_an_episode_on_the_page_leaves_one_entry(clinician, patient) -> None:
    before = mark()

    client_for(clinician).post(f"/patients/{patient.pk}/episodes/new/", NECK)

    assert after(before) == [("create", "patients.Episode", patient.pk)]


def test_screening_on_the_page_leaves_one_entry(clinician, patient) -> None:
    before = mark()

    client_for(clinician).post(f"/patients/{patient.pk}/screening/new/", all_no())

    assert after(before) == [("create", "patients.Screening", patient.pk)]


def test_a_write_through_the_api_leaves_one_entry(clinician, patient) -> None:
    client = api_client(clinician)
    before = mark()

    response = client.post(f"/api/v1/patients/{patient.pk}/episodes", json.dumps(NECK), content_type="application/json")

    assert response.status_code == 201
    assert after(before) == [("create", "patients.Episode", patient.pk)]


def test_taking_over_a_visit_leaves_one_entry_that_says_so(clinician, colleague, cleared_patient) -> None:
    visit = visit_actions.start_visit(clinician, open_neck_episode(clinician, cleared_patient), {})
    before = mark()

    response = client_for(colleague).post(f"/visits/{visit.pk}/take-over/", {"version": visit.version})

    assert response.status_code in (200, 302)
    entries = list(AuditEntry.objects.filter(pk__gt=before))
    assert [(e.action, e.object_type) for e in entries] == [("update", "visits.Visit")]
    assert entries[0].summary.startswith("visit taken over from")


def test_a_refused_write_leaves_only_the_read(clinician, patient) -> None:
    before = mark()

    response = client_for(clinician).post(f"/patients/{patient.pk}/episodes/new/", NECK | {"icd10_code": "nonsense"})

    assert response.status_code == 200
    assert not Episode.objects.exists()
    assert [action for action, _, _ in after(before)] == ["read"]


def test_the_dashboard_records_one_read_naming_the_patients_it_lists(clinician, cleared_patient) -> None:
    visit_actions.start_visit(clinician, open_neck_episode(clinician, cleared_patient), {})
    before = mark()

    client_for(clinician).get("/")

    entries = list(AuditEntry.objects.filter(pk__gt=before))
    assert len(entries) == 1 and entries[0].action == "read"
    assert f"patients {cleared_patient.pk}" in entries[0].summary


def test_the_api_visit_list_and_open_adverse_events_are_recorded(clinician, cleared_patient) -> None:
    visit_actions.start_visit(clinician, open_neck_episode(clinician, cleared_patient), {})
    client = api_client(clinician)

    for url in (f"/api/v1/visits?patient_id={cleared_patient.pk}", "/api/v1/visits/adverse-events/open"):
        before = mark()
        assert client.get(url).status_code == 200
        entries = list(AuditEntry.objects.filter(pk__gt=before))
        assert [(e.action, e.via, e.user_id) for e in entries] == [("read", "api", clinician.user_id)], url


def test_a_probe_of_another_clinics_patient_is_recorded_as_refused(outsider, patient) -> None:
    for client, url in (
        (client_for(outsider), f"/patients/{patient.pk}/"),
        (api_client(outsider), f"/api/v1/patients/{patient.pk}"),
        (client_for(outsider), f"/fhir/R4/Patient/{patient.pk}"),
    ):
        before = mark()
        assert client.get(url).status_code == 404
        entries = list(AuditEntry.objects.filter(pk__gt=before))
        assert len(entries) == 1, url
        refused = entries[0]
        assert refused.action == "denied" and refused.user_id == outsider.user_id
        assert refused.clinic_id == outsider.clinic_id
        assert refused.summary == f"not found in this clinic: patients.Patient {patient.pk}"
        assert refused.patient_id is None  # the other clinic's patient is not named in this clinic's trail
        assert (refused.object_type, refused.object_id) == ("patients.Patient", str(patient.pk))


def test_a_fhir_import_leaves_one_entry_that_says_what_came_in(clinician) -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": "urn:uuid:11111111-1111-4111-8111-111111111111",
                "resource": {
                    "resourceType": "Patient",
                    "name": [{"family": "Import", "given": ["Iris"]}],
                    "birthDate": "1975-04-03",
                    "gender": "female",
                },
                "request": {"method": "POST", "url": "Patient"},
            },
            {
                "resource": {
                    "resourceType": "Observation",
                    "status": "final",
                    "code": {"coding": [{"system": "http://loinc.org", "code": "72514-3"}]},
                    "subject": {"reference": "urn:uuid:11111111-1111-4111-8111-111111111111"},
                    "effectiveDateTime": "2024-02-01T10:00:00+00:00",
                    "valueQuantity": {"value": 6, "unit": "{score}"},
                },
                "request": {"method": "POST", "url": "Observation"},
            },
        ],
    }
    client = api_client(clinician)
    before = mark()

    response = client.post(
        "/fhir/R4", json.dumps(bundle), content_type="application/fhir+json", HTTP_ACCEPT="application/fhir+json"
    )

    assert response.status_code == 200, response.content
    entries = list(AuditEntry.objects.filter(pk__gt=before))
    assert [(e.action, e.object_type, e.via) for e in entries] == [("create", "fhir.Bundle", "api")]
    assert entries[0].summary == "FHIR import: patient, 0 condition(s), 1 pain rating(s), 0 entries ignored"


def test_the_audit_page_says_a_probe_was_not_found_in_this_clinic(outsider, patient) -> None:
    from needlepoint.accounts.audit_words import describe_entries
    from tests.conftest import make_member

    client_for(outsider).get(f"/patients/{patient.pk}/")
    owner = make_member(outsider.clinic, "olga", "clinic_admin")

    described = describe_entries(list(AuditEntry.objects.filter(action="denied")), owner)

    assert [(d.action, d.record.words if d.record else None, d.details) for d in described] == [
        ("Refused: not found in this clinic", f"Patient {patient.pk}", "")
    ]
