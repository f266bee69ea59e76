"""The conditions an episode of care is opened for, and their ICD-10-CM codes (data/conditions.json)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

DATA_FILE = Path(__file__).parent / "data" / "conditions.json"


@dataclass(frozen=True)
class IcdCode:
    """One ICD-10-CM code offered for a condition; ``verified`` is false where the source is unverified."""

    code: str
    label: str
    side: str | None
    verified: bool
    source: str


@dataclass(frozen=True)
class Condition:
    """A treated condition with the ICD-10-CM codes that fit it."""

    code: str
    label: str
    icd10: tuple[IcdCode, ...]


class ConditionDataError(ValueError):
    """The conditions data file is malformed."""


@cache
def conditions(path: Path = DATA_FILE) -> dict[str, Condition]:
    """All conditions by code, validated."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    result: dict[str, Condition] = {}
    for entry in raw["conditions"]:
        codes = []
        for item in entry["icd10"]:
            if not item.get("source"):
                raise ConditionDataError(f"ICD-10 code {item.get('code')} of {entry['code']} has no source")
            codes.append(IcdCode(item["code"], item["label"], item["side"], bool(item["verified"]), item["source"]))
        if entry["code"] in result:
            raise ConditionDataError(f"Condition {entry['code']} is listed twice")
        result[entry["code"]] = Condition(entry["code"], entry["label"], tuple(codes))
    return result


def condition_label(code: str) -> str:
    """The plain name of a condition code (the code itself if unknown)."""
    found = conditions().get(code)
    return found.label if found else code


def condition_choices() -> list[tuple[str, str]]:
    """(code, label) pairs for forms."""
    return [(c.code, c.label) for c in conditions().values()]


def icd10_for(condition_code: str) -> dict[str, IcdCode]:
    """The ICD-10-CM codes allowed for a condition, by code."""
    found = conditions().get(condition_code)
    return {c.code: c for c in found.icd10} if found else {}
