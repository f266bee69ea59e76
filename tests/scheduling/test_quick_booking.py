"""Booking a follow-up from the Schedule menu in few actions, over real HTTP: a search that finds one patient
chooses her, the form proposes a follow-up from her last appointment (clinician, type, length, the same time a
week later), quick choices and free times fill it in with one click, and the server still refuses what it
refused before (double booking, the past) with the reason."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from needlepoint.patients import actions as patient_actions
from needlepoint.scheduling import actions
from needlepoint.scheduling.models import Appointment
from tests.conftest import audit_lock_queries, client_for
from tests.scheduling.conftest import at, booking
from tests.visits.visit_helpers import open_neck_episode


def seen_today_at_ten(front_desk, clinician, patient, minutes=45):
    """The patient's follow-up today at 10:00 with the clinician, booked earlier this morning."""
    return actions.book_appointment(
        front_desk, patient.pk, booking(clinician, at(0, 10), minutes=minutes), now=at(0, 8)
    )


def page_of(client, patient, **query):
    return client.get("/schedule/book/", {"patient": patient.pk} | query).content.decode().replace("&amp;", "&")


def another_patient(front_desk, given="John", family="Doe"):
    return patient_actions.register_patient(
        front_desk,
        {
            "given_name": given,
            "family_name": family,
            "date_of_birth": at(0, 0).date().replace(year=1975),
            "sex": "male",
        },
    )


def test_a_search_with_several_patients_lists_them_with_the_first_ready_for_enter(front_desk, patient):
    another_patient(front_desk)
    page = client_for(front_desk).post("/schedule/book/", {"q": "Doe"}).content.decode()
    assert page.count("Book for ") == 2
    first_link = page.split("Book for ")[0].rsplit("<a ", 1)[1]
    assert "autofocus" in first_link
    assert 'id="q"' in page and "autofocus>" not in page.split('id="q"')[1].split(">")[0] + ">"


def test_the_form_proposes_a_follow_up_a_week_after_the_last_appointment(front_desk, clinician, patient):
    seen_today_at_ten(front_desk, clinician, patient)
    page = page_of(client_for(front_desk), patient)
    week_later = (timezone.localdate() + timedelta(weeks=1)).isoformat()
    assert f'value="{week_later}"' in page and 'value="10:00"' in page
    assert f'<option value="{clinician.pk}" selected>' in page
    assert '<option value="follow_up" selected>' in page and '<option value="45" selected>' in page
    assert "Last seen: follow-up on" in page
    assert page.count('data-testid="quick-choice"') == 3 and "(filled in)" in page


def test_a_taken_week_is_said_and_the_next_free_one_is_proposed(front_desk, clinician, colleague, patient):
    seen_today_at_ten(front_desk, clinician, patient)
    other = another_patient(front_desk, "Max", "Roe")
    actions.book_appointment(front_desk, other.pk, booking(clinician, at(7, 10)))
    actions.book_appointment(front_desk, patient.pk, booking(clinician, at(14, 9), minutes=30))
    actions.book_appointment(front_desk, patient.pk, booking(colleague, at(21, 10, 30), minutes=30))
    page = page_of(client_for(front_desk), patient)
    assert "in 1 week" in page and "the clinician is booked then" in page
    # The patient's own 09:00 on day 14 does not hold 10:00; the 10:30 on day 21 overlaps 10:00-10:45.
    assert f'value="{at(14, 10).date().isoformat()}"' in page and 'value="10:00"' in page
    assert page.count('data-testid="quick-choice"') == 1 and "the patient has another appointment then" in page


def test_a_visit_outside_the_booking_hours_proposes_no_time(clinician, cleared_patient):
    from needlepoint.visits import actions as visit_actions

    episode = open_neck_episode(clinician, cleared_patient, days_ago=7)
    visit_actions.start_visit(clinician, episode, {"started_at": at(-1, 6, 30)})  # yesterday: past at any hour
    page = page_of(client_for(clinician), cleared_patient)
    assert "Last seen: visit on" in page
    assert page.count("outside the booking hours") == 3 and 'data-testid="quick-choice"' not in page
    assert 'name="start" value=""' in page


def test_a_patient_never_seen_gets_no_proposal(front_desk, patient):
    page = page_of(client_for(front_desk), patient)
    assert 'data-testid="quick-choices"' not in page and "Last seen" not in page


def test_a_quick_choice_and_a_free_time_fill_in_the_form(front_desk, clinician, patient):
    seen_today_at_ten(front_desk, clinician, patient)
    other = another_patient(front_desk, "Max", "Roe")
    actions.book_appointment(front_desk, other.pk, booking(clinician, at(7, 12)))
    client = client_for(front_desk)
    page = page_of(client, patient)
    two_weeks = page.split('data-testid="quick-choice" href="')[2].split('"')[0]
    day = at(14, 10).date().isoformat()
    assert f"day={day}" in two_weeks and "time=10%3A00" in two_weeks and f"clinician={clinician.pk}" in two_weeks
    filled = client.get(two_weeks).content.decode()
    assert f'value="{day}"' in filled and 'value="10:00"' in filled and '<option value="45" selected>' in filled

    # The free times of the proposed day leave out a 45-minute follow-up that would meet the 12:00-12:30 booking.
    free = page.split('data-testid="free-times"')[1].split("</p>")[0]
    assert ">10:00<" in free and ">11:00<" in free and ">12:30<" in free
    assert ">11:30<" not in free and ">12:00<" not in free
    link = free.split('href="')[1].split('"')[0]
    assert client.get(link).status_code == 200


def test_a_proposed_time_taken_since_the_page_opened_is_refused_with_the_reason(front_desk, clinician, patient):
    seen_today_at_ten(front_desk, clinician, patient)
    client = client_for(front_desk)
    page_of(client, patient)  # the form proposes next week at 10:00
    other = another_patient(front_desk, "Max", "Roe")
    actions.book_appointment(front_desk, other.pk, booking(clinician, at(7, 10)))  # meanwhile, on another desk
    sent = {
        "patient": patient.pk,
        "clinician": clinician.pk,
        "kind": "follow_up",
        "day": at(7, 10).date().isoformat(),
        "start": "10:00",
        "minutes": "45",
        "repeat": "1",
        "every_weeks": "1",
    }
    page = client.post(f"/schedule/book/?patient={patient.pk}", sent)
    assert page.status_code == 200 and "Alice is already booked then" in page.content.decode()
    assert Appointment.objects.filter(patient=patient).count() == 1


def test_a_quick_choice_in_the_past_cannot_be_forced(front_desk, clinician, patient):
    seen_today_at_ten(front_desk, clinician, patient)
    yesterday = (timezone.localdate() - timedelta(days=1)).isoformat()
    sent = {"patient": patient.pk, "clinician": clinician.pk, "kind": "follow_up", "day": yesterday, "start": "10:00"}
    page = client_for(front_desk).post("/schedule/book/", sent | {"minutes": "", "repeat": "1", "every_weeks": "1"})
    assert "is in the past" in page.content.decode()
    assert Appointment.objects.filter(patient=patient).count() == 1


def test_the_proposing_form_reads_a_fixed_number_of_queries(
    front_desk, clinician, patient, django_assert_max_num_queries
):
    seen_today_at_ten(front_desk, clinician, patient)
    for n in range(6):
        actions.book_appointment(front_desk, patient.pk, booking(clinician, at(8 + n, 9)))
    client = client_for(front_desk)
    page_of(client, patient)
    with django_assert_max_num_queries(13 + audit_lock_queries()):
        assert client.get("/schedule/book/", {"patient": patient.pk}).status_code == 200
