"""Coded demographics (data/demographics.json): marital status, US Core race, ethnicity and birth sex, and the plain
names of identifier systems and types, with the rule that masks a Social Security number. Pure: imports nothing
from Django.

Race, ethnicity and birth sex are what the patient reports; each may be declined ("asked, no answer") or unknown,
and a declined or unknown answer stands alone (it is never combined with a category).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

DATA_FILE = Path(__file__).parent / "data" / "demographics.json"
NULL_FLAVOR = "http://terminology.hl7.org/CodeSystem/v3-NullFlavor"
# A masked number shows only its last digits: enough to tell two apart, never the whole number.
SHOWN_DIGITS = 4


@dataclass(frozen=True)
class Code:
    """One code of a coded demographic: its system, code, the display the code system gives, and our label."""

    system: str
    code: str
    display: str
    label: str
    verified: bool = True


@dataclass(frozen=True)
class CodedSet:
    """The codes one demographic may take: the categories, then the declined/unknown answers (if any)."""

    system: str
    codes: tuple[Code, ...]
    declined: tuple[Code, ...] = ()
    extension: str = ""
    most: int = 1

    @property
    def every(self) -> tuple[Code, ...]:
        """Categories, then declined/unknown answers."""
        return self.codes + self.declined

    def find(self, code: str) -> Code | None:
        """The code, if it is one of this set's."""
        return next((c for c in self.every if c.code == code), None)

    def choices(self) -> list[tuple[str, str]]:
        """(code, label) of every code, for a form."""
        return [(c.code, c.label) for c in self.every]


@cache
def _data() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DATA_FILE.read_text(encoding="utf-8"))
    return loaded


def _code(item: dict[str, Any], system: str) -> Code:
    display = str(item["display"])
    return Code(
        system=str(item.get("system", system)),
        code=str(item["code"]),
        display=display,
        label=str(item.get("label", display)),
        verified=bool(item.get("verified", True)),
    )


def _coded_set(name: str) -> CodedSet:
    part = _data()[name]
    system = str(part.get("system", ""))
    return CodedSet(
        system=system,
        codes=tuple(_code(item, system) for item in part["codes"]),
        declined=tuple(_code(item, system) for item in part.get("declined", [])),
        extension=str(part.get("extension", "")),
        most=int(part.get("most", 1)),
    )


@cache
def marital_statuses() -> CodedSet:
    """v3-MaritalStatus codes and UNK, as the R4 ValueSet marital-status holds them."""
    return _coded_set("marital_status")


@cache
def races() -> CodedSet:
    """The five OMB race categories (CDC Race & Ethnicity codes), and the declined/unknown answers."""
    return _coded_set("race")


@cache
def ethnicities() -> CodedSet:
    """The two OMB ethnicity categories (CDC Race & Ethnicity codes), and the declined/unknown answers."""
    return _coded_set("ethnicity")


@cache
def birth_sexes() -> CodedSet:
    """The US Core birth-sex codes: F, M, UNK."""
    return _coded_set("birth_sex")


def label_of(coded: CodedSet, code: str) -> str:
    """A stored code in words; an unknown code as itself, so nothing stored is hidden."""
    found = coded.find(code)
    return found.label if found else code


def race_problem(codes: list[str]) -> str:
    """Why a list of race codes cannot be kept ("" when it can): known codes, at most five, a declined or unknown
    answer alone."""
    coded = races()
    unknown = [c for c in codes if coded.find(c) is None]
    if unknown:
        return f"Not an OMB race category: {', '.join(unknown)}."
    if len(set(codes)) != len(codes):
        return "A race category is chosen twice."
    if len(codes) > coded.most:
        return f"At most {coded.most} race categories."
    declined = {c.code for c in coded.declined}
    if len(codes) > 1 and declined & set(codes):
        return "“Asked, no answer” or “Unknown” stands alone: it cannot be chosen with a race category."
    return ""


def in_words(coded: CodedSet, codes: list[str], text: str = "") -> str:
    """Stored codes as a clinician reads them, with the patient's own words where they say more: "White",
    "Asian, White (Korean and Irish)"; "" when nothing is recorded."""
    labels = ", ".join(label_of(coded, code) for code in codes)
    if text and text.lower() != labels.lower():
        return f"{labels} ({text})" if labels else text
    return labels


# ---------------------------------------------------------------------------------------------- identifiers


def identifier_type_name(type_system: str, type_code: str) -> str:
    """The v2-0203 identifier type's name (e.g. "Passport number"), or "" when not one of ours."""
    part = _data()["identifier_types"]
    if type_system != part["system"]:
        return ""
    return next((str(c["display"]) for c in part["codes"] if c["code"] == type_code), "")


def identifier_name(system: str, type_system: str = "", type_code: str = "", type_text: str = "") -> str:
    """What an identifier is, in plain words: the system's name where known, else its type's, else the system."""
    for known in _data()["identifier_systems"]:
        if known["system"] == system:
            return str(known["name"])
    return identifier_type_name(type_system, type_code) or type_text or system


def is_masked(system: str, type_system: str = "", type_code: str = "", type_text: str = "") -> bool:
    """Whether the identifier is a Social Security number, never shown in full and kept only by choice: by its
    system (or one of that system's aliases, such as HL7's OID for it), by its v2-0203 type, or by a type text
    such as "SSN". The one rule for masking and for keeping (``identifier_not_kept``, ``shown_value``)."""
    for known in _data()["identifier_systems"]:
        if known.get("masked") and system in (known["system"], *(a["system"] for a in known.get("aliases", ()))):
            return True
    if type_text.strip().casefold() in SOCIAL_SECURITY_TYPE_TEXTS:
        return True
    part = _data()["identifier_types"]
    return type_system == part["system"] and any(c.get("masked") and c["code"] == type_code for c in part["codes"])


# A type sent as text alone: the words a sender uses for a Social Security number (compared without case).
SOCIAL_SECURITY_TYPE_TEXTS = frozenset({"ssn", "social security number"})


SOCIAL_SECURITY_NOT_KEPT = "this clinic does not keep them"


def identifier_not_kept(identifier: Mapping[str, str], keeps_social_security_numbers: bool) -> str:
    """Why an identifier from another system is not kept, or "" when it is: the one rule every way in (the FHIR
    import, ``patients.actions.keep_identifiers``) follows. A Social Security number (by its system or its type,
    ``is_masked``) is kept only where the clinic chose to keep them: it is the number most wanted for identity
    theft, and a dry-needling clinic needs none to treat anyone, so a clinic keeps one only by choice."""
    if keeps_social_security_numbers:
        return ""
    parts = ("system", "type_system", "type_code", "type_text")
    system, type_system, type_code, type_text = (str(identifier.get(k) or "") for k in parts)
    return SOCIAL_SECURITY_NOT_KEPT if is_masked(system, type_system, type_code, type_text) else ""


def shown_value(value: str, system: str, type_system: str = "", type_code: str = "", type_text: str = "") -> str:
    """An identifier's value as a page may show it: a Social Security number masked, any other in full."""
    return masked(value) if is_masked(system, type_system, type_code, type_text) else value


def masked(value: str) -> str:
    """Every character but the last four digits hidden: "999-55-2827" is shown "•••-••-2827"."""
    digits = [i for i, ch in enumerate(value) if ch.isdigit()]
    shown = set(digits[-SHOWN_DIGITS:]) if len(digits) > SHOWN_DIGITS else set()
    return "".join(ch if i in shown or not ch.isalnum() else "•" for i, ch in enumerate(value))
