"""The body chart as the pages draw it: region shapes with label points, referral zones and trigger-point marks.

Everything comes from the catalogue (``regions.json``, ``muscles.json``); each trigger point is drawn in its
``site`` region. The CHOIR attribution travels with every chart (``ChartView.attribution``), because it must be
shown wherever the shapes are.

Pure Python: imports nothing from Django.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from needlepoint.atlas.catalogue import (
    VIEWS,
    Muscle,
    ReferralPattern,
    body_map,
)

VIEW_LABELS = {"front": "Front", "back": "Back"}
# A muscle is drawn on the patient's right; the atlas describes each muscle for one side.
DRAWN_SIDE = "right"
# Trigger points that share a region are spread this far apart (view-box units) so each stays visible.
MARK_SPACING = 9.0

_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


@dataclass(frozen=True)
class Shape:
    """One region on the chart: its path and the point where its label or mark goes."""

    code: str
    name: str
    view: str
    side: str
    svg: str
    x: float
    y: float


@dataclass(frozen=True)
class ChartView:
    """One view of the body (front or back): outline, regions in file order, and the CHOIR attribution."""

    view: str
    label: str
    outline: str
    shapes: tuple[Shape, ...]
    attribution: str


@dataclass(frozen=True)
class TriggerPointMark:
    """Where a trigger point is drawn: its number on the chart, its region and the point in that region."""

    number: int
    code: str
    location: str
    region: str
    view: str
    x: float
    y: float
    unverified: bool


def chart_views() -> tuple[ChartView, ...]:
    """The front and the back view, each with every region shape and its label point."""
    return _chart_views()


def shapes_by_code() -> dict[str, Shape]:
    """Every region shape by region code."""
    return {shape.code: shape for view in chart_views() for shape in view.shapes}


def intensity_text(intensity: float | int | None) -> str:
    """'pain 6 of 10', or 'marked, not rated'."""
    if intensity is None:
        return "marked, not rated"
    return f"pain {_number(intensity)} of 10"


def zone_kinds(muscle: Muscle, side: str = DRAWN_SIDE, trigger_point: str | None = None) -> dict[str, str]:
    """Region code -> 'primary' or 'spillover' for the muscle's pattern on ``side`` (or one trigger point's own).

    A region that is primary in one place and spill-over in another counts as primary.
    """
    pattern = _pattern(muscle, trigger_point)
    bmap = body_map()
    kinds: dict[str, str] = {}
    for zone in pattern.spillover:
        kinds[zone.region_code(side, bmap)] = "spillover"
    for zone in pattern.primary:
        kinds[zone.region_code(side, bmap)] = "primary"
    return kinds


def unverified_zones(muscle: Muscle, side: str = DRAWN_SIDE, trigger_point: str | None = None) -> set[str]:
    """Region codes of the zones the data mark as unverified."""
    bmap = body_map()
    return {zone.region_code(side, bmap) for zone in _pattern(muscle, trigger_point).unverified}


def trigger_point_marks(muscle: Muscle, side: str = DRAWN_SIDE) -> list[TriggerPointMark]:
    """The muscle's trigger points, numbered 1.., each placed in its region; several in one region are spread."""
    bmap = body_map()
    shapes = shapes_by_code()
    placed: dict[str, int] = {}
    totals: dict[str, int] = {}
    for tp in muscle.trigger_points:
        code = tp.site.region_code(side, bmap)
        totals[code] = totals.get(code, 0) + 1
    marks = []
    for number, tp in enumerate(muscle.trigger_points, start=1):
        code = tp.site.region_code(side, bmap)
        shape = shapes[code]
        index = placed.get(code, 0)
        placed[code] = index + 1
        offset = (index - (totals[code] - 1) / 2) * MARK_SPACING
        marks.append(
            TriggerPointMark(number, tp.code, tp.location, code, shape.view, shape.x + offset, shape.y, tp.unverified)
        )
    return marks


# ---------------------------------------------------------------------------------------------------------------


@functools.cache
def _chart_views() -> tuple[ChartView, ...]:
    bmap = body_map()
    views = []
    for view in VIEWS:
        shapes = tuple(
            Shape(r.code, r.name, r.view, r.side, r.svg, *_label_point(r.svg))
            for r in bmap.regions.values()
            if r.view == view
        )
        views.append(ChartView(view, VIEW_LABELS[view], bmap.outlines[view], shapes, bmap.choir_attribution))
    return tuple(views)


def _label_point(svg: str) -> tuple[float, float]:
    """The area centroid of the region's first polygon (its vertex mean if the polygon is degenerate)."""
    first = svg.split("Z")[0]
    numbers = [float(n) for n in _NUMBER.findall(first)]
    points = list(zip(numbers[0::2], numbers[1::2], strict=True))
    area = cx = cy = 0.0
    for (x0, y0), (x1, y1) in zip(points, points[1:] + points[:1], strict=True):
        cross = x0 * y1 - x1 * y0
        area += cross
        cx += (x0 + x1) * cross
        cy += (y0 + y1) * cross
    if abs(area) < 1e-9:
        return (
            round(sum(p[0] for p in points) / len(points), 1),
            round(sum(p[1] for p in points) / len(points), 1),
        )
    return round(cx / (3 * area), 1), round(cy / (3 * area), 1)


def _pattern(muscle: Muscle, trigger_point: str | None) -> ReferralPattern:
    if trigger_point is None:
        return muscle.referral
    for tp in muscle.trigger_points:
        if tp.code == trigger_point:
            return tp.referral or muscle.referral
    raise KeyError(f"{muscle.id} has no trigger point {trigger_point!r}")


def _number(value: float | int) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"
