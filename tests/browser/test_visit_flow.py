"""A clinician documents a visit in a real browser: three muscles without a page reload, one safety warning
acknowledged, the needle count reconciled, the visit signed, and an addendum added."""

from __future__ import annotations

import time

from playwright.sync_api import expect

from needlepoint.visits.models import Visit
from tests.browser.conftest import sign_in
from tests.conftest import PASSWORD, clear_for_needling
from tests.visits.visit_helpers import open_neck_episode


def rows(page) -> int:
    return page.locator("[data-testid=needling-row]").count()


def add_muscle(page, muscle: str, point: str, needles: str) -> None:
    page.select_option("#id_muscle_id", muscle)
    if point:
        page.select_option("#id_trigger_point", point)
    page.fill("#id_needles", needles)
    page.press("#id_needles", "Enter")  # keyboard: Enter adds the muscle


def test_a_clinician_documents_and_signs_a_three_muscle_visit(page, clinician, patient) -> None:
    clear_for_needling(clinician, patient)
    episode = open_neck_episode(clinician, patient, side="right")
    sign_in(page, clinician.user.username, PASSWORD)
    started = time.monotonic()

    page.goto(f"/patients/{patient.pk}/episodes/{episode.pk}/")
    page.click("button:has-text('Start a visit now')")
    page.wait_for_url("**/visits/*/")
    navigations: list[str] = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url) if frame == page.main_frame else None)

    page.select_option("#id_pain_before", "7")
    page.select_option("#id_pain_after", "3")
    page.fill("#id_subjective", "Neck stiff after a long drive.")
    page.check("input[name=interventions][value=therapeutic_exercise]")
    page.click("button:has-text('Save visit details')")
    page.wait_for_selector("text=Visit details saved.")

    add_muscle(page, "infraspinatus", "TP1", "2")
    expect(page.locator("[data-testid=needling-row]")).to_have_count(1)
    expect(page.locator("#id_muscle_id")).to_be_focused()  # ready for the next muscle

    add_muscle(page, "piriformis", "lateral", "2")
    page.wait_for_selector("[data-testid=pending-warnings]")
    assert "sciatic nerve" in page.inner_text("[data-testid=pending-warnings]")
    assert rows(page) == 1  # nothing saved until the warning is acknowledged
    page.fill("input[data-ack]", "Needle angled away from the sciatic nerve")
    page.click("[data-testid=add-entry]")
    expect(page.locator("[data-testid=needling-row]")).to_have_count(2)
    assert "Acknowledged" in page.inner_text("[data-testid=warnings]")

    add_muscle(page, "deltoid", "middle", "1")
    expect(page.locator("[data-testid=needling-row]")).to_have_count(3)
    assert page.inner_text("[data-testid=cpt]") == "20561"
    assert page.inner_text("[data-testid=count-status]") == "not reconciled"

    page.click("[data-testid=all-removed]")
    page.wait_for_selector("[data-testid=count-status]:has-text('accounted for')")
    assert page.inner_text("[data-testid=count-removed]") == "5"
    assert navigations == []  # every entry was an htmx fragment, no page reload

    page.click("[data-testid=sign]")
    page.wait_for_selector("[data-testid=signed-note]")
    elapsed = time.monotonic() - started
    note = page.inner_text("[data-testid=signed-note]")
    assert "CPT: 20561" in note and "Needle angled away from the sciatic nerve" in note
    assert "Pain before treatment: 7/10." in note and "All needles accounted for" in note
    assert page.inner_text("[data-testid=visit-status]") == "signed"

    page.fill("#id_text", "Correction: the patient reported 2/10 by phone the next morning.")
    page.click("button:has-text('Add addendum')")
    page.wait_for_selector("[data-testid=addendum]")
    assert "2/10 by phone" in page.inner_text("[data-testid=addendum]")

    visit = Visit.objects.get()
    assert visit.signed_at is not None and visit.cpt_code == "20561" and visit.needling_entries.count() == 3
    assert elapsed < 60, f"documenting took {elapsed:.0f} s of machine time"
