"""The needling safety warnings: each code triggered and not triggered, refusals, acknowledgements."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from needlepoint.patients.screening_rules import ScreeningResult, evaluate_screening, screening_items
from needlepoint.visits.safety import (
    DATA_FILE,
    REFUSAL,
    RULE_SEVERITY,
    WARNING,
    MuscleHazard,
    PlannedNeedling,
    SafetyDataError,
    SafetyWarning,
    ScreeningFlags,
    load_safety_rules,
    needling_warnings,
    screening_flags,
    unacknowledged,
    warning_key,
)

MUSCLES = {
    m.muscle_id: m
    for m in (
        MuscleHazard("rhomboids", "Rhomboids", frozenset({"pneumothorax"}), True, 19, "[S21]"),
        MuscleHazard(
            "upper_trapezius",
            "Upper trapezius",
            frozenset({"pneumothorax"}),
            False,
            None,
            note="Lung apex under the shoulder top; use a pincer grasp.",
        ),
        MuscleHazard("chest_wall", "Chest-wall muscle", frozenset({"low"}), True, None),
        MuscleHazard(
            "piriformis",
            "Piriformis",
            frozenset({"nerve_vessel"}),
            False,
            None,
            structures=("sciatic nerve",),
            note="The sciatic nerve runs beneath or through the muscle.",
        ),
        MuscleHazard(
            "quadratus_lumborum",
            "Quadratus lumborum",
            frozenset({"organ"}),
            False,
            None,
            structures=("kidney", "peritoneal cavity"),
        ),
        MuscleHazard("infraspinatus", "Infraspinatus", frozenset({"low"}), False, None),
    )
}
CLEAR = ScreeningFlags(screening_current=True, consent_current=True)


def needle(muscle_id: str, side: str = "left", length: float = 25, estim: bool = False) -> PlannedNeedling:
    return PlannedNeedling(muscle_id, side, length, estim)


def codes(entries: list[PlannedNeedling], flags: ScreeningFlags = CLEAR) -> list[str]:
    return [w.code for w in needling_warnings(entries, MUSCLES, flags)]


def flags(**change: object) -> ScreeningFlags:
    return ScreeningFlags(**({"screening_current": True, "consent_current": True} | change))  # type: ignore[arg-type]


# --- one scenario per code, and its negative --------------------------------------------------------

TRIGGERS: dict[str, tuple[list[PlannedNeedling], ScreeningFlags]] = {
    "no_screening": ([needle("infraspinatus")], flags(screening_current=False)),
    "no_consent": ([needle("infraspinatus")], flags(consent_current=False)),
    "absolute_contraindication": ([needle("infraspinatus")], flags(absolute_contraindications=("unwilling",))),
    "ptx_depth": ([needle("rhomboids", length=30)], CLEAR),
    "ptx_unverified_depth": ([needle("upper_trapezius", length=13)], CLEAR),
    "bilateral_thorax": ([needle("rhomboids", "left", 15), needle("rhomboids", "right", 15)], CLEAR),
    "lymphoedema_side": ([needle("infraspinatus", "left")], flags(lymphoedema_sides=frozenset({"left"}))),
    "bleeding_risk": ([needle("infraspinatus")], flags(bleeding_risk=True)),
    "nerve_vessel": ([needle("piriformis")], CLEAR),
    "organ": ([needle("quadratus_lumborum")], CLEAR),
    "estim_implanted_device": ([needle("infraspinatus", estim=True)], flags(implanted_device=True)),
    "estim_pregnancy": ([needle("infraspinatus", estim=True)], flags(pregnant=True)),
}

NOT_TRIGGERED: dict[str, tuple[list[PlannedNeedling], ScreeningFlags]] = {
    "no_screening": ([needle("infraspinatus")], flags(consent_current=False)),
    "no_consent": ([needle("infraspinatus")], flags(screening_current=False)),
    "absolute_contraindication": ([needle("infraspinatus")], flags(lymphoedema_sides=frozenset({"left"}))),
    "ptx_depth": ([needle("rhomboids", length=19)], CLEAR),
    "ptx_unverified_depth": ([needle("rhomboids", length=60), needle("infraspinatus", length=60)], CLEAR),
    "bilateral_thorax": ([needle("rhomboids", "left", 15), needle("infraspinatus", "right")], CLEAR),
    "lymphoedema_side": ([needle("infraspinatus", "right")], flags(lymphoedema_sides=frozenset({"left"}))),
    "bleeding_risk": ([needle("infraspinatus")], flags(implanted_device=True, pregnant=True)),
    "nerve_vessel": ([needle("infraspinatus"), needle("quadratus_lumborum")], CLEAR),
    "organ": ([needle("piriformis"), needle("rhomboids", length=15)], CLEAR),
    "estim_implanted_device": ([needle("infraspinatus")], flags(implanted_device=True)),
    "estim_pregnancy": ([needle("infraspinatus", estim=True)], flags(implanted_device=True)),
}


def test_every_rule_has_a_trigger_and_a_negative_case() -> None:
    assert set(TRIGGERS) == set(NOT_TRIGGERED) == set(RULE_SEVERITY)


@pytest.mark.parametrize("code", sorted(TRIGGERS))
def test_each_warning_is_triggered(code: str) -> None:
    entries, screening = TRIGGERS[code]
    warnings = [w for w in needling_warnings(entries, MUSCLES, screening) if w.code == code]
    assert len(warnings) == 1
    assert warnings[0].severity == RULE_SEVERITY[code]
    assert warnings[0].source and warnings[0].message


@pytest.mark.parametrize("code", sorted(NOT_TRIGGERED))
def test_each_warning_is_not_triggered_without_its_cause(code: str) -> None:
    entries, screening = NOT_TRIGGERED[code]
    assert code not in codes(entries, screening)


def test_a_safe_visit_has_no_warnings() -> None:
    assert needling_warnings([needle("infraspinatus", "right", 40)], MUSCLES, CLEAR) == []


def test_no_needling_no_warnings_even_without_screening() -> None:
    assert needling_warnings([], MUSCLES, flags(screening_current=False, consent_current=False)) == []


def test_refusals_are_the_four_product_rules() -> None:
    refusals = {code for code, severity in RULE_SEVERITY.items() if severity == REFUSAL}
    expected = {"no_screening", "no_consent", "absolute_contraindication", "estim_implanted_device"}
    assert refusals == expected


# --- pneumothorax ---------------------------------------------------------------------------------


def test_the_depth_message_gives_the_numbers_and_source() -> None:
    (warning,) = needling_warnings([needle("rhomboids", "left", 30)], MUSCLES, CLEAR)
    assert warning.message.startswith("Rhomboids (left side): 30 mm needle exceeds the 19 mm safe depth [S21].")
    assert (warning.muscle_id, warning.side, warning.severity) == ("rhomboids", "left", WARNING)


@given(length=st.floats(min_value=1, max_value=120), depth=st.floats(min_value=1, max_value=60))
def test_the_depth_warning_fires_exactly_above_the_safe_depth(length: float, depth: float) -> None:
    muscle = MuscleHazard("m", "Muscle", frozenset({"pneumothorax"}), True, depth, "[S21]")
    found = [w.code for w in needling_warnings([PlannedNeedling("m", "left", length)], {"m": muscle}, CLEAR)]
    assert ("ptx_depth" in found) == (length > depth)


def test_a_pneumothorax_muscle_without_a_sourced_depth_warns_for_any_needle() -> None:
    (warning,) = needling_warnings([needle("upper_trapezius", "right", 13)], MUSCLES, CLEAR)
    assert warning.code == "ptx_unverified_depth" and warning.unverified
    assert "no sourced safe depth" in warning.message and "13 mm" in warning.message
    assert "Lung apex under the shoulder top" in warning.message


def test_entries_for_one_muscle_and_side_merge_and_the_longest_needle_counts() -> None:
    entries = [needle("rhomboids", "left", 25), needle("rhomboids", "left", 40)]
    (warning,) = needling_warnings(entries, MUSCLES, CLEAR)
    assert "40 mm needle" in warning.message


# --- both sides of the thorax ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "entries",
    [
        [needle("rhomboids", "both", 15)],
        [needle("rhomboids", "left", 15), needle("upper_trapezius", "right", 13)],
        [needle("chest_wall", "left"), needle("chest_wall", "right")],
    ],
)
def test_both_sides_of_the_thorax_warn_once(entries: list[PlannedNeedling]) -> None:
    warnings = [w for w in needling_warnings(entries, MUSCLES, CLEAR) if w.code == "bilateral_thorax"]
    assert len(warnings) == 1
    assert warnings[0].side == "both" and warnings[0].muscle_id is None


def test_one_side_of_the_thorax_twice_is_not_bilateral() -> None:
    assert "bilateral_thorax" not in codes([needle("rhomboids", "left", 15), needle("upper_trapezius", "left")])


# --- lymphoedema, bleeding, electrical stimulation -----------------------------------------------


@pytest.mark.parametrize(
    ("lymphoedema", "side", "warned"),
    [
        ({"left"}, "left", True),
        ({"left"}, "right", False),
        ({"left"}, "both", True),
        ({"left", "right"}, "right", True),
        (set(), "both", False),
    ],
)
def test_lymphoedema_side(lymphoedema: set[str], side: str, warned: bool) -> None:
    found = codes([needle("infraspinatus", side)], flags(lymphoedema_sides=frozenset(lymphoedema)))
    assert ("lymphoedema_side" in found) is warned


def test_the_lymphoedema_warning_asks_the_clinician_to_confirm_the_limb() -> None:
    screening = flags(lymphoedema_sides=frozenset({"left", "right"}))
    (warning,) = needling_warnings([needle("infraspinatus", "left")], MUSCLES, screening)
    assert "both sides" in warning.message and "outside it" in warning.message
    assert warning.severity == WARNING


def test_bleeding_risk_is_one_warning_per_visit() -> None:
    entries = [needle("infraspinatus", "left"), needle("infraspinatus", "right")]
    assert codes(entries, flags(bleeding_risk=True)).count("bleeding_risk") == 1


def test_nerve_warning_names_the_structure() -> None:
    (warning,) = needling_warnings([needle("piriformis", "right", 75)], MUSCLES, CLEAR)
    assert warning.message.startswith("Piriformis (right side): sciatic nerve close by.")


def test_estim_with_an_implanted_device_is_a_refusal() -> None:
    screening = flags(implanted_device=True)
    (warning,) = needling_warnings([needle("infraspinatus", estim=True)], MUSCLES, screening)
    assert warning.severity == REFUSAL and "No electrical stimulation" in warning.message


# --- refusals and acknowledgements -----------------------------------------------------------------


def test_refusals_come_first() -> None:
    screening = flags(consent_current=False, bleeding_risk=True)
    assert codes([needle("rhomboids", length=30)], screening) == ["no_consent", "bleeding_risk", "ptx_depth"]


def test_a_refusal_cannot_be_acknowledged_away() -> None:
    warnings = needling_warnings([needle("infraspinatus")], MUSCLES, flags(screening_current=False))
    reasons = {warning_key(w): "I am sure" for w in warnings}
    assert [w.code for w in unacknowledged(warnings, reasons)] == ["no_screening"]
    assert not warnings[0].acknowledgeable


def test_a_warning_needs_a_non_blank_reason() -> None:
    warnings = needling_warnings([needle("rhomboids", length=30)], MUSCLES, CLEAR)
    key = warning_key(warnings[0])
    assert unacknowledged(warnings, {}) == warnings
    assert unacknowledged(warnings, {key: "   "}) == warnings
    assert unacknowledged(warnings, {key: None}) == warnings  # type: ignore[dict-item]
    assert unacknowledged(warnings, {"ptx_depth:rhomboids:right": "other side"}) == warnings
    assert unacknowledged(warnings, {key: "pincer grasp, tangential, 15 mm inserted"}) == []


@given(st.sets(st.sampled_from(sorted(TRIGGERS))))
def test_acknowledging_everything_leaves_only_refusals(scenario_codes: set[str]) -> None:
    warnings: list[SafetyWarning] = []
    for code in scenario_codes:
        warnings += needling_warnings(*TRIGGERS[code][:1], MUSCLES, TRIGGERS[code][1])
    reasons = {warning_key(w): "reason" for w in warnings}
    assert unacknowledged(warnings, reasons) == [w for w in warnings if w.severity == REFUSAL]


def test_warning_keys_separate_code_muscle_and_side() -> None:
    left = SafetyWarning("ptx_depth", WARNING, "m", "s", "rhomboids", "left")
    right = SafetyWarning("ptx_depth", WARNING, "other words", "s", "rhomboids", "right")
    visit = SafetyWarning("bleeding_risk", WARNING, "m", "s")
    assert warning_key(left) == "ptx_depth:rhomboids:left"
    assert warning_key(left) != warning_key(right)
    assert warning_key(visit) == "bleeding_risk:-:-"


# --- inputs ---------------------------------------------------------------------------------------


def test_a_muscle_without_hazard_data_is_refused() -> None:
    with pytest.raises(ValueError, match="No hazard data for muscle"):
        needling_warnings([needle("deltoid")], MUSCLES, CLEAR)


@pytest.mark.parametrize(("side", "length"), [("middle", 25), ("left", 0), ("left", -5), ("left", True)])
def test_a_bad_entry_is_refused(side: str, length: float) -> None:
    with pytest.raises(ValueError):
        PlannedNeedling("rhomboids", side, length)


def test_decimal_lengths_are_accepted() -> None:
    assert PlannedNeedling("rhomboids", "left", Decimal("30.0")).needle_length_mm == 30.0  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"kinds": {"volcano"}}, "unknown hazard kinds"),
        ({"safe_depth_mm": 19, "safe_depth_source": ""}, "needs its source"),
        ({"safe_depth_mm": -1, "safe_depth_source": "[S21]"}, "positive number"),
    ],
)
def test_bad_hazard_data_is_refused(kwargs: dict[str, object], expected: str) -> None:
    base: dict[str, object] = {"kinds": {"pneumothorax"}, "safe_depth_mm": None}
    with pytest.raises(ValueError, match=expected):
        MuscleHazard("m", "Muscle", over_thorax=True, **(base | kwargs))  # type: ignore[arg-type]


def test_hazard_from_an_atlas_block() -> None:
    block = {"kinds": ["pneumothorax"], "over_thorax": True, "safe_depth_mm": 19, "safe_depth_source": "[S21]"}
    hazard = MuscleHazard.from_mapping("rhomboids", "Rhomboids", block)
    assert hazard.kinds == frozenset({"pneumothorax"}) and hazard.structures == ()
    with pytest.raises(ValueError, match="lacks over_thorax"):
        MuscleHazard.from_mapping("rhomboids", "Rhomboids", {"kinds": [], "safe_depth_mm": None})


# --- flags from a screening -----------------------------------------------------------------------


def screened(**yes: object) -> ScreeningResult:
    return evaluate_screening({item.code: False for item in screening_items()} | yes)


def test_flags_from_a_clear_screening() -> None:
    assert screening_flags(screened(), consent_current=True) == CLEAR


def test_flags_from_precautions() -> None:
    result = screened(
        lymphoedema=True,
        lymphoedema_side="both",
        anticoagulants=True,
        anticoagulant_medication="apixaban",
        implanted_device=True,
        implanted_device_type="pacemaker",
        pregnancy=True,
        pregnancy_trimester="2",
    )
    got = screening_flags(result, consent_current=False)
    assert got.lymphoedema_sides == frozenset({"left", "right"})
    assert got.bleeding_risk and got.implanted_device and got.pregnant
    assert got.absolute_contraindications == () and not got.consent_current


def test_flags_from_a_bleeding_disorder_and_an_absolute_item() -> None:
    result = screened(bleeding_disorder=True, bleeding_disorder_detail="haemophilia", needle_phobia=True)
    got = screening_flags(result, consent_current=True)
    assert got.bleeding_risk and got.absolute_contraindications == ("needle_phobia",)


def test_no_current_screening_is_a_refusal() -> None:
    got = screening_flags(None, consent_current=True)
    assert not got.screening_current
    assert codes([needle("infraspinatus")], got) == ["no_screening"]


def test_a_stored_not_cleared_result_without_findings_still_refuses() -> None:
    got = screening_flags(ScreeningResult("not_cleared", ()), consent_current=True)
    assert "absolute_contraindication" in codes([needle("infraspinatus")], got)


# --- the rules data file --------------------------------------------------------------------------


def write_rules(tmp_path: Path, change: dict[str, object]) -> Path:
    raw = json.loads(DATA_FILE.read_text(encoding="utf-8"))
    raw["rules"] = {k: v for k, v in (raw["rules"] | change).items() if v is not None}
    path = tmp_path / "rules.json"
    path.write_text(json.dumps(raw), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"organ": None}, "missing rule organ"),
        ({"volcano": {"message": "m", "source": "[S1]"}}, "unknown rule volcano"),
        ({"organ": {"message": "{patient_name}", "source": "[S13]"}}, "unknown message fields"),
        ({"organ": {"message": "m", "source": "a blog"}}, "must cite clinical.md"),
        ({"organ": {"message": "m"}}, "needs a 'message' and a 'source'"),
    ],
)
def test_a_malformed_rules_file_is_refused(tmp_path: Path, change: dict[str, object], expected: str) -> None:
    with pytest.raises(SafetyDataError, match=expected):
        load_safety_rules(write_rules(tmp_path, change))


def test_rule_texts_come_from_the_data_file(tmp_path: Path) -> None:
    rules = load_safety_rules(write_rules(tmp_path, {"organ": {"message": "Deep: {muscle}.", "source": "§A.2"}}))
    (warning,) = needling_warnings([needle("quadratus_lumborum")], MUSCLES, CLEAR, rules)
    assert warning.message == "Deep: Quadratus lumborum." and warning.source == "§A.2"
