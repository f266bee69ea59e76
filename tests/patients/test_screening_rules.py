"""The screening rule: every item, every status, every contradiction, and the data file's validation."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from needlepoint.patients.screening_rules import (
    ABSOLUTE,
    CLEARED,
    CLEARED_WITH_PRECAUTIONS,
    DATA_FILE,
    NOT_CLEARED,
    PATIENT_SCOPE,
    RELATIVE,
    SITE_SCOPE,
    ScreeningAnswerError,
    ScreeningDataError,
    ScreeningItem,
    ScreeningResult,
    derived_items,
    evaluate_screening,
    load_screening_items,
    screening_items,
)

ITEMS = screening_items()
BY_CODE = {item.code: item for item in ITEMS}
ABSOLUTE_PATIENT = [i.code for i in ITEMS if i.contraindication == ABSOLUTE and i.scope == PATIENT_SCOPE]
PRECAUTION_ONLY = [i.code for i in ITEMS if not (i.contraindication == ABSOLUTE and i.scope == PATIENT_SCOPE)]


def all_no() -> dict[str, object]:
    return {item.code: False for item in ITEMS}


def yes(item: ScreeningItem) -> dict[str, object]:
    """A yes answer to ``item`` with a valid value for each of its details."""
    answers: dict[str, object] = {item.code: True}
    for detail in item.details:
        answers[detail.name] = detail.choices[0].value if detail.kind == "choice" else "described"
    return answers


def problems_of(answers: dict[str, object]) -> tuple[str, ...]:
    with pytest.raises(ScreeningAnswerError) as caught:
        evaluate_screening(answers)
    return caught.value.problems


# --- the data file ----------------------------------------------------------------------------------


def test_the_form_covers_the_clinical_md_b2_items() -> None:
    expected = {
        "needle_phobia", "unwilling", "no_consent_capacity", "medical_emergency", "lymphoedema",
        "bleeding_disorder", "anticoagulants", "immunocompromise", "vascular_disease", "diabetes",
        "pregnancy", "frail", "epilepsy", "psych_status", "metal_allergy", "local_infection",
        "skin_lesion", "post_op_joint_capsule", "severe_allodynia", "altered_sensation", "implanted_device",
    }  # fmt: skip
    assert expected <= set(BY_CODE)
    # A child is recognised from the date of birth, never asked.
    assert "child" not in BY_CODE
    assert "child" in {d.code for d in derived_items()}


def test_the_b2_absolute_items_are_absolute_and_the_relative_ones_relative() -> None:
    for code in ("needle_phobia", "unwilling", "no_consent_capacity", "medical_emergency", "lymphoedema"):
        assert BY_CODE[code].contraindication == ABSOLUTE
    for code in ("bleeding_disorder", "anticoagulants", "pregnancy", "epilepsy", "altered_sensation"):
        assert BY_CODE[code].contraindication == RELATIVE


def test_detail_fields_match_the_issue() -> None:
    side = BY_CODE["lymphoedema"].details[0]
    assert (side.name, [c.value for c in side.choices]) == ("lymphoedema_side", ["left", "right", "both"])
    trimester = BY_CODE["pregnancy"].details[0]
    assert (trimester.name, [c.value for c in trimester.choices]) == ("pregnancy_trimester", ["1", "2", "3"])
    assert BY_CODE["implanted_device"].details[0].name == "implanted_device_type"
    assert BY_CODE["lymphoedema"].kind == "yes_no_with_details"
    assert BY_CODE["diabetes"].kind == "yes_no"


def test_altered_sensation_is_marked_unverified_as_clinical_md_says() -> None:
    item = BY_CODE["altered_sensation"]
    assert item.unverified and "not found verbatim" in item.note


def test_every_item_cites_a_source() -> None:
    assert all("[S" in item.source for item in ITEMS)


# --- statuses -------------------------------------------------------------------------------------


def test_all_no_is_cleared_without_findings() -> None:
    result = evaluate_screening(all_no())
    assert result.status == CLEARED
    assert result.findings == ()


def test_yes_and_no_may_be_words() -> None:
    answers = dict.fromkeys(BY_CODE, "No") | {"diabetes": " yes "}
    result = evaluate_screening(answers)
    assert result.status == CLEARED_WITH_PRECAUTIONS
    assert [f.code for f in result.findings] == ["diabetes"]


@pytest.mark.parametrize("code", ABSOLUTE_PATIENT)
def test_each_absolute_item_stops_needling(code: str) -> None:
    result = evaluate_screening(all_no() | yes(BY_CODE[code]))
    assert result.status == NOT_CLEARED
    (finding,) = result.findings
    assert (finding.code, finding.contraindication, finding.scope) == (code, ABSOLUTE, PATIENT_SCOPE)
    assert result.absolute_findings == (finding,)
    assert "Do not needle" in finding.message


@pytest.mark.parametrize("code", PRECAUTION_ONLY)
def test_each_relative_or_site_item_clears_with_precautions(code: str) -> None:
    item = BY_CODE[code]
    result = evaluate_screening(all_no() | yes(item))
    assert result.status == CLEARED_WITH_PRECAUTIONS
    (finding,) = result.findings
    assert finding.code == code
    assert finding.source == item.source
    assert finding.message.startswith(item.label)
    assert result.precautions == (finding,)


def test_lymphoedema_is_absolute_for_its_limb_only() -> None:
    result = evaluate_screening(all_no() | {"lymphoedema": True, "lymphoedema_side": "left"})
    assert result.status == CLEARED_WITH_PRECAUTIONS
    finding = result.finding("lymphoedema")
    assert (finding.contraindication, finding.scope) == (ABSOLUTE, SITE_SCOPE)
    assert "left side" in finding.message and "lymphoedematous limb" in finding.message
    assert finding.details == {"lymphoedema_side": "left"}


def test_an_absolute_item_wins_over_precautions() -> None:
    answers = all_no() | yes(BY_CODE["diabetes"]) | yes(BY_CODE["medical_emergency"])
    result = evaluate_screening(answers)
    assert result.status == NOT_CLEARED
    assert [f.code for f in result.findings] == ["medical_emergency", "diabetes"]
    assert [f.code for f in result.precautions] == ["diabetes"]


def test_implanted_device_means_no_electrical_stimulation() -> None:
    result = evaluate_screening(all_no() | {"implanted_device": True, "implanted_device_type": "pacemaker"})
    finding = result.finding("implanted_device")
    assert "No electrical stimulation" in finding.message and "pacemaker" in finding.message
    assert not finding.unverified


def test_a_device_the_source_does_not_name_is_unverified() -> None:
    answers = all_no() | {"implanted_device": True, "implanted_device_type": "neurostimulator"}
    finding = evaluate_screening(answers).finding("implanted_device")
    assert finding.unverified and "pacemakers" in finding.note


def test_first_trimester_adds_its_own_note() -> None:
    first = evaluate_screening(all_no() | {"pregnancy": True, "pregnancy_trimester": "1"})
    third = evaluate_screening(all_no() | {"pregnancy": True, "pregnancy_trimester": "3"})
    assert "first trimester" in first.finding("pregnancy").message
    assert "[S7]" in first.finding("pregnancy").message
    assert "[S7]" not in third.finding("pregnancy").message


def test_a_trimester_may_arrive_as_a_number() -> None:
    result = evaluate_screening(all_no() | {"pregnancy": True, "pregnancy_trimester": 2})
    assert result.finding("pregnancy").details == {"pregnancy_trimester": 2}


def test_blank_details_for_a_no_answer_are_ignored() -> None:
    result = evaluate_screening(all_no() | {"lymphoedema_side": "", "anticoagulant_medication": None})
    assert result.status == CLEARED


def test_a_stored_result_can_be_rebuilt() -> None:
    result = evaluate_screening(all_no() | {"anticoagulants": True, "anticoagulant_medication": "warfarin"})
    stored = json.loads(json.dumps([asdict(f) for f in result.findings]))
    assert ScreeningResult.from_record(result.status, stored) == result


def test_a_stored_result_with_an_unknown_status_is_refused() -> None:
    with pytest.raises(ValueError, match="Unknown screening status"):
        ScreeningResult.from_record("maybe", [])


# --- contradictions and bad answers -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"pregnancy": True}, "“Which trimester?” is missing (pregnancy_trimester)"),
        ({"pregnancy_trimester": "2"}, "Pregnancy is answered no, but “Which trimester?” is answered (2)"),
        ({"lymphoedema": True}, "“On which side?” is missing (lymphoedema_side)"),
        ({"lymphoedema_side": "left"}, "the answers contradict each other"),
        ({"anticoagulants": True}, "“Which medicine?” is missing (anticoagulant_medication)"),
        ({"anticoagulant_medication": "warfarin"}, "the answers contradict each other"),
        ({"anticoagulants": True, "anticoagulant_medication": "   "}, "is missing"),
        ({"pregnancy": True, "pregnancy_trimester": "4"}, "must be one of 1, 2, 3, not '4'"),
        ({"pregnancy": True, "pregnancy_trimester": True}, "must be one of 1, 2, 3, not True"),
        ({"lymphoedema": True, "lymphoedema_side": "up"}, "must be one of left, right, both"),
        ({"bleeding_disorder": True, "bleeding_disorder_detail": 7}, "must be text"),
        ({"diabetes": 1}, "must be yes or no, not 1"),
        ({"diabetes": "maybe"}, "must be yes or no"),
        ({"diabetes": None}, "No answer to Diabetes (diabetes)"),
        ({"favourite_colour": "blue"}, "Unknown screening answer 'favourite_colour'"),
    ],
)
def test_bad_answers_are_refused_with_a_clear_message(change: dict[str, object], expected: str) -> None:
    problems = problems_of(all_no() | change)
    assert any(expected in p for p in problems), problems


def test_a_missing_answer_is_refused() -> None:
    answers = all_no()
    del answers["epilepsy"]
    assert problems_of(answers) == ("No answer to Epilepsy (epilepsy).",)


def test_a_detail_for_an_unanswered_item_is_refused() -> None:
    answers = all_no() | {"pregnancy_trimester": "1"}
    del answers["pregnancy"]
    problems = problems_of(answers)
    assert "No answer to Pregnancy (pregnancy)." in problems
    assert any("is answered but the question itself is not" in p for p in problems)


def test_every_problem_is_listed_at_once() -> None:
    answers = all_no() | {"pregnancy_trimester": "2", "lymphoedema": True, "mystery": 1}
    problems = problems_of(answers)
    assert len(problems) == 3
    with pytest.raises(ScreeningAnswerError, match="Screening answers cannot be evaluated"):
        evaluate_screening(answers)


def test_the_error_is_a_value_error() -> None:
    assert issubclass(ScreeningAnswerError, ValueError)


# --- property: status follows the answers ----------------------------------------------------------


@given(st.sets(st.sampled_from([item.code for item in ITEMS])))
def test_status_and_findings_follow_the_yes_answers(yes_codes: set[str]) -> None:
    answers = all_no()
    for code in yes_codes:
        answers |= yes(BY_CODE[code])
    result = evaluate_screening(answers)
    assert {f.code for f in result.findings} == yes_codes
    if yes_codes & set(ABSOLUTE_PATIENT):
        assert result.status == NOT_CLEARED
    elif yes_codes:
        assert result.status == CLEARED_WITH_PRECAUTIONS
    else:
        assert result.status == CLEARED


# --- data file validation --------------------------------------------------------------------------


def write_items(tmp_path: Path, change: dict[str, object], index: int = 0) -> Path:
    raw = json.loads(DATA_FILE.read_text(encoding="utf-8"))
    raw["items"][index] |= change
    path = tmp_path / "items.json"
    path.write_text(json.dumps(raw), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"contraindication": "sometimes"}, "contraindication must be"),
        ({"scope": "everywhere"}, "scope must be"),
        ({"source": "a book"}, "source must cite a key of the project's references"),
        ({"unverified": True, "note": ""}, "needs a note"),
        ({"unverified": "yes"}, "unverified must be true or false"),
        ({"code": "Needle Phobia"}, "lower_snake_case"),
        ({"code": "diabetes"}, "name used more than once: diabetes"),
        ({"question": ""}, "missing or empty question"),
        ({"needling": "Do not needle {side}."}, "plain text"),
        ({"details": [{"name": "x", "label": "X", "kind": "choice", "choices": []}]}, "needs choices"),
        ({"details": [{"name": "x", "label": "X", "kind": "number"}]}, "kind must be"),
        ({"details": "none"}, "'details' must be a list"),
    ],
)
def test_a_malformed_data_file_is_refused(tmp_path: Path, change: dict[str, object], expected: str) -> None:
    with pytest.raises(ScreeningDataError, match="invalid screening items") as caught:
        load_screening_items(write_items(tmp_path, change))
    assert expected in str(caught.value)


def test_a_data_file_that_is_not_json_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "items.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(ScreeningDataError, match="cannot be read as JSON"):
        load_screening_items(path)


def test_custom_items_drive_the_rule(tmp_path: Path) -> None:
    items = load_screening_items(write_items(tmp_path, {"contraindication": "relative"}))
    answers = {item.code: False for item in items} | {"needle_phobia": True}
    assert evaluate_screening(answers, items).status == CLEARED_WITH_PRECAUTIONS
