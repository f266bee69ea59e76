"""Needling safety checks, made when a needling entry is recorded and again at signing.

Pure Python, no Django. The callers pass in what the rules need: the planned needling, the hazard data of
each muscle (from the atlas data file) and flags derived from the patient's current screening. The words,
sources and fitting precautions of each check live in ``data/safety_rules.json``; the regions and points
avoided in pregnancy in ``data/pregnancy_regions.json``. Which check is of which kind is decided here,
because it is a product rule:

- a REMINDER is information (technique over the thorax, latex-free gloves): nothing to acknowledge, printed
  on the note;
- a WARNING must be acknowledged, by choosing the precautions taken (or, failing that, a reason to proceed
  that is a real sentence, see ``is_real_sentence``);
- a REFUSAL cannot be acknowledged away: no current screening, no current consent, an absolute
  contraindication for the whole patient, and electrical stimulation with an implanted electronic device
  (the precaution for such a device is "no electrical stimulation" [S12], so there is nothing to weigh).

Thorax: every needle over the thorax gets the technique reminder at any length. The "safe depths" in the atlas
are population averages from healthy volunteers [S21] and pleura depth rises with build [S21, S200], so a
thin build or a lung disease makes every thorax muscle warn whatever the needle length; otherwise a needle
longer than the sourced depth warns, and where no depth is sourced a needle longer than the data file's
threshold warns.

Lymphoedema on the needled side is a warning, not a refusal, although needling a lymphoedematous limb is
absolute [S8, S9]: the screening records only the side, and a muscle on that side (the left piriformis when
the left arm is swollen) is often outside the affected limb. The clinician acknowledges that it is.
"""

from __future__ import annotations

import json
import re
import string
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from needlepoint.patients.screening_rules import NOT_CLEARED, ScreeningResult

DATA_FILE = Path(__file__).parent / "data" / "safety_rules.json"
PREGNANCY_FILE = Path(__file__).parent / "data" / "pregnancy_regions.json"

REMINDER = "reminder"
WARNING = "warning"
REFUSAL = "refusal"

SIDES = frozenset({"left", "right", "both"})
HAZARD_KINDS = frozenset({"pneumothorax", "nerve_vessel", "organ", "low"})
PLEURA_ACCESS = ("lung_apex", "intercostal", "below_12th_rib")
TRIMESTERS = (1, 2, 3)

# Each check's kind. A product decision (see the module docstring), so it is code, not data.
RULE_SEVERITY: dict[str, str] = {
    "no_screening": REFUSAL,
    "no_consent": REFUSAL,
    "absolute_contraindication": REFUSAL,
    "estim_implanted_device": REFUSAL,
    "thorax_technique": REMINDER,
    "latex_allergy": REMINDER,
    "fainting_history": REMINDER,
    "ptx_patient_risk": WARNING,
    "ptx_depth": WARNING,
    "ptx_unverified_depth": WARNING,
    "bilateral_thorax": WARNING,
    "lymphoedema_side": WARNING,
    "lymph_node_side": WARNING,
    "bleeding_risk": WARNING,
    "nerve_vessel": WARNING,
    "organ": WARNING,
    "breast_implant": WARNING,
    "implant_site": WARNING,
    "tumour_site": WARNING,
    "pregnancy_region": WARNING,
    "estim_pregnancy": WARNING,
}

_TEMPLATE_FIELDS = frozenset(
    {"muscle", "side", "length", "depth", "depth_source", "structures", "note", "muscles"}
    | {"lymphoedema_side", "items", "technique", "risk", "threshold", "site", "region", "trimester"}
)
# Keys of the project's references (needlepoint/references.json).
_SOURCE_KEY = re.compile(r"\[(S|T)\d+|§")

# A free-text reason to proceed must be a real sentence: at least this many words of two or more letters
# and this many letters in all. "x", "ok" and "n/a" are refused; "Needle angled away from the nerve" passes.
MIN_REASON_WORDS = 3
MIN_REASON_LETTERS = 15
MAX_NOTE_LENGTH = 500
_WORD = re.compile(r"[^\W\d_]{2,}")
_LETTER = re.compile(r"[^\W\d_]")

_SIDE_WORDS = {"left": "left side", "right": "right side", "both": "both sides"}
_TRIMESTER_WORDS = {1: "first trimester", 2: "second trimester", 3: "third trimester"}


class SafetyDataError(ValueError):
    """A safety data file is malformed; the message names the file and every problem."""


class AcknowledgementError(ValueError):
    """An acknowledgement that does not acknowledge: no precaution that fits and no real reason."""


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
    """The hazard block of one atlas muscle: what lies under it and how deep a needle may go on average.

    ``pleura_access`` says how a needle would reach the pleura: over the lung apex, through an intercostal
    space, or below the 12th rib. A thorax muscle without it is treated as intercostal.
    """

    muscle_id: str
    name: str
    kinds: frozenset[str]
    over_thorax: bool
    safe_depth_mm: float | None
    safe_depth_source: str = ""
    structures: tuple[str, ...] = ()
    note: str = ""
    pleura_access: str | None = None

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
        if self.pleura_access is not None and self.pleura_access not in PLEURA_ACCESS:
            raise ValueError(f"{self.name}: pleura access must be one of {', '.join(PLEURA_ACCESS)} or null.")

    @property
    def pneumothorax(self) -> bool:
        """Whether a needle here can reach the pleura or lung."""
        return "pneumothorax" in self.kinds

    @property
    def thorax(self) -> bool:
        """Whether the muscle lies over the thorax or a needle in it can reach the pleura."""
        return self.over_thorax or self.pneumothorax

    @property
    def access(self) -> str:
        """How the pleura is reached; intercostal unless the atlas says otherwise."""
        return self.pleura_access or "intercostal"

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
            pleura_access=hazard.get("pleura_access"),
        )


@dataclass(frozen=True)
class ScreeningFlags:
    """What the safety rules need from the patient's screening and consent."""

    screening_current: bool
    consent_current: bool
    absolute_contraindications: tuple[str, ...] = ()
    lymphoedema_sides: frozenset[str] = frozenset()
    lymph_node_sides: frozenset[str] = frozenset()
    bleeding_risk: bool = False
    implanted_device: bool = False
    pregnant: bool = False
    pregnancy_trimester: int | None = None
    thin_build: bool = False
    bmi: float | None = None
    copd_emphysema: bool = False
    previous_pneumothorax: bool = False
    breast_implant_sides: frozenset[str] = frozenset()
    implant_sites: tuple[str, ...] = ()
    tumour_sites: tuple[str, ...] = ()
    latex_allergy: bool = False
    fainting_history: bool = False


@dataclass(frozen=True)
class Precaution:
    """A precaution a clinician can take for a warning, as offered to acknowledge it."""

    code: str
    label: str
    source: str
    unverified: bool = False


@dataclass(frozen=True)
class SafetyWarning:
    """One reminder, warning or refusal, with the words a clinician reads, its source and the precautions
    that acknowledge it."""

    code: str
    severity: str
    message: str
    source: str
    muscle_id: str | None = None
    side: str | None = None
    unverified: bool = False
    precautions: tuple[Precaution, ...] = ()

    @property
    def acknowledgeable(self) -> bool:
        """Whether it can be acknowledged (warnings yes, refusals never, reminders need not be)."""
        return self.severity == WARNING

    @property
    def is_reminder(self) -> bool:
        """Information only: nothing to acknowledge, printed on the note."""
        return self.severity == REMINDER

    @property
    def blocks(self) -> bool:
        """Whether it stops the write until acknowledged (a warning) or for good (a refusal)."""
        return self.severity != REMINDER


@dataclass(frozen=True)
class RuleText:
    """The message template, source and fitting precautions of one check."""

    message: str
    source: str
    fields: frozenset[str] = field(default_factory=frozenset)
    precautions: tuple[str, ...] = ()
    unverified: bool = False


@dataclass(frozen=True)
class PregnancyRegion:
    """A region or point avoided or needled with caution in pregnancy, and the atlas muscles over it."""

    code: str
    label: str
    muscles: frozenset[str]
    trimesters: frozenset[int]
    source: str
    unverified: bool = False


@dataclass(frozen=True)
class SafetyRules:
    """Everything the checks read from the data files."""

    texts: Mapping[str, RuleText]
    precautions: Mapping[str, Precaution]
    no_depth_max_length_mm: float
    no_depth_source: str
    technique: Mapping[str, str]
    anterior_chest_muscles: frozenset[str]
    pregnancy_regions: tuple[PregnancyRegion, ...] = ()


@dataclass(frozen=True)
class Acknowledgement:
    """What a clinician gave to acknowledge one warning: the precautions taken and/or a note."""

    precaution_codes: tuple[str, ...]
    precautions: tuple[str, ...]
    note: str


# --- data files --------------------------------------------------------------------------------------


def _json_object(value: object) -> dict[str, Any]:
    """A JSON object of the data file, or an empty one where something else stands (reported as missing keys)."""
    return value if isinstance(value, dict) else {}


def load_safety_rules(path: Path = DATA_FILE, pregnancy_path: Path | None = PREGNANCY_FILE) -> SafetyRules:
    """Read and validate the safety data; every check needs a message and a sourced citation, every
    warning at least one precaution that fits it, every precaution a source."""
    raw = _read_json(path)
    problems: list[str] = []
    rules = raw.get("rules") if isinstance(raw, dict) else None
    if not isinstance(rules, dict):
        raise SafetyDataError(f"{path}: expected an object with a 'rules' object.")
    precautions = _precautions(raw.get("precautions"), problems)
    problems += [f"missing rule {code}" for code in RULE_SEVERITY if code not in rules]
    problems += [f"unknown rule {code}" for code in rules if code not in RULE_SEVERITY]
    texts = {code: _rule_text(code, entry, precautions, problems) for code, entry in rules.items()}
    thorax = _json_object(raw.get("thorax"))
    threshold = thorax.get("no_depth_max_length_mm")
    if not _positive_number(threshold):
        problems.append("thorax.no_depth_max_length_mm must be a positive number of millimetres.")
    threshold_source = str(thorax.get("no_depth_source") or "")
    if not threshold_source.strip():
        problems.append("thorax.no_depth_source must give the source (or say unverified).")
    technique = _json_object(thorax.get("technique"))
    problems += [f"thorax.technique lacks {access}" for access in PLEURA_ACCESS if not technique.get(access)]
    chest = _json_object(raw.get("anterior_chest_muscles"))
    chest_muscles = chest.get("muscles")
    if not isinstance(chest_muscles, list) or not chest_muscles or not str(chest.get("source") or "").strip():
        problems.append("anterior_chest_muscles needs a non-empty 'muscles' list and a 'source'.")
        chest_muscles = []
    regions = load_pregnancy_regions(pregnancy_path) if pregnancy_path is not None else ()
    if problems:
        raise SafetyDataError(f"{path}: invalid safety rules:\n- " + "\n- ".join(problems))
    return SafetyRules(
        texts={code: text for code, text in texts.items() if text is not None},  # all of them once problems is empty
        precautions=precautions,
        no_depth_max_length_mm=float(threshold or 0),  # a positive number once problems is empty
        no_depth_source=threshold_source,
        technique={access: str(technique[access]) for access in PLEURA_ACCESS},
        anterior_chest_muscles=frozenset(map(str, chest_muscles)),
        pregnancy_regions=regions,
    )


def load_pregnancy_regions(path: Path = PREGNANCY_FILE) -> tuple[PregnancyRegion, ...]:
    """Read and validate the regions and points avoided in pregnancy; each needs muscles and a source."""
    raw = _read_json(path)
    entries = raw.get("regions") if isinstance(raw, dict) else None
    if not isinstance(entries, list) or not entries:
        raise SafetyDataError(f"{path}: expected an object with a non-empty 'regions' list.")
    problems: list[str] = []
    regions = []
    for index, entry in enumerate(entries):
        where = f"region {index + 1}"
        if not isinstance(entry, dict):
            problems.append(f"{where}: expected an object.")
            continue
        code, label, source = (str(entry.get(k) or "").strip() for k in ("code", "label", "source"))
        muscles = entry.get("muscles")
        trimesters = entry.get("trimesters")
        if not code or not label:
            problems.append(f"{where}: needs a 'code' and a 'label'.")
        if not isinstance(muscles, list) or not muscles or not all(isinstance(m, str) for m in muscles):
            problems.append(f"{where} ({code}): 'muscles' must be a non-empty list of atlas muscle ids.")
            muscles = []
        if not isinstance(trimesters, list) or not trimesters or not set(trimesters) <= set(TRIMESTERS):
            problems.append(f"{where} ({code}): 'trimesters' must list 1, 2 and/or 3.")
            trimesters = []
        if not _SOURCE_KEY.search(source):
            problems.append(f"{where} ({code}): the source must cite a reference key such as [S12].")
        regions.append(
            PregnancyRegion(
                code, label, frozenset(muscles), frozenset(trimesters), source, bool(entry.get("unverified"))
            )
        )
    if problems:
        raise SafetyDataError(f"{path}: invalid pregnancy regions:\n- " + "\n- ".join(problems))
    return tuple(regions)


@cache
def safety_rules() -> SafetyRules:
    """The safety data from the packaged data files."""
    return load_safety_rules(DATA_FILE, PREGNANCY_FILE)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise SafetyDataError(f"{path}: cannot be read as JSON: {exc}") from exc
    if not isinstance(raw, dict):
        raise SafetyDataError(f"{path}: expected a JSON object.")
    return raw


def _precautions(raw: object, problems: list[str]) -> dict[str, Precaution]:
    if not isinstance(raw, dict) or not raw:
        problems.append("needs a non-empty 'precautions' object.")
        return {}
    found = {}
    for code, entry in raw.items():
        if not isinstance(entry, dict) or not str(entry.get("label") or "").strip():
            problems.append(f"precaution {code}: needs a 'label'.")
            continue
        if not _SOURCE_KEY.search(str(entry.get("source") or "")):
            problems.append(f"precaution {code}: the source must cite a reference key such as [S14].")
        found[code] = Precaution(code, entry["label"].strip(), str(entry.get("source")), bool(entry.get("unverified")))
    return found


def _rule_text(code: str, entry: object, precautions: Mapping[str, Precaution], problems: list[str]) -> RuleText | None:
    if not isinstance(entry, dict) or not all(isinstance(entry.get(k), str) for k in ("message", "source")):
        problems.append(f"{code}: needs a 'message' and a 'source' string.")
        return None
    fields = frozenset(name for _, name, _, _ in string.Formatter().parse(entry["message"]) if name)
    if fields - _TEMPLATE_FIELDS:
        problems.append(f"{code}: unknown message fields {sorted(fields - _TEMPLATE_FIELDS)}.")
    if not entry["message"].strip():
        problems.append(f"{code}: empty message.")
    if not _SOURCE_KEY.search(entry["source"]):
        problems.append(f"{code}: the source must cite a reference key such as [S14].")
    chosen = entry.get("precautions") or []
    if not isinstance(chosen, list):
        problems.append(f"{code}: 'precautions' must be a list of precaution codes.")
        chosen = []
    problems += [f"{code}: unknown precaution {p}" for p in chosen if p not in precautions]
    if RULE_SEVERITY.get(code) == WARNING and not chosen:
        problems.append(f"{code}: a warning needs at least one precaution that acknowledges it.")
    if RULE_SEVERITY.get(code) in (REMINDER, REFUSAL) and chosen:
        problems.append(f"{code}: only a warning is acknowledged with precautions.")
    return RuleText(entry["message"], entry["source"], fields, tuple(chosen), bool(entry.get("unverified")))


# --- screening flags ---------------------------------------------------------------------------------


def screening_flags(result: ScreeningResult | None, *, consent_current: bool) -> ScreeningFlags:
    """Derive the safety flags from the current screening (None when there is no current screening)."""
    if result is None:
        return ScreeningFlags(screening_current=False, consent_current=consent_current)

    def details(code: str) -> Mapping[str, Any] | None:
        found = result.finding(code)
        return (found.details or {}) if found is not None else None

    lymphoedema, nodes, implant = details("lymphoedema"), details("lymph_node_removal"), details("breast_implant")
    pregnancy, low_bmi = details("pregnancy"), details("low_bmi")
    other_implant, tumour = details("other_implant"), details("tumour_at_site")
    return ScreeningFlags(
        screening_current=True,
        consent_current=consent_current,
        absolute_contraindications=_absolute_codes(result),
        lymphoedema_sides=_sides_of(lymphoedema, "lymphoedema_side"),
        lymph_node_sides=_sides_of(nodes, "lymph_node_side"),
        bleeding_risk=any(result.finding(code) for code in ("bleeding_disorder", "anticoagulants")),
        implanted_device=result.finding("implanted_device") is not None,
        pregnant=pregnancy is not None,
        pregnancy_trimester=_trimester(pregnancy),
        thin_build=low_bmi is not None,
        bmi=_number(low_bmi.get("bmi")) if low_bmi else None,
        copd_emphysema=result.finding("copd_emphysema") is not None,
        previous_pneumothorax=result.finding("previous_pneumothorax") is not None,
        breast_implant_sides=_sides_of(implant, "breast_implant_side"),
        implant_sites=_site_of(other_implant, "implant_site", "the recorded implant site"),
        tumour_sites=_site_of(tumour, "tumour_site", "the recorded tumour site"),
        latex_allergy=result.finding("latex_allergy") is not None,
        fainting_history=result.finding("fainting_history") is not None,
    )


def _absolute_codes(result: ScreeningResult) -> tuple[str, ...]:
    codes = tuple(f.code for f in result.absolute_findings)
    # A stored result marked not cleared must stop needling even if its findings were lost or edited.
    return codes or (("not_cleared",) if result.status == NOT_CLEARED else ())


def _sides_of(details: Mapping[str, Any] | None, key: str) -> frozenset[str]:
    if details is None:
        return frozenset()
    side = str(details.get(key) or "").strip().lower()
    # A finding without a readable side covers both: a missing side must not hide the warning.
    return _expand(side) if side in SIDES else frozenset({"left", "right"})


def _site_of(details: Mapping[str, Any] | None, key: str, fallback: str) -> tuple[str, ...]:
    if details is None:
        return ()
    return (" ".join(str(details.get(key) or "").split()) or fallback,)


def _trimester(details: Mapping[str, Any] | None) -> int | None:
    if details is None:
        return None
    try:
        value = int(str(details.get("pregnancy_trimester")).strip())
    except ValueError:
        return None
    return value if value in TRIMESTERS else None


def _number(value: object) -> float | None:
    try:
        return float(str(value))
    except ValueError:
        return None


# --- the rules ---------------------------------------------------------------------------------------


def needling_warnings(
    entries: Sequence[PlannedNeedling],
    muscles: Mapping[str, MuscleHazard],
    screening: ScreeningFlags,
    rules: SafetyRules | None = None,
) -> list[SafetyWarning]:
    """Every refusal, warning and reminder for the needling of one visit: refusals first, then visit-wide,
    then per muscle and side in entry order. No needling, nothing.

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
    found = _refusals(screening, rules) + _visit_checks(merged, muscles, screening, rules)
    for entry in merged:
        found += _entry_checks(entry, muscles[entry.muscle_id], screening, rules)
    return found


PNEUMOTHORAX_WARNINGS = frozenset({"ptx_patient_risk", "ptx_depth", "ptx_unverified_depth"})


def longest_length_without_pneumothorax_warning(
    muscle: MuscleHazard, lengths: Iterable[float], screening: ScreeningFlags, rules: SafetyRules | None = None
) -> float | None:
    """The longest needle length among ``lengths`` (a clinic's stock) that raises no pneumothorax warning
    over ``muscle`` for this patient, or None when every length would (a thin build over the thorax).

    For the entry form to propose a length that suits the muscle: the clinician may still choose longer.
    """
    quiet = [length for length in lengths if not _warns_of_pneumothorax(muscle, length, screening, rules)]
    return max(quiet, default=None)


def _warns_of_pneumothorax(
    muscle: MuscleHazard, length: float, screening: ScreeningFlags, rules: SafetyRules | None
) -> bool:
    entry = PlannedNeedling(muscle.muscle_id, "left", length)
    found = needling_warnings([entry], {muscle.muscle_id: muscle}, screening, rules)
    return any(w.code in PNEUMOTHORAX_WARNINGS for w in found)


def warning_key(warning: SafetyWarning) -> str:
    """A stable key to match an acknowledgement to its warning: code, muscle and side."""
    return f"{warning.code}:{warning.muscle_id or '-'}:{warning.side or '-'}"


def unacknowledged(warnings: Iterable[SafetyWarning], acknowledgements: Mapping[str, Any]) -> list[SafetyWarning]:
    """The checks that still block: every refusal, and each warning without an acknowledgement.

    ``acknowledgements`` maps ``warning_key(w)`` to a stored acknowledgement (a mapping with precautions,
    a note or, in records made before precautions, a reason) or to a plain reason. Reminders never block.
    """
    return [w for w in warnings if w.blocks and (not w.acknowledgeable or not _acknowledged(acknowledgements, w))]


def reminders(warnings: Iterable[SafetyWarning]) -> list[SafetyWarning]:
    """The reminders among the checks (printed on the note)."""
    return [w for w in warnings if w.is_reminder]


def is_real_sentence(text: str) -> bool:
    """Whether a free-text reason reads as a sentence: MIN_REASON_WORDS words, MIN_REASON_LETTERS letters."""
    return len(_WORD.findall(text)) >= MIN_REASON_WORDS and len(_LETTER.findall(text)) >= MIN_REASON_LETTERS


def read_acknowledgement(warning: SafetyWarning, given: object) -> Acknowledgement | None:
    """What the clinician gave to acknowledge ``warning``, checked; None when nothing was given.

    ``given`` is ``{"precautions": [codes], "note": "..."}`` or a plain reason. Precautions must be among
    the warning's own; without one, the note is the reason to proceed and must be a real sentence.
    Raises AcknowledgementError with a message a clinician can act on.
    """
    if given is None or (isinstance(given, str) and not given.strip()):
        return None
    if isinstance(given, str):
        codes: list[Any] = []
        note = given
    elif isinstance(given, Mapping):
        raw = given.get("precautions") or []
        codes = [raw] if isinstance(raw, str) else list(raw) if isinstance(raw, list | tuple) else [raw]
        note = str(given.get("note") or given.get("reason") or "")
    else:
        raise AcknowledgementError(f"{_short(warning)}: acknowledge with precautions and a note, or a reason.")
    note = " ".join(note.split())
    offered = {p.code: p for p in warning.precautions}
    codes = list(dict.fromkeys(str(c).strip() for c in codes if c not in ("", None)))
    wrong = [c for c in codes if c not in offered]
    if wrong:
        raise AcknowledgementError(
            f"{_short(warning)}: {', '.join(wrong)} is not a precaution for this warning; "
            f"choose from: {', '.join(p.label for p in warning.precautions)}."
        )
    if len(note) > MAX_NOTE_LENGTH:
        raise AcknowledgementError(f"{_short(warning)}: keep the note under {MAX_NOTE_LENGTH} characters.")
    if not codes and not note:
        return None
    if not codes and not is_real_sentence(note):
        raise AcknowledgementError(
            f"{_short(warning)}: choose the precaution you take, or give a reason to proceed as a real sentence "
            f"(at least {MIN_REASON_WORDS} words and {MIN_REASON_LETTERS} letters), not {note!r}."
        )
    chosen = tuple(codes)
    return Acknowledgement(chosen, tuple(offered[c].label for c in chosen), note)


def acknowledgement_text(stored: Mapping[str, Any]) -> str:
    """A stored acknowledgement in words: its precautions and note, or (older records) the reason."""
    precautions = [str(p) for p in stored.get("precautions") or []]
    note = str(stored.get("note") or "").strip()
    if precautions:
        text = f"Precautions: {'; '.join(precautions)}."
        return f"{text} Note: {note}" if note else text
    return f"Reason to proceed: {note or str(stored.get('reason') or '').strip()}"


def _acknowledged(acknowledgements: Mapping[str, Any], warning: SafetyWarning) -> bool:
    stored = acknowledgements.get(warning_key(warning))
    if isinstance(stored, str):
        return bool(stored.strip())
    if isinstance(stored, Mapping):
        return bool(stored.get("precautions")) or any(str(stored.get(k) or "").strip() for k in ("note", "reason"))
    return False


def _short(warning: SafetyWarning) -> str:
    return warning.message.split(":", 1)[0] if warning.muscle_id else warning.message.split(".", 1)[0]


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


def _refusals(screening: ScreeningFlags, rules: SafetyRules) -> list[SafetyWarning]:
    found = []
    if not screening.screening_current:
        found.append(_warn(rules, "no_screening"))
    if not screening.consent_current:
        found.append(_warn(rules, "no_consent"))
    if screening.absolute_contraindications:
        items = ", ".join(code.replace("_", " ") for code in screening.absolute_contraindications)
        found.append(_warn(rules, "absolute_contraindication", items=items))
    return found


def _visit_checks(
    entries: Sequence[PlannedNeedling],
    muscles: Mapping[str, MuscleHazard],
    screening: ScreeningFlags,
    rules: SafetyRules,
) -> list[SafetyWarning]:
    found = []
    # Both fields count: the hazard, a lung reached on each side, is the same whether the atlas marks the
    # muscle as lying over the chest wall or as a pneumothorax hazard at the lung apex.
    thoracic = [e for e in entries if muscles[e.muscle_id].thorax]
    if {"left", "right"} <= frozenset().union(*(e.sides for e in thoracic)):
        names = ", ".join(f"{muscles[e.muscle_id].name} ({_SIDE_WORDS[e.side]})" for e in thoracic)
        found.append(_warn(rules, "bilateral_thorax", side="both", muscles=names))
    if screening.bleeding_risk:
        found.append(_warn(rules, "bleeding_risk"))
    if screening.latex_allergy:
        found.append(_warn(rules, "latex_allergy"))
    if screening.fainting_history:
        found.append(_warn(rules, "fainting_history"))
    return found


def _entry_checks(
    entry: PlannedNeedling, muscle: MuscleHazard, screening: ScreeningFlags, rules: SafetyRules
) -> list[SafetyWarning]:
    def warn(code: str, **values: str) -> SafetyWarning:
        return _warn(rules, code, muscle=muscle, entry=entry, **values)

    found = []
    if muscle.thorax:
        found.append(warn("thorax_technique", technique=rules.technique[muscle.access]))
        found += _pneumothorax(entry, muscle, screening, rules, warn)
    if "nerve_vessel" in muscle.kinds:
        found.append(warn("nerve_vessel", structures=_structures(muscle, "a named nerve or vessel")))
    if "organ" in muscle.kinds:
        found.append(warn("organ", structures=_structures(muscle, "an organ or the peritoneal cavity")))
    if entry.sides & screening.lymphoedema_sides:
        found.append(warn("lymphoedema_side", lymphoedema_side=_side_words(screening.lymphoedema_sides)))
    if entry.sides & screening.lymph_node_sides:
        found.append(warn("lymph_node_side", lymphoedema_side=_side_words(screening.lymph_node_sides)))
    if muscle.muscle_id in rules.anterior_chest_muscles and entry.sides & screening.breast_implant_sides:
        found.append(warn("breast_implant", lymphoedema_side=_side_words(screening.breast_implant_sides)))
    if screening.implant_sites:
        found.append(warn("implant_site", site="; ".join(screening.implant_sites)))
    if screening.tumour_sites:
        found.append(warn("tumour_site", site="; ".join(screening.tumour_sites)))
    if screening.pregnant:
        found += _pregnancy(entry, muscle, screening, rules, warn)
    if entry.electrical_stimulation and screening.implanted_device:
        found.append(warn("estim_implanted_device"))
    if entry.electrical_stimulation and screening.pregnant:
        found.append(warn("estim_pregnancy", trimester=_trimester_words(screening.pregnancy_trimester)))
    return found


def _pneumothorax(
    entry: PlannedNeedling, muscle: MuscleHazard, screening: ScreeningFlags, rules: SafetyRules, warn: Any
) -> list[SafetyWarning]:
    """At most one pneumothorax warning per muscle and side: the patient's build or lungs first (any
    length), then the sourced population-average depth, then the threshold for muscles without one."""
    risks = []
    if screening.thin_build:
        risks.append(f"a thin build (BMI {screening.bmi:g})" if screening.bmi else "a thin build")
    if screening.copd_emphysema:
        risks.append("COPD or emphysema")
    if screening.previous_pneumothorax:
        risks.append("a previous pneumothorax")
    if risks:
        found = warn("ptx_patient_risk", risk=" and ".join(risks))
    elif muscle.safe_depth_mm is not None:
        if entry.needle_length_mm <= muscle.safe_depth_mm:
            return []
        found = warn("ptx_depth")
    elif entry.needle_length_mm > rules.no_depth_max_length_mm:
        found = warn("ptx_unverified_depth", threshold=_mm(rules.no_depth_max_length_mm))
    else:
        return []
    # Rib bracketing keeps a needle over bone in an intercostal space; over the apex or below the ribs it
    # does not apply, so it is not offered there.
    if muscle.access != "intercostal":
        found = replace(found, precautions=tuple(p for p in found.precautions if p.code != "rib_bracketing"))
    return [found]


def _pregnancy(
    entry: PlannedNeedling, muscle: MuscleHazard, screening: ScreeningFlags, rules: SafetyRules, warn: Any
) -> list[SafetyWarning]:
    trimester = screening.pregnancy_trimester
    regions = [
        r
        for r in rules.pregnancy_regions
        if muscle.muscle_id in r.muscles and (trimester is None or trimester in r.trimesters)
    ]
    if not regions:
        return []
    found = warn("pregnancy_region", region="; ".join(r.label for r in regions), trimester=_trimester_words(trimester))
    # The message names the regions, so their sources go with it.
    parts = [part for text in (found.source, *(r.source for r in regions)) for part in text.split("; ")]
    source = "; ".join(dict.fromkeys(parts))  # each citation once, in order
    unverified = found.unverified or any(r.unverified for r in regions)
    return [replace(found, source=source, unverified=unverified)]


def _warn(
    rules: SafetyRules,
    code: str,
    muscle: MuscleHazard | None = None,
    entry: PlannedNeedling | None = None,
    **values: str,
) -> SafetyWarning:
    text = rules.texts[code]
    fields = dict.fromkeys(_TEMPLATE_FIELDS, "") | _muscle_fields(muscle, entry) | values
    message = " ".join(text.message.format(**fields).split())
    return SafetyWarning(
        code=code,
        severity=RULE_SEVERITY[code],
        message=message,
        source=text.source if code != "ptx_unverified_depth" else f"{text.source}; threshold: {rules.no_depth_source}",
        muscle_id=muscle.muscle_id if muscle else None,
        side=entry.side if entry else values.get("side"),
        unverified=text.unverified,
        precautions=tuple(rules.precautions[p] for p in text.precautions),
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


def _trimester_words(trimester: int | None) -> str:
    return _TRIMESTER_WORDS.get(trimester, "trimester not recorded") if trimester else "trimester not recorded"


def _mm(value: float) -> str:
    return f"{value:g}"


def _side_words(sides: frozenset[str]) -> str:
    return _SIDE_WORDS["both" if len(sides) > 1 else min(sides)]


def _positive_number(value: object) -> bool:
    # bool is an int in Python; True millimetres is a bug in the caller, not a needle length.
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0


def _expand(side: str) -> frozenset[str]:
    return frozenset({"left", "right"}) if side == "both" else frozenset({side})
