"""Retention: a clinic admin archives a record or puts it under legal hold, with a reason; nothing is deleted;
other roles are refused; the change is audited."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from needlepoint.accounts import audit
from needlepoint.accounts.models import AuditEntry
from needlepoint.cli import main
from needlepoint.patients.models import Patient
from needlepoint.patients.retention import set_retention


def test_an_admin_archives_and_holds_a_record_which_stays_whole(clinic_admin, patient) -> None:
    with audit.event(audit.Actor(clinic_admin.user_id, clinic_admin.clinic_id, "web")):
        held = set_retention(
            clinic_admin, patient.pk, archived=True, legal_hold=True, note="Claim 2026-114", expected_version=1
        )

    assert held.archived_at is not None and held.legal_hold and held.retention_note == "Claim 2026-114"
    assert Patient.objects.filter(pk=patient.pk).exists()
    update = AuditEntry.objects.filter(action="update", patient_id=patient.pk).latest("pk")
    assert update.user_id == clinic_admin.user_id

    released = set_retention(
        clinic_admin, patient.pk, archived=True, legal_hold=False, note="Settled", expected_version=2
    )
    assert released.archived_at == held.archived_at and not released.legal_hold


@pytest.mark.parametrize(
    ("note", "version", "message"),
    [("", 1, "Say why"), ("x" * 301, 1, "At most 300"), ("Moved away", 7, "Someone else changed")],
)
def test_bad_input_changes_nothing(clinic_admin, patient, note, version, message) -> None:
    with pytest.raises(ValidationError, match=message):
        set_retention(clinic_admin, patient.pk, archived=True, legal_hold=False, note=note, expected_version=version)

    patient.refresh_from_db()
    assert patient.archived_at is None and patient.version == 1


def test_other_roles_cannot_archive(clinician, front_desk, patient) -> None:
    for membership in (clinician, front_desk):
        with pytest.raises(PermissionDenied):
            set_retention(membership, patient.pk, archived=True, legal_hold=False, note="x", expected_version=1)


def test_the_command_sets_the_status(clinic_admin, clinician, patient, capsys) -> None:
    args = ["retention", "--patient", str(patient.pk), "--archive", "--legal-hold", "--note", "Case 7"]

    assert main([*args, "--user", clinic_admin.user.username]) == 0
    assert f"Patient {patient.mrn}: archived, under legal hold." in capsys.readouterr().out
    entry = AuditEntry.objects.filter(action="update", patient_id=patient.pk).latest("pk")
    assert (entry.via, entry.user_id) == ("cli", clinic_admin.user_id)
    assert main([*args, "--user", clinician.user.username]) == 2
