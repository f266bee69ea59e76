"""API for patients, screening, consent and episodes: the same actions and access rules as the pages."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from ninja import Field, Router, Schema, Status

from needlepoint.accounts.access import get_patient, get_record
from needlepoint.accounts.requests import ClinicRequest, member
from needlepoint.accounts.roles import Capability
from needlepoint.patients import actions, demographics
from needlepoint.patients.consent import current_consent_text
from needlepoint.patients.gate import needling_clearance
from needlepoint.patients.models import Consent, Episode, Patient, Screening
from needlepoint.patients.search import find_patients

router = Router(tags=["patients"])


def _codes_of(coded: demographics.CodedSet) -> str:
    return ", ".join(f"{c.code} ({c.display})" for c in coded.codes)


# The coded demographics, described from their data file (patients/data/demographics.json); the action refuses
# any other code.
MARITAL_HELP = f"v3-MaritalStatus: {_codes_of(demographics.marital_statuses())}"
RACE_HELP = f"OMB race categories, patient-reported; ASKU or UNK stand alone: {_codes_of(demographics.races())}"
ETHNICITY_HELP = f"OMB ethnicity category, patient-reported: {_codes_of(demographics.ethnicities())}"
BIRTH_SEX_HELP = f"US Core birth sex, patient-reported: {_codes_of(demographics.birth_sexes())}"


class PatientIn(Schema):
    given_name: str = Field(max_length=100)
    family_name: str = Field(max_length=100)
    date_of_birth: date
    sex: str = "unknown"
    phone: str = Field("", max_length=40)
    email: str = Field("", max_length=254)
    address: str = Field("", max_length=300, description="Street line(s), one per line")
    address_city: str = Field("", max_length=100)
    address_state: str = Field("", max_length=100)
    address_postal_code: str = Field("", max_length=20)
    address_country: str = Field("", max_length=100)
    name_prefix: str = Field("", max_length=40, description="Title, e.g. Ms.")
    marital_status: str = Field("", description=MARITAL_HELP)
    race_codes: list[str] = Field(default_factory=list, description=RACE_HELP)
    race_text: str = Field("", max_length=200, description="Race in the patient's words")
    ethnicity_code: str = Field("", description=ETHNICITY_HELP)
    ethnicity_text: str = Field("", max_length=200, description="Ethnicity in the patient's words")
    birth_sex: str = Field("", description=BIRTH_SEX_HELP)
    emergency_contact: str = Field("", max_length=200)
    preferred_language: str = Field("en", description="en or es: the language of the patient's pages and messages")
    mrn: str = Field("", max_length=30, description="Leave empty to generate one")
    confirm_duplicate: bool = Field(
        False,
        description="A patient with the same name and birth date, or the same phone, is refused with 409 and the "
        "candidates; send true to register a different person anyway",
    )


class PatientUpdate(Schema):
    version: int = Field(description="The version you read; a stale version is refused")
    given_name: str | None = None
    family_name: str | None = None
    date_of_birth: date | None = None
    sex: str | None = None
    phone: str | None = None
    email: str | None = None
    address: str | None = None
    address_city: str | None = None
    address_state: str | None = None
    address_postal_code: str | None = None
    address_country: str | None = None
    name_prefix: str | None = None
    marital_status: str | None = None
    race_codes: list[str] | None = None
    race_text: str | None = None
    ethnicity_code: str | None = None
    ethnicity_text: str | None = None
    birth_sex: str | None = None
    emergency_contact: str | None = None
    preferred_language: str | None = None
    confirm_duplicate: bool = Field(
        default=False, description="The new name, birth date or phone is a different person's: save anyway"
    )


class PatientOut(Schema):
    id: int
    mrn: str
    given_name: str
    family_name: str
    date_of_birth: date
    sex: str
    phone: str
    email: str
    address: str
    address_city: str = ""
    address_state: str = ""
    address_postal_code: str = ""
    address_country: str = ""
    name_prefix: str = ""
    marital_status: str = ""
    race_codes: list[str] = Field(default_factory=list)
    race_text: str = ""
    ethnicity_code: str = ""
    ethnicity_text: str = ""
    birth_sex: str = ""
    emergency_contact: str
    preferred_language: str
    version: int
    deceased: bool = False  # recorded on the chart (patients.actions.record_death); read-only here
    deceased_date: date | None = None  # None with ``deceased``: the date of death is not known


def _patient_out(p: Patient) -> PatientOut:
    return PatientOut(
        id=p.pk,
        mrn=p.mrn,
        given_name=p.given_name,
        family_name=p.family_name,
        date_of_birth=p.date_of_birth,
        sex=p.sex,
        phone=p.phone,
        email=p.email,
        address=p.address,
        address_city=p.address_city,
        address_state=p.address_state,
        address_postal_code=p.address_postal_code,
        address_country=p.address_country,
        name_prefix=p.name_prefix,
        marital_status=p.marital_status,
        race_codes=list(p.race_codes or []),
        race_text=p.race_text,
        ethnicity_code=p.ethnicity_code,
        ethnicity_text=p.ethnicity_text,
        birth_sex=p.birth_sex,
        emergency_contact=p.emergency_contact,
        preferred_language=p.preferred_language,
        version=p.version,
        deceased=p.deceased,
        deceased_date=p.deceased_date,
    )


class PatientSearchIn(Schema):
    q: str = Field(
        max_length=200,
        description='Name start ("Last, First" or "First Last"), date of birth (YYYY-MM-DD), MRN or phone',
    )


def _search(request: ClinicRequest, q: str) -> list[PatientOut]:
    found = find_patients(member(request), q)
    return [_patient_out(p) for p in found]


@router.get("", response=list[PatientOut])
def list_patients(request: ClinicRequest, q: str) -> list[PatientOut]:
    """Search by name start ("Last, First" or "First Last"), date of birth (YYYY-MM-DD), MRN or phone.

    The terms travel in the address, so web servers and proxies write them to their access logs: prefer
    ``POST /patients/search``, which carries them in the body.
    """
    return _search(request, q)


# Declared before "/{patient_id}", so "search" is never taken for a patient's id.
@router.post("/search", response=list[PatientOut])
def search_patients_by_post(request: ClinicRequest, body: PatientSearchIn) -> list[PatientOut]:
    """The same search with the terms in the JSON body ({"q": "..."}), so they stay out of access logs."""
    return _search(request, body.q)


class CandidateOut(Schema):
    """An existing patient the new registration may duplicate: enough to recognise them, and their id."""

    id: int
    mrn: str
    given_name: str
    family_name: str
    date_of_birth: date
    phone: str


class DuplicateOut(Schema):
    detail: str
    candidates: list[CandidateOut]


@router.post("", response={201: PatientOut, 409: DuplicateOut})
def create_patient(request: ClinicRequest, body: PatientIn) -> Status[PatientOut] | Status[DuplicateOut]:
    """Register a patient; a possible duplicate is answered 409 with the candidates unless ``confirm_duplicate``."""
    data = body.dict(exclude={"mrn", "confirm_duplicate"})
    try:
        patient = actions.register_patient(
            member(request),
            data,
            mrn=body.mrn,
            confirm_duplicate=body.confirm_duplicate,
        )
    except actions.PossibleDuplicate as exc:
        return Status(409, _duplicate_out(exc))
    return Status(201, _patient_out(patient))


def _duplicate_out(exc: actions.PossibleDuplicate) -> DuplicateOut:
    candidates = [
        CandidateOut(
            id=p.pk,
            mrn=p.mrn,
            given_name=p.given_name,
            family_name=p.family_name,
            date_of_birth=p.date_of_birth,
            phone=p.phone,
        )
        for p in exc.candidates
    ]
    return DuplicateOut(detail=exc.messages[0], candidates=candidates)


@router.get("/{patient_id}", response=PatientOut)
def read_patient(request: ClinicRequest, patient_id: int) -> PatientOut:
    """One patient's demographics."""
    return _patient_out(get_patient(member(request), patient_id))


@router.patch("/{patient_id}", response={200: PatientOut, 409: DuplicateOut})
def update_patient(
    request: ClinicRequest, patient_id: int, body: PatientUpdate
) -> Status[PatientOut] | Status[DuplicateOut]:
    """Change demographics; refused with 400 if someone else saved since ``version``, and answered 409 with the
    candidates when the new name, birth date or phone may be another patient's, unless ``confirm_duplicate``."""
    data = {k: v for k, v in body.dict(exclude={"version", "confirm_duplicate"}).items() if v is not None}
    try:
        patient = actions.update_patient(
            member(request),
            patient_id,
            data,
            body.version,
            confirm_duplicate=body.confirm_duplicate,
        )
    except actions.PossibleDuplicate as exc:
        return Status(409, _duplicate_out(exc))
    return Status(200, _patient_out(patient))


class ClearanceOut(Schema):
    allowed: bool
    codes: list[str]  # one machine code per reason, to decide by (the words may change)
    reasons: list[str]


@router.get("/{patient_id}/needling-clearance", response=ClearanceOut)
def clearance(request: ClinicRequest, patient_id: int) -> ClearanceOut:
    """Whether the patient may be needled now, and why not."""
    patient = get_patient(member(request), patient_id, Capability.VIEW_CONSENT_STATUS)
    result = needling_clearance(patient)
    return ClearanceOut(allowed=result.allowed, codes=result.codes, reasons=result.reasons)


class ScreeningIn(Schema):
    answers: dict[str, Any] = Field(
        description="Each question's code: yes/no; each detail's name: its value; height_cm and weight_kg "
        "(required): the measured build. The BMI, low_bmi and child are derived, never sent."
    )


class ScreeningOut(Schema):
    id: int
    status: str
    findings: list[dict[str, Any]]
    answers: dict[str, Any]
    age_years: int | None = Field(description="Age at screening, from the date of birth")
    bmi: float | None = Field(description="Derived from height and weight")
    screened_at: datetime
    current: bool
    precautions_acknowledged_at: datetime | None
    precautions_note: str


def _screening_out(s: Screening) -> ScreeningOut:
    return ScreeningOut(
        id=s.pk,
        status=s.status,
        findings=s.findings,
        answers=s.answers,
        age_years=s.age_years,
        bmi=float(s.bmi) if s.bmi is not None else None,
        screened_at=s.screened_at,
        current=s.is_current(),
        precautions_acknowledged_at=s.precautions_acknowledged_at,
        precautions_note=s.precautions_note,
    )


@router.post("/{patient_id}/screenings", response={201: ScreeningOut})
def create_screening(request: ClinicRequest, patient_id: int, body: ScreeningIn) -> Status[ScreeningOut]:
    """Record a safety screening; the status comes from the screening rules."""
    m = member(request)
    patient = get_patient(m, patient_id, Capability.EDIT_CLINICAL)
    return Status(201, _screening_out(actions.record_screening(m, patient, body.answers)))


@router.get("/{patient_id}/screenings", response=list[ScreeningOut])
def list_screenings(request: ClinicRequest, patient_id: int) -> list[ScreeningOut]:
    """The patient's screenings, newest first."""
    patient = get_patient(member(request), patient_id, Capability.VIEW_CLINICAL)
    return [_screening_out(s) for s in Screening.objects.filter(patient=patient).order_by("-screened_at")[:50]]


class NoteIn(Schema):
    note: str


@router.post("/{patient_id}/screenings/{screening_id}/acknowledge", response=ScreeningOut)
def acknowledge(request: ClinicRequest, patient_id: int, screening_id: int, body: NoteIn) -> ScreeningOut:
    """Acknowledge a screening's precautions with a note."""
    m = member(request)
    screening = get_record(m, Screening.objects.all(), screening_id, Capability.EDIT_CLINICAL, patient_id=patient_id)
    return _screening_out(actions.acknowledge_precautions(m, screening, body.note))


class HealthChangeIn(Schema):
    description: str


@router.post("/{patient_id}/health-change", response=ClearanceOut)
def health_change(request: ClinicRequest, patient_id: int, body: HealthChangeIn) -> ClearanceOut:
    """Record a reported change in health; returns the clearance afterwards."""
    m = member(request)
    patient = get_patient(m, patient_id, Capability.EDIT_CLINICAL)
    actions.report_health_change(m, patient, body.description)
    result = needling_clearance(patient)
    return ClearanceOut(allowed=result.allowed, codes=result.codes, reasons=result.reasons)


class ConsentTextOut(Schema):
    version: int
    title: str
    body: str
    material_risks: list[dict[str, Any]]


@router.get("/{patient_id}/consent-text", response=ConsentTextOut)
def consent_text(request: ClinicRequest, patient_id: int) -> ConsentTextOut:
    """The consent text the patient would sign now."""
    patient = get_patient(member(request), patient_id, Capability.RECORD_CONSENT)
    text = current_consent_text(patient.clinic)
    return ConsentTextOut(version=text.version, title=text.title, body=text.body, material_risks=text.material_risks)


class ConsentIn(Schema):
    signed_name: str = Field(max_length=210, description="The patient's full name; under 18, the guardian's")
    text_version: int
    drawn_signature: str = ""
    guardian_name: str = Field("", max_length=210, description="Required under 18; refused for an adult")
    guardian_relationship: str = Field("", description="parent, legal_guardian or other (under 18)")
    child_assent: bool = Field(False, description="The child's assent: required under 18, refused for an adult")


class ConsentOut(Schema):
    id: int
    text_version: int
    signed_name: str
    signed_at: datetime
    patient_age_years: int | None
    guardian_name: str
    guardian_relationship: str
    child_assent: bool
    withdrawn_at: datetime | None
    withdrawal_reason: str


def _consent_out(c: Consent) -> ConsentOut:
    return ConsentOut(
        id=c.pk,
        text_version=c.text.version,
        signed_name=c.signed_name,
        signed_at=c.signed_at,
        patient_age_years=c.patient_age_years,
        guardian_name=c.guardian_name,
        guardian_relationship=c.guardian_relationship,
        child_assent=c.child_assent,
        withdrawn_at=c.withdrawn_at,
        withdrawal_reason=c.withdrawal_reason,
    )


@router.post("/{patient_id}/consents", response={201: ConsentOut})
def create_consent(request: ClinicRequest, patient_id: int, body: ConsentIn) -> Status[ConsentOut]:
    """Record the patient's consent, signed by typed full name."""
    m = member(request)
    patient = get_patient(m, patient_id, Capability.RECORD_CONSENT)
    consent = actions.record_consent(
        m,
        patient,
        body.signed_name,
        body.text_version,
        body.drawn_signature,
        guardian_name=body.guardian_name,
        guardian_relationship=body.guardian_relationship,
        child_assent=body.child_assent,
    )
    return Status(201, _consent_out(consent))


class WithdrawIn(Schema):
    reason: str = ""


@router.post("/{patient_id}/consents/{consent_id}/withdraw", response=ConsentOut)
def withdraw(request: ClinicRequest, patient_id: int, consent_id: int, body: WithdrawIn) -> ConsentOut:
    """Record the withdrawal of consent."""
    m = member(request)
    consent = get_record(
        m,
        Consent.objects.select_related("text"),
        consent_id,
        Capability.RECORD_CONSENT,
        patient_id=patient_id,
    )
    return _consent_out(actions.withdraw_consent(m, consent, body.reason))


class EpisodeIn(Schema):
    condition: str
    icd10_code: str
    side: str
    onset_date: date
    goals: str = ""


class EpisodeOut(Schema):
    id: int
    condition: str
    condition_label: str
    icd10_code: str
    side: str
    onset_date: date
    goals: str
    status: str
    discharge_date: date | None
    discharge_reason: str


def _episode_out(e: Episode) -> EpisodeOut:
    return EpisodeOut(
        id=e.pk,
        condition=e.condition,
        condition_label=e.condition_label,
        icd10_code=e.icd10_code,
        side=e.side,
        onset_date=e.onset_date,
        goals=e.goals,
        status=e.status,
        discharge_date=e.discharge_date,
        discharge_reason=e.discharge_reason,
    )


@router.post("/{patient_id}/episodes", response={201: EpisodeOut})
def create_episode(request: ClinicRequest, patient_id: int, body: EpisodeIn) -> Status[EpisodeOut]:
    """Open an episode of care."""
    m = member(request)
    patient = get_patient(m, patient_id, Capability.EDIT_CLINICAL)
    return Status(201, _episode_out(actions.open_episode(m, patient, body.dict())))


@router.get("/{patient_id}/episodes", response=list[EpisodeOut])
def list_episodes(request: ClinicRequest, patient_id: int) -> list[EpisodeOut]:
    """The patient's episodes of care."""
    patient = get_patient(member(request), patient_id, Capability.VIEW_CLINICAL)
    return [_episode_out(e) for e in Episode.objects.filter(patient=patient).order_by("-opened_at")[:100]]


class DischargeIn(Schema):
    discharge_date: date
    reason: str


@router.post("/{patient_id}/episodes/{episode_id}/discharge", response=EpisodeOut)
def discharge(request: ClinicRequest, patient_id: int, episode_id: int, body: DischargeIn) -> EpisodeOut:
    """Discharge an episode."""
    m = member(request)
    episode = get_record(m, Episode.objects.all(), episode_id, Capability.EDIT_CLINICAL, patient_id=patient_id)
    return _episode_out(actions.discharge_episode(m, episode, body.discharge_date, body.reason))
