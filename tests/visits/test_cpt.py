"""CPT 20560/20561: the muscle-count boundaries, how sides count, and the data file's bands."""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.test import Client
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from needlepoint.accounts.actions import create_api_token
from needlepoint.atlas.catalogue import MuscleAnatomy, muscles
from needlepoint.visits import actions
from needlepoint.visits.cpt import (
    DATA_FILE,
    PER_MUSCLE,
    PER_SIDE,
    CptDataError,
    choose_cpt,
    count_muscles,
    cpt_table,
    description_of,
    load_cpt_table,
)
from needlepoint.visits.models import NeedlingEntry, Visit
from needlepoint.visits.safety import PlannedNeedling
from needlepoint.visits.summary import render_note
from tests.conftest import client_for
from tests.visits.visit_helpers import entry_input as form_entry
from tests.visits.visit_helpers import fresh, reconcile

ROOT = Path(__file__).resolve().parents[2]
MUSCLE_IDS = ["upper_trapezius", "levator_scapulae", "rhomboids", "infraspinatus", "piriformis"]


def entry(muscle_id: str, side: str = "left") -> PlannedNeedling:
    return PlannedNeedling(muscle_id, side, 30)


def per_muscle_table():
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


def write_table(tmp_path: Path, edit) -> Path:
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
        (lambda raw: raw["codes"][0].update(source="CPT book"), "must cite the project's reference keys"),
        (lambda raw: raw["counting"].update(sides="per_finger"), "counting.sides must be"),
        (lambda raw: raw["counting"].update(source="trust me"), "counting needs a source"),
        (lambda raw: raw["notes"][0].update(source="a blog"), "needs text, a source in the project's references"),
    ],
)
def test_a_malformed_table_is_refused(tmp_path: Path, edit, expected: str) -> None:
    with pytest.raises(CptDataError, match="invalid CPT table") as caught:
        load_cpt_table(write_table(tmp_path, edit))
    assert expected in str(caught.value)


def test_a_table_missing_a_key_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CptDataError, match="cannot be read as a CPT table"):
        load_cpt_table(write_table(tmp_path, lambda raw: raw["codes"][0].pop("work_rvu")))


# --- anatomical muscles: trapezius parts, SCM heads and group members -------------------------------------


def needled(muscle_id: str, side: str = "right", trigger_point: str = "") -> SimpleNamespace:
    """A needling entry as the visit stores it: atlas muscle id, side and trigger-point code."""
    return SimpleNamespace(muscle_id=muscle_id, side=side, trigger_point=trigger_point)


TRAPEZIUS = ["upper-trapezius", "middle-trapezius", "lower-trapezius"]
SCM = ["sternocleidomastoid-sternal", "sternocleidomastoid-clavicular"]


def test_upper_and_lower_trapezius_and_levator_scapulae_on_one_side_are_two_muscles() -> None:
    choice = choose_cpt([needled("upper-trapezius"), needled("lower-trapezius"), needled("levator-scapulae")])
    assert (choice.code, choice.muscle_count) == ("20560", 2)
    assert "trapezius are one trapezius" in choice.anatomy_rule


@pytest.mark.parametrize(
    ("entries", "per_side", "per_muscle"),
    [
        # All three trapezius parts and both SCM heads on the right: trapezius + sternocleidomastoid.
        ([needled(m) for m in TRAPEZIUS + SCM], 2, 2),
        # The same on both sides: two muscles per side, but still two muscles when sides do not count.
        ([needled(m, "both") for m in TRAPEZIUS + SCM], 4, 2),
        # Upper trapezius right, lower trapezius left: one muscle on each side.
        ([needled("upper-trapezius", "right"), needled("lower-trapezius", "left")], 2, 1),
        # Sternal head right, clavicular head left, plus levator scapulae right.
        ([needled(SCM[0], "right"), needled(SCM[1], "left"), needled("levator-scapulae", "right")], 3, 2),
        # Both SCM heads and upper trapezius on one side, levator on the other.
        ([needled(SCM[0]), needled(SCM[1]), needled(TRAPEZIUS[0]), needled("levator-scapulae", "left")], 3, 3),
    ],
)
def test_trapezius_parts_and_scm_heads_count_as_one_muscle(entries, per_side: int, per_muscle: int) -> None:
    assert count_muscles(entries, PER_SIDE) == per_side
    assert count_muscles(entries, PER_MUSCLE) == per_muscle
    assert choose_cpt(entries).code == ("20560" if per_side <= 2 else "20561")
    assert choose_cpt(entries, per_muscle_table()).code == ("20560" if per_muscle <= 2 else "20561")


def test_the_boundary_moves_from_20560_to_20561_at_the_third_anatomical_muscle() -> None:
    two = [needled(m) for m in TRAPEZIUS + SCM]
    assert choose_cpt(two).code == "20560"
    assert choose_cpt([*two, needled("levator-scapulae")]).code == "20561"


@pytest.mark.parametrize(
    ("points", "count"),
    [
        (["biceps-femoris"], 1),
        (["biceps-femoris", "medial"], 2),  # biceps femoris and a medial hamstring are different muscles
        (["medial", "medial"], 1),  # the two medial trigger points may be the same muscle: counted once
        ([""], 1),  # no trigger point recorded: one muscle of the group
        (["", "biceps-femoris"], 1),  # the unnamed one may be the biceps femoris already counted
        (["", "biceps-femoris", "medial"], 2),
    ],
)
def test_hamstrings_count_the_members_their_trigger_points_name(points: list[str], count: int) -> None:
    entries = [needled("hamstrings", "right", point) for point in points]
    assert count_muscles(entries, PER_SIDE) == count


def test_a_group_without_member_mapping_counts_as_one_muscle_of_the_group() -> None:
    assert count_muscles([needled("scalenes", "right", "TP"), needled("scalenes", "right", "")], PER_SIDE) == 1
    named = [needled("scalenes", "right", "anterior"), needled("scalenes", "right", "middle")]
    assert count_muscles(named, PER_SIDE) == 2
    assert count_muscles([*named, needled("scalenes", "right", "TP")], PER_SIDE) == 2
    assert count_muscles([needled("suboccipitals", "both", "TP")], PER_SIDE) == 2
    assert count_muscles([needled("suboccipitals", "both", "TP")], PER_MUSCLE) == 1


def test_iliopsoas_parts_named_by_their_trigger_points_are_two_muscles() -> None:
    entries = [needled("iliopsoas", "left", "psoas"), needled("iliopsoas", "left", "iliacus")]
    assert count_muscles(entries, PER_SIDE) == 2
    assert count_muscles([needled("iliopsoas", "left", "femoral-triangle"), entries[0]], PER_SIDE) == 1


def test_groups_and_single_muscles_add_up() -> None:
    entries = [
        needled("hamstrings", "right", "biceps-femoris"),
        needled("hamstrings", "right", "medial"),
        needled("gluteus-maximus", "right", "TrP2"),
    ]
    assert choose_cpt(entries).code == "20561"
    assert choose_cpt(entries[:1] + entries[2:]).code == "20560"


def test_an_entry_without_a_trigger_point_attribute_counts_like_an_unnamed_trigger_point() -> None:
    assert count_muscles([entry("hamstrings", "right"), needled("hamstrings", "right", "medial")], PER_SIDE) == 1


def test_the_anatomy_can_be_passed_in() -> None:
    anatomy = {
        "upper-trapezius": MuscleAnatomy("upper trapezius", (), {}),
        "lower-trapezius": MuscleAnatomy("lower trapezius", (), {}),
    }
    entries = [needled("upper-trapezius"), needled("lower-trapezius"), needled("levator-scapulae")]
    assert choose_cpt(entries, anatomy=anatomy).muscle_count == 3
    assert choose_cpt(entries).muscle_count == 2


def test_a_muscle_the_atlas_does_not_list_counts_as_its_own_muscle() -> None:
    assert count_muscles([needled("flexor-hallucis-longus"), needled("upper-trapezius")], PER_SIDE) == 2


def test_every_atlas_muscle_counts_as_one_muscle_on_its_own() -> None:
    for muscle_id in muscles():
        assert count_muscles([needled(muscle_id, "both")], PER_SIDE) == 2, muscle_id


def test_the_anatomy_rule_in_the_data_file_is_checked(tmp_path: Path) -> None:
    with pytest.raises(CptDataError, match=r"counting\.anatomy needs a rule"):
        load_cpt_table(write_table(tmp_path, lambda raw: raw["counting"]["anatomy"].update(source="our view")))
    with pytest.raises(CptDataError, match="cannot be read"):
        load_cpt_table(write_table(tmp_path, lambda raw: raw["counting"].pop("anatomy")))


def test_a_stored_code_is_described_from_the_table() -> None:
    assert description_of("20561") == "Needle insertion(s) without injection(s); 3 or more muscles"
    assert description_of("99999") == ""


# --- a visit signed before the anatomical counting keeps its code ------------------------------------------


@pytest.fixture
def signed_under_entry_counting(clinician, visit) -> Visit:
    """A visit as the earlier code signed it: right upper and lower trapezius and levator scapulae counted as
    three muscles (20561). The rows are written as that code left them; the signature is the stored state."""
    for position, (muscle, point) in enumerate(
        (("upper-trapezius", "TP1"), ("lower-trapezius", "TP3"), ("levator-scapulae", "TP1"))
    ):
        NeedlingEntry.objects.create(
            clinic_id=visit.clinic_id,
            patient_id=visit.patient_id,
            visit=visit,
            position=position,
            muscle_id=muscle,
            side="right",
            trigger_point=point,
            needles=1,
            diameter_mm="0.25",
            length_mm="15",
            technique="pistoning",
            twitch_response="single",
            recorded_by=clinician,
        )
    counts = {"needles_opened": 3, "needles_inserted": 3, "needles_removed": 3, "needles_in_sharps": 3}
    Visit.objects.filter(pk=visit.pk).update(**counts)
    visit = fresh(visit)
    old_line = f"CPT: 20561 ({description_of('20561')}; 3 counted)"
    note = re.sub(r"CPT: .*", old_line, render_note(visit, list(visit.needling_entries.order_by("position"))))
    Visit.objects.filter(pk=visit.pk).update(
        cpt_code="20561",
        cpt_muscle_count=3,
        note_text=note,
        signed_by=clinician,
        signed_at=timezone.now(),
        version=visit.version + 1,
    )
    return fresh(visit)


def test_a_visit_signed_earlier_keeps_the_code_it_was_signed_with(clinician, signed_under_entry_counting) -> None:
    visit = signed_under_entry_counting
    assert choose_cpt(list(visit.needling_entries.all())).code == "20560"  # today's rules code them lower
    assert "CPT: 20561" in visit.note_text

    page = client_for(clinician).get(f"/visits/{visit.pk}/").content.decode()
    assert 'data-testid="cpt">20561<' in page and "(3 muscles counted)" in page and "CPT: 20561" in page

    _token, raw = create_api_token(clinician, "test")
    api = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    body = api.get(f"/api/v1/visits/{visit.pk}").json()
    assert body["cpt_code"] == "20561"
    assert body["cpt"] == {"code": "20561", "description": description_of("20561"), "muscle_count": 3}
    assert "CPT: 20561" in body["note"]

    actions.add_addendum(clinician, visit.pk, "Coding reviewed: counted by atlas entry at the time.")
    body = api.get(f"/api/v1/visits/{visit.pk}").json()
    assert body["cpt_code"] == "20561" and body["cpt"]["code"] == "20561"


def test_a_visit_signed_now_is_coded_by_anatomical_muscle(clinician, visit) -> None:
    """Signing through the action stores the anatomical count: deltoid's two parts are one muscle."""
    for muscle, point in (("infraspinatus", "TP1"), ("deltoid", "anterior"), ("deltoid", "posterior")):
        actions.add_needling_entry(clinician, visit.pk, form_entry(muscle, trigger_point=point), fresh(visit).version)
    visit = reconcile(clinician, visit)
    actions.sign_visit(clinician, visit.pk, visit.version)
    signed = fresh(visit)
    assert (signed.cpt_code, signed.cpt_muscle_count) == ("20560", 2)
    assert "CPT: 20560" in signed.note_text


def test_choosing_a_code_imports_nothing_from_django() -> None:
    code = (
        "import sys; from needlepoint.visits.cpt import choose_cpt; from types import SimpleNamespace as N;"
        "print(choose_cpt([N(muscle_id='upper-trapezius', side='right')]).code,"
        " any(m.split('.')[0] == 'django' for m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert done.stdout.split() == ["20560", "False"]
