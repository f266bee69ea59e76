"""A thin patient's rhomboid needled with a 15 mm needle in a real browser: the thorax warning appears, one
click on a precaution acknowledges it, and the signed note prints the reminder and the precaution."""

from __future__ import annotations

from playwright.sync_api import expect

from needlepoint.visits.models import Visit
from tests.browser.conftest import sign_in
from tests.conftest import PASSWORD
from tests.visits.visit_helpers import clear_with, open_neck_episode


def test_a_thin_patients_rhomboid_warns_and_signs_after_one_click(page, clinician, patient) -> None:
    clear_with(clinician, patient, height_cm="165", weight_kg="47")  # BMI 17.3, from the screening itself
    episode = open_neck_episode(clinician, patient, side="left")
    sign_in(page, clinician.user.username, PASSWORD)
    page.goto(f"/patients/{patient.pk}/episodes/{episode.pk}/")
    page.click("button:has-text('Start a visit now')")
    page.wait_for_url("**/visits/*/")

    page.select_option("#id_muscle_id", "rhomboids")
    page.select_option("#id_length_mm", "15")
    page.fill("#id_needles", "1")
    page.click("[data-testid=add-entry]")
    page.wait_for_selector("[data-testid=pending-warnings]")
    pending = page.inner_text("[data-testid=pending-warnings]")
    assert "thin build (BMI 17.3)" in pending and "15 mm" in pending
    assert page.locator("[data-testid=needling-row]").count() == 0  # nothing saved before the acknowledgement

    page.click("[data-testid=precaution]:has-text('Pincer grasp')")  # the one click
    expect(page.locator("[data-testid=needling-row]")).to_have_count(1)
    safety = page.inner_text("[data-testid=warnings]")
    assert "Reminder:" in safety and "Acknowledged" in safety and "Pincer grasp" in safety

    page.click("[data-testid=all-removed]")
    page.wait_for_selector("[data-testid=count-status]:has-text('accounted for')")
    page.click("[data-testid=sign]")
    page.wait_for_selector("[data-testid=signed-note]")
    note = page.inner_text("[data-testid=signed-note]")
    assert "Safety reminders:" in note and "rib bracketing" in note
    assert "thin build (BMI 17.3)" in note and "Precautions: Pincer grasp: muscle lifted off the chest wall." in note
    assert Visit.objects.get().signed_at is not None
