"""Adverse-event types and severities for needling visits, read from ``data/adverse_events.json``.

Pure Python, no Django. Severities follow White et al.'s mild / significant / serious scheme
[S5]; the types follow the events reported in the dry-needling surveys [S1–S4].
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

DATA_FILE = Path(__file__).parent / "data" / "adverse_events.json"

FHIR_SEVERITIES = ("mild", "moderate", "severe")
_SOURCE_KEY = re.compile(r"\[S\d+|§")


class AdverseEventDataError(ValueError):
    """The adverse-event data file is malformed; the message names the file and every problem."""


class AdverseEventError(ValueError):
    """An adverse event that cannot be recorded as given; ``problems`` lists each reason."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("Adverse event cannot be recorded:\n- " + "\n- ".join(self.problems))


@dataclass(frozen=True)
class Severity:
    """One severity grade, mildest first (``rank`` 0), with its definition and FHIR code."""

    code: str
    label: str
    definition: str
    rank: int
    serious: bool
    fhir_severity: str
    source: str


@dataclass(frozen=True)
class AdverseEventType:
    """A kind of adverse event with its source, and the lowest severity it can be recorded with."""

    code: str
    label: str
    source: str
    unverified: bool
    note: str = ""
    min_severity: str | None = None
    requires_description: bool = False


@dataclass(frozen=True)
class AdverseEventCatalogue:
    """Every type and severity from one data file."""

    types: tuple[AdverseEventType, ...]
    severities: tuple[Severity, ...]


def load_catalogue(path: Path = DATA_FILE) -> AdverseEventCatalogue:
    """Read and validate an adverse-event data file; raise AdverseEventDataError listing every problem."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        severities = tuple(_severity(rank, entry) for rank, entry in enumerate(raw["severities"]))
        types = tuple(_event_type(entry) for entry in raw["types"])
    except (OSError, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise AdverseEventDataError(f"{path}: cannot be read as adverse-event data: {exc!r}") from exc
    problems = _catalogue_problems(types, severities)
    if problems:
        raise AdverseEventDataError(f"{path}: invalid adverse-event data:\n- " + "\n- ".join(problems))
    return AdverseEventCatalogue(types, severities)


@cache
def _packaged() -> AdverseEventCatalogue:
    return load_catalogue(DATA_FILE)


def adverse_event_types() -> tuple[AdverseEventType, ...]:
    """The adverse-event types in form order."""
    return _packaged().types


def severities() -> tuple[Severity, ...]:
    """The severities, mildest first."""
    return _packaged().severities


def _severity(rank: int, entry: dict[str, Any]) -> Severity:
    keys = ("code", "label", "definition", "serious", "fhir_severity", "source")
    code, label, definition, serious, fhir, source = (entry[k] for k in keys)
    return Severity(code, label, definition, rank, serious, fhir, source)


def _event_type(entry: dict[str, Any]) -> AdverseEventType:
    return AdverseEventType(
        code=entry["code"],
        label=entry["label"],
        source=entry["source"],
        unverified=entry["unverified"],
        note=entry.get("note", ""),
        min_severity=entry.get("min_severity"),
        requires_description=entry.get("requires_description", False),
    )


def _catalogue_problems(types: tuple[AdverseEventType, ...], grades: tuple[Severity, ...]) -> list[str]:
    problems = _duplicates("type", [t.code for t in types]) + _duplicates("severity", [s.code for s in grades])
    severity_codes = {s.code for s in grades}
    for grade in grades:
        if grade.fhir_severity not in FHIR_SEVERITIES or not isinstance(grade.serious, bool):
            problems.append(f"severity {grade.code}: fhir_severity must be one of {FHIR_SEVERITIES}.")
        if not _SOURCE_KEY.search(grade.source):
            problems.append(f"severity {grade.code}: the source must cite the project's references.")
    for kind in types:
        if not _SOURCE_KEY.search(kind.source):
            problems.append(f"type {kind.code}: the source must cite the project's references.")
        if not isinstance(kind.unverified, bool) or (kind.unverified and not kind.note.strip()):
            problems.append(f"type {kind.code}: unverified must be true/false, and true needs a note.")
        if kind.min_severity is not None and kind.min_severity not in severity_codes:
            problems.append(f"type {kind.code}: unknown min_severity {kind.min_severity!r}.")
    return problems


def _duplicates(what: str, codes: list[str]) -> list[str]:
    return [f"{what} code used more than once: {c}" for c in sorted({c for c in codes if codes.count(c) > 1})]


def validate_adverse_event(type_code: str, severity: str, description: str = "") -> AdverseEventType:
    """Check an adverse event before it is recorded; return its type or raise AdverseEventError.

    A type with a minimum severity (a suspected pneumothorax is at least significant) refuses a milder
    grade, and "other" needs a description.
    """
    kinds = {t.code: t for t in adverse_event_types()}
    ranks = {s.code: s.rank for s in severities()}
    problems = []
    kind = kinds.get(type_code)
    if kind is None:
        problems.append(f"Unknown adverse-event type {type_code!r}.")
    if severity not in ranks:
        problems.append(f"Unknown severity {severity!r}; use one of {', '.join(ranks)}.")
    if kind and kind.min_severity and severity in ranks and ranks[severity] < ranks[kind.min_severity]:
        problems.append(f"{kind.label} is at least {kind.min_severity}, not {severity}.")
    if kind and kind.requires_description and not description.strip():
        problems.append(f"{kind.label} needs a description of what happened.")
    if problems or kind is None:  # an unknown kind is always among the problems
        raise AdverseEventError(problems)
    return kind
