"""CPT 20560/20561: the muscle-count boundaries, how sides count, and the data file's bands."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from needlepoint.visits.cpt import (
    DATA_FILE,
    PER_MUSCLE,
    PER_SIDE,
    CptDataError,
    choose_cpt,
    count_muscles,
    cpt_table,
    load_cpt_table,
)
from needlepoint.visits.safety import PlannedNeedling

MUSCLE_IDS = ["upper_trapezius", "levator_scapulae", "rhomboids", "infraspinatus", "piriformis"]


def entry(muscle_id: str, side: str = "left") -> PlannedNeedling:
    return PlannedNeedling(muscle_id, side, 30)


def per_muscle_table():  # type: ignore[no-untyped-def]
    return dataclasses.replace(cpt_table(), counting=PER_MUSCLE)


def test_no_needling_no_code() -> None:
    assert choose_cpt([]) is None


@pytest.mark.parametrize(("muscles", "code"), [(1, "20560"), (2, "20560"), (3, "20561"), (5, "20561")])
def test_the_muscle_count_boundaries(muscles: int, code: str) -> None:
    choice = choose_cpt([entry(m) for m in MUSCLE_IDS[:muscles]])
    assert choice is not None
    assert (choice.code, choice.muscle_count) == (code, muscles)


def test_the_choice_carries_description_rvu_and_sources() -> None:
    one, three = choose_cpt([entry("rhomboids")]), choose_cpt([entry(m) for m in MUSCLE_IDS[:3]])
    assert one.description == "Needle insertion(s) without injection(s); 1 or 2 muscle(s)"
    assert (one.work_rvu, three.work_rvu) == (0.31, 0.47)
    assert "[S103]" in one.source and "[S97" in one.source


def test_the_default_counts_each_side_and_says_it_is_unverified() -> None:
    choice = choose_cpt([entry("upper_trapezius", "both")])
    assert choice.muscle_count == 2 and choice.code == "20560"
    assert "Each side of a muscle counts as one muscle" in choice.counting_rule
    assert choice.counting_unverified and "AAPC" in choice.counting_source


def test_one_muscle_on_both_sides_counts_once_per_muscle_when_the_clinic_chooses() -> None:
    choice = choose_cpt([entry("upper_trapezius", "both")], per_muscle_table())
    assert (choice.code, choice.muscle_count) == ("20560", 1)
    assert "counts once" in choice.counting_rule


def test_the_side_setting_decides_between_the_codes() -> None:
    entries = [entry("upper_trapezius", "both"), entry("levator_scapulae", "left")]
    assert choose_cpt(entries).code == "20561"
    assert choose_cpt(entries, per_muscle_table()).code == "20560"


def test_left_and_right_entries_count_like_both() -> None:
    split = [entry("rhomboids", "left"), entry("rhomboids", "right")]
    assert count_muscles(split, PER_SIDE) == count_muscles([entry("rhomboids", "both")], PER_SIDE) == 2
    assert count_muscles(split, PER_MUSCLE) == 1


def test_two_trigger_points_in_one_muscle_count_once() -> None:
    assert choose_cpt([entry("rhomboids"), entry("rhomboids"), entry("rhomboids", "both")]).muscle_count == 2


def test_any_object_with_muscle_and_side_will_do() -> None:
    rows = [SimpleNamespace(muscle_id=m, side="right") for m in MUSCLE_IDS[:3]]
    assert choose_cpt(rows).code == "20561"


@pytest.mark.parametrize("side", ["middle", None, "LEFT"])
def test_an_unknown_side_is_refused(side: object) -> None:
    with pytest.raises(ValueError, match="Side of rhomboids"):
        choose_cpt([SimpleNamespace(muscle_id="rhomboids", side=side)])


def test_an_unknown_counting_rule_is_refused() -> None:
    with pytest.raises(ValueError, match="Counting must be"):
        count_muscles([entry("rhomboids")], "per_finger")


entries_strategy = st.lists(
    st.builds(entry, st.sampled_from(MUSCLE_IDS), st.sampled_from(["left", "right", "both"])), max_size=12
)


@given(entries_strategy)
def test_exactly_one_code_or_none(entries: list[PlannedNeedling]) -> None:
    for table in (cpt_table(), per_muscle_table()):
        choice = choose_cpt(entries, table)
        covering = [band.code for band in table.bands if band.covers(count_muscles(entries, table.counting))]
        if not entries:
            assert choice is None and covering == []
        else:
            assert covering == [choice.code]
            assert (choice.code == "20560") == (choice.muscle_count <= 2)


@given(entries_strategy)
def test_counting_sides_never_counts_fewer(entries: list[PlannedNeedling]) -> None:
    per_side, per_muscle = count_muscles(entries, PER_SIDE), count_muscles(entries, PER_MUSCLE)
    assert per_muscle <= per_side <= 2 * per_muscle


# --- the data file --------------------------------------------------------------------------------


def write_table(tmp_path: Path, edit) -> Path:  # type: ignore[no-untyped-def]
    raw = json.loads(DATA_FILE.read_text(encoding="utf-8"))
    edit(raw)
    path = tmp_path / "cpt.json"
    path.write_text(json.dumps(raw), encoding="utf-8")
    return path


def test_the_packaged_table_has_contiguous_bands() -> None:
    bands = cpt_table().bands
    assert [(b.code, b.min_muscles, b.max_muscles) for b in bands] == [("20560", 1, 2), ("20561", 3, None)]


def test_a_clinic_can_switch_counting_in_the_data_file(tmp_path: Path) -> None:
    table = load_cpt_table(write_table(tmp_path, lambda raw: raw["counting"].update(sides=PER_MUSCLE)))
    assert choose_cpt([entry("rhomboids", "both")], table).muscle_count == 1


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda raw: raw["codes"][1].update(min_muscles=4), "it should start at 3"),
        (lambda raw: raw["codes"][1].update(min_muscles=2), "it should start at 3"),
        (lambda raw: raw["codes"][0].update(max_muscles=None), "only the last band may be open-ended"),
        (lambda raw: raw["codes"][1].update(max_muscles=9), "must be open-ended"),
        (lambda raw: raw["codes"][0].update(min_muscles=0), "whole number from 1"),
        (lambda raw: raw["codes"][0].update(work_rvu=-1), "work_rvu"),
        (lambda raw: raw["codes"][0].update(source="CPT book"), "must cite clinical.md keys"),
        (lambda raw: raw["counting"].update(sides="per_finger"), "counting.sides must be"),
        (lambda raw: raw["counting"].update(source="trust me"), "counting needs a source"),
        (lambda raw: raw["notes"][0].update(source="a blog"), "needs text, a clinical.md source"),
    ],
)
def test_a_malformed_table_is_refused(tmp_path: Path, edit, expected: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(CptDataError, match="invalid CPT table") as caught:
        load_cpt_table(write_table(tmp_path, edit))
    assert expected in str(caught.value)


def test_a_table_missing_a_key_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CptDataError, match="cannot be read as a CPT table"):
        load_cpt_table(write_table(tmp_path, lambda raw: raw["codes"][0].pop("work_rvu")))
