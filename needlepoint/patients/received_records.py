"""How the chart names a record another clinic made (a FHIR resource kept as received). Pure module, no Django.

The words come from the resource itself, never from this clinic's own lists: the type in plain words, the
date the sender gave (when it happened: performed, effective, onset, authored...), and a short description
from its code's text or first display (an adverse event's event, a consent's category, a questionnaire
response's questionnaire), cut to the chart's length.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

TYPE_LABELS = {
    "AdverseEvent": "Adverse event",
    "Condition": "Condition",
    "Consent": "Consent",
    "Observation": "Observation",
    "Procedure": "Procedure",
    "QuestionnaireResponse": "Questionnaire response",
}
# The elements that say when a record's event happened, most telling first; a Period's start is its date.
_WHEN = (
    "performedDateTime",
    "performedPeriod",
    "effectiveDateTime",
    "effectiveInstant",
    "effectivePeriod",
    "onsetDateTime",
    "date",
    "dateTime",
    "authored",
    "recordedDate",
    "issued",
)
# The element naming what a record is, by type (a CodeableConcept, or a canonical for a questionnaire response).
_WHAT = {"AdverseEvent": "event", "Consent": "category", "QuestionnaireResponse": "questionnaire"}
SUMMARY_LENGTH = 300


def type_label(resource_type: str) -> str:
    """A resource type in plain words."""
    return TYPE_LABELS.get(resource_type, resource_type)


def occurred(resource: dict[str, Any]) -> str:
    """The FHIR date or dateTime the record happened on, as sent ("" when it gives none)."""
    for key in _WHEN:
        value = resource.get(key)
        if isinstance(value, dict):
            value = value.get("start")
        if isinstance(value, str) and value:
            return value[:35]
    return ""


def _concept_words(concept: Any) -> str:
    if isinstance(concept, list):
        concept = concept[0] if concept else None
    if not isinstance(concept, dict):
        return ""
    if isinstance(concept.get("text"), str) and concept["text"].strip():
        return str(concept["text"])
    for coding in concept.get("coding") or []:
        if isinstance(coding, dict) and isinstance(coding.get("display"), str) and coding["display"].strip():
            return str(coding["display"])
    for coding in concept.get("coding") or []:
        if isinstance(coding, dict) and isinstance(coding.get("code"), str):
            return str(coding["code"])
    return ""


def summary(resource: dict[str, Any]) -> str:
    """A short description of the record from its own words (its type's words when it has none)."""
    kind = str(resource.get("resourceType", ""))
    what = resource.get(_WHAT.get(kind, "code"))
    words = what if isinstance(what, str) else _concept_words(what)
    words = " ".join(words.split()) or f"{type_label(kind)} (no description sent)"
    return words if len(words) <= SUMMARY_LENGTH else words[: SUMMARY_LENGTH - 1] + "…"


@dataclass(frozen=True)
class ReceivedRecordData:
    """One record to keep as received: its type, its key (``<patient id>-<bundle entry>``), the resource with
    its references rewritten to this server's ids, and the sender's fullUrl or Type/id."""

    resource_type: str
    key: str
    resource: dict[str, Any]
    source_reference: str = ""
