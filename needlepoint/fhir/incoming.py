"""Reading a posted transaction Bundle into an import plan. Pure module, no Django.

What is imported, and how (``needlepoint.fhir.importer`` writes the plan through the apps' actions):

- The bundle's one Patient becomes a new patient of the clinic: official (else first) name with its prefix, birth
  date (a full date is required), gender, the first phone and e-mail, the first address's parts, marital status,
  the US Core race, ethnicity and birth sex, and the sender's identifiers (kept beside a new MRN of ours); see
  ``needlepoint.fhir.patient_in``. Every other element of the Patient is listed by name as not kept.
- Its plain Observations coded LOINC 72514-3 (0-10 pain severity) with status final, amended or corrected become
  0-10 pain ratings (NPRS), patient-reported, in one new episode of care. NPRS is recorded in whole numbers,
  so a fractional value (Synthea writes 3.2992...) is rounded half up, and each rounding is reported.
  The first rating is the episode's baseline, the later ones re-assessments; the episode's onset is the
  date of the first rating. "Plain": nothing the clinic's rating does not record (``PLAIN_PAIN_ELEMENTS``).
- Its plain Conditions are kept as the sender stated them (``read_condition``): every coding of the code, the
  clinical and verification statuses (FHIR condition-clinical, condition-ver-status), onset, abatement and
  recorded date as FHIR dates. A Condition that cannot be kept refuses the bundle. Without a condition named by
  the caller, the episode is opened for the one active Condition whose ICD-10-CM code the clinic's episodes are
  opened for (patients/data/conditions.json), if there is exactly one (``choose_episode``); SNOMED CT codes are
  not mapped to those conditions (no SNOMED CT to condition map with a primary source is at hand).
- Its Procedures, AdverseEvents, Consents, QuestionnaireResponses, other Observations, and Conditions that say
  more than a reported condition keeps, are kept as received (``keeps_as_received``): another clinic's records,
  whole, their references rewritten to the ids this server gives the entries. Each must be about the bundle's
  Patient and have R4's structure (``needlepoint.fhir.r4_structure``), or the bundle is refused.
- Everything else (Encounters, Claims, Practitioners, ...) is ignored: not stored, and its entry in the
  transaction-response says so; a kept record's reference to such an entry keeps its type and display, and the
  record's entry says the reference was not kept. Nothing is half-imported: any error rejects the whole bundle.
- Before any of that, the bundle's form (``needlepoint.fhir.transaction_bundle``): every entry an R4 resource
  type with a FHIR id, a fullUrl that is a urn:uuid:, urn:oid: or absolute URL and no other entry's, a POST
  request whose url names the entry's type; every reference resolved within the bundle (no dangling urn:uuid:
  or Type/id, no conditional reference). A Patient entry's ifNoneExist (``identifier=system|value``) is kept in
  the plan (``if_none_exist``); the importer searches for it (conditional create, ``importer.import_bundle``).
- A pain rating dated after the Patient's date of death (deceasedDateTime: after its instant when it has a time,
  after its day when it is a date) refuses the bundle: a rating cannot have been given after the death, so the
  sender's record is wrong in one of the two, and which one is not ours to guess.
- A Social Security number among the Patient's identifiers (``demographics.identifier_not_kept``) is kept only
  when the clinic keeps them (``keeps_social_security_numbers``); otherwise it is listed as not kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, tzinfo
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from needlepoint.fhir import codes, patient_in, r4_structure
from needlepoint.fhir.mapping import Issue
from needlepoint.fhir.search import SearchError, date_interval
from needlepoint.fhir.transaction_bundle import (
    entry_path,
    entry_problems,
    if_none_exist,
    reference_problems,
    reference_targets,
)
from needlepoint.patients.conditions import EPISODE_SIDE_WORDS, episode_side, offering
from needlepoint.patients.reported_conditions import (
    ReportedConditionData,
    StatusSystem,
    clinical_statuses,
    is_active,
    status_problems,
    verification_statuses,
)

FINAL_STATUSES = ("final", "amended", "corrected")
PAIN_UNITS = ("{score}", "1", "{#}")
MAX_LENGTHS = {
    "name_prefix": 40,
    "given_name": 100,
    "family_name": 100,
    "phone": 40,
    "email": 254,
    "address": 300,
    "address_city": 100,
    "address_state": 100,
    "address_postal_code": 20,
    "address_country": 100,
    "race_text": 200,
    "ethnicity_text": 200,
}
IMPORTED_TYPES = (
    "Patient",
    "Observation",
    "Condition",
    "Procedure",
    "AdverseEvent",
    "Consent",
    "QuestionnaireResponse",
)
# The elements of a 0-10 pain Observation the clinic's own rating records (or, for the encounter, does not store,
# as before): one with any other element (a partOf, a performer, a note, an extension...) is kept as received.
PLAIN_PAIN_ELEMENTS = frozenset(
    {
        "resourceType", "id", "meta", "text", "status", "category", "code", "subject", "encounter",
        "effectiveDateTime", "effectiveInstant", "effectivePeriod", "issued", "valueQuantity",
    }
)  # fmt: skip
# The elements of a Condition a reported condition keeps (or notes it does not, as before: its encounter, an onset
# or abatement other than a dateTime): one with any other element (a category, a body site, a note, a recorder...)
# is kept as received.
REPORTED_CONDITION_ELEMENTS = frozenset(
    {
        "resourceType", "id", "meta", "text", "code", "clinicalStatus", "verificationStatus", "subject",
        "encounter", "recordedDate", "onsetDateTime", "onsetAge", "onsetPeriod", "onsetRange", "onsetString",
        "abatementDateTime", "abatementAge", "abatementPeriod", "abatementRange", "abatementString",
        "abatementBoolean",
    }
)  # fmt: skip
# Where each kept type names its patient (R4: Consent.patient, the others' subject).
PATIENT_ELEMENT = {"Consent": "patient"}
# The R4 dateTime datatype's shape (a time needs seconds and a zone); the calendar is checked by date_interval.
FHIR_DATE_TIME = re.compile(r"^\d{4}(-\d{2}(-\d{2}(T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2}))?)?)?$")
CONDITION_DATES = (("onset", "onsetDateTime"), ("abatement", "abatementDateTime"), ("recorded_date", "recordedDate"))
DEFAULT_SOURCE = "FHIR import"


class BundleRejected(ValueError):
    """The bundle cannot be imported; ``issues`` says why (each with the entry it concerns). Nothing was written."""

    def __init__(self, issues: list[Issue], status: int = 400) -> None:
        self.issues = issues
        self.status = status
        super().__init__("; ".join(i.diagnostics for i in issues))


@dataclass(frozen=True)
class PainReading:
    """One 0-10 pain rating to import."""

    entry: int  # index in Bundle.entry
    at: datetime
    value: float  # as sent
    rating: int  # as recorded (whole number)


@dataclass(frozen=True)
class ConditionReading:
    """One Condition to keep, and the entry it came from."""

    entry: int  # index in Bundle.entry
    data: ReportedConditionData

    @property
    def active(self) -> bool:
        """Whether the sender says the patient has it now (``reported_conditions.is_active``)."""
        return is_active(self.data.clinical_status, self.data.verification_status)

    @property
    def icd10_codes(self) -> tuple[str, ...]:
        """Its ICD-10-CM codes, in the order received."""
        return tuple(c["code"] for c in self.data.codings if c["system"] == codes.ICD10_CM)


@dataclass(frozen=True)
class KeptResource:
    """A resource to keep as received (``needlepoint.patients.models.ReceivedRecord``): its entry, its type, the
    resource as sent (its references are rewritten when the ids it points at are known) and the sender's
    fullUrl or Type/id."""

    entry: int  # index in Bundle.entry
    resource_type: str
    resource: dict[str, Any]
    source_reference: str


@dataclass(frozen=True)
class EpisodeChoice:
    """The condition the bundle's Conditions name for the episode, (condition, ICD-10-CM code, side), or None for
    the default; ``reason`` says why, and ``entry`` is the Condition chosen."""

    condition: tuple[str, str, str] | None
    reason: str
    entry: int | None = None


@dataclass(frozen=True)
class ImportPlan:
    """What a bundle imports: the patient's demographics, the pain ratings, and what is left out."""

    patient_entry: int
    entry_types: tuple[str, ...]  # each entry's resourceType, in the bundle's order
    demographics: dict[str, Any]
    readings: tuple[PainReading, ...]
    ignored: tuple[Issue, ...]
    notes: tuple[Issue, ...] = field(default=())
    conditions: tuple[ConditionReading, ...] = field(default=())
    episode_choice: EpisodeChoice | None = None
    source: str = DEFAULT_SOURCE
    identifiers: tuple[dict[str, str], ...] = field(default=())
    kept: tuple[KeptResource, ...] = field(default=())
    targets: dict[str, int] = field(default_factory=dict)  # every reference form of the bundle, to its entry
    # The Patient entry's conditional create (ifNoneExist): the (system, value) pairs to search, or () for none.
    if_none_exist: tuple[tuple[str, str], ...] = field(default=())


_where = entry_path  # every issue located alike: the transaction-response finds each issue's entry by it


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _parse_moment(text: Any) -> datetime | None:
    """A FHIR dateTime with a time and zone, or a full date (taken as midnight UTC); None otherwise."""
    if not isinstance(text, str):
        return None
    try:
        if len(text) == 10:
            return datetime.fromisoformat(text + "T00:00:00+00:00")
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _telecom(resource: dict[str, Any], system: str) -> str:
    for point in resource.get("telecom") or []:
        if isinstance(point, dict) and point.get("system") == system and _text(point.get("value")):
            return _text(point["value"])
    return ""


def read_patient(resource: dict[str, Any], index: int, today: date) -> tuple[dict[str, Any], list[Issue]]:
    """The demographics ``register_patient`` takes, and every problem with them (errors)."""
    problems: list[Issue] = []
    _, name = patient_in.chosen_name(resource)
    family = _text(name.get("family")) if name else ""
    given = " ".join(_text(g) for g in (name.get("given") or []) if _text(g)) if name else ""
    if not family or not given:
        problems.append(
            Issue(
                "error", "required", "The Patient needs a family name and a given name.", _where(index, "resource.name")
            )
        )
    birth_text = resource.get("birthDate")
    birth: date | None = None
    try:
        birth = date.fromisoformat(birth_text) if isinstance(birth_text, str) and len(birth_text) == 10 else None
    except ValueError:
        birth = None
    if birth is None:
        problems.append(
            Issue(
                "error",
                "required",
                "The Patient needs a full birth date (YYYY-MM-DD).",
                _where(index, "resource.birthDate"),
            )
        )
    elif birth > today:
        problems.append(
            Issue("error", "value", "The Patient's birth date is in the future.", _where(index, "resource.birthDate"))
        )
    gender = resource.get("gender") or "unknown"
    if gender not in ("male", "female", "other", "unknown"):
        problems.append(Issue("error", "value", f"Unknown gender {gender!r}.", _where(index, "resource.gender")))
    deceased, deceased_date, death_problems = read_death(resource, index, birth, today)
    problems += death_problems
    data: dict[str, Any] = {
        "given_name": given,
        "family_name": family,
        "date_of_birth": birth,
        "sex": gender,
        "phone": _telecom(resource, "phone"),
        "email": _telecom(resource, "email"),
        "name_prefix": patient_in.name_parts(resource)[0],
        "marital_status": patient_in.marital_status(resource)[0],
        "deceased": deceased,
        "deceased_date": deceased_date,
    }
    data |= patient_in.address_parts(resource)[0] | patient_in.coded_demographics(resource)[0]
    for key, limit in MAX_LENGTHS.items():
        if len(data[key]) > limit:
            problems.append(
                Issue(
                    "error",
                    "value",
                    f"The Patient's {key.replace('_', ' ')} is longer than {limit} characters.",
                    _where(index, "resource"),
                )
            )
    return data, problems


def patient_left_out(resource: dict[str, Any], index: int, keeps_social_security_numbers: bool = False) -> list[Issue]:
    """One note per element of the Patient that is not kept, naming it."""
    found = [
        *patient_in.name_parts(resource)[1],
        *patient_in.telecom_left_out(resource),
        *patient_in.address_parts(resource)[1],
        *patient_in.marital_status(resource)[1],
        *patient_in.coded_demographics(resource)[1],
        *patient_in.identifiers(resource, keeps_social_security_numbers)[1],
        *patient_in.other_elements(resource),
    ]
    return [
        Issue("information", "informational", f"Not kept: Patient.{left.what}.", _where(index, f"resource.{left.path}"))
        for left in found
    ]


def read_death(
    resource: dict[str, Any], index: int, birth: date | None, today: date
) -> tuple[bool, date | None, list[Issue]]:
    """Patient.deceased[x]: whether the patient has died, the date of death (the date part of deceasedDateTime;
    None when only deceasedBoolean says so), and every problem (a partial or unreadable date, a date in the
    future or before birth, both forms at once)."""
    where = _where(index, "resource")
    flag, text = resource.get("deceasedBoolean"), resource.get("deceasedDateTime")
    if flag is not None and text is not None:
        return (
            False,
            None,
            [Issue("error", "value", "The Patient has both deceasedBoolean and deceasedDateTime.", where)],
        )
    if flag is not None:
        if not isinstance(flag, bool):
            return False, None, [Issue("error", "value", "The Patient's deceasedBoolean is not true or false.", where)]
        return flag, None, []
    if text is None:
        return False, None, []
    day: date | None = None
    if isinstance(text, str) and len(text) >= 10 and (len(text) == 10 or _parse_moment(text) is not None):
        try:
            day = date.fromisoformat(text[:10])
        except ValueError:
            day = None
    if day is None:
        message = (
            f"The Patient's deceasedDateTime {text!r} is not a full date (YYYY-MM-DD, with or without a time); "
            "send deceasedBoolean true when the day of death is not known."
        )
        return False, None, [Issue("error", "value", message, where)]
    if day > today:
        return False, None, [Issue("error", "value", f"The Patient's date of death {day} is in the future.", where)]
    if birth is not None and day < birth:
        message = f"The Patient's date of death {day} is before the birth date {birth}."
        return False, None, [Issue("error", "value", message, where)]
    return True, day, []


def is_pain_observation(resource: dict[str, Any]) -> bool:
    """Whether an Observation is coded LOINC 72514-3 (0-10 pain severity)."""
    code: Any = resource.get("code") if isinstance(resource.get("code"), dict) else {}
    return any(
        isinstance(c, dict) and c.get("system") == codes.LOINC and c.get("code") == codes.PAIN_LOINC
        for c in code.get("coding") or []
    )


def whole_rating(value: float) -> int:
    """A 0-10 value as the whole number NPRS records, rounded half up."""
    return int(Decimal(str(value)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def read_pain(
    resource: dict[str, Any], index: int, now: datetime, birth: date | None
) -> tuple[PainReading | None, list[Issue]]:
    """A pain reading from a 72514-3 Observation, or None with a warning (not final) or errors."""
    status = resource.get("status")
    if status not in FINAL_STATUSES:
        return None, [
            Issue(
                "warning", "informational", f"Pain Observation with status {status!r} is not imported.", _where(index)
            )
        ]
    problems: list[Issue] = []
    quantity: Any = resource.get("valueQuantity")
    value = quantity.get("value") if isinstance(quantity, dict) else None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None, [
            Issue(
                "error",
                "required",
                "A pain Observation needs valueQuantity.value (0-10).",
                _where(index, "resource.valueQuantity"),
            )
        ]
    try:
        rating = whole_rating(value)
    except (InvalidOperation, ValueError):
        rating = -1
    if not 0 <= value <= 10:
        problems.append(
            Issue("error", "value", f"Pain {value} is outside 0-10.", _where(index, "resource.valueQuantity.value"))
        )
    unit = quantity.get("code") or quantity.get("unit")
    if unit is not None and unit not in PAIN_UNITS:
        problems.append(
            Issue("error", "value", f"Pain is a 0-10 score, not {unit!r}.", _where(index, "resource.valueQuantity"))
        )
    moment_text = resource.get("effectiveDateTime") or resource.get("effectiveInstant")
    if moment_text is None and isinstance(resource.get("effectivePeriod"), dict):
        moment_text = resource["effectivePeriod"].get("start")
    moment = _parse_moment(moment_text)
    if moment is None:
        problems.append(
            Issue(
                "error",
                "required",
                "A pain Observation needs effectiveDateTime with a time zone, or a full date.",
                _where(index, "resource.effectiveDateTime"),
            )
        )
    elif moment > now:
        problems.append(
            Issue(
                "error",
                "value",
                "The pain Observation is dated in the future.",
                _where(index, "resource.effectiveDateTime"),
            )
        )
    elif birth is not None and moment.date() < birth:
        problems.append(
            Issue(
                "error",
                "value",
                "The pain Observation is dated before the patient's birth.",
                _where(index, "resource.effectiveDateTime"),
            )
        )
    if problems or moment is None:
        return None, problems
    return PainReading(index, moment, float(value), rating), []


def _subject_matches(resource: dict[str, Any], patient_refs: set[str]) -> bool:
    subject = resource.get("subject")
    return isinstance(subject, dict) and subject.get("reference") in patient_refs


def _ignored(index: int, resource_type: str, why: str) -> Issue:
    return Issue("warning", "informational", f"{resource_type} ignored (not stored): {why}.", _where(index))


def _death_moment(resource: dict[str, Any]) -> datetime | None:
    """The instant of death when deceasedDateTime gives a time (read_death has checked it), else None."""
    text = resource.get("deceasedDateTime")
    return _parse_moment(text) if isinstance(text, str) and len(text) > 10 else None


def _after_death(reading: PainReading, died: date | None, moment: datetime | None, zone: tzinfo) -> Issue | None:
    """The error for a pain rating dated after the death: after its instant when known, else after its day. The
    rating's day is the clinic's (``zone``, its TIME_ZONE), on which the rating is stored and a score entered by
    hand is checked, not the day in the sender's offset."""
    if died is None:
        return None
    if (reading.at <= moment) if moment is not None else (reading.at.astimezone(zone).date() <= died):
        return None
    message = (
        f"The pain Observation is dated {reading.at.isoformat()}, after the Patient's date of death "
        f"({moment.isoformat() if moment is not None else died}); a rating cannot be given after death. "
        "Correct the date of the rating or of the death; nothing was imported."
    )
    return Issue("error", "value", message, _where(reading.entry, "resource.effectiveDateTime"))


def plan_import(
    bundle: Any, now: datetime, *, keeps_social_security_numbers: bool = False, clinic_zone: tzinfo | None = None
) -> ImportPlan:
    """The import plan of a transaction Bundle, or BundleRejected listing every problem.
    ``keeps_social_security_numbers`` is the clinic's setting (off: such an identifier is listed as not kept);
    ``clinic_zone`` the clinic's time zone, whose dates the ratings are stored on (by default ``now``'s zone)."""
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise BundleRejected([Issue("error", "structure", "Post a Bundle resource (resourceType Bundle).")])
    if bundle.get("type") != "transaction":
        raise BundleRejected(
            [
                Issue(
                    "error",
                    "not-supported",
                    f"Only transaction Bundles are imported; this one is {bundle.get('type')!r}.",
                    ("Bundle.type",),
                )
            ]
        )
    entries = bundle.get("entry")
    if not isinstance(entries, list) or not entries:
        raise BundleRejected([Issue("error", "required", "The Bundle has no entries.", ("Bundle.entry",))])
    # References are read once every entry is well formed: they are resolved against the entries' fullUrls and ids.
    refused = entry_problems(entries) or reference_problems(entries)
    if refused:
        raise BundleRejected(refused)
    patients = [i for i, entry in enumerate(entries) if entry["resource"]["resourceType"] == "Patient"]
    if len(patients) != 1:
        found = "no Patient" if not patients else f"{len(patients)} Patients"
        raise BundleRejected(
            [
                Issue(
                    "error", "required", f"The Bundle must hold exactly one Patient; it has {found}.", ("Bundle.entry",)
                )
            ]
        )
    patient_index = patients[0]
    patient_entry = entries[patient_index]
    problems: list[Issue] = []
    demographics, patient_problems = read_patient(patient_entry["resource"], patient_index, now.date())
    problems += patient_problems
    patient_refs = {f"Patient/{patient_entry['resource'].get('id')}"}
    if _text(patient_entry.get("fullUrl")):
        patient_refs.add(patient_entry["fullUrl"].strip())
    readings: list[PainReading] = []
    conditions: list[ConditionReading] = []
    kept: list[KeptResource] = []
    ignored: list[Issue] = []
    notes: list[Issue] = []
    kept_identifiers, _ = patient_in.identifiers(patient_entry["resource"], keeps_social_security_numbers)
    if kept_identifiers:
        notes.append(
            Issue(
                "information",
                "informational",
                f"Kept the sender's {len(kept_identifiers)} Patient identifier(s) beside the patient's new MRN.",
                _where(patient_index, "resource.identifier"),
            )
        )
    notes += patient_left_out(patient_entry["resource"], patient_index, keeps_social_security_numbers)
    died, death_moment = demographics.get("deceased_date"), _death_moment(patient_entry["resource"])
    for index, entry in enumerate(entries):
        resource = entry["resource"]
        resource_type = resource["resourceType"]
        if index == patient_index:
            continue
        if keeps_as_received(resource):
            problems += _plan_kept(entry, index, patient_refs, kept)
            continue
        if resource_type == "Condition":
            _plan_condition(entry, index, patient_refs, now, demographics.get("date_of_birth"), conditions, problems)
            notes += _condition_notes(resource, index)
            continue
        if resource_type != "Observation":
            why = f"this server keeps only {', '.join(IMPORTED_TYPES)}"
            ignored.append(_ignored(index, resource_type, why))
            continue
        if not _subject_matches(resource, patient_refs):
            problems.append(
                Issue(
                    "error",
                    "invalid",
                    "This pain Observation is not about the bundle's Patient.",
                    _where(index, "resource.subject"),
                )
            )
            continue
        reading, issues = read_pain(resource, index, now, demographics.get("date_of_birth"))
        if reading is None:
            (problems if any(i.severity == "error" for i in issues) else ignored).extend(issues)
            continue
        after_death = _after_death(reading, died, death_moment, clinic_zone or now.tzinfo or UTC)
        if after_death is not None:
            problems.append(after_death)
            continue
        readings.append(reading)
        notes += _rating_left_out(resource, index)
        if reading.rating != reading.value:
            notes.append(
                Issue(
                    "information",
                    "informational",
                    f"Pain {reading.value:g} recorded as {reading.rating} (NPRS is whole numbers; rounded half up).",
                    _where(index, "resource.valueQuantity.value"),
                )
            )
    if problems:
        raise BundleRejected(problems)
    readings.sort(key=lambda r: (r.at, r.entry))
    entry_types = tuple(entry["resource"]["resourceType"] for entry in entries)
    return ImportPlan(
        patient_index,
        entry_types,
        demographics,
        tuple(readings),
        tuple(ignored),
        tuple(notes),
        conditions=tuple(conditions),
        episode_choice=choose_episode(conditions),
        source=bundle_source(bundle),
        identifiers=tuple(kept_identifiers),
        kept=tuple(kept),
        targets=reference_targets(entries),
        if_none_exist=if_none_exist(patient_entry["request"].get("ifNoneExist")) or (),
    )


# ---------------------------------------------------------------------------------------------- kept as received


def keeps_as_received(resource: dict[str, Any]) -> bool:
    """Whether an entry's resource is kept as received (``ReceivedRecord``) rather than read into the clinic's
    own tables or ignored.

    Kept: every Procedure, AdverseEvent, Consent and QuestionnaireResponse (another clinic's visit, event,
    consent or answers are never made this clinic's own); every Observation but a plain 0-10 pain rating; a
    Condition that says more than a reported condition keeps. A plain pain rating (LOINC 72514-3 and nothing
    the clinic's rating does not record, ``PLAIN_PAIN_ELEMENTS``) is still imported as the clinic's rating in
    an episode, as before; a pain rating with more (a visit's rating is partOf its Procedure, another
    Needlepoint's names its episode) is kept whole, so a round trip loses nothing. A plain Condition
    (``REPORTED_CONDITION_ELEMENTS``) is still a reported condition, screened and offered for the episode.
    """
    kind = resource["resourceType"]
    if kind in ("Procedure", "AdverseEvent", "Consent", "QuestionnaireResponse"):
        return True
    if kind == "Observation":
        return not is_pain_observation(resource) or not set(resource) <= PLAIN_PAIN_ELEMENTS
    if kind == "Condition":
        return not set(resource) <= REPORTED_CONDITION_ELEMENTS
    return False


# The elements of a plain pain Observation the clinic's rating records: its status (final, amended or corrected:
# the rating is final), code, category, patient, date and value.
RATING_READS = frozenset(
    {
        "resourceType", "id", "status", "category", "code", "subject",
        "effectiveDateTime", "effectiveInstant", "effectivePeriod", "valueQuantity",
    }
)  # fmt: skip


def _rating_left_out(resource: dict[str, Any], index: int) -> list[Issue]:
    """A note naming the elements of a plain pain Observation the clinic's rating does not keep (its encounter,
    its issued time, its narrative, the sender's meta), so nothing is dropped unsaid."""
    left = sorted(set(resource) - RATING_READS)
    if not left:
        return []
    named = ", ".join(f"Observation.{name}" for name in left)
    return [
        Issue(
            "information",
            "informational",
            f"Not kept: {named}; the pain rating recorded from it keeps its date and value.",
            _where(index),
        )
    ]


def _plan_kept(entry: dict[str, Any], index: int, patient_refs: set[str], kept: list[KeptResource]) -> list[Issue]:
    """Check one resource to keep as received (its R4 structure, that it is the bundle's Patient's) and add it to
    ``kept``; or return its problems."""
    resource = entry["resource"]
    kind = resource["resourceType"]
    problems = [
        Issue("error", "structure", message, _where(index, "resource"))
        for message in r4_structure.structure_problems(resource, f"Bundle.entry[{index}].resource")
    ]
    element = PATIENT_ELEMENT.get(kind, "subject")
    named = resource.get(element)
    if not (isinstance(named, dict) and named.get("reference") in patient_refs):
        problems.append(
            Issue(
                "error",
                "invalid",
                f"This {kind} is not about the bundle's Patient: its {element} must refer to it.",
                _where(index, f"resource.{element}"),
            )
        )
    if problems:
        return problems
    reference = _text(entry.get("fullUrl")) or (f"{kind}/{_text(resource.get('id'))}" if resource.get("id") else "")
    kept.append(KeptResource(index, kind, resource, reference))
    return []


# ---------------------------------------------------------------------------------------------- Conditions


def bundle_source(bundle: dict[str, Any]) -> str:
    """What the chart names the sender by: the Bundle's meta.source when it gives one, else "FHIR import"."""
    meta = bundle.get("meta")
    source = _text(meta.get("source")) if isinstance(meta, dict) else ""
    return source if 0 < len(source) <= 200 else DEFAULT_SOURCE


def _codings(resource: dict[str, Any], index: int) -> tuple[tuple[dict[str, str], ...], list[Issue]]:
    """Every coding of Condition.code as received (system, code, and display and version where sent)."""
    concept = resource.get("code")
    found = concept.get("coding") if isinstance(concept, dict) else None
    where = _where(index, "resource.code")
    if not isinstance(found, list) or not found:
        return (), [Issue("error", "required", "A Condition needs a code with its code system.", where)]
    kept: list[dict[str, str]] = []
    for coding in found:
        if not isinstance(coding, dict) or not _text(coding.get("system")) or not _text(coding.get("code")):
            return (), [
                Issue("error", "required", "Each coding of a Condition's code needs a system and a code.", where)
            ]
        kept.append(
            {key: _text(coding[key]) for key in ("system", "code", "display", "version") if _text(coding.get(key))}
        )
    return tuple(kept), []


def _status(resource: dict[str, Any], key: str, system: StatusSystem, index: int) -> tuple[str, list[Issue]]:
    """A status's code from its FHIR code system ("" when the element is absent), or the problem with it."""
    concept = resource.get(key)
    if concept is None:
        return "", []
    where = _where(index, f"resource.{key}")
    found = [
        _text(c.get("code"))
        for c in (concept.get("coding") or [] if isinstance(concept, dict) else [])
        if isinstance(c, dict) and c.get("system") == system.system
    ]
    if not found:
        return "", [Issue("error", "required", f"Condition.{key} needs a coding from {system.system}.", where)]
    if found[0] not in system.codes:
        allowed = ", ".join(system.codes)
        return "", [Issue("error", "code-invalid", f"{found[0]!r} is not a {key} code; use one of {allowed}.", where)]
    return found[0], []


def _condition_dates(
    resource: dict[str, Any], index: int, now: datetime, birth: date | None
) -> tuple[dict[str, str], list[Issue]]:
    """Onset, abatement and recorded date as the FHIR date or dateTime sent, checked: well formed, a real date,
    not in the future, onset not before birth, abatement not before onset."""
    found: dict[str, str] = {}
    spans: dict[str, tuple[datetime, datetime]] = {}
    problems: list[Issue] = []
    for name, key in CONDITION_DATES:
        value = resource.get(key)
        if value is None:
            continue
        where = _where(index, f"resource.{key}")
        try:
            if not isinstance(value, str) or not FHIR_DATE_TIME.match(value):
                raise SearchError(value)
            spans[name] = date_interval(value)
        except SearchError:
            problems.append(
                Issue("error", "value", f"Condition.{key} {value!r} is not a FHIR date or dateTime.", where)
            )
            continue
        if spans[name][0] > now:
            problems.append(Issue("error", "value", f"Condition.{key} is in the future.", where))
        found[name] = value
    onset, abatement = spans.get("onset"), spans.get("abatement")
    if onset is not None and birth is not None and onset[1].date() <= birth:
        problems.append(
            Issue("error", "value", "The Condition's onset is before the patient's birth.", _where(index, "resource"))
        )
    if onset is not None and abatement is not None and abatement[1] <= onset[0]:
        problems.append(
            Issue(
                "error", "value", "The Condition abated before its onset.", _where(index, "resource.abatementDateTime")
            )
        )
    return found, problems


def read_condition(
    resource: dict[str, Any], index: int, now: datetime, birth: date | None, reference: str = ""
) -> tuple[ReportedConditionData | None, list[Issue]]:
    """A Condition as it is kept (``ReportedConditionData``), or None with every problem found."""
    codings, problems = _codings(resource, index)
    clinical, clinical_problems = _status(resource, "clinicalStatus", clinical_statuses(), index)
    verification, verification_problems = _status(resource, "verificationStatus", verification_statuses(), index)
    dates, date_problems = _condition_dates(resource, index, now, birth)
    problems += clinical_problems + verification_problems + date_problems
    if not clinical_problems and not verification_problems:
        abated = "abatement" in dates or any(k.startswith("abatement") for k in resource)
        problems += [
            Issue("error", "invariant", message, _where(index, "resource.clinicalStatus"))
            for message in status_problems(clinical, verification, abated)
        ]
    if problems:
        return None, problems
    concept = resource["code"]
    return (
        ReportedConditionData(
            system=codings[0]["system"],
            code=codings[0]["code"],
            display=codings[0].get("display") or _text(concept.get("text")),
            codings=codings,
            text=_text(concept.get("text")),
            clinical_status=clinical,
            verification_status=verification,
            source_reference=reference,
            **dates,
        ),
        [],
    )


def _condition_notes(resource: dict[str, Any], index: int) -> list[Issue]:
    """An onset or abatement sent as something other than a date or dateTime (an age, a period, a text) is not
    kept: say so."""
    kinds = [
        k for k in resource if k.startswith(("onset", "abatement")) and k not in ("onsetDateTime", "abatementDateTime")
    ]
    return [
        Issue(
            "information",
            "informational",
            f"The Condition's {kind} is not kept (only a date or dateTime is).",
            _where(index, f"resource.{kind}"),
        )
        for kind in kinds
    ]


def _plan_condition(
    entry: dict[str, Any],
    index: int,
    patient_refs: set[str],
    now: datetime,
    birth: date | None,
    conditions: list[ConditionReading],
    problems: list[Issue],
) -> None:
    """Read one Condition entry into ``conditions``, or its problems into ``problems``."""
    resource = entry["resource"]
    if not _subject_matches(resource, patient_refs):
        problems.append(
            Issue(
                "error",
                "invalid",
                "This Condition is not about the bundle's Patient.",
                _where(index, "resource.subject"),
            )
        )
        return
    reference = _text(entry.get("fullUrl")) or (
        f"Condition/{_text(resource.get('id'))}" if _text(resource.get("id")) else ""
    )
    data, issues = read_condition(resource, index, now, birth, reference)
    if data is None:
        problems += issues
    else:
        conditions.append(ConditionReading(index, data))


def choose_episode(conditions: list[ConditionReading]) -> EpisodeChoice:
    """The episode's condition from the bundle's Conditions: the one active Condition coded in ICD-10-CM with a code
    the clinic's episodes are opened for (patients/data/conditions.json), its condition, code and side. None of
    them, or more than one, leaves the choice to the default, and ``reason`` says why."""
    active = [c for c in conditions if c.active]
    listed = [(c, found) for c in active for icd10 in c.icd10_codes for found in offering(icd10)]
    if len(listed) == 1:
        reading, (condition, code) = listed[0]
        side = episode_side(code)
        reason = (
            f"The episode is for {condition.label.lower()} ({code.code}, {EPISODE_SIDE_WORDS[side]}): the one active "
            "Condition coded in ICD-10-CM with a code episodes are opened for."
        )
        return EpisodeChoice((condition.code, code.code, side), reason, reading.entry)
    if listed:
        where = ", ".join(f"Bundle.entry[{c.entry}] ({code.code})" for c, (_, code) in listed)
        return EpisodeChoice(
            None, f"{len(listed)} active Conditions have ICD-10-CM codes episodes are opened for: {where}"
        )
    coded = [c for c in active if c.icd10_codes]
    if coded:
        found = ", ".join(code for c in coded for code in c.icd10_codes)
        return EpisodeChoice(None, f"no active Condition's ICD-10-CM code ({found}) is one episodes are opened for")
    if not active:
        return EpisodeChoice(None, "the bundle has no active Condition")
    systems = ", ".join(sorted({c.data.system for c in active}))
    return EpisodeChoice(
        None,
        f"none of the {len(active)} active Conditions is coded in ICD-10-CM (they are coded in {systems}), and "
        "SNOMED CT codes are not mapped to the conditions episodes are opened for",
    )
