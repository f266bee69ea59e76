"""Reading a posted transaction Bundle into an import plan. Pure module, no Django.

What is imported, and how (``needlepoint.fhir.importer`` writes the plan through the apps' actions):

- The bundle's one Patient becomes a new patient of the clinic: official (else first) name, birth date
  (a full date is required), gender, the first phone and e-mail, the first address as one line. A new MRN is
  generated: the sender's identifiers are other systems' numbers and are listed as not kept.
- Its Observations coded LOINC 72514-3 (0-10 pain severity) with status final, amended or corrected become
  0-10 pain ratings (NPRS), patient-reported, in one new episode of care. NPRS is recorded in whole numbers,
  so a fractional value (Synthea writes 3.2992...) is rounded half up, and each rounding is reported.
  The first rating is the episode's baseline, the later ones re-assessments; the episode's onset is the
  date of the first rating.
- Everything else (Encounters, Claims, other Observations, ...) is ignored and each ignored entry is listed in
  the response. Nothing is half-imported: any error rejects the whole bundle.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from needlepoint.fhir import codes
from needlepoint.fhir.mapping import Issue

FINAL_STATUSES = ("final", "amended", "corrected")
PAIN_UNITS = ("{score}", "1", "{#}")
MAX_LENGTHS = {"given_name": 100, "family_name": 100, "phone": 40, "email": 254, "address": 300}
IMPORTED_TYPES = ("Patient", "Observation")


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
class ImportPlan:
    """What a bundle imports: the patient's demographics, the pain ratings, and what is left out."""

    patient_entry: int
    demographics: dict[str, Any]
    readings: tuple[PainReading, ...]
    ignored: tuple[Issue, ...]
    notes: tuple[Issue, ...] = field(default=())


def _where(index: int, path: str = "") -> tuple[str, ...]:
    return (f"Bundle.entry[{index}]{'.' + path if path else ''}",)


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


def _name(resource: dict[str, Any]) -> dict[str, Any] | None:
    names = [n for n in resource.get("name") or [] if isinstance(n, dict)]
    return next((n for n in names if n.get("use") == "official"), names[0] if names else None)


def _address(resource: dict[str, Any]) -> str:
    addresses = [a for a in resource.get("address") or [] if isinstance(a, dict)]
    if not addresses:
        return ""
    first = addresses[0]
    if _text(first.get("text")):
        return _text(first["text"])
    lines = [_text(line) for line in first.get("line") or [] if _text(line)]
    place = " ".join(_text(first.get(k)) for k in ("city", "state", "postalCode") if _text(first.get(k)))
    return ", ".join(part for part in [*lines, place, _text(first.get("country"))] if part)


def _telecom(resource: dict[str, Any], system: str) -> str:
    for point in resource.get("telecom") or []:
        if isinstance(point, dict) and point.get("system") == system and _text(point.get("value")):
            return _text(point["value"])
    return ""


def read_patient(resource: dict[str, Any], index: int, today: date) -> tuple[dict[str, Any], list[Issue]]:
    """The demographics ``register_patient`` takes, and every problem with them (errors)."""
    problems: list[Issue] = []
    name = _name(resource)
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
        "address": _address(resource),
        "deceased": deceased,
        "deceased_date": deceased_date,
    }
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
    return Issue("warning", "informational", f"{resource_type} ignored: {why}", _where(index))


def plan_import(bundle: Any, now: datetime) -> ImportPlan:
    """The import plan of a transaction Bundle, or BundleRejected listing every problem."""
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
    problems: list[Issue] = []
    patients: list[int] = []
    for index, entry in enumerate(entries):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
            problems.append(
                Issue("error", "structure", "Each entry needs a resource with a resourceType.", _where(index))
            )
        elif resource["resourceType"] == "Patient":
            patients.append(index)
    if problems:
        raise BundleRejected(problems)
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
    _check_request(patient_entry, patient_index, problems)
    demographics, patient_problems = read_patient(patient_entry["resource"], patient_index, now.date())
    problems += patient_problems
    patient_refs = {f"Patient/{patient_entry['resource'].get('id')}"}
    if _text(patient_entry.get("fullUrl")):
        patient_refs.add(patient_entry["fullUrl"].strip())
    readings: list[PainReading] = []
    ignored: list[Issue] = []
    notes: list[Issue] = []
    kept_identifiers = [i for i in patient_entry["resource"].get("identifier") or [] if isinstance(i, dict)]
    if kept_identifiers:
        notes.append(
            Issue(
                "information",
                "informational",
                f"The sender's {len(kept_identifiers)} Patient identifier(s) are not kept; a new MRN is given.",
                _where(patient_index, "resource.identifier"),
            )
        )
    for index, entry in enumerate(entries):
        resource = entry["resource"]
        resource_type = resource["resourceType"]
        if index == patient_index:
            continue
        if resource_type != "Observation":
            ignored.append(
                _ignored(index, resource_type, "only the Patient and its 0-10 pain Observations are imported")
            )
            continue
        if not is_pain_observation(resource):
            ignored.append(_ignored(index, "Observation", f"not a 0-10 pain rating (LOINC {codes.PAIN_LOINC})"))
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
        _check_request(entry, index, problems)
        reading, issues = read_pain(resource, index, now, demographics.get("date_of_birth"))
        if reading is None:
            (problems if any(i.severity == "error" for i in issues) else ignored).extend(issues)
            continue
        readings.append(reading)
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
    return ImportPlan(patient_index, demographics, tuple(readings), tuple(ignored), tuple(notes))


def _check_request(entry: dict[str, Any], index: int, problems: list[Issue]) -> None:
    request = entry.get("request")
    method = request.get("method") if isinstance(request, dict) else None
    if method != "POST":
        problems.append(
            Issue(
                "error",
                "not-supported",
                f"Imported entries must be POST (create); this one is {method!r}.",
                _where(index, "request.method"),
            )
        )
