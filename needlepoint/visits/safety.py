"""Needling safety warnings, checked when a needling entry is made and again at signing.

Pure Python, no Django. The callers pass in what the rules need: the planned needling, the hazard data of
each muscle (from the atlas data file) and flags derived from the patient's current screening. The words
and sources of each warning live in ``data/safety_rules.json``; which warnings are refusals is decided here,
because it is a product rule: a warning can be acknowledged with a reason to proceed, a refusal cannot.

Refusals: no current screening, no current consent, an absolute contraindication that applies to the
whole patient, and electrical stimulation with an implanted electronic device (the precaution for such a
device is "no electrical stimulation" [S12], so there is nothing to weigh).

Lymphoedema on the needled side is a warning, not a refusal, although needling a lymphoedematous limb is
absolute [S8, S9]: the screening records only the side, and a muscle on that side (the left piriformis when
the left arm is swollen) is often outside the affected limb. The clinician acknowledges that it is.
"""

from __future__ import annotations

import json
import re
import string
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from needlepoint.patients.screening_rules import NOT_CLEARED, ScreeningResult

DATA_FILE = Path(__file__).parent / "data" / "safety_rules.json"

WARNING = "warning"
REFUSAL = "refusal"

SIDES = frozenset({"left", "right", "both"})
HAZARD_KINDS = frozenset({"pneumothorax", "nerve_vessel", "organ", "low"})

# Each rule's severity. A product decision (see the module docstring), so it is code, not data.
RULE_SEVERITY: dict[str, str] = {
    "no_screening": REFUSAL,
    "no_consent": REFUSAL,
    "absolute_contraindication": REFUSAL,
    "estim_implanted_device": REFUSAL,
    "ptx_depth": WARNING,
    "ptx_unverified_depth": WARNING,
    "bilateral_thorax": WARNING,
    "lymphoedema_side": WARNING,
    "bleeding_risk": WARNING,
    "nerve_vessel": WARNING,
    "organ": WARNING,
    "estim_pregnancy": WARNING,
}

_TEMPLATE_FIELDS = frozenset(
    {"muscle", "side", "length", "depth", "depth_source", "structures", "note", "muscles"}
    | {"lymphoedema_side", "items"}
)
_SOURCE_KEY = re.compile(r"\[(S|T)\d+|§")
_SIDE_WORDS = {"left": "left side", "right": "right side", "both": "both sides"}


class SafetyDataError(ValueError):
    """The safety rules data file is malformed; the message names the file and every problem."""


@dataclass(frozen=True)
class PlannedNeedling:
    """One muscle to be needled (or needled) in a visit, with what the safety rules need to know."""

    muscle_id: str
    side: str  # "left", "right" or "both"
    needle_length_mm: float
    electrical_stimulation: bool = False

    def __post_init__(self) -> None:
        # Django DecimalFields hand over Decimals; the rules compare plain floats.
        if isinstance(self.needle_length_mm, Decimal):
            object.__setattr__(self, "needle_length_mm", float(self.needle_length_mm))
        if self.side not in SIDES:
            raise ValueError(f"Side must be one of {', '.join(sorted(SIDES))}, not {self.side!r}.")
        if not _positive_number(self.needle_length_mm):
            raise ValueError(f"Needle length must be a positive number of millimetres, not {self.needle_length_mm!r}.")

    @property
    def sides(self) -> frozenset[str]:
        """The body sides this entry touches: "both" is left and right."""
        return _expand(self.side)


@dataclass(frozen=True)
class MuscleHazard:
    """The hazard block of one atlas muscle: what lies under it and how deep a needle may safely go."""

    muscle_id: str
    name: str
    kinds: frozenset[str]
    over_thorax: bool
    safe_depth_mm: float | None
    safe_depth_source: str = ""
    structures: tuple[str, ...] = ()
    note: str = ""

    def __post_init__(self) -> None:
        # Data files give lists; freeze them so a hazard can be shared and hashed safely.
        object.__setattr__(self, "kinds", frozenset(self.kinds))
        object.__setattr__(self, "structures", tuple(self.structures))
        if isinstance(self.safe_depth_mm, Decimal):
            object.__setattr__(self, "safe_depth_mm", float(self.safe_depth_mm))
        unknown = self.kinds - HAZARD_KINDS
        if unknown:
            allowed = ", ".join(sorted(HAZARD_KINDS))
            raise ValueError(f"{self.name}: unknown hazard kinds {sorted(unknown)}; use {allowed}.")
        depth = self.safe_depth_mm
        if depth is not None and not _positive_number(depth):
            raise ValueError(f"{self.name}: safe depth must be a positive number of millimetres or null.")
        if depth is not None and not self.safe_depth_source.strip():
            raise ValueError(f"{self.name}: a safe depth needs its source.")

    @property
    def pneumothorax(self) -> bool:
        """Whether a needle here can reach the pleura or lung."""
        return "pneumothorax" in self.kinds

    @classmethod
    def from_mapping(cls, muscle_id: str, name: str, hazard: Mapping[str, Any]) -> MuscleHazard:
        """Build from an atlas hazard block; raise ValueError naming the muscle and any missing key."""
        required = ("kinds", "over_thorax", "safe_depth_mm")
        missing = [key for key in required if key not in hazard]
        if missing:
            raise ValueError(f"{name} ({muscle_id}): hazard block lacks {', '.join(missing)}.")
        return cls(
            muscle_id=muscle_id,
            name=name,
            kinds=frozenset(hazard["kinds"]),
            over_thorax=bool(hazard["over_thorax"]),
            safe_depth_mm=hazard["safe_depth_mm"],
            safe_depth_source=hazard.get("safe_depth_source") or "",
            structures=tuple(hazard.get("structures") or ()),
            note=hazard.get("note") or "",
        )


@dataclass(frozen=True)
class ScreeningFlags:
    """What the safety rules need from the patient's screening and consent."""

    screening_current: bool
    consent_current: bool
    absolute_contraindications: tuple[str, ...] = ()
    lymphoedema_sides: frozenset[str] = frozenset()
    bleeding_risk: bool = False
    implanted_device: bool = False
    pregnant: bool = False


@dataclass(frozen=True)
class SafetyWarning:
    """One warning or refusal, with the words a clinician reads and the source behind them."""

    code: str
    severity: str
    message: str
    source: str
    muscle_id: str | None = None
    side: str | None = None
    unverified: bool = False

    @property
    def acknowledgeable(self) -> bool:
        """Whether a reason to proceed can clear it (warnings yes, refusals never)."""
        return self.severity == WARNING


@dataclass(frozen=True)
class RuleText:
    """The message template and source of one warning code."""

    message: str
    source: str
    fields: frozenset[str] = field(default_factory=frozenset)


# --- data file ---------------------------------------------------------------------------------------


def load_safety_rules(path: Path = DATA_FILE) -> dict[str, RuleText]:
    """Read and validate the warning texts; every rule code needs a message and a sourced citation."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise SafetyDataError(f"{path}: cannot be read as JSON: {exc}") from exc
    rules = raw.get("rules") if isinstance(raw, dict) else None
    if not isinstance(rules, dict):
        raise SafetyDataError(f"{path}: expected an object with a 'rules' object.")
    problems = [f"missing rule {code}" for code in RULE_SEVERITY if code not in rules]
    problems += [f"unknown rule {code}" for code in rules if code not in RULE_SEVERITY]
    texts = {code: _rule_text(code, entry, problems) for code, entry in rules.items()}
    if problems:
        raise SafetyDataError(f"{path}: invalid safety rules:\n- " + "\n- ".join(problems))
    return texts  # type: ignore[return-value]  # no None left once problems is empty


@cache
def safety_rules() -> dict[str, RuleText]:
    """The warning texts from the packaged data file."""
    return load_safety_rules(DATA_FILE)


def _rule_text(code: str, entry: object, problems: list[str]) -> RuleText | None:
    if not isinstance(entry, dict) or not all(isinstance(entry.get(k), str) for k in ("message", "source")):
        problems.append(f"{code}: needs a 'message' and a 'source' string.")
        return None
    fields = frozenset(name for _, name, _, _ in string.Formatter().parse(entry["message"]) if name)
    if fields - _TEMPLATE_FIELDS:
        problems.append(f"{code}: unknown message fields {sorted(fields - _TEMPLATE_FIELDS)}.")
    if not entry["message"].strip():
        problems.append(f"{code}: empty message.")
    if not _SOURCE_KEY.search(entry["source"]):
        problems.append(f"{code}: the source must cite clinical.md (a § section or a key such as [S14]).")
    return RuleText(entry["message"], entry["source"], fields)


# --- screening flags ---------------------------------------------------------------------------------


def screening_flags(result: ScreeningResult | None, *, consent_current: bool) -> ScreeningFlags:
    """Derive the safety flags from the current screening (None when there is no current screening)."""
    if result is None:
        return ScreeningFlags(screening_current=False, consent_current=consent_current)
    lymphoedema = result.finding("lymphoedema")
    return ScreeningFlags(
        screening_current=True,
        consent_current=consent_current,
        absolute_contraindications=_absolute_codes(result),
        lymphoedema_sides=_expand(lymphoedema.details["lymphoedema_side"]) if lymphoedema else frozenset(),
        bleeding_risk=any(result.finding(code) for code in ("bleeding_disorder", "anticoagulants")),
        implanted_device=result.finding("implanted_device") is not None,
        pregnant=result.finding("pregnancy") is not None,
    )


def _absolute_codes(result: ScreeningResult) -> tuple[str, ...]:
    codes = tuple(f.code for f in result.absolute_findings)
    # A stored result marked not cleared must stop needling even if its findings were lost or edited.
    return codes or (("not_cleared",) if result.status == NOT_CLEARED else ())


# --- the rules ---------------------------------------------------------------------------------------


def needling_warnings(
    entries: Sequence[PlannedNeedling],
    muscles: Mapping[str, MuscleHazard],
    screening: ScreeningFlags,
    rules: Mapping[str, RuleText] | None = None,
) -> list[SafetyWarning]:
    """Every warning and refusal for the needling of one visit: refusals first, then visit-wide, then
    per muscle and side in entry order. No needling, no warnings.

    Entries for the same muscle and side are merged (the longest needle counts), so one acknowledgement
    covers them. An entry whose muscle has no hazard data is refused with a ValueError rather than
    passed silently, because a missing hazard would hide a pneumothorax warning.
    """
    if not entries:
        return []
    rules = safety_rules() if rules is None else rules
    unknown = sorted({e.muscle_id for e in entries if e.muscle_id not in muscles})
    if unknown:
        raise ValueError(f"No hazard data for muscle(s) {', '.join(unknown)}; cannot check needling safety.")
    merged = _merge(entries)
    warnings = _refusals(screening, rules) + _visit_warnings(merged, muscles, screening, rules)
    for entry in merged:
        warnings += _entry_warnings(entry, muscles[entry.muscle_id], screening, rules)
    return warnings


def warning_key(warning: SafetyWarning) -> str:
    """A stable key to match an acknowledgement to its warning: code, muscle and side."""
    return f"{warning.code}:{warning.muscle_id or '-'}:{warning.side or '-'}"


def unacknowledged(warnings: Iterable[SafetyWarning], acknowledgements: Mapping[str, str]) -> list[SafetyWarning]:
    """The warnings that still block: every refusal, and each warning without a non-blank reason.

    ``acknowledgements`` maps ``warning_key(w)`` to the clinician's reason to proceed.
    """
    return [w for w in warnings if not w.acknowledgeable or not _reason(acknowledgements, w)]


def _reason(acknowledgements: Mapping[str, str], warning: SafetyWarning) -> str:
    reason = acknowledgements.get(warning_key(warning))
    return reason.strip() if isinstance(reason, str) else ""


def _merge(entries: Sequence[PlannedNeedling]) -> list[PlannedNeedling]:
    merged: dict[tuple[str, str], PlannedNeedling] = {}
    for e in entries:
        seen = merged.get((e.muscle_id, e.side))
        if seen is not None:
            e = PlannedNeedling(
                e.muscle_id,
                e.side,
                max(e.needle_length_mm, seen.needle_length_mm),
                e.electrical_stimulation or seen.electrical_stimulation,
            )
        merged[(e.muscle_id, e.side)] = e
    return list(merged.values())


def _refusals(screening: ScreeningFlags, rules: Mapping[str, RuleText]) -> list[SafetyWarning]:
    found = []
    if not screening.screening_current:
        found.append(_warn(rules, "no_screening"))
    if not screening.consent_current:
        found.append(_warn(rules, "no_consent"))
    if screening.absolute_contraindications:
        items = ", ".join(code.replace("_", " ") for code in screening.absolute_contraindications)
        found.append(_warn(rules, "absolute_contraindication", items=items))
    return found


def _visit_warnings(
    entries: Sequence[PlannedNeedling],
    muscles: Mapping[str, MuscleHazard],
    screening: ScreeningFlags,
    rules: Mapping[str, RuleText],
) -> list[SafetyWarning]:
    found = []
    # Both fields count: the hazard, a lung reached on each side, is the same whether the atlas marks the
    # muscle as lying over the chest wall or as a pneumothorax hazard at the lung apex.
    thoracic = [e for e in entries if muscles[e.muscle_id].over_thorax or muscles[e.muscle_id].pneumothorax]
    if {"left", "right"} <= frozenset().union(*(e.sides for e in thoracic)):
        names = ", ".join(f"{muscles[e.muscle_id].name} ({_SIDE_WORDS[e.side]})" for e in thoracic)
        found.append(_warn(rules, "bilateral_thorax", side="both", muscles=names))
    if screening.bleeding_risk:
        found.append(_warn(rules, "bleeding_risk"))
    return found


def _entry_warnings(
    entry: PlannedNeedling, muscle: MuscleHazard, screening: ScreeningFlags, rules: Mapping[str, RuleText]
) -> list[SafetyWarning]:
    def warn(code: str, **values: str) -> SafetyWarning:
        return _warn(rules, code, muscle=muscle, entry=entry, **values)

    found = []
    if muscle.pneumothorax and muscle.safe_depth_mm is None:
        found.append(warn("ptx_unverified_depth"))
    elif muscle.pneumothorax and entry.needle_length_mm > muscle.safe_depth_mm:  # type: ignore[operator]
        found.append(warn("ptx_depth"))
    if "nerve_vessel" in muscle.kinds:
        found.append(warn("nerve_vessel", structures=_structures(muscle, "a named nerve or vessel")))
    if "organ" in muscle.kinds:
        found.append(warn("organ", structures=_structures(muscle, "an organ or the peritoneal cavity")))
    if entry.sides & screening.lymphoedema_sides:
        found.append(warn("lymphoedema_side", lymphoedema_side=_side_words(screening.lymphoedema_sides)))
    if entry.electrical_stimulation and screening.implanted_device:
        found.append(warn("estim_implanted_device"))
    if entry.electrical_stimulation and screening.pregnant:
        found.append(warn("estim_pregnancy"))
    return found


def _warn(
    rules: Mapping[str, RuleText],
    code: str,
    muscle: MuscleHazard | None = None,
    entry: PlannedNeedling | None = None,
    **values: str,
) -> SafetyWarning:
    text = rules[code]
    fields = dict.fromkeys(_TEMPLATE_FIELDS, "") | _muscle_fields(muscle, entry) | values
    message = " ".join(text.message.format(**fields).split())
    return SafetyWarning(
        code=code,
        severity=RULE_SEVERITY[code],
        message=message,
        source=text.source,
        muscle_id=muscle.muscle_id if muscle else None,
        side=entry.side if entry else values.get("side"),
        unverified=code == "ptx_unverified_depth",
    )


def _muscle_fields(muscle: MuscleHazard | None, entry: PlannedNeedling | None) -> dict[str, str]:
    if muscle is None or entry is None:
        return {}
    depth = muscle.safe_depth_mm
    return {
        "muscle": muscle.name,
        "side": _SIDE_WORDS[entry.side],
        "length": _mm(entry.needle_length_mm),
        "depth": _mm(depth) if depth is not None else "",
        "depth_source": muscle.safe_depth_source,
        "note": muscle.note,
    }


def _structures(muscle: MuscleHazard, fallback: str) -> str:
    return ", ".join(muscle.structures) if muscle.structures else fallback


def _mm(value: float) -> str:
    return f"{value:g}"


def _side_words(sides: frozenset[str]) -> str:
    return _SIDE_WORDS["both" if len(sides) > 1 else min(sides)]


def _positive_number(value: object) -> bool:
    # bool is an int in Python; True millimetres is a bug in the caller, not a needle length.
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0


def _expand(side: str) -> frozenset[str]:
    return frozenset({"left", "right"}) if side == "both" else frozenset({side})
