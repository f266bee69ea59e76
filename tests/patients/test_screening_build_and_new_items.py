"""Pure screening rules for issue 9 parts 4 and 5: the new items, the build and BMI, the trimester and the age.

The finding codes and detail keys tested here are the interface the safety and in-clinic event rules read
through ``ScreeningResult.finding(code).details``; a change to them must fail here first.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict
from pathlib import Path

import pytest

from needlepoint.patients.screening_rules import (
    ABSOLUTE,
    CLEARED,
    CLEARED_WITH_PRECAUTIONS,
    DATA_FILE,
    PATIENT_SCOPE,
    RELATIVE,
    SITE_SCOPE,
    ScreeningAnswerError,
    ScreeningDataError,
    ScreeningResult,
    build_rules,
    derived_items,
    evaluate_screening,
    load_screening_data,
    screening_data,
    screening_items,
    screening_sections,
)

BY_CODE = {item.code: item for item in screening_items()}
ADULT_BUILD = {"height_cm": "172", "weight_kg": "70"}


def all_no(**build: object) -> dict[str, object]:
    """Every question answered no, with an average adult build unless another is given."""
    return dict.fromkeys(BY_CODE, "no") | ADULT_BUILD | build


def field_problems(answers: dict[str, object], age_years: int | None = None) -> dict[str, list[str]]:
    with pytest.raises(ScreeningAnswerError) as caught:
        evaluate_screening(answers, age_years=age_years)
    return caught.value.by_field


# --- the new items, with the codes and details other rules consume --------------------------------------


@pytest.mark.parametrize(
    ("code", "details", "contraindication", "scope"),
    [
        ("copd_emphysema", {}, RELATIVE, PATIENT_SCOPE),
        ("previous_pneumothorax", {}, RELATIVE, PATIENT_SCOPE),
        ("prosthetic_heart_valve", {}, RELATIVE, PATIENT_SCOPE),
        ("breast_implant", {"breast_implant_side": "left"}, RELATIVE, SITE_SCOPE),
        ("other_implant", {"implant_site": "left iliac fossa (medicine pump)"}, RELATIVE, SITE_SCOPE),
        ("tumour_at_site", {"tumour_site": "right upper trapezius"}, ABSOLUTE, SITE_SCOPE),
        ("latex_allergy", {}, RELATIVE, PATIENT_SCOPE),
        ("fainting_history", {}, RELATIVE, PATIENT_SCOPE),
        ("lymph_node_removal", {"lymph_node_side": "right"}, RELATIVE, SITE_SCOPE),
    ],
)
def test_each_new_item_gives_its_finding_with_its_details(
    code: str, details: dict[str, str], contraindication: str, scope: str
) -> None:
    result = evaluate_screening(all_no() | {code: "yes"} | details, age_years=40)

    finding = result.finding(code)
    assert finding is not None
    assert finding.details == details
    assert (finding.contraindication, finding.scope) == (contraindication, scope)
    assert re.search(r"\[S\d+", finding.source), finding.source
    # None of them stops all needling: even a tumour only rules out its own site.
    assert result.status == CLEARED_WITH_PRECAUTIONS
    assert not finding.stops_needling


@pytest.mark.parametrize(
    ("code", "detail", "choices"),
    [
        ("breast_implant", "breast_implant_side", {"left", "right", "both"}),
        ("lymph_node_removal", "lymph_node_side", {"left", "right", "both"}),
    ],
)
def test_sided_items_offer_left_right_and_both(code: str, detail: str, choices: set[str]) -> None:
    (field,) = BY_CODE[code].details
    assert field.name == detail
    assert {c.value for c in field.choices} == choices
    (problem,) = field_problems(all_no() | {code: "yes", detail: "front"})[detail]
    assert "must be one of left, right, both, not 'front'" in problem


@pytest.mark.parametrize("code", ["breast_implant", "other_implant", "tumour_at_site", "lymph_node_removal"])
def test_an_item_that_needs_details_is_refused_without_them(code: str) -> None:
    (detail,) = BY_CODE[code].details

    problems = field_problems(all_no() | {code: "yes"})

    assert problems == {
        detail.name: [f"{BY_CODE[code].label} is answered yes but “{detail.label}” is missing ({detail.name})."]
    }


def test_the_lymph_node_item_is_about_the_limb_at_risk_not_a_swollen_one() -> None:
    result = evaluate_screening(all_no() | {"lymph_node_removal": "yes", "lymph_node_side": "left"})

    assert result.finding("lymphoedema") is None
    assert "at risk of lymphoedema" in result.finding("lymph_node_removal").message


# --- the form's wording ----------------------------------------------------------------------------------


def test_every_question_speaks_to_the_patient_in_one_voice() -> None:
    for item in screening_items():
        assert re.match(r"^(Do|Are|Have|Is|Would) ", item.question), item.question
        assert re.search(r"\byou(r)?\b", item.question), item.question
        assert "the patient" not in item.question.lower(), item.question
        assert "unverified" not in item.question.lower()
        assert all("unverified" not in d.label.lower() for d in item.details)


def test_every_question_is_in_exactly_one_section() -> None:
    sections = [s.code for s in screening_sections()]
    assert len(sections) == len(set(sections)) >= 5
    assert {item.section for item in screening_items()} == set(sections)


# --- build, BMI and low_bmi ----------------------------------------------------------------------------


def test_the_bmi_is_derived_from_height_and_weight_and_rounded_to_one_decimal() -> None:
    result = evaluate_screening(all_no(height_cm="172", weight_kg="70"), age_years=40)

    assert result.bmi == 23.7
    assert result.finding("low_bmi") is None
    assert result.status == CLEARED


def test_a_bmi_below_the_who_cut_off_is_a_low_bmi_finding_with_the_bmi() -> None:
    # 50 kg at 170 cm: 17.30 kg/m2.
    result = evaluate_screening(all_no(height_cm=170, weight_kg=50), age_years=30)

    finding = result.finding("low_bmi")
    assert finding is not None
    assert finding.details == {"bmi": 17.3}
    assert isinstance(finding.details["bmi"], float)
    assert "[S407]" in finding.source and "[S200]" in finding.source
    assert result.status == CLEARED_WITH_PRECAUTIONS


@pytest.mark.parametrize(("weight", "low"), [("53.2", True), ("53.5", False)])
def test_the_low_bmi_boundary_is_18_5_as_shown(weight: str, low: bool) -> None:
    # At 170 cm, 53.2 kg is 18.41 (shown 18.4) and 53.5 kg is 18.51 (shown 18.5): the clinician sees the
    # same one-decimal BMI the rule compares, so "BMI 18.5, below 18.5" can never be printed.
    result = evaluate_screening(all_no(height_cm="170", weight_kg=weight), age_years=30)

    assert build_rules().low_bmi_threshold == 18.5
    assert (result.finding("low_bmi") is not None) is low


def test_the_adult_cut_off_is_not_applied_to_a_child() -> None:
    result = evaluate_screening(all_no(height_cm="150", weight_kg="38"), age_years=13)

    assert result.bmi == 16.9
    assert result.finding("low_bmi") is None
    assert "adult BMI cut-off does not apply" in result.finding("child").message


def test_low_bmi_cannot_be_answered_it_is_derived() -> None:
    problems = field_problems(all_no() | {"low_bmi": "yes"})

    assert problems["low_bmi"] == ["Low BMI (thin build) (low_bmi) is worked out from height and weight, not answered."]


@pytest.mark.parametrize(
    ("build", "field", "message"),
    [
        ({"height_cm": "1.72"}, "height_cm", "Height (cm) 1.72 is outside 50-250; check the value and its unit."),
        ({"height_cm": "2500"}, "height_cm", "Height (cm) 2500 is outside 50-250; check the value and its unit."),
        ({"weight_kg": "0"}, "weight_kg", "Weight (kg) 0 is outside 10-350; check the value and its unit."),
        ({"weight_kg": "700"}, "weight_kg", "Weight (kg) 700 is outside 10-350; check the value and its unit."),
        ({"weight_kg": "seventy"}, "weight_kg", "Weight (kg) must be a number, not 'seventy'."),
        ({"weight_kg": True}, "weight_kg", "Weight (kg) must be a number, not True."),
        ({"weight_kg": "nan"}, "weight_kg", "Weight (kg) must be a number, not 'nan'."),
        (
            {"height_cm": "60", "weight_kg": "300"},
            "height_cm",
            "Height 60 cm and weight 300 kg give a BMI of 833.3, outside 10-80: check both values and their units.",
        ),
    ],
)
def test_an_implausible_build_is_refused_with_a_clear_message(
    build: dict[str, object], field: str, message: str
) -> None:
    assert field_problems(all_no(**build)) == {field: [message]}


def test_height_without_weight_is_refused() -> None:
    answers = all_no()
    del answers["weight_kg"]

    assert field_problems(answers) == {
        "weight_kg": ["Weight (kg) is missing: the BMI needs both height and weight (Height (cm) given)."]
    }


def test_without_any_build_the_rules_leave_the_bmi_unknown() -> None:
    # Whether the build is required is the recording action's rule; the pure rules report what they got.
    answers = dict.fromkeys(BY_CODE, "no")

    assert evaluate_screening(answers).bmi is None


def test_a_comma_decimal_is_read_as_a_number() -> None:
    assert evaluate_screening(all_no(height_cm="172,0", weight_kg="70,0")).bmi == 23.7


# --- pregnancy trimester ---------------------------------------------------------------------------------


@pytest.mark.parametrize("trimester", [1, 2, 3])
def test_the_trimester_is_a_whole_number_in_the_finding(trimester: int) -> None:
    result = evaluate_screening(all_no() | {"pregnancy": "yes", "pregnancy_trimester": str(trimester)})

    assert result.finding("pregnancy").details == {"pregnancy_trimester": trimester}


def test_a_trimester_without_pregnancy_is_bad_input() -> None:
    problems = field_problems(all_no() | {"pregnancy_trimester": "1"})

    assert problems == {
        "pregnancy_trimester": [
            "Pregnancy is answered no, but “Which trimester?” is answered (1): the answers contradict each other."
        ]
    }


def test_a_trimester_stored_as_text_is_read_back_as_a_number() -> None:
    result = evaluate_screening(all_no() | {"pregnancy": "yes", "pregnancy_trimester": "2"})
    stored = json.loads(json.dumps([asdict(f) for f in result.findings]))
    stored[0]["details"]["pregnancy_trimester"] = "2"  # as screenings before this change stored it

    rebuilt = ScreeningResult.from_record(result.status, stored, bmi=result.bmi)

    assert rebuilt.finding("pregnancy").details == {"pregnancy_trimester": 2}
    assert rebuilt == result


# --- age and children ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("age", "child"), [(11, True), (17, True), (18, False), (70, False)])
def test_a_child_is_recognised_from_the_age_at_screening(age: int, child: bool) -> None:
    result = evaluate_screening(all_no(), age_years=age)

    assert result.age_years == age
    assert (result.finding("child") is not None) is child
    if child:
        assert result.finding("child").details == {"age_years": age}
        assert "guardian's consent" in result.finding("child").message


def test_child_cannot_be_answered_it_comes_from_the_date_of_birth() -> None:
    problems = field_problems(all_no() | {"child": "no"})

    assert problems["child"] == ["Child (child) is worked out from the date of birth, not answered."]


@pytest.mark.parametrize("age", [-1, 12.5, True, "15"])
def test_an_age_that_is_not_a_whole_number_of_years_is_refused(age: object) -> None:
    assert "age_years" in field_problems(all_no(), age_years=age)


def test_derived_findings_are_documented_in_the_data_file() -> None:
    derived = {d.code: d for d in derived_items()}
    assert set(derived) == {"low_bmi", "child"}
    assert derived["low_bmi"].derived_from == "build" and derived["child"].derived_from == "age"


# --- the references the data file cites ----------------------------------------------------------------


def test_every_reference_the_screening_cites_is_complete() -> None:
    references = screening_data().references
    assert {f"S{n}" for n in range(400, 408)} | {"S200"} <= {r.key for r in references}
    for reference in references:
        assert (reference.title or reference.description) and (reference.url or reference.doi), reference.key


def write_data(tmp_path: Path, change) -> Path:
    raw = json.loads(DATA_FILE.read_text(encoding="utf-8"))
    change(raw)
    path = tmp_path / "screening_items.json"
    path.write_text(json.dumps(raw), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda raw: raw["items"][0].update(source="[S999]"), "reference S999 is cited but not in the project's"),
        (lambda raw: raw["items"][0].update(question="Is the patient afraid (unverified)?"), "unverified marks"),
        (lambda raw: raw["items"][0].update(section="nowhere"), "section must be one of"),
        (lambda raw: raw["measurements"]["height_cm"].update(minimum=300), "minimum must be below its maximum"),
        (lambda raw: raw["low_bmi"].update(source="WHO"), "must cite the source of its threshold"),
        (lambda raw: raw["derived"][0].update(derived_from="age"), "only low_bmi (from build)"),
    ],
)
def test_a_malformed_data_file_is_refused(tmp_path: Path, change, expected: str) -> None:
    with pytest.raises(ScreeningDataError, match=re.escape(expected)):
        load_screening_data(write_data(tmp_path, change))
