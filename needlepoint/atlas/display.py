"""What the atlas pages show, ready for the templates: body charts, the ranked muscles, findings and badges.

No database access and no requests here; views pass in what they fetched.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from needlepoint.atlas.catalogue import CONDITION_CODES, Muscle, body_map, muscles
from needlepoint.atlas.chart import (
    DRAWN_SIDE,
    TriggerPointMark,
    chart_views,
    intensity_text,
    trigger_point_marks,
    unverified_zones,
    zone_kinds,
)
from needlepoint.atlas.matcher import MuscleMatch, rank_muscles

HAZARD_BADGES = {
    "pneumothorax": ("bad", "Pneumothorax risk"),
    "nerve_vessel": ("warn", "Nerve or vessel nearby"),
    "organ": ("warn", "Organ nearby"),
    "low": ("ok", "Low hazard"),
}
PLEURA_ACCESS_WORDS = {
    "lung_apex": "at the lung apex: the pleural dome rises above the first rib and the medial clavicle",
    "intercostal": "through an intercostal space: the pleura lies just deep to the ribs",
    "below_12th_rib": "below the 12th rib: the pleural recess reaches the 12th rib and below it near the spine",
}
RANKED_SHOWN = 10
RANKED_MORE = 15
SIDE_WORDS = {"left": "left", "right": "right", "both": "either side"}


@dataclass(frozen=True)
class ChartShape:
    """A region as drawn: path, spoken label, state (intensity 0-10, 'u' unrated, '' unmarked) or zone kind."""

    code: str
    name: str
    svg: str
    label: str
    state: str
    zone: str
    x: float
    y: float


@dataclass(frozen=True)
class ChartPanel:
    """One view of a chart, with its shapes and trigger-point marks."""

    view: str
    label: str
    outline: str
    shapes: tuple[ChartShape, ...]
    marks: tuple[TriggerPointMark, ...] = ()


@dataclass(frozen=True)
class Chart:
    """A body chart (front and back side by side) as a page shows it; ``attribution`` is the CHOIR credit."""

    chart_id: str
    panels: tuple[ChartPanel, ...]
    attribution: str
    editable: bool = False
    caption: str = ""
    kind: str = "drawing"


def drawing_chart(
    drawing: Mapping[str, Any] | None, chart_id: str, *, editable: bool = False, caption: str = ""
) -> Chart:
    """A pain drawing on the chart: each region filled by its intensity (or marked unrated)."""
    drawing = drawing or {}
    panels = []
    for view in chart_views():
        shapes = []
        for s in view.shapes:
            marked = s.code in drawing
            value = drawing.get(s.code)
            state = ("u" if value is None else str(int(value))) if marked else ""
            spoken = intensity_text(value) if marked else "not marked"
            shapes.append(ChartShape(s.code, s.name, s.svg, f"{s.name}, {view.view}: {spoken}", state, "", s.x, s.y))
        panels.append(ChartPanel(view.view, view.label, view.outline, tuple(shapes)))
    return Chart(chart_id, tuple(panels), chart_views()[0].attribution, editable, caption)


def zones_chart(muscle: Muscle, chart_id: str, trigger_point: str | None = None) -> Chart:
    """A muscle's referral zones (primary darker than spill-over) and its trigger points, on the patient's right."""
    kinds = zone_kinds(muscle, DRAWN_SIDE, trigger_point)
    unverified = unverified_zones(muscle, DRAWN_SIDE, trigger_point)
    marks = trigger_point_marks(muscle, DRAWN_SIDE)
    words = {"primary": "primary referral zone", "spillover": "spill-over zone"}
    panels = []
    for view in chart_views():
        shapes = []
        for s in view.shapes:
            zone = kinds.get(s.code, "")
            spoken = words[zone] if zone else "no referred pain"
            if s.code in unverified:
                spoken += " (unverified)"
                zone += " unverified"
            shapes.append(ChartShape(s.code, s.name, s.svg, f"{s.name}, {view.view}: {spoken}", "", zone, s.x, s.y))
        panel_marks = tuple(m for m in marks if m.view == view.view)
        panels.append(ChartPanel(view.view, view.label, view.outline, tuple(shapes), panel_marks))
    return Chart(chart_id, tuple(panels), chart_views()[0].attribution, kind="zones")


@dataclass(frozen=True)
class MarkedRegion:
    """A marked region of a drawing, as listed beside or under the chart."""

    code: str
    name: str
    view: str
    intensity: int | None
    text: str


def marked_regions(drawing: Mapping[str, Any] | None) -> list[MarkedRegion]:
    """The drawing's regions in chart order, with their pain in words."""
    regions = body_map().regions
    rows = []
    for code, region in regions.items():
        if drawing and code in drawing:
            value = drawing[code]
            rows.append(MarkedRegion(code, region.name, region.view, value, intensity_text(value)))
    return rows


def hazard_badges(kinds: Iterable[str], unverified: bool = False) -> list[tuple[str, str]]:
    """(css class, text) per hazard kind, for the badge markup."""
    badges = [HAZARD_BADGES.get(k, ("warn", k)) for k in kinds]
    if unverified:
        badges.append(("info", "hazard unverified"))
    return badges


def matcher_condition(condition: str | None) -> str | None:
    """The episode's condition code as the matcher knows it (None when the atlas does not list it)."""
    return condition if condition in CONDITION_CODES else None


@dataclass(frozen=True)
class RankedRow:
    """One ranked muscle with what the row shows and what its 'record a finding' form offers."""

    rank: int
    match: MuscleMatch
    percent: int
    side_words: str
    badges: list[tuple[str, str]]
    trigger_points: list[tuple[str, str]] = field(default_factory=list)
    default_side: str = ""
    default_trigger_point: str = ""


def ranked_rows(
    drawing: Mapping[str, Any], condition: str | None, limit: int = RANKED_SHOWN + RANKED_MORE
) -> list[RankedRow]:
    """The matcher's ranking of a (valid) drawing, as rows with badges and finding-form defaults."""
    atlas = muscles()
    rows = []
    for rank, match in enumerate(rank_muscles(drawing, matcher_condition(condition), limit=limit), start=1):
        muscle = atlas[match.muscle_id]
        points = trigger_point_choices(muscle)
        rows.append(
            RankedRow(
                rank=rank,
                match=match,
                percent=round(match.score * 100),
                side_words=SIDE_WORDS.get(match.side, match.side),
                badges=hazard_badges(match.hazard_kinds, match.hazard_unverified),
                trigger_points=points,
                default_side=match.side if match.side in ("left", "right") else "",
                default_trigger_point=match.trigger_point or (points[0][0] if len(points) == 1 else ""),
            )
        )
    return rows


def trigger_point_choices(muscle: Muscle) -> list[tuple[str, str]]:
    """(code, label) for each trigger point of a muscle, the label shortened for a select."""
    choices = []
    for tp in muscle.trigger_points:
        location = " ".join(tp.location.split())
        short = location if len(location) <= 70 else location[:67].rstrip(" ,;") + "…"
        choices.append((tp.code, f"{tp.code}: {short}"))
    return choices


def muscle_point_groups() -> list[tuple[str, list[tuple[str, str]]]]:
    """For the 'any muscle' finding form: (muscle name, [(muscle_id|tp_code, label)]) in atlas order."""
    return [
        (m.name, [(f"{m.id}|{code}", label) for code, label in trigger_point_choices(m)]) for m in muscles().values()
    ]


@dataclass(frozen=True)
class ComparedRegion:
    """A region marked in either of two drawings, with its pain in each ('—' where unmarked)."""

    name: str
    view: str
    before: str
    now: str


def compare_drawings(before: Mapping[str, Any] | None, now: Mapping[str, Any] | None) -> list[ComparedRegion]:
    """Every region marked in either drawing, in chart order, for the printed side-by-side table."""
    before, now = before or {}, now or {}
    rows = []
    for code, region in body_map().regions.items():
        if code in before or code in now:
            rows.append(
                ComparedRegion(
                    region.name,
                    region.view,
                    intensity_text(before[code]) if code in before else "—",
                    intensity_text(now[code]) if code in now else "—",
                )
            )
    return rows


INTENSITIES = tuple(range(11))


@dataclass(frozen=True)
class ZoneRow:
    """A referral zone in words: region name (without side), view, primary or spill-over, and its flags."""

    name: str
    view: str
    kind: str
    contralateral: bool
    unverified: bool


def zone_rows(muscle: Muscle, trigger_point: str | None = None) -> list[ZoneRow]:
    """The zones of the muscle's pattern (or of one trigger point's own), primary first, as a list to read."""
    pattern = muscle.referral
    if trigger_point is not None:
        pattern = next(tp.referral for tp in muscle.trigger_points if tp.code == trigger_point) or muscle.referral
    regions = body_map().regions
    rows = []
    for kind, zones in (("primary", pattern.primary), ("spill-over", pattern.spillover)):
        for zone in zones:
            region = regions[zone.region_code(DRAWN_SIDE, body_map())]
            rows.append(
                ZoneRow(
                    region.plain_name[0].upper() + region.plain_name[1:],
                    zone.view,
                    kind,
                    zone.contralateral,
                    zone in pattern.unverified,
                )
            )
    return rows
