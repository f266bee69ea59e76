"""The needling gate: the one server-side rule every needling write calls first.

A patient may be needled only with a current screening that is cleared (or cleared with precautions a
clinician has acknowledged) and a signed, unwithdrawn consent to the clinic's current text version.
Age matters too: a patient younger than the clinic's minimum needling age is refused; a patient under 18
needs a guardian's consent with the child's assent; a patient who has turned 18 since a guardian
consented must consent for themselves. When it refuses, it says why: each reason is a machine code (what the
callers decide by) with words a clinician can act on, which live in ``data/gate_reasons.json``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path

from django.core.exceptions import ValidationError
from django.utils import timezone

from needlepoint.patients.consent import current_consent_text
from needlepoint.patients.models import Consent, ConsentText, Patient, Screening
from needlepoint.patients.screening_rules import ADULT_AGE

WORDING_FILE = Path(__file__).parent / "data" / "gate_reasons.json"
# The reason codes about the consent on record: with none of them, the consent holds.
CONSENT_CODES = frozenset(
    {
        "no_consent",
        "consent_withdrawn",
        "consent_text_outdated",
        "guardian_consent_needed",
        "child_assent_missing",
        "own_consent_needed",
    }
)


@dataclass(frozen=True)
class GateReason:
    """One reason the gate refuses: a machine code to decide by, and the words to show."""

    code: str
    message: str


class NeedlingRefused(ValidationError):
    """Needling cannot be documented for this patient now; ``codes`` and ``reasons`` (the words) say why."""

    def __init__(self, refusals: list[GateReason]):
        super().__init__([r.message for r in refusals])
        self.codes = [r.code for r in refusals]
        self.reasons = [r.message for r in refusals]


@dataclass
class Clearance:
    """The gate's answer: whether needling is allowed, why not, and the records it relied on."""

    allowed: bool
    refusals: list[GateReason] = field(default_factory=list)
    screening: Screening | None = None
    consent: Consent | None = None
    consent_current: bool = False  # a consent on record that holds now: the right text, not withdrawn, fit for the age
    consent_text: ConsentText | None = None  # the clinic's current consent text, which the consent was judged against

    @property
    def codes(self) -> list[str]:
        """The reason codes, in order."""
        return [r.code for r in self.refusals]

    @property
    def reasons(self) -> list[str]:
        """The reasons in words, in order."""
        return [r.message for r in self.refusals]


@cache
def gate_wording() -> dict[str, str]:
    """Reason code -> words (with {fields}), from the data file."""
    reasons: dict[str, str] = json.loads(WORDING_FILE.read_text(encoding="utf-8"))["reasons"]
    return reasons


def reason(code: str, **fields: object) -> GateReason:
    """The gate's reason ``code`` with its words filled in."""
    return GateReason(code, gate_wording()[code].format(**fields))


def needling_clearance(patient: Patient, at: datetime | None = None) -> Clearance:
    """Whether ``patient`` may be needled at ``at`` (now by default), with the reasons if not."""
    at = at or timezone.now()
    screening = Screening.objects.filter(patient=patient, screened_at__lte=at).order_by("-screened_at", "-pk").first()
    refusals = _screening_reasons(screening, at)
    age = patient.age_on(timezone.localdate(at))
    minimum = patient.clinic.minimum_needling_age
    if age < minimum:
        refusals.append(reason("below_minimum_age", patient=patient.full_name, age=age, minimum=minimum))
    text = current_consent_text(patient.clinic)
    consent = Consent.objects.filter(patient=patient, signed_at__lte=at).order_by("-signed_at", "-pk").first()
    if consent is not None and consent.text_id == text.pk:
        consent.text = text  # the same row, already read: the pages that show the consent's version need no query
    refusals += _consent_reasons(consent, text, age, at)
    return Clearance(
        allowed=not refusals,
        refusals=refusals,
        screening=screening,
        consent=consent,
        consent_current=not any(r.code in CONSENT_CODES for r in refusals),
        consent_text=text,
    )


def _screening_reasons(screening: Screening | None, at: datetime) -> list[GateReason]:
    """Why the screening on record does not clear the patient at ``at`` (empty when it does)."""
    if screening is None:
        return [reason("no_screening")]
    if not screening.is_current(at):
        if screening.invalidated_at is not None and screening.invalidated_at <= at:
            return [reason("screening_invalidated", reason=screening.invalidated_reason)]
        return [reason("screening_expired", expired_on=f"{screening.expires_at:%Y-%m-%d}")]
    if screening.status == Screening.Status.NOT_CLEARED:
        return [reason("screening_not_cleared")]
    if screening.needs_acknowledgement:
        return [reason("precautions_not_acknowledged")]
    return []


def _consent_reasons(consent: Consent | None, text: ConsentText, age: int, at: datetime) -> list[GateReason]:
    """Why the consent on record does not hold at ``at`` (empty when it holds)."""
    if consent is None:
        return [reason("no_consent")]
    if consent.withdrawn_at is not None and consent.withdrawn_at <= at:
        return [reason("consent_withdrawn", withdrawn_on=f"{consent.withdrawn_at:%Y-%m-%d}")]
    if consent.text_id != text.pk:
        return [reason("consent_text_outdated", signed_version=consent.text.version, current_version=text.version)]
    return _age_consent_reasons(age, consent)


def _age_consent_reasons(age: int, consent: Consent) -> list[GateReason]:
    """Whether the consent on record is the right kind for the patient's age today."""
    if age < ADULT_AGE:
        if not consent.guardian_name:
            return [reason("guardian_consent_needed", age=age, adult_age=ADULT_AGE)]
        if not consent.child_assent:
            return [reason("child_assent_missing")]
        return []
    if consent.guardian_name:
        return [reason("own_consent_needed", age=age)]
    return []


def require_needling_clearance(patient: Patient, at: datetime | None = None) -> Clearance:
    """The clearance if needling is allowed; otherwise raise ``NeedlingRefused`` with the reasons."""
    clearance = needling_clearance(patient, at)
    if not clearance.allowed:
        raise NeedlingRefused(clearance.refusals)
    return clearance
