"""The audit page in human words: actions, records and patients named as a clinic would say them, linked where the
viewer may open them, with a bounded number of queries however many entries and records the page shows."""

from __future__ import annotations

import csv
import io
from datetime import date

from needlepoint.accounts.audit_words import describe_entries
from needlepoint.accounts.models import AuditEntry
from needlepoint.patients import actions
from tests.conftest import clear_for_needling, client_for

NECK = {"condition": "neck_pain", "icd10_code": "M54.2", "side": "left", "onset_date": date(2024, 1, 5)}


def register(clinician, given: str, family: str):
    # The busy trail registers the same names more than once: each is meant as a new patient.
    return actions.register_patient(
        clinician,
        {"given_name": given, "family_name": family, "date_of_birth": date(1975, 4, 2)},
        confirm_duplicate=True,
    )


def audit_page(admin) -> str:
    response = client_for(admin).get("/audit/")
    assert response.status_code == 200
    return response.content.decode()


def test_a_refusal_says_what_access_was_needed(clinic_admin, front_desk, clinician) -> None:
    rosa = register(clinician, "Rosa", "Marquez")
    episode = actions.open_episode(clinician, rosa, NECK)

    client_for(front_desk).get(f"/patients/{rosa.pk}/episodes/{episode.pk}/")
    page = audit_page(clinic_admin)

    assert AuditEntry.objects.filter(action="denied", summary="missing view_clinical").exists()
    assert "Refused: needs clinical access" in page
    assert "missing view_clinical" not in page


def test_a_patient_is_named_with_the_mrn_and_linked_to_the_record(clinic_admin, clinician) -> None:
    rosa = register(clinician, "Rosa", "Marquez")

    client_for(clinician).get(f"/patients/{rosa.pk}/")
    page = audit_page(clinic_admin)

    assert f'<a href="/patients/{rosa.pk}/">Patient Rosa Marquez (MRN {rosa.mrn})</a>' in page
    assert f"patients.Patient {rosa.pk}</td>" not in page


def test_clinical_records_are_named_and_linked_for_a_viewer_with_clinical_access(clinic_admin, clinician) -> None:
    rosa = register(clinician, "Rosa", "Marquez")
    clear_for_needling(clinician, rosa)
    episode = actions.open_episode(clinician, rosa, NECK)

    page = audit_page(clinic_admin)

    assert f'href="/patients/{rosa.pk}/episodes/{episode.pk}/">Episode: Neck pain (left), M54.2</a>' in page
    assert "Safety screening of " in page
    assert "Consent signed " in page
    assert ">Created<" in page


def test_a_viewer_without_clinical_access_gets_words_without_clinical_detail_or_links(front_desk, clinician) -> None:
    rosa = register(clinician, "Rosa", "Marquez")
    episode = actions.open_episode(clinician, rosa, NECK)
    entry = AuditEntry.objects.get(object_type="patients.Episode", object_id=str(episode.pk))

    [row] = describe_entries([entry], front_desk)

    assert (row.record.words, row.record.url) == (f"Episode {episode.pk}", None)
    assert (row.patient.words, row.patient.url) == (f"Patient Rosa Marquez (MRN {rosa.mrn})", f"/patients/{rosa.pk}/")
    assert row.action == "Created"


def test_another_clinics_record_is_never_named(clinic_admin, outsider) -> None:
    theirs = register(outsider, "Other", "Person")
    forged = AuditEntry.objects.create(
        clinic_id=clinic_admin.clinic_id,
        action="read",
        object_type="patients.Patient",
        object_id=str(theirs.pk),
        patient_id=theirs.pk,
    )

    [row] = describe_entries([forged], clinic_admin)

    assert row.record.words == f"Patient {theirs.pk}"
    assert row.patient.words == f"Patient {theirs.pk}" and row.patient.url is None


def test_entries_without_a_record_and_unknown_kinds_still_read_as_words(clinic_admin, clinician) -> None:
    made = [
        AuditEntry(clinic_id=clinic_admin.clinic_id, action="search", object_type="patients.Patient", summary="x"),
        AuditEntry(clinic_id=clinic_admin.clinic_id, action="read", object_type="insights.ClaimsReport"),
        AuditEntry(
            clinic_id=clinic_admin.clinic_id, action="update", object_type="visits.NeedlingEntry", object_id="9"
        ),
        AuditEntry(clinic_id=clinic_admin.clinic_id, action="read", object_type="future.Thing", object_id="3"),
        AuditEntry(clinic_id=clinic_admin.clinic_id, action="login_failed", summary="failed sign-in: bob"),
    ]

    rows = describe_entries(made, clinic_admin)

    assert [(r.action, r.record.words if r.record else None) for r in rows] == [
        ("Searched", "Patient search"),
        ("Opened", "Claims report"),
        ("Changed", "Needling entry 9"),
        ("Opened", "future.Thing 3"),
        ("Sign-in failed", None),
    ]


def test_the_csv_keeps_the_codes_beside_the_words(clinic_admin, clinician, front_desk) -> None:
    rosa = register(clinician, "Rosa", "Marquez")
    client_for(front_desk).get(f"/patients/{rosa.pk}/")

    response = client_for(clinic_admin).get("/audit.csv", {"user": "fran"})
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))

    read = next(r for r in rows if r["action"] == "read")
    assert (read["object_type"], read["object_id"]) == ("patients.Patient", str(rosa.pk))
    assert read["action_in_words"] == "Opened"
    assert read["record_in_words"] == read["patient_in_words"] == f"Patient Rosa Marquez (MRN {rosa.mrn})"


def a_busy_trail(clinician, patients: int) -> None:
    """``patients`` patients, each registered, screened, consented, with an episode opened, and opened twice."""
    for n in range(patients):
        patient = register(clinician, f"Given{n}", f"Family{n}")
        clear_for_needling(clinician, patient)
        actions.open_episode(clinician, patient, NECK)
        client_for(clinician).get(f"/patients/{patient.pk}/")


def test_the_audit_page_costs_the_same_few_queries_for_a_short_and_a_full_page(
    clinic_admin, clinician, django_assert_max_num_queries
) -> None:
    # Session, user, membership, the page and its count, patients, then one query per kind of record on the page
    # (patient, screening, consent, episode), the session saved: whatever the number of entries.
    budget = 13
    admin = client_for(clinic_admin)
    a_busy_trail(clinician, 1)
    with django_assert_max_num_queries(budget):
        short = admin.get("/audit/")

    a_busy_trail(clinician, 12)
    with django_assert_max_num_queries(budget):
        full = admin.get("/audit/")

    assert short.status_code == full.status_code == 200
    assert full.content.decode().count('<a href="/patients/') >= 50
