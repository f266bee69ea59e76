"""The lateral regions (outer knee, outer ankle, flank): drawn on the front view inside the CHOIR region they lie in,
cut from their neighbours without overlap, read by the matcher, and every drawing stored before them unchanged.

The regions were added, not renamed or split into new codes: every code a stored drawing can hold is still in the
vocabulary (``region_codes_before_side_view.txt`` lists the codes before the change), so no data migration is
needed and none assigns pain to a region the patient did not mark.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from needlepoint.atlas import actions
from needlepoint.atlas.catalogue import body_map, muscles
from needlepoint.atlas.chart import shapes_by_code
from needlepoint.atlas.matcher import rank_muscles
from needlepoint.atlas.models import Assessment
from tests.conftest import client_for

CODES_BEFORE = (Path(__file__).parent / "region_codes_before_side_view.txt").read_text(encoding="utf-8").split()
# New base code -> (plain name, the base codes it was cut from, the CHOIR body part it lies in).
LATERAL = {
    "lateral-knee": ("outer knee", ("front-of-knee",), "Knee"),
    "lateral-ankle": ("outer ankle (lateral malleolus)", ("front-of-ankle",), "Ankle"),
    "flank": ("flank (side of the waist)", ("upper-abdomen", "lower-abdomen"), "Abdomen"),
}
SIDES = {"right": "-r", "left": "-l"}
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def _polygon(code: str) -> list[tuple[float, float]]:
    numbers = [float(n) for n in _NUMBER.findall(body_map().regions[code].svg.split("Z")[0])]
    return list(zip(numbers[0::2], numbers[1::2], strict=True))


def _inside(point: tuple[float, float], polygon: list[tuple[float, float]]) -> bool:
    """Ray casting: is the point strictly inside the polygon (points on an edge may go either way)?"""
    x, y = point
    inside = False
    for (x0, y0), (x1, y1) in zip(polygon, polygon[1:] + polygon[:1], strict=True):
        if (y0 > y) != (y1 > y) and x < x0 + (y - y0) * (x1 - x0) / (y1 - y0):
            inside = not inside
    return inside


def _edge_distance(point: tuple[float, float], polygon: list[tuple[float, float]]) -> float:
    x, y = point
    best = float("inf")
    for (x0, y0), (x1, y1) in zip(polygon, polygon[1:] + polygon[:1], strict=True):
        dx, dy = x1 - x0, y1 - y0
        t = max(0.0, min(1.0, ((x - x0) * dx + (y - y0) * dy) / ((dx * dx + dy * dy) or 1.0)))
        best = min(best, ((x - x0 - t * dx) ** 2 + (y - y0 - t * dy) ** 2) ** 0.5)
    return best


def _grid_inside(
    polygon: list[tuple[float, float]], step: float = 1.0, margin: float = 1.0
) -> list[tuple[float, float]]:
    """Grid points inside the polygon and at least ``margin`` units from its edge.

    The margin leaves out the borders, where neighbouring CHOIR-derived outlines were traced from a raster and may
    cross by a fraction of a unit.
    """
    xs, ys = [p[0] for p in polygon], [p[1] for p in polygon]
    points = []
    y = min(ys) + step / 2
    while y < max(ys):
        x = min(xs) + step / 2
        while x < max(xs):
            if _inside((x, y), polygon) and _edge_distance((x, y), polygon) >= margin:
                points.append((x, y))
            x += step
        y += step
    return points


# --- the vocabulary -------------------------------------------------------------------------------------------


def test_every_region_code_a_stored_drawing_can_hold_is_still_there_with_its_view_and_side() -> None:
    regions = body_map().regions
    assert len(CODES_BEFORE) == 159
    missing = [code for code in CODES_BEFORE if code not in regions]
    assert missing == []
    assert set(regions) - set(CODES_BEFORE) == {base + s for base in LATERAL for s in SIDES.values()}


@pytest.mark.parametrize("base", sorted(LATERAL))
@pytest.mark.parametrize("side", sorted(SIDES))
def test_a_lateral_region_is_on_the_front_view_in_the_choir_region_of_the_region_it_was_cut_from(
    base: str, side: str
) -> None:
    bmap = body_map()
    name, cut_from, body_part = LATERAL[base]
    region = bmap.regions[base + SIDES[side]]
    assert region.view == "front" and region.side == side
    assert region.plain_name == name
    (key,) = region.choir
    assert bmap.choir_regions[key] == f"{body_part} (front-{side})"
    for neighbour in cut_from:
        assert region.choir == bmap.regions[neighbour + SIDES[side]].choir


@pytest.mark.parametrize("base", sorted(LATERAL))
@pytest.mark.parametrize("side", sorted(SIDES))
def test_a_lateral_region_lies_on_the_outer_side_and_overlaps_no_other_region(base: str, side: str) -> None:
    code = base + SIDES[side]
    own = _polygon(code)
    points = _grid_inside(own)
    assert len(points) > 100  # room for a finger: far more than a sliver
    # Outer side: the patient's right is on the viewer's left of the front view.
    for neighbour in LATERAL[base][1]:
        other = _polygon(neighbour + SIDES[side])
        centre_x = sum(p[0] for p in points) / len(points)
        other_x = sum(p[0] for p in other) / len(other)
        assert (centre_x < other_x) if side == "right" else (centre_x > other_x)
    for other_code, region in body_map().regions.items():
        if other_code != code and region.view == "front":
            other = _polygon(other_code)
            assert not any(_inside(p, other) for p in points), other_code


def test_each_lateral_region_is_as_wide_as_the_narrowest_region_before_them() -> None:
    # The phone chart zooms until its narrowest region is 24 px; regions no narrower than those already there keep
    # that zoom as it was.
    def narrowest(code: str) -> float:
        polygon = _polygon(code)
        xs, ys = [p[0] for p in polygon], [p[1] for p in polygon]
        return min(max(xs) - min(xs), max(ys) - min(ys))

    floor = min(narrowest(code) for code in CODES_BEFORE)
    for base in LATERAL:
        for suffix in SIDES.values():
            assert narrowest(base + suffix) >= floor, base + suffix
    assert set(shapes_by_code()) >= {base + s for base in LATERAL for s in SIDES.values()}


# --- the matcher ----------------------------------------------------------------------------------------------


def test_pain_at_the_outer_knee_and_thigh_ranks_vastus_lateralis_with_the_outer_knee_in_its_reason() -> None:
    ranked = rank_muscles({"lateral-thigh-r": 6, "lateral-knee-r": 5}, limit=3)
    assert ranked[0].muscle_id == "vastus-lateralis"
    assert ranked[0].matched_spillover == ("lateral-knee-r",)
    assert "outer knee is in its spill-over zone" in ranked[0].reason
    assert "Not in its pattern" not in ranked[0].reason


def test_the_outer_knee_raises_the_muscles_whose_sources_name_it_and_no_others() -> None:
    without = {m.muscle_id: m.score for m in rank_muscles({"lateral-thigh-l": 6})}
    with_knee = {m.muscle_id: m.score for m in rank_muscles({"lateral-thigh-l": 6, "lateral-knee-l": 5})}
    reaching = {mid for mid, m in muscles().items() if any(z.base == "lateral-knee" for z in m.referral.zones)}
    assert reaching == {"vastus-lateralis", "gluteus-minimus"}
    for mid in reaching:
        assert with_knee[mid] > without[mid] * 0.9
    # A muscle that does not reach the outer knee cannot explain it: its score falls.
    assert with_knee["tensor-fasciae-latae"] < without["tensor-fasciae-latae"]


def test_no_muscle_of_the_atlas_reaches_the_outer_ankle_or_the_flank_yet() -> None:
    # The peronei are not yet in the atlas; nothing sourced refers to the flank. The ranking says so honestly.
    for code in ("lateral-ankle-r", "flank-l"):
        assert rank_muscles({code: 6}) == []


# --- stored drawings keep their meaning -----------------------------------------------------------------------


def test_a_drawing_stored_with_the_old_knee_and_ankle_regions_reads_and_shows_as_it_was(
    clinician, episode, django_assert_max_num_queries
) -> None:
    old = {"front-of-knee-r": 6, "front-of-ankle-r": 4, "upper-abdomen-l": None, "lower-abdomen-l": 3}
    assessment = actions.create_assessment(clinician, episode, {"drawing": old})
    with django_assert_max_num_queries(30):
        response = client_for(clinician).get(f"/atlas/assessments/{assessment.pk}/")
    page = response.content.decode()
    assert response.status_code == 200
    assert Assessment.objects.get(pk=assessment.pk).drawing == old
    for code, value in old.items():
        state = "u" if value is None else str(value)
        assert f'data-code="{code}"' in page
        assert re.search(rf'data-code="{code}"[^>]*data-i="{state}"', page), code
    for base in LATERAL:
        assert not re.search(rf'data-code="{base}-[rl]"[^>]*data-i=', page), base


def test_a_new_drawing_with_the_outer_knee_is_stored_and_shown(clinician, episode) -> None:
    response = client_for(clinician).post(
        f"/atlas/episodes/{episode.pk}/assessments/new/",
        {"kind": "initial", "drawing": '{"lateral-knee-l": 7, "flank-l": null}', "notes": ""},
    )
    assert response.status_code == 302
    assessment = Assessment.objects.get()
    assert assessment.drawing == {"lateral-knee-l": 7, "flank-l": None}
    page = client_for(clinician).get(f"/atlas/assessments/{assessment.pk}/").content.decode()
    assert "Outer knee (left)" in page and "Flank (side of the waist) (left)" in page


# --- the atlas pages ------------------------------------------------------------------------------------------


def test_the_vastus_lateralis_page_draws_the_outer_knee_as_spill_over(clinician) -> None:
    page = client_for(clinician).get("/atlas/muscles/vastus-lateralis/").content.decode()
    assert re.search(r'class="region spillover"[^>]*data-code="lateral-knee-r"', page)
    assert re.search(r'class="region spillover"[^>]*data-code="front-of-knee-r"', page)
    assert re.search(r'class="region"[^>]*data-code="lateral-ankle-r"', page)


def test_the_atlas_search_finds_the_outer_knee_with_the_muscles_that_refer_to_it(clinician) -> None:
    page = client_for(clinician).get("/atlas/", {"q": "outer knee"}).content.decode()
    hit = page.split("Outer knee", 1)[1].split('class="region-hit"', 1)[0]
    assert "lateral-knee-l, lateral-knee-r" in hit or "lateral-knee-r, lateral-knee-l" in hit
    assert "Vastus lateralis" in hit and "Gluteus minimus" in hit
