"""In-clinic safety events of a needling visit, read from ``data/clinic_safety.json``. Pure Python, no Django.

- the patient's position, and the rule that a patient who has fainted before is needled lying down at the
  first needling session (WHO 1999 §II.3.3 [S230]);
- what a vasovagal (fainting) event records: minutes observed after recovery and the driving advice;
- the clean-technique checklist (hand hygiene, skin, gloves, single-use needles, sharps);
- the protocol after a needle-stick injury to a member of staff (wash, report, source-patient testing with
  consent, post-exposure prophylaxis decision).

The actions call these checks before writing; the pages show the same labels and sources.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from needlepoint.references import KEY_IN_TEXT, references

DATA_FILE = Path(__file__).parent / "data" / "clinic_safety.json"


class ClinicSafetyDataError(ValueError):
    """The data file is malformed; the message names the file and every problem."""


class FirstSessionNotLying(ValueError):
    """The first needling session of a patient who has fainted before is not recorded lying down."""


@dataclass(frozen=True)
class Position:
    """A position the patient is needled in; ``lying`` for supine, prone and side-lying."""

    code: str
    label: str
    lying: bool


@dataclass(frozen=True)
class Item:
    """One checklist item or protocol step, with its source."""

    code: str
    label: str
    source: str
    unverified: bool = False
    note: str = ""


@dataclass(frozen=True)
class FirstSessionRule:
    """The fainting first-session rule: which screening finding triggers it, and its source."""

    screening_finding: str
    rule: str
    source: str
    unverified: bool
    note: str


@dataclass(frozen=True)
class VasovagalRule:
    """What a vasovagal event must record: observation minutes (bounded) and the driving advice."""

    event_type: str
    max_observation_minutes: int
    driving_advice: str
    source: str
    unverified: bool
    note: str


@dataclass(frozen=True)
class ClinicSafety:
    """Everything in one data file."""

    positions: tuple[Position, ...]
    first_session: FirstSessionRule
    vasovagal: VasovagalRule
    clean_technique: tuple[Item, ...]
    needle_stick_protocol: tuple[Item, ...]
    source_consent_choices: tuple[tuple[str, str], ...]
    pep_choices: tuple[tuple[str, str], ...]


def load(path: Path = DATA_FILE) -> ClinicSafety:
    """Read and check the data file; raise ClinicSafetyDataError naming every problem."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        data = ClinicSafety(
            positions=tuple(Position(p["code"], p["label"], p["lying"]) for p in raw["positions"]),
            first_session=FirstSessionRule(**raw["fainting_first_session"]),
            vasovagal=VasovagalRule(**raw["vasovagal"]),
            clean_technique=tuple(Item(**i) for i in raw["clean_technique"]),
            needle_stick_protocol=tuple(Item(**i) for i in raw["needle_stick_protocol"]),
            source_consent_choices=tuple((c["code"], c["label"]) for c in raw["source_consent_choices"]),
            pep_choices=tuple((c["code"], c["label"]) for c in raw["pep_choices"]),
        )
    except (OSError, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ClinicSafetyDataError(f"{path}: cannot be read as clinic-safety data: {exc!r}") from exc
    problems = _problems(data)
    if problems:
        raise ClinicSafetyDataError(f"{path}: invalid clinic-safety data:\n- " + "\n- ".join(problems))
    return data


def _problems(data: ClinicSafety) -> list[str]:
    problems = []
    for group, codes in (
        ("position", [p.code for p in data.positions]),
        ("checklist item", [i.code for i in data.clean_technique]),
        ("protocol step", [i.code for i in data.needle_stick_protocol]),
    ):
        problems += [f"{group} code used more than once: {c}" for c in sorted({c for c in codes if codes.count(c) > 1})]
    if not any(p.lying for p in data.positions):
        problems.append("no position is a lying one, so the first-session rule could never be met")
    sourced: list[FirstSessionRule | VasovagalRule | Item]
    sourced = [data.first_session, data.vasovagal, *data.clean_technique, *data.needle_stick_protocol]
    for entry in sourced:
        if not entry.source.strip():
            problems.append(f"{getattr(entry, 'code', type(entry).__name__)}: no source")
        if entry.unverified and not entry.note.strip():
            problems.append(f"{getattr(entry, 'code', type(entry).__name__)}: unverified needs a note")
        # Every source cites a key of the project's references file, and only such keys, so a reader can follow it.
        keys = KEY_IN_TEXT.findall(entry.source)
        if not keys or any(key not in references() for key in keys):
            problems.append(f"{getattr(entry, 'code', type(entry).__name__)}: the source names no listed reference")
    if data.vasovagal.max_observation_minutes < 1:
        problems.append("vasovagal: max_observation_minutes must be at least 1")
    return problems


@cache
def packaged() -> ClinicSafety:
    """The packaged data file, read once."""
    return load(DATA_FILE)


def position_labels(codes: Iterable[str]) -> list[str]:
    """Positions as a clinician reads them, in the data file's order."""
    chosen = set(codes)
    return [p.label for p in packaged().positions if p.code in chosen]


def check_positions(codes: Sequence[str]) -> list[str]:
    """The positions as recorded (unique, known, in the list's order); raise ValueError naming an unknown one."""
    known = [p.code for p in packaged().positions]
    unknown = [c for c in codes if c not in known]
    if unknown:
        raise ValueError(f"Unknown position {', '.join(map(str, unknown))}; choose from the list.")
    return [c for c in known if c in set(codes)]


def all_lying(codes: Sequence[str]) -> bool:
    """Whether positions were recorded and every one is lying (supine, prone or side-lying)."""
    lying = {p.code for p in packaged().positions if p.lying}
    return bool(codes) and all(c in lying for c in codes)


def check_first_session(*, fainting_history: bool, first_needled_session: bool, positions: Sequence[str]) -> None:
    """Refuse (FirstSessionNotLying) the first needling session of a patient who has fainted before unless
    every recorded position is lying. Later sessions, and patients without the history, pass."""
    if not (fainting_history and first_needled_session) or all_lying(positions):
        return
    lying = ", ".join(p.label.lower() for p in packaged().positions if p.lying)
    recorded = ", ".join(position_labels(positions)).lower() or "no position recorded"
    raise FirstSessionNotLying(
        "This patient has fainted before and this is their first needling session: record the patient lying "
        f"down ({lying}) before needling or signing; now: {recorded}. "
        f"Source: {packaged().first_session.source}."
    )


def check_vasovagal(observed_minutes: Any, driving_advice_given: Any) -> list[str]:
    """Problems with a vasovagal event's after-care, or an empty list: minutes observed after recovery
    (a whole number from 1 to the data file's bound) and the driving advice, both required."""
    problems = [vasovagal_minutes_problem(observed_minutes), driving_advice_problem(driving_advice_given)]
    return [problem for problem in problems if problem]


def vasovagal_minutes_problem(observed_minutes: Any) -> str:
    """What is wrong with the minutes a fainted patient was observed after recovering, or ""."""
    rule = packaged().vasovagal
    minutes = observed_minutes if isinstance(observed_minutes, int) and not isinstance(observed_minutes, bool) else None
    if minutes is None or not 1 <= minutes <= rule.max_observation_minutes:
        return (
            f"Enter how many minutes the patient was observed after recovering (1 to {rule.max_observation_minutes})."
        )
    return ""


def driving_advice_problem(driving_advice_given: Any) -> str:
    """What is missing when the driving advice after fainting is not confirmed, or ""."""
    if driving_advice_given is not True:
        return f"Confirm the advice was given: {packaged().vasovagal.driving_advice}"
    return ""


def vasovagal_text(observed_minutes: int | None, driving_advice_given: bool) -> str:
    """The after-care of a vasovagal event as the note and the event page print it."""
    if observed_minutes is None:
        return ""
    advice = f" Advised: {packaged().vasovagal.driving_advice}" if driving_advice_given else ""
    return f"Observed {observed_minutes} min after recovery.{advice}"


def checklist_text(items: Sequence[str], gloves_worn: bool, by: str, at: str) -> str:
    """The clean-technique checklist as the note prints it, naming any item not confirmed."""
    done = set(items)
    parts = []
    for item in packaged().clean_technique:
        if item.code == "gloves":
            label = "gloves worn" if gloves_worn else "no gloves used"
        else:
            label = item.label[0].lower() + item.label[1:]
        parts.append(label if item.code in done else f"NOT CONFIRMED: {label}")
    return f"{'; '.join(parts)} (confirmed by {by}, {at})."


def all_checklist_codes() -> list[str]:
    """Every clean-technique item, for the one-click 'all done'."""
    return [i.code for i in packaged().clean_technique]


def check_checklist(items: Sequence[str]) -> list[str]:
    """The checklist items as recorded (known, unique, at least one); raise ValueError otherwise."""
    known = all_checklist_codes()
    unknown = [c for c in items if c not in known]
    if unknown:
        raise ValueError(f"Unknown checklist item {', '.join(map(str, unknown))}.")
    if not items:
        raise ValueError("Tick at least one item of the clean-technique checklist.")
    return [c for c in known if c in set(items)]


def needle_stick_steps_missing(
    *, wound_washed: bool, reported: bool, source_patient_named: bool, source_consent: str, pep_decision: str
) -> list[str]:
    """The protocol steps not yet recorded, by label (source-patient testing only when a source is named)."""
    done = {
        "wound_washed": wound_washed,
        "reported": reported,
        "source_testing": (not source_patient_named) or bool(source_consent),
        "pep_decision": bool(pep_decision),
    }
    return [step.label for step in packaged().needle_stick_protocol if not done.get(step.code, False)]
