"""The needling gate: the one server-side rule every needling write calls first.

A patient may be needled only with a current screening that is cleared (or cleared with precautions a
clinician has acknowledged) and a signed, unwithdrawn consent to the clinic's current text version.
Age matters too: a patient younger than the clinic's minimum needling age is refused; a patient under 18
needs a guardian's consent with the child's assent; a patient who has turned 18 since a guardian
consented must consent for themselves. When it refuses, it says why, in words a clinician can act on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.core.exceptions import ValidationError
from django.utils import timezone

from needlepoint.patients.consent import current_consent_text
from needlepoint.patients.models import Consent, ConsentText, Patient, Screening
from needlepoint.patients.screening_rules import ADULT_AGE


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
    consent_current: bool = False  # a consent on record that holds now: the right text, not withdrawn, fit for the age


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

    age = patient.age_on(timezone.localdate(at))
    minimum = patient.clinic.minimum_needling_age
    if age < minimum:
        reasons.append(
            f"{patient.full_name} is {age}; this clinic does not needle patients under {minimum} "
            "(the clinic's minimum needling age)."
        )

    text = current_consent_text(patient.clinic)
    consent = Consent.objects.filter(patient=patient, signed_at__lte=at).order_by("-signed_at", "-pk").first()
    consent_reasons = _consent_reasons(consent, text, age, at)
    reasons += consent_reasons
    return Clearance(
        allowed=not reasons,
        reasons=reasons,
        screening=screening,
        consent=consent,
        consent_current=consent is not None and not consent_reasons,
    )


def _consent_reasons(consent: Consent | None, text: ConsentText, age: int, at: datetime) -> list[str]:
    """Why the consent on record does not hold at ``at`` (empty when it holds)."""
    if consent is None:
        return ["No informed consent is on record."]
    if consent.withdrawn_at is not None and consent.withdrawn_at <= at:
        return [f"The patient withdrew consent on {consent.withdrawn_at:%Y-%m-%d}."]
    if consent.text_id != text.pk:
        return [
            f"Consent was given to version {consent.text.version} of the consent text; "
            f"version {text.version} needs a new consent."
        ]
    return _age_consent_reasons(age, consent)


def _age_consent_reasons(age: int, consent: Consent) -> list[str]:
    """Whether the consent on record is the right kind for the patient's age today."""
    if age < ADULT_AGE:
        if not consent.guardian_name:
            return [f"The patient is {age}: a patient under 18 needs a guardian's consent, with the child's assent."]
        if not consent.child_assent:
            return ["The child's assent is not recorded with the guardian's consent."]
        return []
    if consent.guardian_name:
        return [
            f"The patient is now {age}: a guardian consented while they were a child; "
            "the patient needs to give their own consent."
        ]
    return []


def require_needling_clearance(patient: Patient, at: datetime | None = None) -> Clearance:
    """The clearance if needling is allowed; otherwise raise ``NeedlingRefused`` with the reasons."""
    clearance = needling_clearance(patient, at)
    if not clearance.allowed:
        raise NeedlingRefused(clearance.reasons)
    return clearance
