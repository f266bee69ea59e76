"""Front desk books a follow-up in a real browser; the clinician starts the visit from it on the dashboard."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from needlepoint.scheduling.config import book_settings
from needlepoint.scheduling.models import Appointment
from needlepoint.visits.models import Visit
from tests.browser.conftest import sign_in
from tests.conftest import PASSWORD, clear_for_needling
from tests.visits.visit_helpers import open_neck_episode


def slot_later_today() -> datetime:
    """A 5-minute mark 10 to 15 minutes from now, or a skip when that is outside the clinic's booking hours."""
    now = timezone.localtime() + timedelta(minutes=10)
    start = now.replace(second=0, microsecond=0) + timedelta(minutes=-now.minute % 5)
    hours = book_settings("test")
    end = start + timedelta(minutes=30)
    # Compared as dates and times together: a slot ending after midnight would otherwise pass as "00:10 <= 20:00".
    if (
        start.date() != timezone.localdate()
        or end.date() != start.date()
        or not (hours.day_starts <= start.time() and end.time() <= hours.day_ends)
    ):
        pytest.skip(f"{start:%H:%M} is outside the booking hours; today's dashboard cannot show a new booking")
    return start


def test_front_desk_books_a_follow_up_and_the_clinician_starts_the_visit(page, front_desk, clinician, patient):
    clear_for_needling(clinician, patient)
    open_neck_episode(clinician, patient)
    start = slot_later_today()

    sign_in(page, front_desk.user.username, PASSWORD)
    page.goto("/schedule/")
    page.click("text=Book an appointment")
    page.fill("#q", "Doe")
    page.press("#q", "Enter")  # the one patient found is chosen
    page.wait_for_selector("[data-testid=booking-patient]:has-text('Jane Doe')")
    page.select_option("#id_clinician", str(clinician.pk))
    page.select_option("#id_kind", "follow_up")
    page.fill("#id_day", start.date().isoformat())
    page.fill("#id_start", f"{start:%H:%M}")
    page.click("button:has-text('Book')")
    page.wait_for_selector("text=Booked Jane Doe: follow-up with Alice")
    assert "Start visit" not in page.content()
    appointment = Appointment.objects.get()
    assert appointment.starts_at == start and appointment.status == "booked" and appointment.minutes == 30

    page.click("button:has-text('Sign out')")
    sign_in(page, clinician.user.username, PASSWORD)
    page.goto("/")
    row = page.locator("[data-testid=today-appointment]", has_text="Jane Doe")
    assert "Follow-up" in row.inner_text()
    row.locator("[data-testid=start-visit]").click()
    page.wait_for_url("**/visits/*/")

    visit = Visit.objects.get()
    assert page.url.endswith(f"/visits/{visit.pk}/")
    appointment.refresh_from_db()
    assert appointment.status == "in_treatment" and appointment.visit_id == visit.pk
    page.goto("/")
    assert "In treatment" in page.locator("[data-testid=today-appointment]").inner_text()

    # The visit is documented and signed: the appointment is completed and the signed note is on the visit page.
    page.goto(f"/visits/{visit.pk}/")
    page.select_option("#id_muscle_id", "tensor-fasciae-latae")
    page.select_option("#id_side", "right")
    page.fill("#id_needles", "2")
    page.click("[data-testid=add-entry]")
    expect(page.locator("[data-testid=needling-row]")).to_have_count(1)
    page.fill("#id_plan", "Review in a week.")
    page.click("[data-testid=all-removed]")
    page.wait_for_selector("[data-testid=count-status]:has-text('accounted for')")
    page.click("[data-testid=sign]")
    note = page.inner_text("[data-testid=signed-note]")
    assert "Tensor fasciae latae (right)" in note and "P: Review in a week." in note
    appointment.refresh_from_db()
    assert appointment.status == "completed"
