"""The atlas data files: what they contain, how the shapes sit on the body, and how broken files are refused."""

import copy
import json
import re

import numpy as np
import pytest
from matplotlib.path import Path as MplPath

from needlepoint.atlas import catalogue
from needlepoint.atlas.catalogue import (
    MUSCLES_FILE,
    REGIONS_FILE,
    AtlasDataError,
    UnknownRegionError,
    body_map,
    find_region,
    muscles,
    regions,
)

CLINICAL_ROWS = range(1, 46)


def _rings(svg):
    return [
        np.array([[float(v) for v in point.split(",")] for point in ring.split()])
        for ring in re.findall(r"M([^Z]*)Z", svg)
    ]


def _centroid(region):
    return np.vstack(_rings(region.svg)).mean(axis=0)


def _load(path):
    return json.loads(path.read_text(encoding="utf-8"))


def _write(tmp_path, name, data):
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


# ------------------------------------------------------------------------------------------------------------
# The shipped data


def test_the_atlas_covers_every_muscle_of_clinical_md_a1():
    rows = sorted(m.clinical_md_row for m in muscles().values() if m.clinical_md_row)
    assert rows == list(CLINICAL_ROWS)


def test_muscles_beyond_clinical_md_are_marked_unverified_and_cite_their_own_sources():
    extras = [m for m in muscles().values() if m.clinical_md_row is None]
    assert extras
    for muscle in extras:
        assert muscle.unverified, muscle.id
        assert all(s.key.startswith("EXT") or s.key.startswith("S") for s in muscle.sources), muscle.id
        assert "not in the project's cross-checked muscle table" in muscle.referral.note.lower()
    assert not any(m.unverified for m in muscles().values() if m.clinical_md_row)


def test_region_vocabulary_is_fine_enough_but_not_too_fine():
    assert 100 <= len(regions()) <= 170


@pytest.mark.parametrize(
    "code",
    [
        "vertex",
        "occiput-l",
        "forehead-r",
        "temple-l",
        "eyebrow-r",
        "behind-eye-l",
        "mastoid-r",
        "angle-of-jaw-l",
        "cheek-r",
        "upper-molars-l",
        "lower-molars-r",
        "posterolateral-neck-l",
        "angle-of-neck-r",
        "top-of-shoulder-l",
        "between-shoulder-blades",
        "medial-scapular-border-r",
        "lateral-epicondyle-l",
        "dorsal-web-of-thumb-r",
        "sacroiliac-l",
        "iliac-crest-r",
        "greater-trochanter-l",
        "lateral-thigh-r",
        "upper-posterior-thigh-l",
        "calf-r",
        "sole-l",
        "palm-r",
    ],
)
def test_the_regions_named_in_the_issue_exist(code):
    assert code in regions()


def test_every_choir_region_is_covered_and_only_known_keys_are_used():
    bmap = body_map()
    assert len(bmap.choir_regions) == 74
    used = {key for region in bmap.regions.values() for key in region.choir}
    assert used == set(bmap.choir_regions)


def test_the_choir_attribution_is_kept():
    bmap = body_map()
    assert "CHOIR" in bmap.choir_attribution
    assert "PAIN Reports 2021;6(1):e880" in bmap.choir_attribution
    notice = (REGIONS_FILE.parent / "CHOIR-NOTICE.txt").read_text(encoding="utf-8")
    assert "Apache License, Version 2.0" in notice
    assert "Scherrer" in notice


def test_patient_left_is_on_the_viewer_right_in_front_and_on_the_viewer_left_behind():
    for region in regions().values():
        x = _centroid(region)[0]
        if region.side == "midline":
            assert abs(x - 200) < 20, region.code
            continue
        on_viewer_right = x > 200
        patient_left = region.side == "left"
        assert on_viewer_right == (patient_left if region.view == "front" else not patient_left), region.code


@pytest.mark.parametrize(
    ("above", "below"),
    [
        ("forehead-l", "eyebrow-l"),
        ("eyebrow-l", "behind-eye-l"),
        ("behind-eye-l", "cheek-l"),
        ("upper-molars-l", "lower-molars-l"),
        ("vertex", "occiput-l"),
        ("occiput-l", "suboccipital-l"),
        ("top-of-shoulder-r", "inferior-angle-of-scapula-r"),
        ("between-shoulder-blades", "lumbar-spine"),
        ("lumbar-spine", "sacrum"),
        ("sacrum", "coccyx"),
        ("iliac-crest-l", "greater-trochanter-l"),
        ("upper-posterior-thigh-r", "back-of-knee-r"),
        ("back-of-knee-r", "calf-r"),
        ("lateral-epicondyle-l", "dorsal-wrist-l"),
        ("front-of-knee-l", "shin-l"),
    ],
)
def test_regions_sit_in_anatomical_order_from_head_to_foot(above, below):
    table = regions()
    assert _centroid(table[above])[1] < _centroid(table[below])[1]


@pytest.mark.parametrize("view", ["front", "back"])
def test_regions_do_not_overlap_and_fill_the_body_outline(view):
    bmap = body_map()
    xs, ys = np.meshgrid(np.arange(0.5, 400, 1.5), np.arange(0.5, 800, 1.5))
    points = np.c_[xs.ravel(), ys.ravel()]
    hits = np.zeros(len(points), dtype=int)
    for region in bmap.regions.values():
        if region.view != view:
            continue
        inside = np.zeros(len(points), dtype=bool)
        for ring in _rings(region.svg):
            inside |= MplPath(ring).contains_points(points)
        hits += inside
    body = np.zeros(len(points), dtype=bool)
    for ring in _rings(bmap.outlines[view]):
        body |= MplPath(ring).contains_points(points)
    assert (hits > 1).sum() / body.sum() < 0.01
    assert (hits[body] >= 1).mean() > 0.97


def test_every_muscle_has_sources_trigger_points_and_a_primary_zone():
    for muscle in muscles().values():
        assert muscle.sources, muscle.id
        assert muscle.trigger_points, muscle.id
        assert muscle.referral.primary, muscle.id
        assert all(tp.source.citation for tp in muscle.trigger_points)


def test_hazards_follow_clinical_md():
    table = muscles()
    upper = table["upper-trapezius"].hazard
    assert upper.kinds == ("pneumothorax",)
    assert upper.safe_depth_mm == 25
    assert "S14" in upper.safe_depth_source and "S20" in upper.safe_depth_source
    assert table["rhomboids"].hazard.safe_depth_mm == 19
    assert table["supinator"].hazard.kinds == ("nerve_vessel",)
    assert "posterior interosseous nerve" in table["supinator"].hazard.structures
    assert set(table["iliopsoas"].hazard.kinds) == {"nerve_vessel", "organ"}
    assert table["infraspinatus"].hazard.kinds == ("low",)
    assert table["supraspinatus"].hazard.unverified and not table["levator-scapulae"].hazard.unverified


def test_every_muscle_with_a_pneumothorax_hazard_is_flagged_over_the_thorax():
    for muscle in muscles().values():
        if "pneumothorax" in muscle.hazard.kinds:
            assert muscle.hazard.over_thorax, muscle.id


def test_unverified_locations_are_marked():
    table = muscles()
    assert all(tp.unverified for tp in table["pronator-teres"].trigger_points)
    assert not any(tp.unverified for tp in table["upper-trapezius"].trigger_points)
    assert [str(z) for z in table["iliopsoas"].referral.unverified] == []  # anterior thigh confirmed by [T2j]
    assert all(tp.unverified for tp in table["scalenes"].trigger_points if tp.members)


def test_tags_map_onto_episode_condition_codes():
    table = muscles()
    assert table["upper-trapezius"].conditions == ("neck_pain", "tension_type_headache")
    assert "lateral_epicondylalgia" in table["supinator"].conditions
    assert "sciatica" in table["gluteus-minimus"].conditions
    for muscle in table.values():
        assert set(muscle.conditions) <= set(catalogue.CONDITION_CODES)


def test_zones_resolve_to_regions_on_the_view_they_are_listed_under():
    bmap = body_map()
    for muscle in muscles().values():
        for zone in muscle.referral.zones:
            for side in ("left", "right"):
                assert bmap.regions[zone.region_code(side, bmap)].view == zone.view


def test_contralateral_zones_land_on_the_other_side():
    bmap = body_map()
    clavicular = muscles()["sternocleidomastoid-clavicular"]
    contra = [z for z in clavicular.referral.spillover if z.contralateral]
    assert [z.region_code("left", bmap) for z in contra] == ["forehead-r"]


def test_loaded_data_are_cached():
    assert regions()["temple-l"] is regions()["temple-l"]
    assert muscles()["deltoid"] is muscles()["deltoid"]


# ------------------------------------------------------------------------------------------------------------
# find_region


@pytest.mark.parametrize("text", ["temple-l", "TEMPLE-L", "Temple (left)", "  temple   (LEFT) "])
def test_find_region_accepts_a_code_or_a_name(text):
    assert find_region(text).code == "temple-l"


def test_find_region_suggests_close_matches():
    with pytest.raises(UnknownRegionError, match=r"Did you mean: .*temple-[lr]"):
        find_region("tempel-l")


def test_find_region_says_so_when_nothing_is_close():
    with pytest.raises(UnknownRegionError, match=r"Unknown body region 'xyzzy'\.$"):
        find_region("xyzzy")


# ------------------------------------------------------------------------------------------------------------
# Broken files are refused with a message naming the entry


@pytest.fixture
def region_data():
    return _load(REGIONS_FILE)


@pytest.fixture
def muscle_data():
    return _load(MUSCLES_FILE)


def _muscle(data, mid):
    return next(m for m in data["muscles"] if m["id"] == mid)


def _broken_muscles(tmp_path, data):
    return muscles(_write(tmp_path, "muscles.json", data))


def test_an_unknown_region_in_a_zone_is_refused(tmp_path, muscle_data):
    _muscle(muscle_data, "upper-trapezius")["referral"]["primary"]["front"].append("tempel")
    with pytest.raises(AtlasDataError, match=r"muscle 'upper-trapezius'.*unknown region 'tempel'.*temple"):
        _broken_muscles(tmp_path, muscle_data)


def test_a_muscle_without_a_source_is_refused(tmp_path, muscle_data):
    _muscle(muscle_data, "rhomboids")["sources"] = []
    with pytest.raises(AtlasDataError, match=r"muscle 'rhomboids'.*at least one source"):
        _broken_muscles(tmp_path, muscle_data)


def test_an_unknown_source_key_is_refused(tmp_path, muscle_data):
    _muscle(muscle_data, "rhomboids")["trigger_points"][0]["source"] = "T99"
    with pytest.raises(AtlasDataError, match=r"muscle 'rhomboids'.*unknown source key 'T99'"):
        _broken_muscles(tmp_path, muscle_data)


def test_a_zone_on_the_wrong_view_is_refused(tmp_path, muscle_data):
    referral = _muscle(muscle_data, "upper-trapezius")["referral"]["primary"]
    referral["front"].remove("temple")
    referral["back"].append("temple")
    with pytest.raises(AtlasDataError, match=r"'upper-trapezius'.*'temple' is listed under the back view .*front view"):
        _broken_muscles(tmp_path, muscle_data)


def test_a_zone_written_with_its_side_is_refused(tmp_path, muscle_data):
    _muscle(muscle_data, "temporalis")["referral"]["primary"]["front"][0] = "temple-l"
    with pytest.raises(AtlasDataError, match=r"'temporalis'.*write it without its side suffix \('temple'\)"):
        _broken_muscles(tmp_path, muscle_data)


def test_a_zone_listed_twice_is_refused(tmp_path, muscle_data):
    _muscle(muscle_data, "supinator")["referral"]["spillover"]["back"].append("lateral-epicondyle")
    with pytest.raises(AtlasDataError, match=r"'supinator'.*'lateral-epicondyle' is listed twice"):
        _broken_muscles(tmp_path, muscle_data)


def test_a_trigger_point_pattern_outside_the_muscle_pattern_is_refused(tmp_path, muscle_data):
    tp = _muscle(muscle_data, "temporalis")["trigger_points"][0]
    tp["referral"]["spillover"]["front"].append("chest")
    with pytest.raises(AtlasDataError, match=r"'temporalis': trigger point 'anterior'.*\['chest'\]"):
        _broken_muscles(tmp_path, muscle_data)


@pytest.mark.parametrize(
    ("site", "message"),
    [
        (None, r"'upper-trapezius': trigger point 'TP1'.*'site' .* is required"),
        ("shoulder-top", r"'upper-trapezius': trigger point 'TP1': site.*unknown region 'shoulder-top'"),
        ("top-of-shoulder-r", r"'upper-trapezius': trigger point 'TP1': site.*without its side suffix"),
        ("contra:top-of-shoulder", r"'upper-trapezius': trigger point 'TP1'.*on the muscle's own side"),
    ],
)
def test_a_trigger_point_without_a_known_site_is_refused(tmp_path, muscle_data, site, message):
    tp = _muscle(muscle_data, "upper-trapezius")["trigger_points"][0]
    tp.pop("site")
    if site:
        tp["site"] = site
    with pytest.raises(AtlasDataError, match=message):
        _broken_muscles(tmp_path, muscle_data)


def test_a_trigger_point_site_is_a_region_on_its_own_view():
    site = muscles()["upper-trapezius"].trigger_points[0].site
    assert (site.base, site.view, site.contralateral) == ("top-of-shoulder", "back", False)
    assert site.region_code("left", body_map()) == "top-of-shoulder-l"


def test_the_muscles_not_yet_in_the_atlas_are_listed_with_a_reason_and_none_is_in_it():
    missing = catalogue.not_yet_in_atlas()
    names = {m.name for m in missing}
    assert {"Lateral pterygoid", "Popliteus", "Tibialis posterior", "Pelvic floor muscles"} <= names
    held = {m.name.lower() for m in muscles().values()}
    assert all(m.reason and m.body_area and m.name.lower() not in held for m in missing)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"name": "Popliteus", "body_area": "knee"}, "needs a name, a body_area and a reason"),
        ({"name": "Soleus", "body_area": "calf", "reason": "x"}, "'Soleus' is in the atlas already"),
    ],
)
def test_a_broken_not_yet_list_is_refused(tmp_path, muscle_data, entry, message):
    muscle_data["not_yet_in_the_atlas"]["muscles"].append(entry)
    with pytest.raises(AtlasDataError, match=message):
        catalogue.not_yet_in_atlas(_write(tmp_path, "muscles.json", muscle_data))


def test_a_duplicate_muscle_id_is_refused(tmp_path, muscle_data):
    muscle_data["muscles"].append(copy.deepcopy(_muscle(muscle_data, "deltoid")))
    with pytest.raises(AtlasDataError, match="duplicate muscle id 'deltoid'"):
        _broken_muscles(tmp_path, muscle_data)


def test_an_unknown_condition_code_is_refused(tmp_path, muscle_data):
    _muscle(muscle_data, "deltoid")["conditions"].append("frozen_shoulder")
    with pytest.raises(AtlasDataError, match=r"'deltoid'.*unknown condition code 'frozen_shoulder'"):
        _broken_muscles(tmp_path, muscle_data)


def test_a_tag_whose_condition_is_missing_is_refused(tmp_path, muscle_data):
    _muscle(muscle_data, "supinator")["conditions"] = ["tendinopathy"]
    with pytest.raises(AtlasDataError, match=r"'supinator'.*tag 'LE' implies conditions \['lateral_epicondylalgia'\]"):
        _broken_muscles(tmp_path, muscle_data)


def test_an_unknown_hazard_kind_is_refused(tmp_path, muscle_data):
    _muscle(muscle_data, "scalenes")["hazard"]["kinds"] = ["bleeding"]
    with pytest.raises(AtlasDataError, match=r"'scalenes': hazard: kinds"):
        _broken_muscles(tmp_path, muscle_data)


def test_a_safe_depth_without_its_source_is_refused(tmp_path, muscle_data):
    _muscle(muscle_data, "rhomboids")["hazard"]["safe_depth_source"] = None
    with pytest.raises(AtlasDataError, match=r"'rhomboids': hazard: a safe depth needs its safe_depth_source"):
        _broken_muscles(tmp_path, muscle_data)


def test_a_duplicate_region_code_is_refused(tmp_path, region_data):
    region_data["regions"].append(copy.deepcopy(region_data["regions"][0]))
    with pytest.raises(AtlasDataError, match="duplicate region code 'forehead-r'"):
        regions(_write(tmp_path, "regions.json", region_data))


def test_an_unknown_choir_key_is_refused(tmp_path, region_data):
    region_data["regions"][0]["choir"] = ["f99"]
    with pytest.raises(AtlasDataError, match=r"region 'forehead-r': unknown CHOIR key 'f99'"):
        regions(_write(tmp_path, "regions.json", region_data))


def test_a_choir_key_on_the_wrong_side_is_refused(tmp_path, region_data):
    region_data["regions"][0]["choir"] = ["f02"]  # forehead-r mapped onto CHOIR "Cranium (front-left)"
    with pytest.raises(AtlasDataError, match=r"'forehead-r': CHOIR region f02 .* not on the right side"):
        regions(_write(tmp_path, "regions.json", region_data))


def test_a_choir_key_list_that_is_not_the_74_is_refused(tmp_path, region_data):
    del region_data["choir"]["regions"]["b38"]
    with pytest.raises(AtlasDataError, match="must list the 74 CHOIR keys"):
        regions(_write(tmp_path, "regions.json", region_data))


def test_a_region_without_its_mirror_is_refused(tmp_path, region_data):
    region_data["regions"] = [r for r in region_data["regions"] if r["code"] != "temple-l"]
    with pytest.raises(AtlasDataError, match="'temple-r' has no mirror region 'temple-l'"):
        regions(_write(tmp_path, "regions.json", region_data))


def test_a_shape_outside_the_view_box_is_refused(tmp_path, region_data):
    region_data["regions"][0]["svg"] = "M10,10 500,10 10,50Z"
    with pytest.raises(AtlasDataError, match="'forehead-r': svg: the SVG path leaves the 0 0 400 800 view box"):
        regions(_write(tmp_path, "regions.json", region_data))


def test_a_zone_naming_a_region_missing_from_a_custom_vocabulary_is_refused(tmp_path, region_data, muscle_data):
    region_data["regions"] = [r for r in region_data["regions"] if not r["code"].startswith("dorsal-web-of-thumb")]
    regions_path = _write(tmp_path, "regions.json", region_data)
    with pytest.raises(AtlasDataError, match=r"muscle '[a-z-]+'.*unknown region 'dorsal-web-of-thumb'"):
        muscles(_write(tmp_path, "muscles.json", muscle_data), regions_path)


def test_invalid_json_is_refused_with_the_file_name(tmp_path):
    path = tmp_path / "muscles.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(AtlasDataError, match=r"muscles\.json: not valid JSON"):
        muscles(path)
