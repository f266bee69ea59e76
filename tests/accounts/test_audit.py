"""The audit trail: every create, read and update of patient data, with who, what, which, when and from where;
append-only for every role and every client; clinic admins view, filter and export it."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from needlepoint.accounts.actions import create_api_token
from needlepoint.accounts.models import AuditEntry
from needlepoint.patients.models import Consent, Episode, Patient, Screening
from tests.conftest import all_no, client_for

NEW_PATIENT = {"given_name": "Sam", "family_name": "Lee", "date_of_birth": "1990-02-03", "sex": "male"}
NECK = {"condition": "neck_pain", "icd10_code": "M54.2", "side": "central", "onset_date": "2024-01-05"}


def entries(**filters):
    return list(AuditEntry.objects.filter(**filters).order_by("pk"))


def the_one(**filters) -> AuditEntry:
    found = entries(**filters)
    assert len(found) == 1, [(e.action, e.object_type, e.summary) for e in found]
    return found[0]


def test_registering_a_patient_records_who_what_which_when_and_where(clinician) -> None:
    started = timezone.now()

    client_for(clinician).post("/patients/new/", NEW_PATIENT, REMOTE_ADDR="192.0.2.10")

    patient = Patient.objects.get()
    entry = the_one(action="create", object_type="patients.Patient")
    assert entry.user == clinician.user
    assert entry.clinic_id == clinician.clinic_id
    assert entry.object_id == str(patient.pk)
    assert entry.patient_id == patient.pk
    assert entry.summary == f"patient {patient.mrn}"
    assert entry.via == "web"
    assert entry.client_address == "192.0.2.10"
    assert started <= entry.at <= timezone.now()


def test_opening_the_patient_page_records_a_read(front_desk, patient) -> None:
    client_for(front_desk).get(f"/patients/{patient.pk}/", REMOTE_ADDR="192.0.2.11")

    entry = the_one(action="read", user=front_desk.user)
    assert (entry.object_type, entry.patient_id, entry.client_address) == (
        "patients.Patient",
        patient.pk,
        "192.0.2.11",
    )


def test_editing_a_patient_records_an_update(clinic_admin, patient) -> None:
    edit = {"given_name": "Jane", "family_name": "Doe", "date_of_birth": "1980-05-17", "sex": "female"}

    client_for(clinic_admin).post(f"/patients/{patient.pk}/edit/", edit | {"phone": "+1 555 0100", "version": 1})

    entry = the_one(action="update", user=clinic_admin.user)
    assert (entry.object_type, entry.patient_id) == ("patients.Patient", patient.pk)


def test_screening_consent_and_episode_writes_are_recorded_against_the_patient(clinician, patient) -> None:
    client = client_for(clinician)
    client.post(f"/patients/{patient.pk}/screening/new/", all_no() | {"diabetes": "yes"})
    client.post(f"/patients/{patient.pk}/consent/new/", {"signed_name": "Jane Doe", "text_version": 1})
    client.post(f"/patients/{patient.pk}/episodes/new/", NECK)
    screening, consent, episode = Screening.objects.get(), Consent.objects.get(), Episode.objects.get()
    client.post(f"/patients/{patient.pk}/screening/{screening.pk}/", {"note": "Check glucose first."})
    client.post(f"/patients/{patient.pk}/consent/{consent.pk}/withdraw/", {"reason": "Changed mind"})
    today = timezone.localdate().isoformat()
    client.post(f"/patients/{patient.pk}/episodes/{episode.pk}/", {"discharge_date": today, "reason": "goals_met"})

    writes = [
        (e.action, e.object_type, e.object_id, e.summary)
        for e in entries(patient_id=patient.pk, action__in=("create", "update"), user=clinician.user)
        if e.object_type != "patients.Patient"
    ]
    assert writes == [
        ("create", "patients.Screening", str(screening.pk), "screening cleared_with_precautions"),
        ("create", "patients.Consent", str(consent.pk), "consent signed"),
        ("create", "patients.Episode", str(episode.pk), "episode neck_pain open"),
        ("update", "patients.Screening", str(screening.pk), "screening cleared_with_precautions"),
        ("update", "patients.Consent", str(consent.pk), "consent withdrawn"),
        ("update", "patients.Episode", str(episode.pk), "episode neck_pain discharged"),
    ]


def test_opening_a_screening_records_a_read_of_that_screening(clinician, cleared_patient) -> None:
    screening = Screening.objects.get()

    client_for(clinician).get(f"/patients/{cleared_patient.pk}/screening/{screening.pk}/")

    entry = the_one(action="read", object_type="patients.Screening")
    assert (entry.object_id, entry.patient_id, entry.user) == (str(screening.pk), cleared_patient.pk, clinician.user)


def test_a_search_is_recorded_without_naming_patients(clinician, patient) -> None:
    client_for(clinician).get("/patients/?q=doe")

    entry = the_one(action="search")
    assert entry.summary == "patient search (1 found)"
    assert entry.patient_id is None
    assert "doe" not in entry.summary.lower()


def test_a_refusal_is_recorded(front_desk, cleared_patient) -> None:
    screening = Screening.objects.get()

    client_for(front_desk).get(f"/patients/{cleared_patient.pk}/screening/{screening.pk}/")

    entry = the_one(action="denied")
    assert entry.user == front_desk.user
    assert entry.summary == "missing view_clinical"


def test_api_reads_and_writes_are_recorded_as_api(clinician, patient) -> None:
    _, raw = create_api_token(clinician, "sync")
    from django.test import Client

    client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}", REMOTE_ADDR="192.0.2.77")
    client.get(f"/api/v1/patients/{patient.pk}")
    client.post(f"/api/v1/patients/{patient.pk}/episodes", json.dumps(NECK), content_type="application/json")

    read = the_one(action="read", via="api", summary="patient (view_demographics)")
    created = the_one(action="create", object_type="patients.Episode")
    assert read.client_address == created.client_address == "192.0.2.77"
    assert created.via == "api"
    assert read.user == created.user == clinician.user


def test_the_address_is_the_one_the_server_saw_not_a_forwarded_header(clinician, patient) -> None:
    client_for(clinician).get(f"/patients/{patient.pk}/", REMOTE_ADDR="192.0.2.5", HTTP_X_FORWARDED_FOR="10.9.9.9")

    assert the_one(action="read").client_address == "192.0.2.5"


# Append-only


@pytest.fixture
def entry(clinician, patient) -> AuditEntry:
    return AuditEntry.objects.filter(patient_id=patient.pk).first()


def test_an_entry_cannot_be_changed_or_deleted_through_the_model(entry) -> None:
    entry.summary = "nothing happened"
    with pytest.raises(PermissionError):
        entry.save()
    with pytest.raises(PermissionError):
        entry.delete()
    with pytest.raises(PermissionError):
        AuditEntry.objects.filter(pk=entry.pk).update(summary="nothing happened")
    with pytest.raises(PermissionError):
        AuditEntry.objects.filter(pk=entry.pk).delete()


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE accounts_auditentry SET summary = 'nothing happened' WHERE id = %s",
        "DELETE FROM accounts_auditentry WHERE id = %s",
    ],
    ids=["update", "delete"],
)
def test_the_database_refuses_to_change_or_delete_an_entry(entry, statement: str) -> None:
    with (
        pytest.raises(DatabaseError, match="audit entries cannot be"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement, [entry.pk])

    assert AuditEntry.objects.get(pk=entry.pk).summary == entry.summary


def test_no_page_edits_or_deletes_the_trail(clinic_admin, entry) -> None:
    client = client_for(clinic_admin)

    assert client.get(f"/audit/{entry.pk}/").status_code == 404
    assert client.post("/audit/", {"delete": entry.pk}).status_code in (200, 405)
    assert client.get("/admin/").status_code == 404
    assert AuditEntry.objects.filter(pk=entry.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_wiping_the_whole_database_leaves_the_trail_append_only_afterwards(clinician, patient) -> None:
    call_command("flush", interactive=False, verbosity=0)
    assert not AuditEntry.objects.exists()

    AuditEntry.objects.create(action="read", summary="after the flush")
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM accounts_auditentry")
    assert AuditEntry.objects.count() == 1


# Viewing, filtering and exporting (clinic admins)


@pytest.fixture
def trail(clinician, front_desk, patient) -> None:
    client_for(front_desk).get(f"/patients/{patient.pk}/")
    client_for(clinician).get("/patients/?q=doe")
    client_for(clinician).post(f"/patients/{patient.pk}/episodes/new/", NECK)


def test_a_clinic_admin_sees_the_clinics_trail(clinic_admin, patient, trail) -> None:
    page = client_for(clinic_admin).get("/audit/").content.decode()

    assert "fran" in page
    assert "patient search (1 found)" in page
    assert "Episode: Neck pain (central / not sided), M54.2" in page
    assert f'<a href="/patients/{patient.pk}/">Patient Jane Doe (MRN {patient.mrn})</a>' in page


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"action": "search"}, {("alice", "search")}),
        ({"user": "FRAN"}, {("fran", "read")}),
        ({"action": "create", "user": "alice"}, {("alice", "create")}),
    ],
)
def test_a_clinic_admin_filters_the_trail(clinic_admin, trail, params, expected) -> None:
    rows = export(clinic_admin, params)

    assert {(r["user"], r["action"]) for r in rows} == expected


def test_a_clinic_admin_filters_by_patient(clinic_admin, clinician, patient, trail) -> None:
    rows = export(clinic_admin, {"patient": patient.pk})

    assert rows
    assert {r["patient_id"] for r in rows} == {str(patient.pk)}
    assert export(clinic_admin, {"patient": "not-a-number"}) == []


def test_a_clinic_admin_filters_by_date(clinic_admin, trail) -> None:
    today = timezone.localdate()

    assert export(clinic_admin, {"from": today.isoformat(), "to": today.isoformat()})
    assert export(clinic_admin, {"to": (today - timedelta(days=1)).isoformat()}) == []
    assert export(clinic_admin, {"from": (today + timedelta(days=1)).isoformat()}) == []


def export(admin, params) -> list[dict[str, str]]:
    response = client_for(admin).get("/audit.csv", params)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv"
    text = b"".join(response.streaming_content).decode()
    return [r for r in csv.DictReader(io.StringIO(text)) if r["action"] != "export"]


def test_the_csv_export_has_every_column_and_is_itself_recorded(clinic_admin, trail) -> None:
    response = client_for(clinic_admin).get("/audit.csv", REMOTE_ADDR="192.0.2.99")
    text = b"".join(response.streaming_content).decode()
    reader = csv.DictReader(io.StringIO(text))

    assert reader.fieldnames == [
        "time",
        "user",
        "actor",
        "action",
        "object_type",
        "object_id",
        "patient_id",
        "summary",
        "via",
        "client_address",
        "action_in_words",
        "record_in_words",
        "patient_in_words",
    ]
    rows = list(reader)
    assert {"read", "search", "create"} <= {r["action"] for r in rows}
    assert response["Content-Disposition"] == 'attachment; filename="audit-trail.csv"'
    exported = the_one(action="export")
    assert (exported.user, exported.client_address) == (clinic_admin.user, "192.0.2.99")


def test_the_api_gives_clinic_admins_the_newest_entries_first(clinic_admin, patient, trail) -> None:
    from django.test import Client

    _, raw = create_api_token(clinic_admin, "compliance")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")

    newest = client.get("/api/v1/audit", {"limit": 2}).json()
    for_patient = client.get("/api/v1/audit", {"patient_id": patient.pk, "limit": 1000}).json()

    assert len(newest) == 2
    assert newest[0]["at"] >= newest[1]["at"]
    assert for_patient and {e["patient_id"] for e in for_patient} == {patient.pk}
    assert set(newest[0]) == {
        "at",
        "user",
        "action",
        "object_type",
        "object_id",
        "patient_id",
        "summary",
        "via",
        "client_address",
    }


def test_the_audit_page_pages_a_long_trail(clinic_admin, patient) -> None:
    AuditEntry.objects.bulk_create(
        [AuditEntry(clinic_id=patient.clinic_id, action="read", summary=f"read {n}") for n in range(120)]
    )

    first = client_for(clinic_admin).get("/audit/").content.decode()
    last = client_for(clinic_admin).get("/audit/", {"page": 3}).content.decode()

    assert "Page 1 of 3" in first
    assert "Page 3 of 3" in last
