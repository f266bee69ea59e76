"""Code systems and identifier systems used in Needlepoint's FHIR R4 resources. Pure module, no Django.

External systems are used only where the project's references, the code system's own publication or an official
FHIR R4 example show the code: LOINC 72514-3 for the 0-10 pain rating [S114], LOINC 97909-6 (score) and 97908-8
(panel) for the Oswestry Disability Index (loinc.org/97909-6, Regenstrief, first released in LOINC 2.70),
CPT 20560/20561 [S97, S98], ICD-10-CM [S220], SNOMED CT laterality qualifiers 7771000 / 24028007 / 51440002
(FHIR ValueSet bodystructure-laterality, expanded from SNOMED CT International), LOINC 59284-0 as the Consent
category (the official R4 Consent examples), and the FHIR/HL7 code systems that R4 binds the elements to
(condition-clinical, consentscope, adverse-event-severity, adverse-event-seriousness as R4 4.0.1 spells it, ...).

Everything the project's references mark unverified or do not name gets a local CodeSystem under ``LOCAL_BASE``:
- dry needling itself: no SNOMED CT concept found when the project's references were compiled, so CPT plus a local code;
- questionnaire totals other than ODI and the 0-10 pain rating (NDI, HIT-6, PRTEE, ...): no LOINC code verified on
  LOINC's own pages;
- muscles (the atlas ids), ROM movements and methods, adverse-event types, treated conditions; laterality keeps its
  local code as a second coding beside SNOMED CT (and "central" has no SNOMED CT qualifier, so only the local one).
The CapabilityStatement lists these local systems so a receiver knows they are not standard terminology.
"""

from __future__ import annotations

# The base of every local URI, under the reserved .example domain (no terminology server is published), stable so
# that exported codes keep their meaning between exports and releases.
LOCAL_BASE = "https://needlepoint.example/fhir"

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"
CPT = "http://www.ama-assn.org/go/cpt"
ICD10_CM = "http://hl7.org/fhir/sid/icd-10-cm"
V2_IDENTIFIER_TYPE = "http://terminology.hl7.org/CodeSystem/v2-0203"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
CONSENT_SCOPE = "http://terminology.hl7.org/CodeSystem/consentscope"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
AE_SEVERITY = "http://terminology.hl7.org/CodeSystem/adverse-event-severity"
AE_SERIOUSNESS = "http://terminology.hl7.org/CodeSystem/adverse-event-seriousness"
AE_OUTCOME = "http://terminology.hl7.org/CodeSystem/adverse-event-outcome"

PAIN_LOINC = "72514-3"
PAIN_LOINC_DISPLAY = "Pain severity - 0-10 verbal numeric rating [Score] - Reported"
# LOINC codes by code, with their long common names as LOINC publishes them (the pain rating [S114]; the ODI
# score from loinc.org/97909-6, "Member of these Panels: 97908-8 Oswestry Disability Index").
LOINC_DISPLAY = {
    PAIN_LOINC: PAIN_LOINC_DISPLAY,
    "97909-6": "Oswestry disability index score ODI",
    "97908-8": "Oswestry Disability Index",
}
# The LOINC panel (the questionnaire itself) of an instrument whose total has a LOINC code (loinc.org/97909-6).
LOINC_PANEL = {"ODI": "97908-8"}
CONSENT_LOINC = "59284-0"  # category of the official R4 Consent examples
CPT_DISPLAY = {
    "20560": "Needle insertion(s) without injection(s); 1 or 2 muscle(s)",
    "20561": "Needle insertion(s) without injection(s); 3 or more muscles",
}

# Local CodeSystems, by what they code: (path under LOCAL_BASE, why local).
LOCAL_SYSTEMS: dict[str, tuple[str, str]] = {
    "procedure": (
        "CodeSystem/procedure",
        "No SNOMED CT concept for dry needling was found when the project's references were compiled.",
    ),
    "instrument": (
        "CodeSystem/instrument",
        "Questionnaire totals: kept beside the LOINC code where one is verified (ODI, 0-10 pain); no LOINC code was "
        "verified for NDI, HIT-6, PRTEE and the others.",
    ),
    "muscle": ("CodeSystem/muscle", "Muscles of the Needlepoint trigger-point atlas, by atlas id."),
    "record-document": (
        "CodeSystem/record-document",
        "Kinds of document in a patient's record export (visit note, addendum, screening, pain drawing, "
        "adverse-event follow-up, questionnaire notes); no LOINC document codes are verified in our references.",
    ),
    "laterality": (
        "CodeSystem/laterality",
        "Left, right, both sides, central: kept beside the SNOMED CT qualifier (none exists for central).",
    ),
    "instrument-item": ("CodeSystem/instrument-item", "The items of each questionnaire, as instrument.item id."),
    "instrument-answer": (
        "CodeSystem/instrument-answer",
        "A choice item's answer: the value printed beside the option on the instrument's form.",
    ),
    "rom-movement": ("CodeSystem/rom-movement", "Joint movements of the range-of-motion norms (joint.movement)."),
    "rom-method": ("CodeSystem/rom-method", "Goniometer, inclinometer, CROM device."),
    "joint": ("CodeSystem/joint", "Joints of the range-of-motion norms."),
    "adverse-event-type": ("CodeSystem/adverse-event-type", "Adverse events after dry needling [S1–S4]."),
    "condition": ("CodeSystem/condition", "The treated conditions an episode of care is opened for."),
}
EXTENSIONS: dict[str, tuple[str, str]] = {
    "laterality": ("StructureDefinition/laterality", "valueCodeableConcept: the side of a body site"),
    "episode": ("StructureDefinition/episode-of-care", "valueReference(Condition): the episode a measure belongs to"),
}

LATERALITY_DISPLAY = {"left": "Left", "right": "Right", "bilateral": "Both sides", "central": "Central / not sided"}
# SNOMED CT laterality qualifiers (FHIR ValueSet bodystructure-laterality, expansion from SNOMED CT International
# 2025-02-01: 7771000 Left, 24028007 Right, 51440002 Right and left). "central" has none.
LATERALITY_SNOMED = {
    "left": ("7771000", "Left"),
    "right": ("24028007", "Right"),
    "bilateral": ("51440002", "Right and left"),
}

# AdverseEvent.seriousness as the R4 (4.0.1) CodeSystem adverse-event-seriousness spells its case-sensitive codes;
# the later HL7 Terminology release renamed them in lower case, but R4's definitions are what R4 validators read.
AE_SERIOUSNESS_CODES = {False: ("Non-serious", "Non-serious"), True: ("Serious", "Serious")}

# AdverseEvent.outcome (R4 adverse-event-outcome) for our stored outcomes.
AE_OUTCOME_CODES = {
    "ongoing": "ongoing",
    "recovering": "recovering",
    "resolved": "resolved",
    "resolved_with_sequelae": "resolvedWithSequelae",
    "fatal": "fatal",
    "unknown": "unknown",
}

# Questionnaire units as UCUM codes.
UCUM_UNITS = {"points": "{score}", "percent": "%", "days": "d", "kPa": "kPa", "degrees": "deg"}


def local_system(kind: str, base: str = LOCAL_BASE) -> str:
    """The URI of one of our local CodeSystems (``kind`` is a key of LOCAL_SYSTEMS)."""
    return f"{base}/{LOCAL_SYSTEMS[kind][0]}"


def extension_url(kind: str, base: str = LOCAL_BASE) -> str:
    """The URL of one of our local extensions (``kind`` is a key of EXTENSIONS)."""
    return f"{base}/{EXTENSIONS[kind][0]}"


def mrn_system(clinic_slug: str, base: str = LOCAL_BASE) -> str:
    """The identifier system of one clinic's MRNs: MRNs are unique per clinic, not across clinics."""
    return f"{base}/sid/mrn/{clinic_slug}"


def user_system(base: str = LOCAL_BASE) -> str:
    """The identifier system of Needlepoint's user accounts (a Practitioner's identifier is its user's id)."""
    return f"{base}/sid/user"


def consent_text_uri(clinic_slug: str, version: int, base: str = LOCAL_BASE) -> str:
    """The URI naming one version of a clinic's consent text (Consent.policy.uri)."""
    return f"{base}/consent-text/{clinic_slug}/v{version}"


def laterality_codings(side: str, base: str = LOCAL_BASE) -> list[dict[str, str]]:
    """A side as codings: the SNOMED CT qualifier where one exists, then always the local code."""
    found = []
    if side in LATERALITY_SNOMED:
        found.append(coding(SNOMED, *LATERALITY_SNOMED[side]))
    found.append(coding(local_system("laterality", base), side, LATERALITY_DISPLAY.get(side, side)))
    return found


def coding(system: str, code: str, display: str | None = None) -> dict[str, str]:
    """A Coding, with its display when one is given."""
    found = {"system": system, "code": code}
    if display:
        found["display"] = display
    return found


def concept(*codings: dict[str, str], text: str | None = None) -> dict[str, object]:
    """A CodeableConcept of the given codings and text."""
    found: dict[str, object] = {}
    if codings:
        found["coding"] = list(codings)
    if text:
        found["text"] = text
    return found
