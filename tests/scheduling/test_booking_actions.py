"""Booking, status changes and starting a visit through the real actions: the rules hold and bad input
leaves nothing behind."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from needlepoint.accounts import audit
from needlepoint.accounts.models import AuditEntry
from needlepoint.patients import actions as patient_actions
from needlepoint.scheduling import actions
from needlepoint.scheduling.models import Appointment, AppointmentSeries
from needlepoint.visits.models import Visit
from tests.conftest import make_member
from tests.scheduling.conftest import appointment_at, at, booking
from tests.visits.visit_helpers import open_neck_episode, signed_visit


def other_patient(membership, given="Ken", family="Ito"):
    return patient_actions.register_patient(
        membership, {"given_name": given, "family_name": family, "date_of_birth": date(1970, 1, 1), "sex": "male"}
    )


def test_front_desk_books_a_follow_up_and_the_audit_trail_records_it(front_desk, clinician, patient, tomorrow_10):
    actor = audit.Actor(front_desk.user_id, front_desk.clinic_id, "web", None, "fran")
    with audit.event(actor):
        appointment = actions.book_appointment(front_desk, patient.pk, booking(clinician, tomorrow_10, minutes=None))

    assert appointment.status == "booked" and appointment.minutes == 30  # the follow-up's usual length
    assert appointment.clinic_id == front_desk.clinic_id and appointment.booked_by == front_desk
    entry = AuditEntry.objects.filter(object_type="scheduling.Appointment", action="create").get()
    assert entry.patient_id == patient.pk and entry.user_id == front_desk.user_id


def test_double_booking_a_clinician_is_refused_and_nothing_is_stored(front_desk, clinician, patient, booked):
    ken = other_patient(front_desk)
    with pytest.raises(ValidationError) as refused:
        actions.book_appointment(front_desk, ken.pk, booking(clinician, booked.starts_at + timedelta(minutes=15)))
    assert "Alice is already booked then" in " ".join(refused.value.messages)
    assert Appointment.objects.count() == 1

    # Back to back is fine, and so is another clinician at the same time.
    actions.book_appointment(front_desk, ken.pk, booking(clinician, booked.ends_at))
    colleague = make_member(clinician.clinic, "bob", "clinician", profession="chiropractor")
    actions.book_appointment(front_desk, other_patient(front_desk, "Li", "Wu").pk, booking(colleague, booked.starts_at))
    assert Appointment.objects.count() == 3


def test_a_patient_cannot_be_in_two_rooms_at_once(front_desk, clinician, patient, booked):
    colleague = make_member(clinician.clinic, "bob", "clinician", profession="chiropractor")
    with pytest.raises(ValidationError, match="Jane Doe already has an appointment then"):
        actions.book_appointment(front_desk, patient.pk, booking(colleague, booked.starts_at))
    assert Appointment.objects.count() == 1


def test_a_cancelled_slot_is_free_again(front_desk, clinician, patient, booked):
    actions.change_status(front_desk, booked.pk, "cancelled", reason="patient unwell")
    again = actions.book_appointment(front_desk, patient.pk, booking(clinician, booked.starts_at))
    assert again.pk != booked.pk


def test_an_appointment_in_the_past_is_refused(front_desk, clinician, patient):
    yesterday = timezone.now() - timedelta(days=1)
    with pytest.raises(ValidationError) as refused:
        actions.book_appointment(front_desk, patient.pk, booking(clinician, yesterday))
    assert "is in the past" in refused.value.message_dict["starts_at"][0]
    assert not Appointment.objects.exists()


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"kind": "massage"}, "kind", "Choose the appointment type: new patient, follow-up."),
        ({"minutes": 40}, "minutes", "Choose a length of 30, 45, 60 minutes for a follow-up appointment."),
        ({"kind": "new_patient", "minutes": 30}, "minutes", "Choose a length of 45, 60 minutes"),
        ({"starts_at": at(1, 6, 30)}, "starts_at", "The clinic books between 07:00 and 20:00"),
        ({"starts_at": at(1, 19, 45)}, "starts_at", "The clinic books between 07:00 and 20:00; 19:45 for 30"),
        ({"starts_at": "tomorrow"}, "starts_at", "Give the date and time"),
        ({"clinician": 999999}, "clinician", "Choose a clinician of this clinic."),
    ],
)
def test_bad_booking_input_gets_a_clear_message_and_nothing_is_stored(
    front_desk, clinician, patient, tomorrow_10, change, field, message
):
    with pytest.raises(ValidationError) as refused:
        actions.book_appointment(front_desk, patient.pk, booking(clinician, tomorrow_10) | change)
    assert refused.value.message_dict[field][0].startswith(message)
    assert not Appointment.objects.exists()


def test_front_desk_and_clinic_admin_cannot_be_booked_as_the_clinician(front_desk, clinic_admin, patient, tomorrow_10):
    for person in (front_desk, clinic_admin):
        with pytest.raises(ValidationError, match="Choose a clinician"):
            actions.book_appointment(front_desk, patient.pk, booking(person, tomorrow_10))


def test_another_clinics_patient_or_clinician_cannot_be_booked(outsider, front_desk, clinician, patient, tomorrow_10):
    from django.http import Http404

    with pytest.raises(Http404):
        actions.book_appointment(outsider, patient.pk, booking(outsider, tomorrow_10))
    with pytest.raises(ValidationError, match="Choose a clinician"):
        actions.book_appointment(front_desk, patient.pk, booking(outsider, tomorrow_10))
    assert not Appointment.objects.exists()


def test_a_weekly_series_of_six_is_booked_together(front_desk, clinician, patient, tomorrow_10):
    booked = actions.book_series(front_desk, patient.pk, booking(clinician, tomorrow_10), count=6)

    assert [a.starts_at for a in booked] == [tomorrow_10 + timedelta(weeks=n) for n in range(6)]
    series = AppointmentSeries.objects.get()
    assert series.count == 6 and {a.series_id for a in booked} == {series.pk}


def test_a_series_that_would_double_book_is_refused_whole_with_the_clashing_dates(
    front_desk, clinician, patient, tomorrow_10
):
    ken = other_patient(front_desk)
    actions.book_appointment(front_desk, ken.pk, booking(clinician, tomorrow_10 + timedelta(weeks=2, minutes=15)))
    actions.book_appointment(front_desk, ken.pk, booking(clinician, tomorrow_10 + timedelta(weeks=4)))

    with pytest.raises(ValidationError) as refused:
        actions.book_series(front_desk, patient.pk, booking(clinician, tomorrow_10), count=6)

    message = " ".join(refused.value.messages)
    assert message.startswith("Nothing was booked: 2 of the dates clash:")
    for clash in (tomorrow_10 + timedelta(weeks=2), tomorrow_10 + timedelta(weeks=4)):
        assert actions.when(clash) in message
    assert actions.when(tomorrow_10 + timedelta(weeks=1)) not in message
    assert Appointment.objects.count() == 2 and not AppointmentSeries.objects.exists()


def test_a_series_longer_than_half_a_year_is_refused(front_desk, clinician, patient, tomorrow_10):
    with pytest.raises(ValidationError, match="between 1 and 26"):
        actions.book_series(front_desk, patient.pk, booking(clinician, tomorrow_10), count=30)
    assert not Appointment.objects.exists()


def test_the_status_moves_through_the_day_and_is_audited(front_desk, booked):
    arrived = actions.change_status(front_desk, booked.pk, "arrived", expected_version=booked.version)
    assert arrived.status == "arrived" and arrived.version == 2
    back = actions.change_status(front_desk, booked.pk, "booked")
    assert back.status == "booked"
    updates = AuditEntry.objects.filter(object_type="scheduling.Appointment", action="update")
    assert updates.count() == 2


def test_a_stale_status_change_is_refused(front_desk, booked):
    actions.change_status(front_desk, booked.pk, "arrived")
    with pytest.raises(ValidationError, match="Someone else changed this appointment"):
        actions.change_status(front_desk, booked.pk, "cancelled", reason="patient unwell", expected_version=1)
    assert Appointment.objects.get().status == "arrived"


def test_cancelling_needs_a_reason(front_desk, booked):
    with pytest.raises(ValidationError) as refused:
        actions.change_status(front_desk, booked.pk, "cancelled", reason=" ")
    assert refused.value.message_dict["reason"] == ["Give the reason for cancelling, e.g. 'patient unwell'."]
    cancelled = actions.change_status(front_desk, booked.pk, "cancelled", reason="Patient unwell")
    assert cancelled.cancel_reason == "Patient unwell"


def test_a_no_show_before_the_start_is_refused(front_desk, booked):
    with pytest.raises(ValidationError, match="not yet a no-show"):
        actions.change_status(front_desk, booked.pk, "no_show")
    later = booked.starts_at + timedelta(minutes=20)
    assert actions.change_status(front_desk, booked.pk, "no_show", now=later).status == "no_show"


@pytest.mark.parametrize(
    ("status", "message"),
    [
        ("completed", "An appointment is completed when its visit is signed."),
        ("in_treatment", "An appointment is in treatment once its visit is started from it."),
        ("postponed", "Unknown status 'postponed'"),
    ],
)
def test_statuses_that_only_the_visit_sets_are_refused_by_hand(front_desk, booked, status, message):
    with pytest.raises(ValidationError) as refused:
        actions.change_status(front_desk, booked.pk, status)
    assert refused.value.message_dict["status"][0].startswith(message)
    assert Appointment.objects.get().status == "booked"


def test_a_closed_appointment_does_not_go_back_to_booked(front_desk, booked):
    actions.change_status(front_desk, booked.pk, "cancelled", reason="patient unwell")
    with pytest.raises(ValidationError, match="cannot become booked: it is closed"):
        actions.change_status(front_desk, booked.pk, "booked")
    assert Appointment.objects.get().status == "cancelled"


@pytest.fixture
def today_appointment(front_desk, clinician, cleared_patient):
    """An appointment starting now (inside the booking grace), for a patient cleared for needling."""
    return appointment_at(
        clinician, cleared_patient, timezone.now().replace(second=0, microsecond=0), booked_by=front_desk
    )


def test_a_visit_starts_from_its_appointment_and_signing_it_completes_the_appointment(clinician, today_appointment):
    episode = open_neck_episode(clinician, today_appointment.patient)

    visit = actions.start_visit_from_appointment(clinician, today_appointment.pk)

    assert visit.episode_id == episode.pk and visit.clinician_id == clinician.pk
    appointment = Appointment.objects.get()
    assert appointment.status == "in_treatment" and appointment.visit_id == visit.pk
    # A second click opens the same visit.
    assert actions.start_visit_from_appointment(clinician, today_appointment.pk).pk == visit.pk
    assert Visit.objects.count() == 1

    signed_visit(clinician, visit)
    assert Appointment.objects.get().status == "completed"

    with pytest.raises(ValidationError) as refused:
        actions.change_status(clinician, today_appointment.pk, "booked")
    assert refused.value.message_dict["status"] == [
        "A completed appointment cannot become booked: it is closed. Book a new appointment instead."
    ]
    assert Appointment.objects.get().status == "completed"


def test_signing_a_visit_started_from_an_appointment_is_recorded_as_the_signature(clinician, today_appointment):
    """The signature is the event's one entry, not the appointment it completes on the way."""
    from needlepoint.visits import actions as visit_actions
    from tests.visits.visit_helpers import add, reconcile

    open_neck_episode(clinician, today_appointment.patient)
    visit = actions.start_visit_from_appointment(clinician, today_appointment.pk)
    for muscle, point in (("infraspinatus", "TP1"), ("deltoid", "middle")):
        add(clinician, visit, muscle=muscle, trigger_point=point)
    visit = reconcile(clinician, visit)
    before = AuditEntry.objects.count()

    with audit.event(audit.Actor(clinician.user_id, clinician.clinic_id, "web", None, "alice")):
        visit_actions.sign_visit(clinician, visit.pk, visit.version)

    made = [(e.action, e.object_type, e.summary.split(" v")[0]) for e in AuditEntry.objects.order_by("pk")[before:]]
    assert made == [("update", "visits.Visit", "visit signed")]
    assert Appointment.objects.get().status == "completed"


def test_only_the_booked_clinician_starts_the_visit(clinician, colleague, today_appointment):
    open_neck_episode(clinician, today_appointment.patient)
    with pytest.raises(ValidationError, match="the clinician it is booked with starts its visit"):
        actions.start_visit_from_appointment(colleague, today_appointment.pk)
    assert not Visit.objects.exists() and Appointment.objects.get().status == "booked"


def test_front_desk_cannot_start_a_visit(front_desk, clinician, today_appointment):
    open_neck_episode(clinician, today_appointment.patient)
    with pytest.raises(PermissionDenied):
        actions.start_visit_from_appointment(front_desk, today_appointment.pk)
    assert not Visit.objects.exists()


def test_a_visit_needs_an_open_episode_and_a_choice_between_two(clinician, today_appointment):
    with pytest.raises(ValidationError, match="has no open episode of care"):
        actions.start_visit_from_appointment(clinician, today_appointment.pk)
    first = open_neck_episode(clinician, today_appointment.patient)
    second = open_neck_episode(clinician, today_appointment.patient, side="left")
    with pytest.raises(ValidationError, match="more than one open episode"):
        actions.start_visit_from_appointment(clinician, today_appointment.pk)
    assert not Visit.objects.exists()

    visit = actions.start_visit_from_appointment(clinician, today_appointment.pk, str(first.pk))
    assert visit.episode_id == first.pk != second.pk


def test_a_cancelled_appointment_starts_no_visit(front_desk, clinician, today_appointment):
    open_neck_episode(clinician, today_appointment.patient)
    actions.change_status(front_desk, today_appointment.pk, "cancelled", reason="patient unwell")
    with pytest.raises(ValidationError, match="A cancelled appointment cannot start a visit"):
        actions.start_visit_from_appointment(clinician, today_appointment.pk)
    assert not Visit.objects.exists()
