"""Retention: records are kept, never deleted by the application; a patient's record can be archived (no longer
in care) and put under legal hold (kept whatever the retention period). Each change is one audited update of
the patient, and the reason stays on the record."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from needlepoint.accounts import audit
from needlepoint.accounts.access import get_patient
from needlepoint.accounts.models import Membership
from needlepoint.accounts.roles import Capability
from needlepoint.patients.models import Patient


@transaction.atomic
def set_retention(
    membership: Membership, patient_id: int, *, archived: bool, legal_hold: bool, note: str, expected_version: int
) -> Patient:
    """Archive or un-archive the record and set or lift its legal hold; ``note`` says why (required)."""
    patient = get_patient(membership, patient_id, Capability.MANAGE_RETENTION, for_update=True)
    if patient.version != expected_version:
        raise ValidationError(gettext("Someone else changed this patient meanwhile. Reload; nothing was saved."))
    note = (note or "").strip()
    if not note:
        raise ValidationError(
            {"note": gettext("Say why (for example 'discharged 2026, no contact since' or a case number).")}
        )
    if len(note) > 300:
        raise ValidationError({"note": gettext("At most 300 characters.")})
    if (patient.archived_at is not None) == archived and patient.legal_hold == legal_hold:
        raise ValidationError(gettext("Nothing to change: the record already has this status."))
    if archived and patient.archived_at is None:
        patient.archived_at = timezone.now()
    elif not archived:
        patient.archived_at = None
    patient.legal_hold = legal_hold
    patient.retention_note = note
    patient.version += 1
    patient.save()
    return audit.wrote(patient, created=False)
