"""Self-report links are the patient's alone (issue 11, finding 1): a signed-in staff session is refused and
nothing is opened, consumed or stored; the page shows no clinician's words and no condition beyond the
questionnaire's title; a submission keeps the address and device it came from."""

from __future__ import annotations

import pytest
from django.test import Client

from needlepoint.accounts.models import AuditEntry
from needlepoint.outcomes import actions
from needlepoint.outcomes.models import Observation, SelfReportLink
from tests.conftest import client_for
from tests.outcomes.conftest import odi, open_episode
from tests.outcomes.test_self_report import form_for, path

# A clinic enters its licensed wording before a questionnaire can go to a patient (the product refuses otherwise).
pytestmark = pytest.mark.usefixtures("clinic_wording")

PHONE = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Mobile Safari/537.36"


@pytest.fixture
def issued(front_desk, lbp_episode):
    return actions.create_self_report_link(front_desk, lbp_episode, time_point="reassessment")


@pytest.mark.parametrize("who", ["front_desk", "clinician", "clinic_admin"])
def test_a_signed_in_staff_session_is_refused_and_nothing_is_consumed_or_stored(request, issued, who) -> None:
    staff = client_for(request.getfixturevalue(who))
    before = AuditEntry.objects.count()
    page = staff.get(path(issued.token))
    assert page.status_code == 403 and b"This link is for the patient" in page.content
    assert b"Oswestry" not in page.content
    sent = staff.post(path(issued.token), form_for(odi(2), pain=4))
    assert sent.status_code == 403
    assert Observation.objects.count() == 0
    assert SelfReportLink.objects.get().used_at is None
    assert AuditEntry.objects.count() == before
    # The patient can still use the link afterwards.
    assert Client().get(path(issued.token)).status_code == 200


def test_a_submission_records_the_device_and_address(issued) -> None:
    patient = Client(HTTP_USER_AGENT=PHONE + "\x07", REMOTE_ADDR="203.0.113.9")
    assert patient.post(path(issued.token), form_for(odi(2), pain=4)).status_code == 200
    link = SelfReportLink.objects.get()
    assert link.submitted_from == "203.0.113.9"
    assert link.submitted_user_agent == PHONE
    assert AuditEntry.objects.filter(via="link", client_address="203.0.113.9").exists()


def test_the_page_shows_no_activity_notes_a_clinician_wrote(clinician, lbp_episode, issued) -> None:
    actions.record_questionnaire(
        clinician,
        lbp_episode,
        "PSFS",
        {"activity_1": 3, "activity_2": 4, "activity_3": 5},
        time_point="baseline",
        item_notes={"activity_1": "Pt reports L4/5 flexion intolerance"},
    )
    page = Client().get(path(issued.token))
    assert page.status_code == 200 and b"flexion intolerance" not in page.content


def test_the_page_offers_the_patients_own_earlier_activity_words(clinician, lbp_episode) -> None:
    first = actions.create_self_report_link(clinician, lbp_episode, time_point="baseline")
    assert Client().post(path(first.token), form_for(odi(3), pain=5)).status_code == 200
    second = actions.create_self_report_link(clinician, lbp_episode, time_point="reassessment")
    page = Client().get(path(second.token))
    assert b"Sitting at work" in page.content


def test_the_page_names_no_condition_beyond_the_questionnaire_title(clinician, patient) -> None:
    episode = open_episode(clinician, patient, "tension_type_headache", "G44.209", "bilateral")
    issued = actions.create_self_report_link(clinician, episode, time_point="baseline")
    page = Client().get(path(issued.token)).content.decode()
    assert episode.condition_label not in page
    assert "G44.209" not in page and "Tension" not in page
    assert "Headache Impact Test" in page  # the instrument's own title and wording are what the patient answers
