"""The pure in-clinic safety rules: the fainting first session, vasovagal after-care, the clean-technique
checklist, the needle-stick protocol steps, and the data file's checks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from needlepoint.visits import clinic_safety
from needlepoint.visits.clinic_safety import (
    ClinicSafetyDataError,
    FirstSessionNotLying,
    check_checklist,
    check_first_session,
    check_positions,
    check_vasovagal,
    checklist_text,
    needle_stick_steps_missing,
)


def test_the_data_file_loads_with_a_source_for_every_entry_and_a_note_for_every_unverified_one() -> None:
    data = clinic_safety.load()
    entries = [data.first_session, data.vasovagal, *data.clean_technique, *data.needle_stick_protocol]
    assert all(e.source.strip() for e in entries)
    assert all(e.note.strip() for e in entries if e.unverified)
    assert {p.code for p in data.positions if p.lying} == {"supine", "prone", "side_lying"}
    assert [i.code for i in data.clean_technique] == [
        "hand_hygiene",
        "skin_clean",
        "gloves",
        "single_use_needles",
        "sharps_disposal",
    ]
    assert [s.code for s in data.needle_stick_protocol] == [
        "wound_washed",
        "reported",
        "source_testing",
        "pep_decision",
    ]
    # The first-session rule is stronger than its source (WHO prefers lying for every first treatment): say so.
    assert data.first_session.unverified and "S230" in data.first_session.source


@pytest.mark.parametrize(
    ("fainted", "first", "positions"),
    [
        (True, True, ["prone"]),
        (True, True, ["supine", "side_lying"]),
        (True, False, ["seated"]),
        (False, True, ["seated"]),
        (False, True, []),
    ],
)
def test_the_first_session_rule_lets_these_through(fainted: bool, first: bool, positions: list[str]) -> None:
    check_first_session(fainting_history=fainted, first_needled_session=first, positions=positions)


@pytest.mark.parametrize("positions", [[], ["seated"], ["semi_reclined"], ["prone", "seated"]])
def test_a_first_session_after_fainting_must_be_lying_in_every_position(positions: list[str]) -> None:
    with pytest.raises(FirstSessionNotLying, match=r"fainted before.*first needling session.*lying"):
        check_first_session(fainting_history=True, first_needled_session=True, positions=positions)


def test_positions_are_checked_against_the_list() -> None:
    assert check_positions(["prone", "prone", "supine"]) == ["supine", "prone"]
    with pytest.raises(ValueError, match="Unknown position standing"):
        check_positions(["standing"])


@pytest.mark.parametrize(
    ("minutes", "advice", "fields"),
    [
        (None, True, ["minutes"]),
        (0, True, ["minutes"]),
        (241, True, ["minutes"]),
        (True, True, ["minutes"]),
        (20, False, ["advice"]),
        (None, False, ["minutes", "advice"]),
    ],
)
def test_a_vasovagal_event_needs_observation_minutes_and_the_driving_advice(minutes, advice, fields) -> None:
    problems = check_vasovagal(minutes, advice)
    assert len(problems) == len(fields)
    assert ("minutes" in fields) == any("minutes the patient was observed" in p for p in problems)
    assert ("advice" in fields) == any("No driving until fully recovered" in p for p in problems)


def test_a_vasovagal_event_with_both_passes_and_reads_on_the_note() -> None:
    assert check_vasovagal(20, True) == [] and check_vasovagal(240, True) == []
    assert (
        clinic_safety.vasovagal_text(20, True)
        == "Observed 20 min after recovery. Advised: No driving until fully recovered."
    )
    assert clinic_safety.vasovagal_text(None, False) == ""


def test_the_checklist_prints_every_item_and_names_what_was_not_confirmed() -> None:
    full = checklist_text(clinic_safety.all_checklist_codes(), True, "Alice", "2026-01-02 10:00")
    assert full == (
        "hand hygiene before needling; skin at the needling sites clean; gloves worn; single-use sterile needles, "
        "shaft untouched; used needles straight into the sharps container (confirmed by Alice, 2026-01-02 10:00)."
    )
    partial = checklist_text(["hand_hygiene", "gloves"], False, "Alice", "2026-01-02 10:00")
    assert "no gloves used" in partial
    assert "NOT CONFIRMED: used needles straight into the sharps container" in partial
    assert "NOT CONFIRMED: hand hygiene" not in partial


def test_the_checklist_refuses_unknown_or_no_items() -> None:
    assert check_checklist(["sharps_disposal", "hand_hygiene"]) == ["hand_hygiene", "sharps_disposal"]
    with pytest.raises(ValueError, match="Unknown checklist item"):
        check_checklist(["hand_hygiene", "mask"])
    with pytest.raises(ValueError, match="at least one"):
        check_checklist([])


def test_the_needle_stick_protocol_asks_source_testing_only_with_a_source_patient() -> None:
    base = {"wound_washed": True, "reported": True, "pep_decision": "not_indicated"}
    assert needle_stick_steps_missing(source_patient_named=False, source_consent="", **base) == []
    assert needle_stick_steps_missing(source_patient_named=True, source_consent="", **base) == [
        "Source patient asked to consent to blood-borne virus testing"
    ]
    assert needle_stick_steps_missing(source_patient_named=True, source_consent="declined", **base) == []
    none_done = needle_stick_steps_missing(
        wound_washed=False, reported=False, source_patient_named=True, source_consent="", pep_decision=""
    )
    assert len(none_done) == 4


def _write(tmp_path: Path, change) -> Path:
    raw = json.loads(clinic_safety.DATA_FILE.read_text(encoding="utf-8"))
    change(raw)
    path = tmp_path / "clinic_safety.json"
    path.write_text(json.dumps(raw), encoding="utf-8")
    return path


def test_a_malformed_data_file_is_refused_naming_every_problem(tmp_path: Path) -> None:
    def spoil(raw):
        raw["clean_technique"].append(dict(raw["clean_technique"][0]))
        raw["needle_stick_protocol"][0]["source"] = "a blog"
        raw["needle_stick_protocol"][1]["unverified"] = True
        for position in raw["positions"]:
            position["lying"] = False

    with pytest.raises(ClinicSafetyDataError) as caught:
        clinic_safety.load(_write(tmp_path, spoil))
    message = str(caught.value)
    assert "checklist item code used more than once: hand_hygiene" in message
    assert "wound_washed: the source names no listed reference" in message
    assert "reported: unverified needs a note" in message
    assert "no position is a lying one" in message


def test_a_data_file_missing_a_section_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ClinicSafetyDataError, match="cannot be read"):
        clinic_safety.load(_write(tmp_path, lambda raw: raw.pop("vasovagal")))
