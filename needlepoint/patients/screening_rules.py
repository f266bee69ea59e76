"""Dry-needling safety screening: the items, and the rule that turns answers into a status.

Pure Python, no Django. The items (questions, absolute or relative class, what each finding means for
needling, sources) live in ``data/screening_items.json`` (clinical.md §B); this module only reads them,
checks the answers against them and decides the status:

- ``not_cleared``: at least one absolute contraindication that applies to the whole patient;
- ``cleared_with_precautions``: only relative contraindications, or absolute ones limited to a site
  (a lymphoedematous limb may not be needled, the rest of the patient may);
- ``cleared``: every answer is no.

Answers are one flat mapping: each item code maps to yes/no (``True``/``False`` or ``"yes"``/``"no"``), and
each detail field (``lymphoedema_side``, ``pregnancy_trimester``, ...) maps to its value. A detail is required
when its item is answered yes and must be absent when it is answered no; anything else is a contradiction.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

DATA_FILE = Path(__file__).parent / "data" / "screening_items.json"

CLEARED = "cleared"
CLEARED_WITH_PRECAUTIONS = "cleared_with_precautions"
NOT_CLEARED = "not_cleared"
STATUSES = (CLEARED, CLEARED_WITH_PRECAUTIONS, NOT_CLEARED)

ABSOLUTE = "absolute"
RELATIVE = "relative"
PATIENT_SCOPE = "patient"
SITE_SCOPE = "site"

_SOURCE_KEY = re.compile(r"\[(S|T)\d+")
_CODE = re.compile(r"^[a-z][a-z0-9_]*$")


class ScreeningDataError(ValueError):
    """The screening data file is malformed; the message names the file and every problem found."""


class ScreeningAnswerError(ValueError):
    """The answers are incomplete, unknown or contradict each other; ``problems`` lists each one."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems: tuple[str, ...] = tuple(problems)
        super().__init__("Screening answers cannot be evaluated:\n- " + "\n- ".join(self.problems))


@dataclass(frozen=True)
class Choice:
    """One allowed value of a choice detail, with the words used in messages."""

    value: str
    label: str
    note: str = ""
    unverified: bool = False


@dataclass(frozen=True)
class DetailField:
    """An extra answer asked only when its item is answered yes (side, trimester, device...)."""

    name: str
    label: str
    kind: str  # "choice" or "text"
    choices: tuple[Choice, ...] = ()

    def choice(self, value: str) -> Choice | None:
        """The choice with this value, or None."""
        return next((c for c in self.choices if c.value == value), None)


@dataclass(frozen=True)
class ScreeningItem:
    """One screening question with its class, scope, meaning for needling and source."""

    code: str
    label: str
    question: str
    contraindication: str
    scope: str
    details: tuple[DetailField, ...]
    needling: str
    source: str
    unverified: bool
    note: str

    @property
    def kind(self) -> str:
        """``yes_no``, or ``yes_no_with_details`` when a yes needs further answers."""
        return "yes_no_with_details" if self.details else "yes_no"


@dataclass(frozen=True)
class Finding:
    """A yes answer and what it means: stored with the screening, shown to the clinician."""

    code: str
    contraindication: str
    scope: str
    message: str
    source: str
    unverified: bool = False
    note: str = ""
    details: dict[str, str] = field(default_factory=dict)

    @property
    def stops_needling(self) -> bool:
        """An absolute contraindication for the whole patient, not only for one site."""
        return self.contraindication == ABSOLUTE and self.scope == PATIENT_SCOPE


@dataclass(frozen=True)
class ScreeningResult:
    """The status of a screening and the findings that led to it."""

    status: str
    findings: tuple[Finding, ...]

    @property
    def absolute_findings(self) -> tuple[Finding, ...]:
        """Absolute contraindications that apply to the whole patient (they stop all needling)."""
        return tuple(f for f in self.findings if f.stops_needling)

    @property
    def precautions(self) -> tuple[Finding, ...]:
        """Everything else found: relative contraindications and site-limited absolute ones."""
        return tuple(f for f in self.findings if not f.stops_needling)

    def finding(self, code: str) -> Finding | None:
        """The finding for an item code, or None if that item was answered no."""
        return next((f for f in self.findings if f.code == code), None)

    @classmethod
    def from_record(cls, status: str, findings: Sequence[Mapping[str, Any]]) -> ScreeningResult:
        """Rebuild a result from its stored form (status plus ``dataclasses.asdict`` of each finding)."""
        if status not in STATUSES:
            raise ValueError(f"Unknown screening status {status!r}; expected one of {', '.join(STATUSES)}.")
        try:
            return cls(status=status, findings=tuple(Finding(**dict(f)) for f in findings))
        except TypeError as exc:
            raise ValueError(f"A stored screening finding does not match the Finding fields: {exc}") from exc


# --- loading the data file -------------------------------------------------------------------------


def load_screening_items(path: Path = DATA_FILE) -> tuple[ScreeningItem, ...]:
    """Read and validate a screening data file; raise ScreeningDataError listing every problem."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ScreeningDataError(f"{path}: cannot be read as JSON: {exc}") from exc
    entries = raw.get("items") if isinstance(raw, dict) else None
    if not isinstance(entries, list) or not entries:
        raise ScreeningDataError(f"{path}: expected an object with a non-empty 'items' list.")
    problems: list[str] = []
    items = [_parse_item(entry, index, problems) for index, entry in enumerate(entries)]
    problems.extend(_duplicate_names(items))
    if problems:
        raise ScreeningDataError(f"{path}: invalid screening items:\n- " + "\n- ".join(problems))
    return tuple(item for item in items if item is not None)


@cache
def screening_items() -> tuple[ScreeningItem, ...]:
    """The screening items from the packaged data file, in form order (for the form builder)."""
    return load_screening_items(DATA_FILE)


def _parse_item(entry: object, index: int, problems: list[str]) -> ScreeningItem | None:
    where = f"item {index + 1}"
    if not isinstance(entry, dict):
        problems.append(f"{where}: expected an object.")
        return None
    where = f"item {index + 1} ({entry.get('code', '?')})"
    text_keys = ("code", "label", "question", "needling", "source")
    missing = [k for k in text_keys if not isinstance(entry.get(k), str) or not entry[k].strip()]
    if missing:
        problems.append(f"{where}: missing or empty {', '.join(missing)}.")
        return None
    item_problems: list[str] = []
    raw_details = _as_list(entry.get("details"), item_problems)
    details = tuple(_parse_detail(d, item_problems) for d in raw_details)
    item = ScreeningItem(
        code=entry["code"],
        label=entry["label"],
        question=entry["question"],
        contraindication=entry.get("contraindication", ""),
        scope=entry.get("scope", ""),
        details=tuple(d for d in details if d is not None),
        needling=entry["needling"],
        source=entry["source"],
        unverified=entry.get("unverified"),  # type: ignore[arg-type]  # checked below
        note=entry.get("note", ""),
    )
    item_problems.extend(_item_problems(item))
    problems.extend(f"{where}: {p}" for p in item_problems)
    return item


def _as_list(value: object, problems: list[str]) -> list[object]:
    if not isinstance(value, list):
        problems.append("'details' must be a list (empty for a plain yes/no question).")
        return []
    return value


def _item_problems(item: ScreeningItem) -> list[str]:
    problems = []
    if not _CODE.match(item.code):
        problems.append("code must be lower_snake_case.")
    if item.contraindication not in (ABSOLUTE, RELATIVE):
        problems.append(f"contraindication must be '{ABSOLUTE}' or '{RELATIVE}'.")
    if item.scope not in (PATIENT_SCOPE, SITE_SCOPE):
        problems.append(f"scope must be '{PATIENT_SCOPE}' or '{SITE_SCOPE}'.")
    if not _SOURCE_KEY.search(item.source):
        problems.append("source must cite a clinical.md key such as [S7].")
    if not isinstance(item.unverified, bool):
        problems.append("unverified must be true or false.")
    elif item.unverified and not (isinstance(item.note, str) and item.note.strip()):
        problems.append("an unverified item needs a note saying what is unverified.")
    if "{" in item.needling or "}" in item.needling:
        problems.append("'needling' is plain text; detail values are added to the message by the rules.")
    return problems


def _parse_detail(raw: object, problems: list[str]) -> DetailField | None:
    if not _has_text(raw, "name", "label"):
        problems.append("each detail needs a 'name' and a 'label'.")
        return None
    kind = raw.get("kind")
    choices = tuple(_parse_choice(c, raw["name"], problems) for c in raw.get("choices", []))
    detail = DetailField(raw["name"], raw["label"], str(kind), tuple(c for c in choices if c is not None))
    if kind not in ("choice", "text"):
        problems.append(f"detail {detail.name}: kind must be 'choice' or 'text'.")
    elif kind == "choice" and not detail.choices:
        problems.append(f"detail {detail.name}: a choice detail needs choices.")
    elif kind == "text" and detail.choices:
        problems.append(f"detail {detail.name}: a text detail cannot have choices.")
    values = [c.value for c in detail.choices]
    if len(values) != len(set(values)):
        problems.append(f"detail {detail.name}: choice values must be unique.")
    return detail


def _parse_choice(raw: object, detail_name: str, problems: list[str]) -> Choice | None:
    if not _has_text(raw, "value", "label"):
        problems.append(f"detail {detail_name}: each choice needs a string 'value' and 'label'.")
        return None
    unverified = raw.get("unverified", False)
    if not isinstance(unverified, bool):
        problems.append(f"detail {detail_name}: choice 'unverified' must be true or false.")
    return Choice(raw["value"], raw["label"], raw.get("note", ""), bool(unverified))


def _has_text(raw: object, *keys: str) -> bool:
    return isinstance(raw, dict) and all(isinstance(raw.get(k), str) and raw[k].strip() for k in keys)


def _duplicate_names(items: Sequence[ScreeningItem | None]) -> list[str]:
    # Item codes and detail names share one flat answer mapping, so they must all be distinct.
    names = [n for item in items if item for n in (item.code, *(d.name for d in item.details))]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    return [f"name used more than once: {n}" for n in duplicates]


# --- evaluating answers ----------------------------------------------------------------------------


def evaluate_screening(answers: Mapping[str, object], items: Sequence[ScreeningItem] | None = None) -> ScreeningResult:
    """Decide the screening status from the answers, or raise ScreeningAnswerError listing every problem.

    Every item must be answered; details follow their item (required on yes, absent on no); unknown keys
    are refused so that a renamed question is never silently ignored.
    """
    items = screening_items() if items is None else items
    problems = _unknown_keys(answers, items)
    findings = []
    for item in items:
        finding = _evaluate_item(item, answers, problems)
        if finding is not None:
            findings.append(finding)
    if problems:
        raise ScreeningAnswerError(problems)
    return ScreeningResult(status=_status(findings), findings=tuple(findings))


def _unknown_keys(answers: Mapping[str, object], items: Sequence[ScreeningItem]) -> list[str]:
    known = {n for item in items for n in (item.code, *(d.name for d in item.details))}
    return [f"Unknown screening answer {key!r}." for key in answers if key not in known]


def _evaluate_item(item: ScreeningItem, answers: Mapping[str, object], problems: list[str]) -> Finding | None:
    answer = _yes_no(item, answers.get(item.code), problems)
    if answer is None:
        for detail in item.details:
            if _given(answers.get(detail.name)):
                problems.append(
                    f"{detail.label} ({detail.name}) is given but {item.label} ({item.code}) is not answered."
                )
        return None
    if not answer:
        for detail in item.details:
            if _given(answers.get(detail.name)):
                problems.append(
                    f"{detail.label} ({detail.name}) is given but {item.label} ({item.code}) is answered no: "
                    "the answers contradict each other."
                )
        return None
    chosen = [_detail_value(item, d, answers.get(d.name), problems) for d in item.details]
    if any(value is None for value in chosen):
        return None
    return _finding(item, dict(zip((d.name for d in item.details), chosen, strict=True)))  # type: ignore[arg-type]


def _yes_no(item: ScreeningItem, value: object, problems: list[str]) -> bool | None:
    # bool first: 1 and 0 compare equal to True and False, and a number is not an answer to a question.
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("yes", "no"):
        return value.strip().lower() == "yes"
    if value is None:
        problems.append(f"No answer to {item.label} ({item.code}).")
    else:
        problems.append(f"The answer to {item.label} ({item.code}) must be yes or no, not {value!r}.")
    return None


def _given(value: object) -> bool:
    return value is not None and not (isinstance(value, str) and not value.strip())


def _detail_value(item: ScreeningItem, detail: DetailField, value: object, problems: list[str]) -> str | None:
    if not _given(value):
        problems.append(f"{item.label} ({item.code}) is answered yes but {detail.label} ({detail.name}) is missing.")
        return None
    if detail.kind == "text":
        if isinstance(value, str):
            return value.strip()
        problems.append(f"{detail.label} ({detail.name}) must be text, not {value!r}.")
        return None
    # A form may send the trimester as the number 2 rather than "2"; both mean the same choice.
    text = str(value).strip() if isinstance(value, str | int) and not isinstance(value, bool) else None
    if text is None or detail.choice(text) is None:
        allowed = ", ".join(c.value for c in detail.choices)
        problems.append(f"{detail.label} ({detail.name}) must be one of {allowed}, not {value!r}.")
        return None
    return text


def _finding(item: ScreeningItem, details: dict[str, str]) -> Finding:
    chosen = [(d.choice(details[d.name]), details[d.name]) for d in item.details]
    shown = ", ".join(c.label if c else value for c, value in chosen)
    heading = f"{item.label} ({shown})" if shown else item.label
    choice_notes = [c.note for c, _ in chosen if c and c.note]
    message = " ".join([f"{heading}: {item.needling}", *choice_notes])
    unverified_notes = [c.note for c, _ in chosen if c and c.unverified]
    return Finding(
        code=item.code,
        contraindication=item.contraindication,
        scope=item.scope,
        message=message,
        source=item.source,
        unverified=item.unverified or bool(unverified_notes),
        note=" ".join(n for n in (item.note, *unverified_notes) if n),
        details=details,
    )


def _status(findings: Sequence[Finding]) -> str:
    if any(f.stops_needling for f in findings):
        return NOT_CLEARED
    return CLEARED_WITH_PRECAUTIONS if findings else CLEARED
