"""The body chart data (label points, trigger-point sites, zones) and the atlas search."""

from __future__ import annotations

import pytest

from needlepoint.atlas.catalogue import body_map, muscles
from needlepoint.atlas.chart import chart_views, trigger_point_marks, zone_kinds
from needlepoint.atlas.display import compare_drawings, drawing_chart, marked_regions, zones_chart
from needlepoint.atlas.search import search_atlas


def test_both_views_hold_every_region_with_its_label_point_inside_the_view_box() -> None:
    views = chart_views()
    assert [v.view for v in views] == ["front", "back"]
    shapes = [s for v in views for s in v.shapes]
    assert sorted(s.code for s in shapes) == sorted(body_map().regions)
    for s in shapes:
        assert 0 <= s.x <= 400 and 0 <= s.y <= 800, s.code
    assert all("CHOIR" in v.attribution for v in views)


def test_every_trigger_point_of_every_muscle_has_a_site_on_the_chart() -> None:
    for muscle in muscles().values():
        marks = trigger_point_marks(muscle)
        assert [m.number for m in marks] == list(range(1, len(muscle.trigger_points) + 1))
        assert all(m.region in body_map().regions for m in marks)
        assert [m.region for m in marks] == [tp.site.region_code("right", body_map()) for tp in muscle.trigger_points]


def test_trigger_points_sharing_a_region_are_spread_apart() -> None:
    marks = trigger_point_marks(muscles()["temporalis"])
    assert {m.region for m in marks} == {"temple-r"}
    assert len({m.x for m in marks}) == 3


def test_a_trigger_point_is_drawn_on_the_side_asked_for() -> None:
    (mark,) = trigger_point_marks(muscles()["upper-trapezius"], "left")
    assert mark.region == "top-of-shoulder-l"


def test_zones_are_mirrored_and_primary_wins_over_spillover() -> None:
    trapezius = muscles()["upper-trapezius"]
    assert zone_kinds(trapezius, "left")["temple-l"] == "primary"
    assert zone_kinds(trapezius, "left")["behind-eye-l"] == "spillover"
    chart = zones_chart(trapezius, "c")
    zones = {s.code: s.zone for p in chart.panels for s in p.shapes if s.zone}
    assert zones == {
        "posterolateral-neck-r": "primary",
        "mastoid-r": "primary",
        "temple-r": "primary",
        "behind-eye-r": "spillover",
        "angle-of-jaw-r": "spillover",
    }


def test_a_drawing_chart_marks_regions_by_intensity_and_reads_them_aloud() -> None:
    chart = drawing_chart({"temple-r": 6, "occiput-l": None, "sternum": 0}, "d", editable=True)
    shapes = {s.code: s for p in chart.panels for s in p.shapes}
    assert (shapes["temple-r"].state, shapes["occiput-l"].state, shapes["sternum"].state) == ("6", "u", "0")
    assert shapes["forehead-r"].state == ""
    assert shapes["temple-r"].label == "Temple (right), front: pain 6 of 10"
    assert shapes["occiput-l"].label == "Back of the head (occiput) (left), back: marked, not rated"
    assert [r.code for r in marked_regions({"occiput-l": 1, "temple-r": 2})] == ["temple-r", "occiput-l"]


def test_compare_lists_regions_of_either_drawing() -> None:
    rows = compare_drawings({"temple-r": 6, "occiput-l": 3}, {"temple-r": 2, "sternum": None})
    assert [(r.name, r.before, r.now) for r in rows] == [
        ("Temple (right)", "pain 6 of 10", "pain 2 of 10"),
        ("Sternum", "—", "marked, not rated"),
        ("Back of the head (occiput) (left)", "pain 3 of 10", "—"),
    ]


def test_search_matches_words_in_any_order_and_merges_sides() -> None:
    results = search_atlas("NECK posterolateral")
    regions = [r.base for r in results.regions]
    assert regions == ["posterolateral-neck"]
    hit = results.regions[0]
    assert hit.codes == ("posterolateral-neck-l", "posterolateral-neck-r")
    assert "upper-trapezius" in [m.id for m in hit.primary]
    assert not set(hit.primary) & set(hit.spillover)


def test_search_finds_conditions_with_their_muscles_and_muscles_by_presentation() -> None:
    results = search_atlas("tennis elbow")
    assert [c.code for c in results.conditions] == ["lateral_epicondylalgia"]
    assert "extensor-carpi-radialis-brevis" in [m.id for m in results.conditions[0].muscles]
    assert search_atlas("").empty
    assert search_atlas("qqq").empty


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("SCM", {"sternocleidomastoid-sternal", "sternocleidomastoid-clavicular"}),
        ("QL", {"quadratus-lumborum"}),
        ("tfl", {"tensor-fasciae-latae"}),
        ("ECRB", {"extensor-carpi-radialis-brevis"}),
        ("ECRL", {"extensor-carpi-radialis-longus"}),
        ("EDC", {"extensor-digitorum"}),
        ("VMO", {"vastus-medialis"}),
        ("lats", {"latissimus-dorsi"}),
        ("TA", {"tibialis-anterior"}),
        ("pec  minor", {"pectoralis-minor"}),
        ("erector spinae", {"iliocostalis-lumborum", "iliocostalis-thoracis", "longissimus-thoracis"}),
    ],
)
def test_search_finds_muscles_by_abbreviation_before_muscles_that_merely_contain_it(query, expected) -> None:
    found = [m.id for m in search_atlas(query).muscles]
    assert set(found[: len(expected)]) == expected


def test_search_finds_every_muscle_by_its_name_and_each_of_its_other_names() -> None:
    atlas = muscles().values()
    assert sum(bool(m.also_known_as) for m in atlas) >= len(atlas) - 3
    for muscle in atlas:
        for name in (muscle.name, *muscle.also_known_as):
            sharing = [m for m in atlas if name.lower() in {n.lower() for n in (m.name, *m.also_known_as)}]
            found = [m.id for m in search_atlas(name).muscles]
            assert muscle.id in found[: len(sharing)], (muscle.id, name, found[:5])
