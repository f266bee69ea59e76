"""Every write of patient, screening, consent and episode data: one function per action.

Each action owns its transaction, checks the invariants, and records its audit entry (``audit.wrote``).
Bad input raises ``ValidationError`` with a message per
field and changes nothing. Views and API endpoints call these and nothing else to write.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import CharField, Model
from django.dispatch import Signal
from django.utils import timezone
from django.utils.translation import gettext

from needlepoint.accounts import audit
from needlepoint.accounts.access import require, searched
from needlepoint.accounts.models import Clinic, Membership
from needlepoint.accounts.roles import Capability
from needlepoint.patients import demographics, screening_rules
from needlepoint.patients.conditions import code_for_side, conditions, icd10_for
from needlepoint.patients.consent import current_consent_text
from needlepoint.patients.models import (
    Consent,
    Episode,
    Patient,
    PatientIdentifier,
    ReceivedRecord,
    RecentPatient,
    ReportedCondition,
    Screening,
    WithdrawnDeath,
    normalise_name,
)
from needlepoint.patients.received_records import TYPE_LABELS, ReceivedRecordData, occurred, summary
from needlepoint.patients.reported_conditions import (
    ReportedConditionData,
    clinical_statuses,
    status_problems,
    verification_statuses,
)
from needlepoint.patients.screening_rules import ADULT_AGE

DEMOGRAPHIC_FIELDS = (
    "name_prefix",
    "given_name",
    "family_name",
    "date_of_birth",
    "sex",
    "phone",
    "email",
    "address",
    "address_city",
    "address_state",
    "address_postal_code",
    "address_country",
    "emergency_contact",
    "preferred_language",
    "marital_status",
    "race_codes",
    "race_text",
    "ethnicity_code",
    "ethnicity_text",
    "birth_sex",
)
# Optional text fields checked for length on the server, whatever page or import sent them.
_TEXT_FIELDS = tuple(
    name for name in DEMOGRAPHIC_FIELDS if isinstance(Patient._meta.get_field(name), CharField) and name != "sex"
)
MRN_PATTERN = re.compile(r"^[A-Za-z0-9-]{3,30}$")
# A drawn signature is an SVG path of moves and lines in a 600x150 box, nothing else (it is shown as SVG).
SIGNATURE_PATH = re.compile(r"^M -?\d{1,4} -?\d{1,4}( [ML] -?\d{1,4} -?\d{1,4})*$")


def _check_demographics(data: dict[str, Any]) -> None:
    errors: dict[str, str] = {}
    for name in ("given_name", "family_name"):
        if not str(data.get(name) or "").strip():
            errors[name] = "This name is required."
    birth = data.get("date_of_birth")
    if not isinstance(birth, date):
        errors["date_of_birth"] = "Enter the date of birth."
    elif birth > timezone.localdate():
        errors["date_of_birth"] = "The date of birth cannot be in the future."
    elif birth.year < 1900:
        errors["date_of_birth"] = "The date of birth is before 1900; check the year."
    if data.get("sex") and data["sex"] not in Patient.Sex.values:
        errors["sex"] = "Choose female, male, other or unknown."
    if data.get("preferred_language") and data["preferred_language"] not in Patient.Language.values:
        errors["preferred_language"] = "Choose English (en) or Spanish (es)."
    errors |= _coded_demographic_errors(data)
    for name in _TEXT_FIELDS:
        limit = _max_length(Patient, name)
        if name not in errors and len(str(data.get(name) or "")) > limit:
            errors[name] = f"At most {limit} characters."
    if errors:
        raise ValidationError(errors)


def _max_length(model: type[Model], name: str) -> int:
    return int(getattr(model._meta.get_field(name), "max_length", None) or 0)


def _coded_demographic_errors(data: dict[str, Any]) -> dict[str, str]:
    """Marital status, race, ethnicity and birth sex must be codes of their sets (data/demographics.json)."""
    errors: dict[str, str] = {}
    coded = {
        "marital_status": (demographics.marital_statuses(), "Choose a marital status from the list."),
        "ethnicity_code": (demographics.ethnicities(), "Choose an ethnicity from the list."),
        "birth_sex": (demographics.birth_sexes(), "Choose female, male or unknown."),
    }
    for name, (codes, message) in coded.items():
        if data.get(name) and codes.find(str(data[name])) is None:
            errors[name] = message
    race = data.get("race_codes") or []
    if not isinstance(race, list | tuple) or not all(isinstance(code, str) for code in race):
        errors["race_codes"] = "Race is a list of OMB race category codes."
    elif problem := demographics.race_problem(list(race)):
        errors["race_codes"] = problem
    return errors


def _stored(name: str, value: Any) -> Any:
    """A demographic as stored: nothing given is empty (an empty list for race)."""
    if value is None:
        return [] if name == "race_codes" else ""
    if name == "address":
        # Street lines, one per line whatever the browser sent ("\r\n" from a text area), no empty ones.
        return "\n".join(line.strip() for line in str(value).splitlines() if line.strip())
    return list(value) if name == "race_codes" else value


def _next_mrn(clinic: Clinic) -> str:
    """The clinic's next free MRN, from a counter row locked for the transaction.

    Numbers already taken by patients brought in with their MRN from another system are skipped.
    """
    locked = Clinic.objects.select_for_update(no_key=True).get(pk=clinic.pk)
    number = locked.next_mrn_number
    while Patient.objects.filter(clinic_id=clinic.pk, mrn=f"{locked.mrn_prefix}-{number:07d}").exists():
        number += 1
    Clinic.objects.filter(pk=clinic.pk).update(next_mrn_number=number + 1)
    return f"{locked.mrn_prefix}-{number:07d}"


class PossibleDuplicate(ValidationError):
    """The patient being registered may already be registered; ``candidates`` are the existing records.

    Nothing was saved. Registering anyway needs an explicit confirmation (``confirm_duplicate``).
    """

    def __init__(self, candidates: list[Patient], anyway: str = "register anyway") -> None:
        self.candidates = candidates
        names = "; ".join(f"{p.family_name}, {p.given_name} ({p.mrn})" for p in candidates)
        super().__init__(
            f"This may be a patient already registered: {names}. Open the existing record, or confirm that this is "
            f"a different person to {anyway}."
        )


def register_patient(
    membership: Membership,
    data: dict[str, Any],
    mrn: str = "",
    *,
    confirm_duplicate: bool = False,
    summary: str | None = None,
    object_type: str = "",
) -> Patient:
    """Register a new patient in the membership's clinic; generates the MRN unless one is given.

    A patient with the same name and birth date, or the same phone, is refused as a possible duplicate
    (``PossibleDuplicate``, listing them) unless ``confirm_duplicate`` says this is a different person.
    The audit entry says ``summary`` and names ``object_type`` where the caller knows better (an import).
    """
    require(membership, Capability.EDIT_DEMOGRAPHICS)
    _check_demographics(data)
    mrn = mrn.strip().upper()
    if mrn and not MRN_PATTERN.match(mrn):
        raise ValidationError({"mrn": gettext("An MRN has 3-30 letters, digits or hyphens.")})
    if not confirm_duplicate:
        # Before the transaction: the refusal's audit entry (the candidates' names are shown) must survive it.
        _refuse_possible_duplicate(membership, data)
    return _create_patient(membership, data, mrn, summary, object_type)


def _refuse_possible_duplicate(membership: Membership, data: dict[str, Any], editing: int | None = None) -> None:
    from needlepoint.accounts.access import patients_for
    from needlepoint.patients.search import possible_duplicates

    candidates = possible_duplicates(
        patients_for(membership, Capability.EDIT_DEMOGRAPHICS).exclude(pk__in=[] if editing is None else [editing]),
        str(data.get("given_name") or ""),
        str(data.get("family_name") or ""),
        data.get("date_of_birth"),
        str(data.get("phone") or ""),
    )
    if candidates:
        searched(candidates, f"duplicate check ({len(candidates)} found)", object_type="patients.Patient")
        raise PossibleDuplicate(candidates, "save anyway" if editing else "register anyway")


@transaction.atomic
def _create_patient(
    membership: Membership, data: dict[str, Any], mrn: str, summary: str | None, object_type: str
) -> Patient:
    if mrn and Patient.objects.filter(clinic_id=membership.clinic_id, mrn=mrn).exists():
        raise ValidationError(
            {"mrn": gettext("MRN %(mrn)s already belongs to another patient of this clinic.") % {"mrn": mrn}}
        )
    patient = Patient(clinic_id=membership.clinic_id, mrn=mrn or _next_mrn(membership.clinic))
    for name in DEMOGRAPHIC_FIELDS:
        if name in data:
            setattr(patient, name, _stored(name, data[name]))
    try:
        with transaction.atomic():
            patient.save()
    except IntegrityError as exc:
        raise ValidationError(
            {"mrn": gettext("MRN %(mrn)s already exists in this clinic.") % {"mrn": patient.mrn}}
        ) from exc
    return audit.wrote(patient, created=True, summary=summary, object_type=object_type)


IDENTIFIER_PARTS = ("system", "value", "type_system", "type_code", "type_display", "type_text")


@transaction.atomic
def keep_identifiers(
    membership: Membership, patient: Patient, identifiers: list[dict[str, str]], source: str
) -> list[PatientIdentifier]:
    """Keep the numbers other systems gave ``patient`` (each a dict of ``IDENTIFIER_PARTS``), saying where they came
    from. Each needs a system and a value; one already kept (same system and value) or listed twice is refused, and
    so is a Social Security number where the clinic does not keep them (``demographics.identifier_not_kept``, the
    rule the FHIR import applies before it calls this). Refused input raises ``ValidationError`` and keeps none of
    them."""
    require(membership, Capability.EDIT_DEMOGRAPHICS)
    _same_clinic(membership, patient)
    keeps = Clinic.objects.values_list("keep_social_security_numbers", flat=True).get(pk=patient.clinic_id)
    problems: list[str] = []
    seen = set(PatientIdentifier.objects.filter(patient=patient).values_list("system", "value"))
    rows = []
    for position, given in enumerate(identifiers, start=1):
        parts = {name: str(given.get(name) or "").strip() for name in IDENTIFIER_PARTS}
        for name in IDENTIFIER_PARTS:
            limit = _max_length(PatientIdentifier, name)
            if len(parts[name]) > limit:
                problems.append(
                    f"Identifier {position}: its {name.replace('_', ' ')} is longer than {limit} characters."
                )
        if not parts["system"] or not parts["value"]:
            problems.append(f"Identifier {position} needs a system and a value.")
        elif why := demographics.identifier_not_kept(parts, keeps):
            problems.append(f"Identifier {position} is a Social Security number: {why}.")
        elif (parts["system"], parts["value"]) in seen:
            problems.append(f"Identifier {position} ({parts['system']}) is already on record.")
        seen.add((parts["system"], parts["value"]))
        rows.append(
            PatientIdentifier(
                clinic_id=patient.clinic_id, patient=patient, source=source[:100], recorded_by=membership, **parts
            )
        )
    if problems:
        raise ValidationError({"identifiers": problems})
    for row in rows:
        row.save()
        audit.wrote(row, created=True)
    return rows


RECENT_KEPT = 20


@transaction.atomic
def note_patient_opened(membership: Membership, patient: Patient) -> None:
    """Put ``patient`` at the top of this member's recent patients, keeping the latest ``RECENT_KEPT``.

    Two statements whatever the history (an upsert and a prune), so the patient page's cost does not depend
    on whether the patient was opened before. Not an audit entry: the access helper audits the read itself.
    """
    _same_clinic(membership, patient)
    RecentPatient.objects.bulk_create(
        [RecentPatient(clinic_id=patient.clinic_id, membership=membership, patient=patient, opened_at=timezone.now())],
        update_conflicts=True,
        unique_fields=["membership", "patient"],
        update_fields=["opened_at"],
    )
    latest = RecentPatient.objects.filter(membership=membership).order_by("-opened_at", "-pk").values("pk")
    RecentPatient.objects.filter(membership=membership).exclude(pk__in=latest[:RECENT_KEPT]).delete()


# A change to any of these makes an edited patient possibly another registered one.
IDENTITY_FIELDS = ("given_name", "family_name", "date_of_birth", "phone")


def update_patient(
    membership: Membership,
    patient_id: int,
    data: dict[str, Any],
    expected_version: int,
    *,
    confirm_duplicate: bool = False,
) -> Patient:
    """Change a patient's demographics, refusing if someone else saved first (version mismatch).

    A change of name, birth date or phone that makes the patient look like another registered one is refused
    as at registration (``PossibleDuplicate``, listing them) unless ``confirm_duplicate`` says they differ.
    """
    from needlepoint.accounts.access import get_patient

    if not confirm_duplicate:
        # Before the transaction, as at registration: the refusal's audit entry must survive it.
        current = get_patient(membership, patient_id, Capability.EDIT_DEMOGRAPHICS)
        merged = {name: getattr(current, name) for name in DEMOGRAPHIC_FIELDS} | data
        if any(merged[name] != getattr(current, name) for name in IDENTITY_FIELDS):
            _check_demographics(merged)
            _refuse_possible_duplicate(membership, merged, editing=current.pk)
    return _update_patient(membership, patient_id, data, expected_version)


@transaction.atomic
def _update_patient(membership: Membership, patient_id: int, data: dict[str, Any], expected_version: int) -> Patient:
    from needlepoint.accounts.access import get_patient

    patient = get_patient(membership, patient_id, Capability.EDIT_DEMOGRAPHICS, for_update=True)
    if patient.version != expected_version:
        raise ValidationError(
            gettext(
                "Someone else changed this patient while you were editing. Reload to see their changes; "
                "nothing of yours was saved."
            )
        )
    merged = {name: getattr(patient, name) for name in DEMOGRAPHIC_FIELDS} | data
    _check_demographics(merged)
    for name in DEMOGRAPHIC_FIELDS:
        setattr(patient, name, _stored(name, merged[name]))
    patient.version += 1
    patient.save()
    audit.wrote(patient, created=False)
    return patient


# Sent inside ``record_death``'s transaction with the acting ``membership`` and the ``patient``: apps above
# patients stop what would still reach the patient (scheduling cancels future appointments). Each receiver returns
# a list of sentences saying what it did, for the confirmation.
death_recorded = Signal()


@dataclass(frozen=True)
class DeathRecorded:
    """A recorded death and what was stopped with it (sentences such as the appointments cancelled)."""

    patient: Patient
    stopped: tuple[str, ...]


def record_death(
    membership: Membership, patient_id: int, deceased_date: date | None, expected_version: int
) -> DeathRecorded:
    """Record that the patient has died, on ``deceased_date`` when known (None: the date is not known).

    Refused when already recorded, when the date is in the future or before birth, or when someone else saved
    the patient meanwhile. In the same transaction the patient's future appointments are cancelled with the
    reason (``death_recorded``); from then on nothing is sent or booked for the patient.
    """
    from needlepoint.accounts.access import get_patient

    require(membership, Capability.EDIT_DEMOGRAPHICS)  # outside the transaction: a refusal stays in the audit trail
    with transaction.atomic():
        patient = get_patient(membership, patient_id, Capability.EDIT_DEMOGRAPHICS, for_update=True)
        _check_version(patient, expected_version)
        if patient.deceased:
            raise ValidationError(
                gettext("%(patient)s is already recorded as deceased; nothing was changed.")
                % {"patient": patient.full_name}
            )
        if deceased_date is not None and not isinstance(deceased_date, date):
            raise ValidationError(
                {"deceased_date": gettext("Enter the date of death as YYYY-MM-DD, or leave it empty.")}
            )
        if deceased_date is not None and deceased_date > timezone.localdate():
            raise ValidationError({"deceased_date": gettext("The date of death cannot be in the future.")})
        if deceased_date is not None and deceased_date < patient.date_of_birth:
            raise ValidationError(
                {
                    "deceased_date": gettext("The date of death is before the date of birth (%(birth)s).")
                    % {"birth": patient.date_of_birth}
                }
            )
        patient.deceased = True
        patient.deceased_date = deceased_date
        patient.death_recorded_at = timezone.now()
        patient.death_recorded_by = membership
        patient.version += 1
        day = f"{deceased_date:%Y-%m-%d}" if deceased_date else "date not known"
        patient.save()
        audit.wrote(patient, created=False, summary=f"death recorded ({day})")
        answers: list[tuple[Any, Any]] = death_recorded.send(Patient, membership=membership, patient=patient)
        return DeathRecorded(patient, tuple(str(line) for _, lines in answers for line in lines or ()))


def withdraw_death(membership: Membership, patient_id: int, reason: str, expected_version: int) -> Patient:
    """Withdraw a death recorded in error (the wrong chart, a mistaken report), saying why.

    What was recorded is kept (``WithdrawnDeath``); the patient is living again on the chart. Appointments
    cancelled when the death was recorded stay cancelled.
    """
    from needlepoint.accounts.access import get_patient

    require(membership, Capability.EDIT_DEMOGRAPHICS)  # outside the transaction: a refusal stays in the audit trail
    with transaction.atomic():
        patient = get_patient(membership, patient_id, Capability.EDIT_DEMOGRAPHICS, for_update=True)
        _check_version(patient, expected_version)
        if not patient.deceased:
            raise ValidationError(
                gettext("%(patient)s is not recorded as deceased; there is nothing to withdraw.")
                % {"patient": patient.full_name}
            )
        reason = " ".join((reason or "").split())
        if len(reason) < 5:
            raise ValidationError(
                {"reason": gettext("Say why the record of death is withdrawn (e.g. 'recorded on the wrong chart').")}
            )
        if len(reason) > 300:
            raise ValidationError({"reason": gettext("At most 300 characters.")})
        withdrawn = WithdrawnDeath.objects.create(
            clinic_id=patient.clinic_id,
            patient=patient,
            deceased_date=patient.deceased_date,
            recorded_at=patient.death_recorded_at,
            recorded_by=patient.death_recorded_by,
            withdrawn_by=membership,
            reason=reason,
        )
        summary = f"death record withdrawn: {reason}"
        audit.wrote(withdrawn, created=True, summary=summary)
        patient.deceased = False
        patient.deceased_date = None
        patient.death_recorded_at = None
        patient.death_recorded_by = None
        patient.version += 1
        patient.save()
        audit.wrote(patient, created=False, summary=summary)
        return patient


def refuse_if_deceased(patient: Patient, refused: str) -> None:
    """For staff: refuse an action that would reach or book a patient recorded as deceased (``refused`` says what)."""
    if patient.deceased:
        if patient.deceased_date:
            said = gettext("%(patient)s is recorded as deceased (died %(date)s): %(refused)s") % {
                "patient": patient.full_name,
                "date": f"{patient.deceased_date:%Y-%m-%d}",
                "refused": refused,
            }
        else:
            said = gettext("%(patient)s is recorded as deceased: %(refused)s") % {
                "patient": patient.full_name,
                "refused": refused,
            }
        raise ValidationError(said, code="deceased")


def _check_version(patient: Patient, expected_version: int) -> None:
    if patient.version != expected_version:
        raise ValidationError(
            gettext(
                "Someone else changed this patient while you had the page open. Reload to see their changes; "
                "nothing of yours was saved."
            )
        )


@transaction.atomic
def record_screening(membership: Membership, patient: Patient, answers: dict[str, Any]) -> Screening:
    """Record a safety screening; the status comes from the pure screening rules.

    The answers include the measured height (``height_cm``) and weight (``weight_kg``): both are required,
    because the thorax warnings depend on the build. The age at screening comes from the date of birth.
    Bad input raises ``ValidationError`` with each problem under the answer it concerns; nothing is stored.
    """
    require(membership, Capability.EDIT_CLINICAL)
    _same_clinic(membership, patient)
    screened_at = timezone.now()
    age = patient.age_on(timezone.localdate(screened_at))
    errors: dict[str, list[str]] = {}
    for name in screening_rules.MEASUREMENTS:
        if not _given(answers.get(name)):
            label = screening_rules.build_rules().labels.get(name, name)
            errors.setdefault(name, []).append(f"{label} is required: the thorax warnings depend on the build.")
    try:
        result = screening_rules.evaluate_screening(answers, age_years=age)
    except screening_rules.ScreeningAnswerError as exc:
        for name, messages in exc.by_field.items():
            errors.setdefault(name or NON_FIELD_ERRORS, []).extend(messages)
    if errors:
        raise ValidationError(errors)
    stored = dict(answers)
    for name in screening_rules.MEASUREMENTS:
        # Kept as the number measured; the BMI is derived from it and stored beside it, never typed.
        stored[name] = float(str(answers[name]).strip().replace(",", "."))
    screening = Screening.objects.create(
        clinic_id=patient.clinic_id,
        patient=patient,
        answers=stored,
        status=result.status,
        findings=[asdict(f) for f in result.findings],
        age_years=result.age_years,
        bmi=Decimal(str(result.bmi)) if result.bmi is not None else None,
        screened_by=membership,
        screened_at=screened_at,
    )
    return audit.wrote(screening, created=True)


def _given(value: object) -> bool:
    return value is not None and not (isinstance(value, str) and not value.strip())


@transaction.atomic
def acknowledge_precautions(membership: Membership, screening: Screening, note: str) -> Screening:
    """A clinician acknowledges a screening's precautions with a note saying how they will be managed."""
    require(membership, Capability.EDIT_CLINICAL)
    _same_clinic(membership, screening)
    screening = Screening.objects.select_for_update(no_key=True).get(pk=screening.pk)
    if screening.status != Screening.Status.CLEARED_WITH_PRECAUTIONS:
        raise ValidationError(gettext("Only a screening cleared with precautions needs an acknowledgement."))
    if screening.precautions_acknowledged_at is not None:
        raise ValidationError(gettext("These precautions were already acknowledged."))
    if len(note.strip()) < 5:
        raise ValidationError({"note": gettext("Say how the precautions will be managed.")})
    screening.precautions_acknowledged_by = membership
    screening.precautions_acknowledged_at = timezone.now()
    screening.precautions_note = note.strip()
    screening.save()
    return audit.wrote(screening, created=False)


@transaction.atomic
def report_health_change(membership: Membership, patient: Patient, description: str) -> int:
    """The patient reports a change in health: every current screening stops being current."""
    require(membership, Capability.EDIT_CLINICAL)
    _same_clinic(membership, patient)
    if len(description.strip()) < 3:
        raise ValidationError({"description": gettext("Describe the change in health.")})
    changed = 0
    for screening in Screening.objects.select_for_update(no_key=True).filter(
        patient=patient, invalidated_at__isnull=True
    ):
        screening.invalidated_at = timezone.now()
        screening.invalidated_reason = f"Change in health reported: {description.strip()}"[:300]
        screening.save()
        audit.wrote(screening, created=False)
        changed += 1

    return changed


def _signature_matches(signed_name: str, patient: Patient) -> bool:
    typed = normalise_name(signed_name)
    return typed in {
        normalise_name(patient.full_name),
        normalise_name(f"{patient.family_name} {patient.given_name}"),
    }


def _check_guardian(
    patient: Patient, age: int, signed_name: str, guardian_name: str, relationship: str, child_assent: bool
) -> dict[str, str]:
    """A patient under 18 is consented for by a guardian with the child's assent; an adult signs alone."""
    errors: dict[str, str] = {}
    if age >= ADULT_AGE:
        if guardian_name or relationship:
            errors["guardian_name"] = (
                f"{patient.full_name} is {age}: an adult consents for themselves, not through a guardian."
            )
        if child_assent:
            errors["child_assent"] = f"{patient.full_name} is {age}: assent is recorded only for a child under 18."
        if not errors and not _signature_matches(signed_name, patient):
            errors["signed_name"] = f"The signature must be the patient's full name ({patient.full_name})."
        return errors
    if not guardian_name:
        errors["guardian_name"] = (
            f"{patient.full_name} is {age}: a patient under 18 needs a guardian's consent; enter the guardian's name."
        )
    if relationship not in Consent.GuardianRelationship.values:
        errors["guardian_relationship"] = "Choose the guardian's relationship: parent, legal guardian or other."
    if not child_assent:
        errors["child_assent"] = (
            "Record the child's assent: needling a child needs their own agreement as well as the guardian's consent."
        )
    if guardian_name and normalise_name(signed_name) != normalise_name(guardian_name):
        errors["signed_name"] = f"The guardian signs with their own full name ({guardian_name})."
    elif guardian_name and _signature_matches(guardian_name, patient):
        errors["guardian_name"] = "The guardian is someone other than the child: enter the guardian's own name."
    return errors


@transaction.atomic
def record_consent(
    membership: Membership,
    patient: Patient,
    signed_name: str,
    text_version: int,
    drawn_signature: str = "",
    *,
    guardian_name: str = "",
    guardian_relationship: str = "",
    child_assent: bool = False,
) -> Consent:
    """The patient signs the current consent text by typing their full name.

    For a patient under 18 (age on the day of signing) a guardian signs with their own name and
    relationship, and the child's assent is recorded with it; guardian details or an assent for an adult
    are refused, as is an assent without a guardian.
    """
    require(membership, Capability.RECORD_CONSENT)
    _same_clinic(membership, patient)
    text = current_consent_text(patient.clinic)
    if text_version != text.version:
        raise ValidationError(
            gettext(
                "The consent text changed to version %(version)s while this form was open; "
                "show the patient the current text and sign again."
            )
            % {"version": text.version}
        )
    guardian_name = " ".join(guardian_name.split())
    age = patient.age_on(timezone.localdate())
    errors = _check_guardian(patient, age, signed_name, guardian_name, guardian_relationship, child_assent)
    if errors:
        raise ValidationError(errors)
    if len(drawn_signature) > 50_000:
        raise ValidationError({"drawn_signature": gettext("The drawn signature is too large.")})
    if drawn_signature and not SIGNATURE_PATH.match(drawn_signature):
        raise ValidationError({"drawn_signature": gettext("The drawn signature is not a signature drawing.")})
    return audit.wrote(
        Consent.objects.create(
            clinic_id=patient.clinic_id,
            patient=patient,
            text=text,
            signed_name=signed_name.strip(),
            drawn_signature=drawn_signature,
            recorded_by=membership,
            patient_age_years=age,
            guardian_name=guardian_name,
            guardian_relationship=guardian_relationship if guardian_name else "",
            child_assent=child_assent,
        ),
        created=True,
    )


@transaction.atomic
def withdraw_consent(membership: Membership, consent: Consent, reason: str) -> Consent:
    """Record that the patient withdrew consent (kept on record, never deleted)."""
    require(membership, Capability.RECORD_CONSENT)
    _same_clinic(membership, consent)
    consent = Consent.objects.select_for_update(no_key=True).get(pk=consent.pk)
    if consent.withdrawn_at is not None:
        raise ValidationError(gettext("This consent was already withdrawn."))
    consent.withdrawn_at = timezone.now()
    consent.withdrawal_reason = reason.strip()[:300] or "Withdrawn by the patient"
    consent.withdrawal_recorded_by = membership
    consent.save()
    return audit.wrote(consent, created=False)


def _check_episode(patient: Patient, data: dict[str, Any]) -> tuple[dict[str, str], str]:
    """Errors by field, and the episode's ICD-10-CM code (taken from the side when none was chosen)."""
    errors: dict[str, str] = {}
    icd10_code: str | None
    condition, side, icd10_code = data.get("condition"), data.get("side"), str(data.get("icd10_code") or "")
    if side not in Episode.Side.values:
        errors["side"] = "Choose left, right, both sides or central."
    if condition not in conditions():
        errors["condition"] = "Choose a condition from the list."
    elif icd10_code and icd10_code not in icd10_for(condition):
        errors["icd10_code"] = "Choose an ICD-10-CM code listed for this condition."
    elif "side" not in errors:
        # ICD-10-CM laterality: the code must agree with the episode's side (conditions.code_for_side).
        icd10_code, problem = code_for_side(condition, str(side), icd10_code)
        if problem:
            errors["icd10_code"] = problem
    onset = data.get("onset_date")
    if not isinstance(onset, date):
        errors["onset_date"] = "Enter the onset date."
    elif onset > timezone.localdate():
        errors["onset_date"] = "The onset date cannot be in the future."
    elif onset < patient.date_of_birth:
        errors["onset_date"] = "The onset date is before the patient's birth."
    return errors, icd10_code or ""


@transaction.atomic
def open_episode(
    membership: Membership, patient: Patient, data: dict[str, Any], opened_at: datetime | None = None
) -> Episode:
    """Open an episode of care; one open episode per condition and side.

    The ICD-10-CM code must agree with the side (a left episode never carries a right-side code); left empty, it is
    taken from the side where only one code fits.

    ``opened_at`` dates an episode brought in from history (an import); it defaults to now, may not be in the
    future, and may not precede the onset date.
    """
    require(membership, Capability.EDIT_CLINICAL)
    _same_clinic(membership, patient)
    errors, icd10_code = _check_episode(patient, data)
    opened_at = opened_at or timezone.now()
    if opened_at > timezone.now():
        errors["opened_at"] = "An episode cannot be opened in the future."
    elif "onset_date" not in errors and timezone.localdate(opened_at) < data["onset_date"]:
        errors["opened_at"] = "An episode cannot be opened before its onset date."
    if errors:
        raise ValidationError(errors)
    duplicate = Episode.objects.filter(
        patient=patient, condition=data["condition"], side=data["side"], status=Episode.Status.OPEN
    ).exists()
    if duplicate:
        raise ValidationError(gettext("This patient already has an open episode for this condition and side."))
    try:
        with transaction.atomic():
            return audit.wrote(
                Episode.objects.create(
                    clinic_id=patient.clinic_id,
                    patient=patient,
                    condition=data["condition"],
                    icd10_code=icd10_code,
                    side=data["side"],
                    onset_date=data["onset_date"],
                    goals=str(data.get("goals") or "").strip(),
                    opened_by=membership,
                    opened_at=opened_at,
                ),
                created=True,
            )
    except IntegrityError as exc:
        raise ValidationError(gettext("This patient already has an open episode for this condition and side.")) from exc


@transaction.atomic
def discharge_episode(membership: Membership, episode: Episode, discharge_date: date, reason: str) -> Episode:
    """Discharge an open episode with its date and reason."""
    require(membership, Capability.EDIT_CLINICAL)
    _same_clinic(membership, episode)
    episode = Episode.objects.select_for_update(no_key=True).get(pk=episode.pk)
    if episode.status != Episode.Status.OPEN:
        raise ValidationError(gettext("This episode is already discharged."))
    errors: dict[str, str] = {}
    if reason not in Episode.DischargeReason.values:
        errors["reason"] = "Choose goals met, plateau, self-discharged or referred on."
    if not isinstance(discharge_date, date):
        errors["discharge_date"] = "Enter the discharge date."
    elif discharge_date < episode.opened_at.date() and discharge_date < episode.onset_date:
        errors["discharge_date"] = "The discharge date is before the episode began."
    elif discharge_date > timezone.localdate():
        errors["discharge_date"] = "The discharge date cannot be in the future."
    if errors:
        raise ValidationError(errors)
    episode.status = Episode.Status.DISCHARGED
    episode.discharge_date = discharge_date
    episode.discharge_reason = reason
    episode.version += 1
    episode.save()
    return audit.wrote(episode, created=False)


def _source_problems(source: str, model: type[Model], what: str) -> list[str]:
    """What is wrong with the (whitespace-collapsed) name of where records came from: none given, or longer
    than ``model``'s source column."""
    errors = [] if source else [f"Say where the {what} came from."]
    if len(source) > _max_length(model, "source"):
        errors.append(f"The source is longer than {_max_length(model, 'source')} characters.")
    return errors


def _reported_problems(item: ReportedConditionData) -> list[str]:
    """What stops a reported condition from being kept: no code, a status outside its FHIR code system, statuses
    that contradict each other, or a value longer than its column."""
    problems = []
    if not item.system.strip() or not item.code.strip():
        problems.append("A reported condition needs a code and its code system.")
    if item.clinical_status and item.clinical_status not in clinical_statuses().codes:
        problems.append(f"Unknown clinical status {item.clinical_status!r}.")
    if item.verification_status and item.verification_status not in verification_statuses().codes:
        problems.append(f"Unknown verification status {item.verification_status!r}.")
    problems += status_problems(item.clinical_status, item.verification_status, bool(item.abatement))
    for name in ("system", "code", "display", "text", "onset", "abatement", "recorded_date", "source_reference"):
        limit = _max_length(ReportedCondition, name)
        if len(getattr(item, name)) > limit:
            problems.append(f"The reported condition's {name.replace('_', ' ')} is longer than {limit} characters.")
    return problems


@transaction.atomic
def record_reported_conditions(
    membership: Membership,
    patient: Patient,
    reported: Sequence[ReportedConditionData],
    source: str,
    imported_at: datetime | None = None,
) -> list[ReportedCondition]:
    """Keep the conditions another record reported for a patient, as received, naming where they came from.

    All or none: any condition that cannot be kept raises ``ValidationError`` listing each problem (by position)
    and nothing is stored. Kept conditions are never changed or deleted afterwards.
    """
    require(membership, Capability.EDIT_CLINICAL)
    _same_clinic(membership, patient)
    source = " ".join(source.split())
    errors = _source_problems(source, ReportedCondition, "conditions")
    for position, item in enumerate(reported, start=1):
        errors += [f"Condition {position}: {problem}" for problem in _reported_problems(item)]
    if errors:
        raise ValidationError(errors)
    moment = imported_at or timezone.now()
    return [
        audit.wrote(
            ReportedCondition.objects.create(
                clinic_id=patient.clinic_id,
                patient=patient,
                system=item.system,
                code=item.code,
                display=item.display,
                codings=[dict(c) for c in item.codings],
                text=item.text,
                clinical_status=item.clinical_status,
                verification_status=item.verification_status,
                onset=item.onset,
                abatement=item.abatement,
                recorded_date=item.recorded_date,
                source=source,
                source_reference=item.source_reference,
                imported_by=membership,
                imported_at=moment,
            ),
            created=True,
        )
        for item in reported
    ]


def _received_problems(patient: Patient, item: ReceivedRecordData) -> list[str]:
    """What stops a record from being kept as received: a type this server does not serve, a resource of another
    type, a key that is not this patient's, a sender's reference longer than its column."""
    problems = []
    if item.resource_type not in TYPE_LABELS:
        problems.append(f"{item.resource_type!r} records are not kept.")
    if not isinstance(item.resource, dict) or item.resource.get("resourceType") != item.resource_type:
        problems.append(f"The resource is not a {item.resource_type}.")
    if not re.fullmatch(rf"{patient.pk}-\d+", item.key):
        problems.append(f"The key {item.key!r} is not one of this patient's ({patient.pk}-<entry>).")
    limit = _max_length(ReceivedRecord, "source_reference")
    if len(item.source_reference) > limit:
        problems.append(f"The sender's reference is longer than {limit} characters.")
    return problems


@transaction.atomic
def keep_received_records(
    membership: Membership,
    patient: Patient,
    received: Sequence[ReceivedRecordData],
    source: str,
    imported_at: datetime | None = None,
) -> list[ReceivedRecord]:
    """Keep records another clinic made for a patient, as received, naming where they came from (the resources'
    structure was checked by the caller: ``needlepoint.fhir.r4_structure``).

    All or none: any record that cannot be kept raises ``ValidationError`` listing each problem (by position)
    and nothing is stored. Kept records are never changed or deleted afterwards.
    """
    require(membership, Capability.EDIT_CLINICAL)
    _same_clinic(membership, patient)
    source = " ".join(source.split())
    errors = _source_problems(source, ReceivedRecord, "records")
    for position, item in enumerate(received, start=1):
        errors += [f"Record {position}: {problem}" for problem in _received_problems(patient, item)]
    if errors:
        raise ValidationError(errors)
    moment = imported_at or timezone.now()
    return [
        audit.wrote(
            ReceivedRecord.objects.create(
                clinic_id=patient.clinic_id,
                patient=patient,
                resource_type=item.resource_type,
                key=item.key,
                resource=item.resource,
                summary=summary(item.resource),
                occurred=occurred(item.resource),
                source=source,
                source_reference=item.source_reference,
                imported_by=membership,
                imported_at=moment,
            ),
            created=True,
        )
        for item in received
    ]


@transaction.atomic
def set_minimum_needling_age(membership: Membership, age: object) -> Clinic:
    """Set the clinic's minimum needling age (clinic admins): the gate refuses patients younger than this.

    A whole number of years from 0 to 18; 18 means the clinic needles adults only. The change is audited.
    """
    require(membership, Capability.CONFIGURE_CLINIC)
    if isinstance(age, bool) or not isinstance(age, int) or not 0 <= age <= ADULT_AGE:
        raise ValidationError(
            {
                "minimum_needling_age": gettext("Enter a whole number of years from 0 to %(adult)s, not %(given)s.")
                % {"adult": ADULT_AGE, "given": repr(age)}
            }
        )
    clinic = Clinic.objects.select_for_update(no_key=True).get(pk=membership.clinic_id)
    before = clinic.minimum_needling_age
    clinic.minimum_needling_age = age
    clinic.save(update_fields=["minimum_needling_age"])
    audit.record("update", clinic, summary=f"minimum needling age {before} -> {age}", clinic_id=clinic.pk)
    return clinic


def _same_clinic(membership: Membership, obj: Any) -> None:
    """Defence in depth: an object fetched elsewhere must still belong to the acting clinic."""
    if obj.clinic_id != membership.clinic_id:
        raise ValidationError(gettext("This record belongs to another clinic."))
