"""A patient draws their own pain on the self-report page on a 390 px phone, by touch, and sends it with their
answers; the clinician then sees the patient's drawing beside their own on the assessment page."""

from __future__ import annotations

import pytest

from needlepoint.atlas import actions as atlas_actions
from needlepoint.atlas.models import PatientPainDrawing
from needlepoint.outcomes import actions
from needlepoint.outcomes.scoring import instrument
from tests.browser.conftest import sign_in
from tests.browser.test_pain_drawing import POINT_IN_REGION
from tests.conftest import PASSWORD
from tests.outcomes.conftest import open_episode

# A clinic enters its licensed wording before a questionnaire can go to a patient (the product refuses otherwise).
pytestmark = pytest.mark.usefixtures("clinic_wording")

IN_PATIENT_CHART = POINT_IN_REGION.replace("#drawing [data-code", "#patient-drawing [data-code")


def _tap(page, code: str) -> None:
    point = page.evaluate(IN_PATIENT_CHART, code)
    assert point is not None, f"no visible point inside {code}"
    page.touchscreen.tap(point[0], point[1])


def test_a_patient_draws_their_pain_on_a_phone_and_the_clinician_sees_it_beside_theirs(
    phone_page, page, clinician, patient
) -> None:
    episode = open_episode(clinician, patient, "low_back_pain", "M54.50", "central", days_ago=30)
    assessment = atlas_actions.create_assessment(clinician, episode, {"drawing": {"low-back-r": 3}})
    issued = actions.create_self_report_link(clinician, episode, time_point="reassessment")

    phone_page.goto(f"/p/{issued.token}/")
    assert phone_page.locator("[data-testid=patient-drawing] svg").first.is_visible()
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= 390
    for item in instrument("ODI").items:
        phone_page.locator(f'label[for="id_ODI-{item.id}_1"]').tap()
    for n, (activity, rating) in enumerate((("Sitting at work", 6), ("Lifting a basket", 5), ("Walking", 7)), 1):
        phone_page.fill(f'[name="PSFS-activity_{n}__note"]', activity)
        phone_page.locator(f'label[for="id_PSFS-activity_{n}_{rating}"]').tap()
    phone_page.locator('label[for="id_NPRS-pain_6"]').tap()

    # The patient chooses a pain of 7 and taps two places on the back of the body chart.
    phone_page.locator('[data-brush-for="patient-drawing"] label[data-i="7"]').tap()
    _tap(phone_page, "low-back-l")
    _tap(phone_page, "mid-back-l")
    assert phone_page.locator('#patient-drawing [data-code="low-back-l"]').get_attribute("data-i") == "7"
    assert phone_page.inner_text("[data-marked-count]") == "2"
    phone_page.click("button:has-text('Send my answers')")
    assert "Your answers reached Test Clinic" in phone_page.inner_text("[data-testid=thanks]")

    stored = PatientPainDrawing.objects.get()
    assert stored.drawing == {"low-back-l": 7, "mid-back-l": 7}
    assert stored.submitted_user_agent == phone_page.evaluate("navigator.userAgent")

    sign_in(page, clinician.user.username, PASSWORD)
    page.goto(f"/atlas/assessments/{assessment.pk}/")
    theirs = page.locator("[data-testid=patients-own-drawing]")
    assert "Patient-reported" in theirs.inner_text()
    assert theirs.locator('[data-code="low-back-l"]').get_attribute("data-i") == "7"
    assert page.locator('#drawing [data-code="low-back-r"]').get_attribute("data-i") == "3"
    # Side by side: the patient's card starts level with the clinician's drawing, to its right.
    mine_box = page.locator("section.drawing-card").bounding_box()
    theirs_box = theirs.bounding_box()
    assert theirs_box["x"] > mine_box["x"] and abs(theirs_box["y"] - mine_box["y"]) < 5
