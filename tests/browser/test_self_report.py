"""A patient fills an ODI through a self-report link on a phone-sized screen; the clinician then sees the score,
the change from baseline and the responder status on the progress page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from needlepoint.outcomes import actions
from needlepoint.outcomes.models import Observation
from needlepoint.outcomes.scoring import instrument
from tests.browser.conftest import sign_in
from tests.conftest import PASSWORD
from tests.outcomes.conftest import days_ago, odi, open_episode

# A clinic enters its licensed wording before a questionnaire can go to a patient (the product refuses otherwise).
pytestmark = pytest.mark.usefixtures("clinic_wording")


def test_a_patient_fills_an_odi_on_a_phone_and_the_clinician_sees_the_responder(
    phone_page, page, clinician, patient
) -> None:
    episode = open_episode(clinician, patient, "low_back_pain", "M54.50", "central", days_ago=30)
    actions.record_questionnaire(clinician, episode, "ODI", odi(3), time_point="baseline", observed_at=days_ago(28))
    issued = actions.create_self_report_link(clinician, episode, time_point="reassessment")

    # The patient opens the link on a phone: no sign-in, nothing wider than the screen.
    phone_page.goto(f"/p/{issued.token}/")
    assert "Oswestry Disability Index" in phone_page.inner_text("main")
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= 390
    for item in instrument("ODI").items:
        phone_page.locator(f'label[for="id_ODI-{item.id}_1"]').tap()  # second statement: 1 point each
    phone_page.locator('label[for="id_NPRS-pain_3"]').tap()

    # The PSFS activities are left unrated: refused, nothing stored, answers kept on the page.
    phone_page.click("button:has-text('Send my answers')")
    assert "Some answers need attention" in phone_page.inner_text("[data-testid=form-errors]")
    assert "Please rate at least 3 of these." in phone_page.inner_text("section[aria-labelledby=sec-PSFS]")
    assert not Observation.objects.filter(source="patient").exists()
    assert phone_page.locator("#id_ODI-lifting_1").is_checked()

    for n, (activity, rating) in enumerate((("Sitting at work", 6), ("Lifting a basket", 5), ("Walking", 7)), 1):
        phone_page.fill(f'[name="PSFS-activity_{n}__note"]', activity)
        phone_page.locator(f'label[for="id_PSFS-activity_{n}_{rating}"]').tap()
    phone_page.click("button:has-text('Send my answers')")
    assert "Your answers reached Test Clinic" in phone_page.inner_text("[data-testid=thanks]")

    # The link is used up: opening it again is refused.
    phone_page.goto(f"/p/{issued.token}/")
    assert phone_page.get_attribute("[data-testid=link-refused]", "data-reason") == "used"

    # The clinician sees the patient-reported ODI, its change from baseline and the responder status.
    sign_in(page, clinician.user.username, PASSWORD)
    page.goto(f"/patients/{patient.pk}/episodes/{episode.pk}/outcomes/")
    assert page.inner_text("[data-testid=latest-ODI]") == "20"
    assert page.inner_text("[data-testid=change-ODI]") == "-40 points"
    status = page.inner_text("[data-testid=status-ODI]")
    assert "Responder" in status and "beyond the MDC" in status
    row = page.inner_text("tr[data-instrument=ODI]")
    assert "patient-reported" in row and "60" in row
    assert page.locator('svg[aria-label="Oswestry Disability Index over time"]').is_visible()
    stored = Observation.objects.get(instrument="ODI", source="patient")
    assert stored.self_report_link_id == issued.link.pk and stored.value == 20.0
    assert timezone.now() - stored.observed_at < timedelta(minutes=5)
