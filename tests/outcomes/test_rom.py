"""Range of motion: norms data, bounds, percent of normal, and change against the method's MDC."""

import json
import math

import pytest

from needlepoint.outcomes import rom
from needlepoint.outcomes.rom import RomDataError, RomError, movements, percent_of_normal, rom_change, validate_rom

REQUIRED_JOINTS = {"cervical_spine", "thoracolumbar_spine", "shoulder", "elbow", "forearm", "wrist", "hip", "knee"}


def test_required_joints_are_covered_with_sources():
    found = movements()
    assert {m.joint for m in found} >= REQUIRED_JOINTS
    for move in found:
        assert move.source.strip()
        assert move.methods


def test_values_clinical_md_marks_verify_are_flagged():
    by_key = {(m.joint, m.movement): m for m in movements()}
    assert by_key[("thoracolumbar_spine", "flexion")].unverified  # 38 CFR 4.71a: verify
    assert by_key[("knee", "flexion")].unverified  # not in clinical.md D.2
    assert not by_key[("shoulder", "flexion")].unverified  # AAOS [S67]
    assert by_key[("shoulder", "flexion")].normal == 180


def test_bounds_follow_the_documented_rule():
    # 0 to min(1.5 × highest normal, highest normal + 45°), rounded up to 5°; hinge extension −90 to +30
    data = json.loads(rom.NORMS_FILE.read_text(encoding="utf-8"))
    for joint, spec in data["joints"].items():
        for name, move in spec["movements"].items():
            highest = max([move["normal"]] + [a["normal"] for a in move.get("alternatives", [])])
            if highest == 0:
                assert move["bounds"] == {"min": -90, "max": 30}, (joint, name)
                continue
            expected = math.ceil(min(1.5 * highest, highest + 45) / 5) * 5
            assert move["bounds"] == {"min": 0, "max": expected}, (joint, name)


def test_percent_of_normal():
    assert percent_of_normal("shoulder", "flexion", 90) == 50  # 90/180
    assert percent_of_normal("cervical_spine", "rotation", 60) == 75  # 60/80
    assert percent_of_normal("wrist", "radial_deviation", 25) == 125  # hypermobile: above normal


def test_percent_of_normal_is_undefined_when_normal_is_zero():
    with pytest.raises(RomError, match="undefined"):
        percent_of_normal("elbow", "extension", -10)


def test_validate_accepts_good_measurements():
    assert validate_rom("shoulder", "flexion", 150, side="left", method="goniometer") == 150
    assert validate_rom("cervical_spine", "flexion", 45, method="crom") == 45
    assert validate_rom("knee", "extension", -15, side="right") == -15  # 15° flexion contracture


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        (("shoulder", "flexion", -5), {"side": "left"}, "outside the accepted range 0° to 225°"),
        (("shoulder", "flexion", 400), {"side": "left"}, "check the value and the units"),
        (("shoulder", "flexion", 120), {}, "give the side"),
        (("shoulder", "flexion", 120), {"side": "up"}, "give the side"),
        (("cervical_spine", "flexion", 40), {"side": "left"}, "has no side"),
        (("shoulder", "flexion", 120), {"side": "left", "method": "crom"}, "method 'crom' is not accepted"),
        (("shoulder", "jumping", 120), {"side": "left"}, "unknown joint movement"),
        (("shoulder", "flexion", "ninety"), {"side": "left"}, "not a number"),
        (("elbow", "extension", -120), {"side": "left"}, "outside"),
    ],
)
def test_validate_refuses_bad_measurements(args, kwargs, message):
    with pytest.raises(RomError, match=message):
        validate_rom(*args, **kwargs)


def test_crom_change_judged_against_the_mdc_not_zero():
    # CROM MDC 9.6° (Fletcher & Bandy 2008, upper end of 5.4–9.6°)
    gained = rom_change("cervical_spine", "rotation", "crom", 60, 69.6, side="left")
    assert gained.degrees == pytest.approx(9.6)
    assert gained.beyond_mdc is True  # 9.6 ≥ 9.6 exactly, despite binary 69.6 − 60
    assert gained.mdc == 9.6
    assert "S73" in gained.mdc_source
    assert rom_change("cervical_spine", "rotation", "crom", 60, 69.5, side="left").beyond_mdc is False
    lost = rom_change("cervical_spine", "flexion", "crom", 50, 40)
    assert (lost.degrees, lost.beyond_mdc) == (-10, True)


def test_derived_mdcs_from_published_sem():
    # lumbar dual inclinometry flexion: 1.96 × √2 × 4.6 = 12.75 → 12.8
    assert rom_change("thoracolumbar_spine", "flexion", "inclinometer", 40, 52).beyond_mdc is False
    assert rom_change("thoracolumbar_spine", "flexion", "inclinometer", 40, 53).mdc == 12.8
    # shoulder goniometer: no method-specific MDC is sourced (the old 63.8 mixed five methods), so no verdict
    shoulder = rom_change("shoulder", "flexion", "goniometer", 90, 140, side="left")
    assert (shoulder.mdc, shoulder.beyond_mdc) == (None, None)


def test_no_mdc_means_no_verdict():
    change = rom_change("elbow", "flexion", "goniometer", 100, 130, side="left")
    assert change.beyond_mdc is None
    assert change.mdc is None
    assert "no MDC" in change.note


def test_rom_change_refuses_bad_values():
    with pytest.raises(RomError, match="method"):
        rom_change("shoulder", "flexion", "crom", 90, 100)
    with pytest.raises(RomError, match="outside"):
        rom_change("shoulder", "flexion", "goniometer", 90, 400)


@pytest.fixture
def broken_norms(tmp_path, monkeypatch):
    def write(mutate):
        data = json.loads(rom.NORMS_FILE.read_text(encoding="utf-8"))
        mutate(data)
        path = tmp_path / "rom_norms.json"
        path.write_text(json.dumps(data), encoding="utf-8")
        monkeypatch.setattr(rom, "NORMS_FILE", path)
        rom._norms.cache_clear()

    yield write
    rom._norms.cache_clear()


def test_loader_names_a_movement_whose_bounds_exclude_its_normal(broken_norms):
    broken_norms(lambda d: d["joints"]["hip"]["movements"]["flexion"]["bounds"].update(max=100))
    with pytest.raises(RomDataError, match=r"hip\.flexion"):
        movements()


def test_loader_names_a_movement_without_a_source(broken_norms):
    broken_norms(lambda d: d["joints"]["wrist"]["movements"]["extension"].update(source=""))
    with pytest.raises(RomDataError, match=r"wrist\.extension.*'source'"):
        movements()


def test_loader_refuses_an_mdc_for_an_unknown_movement(broken_norms):
    broken_norms(lambda d: d["measurement_error"][0]["movements"].append("circumduction"))
    with pytest.raises(RomDataError, match="circumduction"):
        movements()
