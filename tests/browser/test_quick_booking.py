"""Front desk books a follow-up from the Schedule menu the quick way, in a real browser: the family name and
Enter choose the patient, the form proposes the same time a week after her last appointment, and one click on
a quick choice (or a free time) and one on Book make the booking."""

from __future__ import annotations

from playwright.sync_api import expect

from needlepoint.patients import actions as patient_actions
from needlepoint.scheduling import actions
from needlepoint.scheduling.models import Appointment
from tests.browser.conftest import sign_in
from tests.conftest import PASSWORD
from tests.scheduling.conftest import at, booking


def test_front_desk_books_a_follow_up_two_weeks_on_with_one_click(page, front_desk, clinician, patient):
    seen = actions.book_appointment(front_desk, patient.pk, booking(clinician, at(0, 10), minutes=45), now=at(0, 8))

    sign_in(page, front_desk.user.username, PASSWORD)
    page.goto("/schedule/")
    page.click("text=Book an appointment")
    page.wait_for_url("**/schedule/book/")
    expect(page.locator("#q")).to_be_focused()  # expect, not wait_for_function: the CSP refuses eval
    page.keyboard.type("Doe")
    page.keyboard.press("Enter")
    page.wait_for_selector("[data-testid=booking-patient]:has-text('Jane Doe')")
    assert page.input_value("#id_day") == at(7, 10).date().isoformat() and page.input_value("#id_start") == "10:00"
    assert page.input_value("#id_clinician") == str(clinician.pk) and page.input_value("#id_minutes") == "45"

    page.click("[data-testid=quick-choice]:has-text('in 2 weeks')")
    page.wait_for_selector("[data-testid=quick-choice][aria-current=true]:has-text('in 2 weeks')")
    assert page.input_value("#id_day") == at(14, 10).date().isoformat()
    page.click("form.card button[type=submit]")
    page.wait_for_selector("text=Booked Jane Doe: follow-up with Alice")

    booked = Appointment.objects.exclude(pk=seen.pk).get()
    assert booked.starts_at == at(14, 10) and booked.minutes == 45 and booked.clinician_id == clinician.pk


def test_with_two_patients_found_enter_books_for_the_first_and_a_taken_time_is_refused(
    page, front_desk, clinician, patient
):
    seen = actions.book_appointment(front_desk, patient.pk, booking(clinician, at(0, 10)), now=at(0, 8))
    other = patient_actions.register_patient(
        front_desk, {"given_name": "Max", "family_name": "Doe", "date_of_birth": at(0, 0).date(), "sex": "male"}
    )

    sign_in(page, front_desk.user.username, PASSWORD)
    page.goto("/schedule/book/")
    expect(page.locator("#q")).to_be_focused()  # expect, not wait_for_function: the CSP refuses eval
    page.keyboard.type("Doe")
    page.keyboard.press("Enter")
    page.wait_for_selector("[data-testid=booking-patients]")
    page.keyboard.press("Enter")  # the first patient listed has the focus: Doe, Jane
    page.wait_for_selector("[data-testid=booking-patient]:has-text('Jane Doe')")

    # Meanwhile another desk books the proposed time for Max: the booking is refused with the reason, the form kept.
    actions.book_appointment(front_desk, other.pk, booking(clinician, at(7, 10)))
    page.click("form.card button[type=submit]")
    page.wait_for_selector("text=Alice is already booked then")
    assert page.input_value("#id_start") == "10:00"
    # Today's 10:00 visit is still ahead when the suite runs before ten: only a new booking counts.
    assert not Appointment.objects.filter(patient=patient).exclude(pk=seen.pk).exists()

    # One of the free times of that day books it instead.
    page.click("[data-testid=free-time]:has-text('11:00')")
    expect(page.locator("#id_start")).to_have_value("11:00")
    page.click("form.card button[type=submit]")
    page.wait_for_selector("text=Booked Jane Doe")
    assert Appointment.objects.filter(patient=patient).exclude(pk=seen.pk).get().starts_at == at(7, 11)
