"""Recording questionnaires: exact scores stored as observations with their item answers, and bad input refused
with a clear message and nothing stored."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from needlepoint.accounts.access import AccessDenied
from needlepoint.accounts.models import AuditEntry
from needlepoint.outcomes import actions
from needlepoint.outcomes.models import Observation
from needlepoint.outcomes.scoring import instrument
from needlepoint.patients import actions as patient_actions
from tests.conftest import client_for, licensed_wording
from tests.outcomes.conftest import ODI_16_OF_45, SECTION_SCALE, add_visits, days_ago, odi, open_episode


def test_an_odi_is_scored_exactly_and_stored_with_its_answers(clinician, lbp_episode) -> None:
    obs = actions.record_questionnaire(
        clinician, lbp_episode, "odi", ODI_16_OF_45, time_point="baseline", observed_at=days_ago(10)
    )
    obs.refresh_from_db()
    assert (obs.instrument, obs.value, obs.unit) == ("ODI", 35.5, "percent")
    assert obs.answers == ODI_16_OF_45
    assert (obs.source, obs.time_point, obs.recorded_by_id) == ("clinician", "baseline", clinician.pk)
    assert obs.observed_on == days_ago(10).date()
    assert (obs.clinic_id, obs.patient_id, obs.episode_id) == (
        lbp_episode.clinic_id,
        lbp_episode.patient_id,
        lbp_episode.pk,
    )
    entry = AuditEntry.objects.filter(object_type="outcomes.Observation", object_id=str(obs.pk)).get()
    assert entry.action == "create" and entry.patient_id == lbp_episode.patient_id


def test_subscales_and_patient_activity_notes_are_kept_beside_the_score(clinician, patient) -> None:
    elbow = open_episode(clinician, patient, "lateral_epicondylalgia", "M77.11", "right")
    prtee = dict.fromkeys((item.id for item in instrument("PRTEE").items), 4)
    obs = actions.record_questionnaire(clinician, elbow, "PRTEE", prtee, time_point="baseline")
    assert obs.subscales == {"pain": 20.0, "function": 20.0} and obs.value == 40.0
    psfs = actions.record_questionnaire(
        clinician,
        elbow,
        "PSFS",
        {"activity_1": 3, "activity_2": 5, "activity_3": 4},
        item_notes={"activity_1": "Gripping a kettle"},
        time_point="baseline",
    )
    assert psfs.value == 4.0 and psfs.item_notes == {"activity_1": "Gripping a kettle"}


@pytest.mark.parametrize(
    ("answers", "field", "message"),
    [
        (odi(2) | {"lifting": 6}, "lifting", f"not on the form's scale ({SECTION_SCALE})"),
        (odi(2) | {"lifting": -1}, "lifting", "not on the form's scale"),
        (odi(2) | {"lifting": 2.5}, "lifting", "whole number"),
        (odi(2) | {"lifting": "two"}, "lifting", f"choose one of the answers ({SECTION_SCALE})"),
        (odi(2) | {"lifting": True}, "lifting", "not a number"),
        (odi(2) | {"lifting": None, "walking": None}, "answers", "2 items unanswered (Lifting, Walking)"),
        (odi(2) | {"lifting_heavy": 2}, "answers", "has no item lifting_heavy"),
    ],
)
def test_bad_answers_are_refused_naming_the_item_and_nothing_is_stored(
    clinician, lbp_episode, answers, field, message
) -> None:
    with pytest.raises(ValidationError) as caught:
        actions.record_questionnaire(clinician, lbp_episode, "ODI", answers, time_point="baseline")
    assert message in " ".join(caught.value.message_dict[field])
    assert not Observation.objects.exists()
    assert not AuditEntry.objects.filter(object_type="outcomes.Observation").exists()


def test_a_required_item_missing_from_a_questionnaire_without_a_missing_rule(clinician, patient) -> None:
    headache = open_episode(clinician, patient, "tension_type_headache", "G44.209", "central")
    answers = {item.id: 10 for item in instrument("HIT6").items} | {"severe_pain": None}
    with pytest.raises(ValidationError) as caught:
        actions.record_questionnaire(clinician, headache, "HIT6", answers, time_point="baseline")
    assert "every item must be answered" in caught.value.message_dict["answers"][0]
    assert not Observation.objects.exists()


@pytest.mark.parametrize(
    ("when", "message"),
    [
        (lambda: timezone.now() - timedelta(days=61), "before this episode of care was opened"),
        (lambda: timezone.now() + timedelta(days=1), "cannot be in the future"),
    ],
)
def test_a_date_before_the_episode_or_in_the_future_is_refused(clinician, lbp_episode, when, message) -> None:
    with pytest.raises(ValidationError) as caught:
        actions.record_questionnaire(clinician, lbp_episode, "ODI", odi(1), time_point="baseline", observed_at=when())
    assert message in caught.value.message_dict["observed_on"][0]
    assert not Observation.objects.exists()


def test_time_point_source_instrument_and_visit_are_checked(clinician, patient, lbp_episode) -> None:
    cases = [
        ({"time_point": "week_3"}, "time_point"),
        ({"time_point": "baseline", "source": "family"}, "source"),
    ]
    for extra, field in cases:
        with pytest.raises(ValidationError) as caught:
            actions.record_questionnaire(clinician, lbp_episode, "ODI", odi(1), **extra)
        assert field in caught.value.message_dict
    with pytest.raises(ValidationError) as unknown:
        actions.record_questionnaire(clinician, lbp_episode, "FOO", {}, time_point="baseline")
    assert "unknown instrument code" in unknown.value.message_dict["instrument"][0]
    other = open_episode(clinician, patient, "neck_pain", "M79.12", "left")
    (visit,) = add_visits(other, clinician, [(5, 3)], days_ago(3))
    with pytest.raises(ValidationError) as wrong_visit:
        actions.record_questionnaire(clinician, lbp_episode, "ODI", odi(1), time_point="visit", visit=visit)
    assert "another episode" in wrong_visit.value.message_dict["visit"][0]
    assert not Observation.objects.exists()


def test_a_paper_form_the_patient_filled_in_is_patient_reported_with_who_entered_it(clinician, lbp_episode) -> None:
    obs = actions.record_questionnaire(clinician, lbp_episode, "ODI", odi(1), time_point="baseline", source="patient")
    assert obs.source == "patient" and obs.recorded_by_id == clinician.pk and obs.self_report_link_id is None


def test_front_desk_and_clinic_admin_cannot_record_and_another_clinic_cannot_reach(
    front_desk, clinic_admin, outsider, lbp_episode
) -> None:
    for member in (front_desk, clinic_admin):
        with pytest.raises(AccessDenied):
            actions.record_questionnaire(member, lbp_episode, "ODI", odi(1), time_point="baseline")
    with pytest.raises(ValidationError, match="another clinic"):
        actions.record_questionnaire(outsider, lbp_episode, "ODI", odi(1), time_point="baseline")
    assert not Observation.objects.exists()


def test_pain_is_an_nprs_observation(clinician, lbp_episode) -> None:
    obs = actions.record_pain(clinician, lbp_episode, 6, time_point="reassessment")
    assert (obs.instrument, obs.value, obs.answers) == ("NPRS", 6.0, {"pain": 6})
    with pytest.raises(ValidationError) as caught:
        actions.record_pain(clinician, lbp_episode, 11, time_point="reassessment")
    assert "outside the accepted values (from 0 to 10)" in caught.value.message_dict["pain"][0]


def test_the_form_page_records_and_shows_item_errors(clinician, lbp_episode) -> None:
    client = client_for(clinician)
    url = f"/patients/{lbp_episode.patient_id}/episodes/{lbp_episode.pk}/outcomes/record/ODI/"
    page = client.get(url)
    assert page.status_code == 200
    assert b"Pain intensity" in page.content and b"5 (greatest disability)" in page.content
    assert b"licensed wording" in page.content
    today = timezone.localdate().isoformat()
    form = {"time_point": "baseline", "observed_on": today, "source": "clinician"} | dict.fromkeys(odi(2), "2")
    bad = client.post(url, form | {"lifting": "7", "walking": ""})
    assert bad.status_code == 200 and f"not on the form&#x27;s scale ({SECTION_SCALE})".encode() in bad.content
    assert not Observation.objects.exists()
    future = client.post(url, form | {"observed_on": (timezone.localdate() + timedelta(days=2)).isoformat()})
    assert b"cannot be in the future" in future.content
    saved = client.post(url, form)
    assert saved.status_code == 302
    assert Observation.objects.get().value == 40.0


@pytest.mark.parametrize("code", ["NDI", "ODI"])
def test_without_the_clinics_wording_no_option_or_message_pretends_to_be_a_statement(
    clinician, clinic_admin, lbp_episode, code
) -> None:
    client = client_for(clinician)
    url = f"/patients/{lbp_episode.patient_id}/episodes/{lbp_episode.pk}/outcomes/record/{code}/"
    sentence = (
        "Your clinic's licensed form prints 6 statements in each section, the first scoring 0 and the last 5: "
        "choose the score of the statement that was marked."
    )
    page = client.get(url).content.decode()
    # The options are the scores, with the two end anchors; "statement" is said once, in the one sentence.
    for label in ("0 (no disability)", "1", "4", "5 (greatest disability)"):
        assert f"<span>{label}</span>" in page
    assert page.count(sentence) == 1 and page.lower().count("statement") == sentence.count("statement")
    today = timezone.localdate().isoformat()
    answers = dict.fromkeys((item.id for item in instrument(code).items), "2")
    form = {"time_point": "baseline", "observed_on": today, "source": "clinician"} | answers
    refused = client.post(url, form | {"lifting": "two"}).content.decode()
    assert f"choose one of the answers ({SECTION_SCALE})" in refused
    assert refused.count(sentence) == 1 and refused.lower().count("statement") == sentence.count("statement")
    questionnaire = client.get(f"/fhir/R4/Questionnaire/{code.lower()}", HTTP_ACCEPT="application/fhir+json")
    assert "statement" not in questionnaire.content.decode().lower()
    assert not Observation.objects.exists()
    # Once the clinic has entered its licensed wording, its statements are the options and the sentence goes.
    actions.enter_instrument_wording(clinic_admin, code, licensed_wording(code, "Clinic"), "LIC-1")
    worded = client.get(url).content.decode()
    assert "<span>Clinic lifting option 5</span>" in worded and sentence not in worded


def test_front_desk_cannot_open_the_form(front_desk, lbp_episode) -> None:
    url = f"/patients/{lbp_episode.patient_id}/episodes/{lbp_episode.pk}/outcomes/record/ODI/"
    assert client_for(front_desk).get(url).status_code == 403


def test_a_discharged_episode_still_takes_its_discharge_measures(clinician, lbp_episode) -> None:
    lbp_episode = patient_actions.discharge_episode(clinician, lbp_episode, timezone.localdate(), "goals_met")
    assert actions.suggested_time_point(lbp_episode) == "discharge"
    obs = actions.record_questionnaire(clinician, lbp_episode, "ODI", odi(0), time_point="discharge")
    assert obs.value == 0.0
