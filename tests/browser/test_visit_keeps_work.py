"""A visit page that never loses a word, in a real browser: signing keeps the typed text (and a double
click signs once), an expired session recovers in place, the idle warning comes a minute before, and the
needle length chosen is the length signed."""

from __future__ import annotations

import re
from datetime import timedelta

from django.contrib.sessions.models import Session
from django.utils import timezone
from playwright.sync_api import expect

from needlepoint.visits.models import Visit
from tests.browser.conftest import sign_in
from tests.conftest import PASSWORD, clear_for_needling
from tests.visits.visit_helpers import open_neck_episode

PLAN = "Review in one week; home stretching twice a day."


def start_visit(page, clinician, patient) -> Visit:
    clear_for_needling(clinician, patient)
    episode = open_neck_episode(clinician, patient, side="right")
    sign_in(page, clinician.user.username, PASSWORD)
    page.goto(f"/patients/{patient.pk}/episodes/{episode.pk}/")
    page.click("button:has-text('Start a visit now')")
    page.wait_for_url("**/visits/*/")
    return Visit.objects.get()


def add_muscle(page, muscle: str, point: str, needles: str, length: str | None = None) -> None:
    rows = page.locator("[data-testid=needling-row]").count()
    page.select_option("#id_muscle_id", muscle)
    if point:
        page.select_option("#id_trigger_point", point)
    if length:
        page.select_option("#id_length_mm", length)
    page.fill("#id_needles", needles)
    page.click("[data-testid=add-entry]")
    expect(page.locator("[data-testid=needling-row]")).to_have_count(rows + 1)


def test_signing_keeps_the_typed_text_and_a_double_click_signs_once(page, clinician, patient) -> None:
    visit = start_visit(page, clinician, patient)
    page.fill("#id_subjective", "Neck stiff after a long drive.")
    page.wait_for_selector("[data-testid=draft-status][data-state=saved]:has-text('Draft saved')")
    page.reload()  # the autosaved draft is on the server
    assert page.input_value("#id_subjective") == "Neck stiff after a long drive."

    add_muscle(page, "infraspinatus", "TP1", "2")
    page.click("[data-testid=all-removed]")
    page.wait_for_selector("[data-testid=count-status]:has-text('accounted for')")
    page.fill("#id_plan", PLAN)  # typed, never saved with "Save visit details"
    assert page.get_attribute("[data-testid=draft-status]", "data-state") == "dirty"
    page.dblclick("[data-testid=sign]")
    page.wait_for_selector("[data-testid=signed-note]")
    page.wait_for_load_state("networkidle")

    note = page.inner_text("[data-testid=signed-note]")
    assert PLAN in note and "No plan recorded" not in note and "Neck stiff after a long drive." in note
    assert page.locator(".alert.success").count() == 1 and page.locator(".alert.error").count() == 0
    assert Visit.objects.get(pk=visit.pk).plan == PLAN


def test_an_expired_session_recovers_in_place(page, clinician, patient) -> None:
    visit = start_visit(page, clinician, patient)
    page.fill("#id_assessment", "Trigger point in right infraspinatus, reproduces the pain.")
    page.wait_for_selector("[data-testid=draft-status][data-state=saved]")
    Session.objects.update(expire_date=timezone.now() - timedelta(seconds=1))  # the idle limit has passed
    page.fill("#id_plan", PLAN)

    page.select_option("#id_muscle_id", "infraspinatus")
    page.select_option("#id_trigger_point", "TP1")
    page.fill("#id_needles", "2")
    page.click("[data-testid=add-entry]")
    page.wait_for_selector("[data-testid=session-dialog][open]")
    assert page.locator("[data-testid=needling-row]").count() == 0
    assert page.input_value("#session-username") == clinician.user.username

    page.fill("#session-password", "not the password")
    page.click("[data-testid=session-sign-in]")
    page.wait_for_selector("[data-testid=session-error]:not([hidden])")
    assert "do not match" in page.inner_text("[data-testid=session-error]")

    page.fill("#session-password", PASSWORD)
    page.click("[data-testid=session-sign-in]")
    expect(page.locator("[data-testid=needling-row]")).to_have_count(1)
    assert not page.locator("[data-testid=session-dialog]").evaluate("d => d.open")
    assert page.input_value("#id_plan") == PLAN  # nothing on the page was lost
    assert page.input_value("#id_assessment").startswith("Trigger point in right infraspinatus")
    page.wait_for_selector("[data-testid=draft-status][data-state=saved]")
    stored = Visit.objects.get(pk=visit.pk)
    assert stored.needling_entries.count() == 1 and stored.plan == PLAN


def test_a_warning_comes_a_minute_before_the_idle_limit(page, clinician, patient, settings) -> None:
    page.clock.install()
    start_visit(page, clinician, patient)
    idle = settings.SESSION_IDLE_MINUTES * 60 * 1000
    page.clock.run_for(idle - 61_000)
    assert not page.locator("[data-testid=session-warning]").is_visible()
    page.clock.run_for(2_000)
    page.wait_for_selector("[data-testid=session-warning]:has-text('signed out in a minute')")
    before = Session.objects.get().expire_date
    page.click("[data-testid=stay-signed-in]")
    page.wait_for_selector("[data-testid=session-warning]", state="hidden")
    assert Session.objects.get().expire_date > before  # the ping restarted the server's idle clock
    page.clock.run_for(idle + 1_000)
    page.wait_for_selector("[data-testid=session-warning]:has-text('You were signed out')")


def test_the_length_chosen_is_the_length_signed(page, clinician, patient) -> None:
    visit = start_visit(page, clinician, patient)
    add_muscle(page, "infraspinatus", "TP1", "1", length="30")
    assert page.input_value("#id_length_mm") == "30"  # kept for the next muscle
    add_muscle(page, "deltoid", "middle", "1")  # length left as it was
    assert page.input_value("#id_length_mm") == "30"
    page.select_option("#id_muscle_id", "upper-trapezius")
    assert page.input_value("#id_length_mm") == "25"  # proposed: not above its sourced safe depth
    add_muscle(page, "teres-minor", "", "1", length="13")
    page.click("[data-testid=all-removed]")
    page.wait_for_selector("[data-testid=count-status]:has-text('accounted for')")
    page.click("[data-testid=sign]")
    page.wait_for_selector("[data-testid=signed-note]")

    note = page.inner_text("[data-testid=signed-note]")
    assert re.findall(r"x (\d+(?:\.\d+)?) mm", note) == ["30", "30", "13"], note
    lengths = [str(e.length_mm) for e in Visit.objects.get(pk=visit.pk).needling_entries.order_by("position")]
    assert lengths == ["30.0", "30.0", "13.0"]


def test_a_whole_page_form_after_expiry_signs_in_first_and_keeps_the_text(page, clinician, patient) -> None:
    start_visit(page, clinician, patient)
    add_muscle(page, "infraspinatus", "TP1", "1")
    page.click("[data-testid=all-removed]")
    page.wait_for_selector("[data-testid=count-status]:has-text('accounted for')")
    page.click("[data-testid=sign]")
    page.wait_for_selector("[data-testid=signed-note]")
    page.fill("#id_text", "Correction: pain after was 2/10.")
    Session.objects.update(expire_date=timezone.now() - timedelta(seconds=1))
    page.click("button:has-text('Add addendum')")
    page.wait_for_selector("[data-testid=session-dialog][open]")
    assert page.input_value("#id_text") == "Correction: pain after was 2/10."
    page.fill("#session-password", PASSWORD)
    page.click("[data-testid=session-sign-in]")
    page.wait_for_selector("[data-testid=addendum]:has-text('pain after was 2/10')")


def test_pain_scores_chosen_are_saved_and_signed_without_a_save_click(page, clinician, patient) -> None:
    visit = start_visit(page, clinician, patient)
    page.select_option("#id_pain_before", "6")
    page.select_option("#id_pain_after", "3")  # chosen at once: the second save queues behind the first
    expect(page.locator("[data-testid=draft-status]")).to_have_attribute("data-state", "saved")
    page.wait_for_load_state("networkidle")
    visit.refresh_from_db()
    assert (visit.pain_before, visit.pain_after) == (6, 3)
    assert page.get_attribute("[data-testid=draft-status]", "data-state") == "saved"

    add_muscle(page, "infraspinatus", "TP1", "2")
    page.select_option("#id_pain_after", "2")  # changed just before signing: the sign carries it
    page.click("[data-testid=all-removed]")
    page.wait_for_selector("[data-testid=count-status]:has-text('accounted for')")
    page.click("[data-testid=sign]")
    page.wait_for_selector("[data-testid=signed-note]")
    visit.refresh_from_db()
    assert visit.signed_at is not None and (visit.pain_before, visit.pain_after) == (6, 2)
