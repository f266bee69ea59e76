"""Bulk Data Access 2.0 ($export): kick-off, polling, manifest, ndjson files read back and validated, _type and
_since, cancel, who may export, a Patient-level export of one patient, the Practitioners each level holds (the
clinic's staff, or those the returned resources reference); the worker run as its command runs it."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from needlepoint.accounts.models import AuditEntry
from needlepoint.cli import main
from needlepoint.fhir.models import ExportJob
from needlepoint.fhir.practitioner_mapping import referenced_members
from needlepoint.patients import actions
from needlepoint.patients.actions import update_patient
from tests.conftest import clear_for_needling, make_member
from tests.fhir.conftest import Record, token_client

BASE = "/fhir/R4"
ASYNC = {"HTTP_PREFER": "respond-async", "HTTP_ACCEPT": "application/fhir+json"}


@pytest.fixture(autouse=True)
def data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    return tmp_path


def kick_off(client: Client, url: str) -> str:
    """Kick off an export; the status address."""
    response = client.get(url, **ASYNC)
    assert response.status_code == 202, response.content
    return response["Content-Location"]


def run_worker() -> None:
    assert main(["fhir", "export-worker", "--once"]) == 0


def finished_manifest(client: Client, status_url: str) -> dict:
    waiting = client.get(status_url)
    assert waiting.status_code == 202
    assert waiting["X-Progress"] and int(waiting["Retry-After"]) > 0
    run_worker()
    done = client.get(status_url)
    assert done.status_code == 200, done.content
    return done.json()


def download(client: Client, manifest: dict) -> dict[str, list[dict]]:
    """Every file of the manifest, parsed line by line, by type."""
    found: dict[str, list[dict]] = {}
    for output in manifest["output"]:
        response = client.get(output["url"], HTTP_ACCEPT="application/fhir+ndjson")
        assert response.status_code == 200
        assert response["Content-Type"] == "application/fhir+ndjson"
        lines = b"".join(response.streaming_content).decode().splitlines()
        assert len(lines) == output["count"]
        found[output["type"]] = [json.loads(line) for line in lines]
    return found


def referenced(found: dict[str, list[dict]]) -> set[str]:
    """The ids of the Practitioners the exported resources (other than the Practitioners) reference."""
    return {
        str(member)
        for kind, resources in found.items()
        if kind != "Practitioner"
        for resource in resources
        for member in referenced_members(resource)
    }


def test_a_system_export_is_kicked_off_polled_and_read_back_as_valid_ndjson(
    clinic_admin, clinician, front_desk, record: Record, validator
) -> None:
    admin = token_client(clinic_admin)
    status_url = kick_off(admin, f"{BASE}/$export")
    manifest = finished_manifest(admin, status_url)
    assert manifest["requiresAccessToken"] is True and manifest["error"] == []
    assert manifest["request"].endswith("/fhir/R4/$export")
    before = AuditEntry.objects.count()
    found = download(admin, manifest)
    assert AuditEntry.objects.count() - before == len(manifest["output"])  # one entry per file downloaded
    assert set(found) == {
        "Patient",
        "Condition",
        "Consent",
        "Procedure",
        "Observation",
        "AdverseEvent",
        "QuestionnaireResponse",
        "Practitioner",
    }
    assert len(found["QuestionnaireResponse"]) == 2  # the NDI's and the pain score's item answers
    for resource_type, resources in found.items():
        for resource in resources:
            assert resource["resourceType"] == resource_type
            assert validator.errors(resource) == []
    assert [p["id"] for p in found["Patient"]] == [str(record.patient.pk)]
    assert len(found["Condition"]) == 2 and len(found["Consent"]) == 2
    # The clinic's export holds its whole staff, and so every Practitioner the records reference.
    staff = {p["id"] for p in found["Practitioner"]}
    assert staff == {str(m.pk) for m in (clinic_admin, clinician, front_desk)}
    assert referenced(found) == {str(clinician.pk)}
    export = AuditEntry.objects.filter(action="export", patient_id=record.patient.pk, object_type="fhir.ExportJob")
    assert export.count() == 1  # the run is in the patient's trail


def test_type_and_since_keep_only_what_was_asked(clinic_admin, clinician, record: Record) -> None:
    admin = token_client(clinic_admin)
    manifest = finished_manifest(admin, kick_off(admin, f"{BASE}/$export?_type=Patient,AdverseEvent"))
    assert sorted(o["type"] for o in manifest["output"]) == ["AdverseEvent", "Patient"]

    time.sleep(1.1)  # lastUpdated is to the second: the change below is after the record was made
    since = timezone.now().replace(microsecond=0)
    time.sleep(1.1)
    patient = record.patient
    data = {f: getattr(patient, f) for f in ("given_name", "family_name", "date_of_birth", "sex")}
    update_patient(clinician, patient.pk, data | {"phone": "555 0100"}, patient.version)
    since_text = since.isoformat().replace("+00:00", "Z")
    manifest = finished_manifest(admin, kick_off(admin, f"{BASE}/$export?_since={since_text}"))
    assert [(o["type"], o["count"]) for o in manifest["output"]] == [("Patient", 1)]  # only what changed since
    later = timezone.now() + timedelta(minutes=5)
    refused = admin.get(f"{BASE}/$export", {"_since": later.isoformat()}, **ASYNC)
    assert refused.status_code == 400 and refused.json()["resourceType"] == "OperationOutcome"
    unknown = admin.get(f"{BASE}/$export?_type=Organization", **ASYNC)
    assert unknown.status_code == 400
    assert "Organization cannot be exported" in unknown.json()["issue"][0]["diagnostics"]
    assert "Practitioner" in unknown.json()["issue"][0]["diagnostics"]


def test_a_system_export_of_practitioners_is_the_clinics_staff(
    clinic_admin, clinician, colleague, outsider, record: Record, validator
) -> None:
    admin = token_client(clinic_admin)
    found = download(admin, finished_manifest(admin, kick_off(admin, f"{BASE}/$export?_type=Practitioner")))
    assert set(found) == {"Practitioner"}
    assert [p["id"] for p in found["Practitioner"]] == [
        str(m.pk) for m in sorted((clinician, colleague, clinic_admin), key=lambda m: m.pk)
    ]
    assert all(validator.errors(p) == [] for p in found["Practitioner"])
    assert str(outsider.pk) not in {p["id"] for p in found["Practitioner"]}


def test_a_patient_or_group_export_holds_the_practitioners_its_resources_reference(
    clinic_admin, clinician, colleague, record: Record
) -> None:
    admin = token_client(clinic_admin)
    group = download(admin, finished_manifest(admin, kick_off(admin, f"{BASE}/Group/condition-neck-pain/$export")))
    # The clinician who signed, opened, recorded and measured; not the colleague, who did nothing for the patient.
    assert [p["id"] for p in group["Practitioner"]] == [str(clinician.pk)]
    assert referenced(group) == {str(clinician.pk)}
    adverse = download(
        admin, finished_manifest(admin, kick_off(admin, f"{BASE}/Patient/$export?_type=AdverseEvent,Practitioner"))
    )
    assert set(adverse) == {"AdverseEvent", "Practitioner"}
    assert [p["id"] for p in adverse["Practitioner"]] == [str(clinician.pk)]
    # _type is obeyed: no Practitioner file unless asked, nor when nothing returned references one.
    assert set(
        download(admin, finished_manifest(admin, kick_off(admin, f"{BASE}/Patient/$export?_type=Procedure")))
    ) == {"Procedure"}
    consents = download(
        admin, finished_manifest(admin, kick_off(admin, f"{BASE}/Patient/$export?_type=Consent,Practitioner"))
    )
    assert set(consents) == {"Consent"}
    # Practitioners alone are not a patient's data: refused at the Patient and Group levels, nothing queued.
    jobs = ExportJob.objects.count()
    for url in (f"{BASE}/Patient/$export", f"{BASE}/Group/condition-neck-pain/$export"):
        refused = admin.get(f"{url}?_type=Practitioner", **ASYNC)
        assert refused.status_code == 400 and "system-level" in refused.json()["issue"][0]["diagnostics"]
    assert ExportJob.objects.count() == jobs


def test_a_referenced_practitioner_comes_with_its_resource_whenever_it_changed(
    clinic_admin, clinician, colleague, record: Record
) -> None:
    from needlepoint.outcomes import actions as outcome_actions

    time.sleep(1.1)  # lastUpdated is to the second
    since = timezone.now().replace(microsecond=0)
    time.sleep(1.1)
    outcome_actions.record_rom(
        colleague,
        record.neck,
        joint="cervical_spine",
        movement="rotation",
        side="right",
        degrees=60,
        method="goniometer",
        time_point="baseline",
    )
    admin = token_client(clinic_admin)
    since_text = since.isoformat().replace("+00:00", "Z")
    patients = download(admin, finished_manifest(admin, kick_off(admin, f"{BASE}/Patient/$export?_since={since_text}")))
    assert [(r["id"].split("-")[0]) for r in patients["Observation"]] == ["rom"]
    assert [p["id"] for p in patients["Practitioner"]] == [str(colleague.pk)]  # unchanged since, but referenced
    system = download(admin, finished_manifest(admin, kick_off(admin, f"{BASE}/$export?_since={since_text}")))
    assert [p["id"] for p in system["Practitioner"]] == [str(colleague.pk)]


def test_a_kick_off_needs_prefer_respond_async(clinic_admin, record: Record) -> None:
    response = token_client(clinic_admin).get(f"{BASE}/$export", HTTP_ACCEPT="application/fhir+json")
    assert response.status_code == 400
    assert ExportJob.objects.count() == 0


def test_a_cancelled_export_is_gone(clinic_admin, record: Record) -> None:
    admin = token_client(clinic_admin)
    status_url = kick_off(admin, f"{BASE}/$export")
    assert admin.delete(status_url).status_code == 202
    run_worker()
    assert admin.get(status_url).status_code == 410
    assert ExportJob.objects.get().status == ExportJob.Status.CANCELLED

    status_url = kick_off(admin, f"{BASE}/$export")
    manifest = finished_manifest(admin, status_url)
    file_url = manifest["output"][0]["url"]
    assert admin.delete(status_url).status_code == 202
    assert admin.get(file_url).status_code == 410


def test_an_expired_export_answers_410(clinic_admin, record: Record, data_dir) -> None:
    admin = token_client(clinic_admin)
    status_url = kick_off(admin, f"{BASE}/$export")
    manifest = finished_manifest(admin, status_url)
    ExportJob.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    run_worker()  # deletes the expired files
    assert admin.get(status_url).status_code == 410
    assert admin.get(manifest["output"][0]["url"]).status_code == 410
    assert not (data_dir / "exports" / str(ExportJob.objects.get().id)).exists()


def test_another_clinics_admin_and_the_front_desk_are_refused(
    clinic_admin, front_desk, clinician, other_clinic, record: Record
) -> None:
    admin = token_client(clinic_admin)
    status_url = kick_off(admin, f"{BASE}/$export")
    manifest = finished_manifest(admin, status_url)
    stranger = token_client(make_member(other_clinic, "olga", "clinic_admin"))
    assert stranger.get(status_url).status_code == 404
    assert stranger.delete(status_url).status_code == 404
    assert stranger.get(manifest["output"][0]["url"]).status_code == 404
    for member in (front_desk, clinician):
        refused = token_client(member)
        assert refused.get(f"{BASE}/$export", **ASYNC).status_code == 403
        assert refused.get(status_url).status_code == 403
        assert refused.get(manifest["output"][0]["url"]).status_code == 403
    assert Client().get(status_url).status_code == 401
    assert ExportJob.objects.count() == 1


def test_a_patient_level_export_of_one_patient(clinic_admin, clinician, record: Record) -> None:
    other = actions.register_patient(
        clinician,
        {"given_name": "Sam", "family_name": "Roe", "date_of_birth": record.patient.date_of_birth, "sex": "male"},
    )
    clear_for_needling(clinician, other)
    admin = token_client(clinic_admin)
    body = {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "patient", "valueReference": {"reference": f"Patient/{record.patient.pk}"}},
            {"name": "_type", "valueString": "Patient,Consent"},
        ],
    }
    response = admin.post(f"{BASE}/Patient/$export", body, content_type="application/fhir+json", **ASYNC)
    assert response.status_code == 202, response.content
    found = download(admin, finished_manifest(admin, response["Content-Location"]))
    assert [p["id"] for p in found["Patient"]] == [str(record.patient.pk)]
    assert {c["patient"]["reference"] for c in found["Consent"]} == {f"Patient/{record.patient.pk}"}

    everyone = download(admin, finished_manifest(admin, kick_off(admin, f"{BASE}/Patient/$export?_type=Patient")))
    assert {p["id"] for p in everyone["Patient"]} == {str(record.patient.pk), str(other.pk)}


def test_a_group_is_the_patients_of_one_condition(clinic_admin, clinician, record: Record) -> None:
    actions.register_patient(
        clinician,
        {"given_name": "Sam", "family_name": "Roe", "date_of_birth": record.patient.date_of_birth, "sex": "male"},
    )
    admin = token_client(clinic_admin)
    found = download(admin, finished_manifest(admin, kick_off(admin, f"{BASE}/Group/condition-neck-pain/$export")))
    assert [p["id"] for p in found["Patient"]] == [str(record.patient.pk)]
    assert admin.get(f"{BASE}/Group/condition-gout/$export", **ASYNC).status_code == 404
    statement = Client().get(f"{BASE}/metadata").json()
    group = next(r for r in statement["rest"][0]["resource"] if r["type"] == "Group")
    assert "Group/condition-neck-pain" in group["documentation"]
