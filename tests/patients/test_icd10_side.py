"""The episode's ICD-10-CM code agrees with its side: per condition and side, the codes offered and the one taken.

A left episode never carries a right-side code, the unspecified-side code is for an episode without a side, and a
both-sides episode of a condition coded only per side is opened once per side. Episodes opened before a code was
retired keep it.
"""

from __future__ import annotations

from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.utils.html import escape

from needlepoint.fhir.records import episode_data
from needlepoint.patients import actions
from needlepoint.patients.conditions import code_for_side, conditions, icd10_choices
from needlepoint.patients.models import Episode
from tests.conftest import client_for

SIDES = ("left", "right", "central", "bilateral")
ONSET = date(2024, 3, 1)

# Conditions whose codes have no laterality: every code fits every side.
UNSIDED = ("neck_pain", "low_back_pain", "migraine", "tension_type_headache", "joint_spine_dysfunction", "other")

TENDINOPATHY_RIGHT = ["M75.21", "M75.31", "M77.01", "M65.4", "M76.01", "M76.11", "M76.51", "M76.61", "M76.71"]
TENDINOPATHY_RIGHT += ["M76.821", "M77.9"]
TENDINOPATHY_LEFT = ["M75.22", "M75.32", "M77.02", "M65.4", "M76.02", "M76.12", "M76.52", "M76.62", "M76.72"]
TENDINOPATHY_LEFT += ["M76.822", "M77.9"]
TENDINOPATHY_CENTRAL = ["M75.20", "M75.30", "M77.00", "M65.4", "M76.00", "M76.10", "M76.50", "M76.60", "M76.70"]
TENDINOPATHY_CENTRAL += ["M76.829", "M77.9"]

SIDED = {
    ("lateral_epicondylalgia", "right"): ["M77.11"],
    ("lateral_epicondylalgia", "left"): ["M77.12"],
    ("lateral_epicondylalgia", "central"): ["M77.10"],
    ("lateral_epicondylalgia", "bilateral"): [],
    ("sciatica", "right"): ["M54.41", "M54.31"],
    ("sciatica", "left"): ["M54.42", "M54.32"],
    ("sciatica", "central"): ["M54.40", "M54.30"],
    ("sciatica", "bilateral"): [],
    ("tendinopathy", "right"): TENDINOPATHY_RIGHT,
    ("tendinopathy", "left"): TENDINOPATHY_LEFT,
    ("tendinopathy", "central"): TENDINOPATHY_CENTRAL,
    ("tendinopathy", "bilateral"): ["M65.4", "M77.9"],
}


def test_every_condition_and_side_is_covered_by_these_tests() -> None:
    covered = {(c, s) for c in UNSIDED for s in SIDES} | set(SIDED)

    assert covered == {(c, s) for c in conditions() for s in SIDES}


@pytest.mark.parametrize(("condition", "side"), list(SIDED), ids=[f"{c}-{s}" for c, s in SIDED])
def test_a_sided_condition_offers_only_the_codes_of_the_episodes_side(condition: str, side: str) -> None:
    assert [c.code for c in icd10_choices(condition, side)] == SIDED[condition, side]


@pytest.mark.parametrize("side", SIDES)
@pytest.mark.parametrize("condition", UNSIDED)
def test_a_condition_without_laterality_offers_every_code_on_every_side(condition: str, side: str) -> None:
    assert icd10_choices(condition, side) == conditions()[condition].icd10
    assert all(c.side is None for c in icd10_choices(condition, side))


@pytest.mark.parametrize(
    ("condition", "side", "code", "message"),
    [
        ("lateral_epicondylalgia", "left", "M77.11", "M77.11 is for the right side; the episode is left."),
        ("lateral_epicondylalgia", "right", "M77.12", "M77.12 is for the left side; the episode is right."),
        (
            "lateral_epicondylalgia",
            "left",
            "M77.10",
            "M77.10 is the code for an unrecorded side; the episode is left; use M77.12.",
        ),
        (
            "lateral_epicondylalgia",
            "central",
            "M77.11",
            "M77.11 is for the right side; the episode is central (not sided).",
        ),
        ("sciatica", "right", "M54.30", "M54.30 is the code for an unrecorded side; the episode is right; use M54.31."),
        ("tendinopathy", "left", "M76.61", "M76.61 is for the right side; the episode is left."),
        ("tendinopathy", "bilateral", "M76.821", "M76.821 is for the right side; the episode is both-sides."),
    ],
)
def test_a_code_that_disagrees_with_the_side_is_refused_with_the_reason(condition, side, code, message) -> None:
    assert code_for_side(condition, side, code) == (None, message)


@pytest.mark.parametrize(
    ("condition", "side", "taken"),
    [
        ("lateral_epicondylalgia", "right", "M77.11"),
        ("lateral_epicondylalgia", "left", "M77.12"),
        ("lateral_epicondylalgia", "central", "M77.10"),
    ],
)
def test_with_no_code_chosen_the_one_code_of_the_side_is_taken(condition: str, side: str, taken: str) -> None:
    assert code_for_side(condition, side, "") == (taken, None)


def test_with_no_code_chosen_and_several_fitting_the_clinician_is_asked_to_choose() -> None:
    assert code_for_side("sciatica", "left", "") == (
        None,
        "Choose the ICD-10-CM code: for a left episode of sciatica: M54.42, M54.32.",
    )


def open_episode(clinician, patient, condition: str, side: str, code: str) -> Episode:
    data = {"condition": condition, "icd10_code": code, "side": side, "onset_date": ONSET}
    return actions.open_episode(clinician, patient, data)


@pytest.mark.parametrize(("condition", "side"), list(SIDED), ids=[f"{c}-{s}" for c, s in SIDED])
def test_the_action_stores_each_code_that_fits_and_refuses_the_others(clinician, patient, condition, side) -> None:
    fitting = SIDED[condition, side]
    for code in conditions()[condition].icd10:
        if code.code in fitting:
            episode = open_episode(clinician, patient, condition, side, code.code)
            assert Episode.objects.get(pk=episode.pk).icd10_code == code.code
            actions.discharge_episode(clinician, episode, date.today(), "goals_met")
        else:
            with pytest.raises(ValidationError) as caught:
                open_episode(clinician, patient, condition, side, code.code)
            assert "icd10_code" in caught.value.message_dict
    assert Episode.objects.filter(patient=patient).count() == len(fitting)


def test_a_left_tennis_elbow_opened_on_the_page_without_a_code_gets_the_left_code(clinician, patient) -> None:
    form = {"condition": "lateral_epicondylalgia", "icd10_code": "", "side": "left", "onset_date": "2024-03-01"}

    response = client_for(clinician).post(f"/patients/{patient.pk}/episodes/new/", form)

    assert response.status_code == 302
    assert Episode.objects.get(patient=patient).icd10_code == "M77.12"


def test_a_both_sides_tennis_elbow_is_refused_with_the_advice_to_open_one_episode_per_side(clinician, patient) -> None:
    form = {"condition": "lateral_epicondylalgia", "icd10_code": "", "side": "bilateral", "onset_date": "2024-03-01"}

    response = client_for(clinician).post(f"/patients/{patient.pk}/episodes/new/", form)

    assert response.status_code == 200
    assert escape("Open one episode for the left side and one for the right.") in response.content.decode()
    assert not Episode.objects.filter(patient=patient).exists()


def test_a_right_code_posted_through_the_api_for_a_left_episode_is_refused(clinician, patient) -> None:
    from tests.accounts.test_access_matrix import api_client

    body = {"condition": "tendinopathy", "icd10_code": "M76.61", "side": "left", "onset_date": "2024-03-01"}
    response = api_client(clinician).post(
        f"/api/v1/patients/{patient.pk}/episodes", body, content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json()["errors"] == {"icd10_code": ["M76.61 is for the right side; the episode is left."]}
    assert not Episode.objects.filter(patient=patient).exists()


@pytest.mark.parametrize(
    ("condition", "code", "label"),
    [
        ("tendinopathy", "M79.18", "Myalgia, other site"),
        ("joint_spine_dysfunction", "M79.10", "Myalgia, unspecified site"),
    ],
)
def test_an_episode_opened_with_a_retired_code_keeps_it(clinician, patient, condition, code, label) -> None:
    # Opened before the code was retired: written as the old action wrote it.
    episode = Episode.objects.create(
        clinic=patient.clinic,
        patient=patient,
        condition=condition,
        icd10_code=code,
        side="left",
        onset_date=ONSET,
        opened_by=clinician,
    )

    page = client_for(clinician).get(f"/patients/{patient.pk}/episodes/{episode.pk}/")
    actions.discharge_episode(clinician, episode, date.today(), "goals_met")

    assert page.status_code == 200 and code in page.content.decode()
    assert episode_data(episode).icd10_label == label
    assert Episode.objects.get(pk=episode.pk).icd10_code == code
    assert code not in [c.code for c in icd10_choices(condition, "left")]
