"""Conditions another record reported for a patient (a FHIR import): the statuses they are checked against
(data/condition_statuses.json, the FHIR R4 code systems), which of them count as active, and the order a
clinician reads them in. Pure: imports nothing from Django.

A reported condition is kept as the sending record stated it: it is never edited here. Correcting one (the
sender's later version, or a clinician's note that it is wrong) is not handled yet.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

DATA_FILE = Path(__file__).parent / "data" / "condition_statuses.json"
# Verification statuses that say the condition is not the patient's: never counted as active.
NOT_THE_PATIENTS = ("refuted", "entered-in-error")
ENTERED_IN_ERROR = "entered-in-error"


@dataclass(frozen=True)
class Status:
    """One code of a status code system, and the code it specialises (None at the top of the hierarchy)."""

    code: str
    display: str
    parent: str | None


@dataclass(frozen=True)
class StatusSystem:
    """A FHIR code system of condition statuses: its URI and codes."""

    system: str
    codes: dict[str, Status]

    def family(self, code: str) -> str:
        """The top of a code's hierarchy: ``recurrence`` is an ``active`` code."""
        found = self.codes.get(code)
        while found is not None and found.parent is not None:
            found = self.codes.get(found.parent)
        return found.code if found is not None else code

    def display(self, code: str) -> str:
        """The code system's display of a code (the code itself if unknown)."""
        found = self.codes.get(code)
        return found.display if found else code


@dataclass(frozen=True)
class ReportedConditionData:
    """A condition as another record reported it, checked and ready to keep: its primary coding (the first),
    every coding and the text as received, its statuses, and its dates as the FHIR date or dateTime sent."""

    system: str
    code: str
    display: str
    codings: tuple[dict[str, str], ...]
    text: str = ""
    clinical_status: str = ""
    verification_status: str = ""
    onset: str = ""
    abatement: str = ""
    recorded_date: str = ""
    source_reference: str = ""  # the sender's reference: the entry's fullUrl, else Condition/<id>


def _system(raw: dict[str, Any]) -> StatusSystem:
    codes = {item["code"]: Status(item["code"], item["display"], item["parent"]) for item in raw["codes"]}
    return StatusSystem(raw["system"], codes)


@cache
def _data() -> dict[str, Any]:
    found: dict[str, Any] = json.loads(DATA_FILE.read_text(encoding="utf-8"))
    return found


def clinical_statuses() -> StatusSystem:
    """FHIR R4 condition-clinical: active (recurrence, relapse), inactive (remission, resolved)."""
    return _system(_data()["clinical"])


def verification_statuses() -> StatusSystem:
    """FHIR R4 condition-ver-status: unconfirmed (provisional, differential), confirmed, refuted, entered-in-error."""
    return _system(_data()["verification"])


def abated_statuses() -> tuple[str, ...]:
    """The clinical statuses an abated condition may have (R4 invariant con-4)."""
    return tuple(_data()["abated_clinical_statuses"]["codes"])


def code_system_name(system: str) -> str:
    """The name a clinician knows a code system by (SNOMED CT, ICD-10-CM), or its URI when it has none here."""
    names: dict[str, str] = _data()["code_system_names"]["names"]
    return names.get(system, system)


def is_active(clinical_status: str, verification_status: str) -> bool:
    """Whether the sending record says the patient has the condition now: an active code (active, recurrence,
    relapse), not refuted and not entered in error."""
    return clinical_statuses().family(clinical_status) == "active" and verification_status not in NOT_THE_PATIENTS


def status_problems(clinical_status: str, verification_status: str, abated: bool) -> list[str]:
    """What is wrong with a condition's statuses, by the R4 Condition invariants (con-3 for a problem-list item,
    con-4, con-5); empty when they agree."""
    problems = []
    if verification_status == ENTERED_IN_ERROR and clinical_status:
        problems.append("A Condition entered in error has no clinicalStatus (FHIR con-5).")
    if verification_status != ENTERED_IN_ERROR and not clinical_status:
        problems.append("A Condition needs a clinicalStatus unless it was entered in error (FHIR con-3).")
    if abated and clinical_status and clinical_status not in abated_statuses():
        allowed = ", ".join(abated_statuses())
        problems.append(f"An abated Condition's clinicalStatus must be {allowed}, not {clinical_status} (FHIR con-4).")
    return problems


def chart_order(conditions: Iterable[Any]) -> list[Any]:
    """Reported conditions as the chart lists them: active ones first, then the rest; latest onset first within
    each (undated last). Each item has ``clinical_status``, ``verification_status`` and ``onset``."""
    by_onset = sorted(conditions, key=lambda c: c.onset or "", reverse=True)
    return sorted(by_onset, key=lambda c: not is_active(c.clinical_status, c.verification_status))
