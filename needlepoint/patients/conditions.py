"""The conditions an episode of care is opened for, and their ICD-10-CM codes (data/conditions.json).

Also the rule that picks an episode's code from its side (ICD-10-CM laterality): a left or right episode takes the
code of its side where the condition has sided codes, the unspecified-side code is for an episode with no side, and
a both-sides episode of a condition with only one-sided codes is coded per side, so it is opened once per side.
Pure: imports nothing from Django.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

DATA_FILE = Path(__file__).parent / "data" / "conditions.json"

# An ICD-10-CM code's laterality as the data file states it: the code of one side, the unspecified-side code of a
# sided family, or None for a code without laterality.
CODE_SIDES = ("right", "left", "unspecified", None)
SIDED = ("right", "left")

# Episode sides (patients.models.Episode.Side values) in the words a clinician reads in a message.
EPISODE_SIDE_WORDS = {"left": "left", "right": "right", "bilateral": "both-sides", "central": "central (not sided)"}


@dataclass(frozen=True)
class IcdCode:
    """One ICD-10-CM code offered for a condition, with its laterality and, where coded by site, its site."""

    code: str
    label: str
    side: str | None
    verified: bool
    source: str
    site: str = ""

    @property
    def family(self) -> str:
        """The code without its last character: the laterality variants of one diagnosis share it (M77.1x)."""
        return self.code[:-1]


@dataclass(frozen=True)
class Condition:
    """A treated condition with the ICD-10-CM codes offered for it and those it offered before (retired)."""

    code: str
    label: str
    icd10: tuple[IcdCode, ...]
    retired_icd10: tuple[IcdCode, ...] = ()


class ConditionDataError(ValueError):
    """The conditions data file is malformed."""


def _icd_code(item: dict[str, Any], where: str) -> IcdCode:
    if not item.get("source"):
        raise ConditionDataError(f"ICD-10 code {item.get('code')} of {where} has no source")
    if item.get("side") not in CODE_SIDES:
        raise ConditionDataError(f"ICD-10 code {item.get('code')} of {where} has side {item.get('side')!r}")
    return IcdCode(
        item["code"], item["label"], item["side"], bool(item["verified"]), item["source"], item.get("site", "")
    )


def _check_families(condition: str, codes: tuple[IcdCode, ...]) -> None:
    """A sided family offers right, left and unspecified, so that every episode side has its code."""
    families: dict[str, set[str | None]] = {}
    for code in codes:
        families.setdefault(code.family, set()).add(code.side)
    for family, sides in families.items():
        if sides & {"right", "left", "unspecified"} and sides != {"right", "left", "unspecified"}:
            raise ConditionDataError(f"{condition}: family {family}x must list right, left and unspecified codes")


@cache
def conditions(path: Path = DATA_FILE) -> dict[str, Condition]:
    """All conditions by code, validated."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    result: dict[str, Condition] = {}
    for entry in raw["conditions"]:
        codes = tuple(_icd_code(item, entry["code"]) for item in entry["icd10"])
        retired = tuple(_icd_code(item, entry["code"]) for item in entry.get("retired_icd10", []))
        if len({c.code for c in codes}) != len(codes):
            raise ConditionDataError(f"Condition {entry['code']} lists an ICD-10 code twice")
        if {c.code for c in codes} & {c.code for c in retired}:
            raise ConditionDataError(f"Condition {entry['code']} lists a code as both offered and retired")
        _check_families(entry["code"], codes)
        if entry["code"] in result:
            raise ConditionDataError(f"Condition {entry['code']} is listed twice")
        result[entry["code"]] = Condition(entry["code"], entry["label"], codes, retired)
    return result


def release_checked(path: Path = DATA_FILE) -> dict[str, str]:
    """The CMS ICD-10-CM release every code of the data file was checked against."""
    return dict(json.loads(path.read_text(encoding="utf-8"))["release_checked"])


def condition_label(code: str) -> str:
    """The plain name of a condition code (the code itself if unknown)."""
    found = conditions().get(code)
    return found.label if found else code


def condition_choices() -> list[tuple[str, str]]:
    """(code, label) pairs for forms."""
    return [(c.code, c.label) for c in conditions().values()]


def icd10_for(condition_code: str) -> dict[str, IcdCode]:
    """The ICD-10-CM codes offered for a condition today, by code (retired codes are not offered)."""
    found = conditions().get(condition_code)
    return {c.code: c for c in found.icd10} if found else {}


def icd10_label(condition_code: str, icd10_code: str) -> str:
    """The official description of an episode's code, retired codes included; the code itself if unknown."""
    found = conditions().get(condition_code)
    for code in (*found.icd10, *found.retired_icd10) if found else ():
        if code.code == icd10_code:
            return code.label
    return icd10_code


def fits_side(code: IcdCode, episode_side: str) -> bool:
    """Whether ``code`` may be an episode's code given the episode's side.

    Left or right: the code of that side, or a code without laterality. Central (no side): the unspecified-side
    code or a code without laterality. Both sides: only a code without laterality; where the condition has only
    one-sided codes ICD-10-CM codes each side, so such an episode is opened once per side.
    """
    if episode_side in SIDED:
        return code.side in (episode_side, None)
    if episode_side == "central":
        return code.side in ("unspecified", None)
    return code.side is None


def icd10_choices(condition_code: str, episode_side: str) -> tuple[IcdCode, ...]:
    """The codes of a condition that agree with an episode's side, in the data file's order."""
    found = conditions().get(condition_code)
    return tuple(c for c in found.icd10 if fits_side(c, episode_side)) if found else ()


def default_icd10(condition_code: str, episode_side: str) -> IcdCode | None:
    """The first code that agrees with the side (for demo and imported episodes); None if none does."""
    choices = icd10_choices(condition_code, episode_side)
    return choices[0] if choices else None


def code_for_side(condition_code: str, episode_side: str, icd10_code: str) -> tuple[str | None, str | None]:
    """The episode's code and, when it cannot be used, why: ``(code, None)`` or ``(None, message)``.

    An empty ``icd10_code`` asks for the code to be taken from the side; that succeeds when exactly one code of the
    condition agrees with the side (a left tennis elbow is M77.12) and otherwise names the codes to choose from.
    """
    condition = conditions().get(condition_code)
    if condition is None:
        return None, "Choose a condition from the list."
    side_words = EPISODE_SIDE_WORDS.get(episode_side, episode_side)
    choices = icd10_choices(condition_code, episode_side)
    if not choices:
        return None, (
            f"ICD-10-CM has no code for {condition.label.lower()} on both sides: each side is coded on its own. "
            "Open one episode for the left side and one for the right."
        )
    if not icd10_code:
        if len(choices) == 1:
            return choices[0].code, None
        listed = ", ".join(c.code for c in choices)
        return None, f"Choose the ICD-10-CM code: for a {side_words} episode of {condition.label.lower()}: {listed}."
    code = icd10_for(condition_code).get(icd10_code)
    if code is None:
        return None, "Choose an ICD-10-CM code listed for this condition."
    if fits_side(code, episode_side):
        return code.code, None
    if code.side in SIDED:
        return None, f"{code.code} is for the {code.side} side; the episode is {side_words}."
    # The unspecified-side code on a sided episode: name the code of the episode's side from the same family.
    same_family = [c.code for c in choices if c.family == code.family]
    instead = f"; use {same_family[0]}" if same_family else ""
    return None, f"{code.code} is the code for an unrecorded side; the episode is {side_words}{instead}."


def offering(icd10_code: str) -> list[tuple[Condition, IcdCode]]:
    """The conditions that offer an ICD-10-CM code today (retired codes are not offered), with the code."""
    return [(c, code) for c in conditions().values() for code in c.icd10 if code.code == icd10_code]


def episode_side(code: IcdCode) -> str:
    """The episode side a code states: its side for a left or right code, central (not sided) for the
    unspecified-side code and for a code without laterality (``fits_side`` takes both on a central episode)."""
    return code.side if code.side in SIDED else "central"
