"""The trigger-point atlas data: body regions, muscles, trigger points, referral zones and hazards.

Two data files in ``needlepoint/atlas/data/`` hold the clinical content; this module loads them, validates them and
returns frozen dataclasses. Nothing clinical is written here.

- ``regions.json``: the body-region vocabulary of the pain drawing. Each region has a stable code (``temple-l``,
  ``between-shoulder-blades``), a plain name, a view (front or back), a side (left, right or midline), an SVG path
  in a 400 x 800 view box per view, and the CHOIR body-map regions it lies in. The file also holds the body outline
  of each view, the 74 CHOIR keys and the CHOIR attribution, which must be shown wherever the shapes are shown.
- ``muscles.json``: the muscles of the project's cross-checked muscle table with their trigger points, referral
  zones (primary and spill-over), the episode conditions they contribute to, their needling hazard and their
  sources (keys of the project's references). A muscle is described for ONE side: a zone names a region
  without its side suffix (``temple``), listed under the view on
  which the region is drawn; ``contra:`` names the opposite side; a midline region is named by its full code.
  Each entry names the anatomical muscle it belongs to (``anatomical_muscle``: the trapezius parts are one
  trapezius, the two sternocleidomastoid heads one sternocleidomastoid); an entry that stands for a group of
  muscles (scalenes, hamstrings) lists its ``members`` and, where the sources allow, each trigger point names the
  member(s) it lies in. CPT counting (``visits/cpt.py``) reads these through ``muscle_anatomy``.

Loading fails with ``AtlasDataError`` naming the file and the entry when the data are inconsistent (an unknown
region, a muscle without a source, a zone on the wrong view, a duplicate code, an unknown condition or CHOIR key).
Loaded data are cached per file path.

Pure Python: imports nothing from Django.
"""

from __future__ import annotations

import difflib
import functools
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from needlepoint.references import references as project_references

DATA_DIR = Path(__file__).parent / "data"
REGIONS_FILE = DATA_DIR / "regions.json"
MUSCLES_FILE = DATA_DIR / "muscles.json"

VIEWS = ("front", "back")
SIDES = ("left", "right", "midline")
SIDE_SUFFIX = {"left": "-l", "right": "-r"}
OPPOSITE_SIDE = {"left": "right", "right": "left"}
CONDITION_CODES = (
    "neck_pain",
    "low_back_pain",
    "migraine",
    "tension_type_headache",
    "lateral_epicondylalgia",
    "tendinopathy",
    "sciatica",
    "joint_spine_dysfunction",
    "other",
)
HAZARD_KINDS = ("pneumothorax", "nerve_vessel", "organ", "low")
# How a needle can reach the pleura: aimed at the lung apex above the first rib and clavicle, through an intercostal
# space over the ribs, or below the 12th rib where the pleural recess extends past it. Safety reminders differ
# (rib bracketing only helps over the ribs), so every pneumothorax hazard names one.
PLEURA_ACCESS = ("lung_apex", "intercostal", "below_12th_rib")
# Every depth figure in the atlas is a group figure; no one patient's pleura is at that depth.
DEPTH_FIGURE_LABEL = "population average from healthy volunteers and cadavers, not a safe depth for this patient"
# The CHOIR body map has 36 front and 38 back regions; a different count means the wrong file was stored.
CHOIR_REGION_COUNT = 74
VIEWBOX = (400.0, 800.0)
CONTRA_PREFIX = "contra:"

_CODE_PATTERN = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_CHOIR_KEY_PATTERN = re.compile(r"^[fb]\d\d$")
_SVG_PATTERN = re.compile(r"^(M[-\d. ,]+Z ?)+$")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


class AtlasDataError(ValueError):
    """An atlas data file is inconsistent; the message names the file and the entry at fault."""


class UnknownRegionError(ValueError):
    """A region code or name is not in the vocabulary; the message lists the closest matches."""


@dataclass(frozen=True)
class Region:
    """One body region of the pain drawing, drawn on one view, with the CHOIR regions it lies in."""

    code: str
    name: str
    view: str
    side: str
    svg: str
    choir: tuple[str, ...]

    @property
    def base_code(self) -> str:
        """The code without its side suffix (``temple`` for ``temple-l``); midline codes are unchanged."""
        suffix = SIDE_SUFFIX.get(self.side)
        return self.code[: -len(suffix)] if suffix else self.code

    @property
    def plain_name(self) -> str:
        """The name without the side in brackets, in lower case for use inside a sentence."""
        name = self.name.removesuffix(f" ({self.side})") if self.side in SIDE_SUFFIX else self.name
        # Keep abbreviations such as "TMJ" intact; only a capitalised ordinary word is lowered.
        return name[0].lower() + name[1:] if name[1:2].islower() else name


@dataclass(frozen=True)
class BodyMap:
    """The whole region vocabulary: regions by code, the outline of each view and the CHOIR reference."""

    regions: Mapping[str, Region]
    outlines: Mapping[str, str]
    choir_regions: Mapping[str, str]
    choir_attribution: str


@dataclass(frozen=True)
class Source:
    """A reference behind an atlas entry: its key in the project's references and the full citation."""

    key: str
    citation: str


@dataclass(frozen=True)
class Zone:
    """One referral zone as written for a muscle: a region base code, its view, and whether it is contralateral."""

    base: str
    view: str
    contralateral: bool = False

    def region_code(self, side: str, body_map: BodyMap) -> str:
        """The region code this zone stands for when the muscle on ``side`` ("left"/"right") is the source."""
        if self.base in body_map.regions:
            return self.base
        target = OPPOSITE_SIDE[side] if self.contralateral else side
        return self.base + SIDE_SUFFIX[target]

    def __str__(self) -> str:
        return (CONTRA_PREFIX if self.contralateral else "") + self.base


@dataclass(frozen=True)
class ReferralPattern:
    """Where a trigger point sends pain: its primary (essential) zone and its spill-over zone."""

    primary: tuple[Zone, ...]
    spillover: tuple[Zone, ...]
    unverified: tuple[Zone, ...] = ()
    note: str = ""

    @property
    def zones(self) -> tuple[Zone, ...]:
        """All zones, primary first."""
        return self.primary + self.spillover


@dataclass(frozen=True)
class TriggerPoint:
    """A trigger point of a muscle: its usual location, the body region holding it, its source and its own pattern.

    ``site`` is the region (written like a zone, for one side) where the location lies; it places the point on the
    chart and lets the matcher count pain drawn at the point itself. It shares the trigger point's source.
    """

    code: str
    location: str
    source: Source
    unverified: bool
    referral: ReferralPattern | None
    site: Zone
    # The group members (anatomical muscles) this trigger point lies in; empty where the sources do not say, or
    # where the atlas entry is one anatomical muscle.
    members: tuple[str, ...] = ()


@dataclass(frozen=True)
class Hazard:
    """What the needle can injure near a muscle, with a safe depth where one is sourced."""

    kinds: tuple[str, ...]
    note: str
    structures: tuple[str, ...]
    over_thorax: bool
    safe_depth_mm: float | None
    safe_depth_source: str | None
    unverified: bool
    sources: tuple[Source, ...]
    # For a pneumothorax hazard: "lung_apex", "intercostal" or "below_12th_rib" (see PLEURA_ACCESS); else None.
    pleura_access: str | None = None


@dataclass(frozen=True)
class Muscle:
    """A muscle of the atlas: trigger points, referral pattern, conditions, hazard and sources."""

    id: str
    name: str
    body_area: str
    clinical_md_row: int | None
    trigger_points: tuple[TriggerPoint, ...]
    referral: ReferralPattern
    conditions: tuple[str, ...]
    tags: tuple[str, ...]
    presentations: tuple[str, ...]
    hazard: Hazard
    sources: tuple[Source, ...]
    # True for a muscle taken from a source outside the cross-checked muscle table (not cross-checked).
    unverified: bool = False
    # The anatomical muscle the entry belongs to ("trapezius" for its upper, middle and lower parts); for a group
    # entry, the group's name, and ``members`` lists the anatomical muscles in it.
    anatomical_muscle: str = ""
    members: tuple[str, ...] = ()
    # Common names and abbreviations clinicians search by ("SCM", "QL"); several entries may share one.
    also_known_as: tuple[str, ...] = ()


@dataclass(frozen=True)
class MissingMuscle:
    """A muscle clinicians treat that the atlas does not hold yet, and why (shown so no ranking looks complete)."""

    name: str
    body_area: str
    reason: str


@dataclass(frozen=True)
class MuscleAnatomy:
    """What an atlas entry counts as anatomically: its muscle, or for a group its members and trigger-point map."""

    anatomical_muscle: str
    members: tuple[str, ...]
    trigger_point_members: Mapping[str, tuple[str, ...]]

    def candidates(self, trigger_point: str = "") -> frozenset[str]:
        """The anatomical muscles a needling at ``trigger_point`` may have reached.

        One muscle for a single-muscle entry. For a group, the members the trigger point lies in, or every member
        when the trigger point is not given or not mapped to a member (the entry then stands for one muscle of
        the group, never more).
        """
        if not self.members:
            return frozenset({self.anatomical_muscle})
        return frozenset(self.trigger_point_members.get(trigger_point) or self.members)


# ---------------------------------------------------------------------------------------------------------------
# Public loaders


def body_map(path: Path | str | None = None) -> BodyMap:
    """The validated region vocabulary of ``regions.json`` (or of ``path``), loaded once per path."""
    return _load_body_map(Path(path) if path else REGIONS_FILE)


def regions(path: Path | str | None = None) -> dict[str, Region]:
    """All body regions by code, in file order."""
    return dict(body_map(path).regions)


def muscles(path: Path | str | None = None, regions_path: Path | str | None = None) -> dict[str, Muscle]:
    """All muscles by id, validated against the region vocabulary, in file order."""
    return dict(_load_muscles(Path(path) if path else MUSCLES_FILE, Path(regions_path) if regions_path else None))


def not_yet_in_atlas(path: Path | str | None = None) -> tuple[MissingMuscle, ...]:
    """The muscles listed in ``muscles.json`` as not yet in the atlas, each with its body area and the reason.

    Raises ``AtlasDataError`` when an entry lacks a name, area or reason, or names a muscle the atlas holds.
    """
    return _load_missing(Path(path) if path else MUSCLES_FILE)


def muscle_anatomy(path: Path | str | None = None) -> dict[str, MuscleAnatomy]:
    """Atlas muscle id -> the anatomical muscle (or group members) it counts as, for CPT counting."""
    return {
        m.id: MuscleAnatomy(
            m.anatomical_muscle,
            m.members,
            MappingProxyType({tp.code: tp.members for tp in m.trigger_points if tp.members}),
        )
        for m in muscles(path).values()
    }


# ---------------------------------------------------------------------------------------------------------------
# Where a needle or a finger went: a muscle of the atlas, a side, one of the muscle's trigger points

# A muscle is described for one side and can be found or needled on either.
BODY_SIDES = ("left", "right")


class MuscleSiteError(ValueError):
    """A muscle, side or trigger point the atlas does not hold; ``problems`` maps each field to its message."""

    def __init__(self, problems: Mapping[str, str]) -> None:
        self.problems = dict(problems)
        super().__init__(" ".join(self.problems.values()))


@dataclass(frozen=True)
class MuscleSite:
    """A checked muscle, side and trigger point: the one rule for palpation findings and needling entries."""

    muscle: Muscle
    side: str
    trigger_point: str


def find_muscle(muscle_id: object, path: Path | str | None = None) -> Muscle:
    """The atlas muscle with this id; ``MuscleSiteError`` on ``muscle_id`` when there is none."""
    text = "" if muscle_id is None else str(muscle_id).strip()
    found = muscles(path).get(text)
    if found is not None:
        return found
    if not text:
        raise MuscleSiteError({"muscle_id": "Choose a muscle of the atlas."})
    raise MuscleSiteError({"muscle_id": f"Unknown muscle {text!r}; choose a muscle of the atlas."})


def check_side(side: object) -> str:
    """The side, left or right; ``MuscleSiteError`` on ``side`` otherwise."""
    if side not in BODY_SIDES:
        raise MuscleSiteError({"side": "Choose the left or the right side."})
    return str(side)


def trigger_point_of(muscle: Muscle, trigger_point: object) -> str:
    """The code of the trigger point meant: the one given, which must be one of the muscle's; left blank, the
    muscle's only trigger point when it has one (so the record names it, as a finding of the same point does), and
    a choice asked for when it has several. ``MuscleSiteError`` on ``trigger_point``."""
    given = "" if trigger_point is None else str(trigger_point).strip()
    codes = [tp.code for tp in muscle.trigger_points]
    if given in codes:
        return given
    choose = f"choose one of {', '.join(codes)}." if codes else "it has none in the atlas; leave it blank."
    if given:
        raise MuscleSiteError({"trigger_point": f"{muscle.name} has no trigger point {given!r}; {choose}"})
    if len(codes) > 1:
        raise MuscleSiteError({"trigger_point": f"{muscle.name} has several trigger points; {choose}"})
    return codes[0] if codes else ""


def muscle_site(muscle_id: object, side: object, trigger_point: object, path: Path | str | None = None) -> MuscleSite:
    """A muscle, side and trigger point checked against the atlas, every problem reported at once (by field)."""
    problems: dict[str, str] = {}
    muscle: Muscle | None = None
    checked_side = ""
    code = ""
    try:
        muscle = find_muscle(muscle_id, path)
    except MuscleSiteError as exc:
        problems |= exc.problems
    try:
        checked_side = check_side(side)
    except MuscleSiteError as exc:
        problems |= exc.problems
    if muscle is not None:
        try:
            code = trigger_point_of(muscle, trigger_point)
        except MuscleSiteError as exc:
            problems |= exc.problems
    if problems or muscle is None:
        raise MuscleSiteError(problems)
    return MuscleSite(muscle, checked_side, code)


def find_region(text: str, path: Path | str | None = None) -> Region:
    """The region whose code or name equals ``text`` (case and spacing ignored).

    Raises ``UnknownRegionError`` listing the closest codes and names when nothing matches.
    """
    lookup = _region_lookup(Path(path) if path else REGIONS_FILE)
    key = _normalise(text)
    if key in lookup:
        return lookup[key]
    raise UnknownRegionError(unknown_region_message(text, path))


def unknown_region_message(text: str, path: Path | str | None = None) -> str:
    """A message for an unknown region that suggests the closest codes and names."""
    return _unknown_region_message(text, body_map(path).regions)


def _unknown_region_message(text: str, table: Mapping[str, Region]) -> str:
    return f"Unknown body region {text!r}." + _suggestions(text, table)


def _suggestions(text: str, table: Mapping[str, Region]) -> str:
    candidates = {_normalise(r.code): r for r in table.values()} | {_normalise(r.name): r for r in table.values()}
    close = difflib.get_close_matches(_normalise(text), list(candidates), n=5, cutoff=0.6)
    seen: list[Region] = []
    for match in close:
        if candidates[match] not in seen:
            seen.append(candidates[match])
    hint = "; ".join(f"{r.code} ({r.name})" for r in seen)
    return f" Did you mean: {hint}?" if hint else ""


# ---------------------------------------------------------------------------------------------------------------
# Regions


@functools.cache
def _load_body_map(path: Path) -> BodyMap:
    data = _read_json(path)
    where = path.name
    outlines = _validate_views(data.get("views"), where)
    choir_regions, attribution = _validate_choir(data.get("choir"), where)
    entries = data.get("regions")
    if not isinstance(entries, list) or not entries:
        raise AtlasDataError(f"{where}: 'regions' must be a non-empty list")
    table: dict[str, Region] = {}
    for index, entry in enumerate(entries):
        region = _parse_region(entry, f"{where}: region #{index + 1}", choir_regions)
        if region.code in table:
            raise AtlasDataError(f"{where}: duplicate region code {region.code!r}")
        table[region.code] = region
    _check_mirrors(table, where)
    return BodyMap(MappingProxyType(table), MappingProxyType(outlines), MappingProxyType(choir_regions), attribution)


def _validate_views(views: Any, where: str) -> dict[str, str]:
    if not isinstance(views, dict) or set(views) != set(VIEWS):
        raise AtlasDataError(f"{where}: 'views' must describe exactly the views {list(VIEWS)}")
    outlines: dict[str, str] = {}
    for view in VIEWS:
        outline = views[view].get("outline") if isinstance(views[view], dict) else None
        _check_svg(outline, f"{where}: outline of the {view} view")
        outlines[view] = str(outline)
    return outlines


def _validate_choir(choir: Any, where: str) -> tuple[dict[str, str], str]:
    if not isinstance(choir, dict):
        raise AtlasDataError(f"{where}: 'choir' (CHOIR keys and attribution) is missing")
    attribution = choir.get("attribution")
    if not isinstance(attribution, str) or "CHOIR" not in attribution:
        raise AtlasDataError(f"{where}: the CHOIR attribution text is missing")
    keys = choir.get("regions")
    if not isinstance(keys, dict) or len(keys) != CHOIR_REGION_COUNT:
        raise AtlasDataError(f"{where}: 'choir.regions' must list the {CHOIR_REGION_COUNT} CHOIR keys")
    for key, title in keys.items():
        if not _CHOIR_KEY_PATTERN.match(key) or not isinstance(title, str) or not title:
            raise AtlasDataError(f"{where}: malformed CHOIR key {key!r}")
    return dict(keys), attribution


def _parse_region(entry: Any, where: str, choir_regions: Mapping[str, str]) -> Region:
    if not isinstance(entry, dict):
        raise AtlasDataError(f"{where}: must be an object")
    code = entry.get("code")
    if not isinstance(code, str) or not _CODE_PATTERN.match(code):
        raise AtlasDataError(f"{where}: code {code!r} must be lower-case words joined by hyphens")
    where = f"{where.split(':')[0]}: region {code!r}"
    name, view, side = entry.get("name"), entry.get("view"), entry.get("side")
    if not isinstance(name, str) or not name.strip():
        raise AtlasDataError(f"{where}: a plain name is required")
    if view not in VIEWS:
        raise AtlasDataError(f"{where}: view {view!r} must be one of {list(VIEWS)}")
    if side not in SIDES:
        raise AtlasDataError(f"{where}: side {side!r} must be one of {list(SIDES)}")
    _check_side_naming(code, name, side, where)
    _check_svg(entry.get("svg"), f"{where}: svg")
    choir = entry.get("choir")
    if not isinstance(choir, list) or not choir:
        raise AtlasDataError(f"{where}: 'choir' must list at least one CHOIR key")
    for key in choir:
        _check_choir_key(key, view, side, choir_regions, where)
    return Region(code, name, view, side, entry["svg"], tuple(choir))


def _check_side_naming(code: str, name: str, side: str, where: str) -> None:
    ends_sided = code.endswith(tuple(SIDE_SUFFIX.values()))
    if side == "midline":
        if ends_sided:
            raise AtlasDataError(f"{where}: a midline region's code must not end in -l or -r")
        return
    if not code.endswith(SIDE_SUFFIX[side]):
        raise AtlasDataError(f"{where}: a {side} region's code must end in {SIDE_SUFFIX[side]!r}")
    if not name.endswith(f"({side})"):
        raise AtlasDataError(f"{where}: the name must end with '({side})'")


def _check_choir_key(key: Any, view: str, side: str, choir_regions: Mapping[str, str], where: str) -> None:
    if key not in choir_regions:
        raise AtlasDataError(f"{where}: unknown CHOIR key {key!r}")
    if key[0] != view[0]:
        raise AtlasDataError(f"{where}: CHOIR region {key} ({choir_regions[key]}) is not on the {view} view")
    title = choir_regions[key]
    if side != "midline" and f"-{side})" not in title:
        raise AtlasDataError(f"{where}: CHOIR region {key} ({title}) is not on the {side} side")


def _check_svg(svg: Any, where: str) -> None:
    if not isinstance(svg, str) or not _SVG_PATTERN.match(svg):
        raise AtlasDataError(f"{where}: must be an SVG path of closed polygons ('M x,y x,y ... Z')")
    numbers = [float(n) for n in _NUMBER.findall(svg)]
    if len(numbers) < 6 or len(numbers) % 2:
        raise AtlasDataError(f"{where}: the SVG path needs at least three x,y points")
    xs, ys = numbers[0::2], numbers[1::2]
    if min(xs) < 0 or min(ys) < 0 or max(xs) > VIEWBOX[0] or max(ys) > VIEWBOX[1]:
        raise AtlasDataError(f"{where}: the SVG path leaves the 0 0 400 800 view box")


def _check_mirrors(table: Mapping[str, Region], where: str) -> None:
    # The matcher mirrors one-sided muscle descriptions, so every sided region needs its twin.
    for region in table.values():
        if region.side in SIDE_SUFFIX:
            twin = region.base_code + SIDE_SUFFIX[OPPOSITE_SIDE[region.side]]
            if twin not in table:
                raise AtlasDataError(f"{where}: region {region.code!r} has no mirror region {twin!r}")
            if table[twin].view != region.view:
                raise AtlasDataError(f"{where}: regions {region.code!r} and {twin!r} are on different views")


@functools.cache
def _region_lookup(path: Path) -> dict[str, Region]:
    table = _load_body_map(path).regions
    lookup = {_normalise(r.name): r for r in table.values()}
    lookup.update({_normalise(r.code): r for r in table.values()})
    return lookup


def _normalise(text: str) -> str:
    return " ".join(str(text).lower().split())


# ---------------------------------------------------------------------------------------------------------------
# Muscles


@functools.cache
def _load_muscles(path: Path, regions_path: Path | None) -> Mapping[str, Muscle]:
    data = _read_json(path)
    where = path.name
    bmap = body_map(regions_path)
    sources = _parse_sources(data.get("sources"), where)
    tags = _parse_tags(data.get("tags"), where)
    entries = data.get("muscles")
    if not isinstance(entries, list) or not entries:
        raise AtlasDataError(f"{where}: 'muscles' must be a non-empty list")
    table: dict[str, Muscle] = {}
    context = _Context(where, bmap, sources, tags)
    for index, entry in enumerate(entries):
        muscle = _parse_muscle(entry, index, context)
        if muscle.id in table:
            raise AtlasDataError(f"{where}: duplicate muscle id {muscle.id!r}")
        table[muscle.id] = muscle
    return MappingProxyType(table)


@functools.cache
def _load_missing(path: Path) -> tuple[MissingMuscle, ...]:
    where = f"{path.name}: not_yet_in_the_atlas"
    section = _read_json(path).get("not_yet_in_the_atlas")
    entries = section.get("muscles") if isinstance(section, dict) else None
    if not isinstance(entries, list):
        raise AtlasDataError(f"{where}: 'muscles' must list the muscles not yet in the atlas")
    held = {m.name.lower() for m in _load_muscles(path, None).values()}
    out = []
    for index, entry in enumerate(entries):
        fields = [entry.get(k) if isinstance(entry, dict) else None for k in ("name", "body_area", "reason")]
        if not all(isinstance(f, str) and f.strip() for f in fields):
            raise AtlasDataError(f"{where}: entry #{index + 1} needs a name, a body_area and a reason")
        name, body_area, reason = (str(f) for f in fields)
        if name.lower() in held:
            raise AtlasDataError(f"{where}: {fields[0]!r} is in the atlas already")
        out.append(MissingMuscle(name, body_area, reason))
    return tuple(out)


@dataclass(frozen=True)
class _Context:
    where: str
    body_map: BodyMap
    sources: Mapping[str, Source]
    tags: Mapping[str, tuple[str, ...]]


def _parse_sources(raw: Any, where: str) -> dict[str, Source]:
    # The citations live in the project's one references file; a muscles file keeps no list of its own, so a key
    # cited here is valid exactly when that file has it (checked per entry in _resolve_sources).
    if raw:
        raise AtlasDataError(f"{where}: 'sources' belong in the project's references file, not in the atlas")
    return {key: Source(key, ref.citation) for key, ref in project_references().items()}


def _parse_tags(raw: Any, where: str) -> dict[str, tuple[str, ...]]:
    if not isinstance(raw, dict):
        raise AtlasDataError(f"{where}: 'tags' (muscle-table tag -> condition codes) is missing")
    out = {}
    for tag, spec in raw.items():
        codes = spec.get("conditions") if isinstance(spec, dict) else None
        if not isinstance(codes, list) or not codes or any(c not in CONDITION_CODES for c in codes):
            raise AtlasDataError(f"{where}: tag {tag!r} must map onto known condition codes")
        out[tag] = tuple(codes)
    return out


def _parse_muscle(entry: Any, index: int, ctx: _Context) -> Muscle:
    if not isinstance(entry, dict):
        raise AtlasDataError(f"{ctx.where}: muscle #{index + 1} must be an object")
    mid = entry.get("id")
    if not isinstance(mid, str) or not _CODE_PATTERN.match(mid):
        raise AtlasDataError(f"{ctx.where}: muscle #{index + 1} has a malformed id {mid!r}")
    where = f"{ctx.where}: muscle {mid!r}"
    for field in ("name", "body_area"):
        if not isinstance(entry.get(field), str) or not entry[field].strip():
            raise AtlasDataError(f"{where}: '{field}' is required")
    sources = _resolve_sources(entry.get("sources"), ctx, f"{where}: sources")
    referral = _parse_pattern(entry.get("referral"), ctx, f"{where}: referral")
    anatomical, members = _parse_anatomy(entry, where)
    trigger_points = _parse_trigger_points(entry.get("trigger_points"), referral, ctx, where, members)
    conditions, tags = _parse_conditions(entry, ctx, where)
    presentations = entry.get("presentations", [])
    if not isinstance(presentations, list) or not all(isinstance(p, str) for p in presentations):
        raise AtlasDataError(f"{where}: 'presentations' must be a list of text")
    return Muscle(
        id=mid,
        name=entry["name"],
        body_area=entry["body_area"],
        clinical_md_row=entry.get("clinical_md_row"),
        trigger_points=trigger_points,
        referral=referral,
        conditions=conditions,
        tags=tags,
        presentations=tuple(presentations),
        hazard=_parse_hazard(entry.get("hazard"), ctx, f"{where}: hazard"),
        sources=sources,
        unverified=bool(entry.get("unverified")),
        anatomical_muscle=anatomical,
        members=members,
        also_known_as=tuple(_strings(entry.get("also_known_as", []), f"{where}: also_known_as")),
    )


def _parse_anatomy(entry: Mapping[str, Any], where: str) -> tuple[str, tuple[str, ...]]:
    anatomical = entry.get("anatomical_muscle")
    if not isinstance(anatomical, str) or not anatomical.strip():
        raise AtlasDataError(f"{where}: 'anatomical_muscle' (the muscle this entry belongs to) is required")
    members = entry.get("members", [])
    if not isinstance(members, list) or not all(isinstance(m, str) and m.strip() for m in members):
        raise AtlasDataError(f"{where}: 'members' must be a list of anatomical muscle names")
    if len(members) == 1:
        raise AtlasDataError(f"{where}: a group needs at least two members; name a single muscle in anatomical_muscle")
    if len(set(members)) != len(members):
        raise AtlasDataError(f"{where}: a member is listed twice")
    return anatomical, tuple(members)


def _resolve_sources(keys: Any, ctx: _Context, where: str) -> tuple[Source, ...]:
    if isinstance(keys, str):
        keys = [keys]
    if not isinstance(keys, list) or not keys:
        raise AtlasDataError(f"{where}: at least one source is required")
    for key in keys:
        if key not in ctx.sources:
            raise AtlasDataError(f"{where}: unknown source key {key!r}")
    return tuple(ctx.sources[k] for k in keys)


def _parse_pattern(raw: Any, ctx: _Context, where: str) -> ReferralPattern:
    if not isinstance(raw, dict):
        raise AtlasDataError(f"{where}: must have 'primary' and 'spillover' zones")
    primary = _parse_zones(raw.get("primary"), ctx, f"{where} primary")
    spillover = _parse_zones(raw.get("spillover", {}), ctx, f"{where} spillover")
    if not primary:
        raise AtlasDataError(f"{where}: the primary zone is empty")
    seen: set[Zone] = set()
    for zone in primary + spillover:
        if zone in seen:
            raise AtlasDataError(f"{where}: zone {str(zone)!r} is listed twice")
        seen.add(zone)
    by_text = {str(zone): zone for zone in seen}
    unverified = raw.get("unverified", [])
    for text in unverified:
        if text not in by_text:
            raise AtlasDataError(f"{where}: unverified zone {text!r} is not one of its zones")
    resolved = tuple(by_text[text] for text in unverified)
    return ReferralPattern(primary, spillover, resolved, str(raw.get("note", "")))


def _parse_zones(raw: Any, ctx: _Context, where: str) -> tuple[Zone, ...]:
    if not isinstance(raw, dict) or set(raw) - set(VIEWS):
        raise AtlasDataError(f"{where}: zones must be grouped by view ('front', 'back')")
    zones: list[Zone] = []
    for view, items in raw.items():
        if not isinstance(items, list):
            raise AtlasDataError(f"{where}: the {view} zones must be a list of region codes")
        zones.extend(_parse_zone_text(item, view, ctx, where) for item in items)
    return tuple(zones)


def _parse_zone_text(text: Any, view: str | None, ctx: _Context, where: str) -> Zone:
    if not isinstance(text, str):
        raise AtlasDataError(f"{where}: zone {text!r} must be a region code")
    contralateral = text.startswith(CONTRA_PREFIX)
    base = text.removeprefix(CONTRA_PREFIX)
    codes = _zone_region_codes(base, contralateral, ctx.body_map, where)
    drawn_on = {ctx.body_map.regions[c].view for c in codes}
    if view is not None and drawn_on != {view}:
        raise AtlasDataError(
            f"{where}: zone {text!r} is listed under the {view} view but region {codes[0]!r} is drawn on the "
            f"{ctx.body_map.regions[codes[0]].view} view"
        )
    return Zone(base, view or drawn_on.pop(), contralateral)


def _zone_region_codes(base: str, contralateral: bool, bmap: BodyMap, where: str) -> list[str]:
    table = bmap.regions
    if base in table:
        if table[base].side != "midline":
            raise AtlasDataError(
                f"{where}: zone {base!r} names one side; write it without its side suffix "
                f"({table[base].base_code!r}) so that it can be mirrored"
            )
        if contralateral:
            raise AtlasDataError(f"{where}: midline region {base!r} has no opposite side")
        return [base]
    codes = [base + suffix for suffix in SIDE_SUFFIX.values()]
    if not all(c in table for c in codes):
        raise AtlasDataError(f"{where}: unknown region {base!r}.{_suggestions(base, table)}")
    return codes


def _parse_trigger_points(
    raw: Any, referral: ReferralPattern, ctx: _Context, where: str, members: tuple[str, ...]
) -> tuple[TriggerPoint, ...]:
    if not isinstance(raw, list) or not raw:
        raise AtlasDataError(f"{where}: at least one trigger point is required")
    points: list[TriggerPoint] = []
    for item in raw:
        if not isinstance(item, dict) or not item.get("code") or not item.get("location"):
            raise AtlasDataError(f"{where}: every trigger point needs a code and a location")
        tp_where = f"{where}: trigger point {item['code']!r}"
        if any(p.code == item["code"] for p in points):
            raise AtlasDataError(f"{tp_where}: duplicate trigger-point code")
        (source,) = _resolve_sources(item.get("source"), ctx, tp_where)
        own = item.get("referral")
        pattern = _parse_pattern(own, ctx, f"{tp_where} referral") if own is not None else None
        if pattern:
            _check_subset(pattern, referral, tp_where)
        in_members = _trigger_point_members(item.get("member"), members, tp_where)
        site = _trigger_point_site(item.get("site"), ctx, tp_where)
        unverified = bool(item.get("unverified"))
        points.append(TriggerPoint(item["code"], item["location"], source, unverified, pattern, site, in_members))
    return tuple(points)


def _trigger_point_site(raw: Any, ctx: _Context, where: str) -> Zone:
    if not isinstance(raw, str) or not raw:
        raise AtlasDataError(f"{where}: 'site' (the body region that holds the trigger point) is required")
    if raw.startswith(CONTRA_PREFIX):
        raise AtlasDataError(f"{where}: site {raw!r} must lie on the muscle's own side")
    return _parse_zone_text(raw, None, ctx, f"{where}: site")


def _trigger_point_members(raw: Any, members: tuple[str, ...], where: str) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not members:
        raise AtlasDataError(f"{where}: 'member' is only for a group entry that lists its members")
    names = [raw] if isinstance(raw, str) else raw
    if not isinstance(names, list) or not names:
        raise AtlasDataError(f"{where}: 'member' must name a member or list several")
    unknown = [n for n in names if n not in members]
    if unknown:
        raise AtlasDataError(f"{where}: member(s) {unknown} are not among the entry's members {list(members)}")
    return tuple(names)


def _check_subset(pattern: ReferralPattern, whole: ReferralPattern, where: str) -> None:
    extra = [str(z) for z in pattern.zones if z not in whole.zones]
    if extra:
        raise AtlasDataError(f"{where}: zones {extra} are missing from the muscle's referral pattern")


def _parse_conditions(entry: Mapping[str, Any], ctx: _Context, where: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    conditions, tags = entry.get("conditions"), entry.get("tags", [])
    if not isinstance(conditions, list) or not conditions:
        raise AtlasDataError(f"{where}: at least one condition code is required")
    for code in conditions:
        if code not in CONDITION_CODES:
            raise AtlasDataError(f"{where}: unknown condition code {code!r}; use one of {list(CONDITION_CODES)}")
    if not isinstance(tags, list):
        raise AtlasDataError(f"{where}: 'tags' must be a list")
    for tag in tags:
        if tag not in ctx.tags:
            raise AtlasDataError(f"{where}: unknown muscle-table tag {tag!r}")
        missing = [c for c in ctx.tags[tag] if c not in conditions]
        if missing:
            raise AtlasDataError(f"{where}: tag {tag!r} implies conditions {missing} that are not listed")
    return tuple(conditions), tuple(tags)


def _parse_hazard(raw: Any, ctx: _Context, where: str) -> Hazard:
    if not isinstance(raw, dict):
        raise AtlasDataError(f"{where}: is required")
    kinds = raw.get("kinds")
    if not isinstance(kinds, list) or not kinds or any(k not in HAZARD_KINDS for k in kinds):
        raise AtlasDataError(f"{where}: kinds must be a non-empty subset of {list(HAZARD_KINDS)}")
    if "low" in kinds and len(kinds) > 1:
        raise AtlasDataError(f"{where}: 'low' cannot be combined with a named hazard")
    if not isinstance(raw.get("note"), str) or not raw["note"].strip():
        raise AtlasDataError(f"{where}: a note is required")
    depth = raw.get("safe_depth_mm")
    if depth is not None and (isinstance(depth, bool) or not isinstance(depth, int | float) or depth <= 0):
        raise AtlasDataError(f"{where}: safe_depth_mm must be a positive number of millimetres or null")
    if depth is not None and not raw.get("safe_depth_source"):
        raise AtlasDataError(f"{where}: a safe depth needs its safe_depth_source")
    access = raw.get("pleura_access")
    if "pneumothorax" in kinds and access not in PLEURA_ACCESS:
        raise AtlasDataError(f"{where}: a pneumothorax hazard needs pleura_access, one of {list(PLEURA_ACCESS)}")
    if "pneumothorax" not in kinds and access is not None:
        raise AtlasDataError(f"{where}: pleura_access belongs only to a pneumothorax hazard")
    structures = tuple(_strings(raw.get("structures", []), f"{where}: structures"))
    if "low" not in kinds and not structures:
        raise AtlasDataError(f"{where}: a named hazard must name the structures at risk")
    return Hazard(
        kinds=tuple(kinds),
        note=raw["note"],
        structures=structures,
        over_thorax=bool(raw.get("over_thorax")),
        safe_depth_mm=float(depth) if depth is not None else None,
        safe_depth_source=raw.get("safe_depth_source"),
        unverified=bool(raw.get("unverified")),
        sources=_resolve_sources(raw.get("sources"), ctx, f"{where} sources"),
        pleura_access=access,
    )


def _strings(items: Any, where: str) -> Iterable[str]:
    if not isinstance(items, list) or not all(isinstance(s, str) and s for s in items):
        raise AtlasDataError(f"{where}: must be a list of names")
    return items


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise AtlasDataError(f"{path}: file not found") from exc
    except json.JSONDecodeError as exc:
        raise AtlasDataError(f"{path.name}: not valid JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise AtlasDataError(f"{path.name}: the top level must be an object")
    return data
