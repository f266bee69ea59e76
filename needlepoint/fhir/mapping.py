"""Needlepoint records as FHIR R4 (4.0.1) JSON. Pure module: plain values in, JSON-ready dicts out, no Django.

``needlepoint.fhir.records`` turns model rows into the dataclasses below (through the access helper);
the functions here decide the FHIR shape. Mapping decisions, each made once here:

- Patient: identifier = the MRN in a clinic-scoped system (MRNs are unique per clinic only), then the identifiers
  kept from other systems as received; race, ethnicity and birth sex as the US Core 5.0.1 extensions.
- Condition, reported: one per condition another record reported (a FHIR import), category problem-list-item
  and US Core's problems-and-health-concerns profile, its code, statuses and dates as received; id
  ``reported-<pk>``, version 1 (never changed).
- Any type, received: a record another clinic made (a FHIR import kept it as received), served as it came,
  references rewritten to this server's ids; id ``received-<patient>-<entry>``, version 1 (never changed).
- Condition: one per episode of care. clinicalStatus active while open; on discharge resolved (goals met) or
  inactive (plateau, self-discharged, referred on), because R4's con-4 allows only inactive/resolved/remission
  once abatement (= the discharge date) is set.
- Consent: one per signed consent; active, or inactive once withdrawn with a ``deny`` provision from the
  withdrawal. The consent text version is Consent.policy.uri and the text itself is sourceAttachment. No staff
  member is named: Needlepoint records who entered the consent, not a witness, and R4 Consent has no element for
  the one who entered it (performer is who consents: the patient or guardian).
- Procedure: one per signed visit with needling. CPT 20560/20561 (fixed at signing) plus the local
  dry-needling code; a bodySite per needled muscle and side; the needle counts, technique and twitch response
  in notes; complications name the visit's adverse events, which point back at the Procedure.
- Observation: 0-10 pain as LOINC 72514-3 valueQuantity {score}; other questionnaire totals with local codes;
  ROM in degrees with bodySite (joint and side) and method.
- Staff: whoever the product records as having done or recorded something (the signer of a visit, who opened an
  episode, recorded a score, measured a range of motion, recorded an adverse event, entered answers) is a
  reference to their Practitioner with their name as display (``staff_reference``); a name alone where none is.
- AdverseEvent: actuality actual; severity mild/moderate/severe from mild/significant/serious (our grade as
  its text: R4's binding is required); suspectEntity.instance = the visit's Procedure (R4 4.0.1 allows
  Procedure there: see the StructureDefinition's targetProfile list).
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from needlepoint.fhir import codes, search
from needlepoint.fhir.codes import coding, concept
from needlepoint.grammar import plural

FHIR_VERSION = "4.0.1"
Json = dict[str, Any]

# US Core 6.1.0 profiles, claimed in meta.profile only by the resources that meet them: every Patient and Condition;
# a Procedure with its CPT code; a survey Observation whose code is LOINC (0-10 pain, ODI). Range of motion and the
# questionnaire totals without a LOINC code claim none.
US_CORE = "http://hl7.org/fhir/us/core/StructureDefinition"
US_CORE_PROFILES = {
    "Patient": f"{US_CORE}/us-core-patient",
    "Condition": f"{US_CORE}/us-core-condition-encounter-diagnosis",
    "Procedure": f"{US_CORE}/us-core-procedure",
    "Observation": f"{US_CORE}/us-core-observation-screening-assessment",
}
# A condition reported by another record is a problem-list item: US Core Condition Problems and Health Concerns
# (since US Core 5.0.1, beside the encounter-diagnosis profile the episodes claim).
US_CORE_PROBLEMS = f"{US_CORE}/us-core-condition-problems-health-concerns"


# ---------------------------------------------------------------------------------------------- input values


@dataclass(frozen=True)
class IdentifierData:
    """An identifier another system gave the patient, as received: system, value and type (coding and text)."""

    system: str
    value: str
    type_system: str = ""
    type_code: str = ""
    type_display: str = ""
    type_text: str = ""


@dataclass(frozen=True)
class CodedData:
    """One coded value with the display its code system gives: (system, code, display)."""

    system: str
    code: str
    display: str


@dataclass(frozen=True)
class PatientData:
    """What the Patient resource shows of a patient."""

    id: str
    mrn: str
    clinic_slug: str
    clinic_name: str
    given_name: str
    family_name: str
    birth_date: date
    sex: str
    phone: str = ""
    email: str = ""
    address: str = ""  # the street line(s), one per line; an old record's whole address
    emergency_contact: str = ""
    version: int = 1
    updated_at: datetime | None = None
    name_prefix: str = ""
    address_city: str = ""
    address_state: str = ""
    address_postal_code: str = ""
    address_country: str = ""
    marital_status: CodedData | None = None
    race: tuple[CodedData, ...] = ()
    race_text: str = ""
    ethnicity: CodedData | None = None
    ethnicity_text: str = ""
    birth_sex: str = ""
    identifiers: tuple[IdentifierData, ...] = ()
    deceased: bool = False
    deceased_date: date | None = None  # None with ``deceased``: the fact is known, the date is not


@dataclass(frozen=True)
class EpisodeData:
    """An episode of care, shown as a Condition."""

    id: str
    patient_id: str
    condition: str
    condition_label: str
    icd10_code: str
    icd10_label: str
    side: str
    onset_date: date
    status: str
    opened_at: datetime
    opened_by: str
    goals: str = ""
    discharge_date: date | None = None
    discharge_reason: str = ""
    discharge_reason_label: str = ""
    version: int | str = 1
    updated_at: datetime | None = None
    opened_by_id: str = ""  # the Practitioner (membership) who opened the episode


@dataclass(frozen=True)
class ReportedConditionData:
    """A condition another record reported, shown as a problem-list Condition: its code, statuses and dates as
    received (FHIR date or dateTime text), and where it came from."""

    id: str
    patient_id: str
    codings: tuple[dict[str, str], ...]
    text: str
    clinical_status: str
    clinical_status_label: str
    verification_status: str
    verification_status_label: str
    onset: str
    abatement: str
    recorded_date: str
    source: str
    imported_at: datetime
    imported_by: str


@dataclass(frozen=True)
class ConsentData:
    """A signed (and perhaps withdrawn) informed consent, with the text version it was signed on."""

    id: str
    patient_id: str
    patient_name: str
    clinic_slug: str
    clinic_name: str
    text_version: int
    text_title: str
    text_body: str
    material_risks: tuple[str, ...]
    signed_name: str
    signed_at: datetime
    recorded_by: str
    withdrawn_at: datetime | None = None
    withdrawal_reason: str = ""
    version: int | str = 1
    updated_at: datetime | None = None


@dataclass(frozen=True)
class NeedledSite:
    """One needling entry: a muscle on one side."""

    muscle_id: str
    muscle_name: str
    side: str
    needles: int
    diameter_mm: Decimal | float | str
    length_mm: Decimal | float | str
    technique: str
    technique_label: str
    twitch_response: str
    twitch_label: str
    trigger_point: str = ""
    minutes_left_in: int | None = None
    patient_response: str = ""


@dataclass(frozen=True)
class ProcedureData:
    """A signed visit with needling."""

    id: str
    patient_id: str
    episode_id: str
    icd10_code: str
    icd10_label: str
    performed_at: datetime
    clinician: str
    cpt_code: str
    sites: tuple[NeedledSite, ...]
    needles_opened: int
    needles_inserted: int
    needles_removed: int
    needles_in_sharps: int
    signed_at: datetime | None = None
    complications: tuple[tuple[str, str], ...] = ()  # (adverse-event type code, label)
    version: int | str = 1
    updated_at: datetime | None = None
    clinician_id: str = ""  # the Practitioner (membership) who signed it; "" names them by display alone


@dataclass(frozen=True)
class ScoreData:
    """A score on an instrument: a 0-10 pain rating or a questionnaire total."""

    id: str
    patient_id: str
    episode_id: str
    instrument: str
    instrument_name: str
    value: float
    unit: str
    observed_at: datetime
    loinc: str | None = None
    source: str = "clinician"  # or "patient"
    recorded_by: str | None = None
    procedure_id: str | None = None  # the visit's Procedure, for pain rated before or after needling
    subscales: Mapping[str, float] = field(default_factory=dict)
    label: str = ""  # e.g. "before treatment"
    response_id: str | None = None  # the QuestionnaireResponse of the item answers the score was derived from
    version: int | str = 1
    updated_at: datetime | None = None
    recorded_by_id: str = ""  # the Practitioner (membership) who recorded it


@dataclass(frozen=True)
class RomData:
    """A range-of-motion measurement."""

    id: str
    patient_id: str
    episode_id: str
    joint: str
    joint_label: str
    movement: str
    movement_label: str
    side: str
    degrees: float
    method: str
    method_label: str
    observed_at: datetime
    recorded_by: str
    normal_degrees: float | None = None
    percent_of_normal: float | None = None
    version: int | str = 1
    updated_at: datetime | None = None
    recorded_by_id: str = ""  # the Practitioner (membership) who measured and recorded it


@dataclass(frozen=True)
class AdverseEventData:
    """An adverse event after needling."""

    id: str
    patient_id: str
    event_type: str
    type_label: str
    severity: str
    severity_label: str
    fhir_severity: str
    serious: bool
    onset_at: datetime
    recorded_at: datetime
    recorder: str
    outcome: str
    description: str = ""
    procedure_id: str | None = None
    needles_unaccounted: int | None = None
    version: int | str = 1
    updated_at: datetime | None = None
    recorder_id: str = ""  # the Practitioner (membership) who recorded it


@dataclass(frozen=True)
class QuestionItem:
    """One item of a questionnaire: its id, the topic it asks about, the wording where it ships or the clinic
    entered it (None otherwise: no wording is made up for a licensed item), and its answers."""

    link_id: str
    topic: str
    text: str | None
    kind: str  # choice | numeric | measurement
    options: tuple[tuple[int | float, str | None], ...] = ()  # (printed value, its wording or None)
    minimum: float | None = None
    maximum: float | None = None


@dataclass(frozen=True)
class QuestionnaireData:
    """An instrument as a Questionnaire, with the clinic's licensed wording where it entered one."""

    code: str
    name: str
    version: str
    items: tuple[QuestionItem, ...]
    loinc_panel: str | None = None
    wording_note: str = ""
    wording_version: int | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True)
class ResponseData:
    """A questionnaire answered: the item answers as the form prints them (None = unanswered)."""

    id: str
    patient_id: str
    episode_id: str
    questionnaire: str  # canonical url|version
    authored: datetime
    source: str
    recorded_by: str | None
    answers: tuple[tuple[QuestionItem, int | float | None], ...]
    notes: Mapping[str, str] = field(default_factory=dict)
    updated_at: datetime | None = None
    recorded_by_id: str = ""  # the Practitioner (membership) who entered the answers


@dataclass(frozen=True)
class Issue:
    """One OperationOutcome issue. ``created`` is the reference (Type/id) of the resource the issue reports
    created, if any: a transaction-response names it as its entry's location."""

    severity: str  # fatal | error | warning | information
    code: str  # invalid | required | value | not-found | forbidden | not-supported | duplicate | informational ...
    diagnostics: str
    expression: tuple[str, ...] = ()
    created: str = ""


# ---------------------------------------------------------------------------------------------- formatting


def fhir_datetime(value: datetime) -> str:
    """An aware datetime as a FHIR dateTime/instant (UTC, to the second)."""
    if value.tzinfo is None:
        raise ValueError("FHIR dateTimes with a time need a time zone; got a naive datetime")
    return value.astimezone(UTC).isoformat(timespec="seconds")


def fhir_date(value: date) -> str:
    """A date as a FHIR date."""
    return value.isoformat()


def reference(resource_type: str, resource_id: str, display: str | None = None) -> Json:
    """A literal relative reference, e.g. Patient/12."""
    found: Json = {"reference": f"{resource_type}/{resource_id}"}
    if display:
        found["display"] = display
    return found


def staff_reference(member_id: str, name: str) -> Json:
    """A member of staff the record names: their Practitioner (the membership's id) with their name as display,
    or the name alone where no member is recorded. Every Practitioner reference a resource makes is written here,
    so ``practitioners.named_in_records`` can mirror them."""
    if not member_id:
        return {"display": name}
    return reference("Practitioner", member_id, name)


def _number(value: float | Decimal | str) -> int | float:
    """A JSON number, whole numbers without a decimal point."""
    number = float(value)
    return int(number) if number.is_integer() else number


def _quantity(value: float, unit: str) -> Json:
    code = codes.UCUM_UNITS.get(unit)
    found: Json = {"value": _number(value), "unit": code or unit}
    if code:
        found |= {"system": codes.UCUM, "code": code}
    return found


def _laterality(side: str) -> Json:
    return {
        "url": codes.extension_url("laterality"),
        "valueCodeableConcept": concept(*codes.laterality_codings(side), text=codes.LATERALITY_DISPLAY.get(side, side)),
    }


def _episode_extension(episode_id: str) -> Json:
    return {"url": codes.extension_url("episode"), "valueReference": reference("Condition", episode_id)}


def resource_meta(updated_at: datetime | None, version: int | str | None = None, profile: str | None = None) -> Json:
    """meta.versionId and meta.lastUpdated, the same values the ETag and Last-Modified headers carry, and the
    US Core profile the resource meets (``profile``: a key of US_CORE_PROFILES)."""
    meta: Json = {}
    if version is not None:
        meta["versionId"] = str(version)
    if updated_at is not None:
        meta["lastUpdated"] = fhir_datetime(updated_at)
    if profile is not None:
        meta["profile"] = [US_CORE_PROFILES[profile]]
    return meta


def drop_empty(resource: Json) -> Json:
    """The resource without keys whose value is None, "" or empty (FHIR allows no empty elements)."""
    return {k: v for k, v in resource.items() if v not in (None, "", [], {})}


# ---------------------------------------------------------------------------------------------- resources


US_CORE_RACE = f"{US_CORE}/us-core-race"
US_CORE_ETHNICITY = f"{US_CORE}/us-core-ethnicity"
US_CORE_BIRTH_SEX = f"{US_CORE}/us-core-birthsex"


def _category_extension(url: str, categories: Sequence[CodedData], text: str) -> Json | None:
    """A US Core race or ethnicity extension: an ombCategory per category, then the text (required; the
    categories' displays when the patient gave no words)."""
    text = text or ", ".join(c.display for c in categories)
    if not text:
        return None
    parts: list[Json] = [{"url": "ombCategory", "valueCoding": coding(c.system, c.code, c.display)} for c in categories]
    return {"url": url, "extension": [*parts, {"url": "text", "valueString": text}]}


def patient_extensions(p: PatientData) -> list[Json]:
    """US Core 5.0.1 race, ethnicity and birth sex, as far as recorded."""
    found = [
        _category_extension(US_CORE_RACE, p.race, p.race_text),
        _category_extension(US_CORE_ETHNICITY, [p.ethnicity] if p.ethnicity else [], p.ethnicity_text),
        {"url": US_CORE_BIRTH_SEX, "valueCode": p.birth_sex} if p.birth_sex else None,
    ]
    return [extension for extension in found if extension is not None]


def patient_address(p: PatientData) -> list[Json]:
    """The address in parts; a record with nothing but its old one-line address as text."""
    parts = {
        "city": p.address_city,
        "state": p.address_state,
        "postalCode": p.address_postal_code,
        "country": p.address_country,
    }
    if not any(parts.values()):
        return [{"text": p.address}] if p.address else []
    return [drop_empty({"line": [line.strip() for line in p.address.splitlines() if line.strip()], **parts})]


def identifier_json(i: IdentifierData) -> Json:
    """An identifier kept from another system, as received."""
    codings = [coding(i.type_system, i.type_code, i.type_display)] if i.type_system and i.type_code else []
    return drop_empty({"type": concept(*codings, text=i.type_text or None), "system": i.system, "value": i.value})


def patient_resource(p: PatientData) -> Json:
    """A Patient: MRN identifier (clinic-scoped system) then those kept from other systems, name with prefix, gender,
    birth date, death, telecom, address in parts, marital status, and the US Core race, ethnicity and birth sex."""
    telecom = []
    if p.phone:
        telecom.append({"system": "phone", "value": p.phone})
    if p.email:
        telecom.append({"system": "email", "value": p.email})
    contact = []
    if p.emergency_contact:
        contact.append({"relationship": [{"text": "Emergency contact"}], "name": {"text": p.emergency_contact}})
    return drop_empty(
        {
            "resourceType": "Patient",
            "id": p.id,
            "meta": resource_meta(p.updated_at, p.version, "Patient"),
            "extension": patient_extensions(p),
            "identifier": [
                {
                    "use": "usual",
                    "type": concept(coding(codes.V2_IDENTIFIER_TYPE, "MR", "Medical record number"), text="MRN"),
                    "system": codes.mrn_system(p.clinic_slug),
                    "value": p.mrn,
                },
                *(identifier_json(i) for i in p.identifiers),
            ],
            "active": True,
            "name": [
                drop_empty(
                    {
                        "use": "official",
                        "family": p.family_name,
                        "given": [p.given_name],
                        "prefix": [p.name_prefix] if p.name_prefix else [],
                    }
                )
            ],
            "telecom": telecom,
            "gender": p.sex if p.sex in ("male", "female", "other", "unknown") else "unknown",
            "birthDate": fhir_date(p.birth_date),
            **_deceased(p),
            "address": patient_address(p),
            "maritalStatus": concept(coding(p.marital_status.system, p.marital_status.code, p.marital_status.display))
            if p.marital_status
            else None,
            "contact": contact,
            "managingOrganization": {"display": p.clinic_name},
        }
    )


def _deceased(p: PatientData) -> Json:
    """Patient.deceased[x]: the date of death as a dateTime (a date is a valid dateTime), or true when the date is
    not known; nothing for a living patient."""
    if not p.deceased:
        return {}
    if p.deceased_date is not None:
        return {"deceasedDateTime": fhir_date(p.deceased_date)}
    return {"deceasedBoolean": True}


def condition_resource(e: EpisodeData) -> Json:
    """A Condition for an episode of care: ICD-10-CM code, side, onset, status, discharge as abatement."""
    clinical = "resolved" if e.discharge_reason == "goals_met" else "inactive"
    if e.status == "open":
        clinical = "active"
    notes = []
    if e.goals:
        notes.append({"text": f"Goals: {e.goals}"})
    if e.status != "open" and e.discharge_reason_label:
        notes.append({"text": f"Discharged: {e.discharge_reason_label}"})
    side_text = codes.LATERALITY_DISPLAY.get(e.side, e.side)
    return drop_empty(
        {
            "resourceType": "Condition",
            "id": e.id,
            "meta": resource_meta(e.updated_at, e.version, "Condition"),
            "clinicalStatus": concept(coding(codes.CONDITION_CLINICAL, clinical)),
            "verificationStatus": concept(coding(codes.CONDITION_VERIFICATION, "confirmed")),
            "category": [concept(coding(codes.CONDITION_CATEGORY, "encounter-diagnosis", "Encounter Diagnosis"))],
            "code": concept(
                coding(codes.ICD10_CM, e.icd10_code, e.icd10_label),
                coding(codes.local_system("condition"), e.condition, e.condition_label),
                text=e.condition_label,
            ),
            "bodySite": [concept(*codes.laterality_codings(e.side), text=f"Side: {side_text}")],
            "subject": reference("Patient", e.patient_id),
            "onsetDateTime": fhir_date(e.onset_date),
            "abatementDateTime": fhir_date(e.discharge_date) if e.discharge_date else None,
            "recordedDate": fhir_datetime(e.opened_at),
            "recorder": staff_reference(e.opened_by_id, e.opened_by),
            "note": notes,
        }
    )


def reported_condition_resource(c: ReportedConditionData) -> Json:
    """A Condition for a condition another record reported: a problem-list item with its code as received."""
    clinical = concept(coding(codes.CONDITION_CLINICAL, c.clinical_status, c.clinical_status_label))
    verification = concept(coding(codes.CONDITION_VERIFICATION, c.verification_status, c.verification_status_label))
    imported = f"Reported by {c.source}; imported {fhir_date(c.imported_at.date())}"
    return drop_empty(
        {
            "resourceType": "Condition",
            "id": c.id,
            "meta": resource_meta(c.imported_at, 1) | {"profile": [US_CORE_PROBLEMS]},
            "clinicalStatus": clinical if c.clinical_status else None,
            "verificationStatus": verification if c.verification_status else None,
            "category": [concept(coding(codes.CONDITION_CATEGORY, "problem-list-item", "Problem List Item"))],
            "code": concept(*(dict(found) for found in c.codings), text=c.text or None),
            "subject": reference("Patient", c.patient_id),
            "onsetDateTime": c.onset,
            "abatementDateTime": c.abatement,
            "recordedDate": c.recorded_date,
            "note": [{"text": f"{imported} by {c.imported_by}." if c.imported_by else f"{imported}."}],
        }
    )


def received_resource(resource: Json, resource_id: str, imported_at: datetime) -> Json:
    """A record another clinic made, as received (its references already name this server's ids): this
    server's id, and meta.versionId 1 (it never changes) and lastUpdated the import's time; the sender's other
    meta (profiles, tags, security labels) is kept, since the resource that claims them is unchanged."""
    sent_meta: Json = resource["meta"] if isinstance(resource.get("meta"), dict) else {}
    meta = resource_meta(imported_at, 1) | {k: v for k, v in sent_meta.items() if k not in ("versionId", "lastUpdated")}
    rest = {k: v for k, v in resource.items() if k not in ("resourceType", "id", "meta")}
    return {"resourceType": resource["resourceType"], "id": resource_id, "meta": meta, **rest}


def consent_resource(c: ConsentData) -> Json:
    """A Consent to dry needling: treatment scope, the text version signed, withdrawal as a deny provision."""
    dry_needling = coding(codes.local_system("procedure"), "dry-needling", "Dry needling")
    if c.withdrawn_at is None:
        provision: Json = {
            "type": "permit",
            "period": {"start": fhir_datetime(c.signed_at)},
            "code": [concept(dry_needling)],
        }
    else:
        provision = {
            "type": "deny",
            "period": {"start": fhir_datetime(c.withdrawn_at)},
            "code": [concept(dry_needling, text=f"Consent withdrawn: {c.withdrawal_reason}".rstrip(": "))],
        }
    text = c.text_body
    if c.material_risks:
        text += "\n\nMaterial risks:\n" + "\n".join(f"- {risk}" for risk in c.material_risks)
    return drop_empty(
        {
            "resourceType": "Consent",
            "id": c.id,
            "meta": resource_meta(c.updated_at, c.version),
            "status": "inactive" if c.withdrawn_at else "active",
            "scope": concept(coding(codes.CONSENT_SCOPE, "treatment", "Treatment")),
            "category": [concept(coding(codes.LOINC, codes.CONSENT_LOINC), text="Informed consent to dry needling")],
            "patient": reference("Patient", c.patient_id, c.patient_name),
            "dateTime": fhir_datetime(c.signed_at),
            "performer": [reference("Patient", c.patient_id, c.signed_name)],
            "organization": [{"display": c.clinic_name}],
            "sourceAttachment": {
                "contentType": "text/plain; charset=utf-8",
                "data": base64.b64encode(text.encode("utf-8")).decode("ascii"),
                "title": f"{c.text_title} (version {c.text_version})",
            },
            "policy": [{"uri": codes.consent_text_uri(c.clinic_slug, c.text_version)}],
            "provision": provision,
        }
    )


def _site_text(site: NeedledSite) -> str:
    point = f" {site.trigger_point}" if site.trigger_point else ""
    left_in = f", left in {site.minutes_left_in} min" if site.minutes_left_in else ""
    response = f"; response: {site.patient_response}" if site.patient_response else ""
    return (
        f"{site.muscle_name} ({site.side}){point}: {plural(site.needles, 'needle')} "
        f"{_number(site.diameter_mm)} × {_number(site.length_mm)} mm, {site.technique_label}{left_in}; "
        f"local twitch response: {site.twitch_label.lower()}{response}"
    )


def procedure_resource(v: ProcedureData) -> Json:
    """A Procedure for a signed needling visit: CPT plus local code, muscles with side, counts in notes."""
    code_codings = [coding(codes.local_system("procedure"), "dry-needling", "Dry needling")]
    if v.cpt_code:
        code_codings.insert(0, coding(codes.CPT, v.cpt_code, codes.CPT_DISPLAY.get(v.cpt_code)))
    body_sites: list[Json] = []
    seen: set[tuple[str, str]] = set()
    for site in v.sites:
        if (site.muscle_id, site.side) in seen:
            continue
        seen.add((site.muscle_id, site.side))
        side_text = codes.LATERALITY_DISPLAY.get(site.side, site.side)
        site_concept = concept(
            coding(codes.local_system("muscle"), site.muscle_id, site.muscle_name),
            text=f"{site.muscle_name}, {side_text.lower()}",
        )
        body_sites.append({"extension": [_laterality(site.side)], **site_concept})
    sizes = sorted({(_number(s.diameter_mm), _number(s.length_mm)) for s in v.sites})
    notes = [
        {
            "text": (
                f"Needles: {v.needles_opened} opened, {v.needles_inserted} inserted, {v.needles_removed} removed, "
                f"{v.needles_in_sharps} in the sharps container. Solid filiform needles; nothing was injected."
            )
        }
    ]
    notes += [{"text": _site_text(site)} for site in v.sites]
    return drop_empty(
        {
            "resourceType": "Procedure",
            "id": v.id,
            "meta": resource_meta(v.updated_at, v.version, "Procedure" if v.cpt_code else None),
            "status": "completed",
            "category": concept(text="Dry needling"),
            "code": concept(*code_codings, text="Dry needling (needle insertion without injection)"),
            "subject": reference("Patient", v.patient_id),
            "performedDateTime": fhir_datetime(v.performed_at),
            "recorder": staff_reference(v.clinician_id, v.clinician),
            "performer": [{"actor": staff_reference(v.clinician_id, v.clinician)}],
            "reasonCode": [concept(coding(codes.ICD10_CM, v.icd10_code, v.icd10_label))],
            "reasonReference": [reference("Condition", v.episode_id)],
            "bodySite": body_sites,
            "note": notes,
            "complication": [
                concept(coding(codes.local_system("adverse-event-type"), code, label), text=label)
                for code, label in v.complications
            ],
            "usedCode": [concept(text=f"Filiform needle {d} × {length} mm") for d, length in sizes],
        }
    )


def score_observation(s: ScoreData) -> Json:
    """An Observation of a pain rating (LOINC 72514-3) or a questionnaire total (local instrument code)."""
    if s.loinc:
        display = codes.LOINC_DISPLAY.get(s.loinc, s.instrument_name)
        code = concept(
            coding(codes.LOINC, s.loinc, display),
            coding(codes.local_system("instrument"), s.instrument, s.instrument_name),
            text=s.instrument_name,
        )
    else:
        code = concept(
            coding(codes.local_system("instrument"), s.instrument, s.instrument_name), text=s.instrument_name
        )
    if s.source == "patient":
        performer = [reference("Patient", s.patient_id)]
    else:
        performer = [staff_reference(s.recorded_by_id, s.recorded_by)] if s.recorded_by else []
    components = [
        {
            "code": concept(coding(codes.local_system("instrument"), f"{s.instrument}.{name}", name)),
            "valueQuantity": _quantity(value, s.unit),
        }
        for name, value in sorted(s.subscales.items())
    ]
    return drop_empty(
        {
            "resourceType": "Observation",
            "id": s.id,
            "meta": resource_meta(s.updated_at, s.version, "Observation" if s.loinc else None),
            "extension": [_episode_extension(s.episode_id)],
            "status": "final",
            "partOf": [reference("Procedure", s.procedure_id)] if s.procedure_id else [],
            "category": [concept(coding(codes.OBSERVATION_CATEGORY, "survey", "Survey"))],
            "code": code,
            "subject": reference("Patient", s.patient_id),
            "effectiveDateTime": fhir_datetime(s.observed_at),
            "performer": performer,
            "valueQuantity": _quantity(s.value, s.unit),
            "note": [{"text": s.label}] if s.label else [],
            "derivedFrom": [reference("QuestionnaireResponse", s.response_id)] if s.response_id else [],
            "component": components,
        }
    )


def rom_observation(r: RomData) -> Json:
    """An Observation of range of motion in degrees, with the joint and side as bodySite and the method."""
    body_site = concept(coding(codes.local_system("joint"), r.joint, r.joint_label), text=r.joint_label)
    if r.side:
        body_site = {"extension": [_laterality(r.side)], **body_site}
        body_site["text"] = f"{r.joint_label}, {r.side}"
    reference_range = []
    if r.normal_degrees is not None:
        percent = f" ({r.percent_of_normal:.0f}% of normal)" if r.percent_of_normal is not None else ""
        reference_range.append({"text": f"Normal {_number(r.normal_degrees)}°{percent}"})
    return drop_empty(
        {
            "resourceType": "Observation",
            "id": r.id,
            "meta": resource_meta(r.updated_at, r.version),
            "extension": [_episode_extension(r.episode_id)],
            "status": "final",
            "category": [concept(coding(codes.OBSERVATION_CATEGORY, "exam", "Exam"))],
            "code": concept(
                coding(
                    codes.local_system("rom-movement"), f"{r.joint}.{r.movement}", f"{r.joint_label} {r.movement_label}"
                ),
                text=f"Range of motion: {r.joint_label.lower()} {r.movement_label.lower()}",
            ),
            "subject": reference("Patient", r.patient_id),
            "effectiveDateTime": fhir_datetime(r.observed_at),
            "performer": [staff_reference(r.recorded_by_id, r.recorded_by)],
            "valueQuantity": _quantity(r.degrees, "degrees"),
            "bodySite": body_site,
            "method": concept(coding(codes.local_system("rom-method"), r.method, r.method_label)),
            "referenceRange": reference_range,
        }
    )


def adverse_event_resource(a: AdverseEventData) -> Json:
    """An AdverseEvent: actual, the event type, severity and seriousness, outcome, the suspect Procedure."""
    event_text = a.type_label + (f": {a.description}" if a.description else "")
    if a.needles_unaccounted:
        event_text += f" ({plural(a.needles_unaccounted, 'needle')} unaccounted for)"
    return drop_empty(
        {
            "resourceType": "AdverseEvent",
            "id": a.id,
            "meta": resource_meta(a.updated_at, a.version),
            "actuality": "actual",
            "event": concept(
                coding(codes.local_system("adverse-event-type"), a.event_type, a.type_label), text=event_text
            ),
            "subject": reference("Patient", a.patient_id),
            "date": fhir_datetime(a.onset_at),
            "recordedDate": fhir_datetime(a.recorded_at),
            "seriousness": concept(
                coding(codes.AE_SERIOUSNESS, *codes.AE_SERIOUSNESS_CODES[a.serious]),
            ),
            # R4 binds severity to mild | moderate | severe (required), so our grade is the text only.
            "severity": concept(coding(codes.AE_SEVERITY, a.fhir_severity), text=a.severity_label),
            "outcome": concept(coding(codes.AE_OUTCOME, codes.AE_OUTCOME_CODES.get(a.outcome, "unknown"))),
            "recorder": staff_reference(a.recorder_id, a.recorder),
            "suspectEntity": [{"instance": reference("Procedure", a.procedure_id)}] if a.procedure_id else [],
        }
    )


def questionnaire_url(code: str) -> str:
    """The canonical URL of an instrument's Questionnaire (the same in every clinic; the version says whose
    wording it carries)."""
    return f"{codes.LOCAL_BASE}/Questionnaire/{code.lower()}"


def questionnaire_canonical(q: QuestionnaireData) -> str:
    """The Questionnaire as QuestionnaireResponse.questionnaire names it: its URL alone (a canonical holds no
    spaces, and the instruments' versions are written as published, with spaces)."""
    return questionnaire_url(q.code)


def questionnaire_version(q: QuestionnaireData) -> str:
    """The instrument's version, and the clinic's wording version where one is carried."""
    return q.version + (f"; clinic wording v{q.wording_version}" if q.wording_version else "")


def _question(q: QuestionnaireData, item: QuestionItem) -> Json:
    topic = concept(coding(codes.local_system("instrument-item"), f"{q.code}.{item.link_id}", item.topic))
    found: Json = {"linkId": item.link_id, "code": topic["coding"], "text": item.text}
    if item.kind == "choice":
        found["type"] = "choice"
        found["answerOption"] = [
            {"valueCoding": coding(codes.local_system("instrument-answer"), f"{_number(printed)}", text)}
            for printed, text in item.options
        ]
    else:
        found["type"] = "integer" if item.kind == "numeric" else "decimal"
        bounds = []
        for url, value in (("minValue", item.minimum), ("maxValue", item.maximum)):
            if value is not None:
                kind = "valueInteger" if item.kind == "numeric" else "valueDecimal"
                bounds.append({"url": f"http://hl7.org/fhir/StructureDefinition/{url}", kind: _number(value)})
        found["extension"] = bounds
    return drop_empty(found)


def questionnaire_resource(q: QuestionnaireData) -> Json:
    """A Questionnaire for an instrument: its items with their printed answer values; the wording only where it
    ships or the clinic entered it (the topic is always the item's code display); the LOINC panel where one is
    verified."""
    description = f"{q.name} ({q.version}). Answers are the values printed beside the options."
    if q.wording_note:
        description += f" {q.wording_note}"
    return drop_empty(
        {
            "resourceType": "Questionnaire",
            "id": q.code.lower(),
            "meta": resource_meta(q.updated_at, 1 + (q.wording_version or 0)),
            "url": questionnaire_url(q.code),
            "version": questionnaire_version(q),
            "name": "".join(ch for ch in q.code.upper() if ch.isalnum()),
            "title": q.name,
            "status": "active",
            "subjectType": ["Patient"],
            "description": description,
            "code": [coding(codes.LOINC, q.loinc_panel, codes.LOINC_DISPLAY.get(q.loinc_panel))]
            if q.loinc_panel
            else [],
            "item": [_question(q, item) for item in q.items],
        }
    )


def _answer(item: QuestionItem, value: int | float) -> Json:
    if item.kind == "choice":
        text = next((t for printed, t in item.options if printed == value), None)
        return {"valueCoding": coding(codes.local_system("instrument-answer"), f"{_number(value)}", text)}
    if item.kind == "numeric":
        return {"valueInteger": int(value)}
    return {"valueDecimal": _number(value)}


def questionnaire_response_resource(r: ResponseData) -> Json:
    """A QuestionnaireResponse: completed, with each answered item's printed value (unanswered items have no
    answer), the patient as source when they answered by link."""
    items = []
    for item, value in r.answers:
        entry: Json = {"linkId": item.link_id, "text": item.text}
        if value is not None:
            entry["answer"] = [_answer(item, value)]
        items.append(drop_empty(entry))
    author = staff_reference(r.recorded_by_id, r.recorded_by) if r.recorded_by else None
    return drop_empty(
        {
            "resourceType": "QuestionnaireResponse",
            "id": r.id,
            "meta": resource_meta(r.updated_at, 1),  # answers are never edited
            "extension": [_episode_extension(r.episode_id)],
            "questionnaire": r.questionnaire,
            "status": "completed",
            "subject": reference("Patient", r.patient_id),
            "authored": fhir_datetime(r.authored),
            "author": reference("Patient", r.patient_id) if r.source == "patient" else author,
            "source": reference("Patient", r.patient_id) if r.source == "patient" else None,
            "item": items,
        }
    )


# ---------------------------------------------------------------------------------------------- bundles, outcomes


def searchset(
    base_url: str,
    self_url: str,
    resources: Sequence[Json],
    total: int | None = None,
    links: Sequence[Json] | None = None,
) -> Json:
    """A searchset Bundle of ``resources``: one page of ``total`` matches (all of them when not given), with
    its paging ``links`` (self alone when not given)."""
    bundle: Json = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(resources) if total is None else total,
        "link": list(links) if links else [{"relation": "self", "url": self_url}],
    }
    if resources:
        bundle["entry"] = [searchset_entry(base_url, r) for r in resources]
    return bundle


def searchset_entry(base_url: str, resource: Json) -> Json:
    """One match of a searchset Bundle: the resource, its full URL on this server, and its search mode."""
    return {
        "fullUrl": f"{base_url.rstrip('/')}/{resource['resourceType']}/{resource['id']}",
        "resource": resource,
        "search": {"mode": "match"},
    }


def history_bundle(base_url: str, self_url: str, resource: Json) -> Json:
    """An instance's history Bundle: the versions kept, which is the current one alone (nothing keeps earlier
    versions of a record; a signed note is never changed, an addendum is a record of its own)."""
    meta = resource["meta"]
    path = f"{resource['resourceType']}/{resource['id']}"
    response: Json = {"status": "200 OK", "etag": f'W/"{meta["versionId"]}"'}
    if "lastUpdated" in meta:
        response["lastModified"] = meta["lastUpdated"]
    return {
        "resourceType": "Bundle",
        "type": "history",
        "total": 1,
        "link": [{"relation": "self", "url": self_url}],
        "entry": [
            {
                "fullUrl": f"{base_url.rstrip('/')}/{path}",
                "resource": resource,
                "request": {"method": "POST" if meta["versionId"] == "1" else "PUT", "url": path},
                "response": response,
            }
        ],
    }


def operation_outcome(issues: Iterable[Issue]) -> Json:
    """An OperationOutcome with one issue per ``Issue``."""
    listed = []
    for issue in issues:
        entry: Json = {"severity": issue.severity, "code": issue.code, "diagnostics": issue.diagnostics}
        if issue.expression:
            entry["expression"] = list(issue.expression)
        listed.append(entry)
    if not listed:
        listed.append({"severity": "information", "code": "informational", "diagnostics": "All OK"})
    return {"resourceType": "OperationOutcome", "issue": listed}


# The interactions every resource type answers (the routes in needlepoint/fhir/urls.py).
INTERACTIONS = ("read", "vread", "history-instance", "search-type")
_PAGING_DOCS = (
    "Every search pages: _count (0-500, default 50; 0 or _summary=count gives the total alone) and _offset; "
    "the Bundle's total counts every match and its next/previous/first/last links carry the paging. "
    "A POST _search's links carry only the paging: post the same body to them. "
    "Reads carry meta.versionId and meta.lastUpdated as ETag and Last-Modified and answer If-None-Match and "
    "If-Modified-Since with 304 and a mismatching If-Match with 412. Only the current version of a record is kept: "
    "vread of another version answers 404 and an instance's _history lists the current version alone. "
    "Every error is an OperationOutcome. "
    "Search parameters: a comma is OR, a parameter given twice is AND; tokens as code, system|code, |code or "
    "system|; dates with a prefix eq, ne, lt, gt, le, ge, sa, eb or ap and as wide as their precision (read in UTC). "
    "Unknown parameters and modifiers are refused with 400 unless the request sends Prefer: handling=lenient, "
    "when they are left out (the self link shows what was used). _elements (on searches and reads) returns the "
    "named elements with the mandatory ones, tagged SUBSETTED. "
    f"Searches follow US Core {search.US_CORE_VERSION}; the clinical types are searched one patient at a time."
)


def capability_statement(base_url: str, software_version: str, when: datetime) -> Json:
    """The CapabilityStatement: resources, interactions, search parameters, operations, local terminology."""
    local = "; ".join(f"{codes.local_system(kind)}: {why}" for kind, (_, why) in sorted(codes.LOCAL_SYSTEMS.items()))
    extensions = "; ".join(f"{codes.extension_url(kind)}: {what}" for kind, (_, what) in codes.EXTENSIONS.items())
    resources = []
    for resource_type, params in search.PARAMS.items():
        entry: Json = {
            "type": resource_type,
            "interaction": [{"code": code} for code in INTERACTIONS],
            "versioning": "versioned",
            "readHistory": False,
            "conditionalRead": "full-support",
            "searchParam": [{"name": p.name, "type": p.type, "documentation": p.documentation} for p in params],
        }
        if resource_type in US_CORE_PROFILES:
            entry["supportedProfile"] = [US_CORE_PROFILES[resource_type]]
        if resource_type == "Condition":
            entry["supportedProfile"].append(US_CORE_PROBLEMS)
        combinations = search.COMBINATIONS.get(resource_type)
        if combinations:
            listed = "; ".join("+".join(names) for names in combinations)
            entry["documentation"] = f"Combinations (US Core {search.US_CORE_VERSION}): {listed}."
        if resource_type == "Patient":
            entry["operation"] = [
                {
                    "name": "everything",
                    "definition": "http://hl7.org/fhir/OperationDefinition/Patient-everything",
                    "documentation": (
                        "Everything of the patient your role may read (front desk: the Patient only); start and "
                        "end (YYYY-MM-DD) keep the care in that period; _count pages it (default 500)."
                    ),
                }
            ]
        resources.append(entry)
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": fhir_datetime(when),
        "publisher": "Needlepoint",
        "kind": "instance",
        "software": {"name": "Needlepoint", "version": software_version},
        "implementation": {"description": "Needlepoint FHIR R4 endpoint", "url": base_url},
        "fhirVersion": FHIR_VERSION,
        "format": ["application/fhir+json", "json"],
        "description": (
            "Local terminology (codes the project's references could not verify, or that only Needlepoint defines): "
            f"{local}. Local extensions: {extensions}."
        ),
        "implementationGuide": [
            f"http://hl7.org/fhir/us/core/ImplementationGuide/hl7.fhir.us.core|{search.US_CORE_VERSION}"
        ],
        "rest": [
            {
                "mode": "server",
                "documentation": (
                    "Authenticate with a personal API token (Authorization: Bearer np_...) or the signed-in "
                    "session. Every read is clinic-scoped and recorded in the audit trail; other clinics' "
                    "records answer 404. A transaction Bundle posted to the base imports one Patient into a new "
                    "patient: its Conditions as reported conditions, its plain 0-10 pain Observations (LOINC "
                    f"{codes.PAIN_LOINC}) into an episode of care, and its Procedures, AdverseEvents, Consents, "
                    "QuestionnaireResponses, other Observations and Conditions that say more than a reported "
                    "condition keeps as another clinic's records, kept as received (id received-<patient>-<entry>, "
                    "never changed; each must have R4's structure and be about the Patient; references to the "
                    "Bundle's entries are rewritten to this server's ids), all or nothing. Every entry must be a "
                    "POST whose url names its own R4 resource type (optionally after a base URL), with a FHIR id if "
                    "any and its own fullUrl (urn:uuid:, urn:oid: or an absolute URL). The Patient's entry may carry "
                    "ifNoneExist identifier=system|value (conditional create): one patient found answers 200 OK with "
                    "its location when the Bundle holds nothing more for that chart, and refuses it (409) otherwise; "
                    "several answer 412; ifNoneExist on another entry or as another search is refused. Every "
                    "urn:uuid:, "
                    "urn:oid: or Type/id reference must name an entry of the Bundle; conditional references "
                    "(Type?search) are not resolved and are refused; absolute URLs outside the Bundle are "
                    "allowed and not followed. A refusal is a 4xx OperationOutcome and nothing is written. An "
                    "import answers 200 with a transaction-response Bundle, one entry per request entry in "
                    "order: 201 Created with location, etag and lastModified for each stored entry; 200 OK "
                    "with no location for an entry not stored (every other type, plain pain not final), whose "
                    "response.outcome warns that it was not stored and why; notes (roundings, identifiers not "
                    "kept, a Social Security number where the clinic keeps none) in the entry's response.outcome. "
                    "A pain rating dated after the Patient's deceasedDateTime is refused. The Location header "
                    "names the new Patient. "
                    f"{_PAGING_DOCS}"
                ),
                "security": {
                    "service": [concept(text="Bearer token or session")],
                    "description": "Clinicians and clinic admins read clinical resources; front desk: Patient only.",
                },
                "resource": resources,
                "interaction": [{"code": "transaction"}],
            }
        ],
    }
