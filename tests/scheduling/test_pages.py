"""Appointment pages over real HTTP: booking by front desk, calendars without clinical content, status
changes, starting a visit from the dashboard, and calendar query counts that do not grow with the day."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from needlepoint.patients import actions as patient_actions
from needlepoint.scheduling import actions
from needlepoint.scheduling.models import Appointment
from needlepoint.visits.models import Visit
from tests.conftest import client_for
from tests.scheduling.conftest import appointment_at, at, booking
from tests.visits.visit_helpers import open_neck_episode


def form(clinician, day, start="10:00", **change):
    return {
        "clinician": str(clinician.pk),
        "kind": "follow_up",
        "day": day.isoformat(),
        "start": start,
        "minutes": "30",
        "repeat": "1",
        "every_weeks": "1",
    } | change


def test_front_desk_finds_the_patient_and_books_a_follow_up(front_desk, clinician, patient):
    client = client_for(front_desk)
    search = client.post("/schedule/book/", {"q": "Doe"})  # one patient found: the Enter that searched chooses her
    assert search.status_code == 302 and search["Location"] == f"/schedule/book/?patient={patient.pk}"

    chosen = client.get(search["Location"])
    assert b"Jane Doe" in chosen.content
    tomorrow = timezone.localdate() + timedelta(days=1)
    response = client.post("/schedule/book/", form(clinician, tomorrow) | {"patient": patient.pk})

    assert response.status_code == 302
    assert response["Location"] == f"/schedule/clinicians/{clinician.pk}/?day={tomorrow.isoformat()}"
    appointment = Appointment.objects.get()
    assert timezone.localtime(appointment.starts_at).hour == 10 and appointment.minutes == 30
    day = client.get(response["Location"]).content.decode()
    assert "Booked Jane Doe: follow-up with Alice" in day
    assert "Jane Doe" in day and "10:00–10:30" in day


def test_a_double_booking_on_the_page_keeps_the_form_and_says_why(front_desk, clinician, patient):
    tomorrow = timezone.localdate() + timedelta(days=1)
    actions.book_appointment(front_desk, patient.pk, booking(clinician, at(1, 10)))
    page = client_for(front_desk).post(
        "/schedule/book/", form(clinician, tomorrow, start="10:15") | {"patient": patient.pk}
    )
    assert page.status_code == 200
    assert "Alice is already booked then" in page.content.decode()
    assert 'value="10:15"' in page.content.decode()
    assert Appointment.objects.count() == 1


def test_a_booking_in_the_past_on_the_page_is_refused(front_desk, clinician, patient):
    yesterday = timezone.localdate() - timedelta(days=1)
    page = client_for(front_desk).post("/schedule/book/", form(clinician, yesterday) | {"patient": patient.pk})
    assert "is in the past" in page.content.decode()
    assert not Appointment.objects.exists()


def test_a_weekly_series_from_the_page(front_desk, clinician, patient):
    tomorrow = timezone.localdate() + timedelta(days=1)
    client_for(front_desk).post("/schedule/book/", form(clinician, tomorrow, repeat="6") | {"patient": patient.pk})
    assert Appointment.objects.filter(series__isnull=False).count() == 6


def test_calendars_show_no_clinical_content_to_front_desk(front_desk, clinician, cleared_patient):
    episode = open_neck_episode(clinician, cleared_patient)
    start = timezone.now().replace(second=0, microsecond=0)
    appointment = appointment_at(clinician, cleared_patient, start, booked_by=front_desk)
    visit = actions.start_visit_from_appointment(clinician, appointment.pk)
    client = client_for(front_desk)
    day = timezone.localtime(start).date().isoformat()

    for url in (
        f"/schedule/?day={day}",
        f"/schedule/clinicians/{clinician.pk}/?day={day}",
        f"/schedule/clinicians/{clinician.pk}/?day={day}&view=week",
        f"/appointments/{appointment.pk}/",
    ):
        page = client.get(url).content.decode()
        assert "Jane Doe" in page and "In treatment" in page, url
        assert episode.condition_label not in page and f"/visits/{visit.pk}/" not in page, url
        assert "Start visit" not in page, url
    assert f"/visits/{visit.pk}/" in client_for(clinician).get(f"/appointments/{appointment.pk}/").content.decode()


def test_status_buttons_change_the_status_and_a_senseless_change_is_refused(front_desk, clinician, patient):
    appointment = actions.book_appointment(front_desk, patient.pk, booking(clinician, at(1, 10)))
    client = client_for(front_desk)
    url = f"/appointments/{appointment.pk}/status/"

    client.post(url, {"status": "cancelled", "reason": "Patient unwell", "version": "1"})
    assert Appointment.objects.get().status == "cancelled"
    page = client.post(url, {"status": "booked"}, follow=True).content.decode()
    assert "A cancelled appointment cannot become booked: it is closed." in page
    assert Appointment.objects.get().status == "cancelled"
    off_site = client.post(url, {"status": "arrived", "next": "https://example.org/"})
    assert off_site["Location"] == f"/appointments/{appointment.pk}/"


def test_the_dashboard_lists_todays_appointments_and_starts_the_visit(front_desk, clinician, cleared_patient):
    open_neck_episode(clinician, cleared_patient)
    start = timezone.now().replace(second=0, microsecond=0)
    appointment = appointment_at(clinician, cleared_patient, start, booked_by=front_desk)
    client = client_for(clinician)
    dashboard = client.get("/").content.decode()
    assert "Jane Doe" in dashboard and "Follow-up" in dashboard and "Start visit" in dashboard

    response = client.post(f"/appointments/{appointment.pk}/start-visit/")

    visit = Visit.objects.get()
    assert response["Location"] == f"/visits/{visit.pk}/"
    assert Appointment.objects.get().status == "in_treatment"
    dashboard = client.get("/").content.decode()
    assert f"/visits/{visit.pk}/" in dashboard and "Start visit" not in dashboard
    assert "Visit without appointment" not in dashboard


def test_a_visit_without_an_appointment_still_shows_on_the_dashboard(clinician, cleared_patient):
    from needlepoint.visits import actions as visit_actions

    visit_actions.start_visit(clinician, open_neck_episode(clinician, cleared_patient), {})
    dashboard = client_for(clinician).get("/").content.decode()
    assert "Visit without appointment" in dashboard and "Jane Doe" in dashboard


def test_the_contact_preference_page_records_an_opt_out(front_desk, patient):
    client = client_for(front_desk)
    client.post(f"/schedule/patients/{patient.pk}/reminders/", {"email_reminders": "no"})
    assert actions.wants_reminders(patient) is False
    assert b"No reminders" in client.get(f"/schedule/patients/{patient.pk}/reminders/").content


@pytest.mark.parametrize("url", ["/schedule/?day={day}", "/schedule/clinicians/{c}/?day={day}&view=week", "/"])
def test_calendar_query_count_does_not_grow_with_the_appointments_shown(url, front_desk, clinician, colleague, patient):
    client = client_for(clinician)
    today = timezone.localdate()
    address = url.format(day=today.isoformat(), c=clinician.pk)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(address).status_code == 200
        return len(queries)

    actions.book_appointment(front_desk, patient.pk, booking(clinician, at(0, 7) + timedelta(days=1)))
    base = count()
    for n in range(10):
        other = patient_actions.register_patient(
            front_desk,
            {
                "given_name": f"P{n}",
                "family_name": "Test",
                "date_of_birth": today - timedelta(days=9000),
                "sex": "male",
            },
        )
        for who in (clinician, colleague):
            start = at(0, 7)
            Appointment.objects.create(
                clinic=clinician.clinic,
                patient=other,
                clinician=who,
                kind="follow_up",
                starts_at=start + timedelta(minutes=30 * n),
                ends_at=start + timedelta(minutes=30 * n + 30),
                booked_by=front_desk,
            )
    assert count() == base


def test_the_patient_page_lists_the_coming_appointments_for_clinicians(front_desk, clinician, patient):
    actions.book_appointment(front_desk, patient.pk, booking(clinician, at(1, 10)))
    page = client_for(clinician).get(f"/patients/{patient.pk}/").content.decode()
    assert 'data-testid="appointments-panel"' in page and "Follow-up" in page
    assert f"/schedule/book/?patient={patient.pk}" in page


def test_the_appointment_page_says_when_an_episode_must_be_opened_first(front_desk, clinician, patient):
    appointment = actions.book_appointment(front_desk, patient.pk, booking(clinician, at(1, 10)))
    page = client_for(clinician).get(f"/appointments/{appointment.pk}/").content.decode()
    assert "has no open episode of care" in page and "Start visit" not in page


def test_a_free_slot_on_the_clinicians_day_opens_the_booking_form_filled_in(front_desk, clinician, patient):
    actions.book_appointment(front_desk, patient.pk, booking(clinician, at(1, 10)))
    client = client_for(front_desk)
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    day = client.get(f"/schedule/clinicians/{clinician.pk}/", {"day": tomorrow}).content.decode()
    free = f"/schedule/book/?clinician={clinician.pk}&day={tomorrow}&time="
    assert f"{free}09:30" in day and f"{free}10:30" in day and f"{free}10:00" not in day

    page = client.get("/schedule/book/", {"clinician": clinician.pk, "day": tomorrow, "time": "10:30", "q": "Doe"})
    link = f"/schedule/book/?clinician={clinician.pk}&day={tomorrow}&time=10%3A30&patient={patient.pk}"
    assert page.status_code == 302 and page["Location"] == link
    form = client.get(link).content.decode()
    assert 'value="10:30"' in form and f'value="{tomorrow}"' in form


def test_a_follow_up_is_booked_from_the_visit_in_two_clicks(clinician, cleared_patient):
    """The visit page links to the booking form filled in for a week later at the same time: one click there,
    one on Book (the keystroke-level budget for booking a follow-up is 10 s)."""
    from needlepoint.visits import actions as visit_actions

    # Yesterday, so that the visit is in the past at any hour the suite runs.
    started = (timezone.localtime() - timedelta(days=1)).replace(hour=10, minute=15, second=0, microsecond=0)
    episode = open_neck_episode(clinician, cleared_patient, days_ago=7)
    visit = visit_actions.start_visit(clinician, episode, {"started_at": started})
    client = client_for(clinician)
    page = client.get(f"/visits/{visit.pk}/").content.decode().replace("&amp;", "&")
    link = page.split('data-testid="book-follow-up"')[0].rsplit('href="', 1)[1].split('"')[0]
    week_later = (started + timedelta(weeks=1)).date().isoformat()
    who = f"patient={cleared_patient.pk}&clinician={clinician.pk}"
    assert link == f"/schedule/book/?{who}&kind=follow_up&day={week_later}&time=10%3A15"

    form = client.get(link).content.decode()
    assert 'value="10:15"' in form and f'value="{week_later}"' in form and 'value="follow_up" selected' in form
    data = {"patient": cleared_patient.pk, "clinician": clinician.pk, "kind": "follow_up", "day": week_later}
    response = client.post(
        "/schedule/book/", data | {"start": "10:15", "minutes": "", "repeat": "1", "every_weeks": "1"}
    )
    assert response.status_code == 302
    booked = Appointment.objects.get()
    assert timezone.localtime(booked.starts_at).strftime("%Y-%m-%d %H:%M") == f"{week_later} 10:15"
