"""Dry-needling safety screening: the items, and the rule that turns answers into a status.

Pure Python, no Django. The items (questions, absolute or relative class, what each finding means for
needling, sources) live in ``data/screening_items.json`` (each citing the project's references); this module
only reads them, checks the answers against them and decides the status:

- ``not_cleared``: at least one absolute contraindication that applies to the whole patient;
- ``cleared_with_precautions``: only relative contraindications, or absolute ones limited to a site
  (a lymphoedematous limb may not be needled, the rest of the patient may);
- ``cleared``: every answer is no.

Answers are one flat mapping: each item code maps to yes/no (``True``/``False`` or ``"yes"``/``"no"``), and
each detail field (``lymphoedema_side``, ``pregnancy_trimester``, ...) maps to its value. A detail is required
when its item is answered yes and must be absent when it is answered no; anything else is a contradiction.
The build is measured, not asked: ``height_cm`` and ``weight_kg`` in the same mapping, within plausibility
bounds, give the body-mass index (never typed). Two findings are derived rather than answered: ``low_bmi``
from the build (adults only) and ``child`` from the age at screening, which the caller passes in.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any, TypeGuard

from needlepoint.inputs import whole_number
from needlepoint.references import Reference, cited_keys, sort_key
from needlepoint.references import references as project_references

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

HEIGHT = "height_cm"
WEIGHT = "weight_kg"
MEASUREMENTS = (HEIGHT, WEIGHT)
LOW_BMI = "low_bmi"
CHILD = "child"
ADULT_AGE = 18


class ScreeningDataError(ValueError):
    """The screening data file is malformed; the message names the file and every problem found."""


class ScreeningAnswerError(ValueError):
    """The answers are incomplete, unknown or contradict each other.

    ``problems`` lists each message; ``by_field`` groups them by the answer they concern (an item code, a
    detail name, ``height_cm`` or ``weight_kg``) so that a form can show each one beside its question.
    """

    def __init__(self, problems: Sequence[str | tuple[str, str]]) -> None:
        pairs = [p if isinstance(p, tuple) else ("", p) for p in problems]
        self.problems: tuple[str, ...] = tuple(message for _, message in pairs)
        self.by_field: dict[str, list[str]] = {}
        for name, message in pairs:
            self.by_field.setdefault(name, []).append(message)
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
    value_type: str = "text"  # "integer": the finding carries the chosen value as a whole number (trimester)

    def choice(self, value: str) -> Choice | None:
        """The choice with this value, or None."""
        return next((c for c in self.choices if c.value == value), None)

    def typed(self, value: str) -> str | int:
        """The value as a finding carries it: a whole number for an integer detail, else the text."""
        return int(value) if self.value_type == "integer" else value


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
    section: str = ""

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
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def stops_needling(self) -> bool:
        """An absolute contraindication for the whole patient, not only for one site."""
        return self.contraindication == ABSOLUTE and self.scope == PATIENT_SCOPE


@dataclass(frozen=True)
class ScreeningResult:
    """The status of a screening and the findings that led to it."""

    status: str
    findings: tuple[Finding, ...]
    age_years: int | None = None
    bmi: float | None = None

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
    def from_record(
        cls,
        status: str,
        findings: Sequence[Mapping[str, Any]],
        age_years: int | None = None,
        bmi: float | None = None,
    ) -> ScreeningResult:
        """Rebuild a result from its stored form (status plus ``dataclasses.asdict`` of each finding).

        Screenings stored before the trimester became a whole number carry it as text ("2"); it is read
        back as the number, so every reader sees one form.
        """
        if status not in STATUSES:
            raise ValueError(f"Unknown screening status {status!r}; expected one of {', '.join(STATUSES)}.")
        try:
            rebuilt = tuple(Finding(**dict(f)) for f in findings)
        except TypeError as exc:
            raise ValueError(f"A stored screening finding does not match the Finding fields: {exc}") from exc
        rebuilt = tuple(_with_typed_details(f) for f in rebuilt)
        return cls(status=status, findings=rebuilt, age_years=age_years, bmi=bmi)


def _with_typed_details(finding: Finding) -> Finding:
    integer_details = {
        d.name
        for item in screening_items()
        if item.code == finding.code
        for d in item.details
        if d.value_type == "integer"
    }
    if not integer_details:
        return finding
    details = dict(finding.details)
    for name in integer_details:
        value = details.get(name)
        if isinstance(value, str) and whole_number(value) is not None:
            details[name] = whole_number(value)
    return replace(finding, details=details)


@dataclass(frozen=True)
class DerivedItem:
    """A finding that is never asked: worked out from the build (``low_bmi``) or the age (``child``)."""

    code: str
    label: str
    derived_from: str  # "build" or "age"
    contraindication: str
    scope: str
    needling: str
    source: str
    unverified: bool
    note: str


@dataclass(frozen=True)
class Section:
    """A group of questions in the form, each with its own "None of these apply"."""

    code: str
    title: str


@dataclass(frozen=True)
class BuildRules:
    """Plausibility bounds of the measured build, and the BMI below which an adult's build is thin."""

    height_cm: tuple[float, float]
    weight_kg: tuple[float, float]
    bmi_bounds: tuple[float, float]
    low_bmi_threshold: float
    labels: dict[str, str]
    note: str
    low_bmi_why: str


@dataclass(frozen=True)
class ScreeningData:
    """Everything the data file defines: questions, sections, derived findings, build rules, references."""

    items: tuple[ScreeningItem, ...]
    sections: tuple[Section, ...]
    derived: tuple[DerivedItem, ...]
    build: BuildRules
    # The project's references the file's questions and findings cite, in the references page's order.
    references: tuple[Reference, ...]


# --- loading the data file -------------------------------------------------------------------------


def load_screening_data(path: Path = DATA_FILE) -> ScreeningData:
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
    sections = _parse_sections(raw.get("sections", []), problems)
    section_codes = {s.code for s in sections}
    if sections:
        for item in items:
            if item is not None and item.section not in section_codes:
                problems.append(f"item {item.code}: section must be one of {', '.join(sorted(section_codes))}.")
    derived = tuple(_parse_derived(entry, problems) for entry in raw.get("derived", []))
    build = _parse_build(raw, problems)
    problems.extend(_duplicate_names(items, [d for d in derived if d is not None]))
    references, unknown = _cited_references(items, [d for d in derived if d is not None])
    problems.extend(unknown)
    if problems:
        raise ScreeningDataError(f"{path}: invalid screening items:\n- " + "\n- ".join(problems))
    return ScreeningData(
        items=tuple(item for item in items if item is not None),
        sections=sections,
        derived=tuple(d for d in derived if d is not None),
        build=build,
        references=references,
    )


def load_screening_items(path: Path = DATA_FILE) -> tuple[ScreeningItem, ...]:
    """The questions of a screening data file (validated as a whole)."""
    return load_screening_data(path).items


@cache
def screening_data() -> ScreeningData:
    """The packaged screening data file."""
    return load_screening_data(DATA_FILE)


def screening_items() -> tuple[ScreeningItem, ...]:
    """The questions put to the patient, in form order (derived findings and the build are not among them)."""
    return screening_data().items


def screening_sections() -> tuple[Section, ...]:
    """The form's sections, in order."""
    return screening_data().sections


def derived_items() -> tuple[DerivedItem, ...]:
    """The findings worked out rather than asked (``low_bmi``, ``child``)."""
    return screening_data().derived


def build_rules() -> BuildRules:
    """The bounds of height, weight and BMI, and the low-BMI threshold."""
    return screening_data().build


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
        unverified=entry.get("unverified"),  # type: ignore[arg-type]  # the raw value, checked by the item checks
        note=entry.get("note", ""),
        section=entry.get("section", ""),
    )
    item_problems.extend(_item_problems(item))
    problems.extend(f"{where}: {p}" for p in item_problems)
    return item


def _parse_sections(raw: object, problems: list[str]) -> tuple[Section, ...]:
    if not isinstance(raw, list) or not all(_has_text(s, "code", "title") for s in raw):
        problems.append("'sections' must be a list of objects with a 'code' and a 'title'.")
        return ()
    return tuple(Section(s["code"], s["title"]) for s in raw)


def _parse_derived(raw: object, problems: list[str]) -> DerivedItem | None:
    keys = ("code", "label", "derived_from", "contraindication", "scope", "needling", "source")
    if not _has_text(raw, *keys):
        problems.append(f"each derived item needs {', '.join(keys)}.")
        return None
    assert isinstance(raw, dict)
    item = DerivedItem(
        code=raw["code"],
        label=raw["label"],
        derived_from=raw["derived_from"],
        contraindication=raw["contraindication"],
        scope=raw["scope"],
        needling=raw["needling"],
        source=raw["source"],
        unverified=raw.get("unverified", False),
        note=raw.get("note", ""),
    )
    known = {LOW_BMI: "build", CHILD: "age"}
    if known.get(item.code) != item.derived_from:
        problems.append(f"derived item {item.code}: only low_bmi (from build) and child (from age) are derived.")
    if item.contraindication not in (ABSOLUTE, RELATIVE) or item.scope not in (PATIENT_SCOPE, SITE_SCOPE):
        problems.append(f"derived item {item.code}: contraindication and scope as for the questions.")
    if not _SOURCE_KEY.search(item.source):
        problems.append(f"derived item {item.code}: source must cite a reference key such as [S7].")
    if not isinstance(item.unverified, bool) or (item.unverified and not str(item.note).strip()):
        problems.append(f"derived item {item.code}: unverified must be true or false, with a note when true.")
    return item


def _parse_build(raw: dict[str, Any], problems: list[str]) -> BuildRules:
    measurements = raw.get("measurements") or {}
    low_bmi = raw.get("low_bmi") or {}
    try:
        bounds = {
            name: (float(measurements[name]["minimum"]), float(measurements[name]["maximum"])) for name in MEASUREMENTS
        }
        bmi_bounds = (float(measurements["bmi_minimum"]), float(measurements["bmi_maximum"]))
        threshold = float(low_bmi["threshold"])
        labels = {name: str(measurements[name]["label"]) for name in MEASUREMENTS}
    except (KeyError, TypeError, ValueError):
        problems.append(
            "'measurements' needs height_cm and weight_kg (label, minimum, maximum), bmi_minimum and "
            "bmi_maximum; 'low_bmi' needs a threshold."
        )
        return BuildRules((0, 0), (0, 0), (0, 0), 0, {}, "", "")
    if any(low >= high for low, high in (*bounds.values(), bmi_bounds)):
        problems.append("each measurement's minimum must be below its maximum.")
    if not _SOURCE_KEY.search(str(low_bmi.get("source", ""))):
        problems.append("'low_bmi' must cite the source of its threshold, such as [S7].")
    return BuildRules(
        height_cm=bounds[HEIGHT],
        weight_kg=bounds[WEIGHT],
        bmi_bounds=bmi_bounds,
        low_bmi_threshold=threshold,
        labels=labels,
        note=str(measurements.get("note", "")),
        low_bmi_why=str(low_bmi.get("why", "")),
    )


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
        problems.append("source must cite a key of the project's references such as [S7].")
    if not isinstance(item.unverified, bool):
        problems.append("unverified must be true or false.")
    elif item.unverified and not (isinstance(item.note, str) and item.note.strip()):
        problems.append("an unverified item needs a note saying what is unverified.")
    if "{" in item.needling or "}" in item.needling:
        problems.append("'needling' is plain text; detail values are added to the message by the rules.")
    if "unverified" in item.question.lower():
        problems.append("the question is read by the patient: unverified marks belong in the note.")
    return problems


def _parse_detail(raw: object, problems: list[str]) -> DetailField | None:
    if not _has_text(raw, "name", "label"):
        problems.append("each detail needs a 'name' and a 'label'.")
        return None
    kind = raw.get("kind")
    value_type = raw.get("value_type", "text")
    choices = tuple(_parse_choice(c, raw["name"], problems) for c in raw.get("choices", []))
    detail = DetailField(
        raw["name"], raw["label"], str(kind), tuple(c for c in choices if c is not None), str(value_type)
    )
    if kind not in ("choice", "text"):
        problems.append(f"detail {detail.name}: kind must be 'choice' or 'text'.")
    elif kind == "choice" and not detail.choices:
        problems.append(f"detail {detail.name}: a choice detail needs choices.")
    elif kind == "text" and detail.choices:
        problems.append(f"detail {detail.name}: a text detail cannot have choices.")
    values = [c.value for c in detail.choices]
    if len(values) != len(set(values)):
        problems.append(f"detail {detail.name}: choice values must be unique.")
    if value_type not in ("text", "integer"):
        problems.append(f"detail {detail.name}: value_type must be 'text' or 'integer'.")
    elif value_type == "integer" and (kind != "choice" or not all(v.isdigit() for v in values)):
        problems.append(f"detail {detail.name}: an integer detail is a choice of whole numbers.")
    return detail


def _parse_choice(raw: object, detail_name: str, problems: list[str]) -> Choice | None:
    if not _has_text(raw, "value", "label"):
        problems.append(f"detail {detail_name}: each choice needs a string 'value' and 'label'.")
        return None
    unverified = raw.get("unverified", False)
    if not isinstance(unverified, bool):
        problems.append(f"detail {detail_name}: choice 'unverified' must be true or false.")
    return Choice(raw["value"], raw["label"], raw.get("note", ""), bool(unverified))


def _has_text(raw: object, *keys: str) -> TypeGuard[dict[str, Any]]:
    return isinstance(raw, dict) and all(isinstance(raw.get(k), str) and raw[k].strip() for k in keys)


def _duplicate_names(items: Sequence[ScreeningItem | None], derived: Sequence[DerivedItem] = ()) -> list[str]:
    # Item codes, detail names and the measurements share one flat answer mapping (and derived codes share
    # the findings), so they must all be distinct.
    names = [n for item in items if item for n in (item.code, *(d.name for d in item.details))]
    names += [d.code for d in derived] + list(MEASUREMENTS)
    duplicates = sorted({n for n in names if names.count(n) > 1})
    return [f"name used more than once: {n}" for n in duplicates]


def _cited_references(
    items: Sequence[ScreeningItem | None], derived: Sequence[DerivedItem]
) -> tuple[tuple[Reference, ...], list[str]]:
    # Every key a source cites must be in the project's references file, so that the clinician's source view can
    # always show the full reference; the keys found are returned as the references of this file.
    cited = cited_keys([], source_fields=[*(i.source for i in items if i), *(d.source for d in derived)])
    known = project_references()
    problems = [f"reference {key} is cited but not in the project's references." for key in sorted(cited - set(known))]
    return tuple(known[key] for key in sorted(cited & set(known), key=sort_key)), problems


# --- evaluating answers ----------------------------------------------------------------------------


def evaluate_screening(
    answers: Mapping[str, object],
    items: Sequence[ScreeningItem] | None = None,
    *,
    age_years: int | None = None,
) -> ScreeningResult:
    """Decide the screening status from the answers, or raise ScreeningAnswerError listing every problem.

    Every item must be answered; details follow their item (required on yes, absent on no); unknown keys
    are refused so that a renamed question is never silently ignored. Height and weight, when given, must
    both be given and plausible; they give the BMI and, for an adult, the ``low_bmi`` finding. ``age_years``
    (from the date of birth, on the day of screening) is kept in the result and gives the ``child`` finding.
    Whether the build is required is the recording action's rule, not this function's.
    """
    items = screening_items() if items is None else items
    problems: list[tuple[str, str]] = _unknown_keys(answers, items)
    findings = []
    for item in items:
        finding = _evaluate_item(item, answers, problems)
        if finding is not None:
            findings.append(finding)
    bmi = _bmi(answers, problems)
    if age_years is not None and (isinstance(age_years, bool) or not isinstance(age_years, int) or age_years < 0):
        problems.append(("age_years", f"The age at screening must be a whole number of years, not {age_years!r}."))
    if problems:
        raise ScreeningAnswerError(problems)
    findings.extend(_derived_findings(bmi, age_years))
    return ScreeningResult(status=_status(findings), findings=tuple(findings), age_years=age_years, bmi=bmi)


def _unknown_keys(answers: Mapping[str, object], items: Sequence[ScreeningItem]) -> list[tuple[str, str]]:
    known = {n for item in items for n in (item.code, *(d.name for d in item.details))} | set(MEASUREMENTS)
    derived = {d.code: d for d in derived_items()}
    problems = []
    for key in answers:
        if key in derived:
            source = "height and weight" if derived[key].derived_from == "build" else "the date of birth"
            problems.append((key, f"{derived[key].label} ({key}) is worked out from {source}, not answered."))
        elif key not in known:
            problems.append((key, f"Unknown screening answer {key!r}."))
    return problems


def _bmi(answers: Mapping[str, object], problems: list[tuple[str, str]]) -> float | None:
    rules = build_rules()
    given = {name: answers.get(name) for name in MEASUREMENTS if _given(answers.get(name))}
    if not given:
        return None
    values: dict[str, float] = {}
    for name, (low, high) in ((HEIGHT, rules.height_cm), (WEIGHT, rules.weight_kg)):
        label = rules.labels.get(name, name)
        if name not in given:
            other = rules.labels.get(WEIGHT if name == HEIGHT else HEIGHT, "")
            problems.append((name, f"{label} is missing: the BMI needs both height and weight ({other} given)."))
            continue
        number = _number(given[name])
        if number is None:
            problems.append((name, f"{label} must be a number, not {given[name]!r}."))
        elif not low <= number <= high:
            problems.append((name, f"{label} {number:g} is outside {low:g}-{high:g}; check the value and its unit."))
        else:
            values[name] = number
    if len(values) < 2:
        return None
    bmi = values[WEIGHT] / (values[HEIGHT] / 100) ** 2
    low, high = rules.bmi_bounds
    if not low <= bmi <= high:
        problems.append(
            (
                HEIGHT,
                f"Height {values[HEIGHT]:g} cm and weight {values[WEIGHT]:g} kg give a BMI of {bmi:.1f}, outside "
                f"{low:g}-{high:g}: check both values and their units.",
            )
        )
        return None
    return round(bmi, 1)


def _number(value: object) -> float | None:
    # bool first: True is an int, and a yes is not a height.
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str):
        try:
            number = float(value.strip().replace(",", "."))
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    if isinstance(value, Decimal):  # from a form
        return float(value) if value.is_finite() else None
    return None


def _derived_findings(bmi: float | None, age_years: int | None) -> list[Finding]:
    rules = build_rules()
    derived = {d.code: d for d in derived_items()}
    found = []
    # The WHO cut-off is for adults; without an age the screening is taken to be an adult's.
    adult = age_years is None or age_years >= ADULT_AGE
    if bmi is not None and adult and bmi < rules.low_bmi_threshold and LOW_BMI in derived:
        item = derived[LOW_BMI]
        message = f"{item.label} (BMI {bmi:.1f}, below {rules.low_bmi_threshold:g}): {item.needling}"
        found.append(_derived_finding(item, message, {"bmi": bmi}))
    if age_years is not None and age_years < ADULT_AGE and CHILD in derived:
        item = derived[CHILD]
        message = f"{item.label} ({age_years} years): {item.needling}"
        found.append(_derived_finding(item, message, {"age_years": age_years}))
    return found


def _derived_finding(item: DerivedItem, message: str, details: dict[str, Any]) -> Finding:
    return Finding(
        code=item.code,
        contraindication=item.contraindication,
        scope=item.scope,
        message=message,
        source=item.source,
        unverified=item.unverified,
        note=item.note,
        details=details,
    )


def _evaluate_item(
    item: ScreeningItem, answers: Mapping[str, object], problems: list[tuple[str, str]]
) -> Finding | None:
    answer = _yes_no(item, answers.get(item.code), problems)
    if answer is None:
        for detail in item.details:
            if _given(answers.get(detail.name)):
                problems.append(
                    (
                        detail.name,
                        f"{item.label}: “{detail.label}” is answered but the question itself is not.",
                    )
                )
        return None
    if not answer:
        for detail in item.details:
            if _given(answers.get(detail.name)):
                problems.append(
                    (
                        detail.name,
                        f"{item.label} is answered no, but “{detail.label}” is answered "
                        f"({answers.get(detail.name)!s}): the answers contradict each other.",
                    )
                )
        return None
    chosen = [_detail_value(item, d, answers.get(d.name), problems) for d in item.details]
    given = [value for value in chosen if value is not None]
    if len(given) < len(chosen):
        return None
    return _finding(item, dict(zip((d.name for d in item.details), given, strict=True)))


def _yes_no(item: ScreeningItem, value: object, problems: list[tuple[str, str]]) -> bool | None:
    # bool first: 1 and 0 compare equal to True and False, and a number is not an answer to a question.
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("yes", "no"):
        return value.strip().lower() == "yes"
    if value is None:
        problems.append((item.code, f"No answer to {item.label} ({item.code})."))
    else:
        problems.append((item.code, f"The answer to {item.label} ({item.code}) must be yes or no, not {value!r}."))
    return None


def _given(value: object) -> bool:
    return value is not None and not (isinstance(value, str) and not value.strip())


def _detail_value(
    item: ScreeningItem, detail: DetailField, value: object, problems: list[tuple[str, str]]
) -> str | None:
    if not _given(value):
        problems.append((detail.name, f"{item.label} is answered yes but “{detail.label}” is missing ({detail.name})."))
        return None
    if detail.kind == "text":
        if isinstance(value, str):
            return value.strip()
        problems.append((detail.name, f"{item.label}: “{detail.label}” must be text, not {value!r}."))
        return None
    # A form may send the trimester as the number 2 rather than "2"; both mean the same choice.
    text = str(value).strip() if isinstance(value, str | int) and not isinstance(value, bool) else None
    if text is None or detail.choice(text) is None:
        allowed = ", ".join(c.value for c in detail.choices)
        problems.append(
            (detail.name, f"{item.label}: “{detail.label}” ({detail.name}) must be one of {allowed}, not {value!r}.")
        )
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
        details={d.name: d.typed(details[d.name]) for d in item.details},
    )


def _status(findings: Sequence[Finding]) -> str:
    if any(f.stops_needling for f in findings):
        return NOT_CLEARED
    return CLEARED_WITH_PRECAUTIONS if findings else CLEARED
