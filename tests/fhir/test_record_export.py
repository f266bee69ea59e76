"""Right of access: a clinic admin exports one patient's whole record as a FHIR Bundle (everything $everything
has, plus notes, addenda, screenings, pain drawings, adverse-event follow-ups and questionnaire notes as
DocumentReferences) and a readable PDF, from the patient page or `needlepoint export patient`; each export is
audited; other roles and other clinics are refused."""

from __future__ import annotations

import base64
import io
import json
from datetime import timedelta

import pytest
from django.utils import timezone
from pypdf import PdfReader

from needlepoint.accounts.models import AuditEntry
from needlepoint.atlas import actions as atlas_actions
from needlepoint.cli import main
from needlepoint.outcomes import actions as outcome_actions
from needlepoint.visits import actions as visit_actions
from tests.conftest import client_for
from tests.fhir.structural.validator import describe


@pytest.fixture
def full_record(record, clinician):
    """The FHIR test record, plus every kind of text that $everything leaves out."""
    visit_actions.add_addendum(clinician, record.visit.pk, "Patient phoned: soreness settled by day two.")
    soreness = visit_actions.record_adverse_event(
        clinician,
        record.visit.pk,
        {
            "event_type": "pain_after_24h",
            "severity": "mild",
            "description": "Aching over the trapezius",
            "onset_at": timezone.now() - timedelta(minutes=2),
            "action_taken": "Advice on heat and movement",
            "outcome": "ongoing",
            "follow_up_due": timezone.localdate() + timedelta(days=2),
        },
    )
    visit_actions.record_follow_up(
        clinician,
        soreness.pk,
        note="Bruise fading, no pain.",
        outcome="resolved",
        next_follow_up_due=None,
        close=True,
        expected_version=soreness.version,
    )
    outcome_actions.record_questionnaire(
        clinician,
        record.neck,
        "PSFS",
        {"activity_1": 3, "activity_2": 5, "activity_3": 5},
        item_notes={"activity_1": "Checking the blind spot while driving"},
        time_point="baseline",
    )
    atlas_actions.create_assessment(clinician, record.neck, {"drawing": {"temple-r": 6}, "notes": "Worse at desk"})
    return record


def documents_of(bundle: dict) -> dict[str, str]:
    """Each DocumentReference's kind code and decoded text, joined per kind."""
    found: dict[str, str] = {}
    for entry in bundle["entry"]:
        resource = entry["resource"]
        if resource["resourceType"] == "DocumentReference":
            kind = resource["type"]["coding"][0]["code"]
            text = base64.b64decode(resource["content"][0]["attachment"]["data"]).decode()
            found[kind] = found.get(kind, "") + text + "\n"
    return found


def test_the_admin_button_downloads_a_valid_bundle_with_the_whole_record(full_record, clinic_admin, validator) -> None:
    patient = full_record.patient

    response = client_for(clinic_admin).post(f"/patients/{patient.pk}/record-export/", {"format": "fhir"})

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/fhir+json")
    assert response["Cache-Control"] == "no-store"
    assert f"record-{patient.mrn}.fhir.json" in response["Content-Disposition"]
    bundle = json.loads(response.content)
    assert bundle["type"] == "collection"
    # The whole Bundle, entries included. (The shared definitions have no DocumentReference, which the
    # validator reports as a warning; its required elements are checked below by hand.)
    errors = validator.errors(bundle)
    assert not errors, describe(errors)
    for entry in bundle["entry"]:
        resource = entry["resource"]
        if resource["resourceType"] == "DocumentReference":
            assert resource["status"] == "current" and resource["content"][0]["attachment"]["contentType"]
            assert resource["subject"]["reference"] == f"Patient/{patient.pk}"
    types = {entry["resource"]["resourceType"] for entry in bundle["entry"]}
    assert {"Patient", "Condition", "Consent", "Procedure", "Observation", "AdverseEvent"} <= types
    documents = documents_of(bundle)
    assert full_record.visit.note_text.strip()[:40] in documents["visit-note"]
    assert "soreness settled by day two" in documents["addendum"]
    assert "Bruise fading" in documents["adverse-event-follow-up"]
    assert "Checking the blind spot while driving" in documents["questionnaire-notes"]
    assert "score 4.3 points" in documents["questionnaire-notes"]  # (3 + 5 + 5) / 3, as the pages show it
    assert "Worse at desk" in documents["pain-drawing"] and ": 6" in documents["pain-drawing"]
    assert "Result:" in documents["screening"]
    addendum = next(e["resource"] for e in bundle["entry"] if e["resource"]["id"].startswith("addendum-"))
    assert addendum["relatesTo"][0]["target"]["reference"] == f"DocumentReference/visit-{full_record.visit.pk}"


def test_the_export_is_audited_once_per_download(full_record, clinic_admin) -> None:
    patient = full_record.patient
    client = client_for(clinic_admin)

    client.post(f"/patients/{patient.pk}/record-export/", {"format": "fhir"})
    client.post(f"/patients/{patient.pk}/record-export/", {"format": "pdf"})

    exports = AuditEntry.objects.filter(action="export", patient_id=patient.pk).order_by("pk")
    assert [e.user_id for e in exports] == [clinic_admin.user_id] * 2
    assert "FHIR Bundle of" in exports[0].summary and "PDF of" in exports[1].summary


def test_the_pdf_is_a_readable_pdf(full_record, clinic_admin) -> None:
    response = client_for(clinic_admin).post(f"/patients/{full_record.patient.pk}/record-export/", {"format": "pdf"})

    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    # Every document of the record is in it, on the clinic's letterhead (WeasyPrint, like every printed document).
    text = " ".join(
        " ".join((page.extract_text() or "").split()) for page in PdfReader(io.BytesIO(response.content)).pages
    )
    assert full_record.patient.clinic.name in text and full_record.patient.mrn in text
    assert "documents follow, oldest first" in text


def test_a_name_with_dollar_signs_prints_as_typed(clinic_admin, clinician) -> None:
    from datetime import date

    from needlepoint.fhir.export import record_pdf_bytes
    from needlepoint.patients import actions

    odd = actions.register_patient(
        clinician, {"given_name": "$x^2$", "family_name": "Doe", "date_of_birth": date(1980, 1, 1), "sex": "female"}
    )

    pdf = record_pdf_bytes(odd)
    assert pdf.startswith(b"%PDF")
    text = " ".join((page.extract_text() or "") for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "Health record of $x^2$ Doe" in text and odd.mrn in text


@pytest.mark.parametrize("role", ["clinician", "front_desk", "outsider"])
def test_other_roles_and_clinics_cannot_export(role, full_record, request) -> None:
    membership = request.getfixturevalue(role)

    response = client_for(membership).post(f"/patients/{full_record.patient.pk}/record-export/", {"format": "fhir"})

    assert response.status_code in (403, 404)
    assert not AuditEntry.objects.filter(action="export").exists()


def test_the_patient_page_shows_the_button_to_admins_only(full_record, clinic_admin, clinician) -> None:
    url = f"/patients/{full_record.patient.pk}/"

    assert b"Export record (FHIR)" in client_for(clinic_admin).get(url).content
    assert b"Export record" not in client_for(clinician).get(url).content


def test_the_command_writes_both_files_and_refuses_to_overwrite(full_record, tmp_path, capsys, validator) -> None:
    patient = full_record.patient
    args = ["export", "patient", "--clinic", patient.clinic.slug, "--patient", str(patient.pk), "--output"]

    before = AuditEntry.objects.count()
    assert main([*args, str(tmp_path)]) == 0
    # One export entry per document, each recorded before its file is written.
    made = AuditEntry.objects.order_by("pk")[before:]
    assert [e.action for e in made] == ["export", "export"]
    assert ": FHIR Bundle of " in made[0].summary and ": PDF of " in made[1].summary

    bundle = json.loads((tmp_path / f"record-{patient.mrn}.fhir.json").read_text())
    assert all(not validator.errors(entry["resource"]) for entry in bundle["entry"])
    assert (tmp_path / f"record-{patient.mrn}.pdf").read_bytes().startswith(b"%PDF")
    entry = AuditEntry.objects.filter(action="export").latest("pk")
    assert (entry.via, entry.actor_label, entry.patient_id) == ("cli", "needlepoint export patient", patient.pk)
    assert main([*args, str(tmp_path)]) == 2
    assert "already exist" in capsys.readouterr().err
    assert main(["export", "patient", "--clinic", "other", "--patient", str(patient.pk), "--output", "x"]) == 2
