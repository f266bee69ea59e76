"""Which questionnaires each condition collects: the defaults, and a clinic's own choice."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from needlepoint.accounts.access import AccessDenied
from needlepoint.outcomes import actions
from needlepoint.outcomes.plans import PlanError, check_plan, default_plans
from needlepoint.patients.conditions import conditions
from tests.conftest import make_member
from tests.outcomes.conftest import open_episode


def test_the_defaults_follow_the_issue() -> None:
    plans = default_plans()
    assert plans["neck_pain"][0] == "NDI"
    assert plans["low_back_pain"][0] == "ODI"
    assert plans["sciatica"][0] == "ODI"
    assert plans["tension_type_headache"][0] == "HIT6"
    assert plans["migraine"][0] == "HIT6"
    assert plans["lateral_epicondylalgia"][0] == "PRTEE"
    assert set(plans) == set(conditions())
    assert all("PSFS" in codes for codes in plans.values())


@pytest.mark.parametrize(
    ("codes", "message"),
    [
        (["XYZ"], "not a known instrument"),
        (["NDI", "ndi"], "listed twice"),
        (["NPRS"], "collected at every visit"),
        ([], "at least one"),
        ("NDI", "not one string"),
        (["NDI", "ODI", "HIT6", "PRTEE", "PSFS", "LEFS", "RMDQ"], "at most 6"),
    ],
)
def test_a_plan_that_cannot_be_used_is_refused_with_the_reason(codes, message) -> None:
    with pytest.raises(PlanError, match=message):
        check_plan(codes)


def test_codes_are_case_insensitive_and_keep_their_order() -> None:
    assert check_plan([" psfs", "ndi"]) == ("PSFS", "NDI")


def test_a_clinic_admin_changes_one_condition_for_their_clinic_only(clinic_admin, clinician, patient, outsider) -> None:
    plan = actions.set_instrument_plan(clinic_admin, "neck_pain", ["ndi", "PSFS", "QuickDASH"])
    assert plan.instruments == ["NDI", "PSFS", "QUICKDASH"]
    episode = open_episode(clinician, patient, "neck_pain", "M79.12", "left")
    assert actions.instruments_for(episode) == ("NDI", "PSFS", "QUICKDASH")
    again = actions.set_instrument_plan(clinic_admin, "neck_pain", ["NDI"])
    assert again.pk == plan.pk and again.instruments == ["NDI"]
    # another clinic keeps the default
    other_admin = make_member(outsider.clinic, "olga", "clinic_admin")
    assert actions.set_instrument_plan(other_admin, "low_back_pain", ["RMDQ"]).clinic_id == outsider.clinic_id
    assert actions.instruments_for(open_episode(clinician, patient, "low_back_pain", "M54.50", "central")) == (
        "ODI",
        "PSFS",
    )


def test_a_clinician_cannot_change_the_clinic_plan_and_bad_input_changes_nothing(clinician, clinic_admin) -> None:
    from needlepoint.outcomes.models import ClinicInstrumentPlan

    with pytest.raises(AccessDenied):
        actions.set_instrument_plan(clinician, "neck_pain", ["NDI"])
    with pytest.raises(ValidationError) as unknown_condition:
        actions.set_instrument_plan(clinic_admin, "knee_pain", ["NDI"])
    assert "condition" in unknown_condition.value.message_dict
    with pytest.raises(ValidationError) as unknown_code:
        actions.set_instrument_plan(clinic_admin, "neck_pain", ["NDI", "FOO"])
    assert "FOO is not a known instrument" in unknown_code.value.message_dict["instruments"][0]
    assert not ClinicInstrumentPlan.objects.exists()


def test_the_plan_page_is_for_clinic_admins(clinic_admin, clinician) -> None:
    from tests.conftest import client_for

    page = client_for(clinic_admin).get("/outcomes/instruments/")
    assert page.status_code == 200 and b"Questionnaires per condition" in page.content
    saved = client_for(clinic_admin).post(
        "/outcomes/instruments/", {"condition": "migraine", "instruments": "MIDAS, HIT6"}
    )
    assert saved.status_code == 302
    assert b"MIDAS, HIT6" in client_for(clinic_admin).get("/outcomes/instruments/").content
    refused = client_for(clinic_admin).post("/outcomes/instruments/", {"condition": "migraine", "instruments": "X1"})
    assert refused.status_code == 200 and b"X1 is not a known instrument" in refused.content
    assert client_for(clinician).get("/outcomes/instruments/").status_code == 403
