"""The needling safety checks (pure): each code triggered and not triggered, the three kinds, the thorax by
build and lungs, pregnancy regions, implants, tumour and lymph-node sites, acknowledgements by precaution."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from needlepoint.patients.screening_rules import Finding, ScreeningResult, evaluate_screening, screening_items
from needlepoint.references import references
from needlepoint.visits.safety import (
    DATA_FILE,
    PREGNANCY_FILE,
    REFUSAL,
    REMINDER,
    RULE_SEVERITY,
    WARNING,
    AcknowledgementError,
    MuscleHazard,
    PlannedNeedling,
    SafetyDataError,
    SafetyWarning,
    ScreeningFlags,
    acknowledgement_text,
    is_real_sentence,
    load_pregnancy_regions,
    load_safety_rules,
    longest_length_without_pneumothorax_warning,
    needling_warnings,
    read_acknowledgement,
    reminders,
    safety_rules,
    screening_flags,
    unacknowledged,
    warning_key,
)

MUSCLES = {
    m.muscle_id: m
    for m in (
        MuscleHazard("rhomboids", "Rhomboids", frozenset({"pneumothorax"}), True, 19, "[S21]"),
        MuscleHazard(
            "upper-trapezius",
            "Upper trapezius",
            frozenset({"pneumothorax"}),
            True,
            25,
            "derived [S14]",
            note="Lung apex under the shoulder top.",
            pleura_access="lung_apex",
        ),
        MuscleHazard(
            "levator-scapulae",
            "Levator scapulae",
            frozenset({"pneumothorax"}),
            True,
            None,
            note="The lower trigger point lies over the upper ribs.",
        ),
        MuscleHazard("pectoralis-major", "Pectoralis major", frozenset({"pneumothorax"}), True, None),
        MuscleHazard("chest-wall", "Chest-wall muscle", frozenset({"low"}), True, None),
        MuscleHazard(
            "quadratus-lumborum",
            "Quadratus lumborum",
            frozenset({"organ", "pneumothorax"}),
            False,
            None,
            structures=("kidney", "peritoneal cavity"),
            pleura_access="below_12th_rib",
        ),
        MuscleHazard(
            "piriformis",
            "Piriformis",
            frozenset({"nerve_vessel"}),
            False,
            None,
            structures=("sciatic nerve",),
            note="The sciatic nerve runs beneath or through the muscle.",
        ),
        MuscleHazard("rectus-abdominis", "Rectus abdominis", frozenset({"organ"}), False, None, structures=("bowel",)),
        MuscleHazard("infraspinatus", "Infraspinatus", frozenset({"low"}), False, None),
    )
}
CLEAR = ScreeningFlags(screening_current=True, consent_current=True)


def needle(muscle_id: str, side: str = "left", length: float = 25, estim: bool = False) -> PlannedNeedling:
    return PlannedNeedling(muscle_id, side, length, estim)


def flags(**change: object) -> ScreeningFlags:
    return ScreeningFlags(**({"screening_current": True, "consent_current": True} | change))


def checks(entries: list[PlannedNeedling], screening: ScreeningFlags = CLEAR) -> list[SafetyWarning]:
    return needling_warnings(entries, MUSCLES, screening)


def codes(entries: list[PlannedNeedling], screening: ScreeningFlags = CLEAR) -> list[str]:
    return [w.code for w in checks(entries, screening)]


def blocking(entries: list[PlannedNeedling], screening: ScreeningFlags = CLEAR) -> list[str]:
    return [w.code for w in checks(entries, screening) if w.blocks]


def only(code: str, entries: list[PlannedNeedling], screening: ScreeningFlags = CLEAR) -> SafetyWarning:
    (found,) = [w for w in checks(entries, screening) if w.code == code]
    return found


# --- one scenario per code, and its negative --------------------------------------------------------

TRIGGERS: dict[str, tuple[list[PlannedNeedling], ScreeningFlags]] = {
    "no_screening": ([needle("infraspinatus")], flags(screening_current=False)),
    "no_consent": ([needle("infraspinatus")], flags(consent_current=False)),
    "absolute_contraindication": ([needle("infraspinatus")], flags(absolute_contraindications=("unwilling",))),
    "estim_implanted_device": ([needle("infraspinatus", estim=True)], flags(implanted_device=True)),
    "thorax_technique": ([needle("rhomboids", length=13)], CLEAR),
    "latex_allergy": ([needle("infraspinatus")], flags(latex_allergy=True)),
    "fainting_history": ([needle("infraspinatus")], flags(fainting_history=True)),
    "ptx_patient_risk": ([needle("rhomboids", length=13)], flags(thin_build=True, bmi=17.0)),
    "ptx_depth": ([needle("rhomboids", length=25)], CLEAR),
    "ptx_unverified_depth": ([needle("levator-scapulae", length=15)], CLEAR),
    "bilateral_thorax": ([needle("rhomboids", "left", 15), needle("rhomboids", "right", 15)], CLEAR),
    "lymphoedema_side": ([needle("infraspinatus", "left")], flags(lymphoedema_sides=frozenset({"left"}))),
    "lymph_node_side": ([needle("infraspinatus", "left")], flags(lymph_node_sides=frozenset({"left"}))),
    "bleeding_risk": ([needle("infraspinatus")], flags(bleeding_risk=True)),
    "nerve_vessel": ([needle("piriformis")], CLEAR),
    "organ": ([needle("rectus-abdominis")], CLEAR),
    "breast_implant": ([needle("pectoralis-major", "left", 13)], flags(breast_implant_sides=frozenset({"left"}))),
    "implant_site": ([needle("infraspinatus")], flags(implant_sites=("left knee (replacement)",))),
    "tumour_site": ([needle("infraspinatus")], flags(tumour_sites=("right thigh",))),
    "pregnancy_region": ([needle("rectus-abdominis")], flags(pregnant=True, pregnancy_trimester=2)),
    "estim_pregnancy": ([needle("infraspinatus", estim=True)], flags(pregnant=True, pregnancy_trimester=1)),
}

NOT_TRIGGERED: dict[str, tuple[list[PlannedNeedling], ScreeningFlags]] = {
    "no_screening": ([needle("infraspinatus")], flags(consent_current=False)),
    "no_consent": ([needle("infraspinatus")], flags(screening_current=False)),
    "absolute_contraindication": ([needle("infraspinatus")], flags(lymphoedema_sides=frozenset({"left"}))),
    "estim_implanted_device": ([needle("infraspinatus")], flags(implanted_device=True)),
    "thorax_technique": ([needle("infraspinatus", length=60), needle("piriformis", length=75)], CLEAR),
    "latex_allergy": ([needle("infraspinatus")], flags(fainting_history=True)),
    "fainting_history": ([needle("infraspinatus")], flags(latex_allergy=True)),
    "ptx_patient_risk": ([needle("rhomboids", length=19), needle("infraspinatus")], flags(thin_build=False)),
    "ptx_depth": ([needle("rhomboids", length=19)], CLEAR),
    "ptx_unverified_depth": ([needle("levator-scapulae", length=13), needle("rhomboids", length=60)], CLEAR),
    "bilateral_thorax": ([needle("rhomboids", "left", 15), needle("infraspinatus", "right")], CLEAR),
    "lymphoedema_side": ([needle("infraspinatus", "right")], flags(lymphoedema_sides=frozenset({"left"}))),
    "lymph_node_side": ([needle("infraspinatus", "right")], flags(lymph_node_sides=frozenset({"left"}))),
    "bleeding_risk": ([needle("infraspinatus")], flags(implanted_device=True, pregnant=True)),
    "nerve_vessel": ([needle("infraspinatus"), needle("rectus-abdominis")], CLEAR),
    "organ": ([needle("piriformis"), needle("rhomboids", length=15)], CLEAR),
    "breast_implant": ([needle("pectoralis-major", "right", 13)], flags(breast_implant_sides=frozenset({"left"}))),
    "implant_site": ([needle("infraspinatus")], flags(tumour_sites=("right thigh",))),
    "tumour_site": ([needle("infraspinatus")], flags(implant_sites=("left knee",))),
    "pregnancy_region": ([needle("infraspinatus"), needle("rectus-abdominis")], CLEAR),
    "estim_pregnancy": ([needle("rectus-abdominis", estim=True)], flags(implanted_device=False)),
}


def test_every_rule_has_a_trigger_and_a_negative_case() -> None:
    assert set(TRIGGERS) == set(NOT_TRIGGERED) == set(RULE_SEVERITY)


@pytest.mark.parametrize("code", sorted(TRIGGERS))
def test_each_check_is_triggered(code: str) -> None:
    entries, screening = TRIGGERS[code]
    found = only(code, entries, screening)
    assert found.severity == RULE_SEVERITY[code]
    assert found.source and found.message and "{" not in found.message


@pytest.mark.parametrize("code", sorted(NOT_TRIGGERED))
def test_each_check_is_not_triggered_without_its_cause(code: str) -> None:
    entries, screening = NOT_TRIGGERED[code]
    assert code not in codes(entries, screening)


def test_the_three_kinds() -> None:
    kinds = {severity: {c for c, s in RULE_SEVERITY.items() if s == severity} for severity in (REMINDER, REFUSAL)}
    assert kinds[REFUSAL] == {"no_screening", "no_consent", "absolute_contraindication", "estim_implanted_device"}
    assert kinds[REMINDER] == {"thorax_technique", "latex_allergy", "fainting_history"}
    assert set(RULE_SEVERITY.values()) == {REMINDER, WARNING, REFUSAL}


@pytest.mark.parametrize("code", sorted(c for c, s in RULE_SEVERITY.items() if s == WARNING))
def test_every_warning_offers_sourced_precautions(code: str) -> None:
    found = only(code, *TRIGGERS[code])
    assert found.precautions and found.acknowledgeable and found.blocks
    assert all(p.label and p.source for p in found.precautions)


def test_reminders_do_not_block_and_cannot_be_acknowledged() -> None:
    found = checks([needle("rhomboids", length=13)], flags(latex_allergy=True, fainting_history=True))
    assert [w.code for w in found] == ["latex_allergy", "fainting_history", "thorax_technique"]
    assert all(w.is_reminder and not w.blocks and not w.acknowledgeable and not w.precautions for w in found)
    assert unacknowledged(found, {}) == []
    assert reminders(found) == found
    assert "latex-free gloves" in found[0].message


def test_a_safe_visit_has_nothing() -> None:
    assert needling_warnings([needle("infraspinatus", "right", 40)], MUSCLES, CLEAR) == []


def test_no_needling_no_checks_even_without_screening() -> None:
    assert needling_warnings([], MUSCLES, flags(screening_current=False, consent_current=False)) == []


# --- thorax: reminders at any length ---------------------------------------------------------------


@pytest.mark.parametrize("length", [13, 15, 19, 25, 40, 75])
def test_every_thorax_needle_gets_the_technique_reminder_at_any_length(length: float) -> None:
    found = only("thorax_technique", [needle("rhomboids", "right", length)])
    assert found.severity == REMINDER
    assert "pincer grasp" in found.message and "tangential" in found.message and "rib bracketing" in found.message


def test_rib_bracketing_is_named_only_where_the_pleura_lies_under_an_intercostal_space() -> None:
    apex = only("thorax_technique", [needle("upper-trapezius", length=13)])
    below = only("thorax_technique", [needle("quadratus-lumborum", length=13)])
    assert "lung apex" in apex.message and "rib bracketing" not in apex.message
    assert "12th rib" in below.message and "rib bracketing" not in below.message
    assert "rib bracketing" in only("thorax_technique", [needle("levator-scapulae", length=13)]).message
    deep = only("ptx_depth", [needle("upper-trapezius", length=30)])
    assert "rib_bracketing" not in {p.code for p in deep.precautions}
    assert "rib_bracketing" in {p.code for p in only("ptx_depth", [needle("rhomboids", length=30)]).precautions}


def test_a_chest_wall_muscle_without_a_pneumothorax_kind_still_gets_the_reminder() -> None:
    assert codes([needle("chest-wall", length=13)]) == ["thorax_technique"]


# --- thorax: warnings by build, lungs and depth ----------------------------------------------------


@pytest.mark.parametrize("muscle", ["rhomboids", "upper-trapezius", "levator-scapulae", "pectoralis-major"])
def test_a_thin_build_makes_every_thorax_muscle_warn_at_13_mm(muscle: str) -> None:
    found = only("ptx_patient_risk", [needle(muscle, "left", 13)], flags(thin_build=True, bmi=17.2))
    assert "thin build (BMI 17.2)" in found.message and "13 mm" in found.message
    assert "population averages" in found.message
    assert codes([needle(muscle, "left", 13)], flags(thin_build=True)).count("ptx_patient_risk") == 1


@pytest.mark.parametrize(
    ("screening", "words"),
    [
        (flags(copd_emphysema=True), "COPD or emphysema"),
        (flags(previous_pneumothorax=True), "a previous pneumothorax"),
        (flags(thin_build=True, copd_emphysema=True), "a thin build and COPD or emphysema"),
    ],
)
def test_lung_disease_makes_every_thorax_muscle_warn_whatever_the_length(screening: ScreeningFlags, words: str) -> None:
    for length in (13, 15, 60):
        found = only("ptx_patient_risk", [needle("rhomboids", length=length)], screening)
        assert words in found.message
        assert "ptx_depth" not in codes([needle("rhomboids", length=length)], screening)


def test_the_patient_risk_warning_does_not_touch_muscles_away_from_the_thorax() -> None:
    assert blocking([needle("infraspinatus", length=60)], flags(thin_build=True, copd_emphysema=True)) == []


@pytest.mark.parametrize(("length", "warned"), [(13, False), (15, False), (19, False), (25, True), (40, True)])
def test_normal_build_warns_only_above_the_sourced_depth(length: float, warned: bool) -> None:
    assert ("ptx_depth" in codes([needle("rhomboids", length=length)])) is warned
    assert "thorax_technique" in codes([needle("rhomboids", length=length)])


def test_the_issue_cases() -> None:
    # 15 mm rhomboids and 25 mm upper trapezius were silent: now a reminder for everyone, a warning if thin.
    assert codes([needle("rhomboids", length=15)]) == ["thorax_technique"]
    assert codes([needle("upper-trapezius", length=25)]) == ["thorax_technique"]
    thin = flags(thin_build=True, bmi=17.0)
    assert blocking([needle("rhomboids", length=15)], thin) == ["ptx_patient_risk"]
    assert blocking([needle("upper-trapezius", length=25)], thin) == ["ptx_patient_risk"]
    # Levator scapulae (no sourced depth) warned at 13 mm: now only above the threshold.
    assert blocking([needle("levator-scapulae", length=13)]) == []
    assert blocking([needle("levator-scapulae", length=15)]) == ["ptx_unverified_depth"]


def test_the_depth_message_is_labelled_a_population_average() -> None:
    found = only("ptx_depth", [needle("rhomboids", "left", 30)])
    assert found.message.startswith(
        "Rhomboids (left side): 30 mm needle is longer than the 19 mm population-average safe depth ([S21])."
    )
    assert "shallower in thin patients" in found.message
    assert (found.muscle_id, found.side, found.severity) == ("rhomboids", "left", WARNING)


@given(length=st.floats(min_value=1, max_value=120), depth=st.floats(min_value=1, max_value=60))
def test_the_depth_warning_fires_exactly_above_the_safe_depth(length: float, depth: float) -> None:
    muscle = MuscleHazard("m", "Muscle", frozenset({"pneumothorax"}), True, depth, "[S21]")
    found = [w.code for w in needling_warnings([PlannedNeedling("m", "left", length)], {"m": muscle}, CLEAR)]
    assert ("ptx_depth" in found) == (length > depth)
    assert "thorax_technique" in found


@given(length=st.floats(min_value=1, max_value=120))
def test_without_a_sourced_depth_only_needles_above_the_threshold_warn(length: float) -> None:
    threshold = safety_rules().no_depth_max_length_mm
    assert ("ptx_unverified_depth" in codes([needle("levator-scapulae", length=length)])) == (length > threshold)


def test_the_no_depth_threshold_is_stated_with_its_source() -> None:
    rules = safety_rules()
    assert rules.no_depth_max_length_mm == 13
    assert "unverified" in rules.no_depth_source
    found = only("ptx_unverified_depth", [needle("levator-scapulae", "right", 15)])
    assert "longer than 13 mm" in found.message and "15 mm" in found.message and found.unverified
    assert "lower trigger point" in found.message and "threshold: unverified" in found.source


def test_entries_for_one_muscle_and_side_merge_and_the_longest_needle_counts() -> None:
    entries = [needle("rhomboids", "left", 25), needle("rhomboids", "left", 40)]
    assert "40 mm needle" in only("ptx_depth", entries).message


STOCK = (13, 15, 25, 30, 40, 50, 60, 75)


@pytest.mark.parametrize(
    ("muscle", "screening", "expected"),
    [
        ("rhomboids", CLEAR, 15),
        ("upper-trapezius", CLEAR, 25),
        ("levator-scapulae", CLEAR, 13),
        ("infraspinatus", CLEAR, 75),
        ("rhomboids", flags(thin_build=True), None),
        ("infraspinatus", flags(thin_build=True), 75),
    ],
)
def test_the_longest_stock_length_without_a_pneumothorax_warning(
    muscle: str, screening: ScreeningFlags, expected: float | None
) -> None:
    assert longest_length_without_pneumothorax_warning(MUSCLES[muscle], STOCK, screening) == expected


# --- both sides of the thorax ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "entries",
    [
        [needle("rhomboids", "both", 15)],
        [needle("rhomboids", "left", 15), needle("upper-trapezius", "right", 13)],
        [needle("chest-wall", "left"), needle("chest-wall", "right")],
    ],
)
def test_both_sides_of_the_thorax_warn_once(entries: list[PlannedNeedling]) -> None:
    found = only("bilateral_thorax", entries)
    assert found.side == "both" and found.muscle_id is None


def test_one_side_of_the_thorax_twice_is_not_bilateral() -> None:
    assert "bilateral_thorax" not in codes([needle("rhomboids", "left", 15), needle("upper-trapezius", "left")])


# --- pregnancy -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("trimester", "words"), [(1, "first trimester"), (2, "second trimester"), (3, "third trimester")]
)
@pytest.mark.parametrize(
    ("muscle", "region"),
    [
        ("rectus-abdominis", "the abdomen"),
        ("quadratus-lumborum", "the lumbar region"),
        ("upper-trapezius", "GB21"),
    ],
)
def test_pregnancy_warns_for_each_region_in_each_trimester(
    muscle: str, region: str, trimester: int, words: str
) -> None:
    found = only("pregnancy_region", [needle(muscle, "right", 13)], flags(pregnant=True, pregnancy_trimester=trimester))
    assert f"pregnant ({words})" in found.message and region in found.message
    assert found.severity == WARNING and "[S12]" in found.source
    parts = found.source.split("; ")
    assert len(parts) == len(set(parts))  # each citation once


def test_pregnancy_does_not_warn_away_from_the_regions() -> None:
    pregnant = flags(pregnant=True, pregnancy_trimester=1)
    assert blocking([needle("infraspinatus"), needle("piriformis")], pregnant) == ["nerve_vessel"]


def test_pregnancy_without_a_recorded_trimester_still_warns_and_says_so() -> None:
    found = only("pregnancy_region", [needle("rectus-abdominis")], flags(pregnant=True))
    assert "trimester not recorded" in found.message


def test_an_unverified_point_mapping_marks_the_warning_unverified() -> None:
    soleus = {"soleus": MuscleHazard("soleus", "Soleus", frozenset({"low"}), False, None)}
    (found,) = needling_warnings([needle("soleus")], soleus, flags(pregnant=True, pregnancy_trimester=3))
    assert "SP6" in found.message and found.unverified and "[S202]" in found.source


def test_the_pregnancy_data_maps_atlas_muscles_with_a_source_each() -> None:
    from needlepoint.atlas.catalogue import muscles

    regions = load_pregnancy_regions(PREGNANCY_FILE)
    atlas = set(muscles())
    assert {r.code for r in regions} >= {"abdomen", "upper_lumbar", "gb21"}
    for region in regions:
        assert region.muscles <= atlas, region.code
        assert region.source and region.trimesters <= {1, 2, 3}


def test_electrical_stimulation_in_pregnancy_names_the_trimester() -> None:
    found = only("estim_pregnancy", [needle("infraspinatus", estim=True)], flags(pregnant=True, pregnancy_trimester=3))
    assert "third trimester" in found.message


# --- implants, tumour, lymph nodes ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("implant", "side", "warned"),
    [({"left"}, "left", True), ({"left"}, "right", False), ({"left", "right"}, "right", True), (set(), "left", False)],
)
def test_a_breast_implant_warns_for_anterior_chest_muscles_on_its_side(
    implant: set[str], side: str, warned: bool
) -> None:
    screening = flags(breast_implant_sides=frozenset(implant))
    assert ("breast_implant" in codes([needle("pectoralis-major", side, 13)], screening)) is warned
    assert "breast_implant" not in codes([needle("rhomboids", side, 13)], screening)


def test_the_anterior_chest_muscles_are_the_atlas_ones() -> None:
    assert safety_rules().anterior_chest_muscles == {"pectoralis-major", "pectoralis-minor", "serratus-anterior"}


def test_implant_and_tumour_sites_warn_on_each_entry_naming_the_site() -> None:
    screening = flags(implant_sites=("left knee (replacement)",), tumour_sites=("right thigh",))
    found = checks([needle("infraspinatus", "left"), needle("piriformis", "right")], screening)
    implants = [w for w in found if w.code == "implant_site"]
    tumours = [w for w in found if w.code == "tumour_site"]
    assert len(implants) == len(tumours) == 2
    assert all("left knee (replacement)" in w.message and "away from it" in w.message for w in implants)
    assert all("right thigh" in w.message for w in tumours)


@pytest.mark.parametrize(
    ("removed", "side", "warned"),
    [
        ({"left"}, "left", True),
        ({"left"}, "right", False),
        ({"left"}, "both", True),
        ({"left", "right"}, "right", True),
    ],
)
def test_lymph_node_removal_warns_like_the_lymphoedema_side(removed: set[str], side: str, warned: bool) -> None:
    found = codes([needle("infraspinatus", side)], flags(lymph_node_sides=frozenset(removed)))
    assert ("lymph_node_side" in found) is warned


@pytest.mark.parametrize(
    ("lymphoedema", "side", "warned"),
    [({"left"}, "left", True), ({"left"}, "right", False), ({"left"}, "both", True), (set(), "both", False)],
)
def test_lymphoedema_side(lymphoedema: set[str], side: str, warned: bool) -> None:
    found = codes([needle("infraspinatus", side)], flags(lymphoedema_sides=frozenset(lymphoedema)))
    assert ("lymphoedema_side" in found) is warned


def test_bleeding_risk_is_one_warning_per_visit() -> None:
    entries = [needle("infraspinatus", "left"), needle("infraspinatus", "right")]
    assert codes(entries, flags(bleeding_risk=True)).count("bleeding_risk") == 1


def test_nerve_warning_names_the_structure() -> None:
    assert only("nerve_vessel", [needle("piriformis", "right", 75)]).message.startswith(
        "Piriformis (right side): sciatic nerve close by."
    )


# --- refusals and acknowledgements -----------------------------------------------------------------


def test_refusals_come_first() -> None:
    screening = flags(consent_current=False, bleeding_risk=True)
    assert blocking([needle("rhomboids", length=30)], screening) == ["no_consent", "bleeding_risk", "ptx_depth"]


def test_a_refusal_cannot_be_acknowledged_away() -> None:
    found = checks([needle("infraspinatus")], flags(screening_current=False))
    given = {warning_key(w): {"precautions": ["directed_away"], "note": "I am sure of this"} for w in found}
    assert [w.code for w in unacknowledged(found, given)] == ["no_screening"]
    with pytest.raises(AcknowledgementError):
        read_acknowledgement(found[0], {"precautions": ["directed_away"]})


def test_one_precaution_acknowledges_a_warning() -> None:
    warning = only("ptx_patient_risk", [needle("rhomboids", length=15)], flags(thin_build=True))
    ack = read_acknowledgement(warning, {"precautions": ["pincer_grasp"], "note": ""})
    assert ack is not None and ack.precaution_codes == ("pincer_grasp",)
    assert ack.precautions == ("Pincer grasp: muscle lifted off the chest wall",) and ack.note == ""
    stored = {warning_key(warning): {"precautions": list(ack.precautions), "note": ack.note}}
    assert unacknowledged([warning], stored) == []


def test_several_precautions_and_a_short_note_are_kept() -> None:
    warning = only("ptx_depth", [needle("rhomboids", length=30)])
    ack = read_acknowledgement(
        warning, {"precautions": ["pincer_grasp", "tangential_direction", "pincer_grasp"], "note": "ok"}
    )
    assert ack is not None and ack.precaution_codes == ("pincer_grasp", "tangential_direction") and ack.note == "ok"


@pytest.mark.parametrize("reason", ["x", "ok", "n/a", "yes yes", "a b c d e f", "1234567890 123456", "Fine by me"])
def test_a_reason_that_is_not_a_sentence_is_refused(reason: str) -> None:
    warning = only("ptx_depth", [needle("rhomboids", length=30)])
    with pytest.raises(AcknowledgementError, match="real sentence"):
        read_acknowledgement(warning, reason)
    with pytest.raises(AcknowledgementError, match="real sentence"):
        read_acknowledgement(warning, {"precautions": [], "note": reason})


@pytest.mark.parametrize(
    "reason", ["Needle angled away from the sciatic nerve", "INR checked today: 2.1, in range", "Pincer grasp used"]
)
def test_a_real_sentence_acknowledges_without_a_precaution(reason: str) -> None:
    warning = only("nerve_vessel", [needle("piriformis")])
    ack = read_acknowledgement(warning, reason)
    assert ack is not None and ack.precautions == () and ack.note == reason
    assert is_real_sentence(reason)


def test_the_reason_rule_is_three_words_and_fifteen_letters() -> None:
    assert is_real_sentence("Pincer grasp used") and not is_real_sentence("Pincer grasp")
    assert not is_real_sentence("we do it")  # three words, seven letters


@pytest.mark.parametrize("given", [None, "", "   ", {"precautions": [], "note": "  "}, {}])
def test_nothing_given_is_not_an_acknowledgement(given: object) -> None:
    assert read_acknowledgement(only("nerve_vessel", [needle("piriformis")]), given) is None


def test_a_precaution_of_another_warning_is_refused() -> None:
    warning = only("nerve_vessel", [needle("piriformis")])
    with pytest.raises(AcknowledgementError, match="rib_bracketing is not a precaution for this warning"):
        read_acknowledgement(warning, {"precautions": ["rib_bracketing"]})
    with pytest.raises(AcknowledgementError):
        read_acknowledgement(warning, ["directed_away"])


def test_a_note_over_the_limit_is_refused() -> None:
    warning = only("nerve_vessel", [needle("piriformis")])
    with pytest.raises(AcknowledgementError, match="under 500"):
        read_acknowledgement(warning, {"precautions": ["directed_away"], "note": "word " * 120})


def test_stored_acknowledgements_old_and_new() -> None:
    warning = only("ptx_depth", [needle("rhomboids", length=30)])
    key = warning_key(warning)
    assert unacknowledged([warning], {}) == [warning]
    assert unacknowledged([warning], {key: {"reason": "Pincer grasp, tangential, 15 mm inserted"}}) == []
    assert unacknowledged([warning], {key: {"reason": "  ", "precautions": []}}) == [warning]
    assert unacknowledged([warning], {key: "  "}) == [warning]
    assert unacknowledged([warning], {"ptx_depth:rhomboids:right": {"precautions": ["x"]}}) == [warning]
    assert acknowledgement_text({"reason": "Pincer grasp used"}) == "Reason to proceed: Pincer grasp used"
    assert acknowledgement_text({"precautions": ["Pincer grasp", "Ultrasound guidance"], "note": "thin"}) == (
        "Precautions: Pincer grasp; Ultrasound guidance. Note: thin"
    )


@given(st.sets(st.sampled_from(sorted(TRIGGERS))))
def test_acknowledging_everything_leaves_only_refusals(scenario_codes: set[str]) -> None:
    found: list[SafetyWarning] = []
    for code in scenario_codes:
        found += needling_warnings(*TRIGGERS[code][:1], MUSCLES, TRIGGERS[code][1])
    given_ = {warning_key(w): {"precautions": [w.precautions[0].label]} for w in found if w.precautions}
    assert unacknowledged(found, given_) == [w for w in found if w.severity == REFUSAL]


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
    assert PlannedNeedling("rhomboids", "left", Decimal("30.0")).needle_length_mm == 30.0


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"kinds": {"volcano"}}, "unknown hazard kinds"),
        ({"safe_depth_mm": 19, "safe_depth_source": ""}, "needs its source"),
        ({"safe_depth_mm": -1, "safe_depth_source": "[S21]"}, "positive number"),
        ({"pleura_access": "kidney"}, "pleura access"),
    ],
)
def test_bad_hazard_data_is_refused(kwargs: dict[str, object], expected: str) -> None:
    base: dict[str, object] = {"kinds": {"pneumothorax"}, "safe_depth_mm": None}
    with pytest.raises(ValueError, match=expected):
        MuscleHazard("m", "Muscle", over_thorax=True, **(base | kwargs))


def test_hazard_from_an_atlas_block() -> None:
    block = {"kinds": ["pneumothorax"], "over_thorax": True, "safe_depth_mm": 19, "safe_depth_source": "[S21]"}
    hazard = MuscleHazard.from_mapping("rhomboids", "Rhomboids", block)
    assert hazard.kinds == frozenset({"pneumothorax"}) and hazard.structures == ()
    assert hazard.pleura_access is None and hazard.access == "intercostal"
    apex = MuscleHazard.from_mapping("x", "X", block | {"pleura_access": "lung_apex"})
    assert apex.access == "lung_apex"
    with pytest.raises(ValueError, match="lacks over_thorax"):
        MuscleHazard.from_mapping("rhomboids", "Rhomboids", {"kinds": [], "safe_depth_mm": None})


def test_every_atlas_thorax_muscle_gets_the_reminder_and_none_warns_at_13_mm_for_a_normal_build() -> None:
    from needlepoint.visits.muscles import hazards

    atlas = hazards()
    thorax = [m for m in atlas.values() if m.thorax]
    assert {"rhomboids", "upper-trapezius", "levator-scapulae", "lower-trapezius"} <= {m.muscle_id for m in thorax}
    for muscle in thorax:
        found = needling_warnings([needle(muscle.muscle_id, "left", 13)], atlas, CLEAR)
        assert "thorax_technique" in [w.code for w in found]
        assert not {"ptx_depth", "ptx_unverified_depth", "ptx_patient_risk"} & {w.code for w in found}
        thin = needling_warnings([needle(muscle.muscle_id, "left", 13)], atlas, flags(thin_build=True))
        assert "ptx_patient_risk" in [w.code for w in thin]


# --- flags from a screening -----------------------------------------------------------------------


def screened(**yes: object) -> ScreeningResult:
    return evaluate_screening({item.code: False for item in screening_items()} | yes)


def finding(code: str, **details: object) -> Finding:
    return Finding(code, "relative", "site", f"{code} found", "[S12]", details=dict(details))


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


def test_flags_from_the_new_screening_findings() -> None:
    result = ScreeningResult(
        "cleared_with_precautions",
        (
            finding("low_bmi", bmi=17.4),
            finding("copd_emphysema"),
            finding("previous_pneumothorax"),
            finding("breast_implant", breast_implant_side="right"),
            finding("other_implant", implant_site="  left   knee "),
            finding("tumour_at_site", tumour_site="right thigh"),
            finding("lymph_node_removal", lymph_node_side="left"),
            finding("latex_allergy"),
            finding("fainting_history"),
            finding("pregnancy", pregnancy_trimester=3),
        ),
    )
    got = screening_flags(result, consent_current=True)
    assert got.thin_build and got.bmi == 17.4 and got.copd_emphysema and got.previous_pneumothorax
    assert got.breast_implant_sides == {"right"} and got.lymph_node_sides == {"left"}
    assert got.implant_sites == ("left knee",) and got.tumour_sites == ("right thigh",)
    assert got.latex_allergy and got.fainting_history and got.pregnant and got.pregnancy_trimester == 3


def test_findings_with_missing_details_still_warn() -> None:
    result = ScreeningResult(
        "cleared_with_precautions",
        (finding("breast_implant"), finding("other_implant"), finding("pregnancy", pregnancy_trimester="x")),
    )
    got = screening_flags(result, consent_current=True)
    assert got.breast_implant_sides == {"left", "right"}  # an unreadable side must not hide the warning
    assert got.implant_sites == ("the recorded implant site",)
    assert got.pregnant and got.pregnancy_trimester is None


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


# --- the data files -------------------------------------------------------------------------------


def write_rules(tmp_path: Path, change: dict[str, object], top: dict[str, object] | None = None) -> Path:
    raw = json.loads(DATA_FILE.read_text(encoding="utf-8"))
    raw["rules"] = {k: v for k, v in (raw["rules"] | change).items() if v is not None}
    raw |= top or {}
    path = tmp_path / "rules.json"
    path.write_text(json.dumps(raw), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"organ": None}, "missing rule organ"),
        ({"volcano": {"message": "m", "source": "[S1]"}}, "unknown rule volcano"),
        (
            {"organ": {"message": "{patient_name}", "source": "[S13]", "precautions": ["directed_away"]}},
            "unknown message",
        ),
        ({"organ": {"message": "m", "source": "a blog", "precautions": ["directed_away"]}}, "reference key"),
        ({"organ": {"message": "m"}}, "needs a 'message' and a 'source'"),
        ({"organ": {"message": "m", "source": "[S13]"}}, "at least one precaution"),
        ({"organ": {"message": "m", "source": "[S13]", "precautions": ["prayer"]}}, "unknown precaution prayer"),
        ({"latex_allergy": {"message": "m", "source": "[S8]", "precautions": ["directed_away"]}}, "only a warning"),
    ],
)
def test_a_malformed_rules_file_is_refused(tmp_path: Path, change: dict[str, object], expected: str) -> None:
    with pytest.raises(SafetyDataError, match=expected):
        load_safety_rules(write_rules(tmp_path, change))


@pytest.mark.parametrize(
    ("top", "expected"),
    [
        ({"thorax": {}}, "no_depth_max_length_mm"),
        ({"precautions": {"pincer_grasp": {"label": "Pincer", "source": "a blog"}}}, "precaution pincer_grasp"),
        ({"anterior_chest_muscles": {"muscles": []}}, "anterior_chest_muscles"),
    ],
)
def test_malformed_thorax_precaution_and_chest_data_are_refused(
    tmp_path: Path, top: dict[str, object], expected: str
) -> None:
    with pytest.raises(SafetyDataError, match=expected):
        load_safety_rules(write_rules(tmp_path, {}, top))


def test_a_malformed_pregnancy_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "pregnancy.json"
    path.write_text(json.dumps({"regions": [{"code": "x", "label": "X", "muscles": [], "trimesters": [4]}]}))
    with pytest.raises(SafetyDataError, match=r"muscles.*\n.*trimesters.*\n.*reference key"):
        load_pregnancy_regions(path)


def test_rule_texts_come_from_the_data_file(tmp_path: Path) -> None:
    path = write_rules(
        tmp_path, {"organ": {"message": "Deep: {muscle}.", "source": "[S13]", "precautions": ["shorter_needle"]}}
    )
    rules = load_safety_rules(path)
    found = [w for w in needling_warnings([needle("rectus-abdominis")], MUSCLES, CLEAR, rules) if w.code == "organ"]
    assert found[0].message == "Deep: Rectus abdominis." and [p.code for p in found[0].precautions] == [
        "shorter_needle"
    ]


def test_every_source_cites_a_key_of_the_references_file() -> None:
    raw = json.loads(DATA_FILE.read_text(encoding="utf-8"))
    listed = set(references())
    cited: set[str] = set()
    for entry in [*raw["rules"].values(), *raw["precautions"].values()]:
        cited |= set(re.findall(r"\b(?:S|T)\d+[a-z]?\b", entry["source"]))
    assert cited and cited <= listed and "S130" in cited
