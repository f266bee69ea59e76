"""The needling gate: the one server-side rule every needling write calls first.

A patient may be needled only with a current screening that is cleared (or cleared with precautions a
clinician has acknowledged) and a signed, unwithdrawn consent to the clinic's current text version.
When it refuses, it says why, in words a clinician can act on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.core.exceptions import ValidationError
from django.utils import timezone

from needlepoint.patients.consent import current_consent_text
from needlepoint.patients.models import Consent, Patient, Screening


class NeedlingRefused(ValidationError):
    """Needling cannot be documented for this patient now; ``reasons`` says why."""

    def __init__(self, reasons: list[str]):
        super().__init__(reasons)
        self.reasons = reasons


@dataclass
class Clearance:
    """The gate's answer: whether needling is allowed, why not, and the records it relied on."""

    allowed: bool
    reasons: list[str] = field(default_factory=list)
    screening: Screening | None = None
    consent: Consent | None = None


def needling_clearance(patient: Patient, at: datetime | None = None) -> Clearance:
    """Whether ``patient`` may be needled at ``at`` (now by default), with the reasons if not."""
    at = at or timezone.now()
    reasons: list[str] = []
    screening = Screening.objects.filter(patient=patient, screened_at__lte=at).order_by("-screened_at", "-pk").first()
    if screening is None:
        reasons.append("No safety screening is on record.")
    elif not screening.is_current(at):
        if screening.invalidated_at is not None and screening.invalidated_at <= at:
            reasons.append(f"The last screening is no longer current: {screening.invalidated_reason}.")
        else:
            reasons.append(f"The last screening expired on {screening.expires_at:%Y-%m-%d}; screen again.")
    elif screening.status == Screening.Status.NOT_CLEARED:
        reasons.append("The last screening did not clear the patient for dry needling (absolute contraindication).")
    elif screening.needs_acknowledgement:
        reasons.append("The screening's precautions have not been acknowledged by a clinician.")

    text = current_consent_text(patient.clinic)
    consent = Consent.objects.filter(patient=patient, signed_at__lte=at).order_by("-signed_at", "-pk").first()
    if consent is None:
        reasons.append("No informed consent is on record.")
    elif consent.withdrawn_at is not None and consent.withdrawn_at <= at:
        reasons.append(f"The patient withdrew consent on {consent.withdrawn_at:%Y-%m-%d}.")
    elif consent.text_id != text.pk:
        reasons.append(
            f"Consent was given to version {consent.text.version} of the consent text; "
            f"version {text.version} needs a new consent."
        )
    return Clearance(allowed=not reasons, reasons=reasons, screening=screening, consent=consent)


def require_needling_clearance(patient: Patient, at: datetime | None = None) -> Clearance:
    """The clearance if needling is allowed; otherwise raise ``NeedlingRefused`` with the reasons."""
    clearance = needling_clearance(patient, at)
    if not clearance.allowed:
        raise NeedlingRefused(clearance.reasons)
    return clearance
