"""API: the appointment book. List a day or week, book (optionally a weekly series), change a status,
start the visit, send a reminder, and a patient's reminder preference. No clinical content is returned."""

from __future__ import annotations

from datetime import date, datetime

from django.utils import timezone
from ninja import Field, Router, Schema, Status

from needlepoint.accounts.access import get_patient, get_record, require
from needlepoint.accounts.requests import ClinicRequest, member
from needlepoint.accounts.roles import Capability
from needlepoint.scheduling import actions, calendar
from needlepoint.scheduling.models import Appointment

router = Router(tags=["scheduling"])


class AppointmentOut(Schema):
    id: int
    patient_id: int
    patient_name: str
    clinician_id: int
    clinician_name: str
    kind: str
    kind_label: str
    starts_at: datetime
    ends_at: datetime
    minutes: int
    status: str
    cancel_reason: str
    series_id: int | None
    visit_id: int | None
    version: int


def _out(a: Appointment) -> AppointmentOut:
    return AppointmentOut(
        id=a.pk,
        patient_id=a.patient_id,
        patient_name=a.patient.full_name,
        clinician_id=a.clinician_id,
        clinician_name=a.clinician.user.get_full_name() or a.clinician.user.username,
        kind=a.kind,
        kind_label=a.kind_label,
        starts_at=a.starts_at,
        ends_at=a.ends_at,
        minutes=a.minutes,
        status=a.status,
        cancel_reason=a.cancel_reason,
        series_id=a.series_id,
        visit_id=a.visit_id,
        version=a.version,
    )


@router.get("/appointments", response=list[AppointmentOut])
def list_appointments(
    request: ClinicRequest, day: date | None = None, days: int = 1, clinician_id: int | None = None
) -> list[AppointmentOut]:
    """The clinic's appointments on ``day`` (today by default) and the ``days - 1`` days after it (up to 31)."""
    membership = require(request.membership, Capability.VIEW_SCHEDULE)
    first = day or timezone.localdate()
    rows = calendar.appointments(membership, *calendar.day_bounds(first, max(1, min(days, 31))))
    if clinician_id is not None:
        rows = rows.filter(clinician_id=clinician_id)
    found = list(rows)
    calendar.record_calendar_read(f"API {first} +{days}d", len(found))
    return [_out(a) for a in found]


class BookingIn(Schema):
    patient_id: int
    clinician_id: int
    kind: str = Field(description="appointment type code, e.g. new_patient or follow_up")
    starts_at: datetime
    minutes: int | None = Field(None, description="length; the type's usual length when left out")
    repeat: int = Field(1, description="how many appointments, weekly (1 = just this one)")
    every_weeks: int = 1


@router.post("/appointments", response={201: list[AppointmentOut]})
def book(request: ClinicRequest, body: BookingIn) -> Status[list[AppointmentOut]]:
    """Book one appointment, or a weekly series (all or none; clashing dates are listed in the error)."""
    booked = actions.book_series(
        member(request),
        body.patient_id,
        {"clinician": body.clinician_id, "kind": body.kind, "starts_at": body.starts_at, "minutes": body.minutes},
        count=body.repeat,
        every_weeks=body.every_weeks,
    )
    return Status(201, [_out(a) for a in booked])


def _load(request: ClinicRequest, appointment_id: int) -> Appointment:
    return get_record(
        member(request),
        Appointment.objects.select_related("patient", "clinic", "clinician__user"),
        appointment_id,
        Capability.VIEW_SCHEDULE,
    )


@router.get("/appointments/{appointment_id}", response=AppointmentOut)
def appointment(request: ClinicRequest, appointment_id: int) -> AppointmentOut:
    """One appointment."""
    require(request.membership, Capability.VIEW_SCHEDULE)
    return _out(_load(request, appointment_id))


class StatusIn(Schema):
    status: str = Field(description="arrived, booked, no_show or cancelled")
    reason: str = ""
    version: int | None = None


@router.post("/appointments/{appointment_id}/status", response=AppointmentOut)
def change_status(request: ClinicRequest, appointment_id: int, body: StatusIn) -> AppointmentOut:
    """Change the status; a change that makes no sense (e.g. completed to booked) is refused with the reason."""
    changed = actions.change_status(
        member(request),
        appointment_id,
        body.status,
        reason=body.reason,
        expected_version=body.version,
    )
    return _out(changed)


class StartIn(Schema):
    episode_id: int | None = None


class StartedOut(Schema):
    visit_id: int
    appointment: AppointmentOut


@router.post("/appointments/{appointment_id}/start-visit", response=StartedOut)
def start_visit(request: ClinicRequest, appointment_id: int, body: StartIn) -> StartedOut:
    """Start the appointment's visit (clinicians; the appointment moves to in treatment)."""
    visit = actions.start_visit_from_appointment(member(request), appointment_id, body.episode_id)
    return StartedOut(visit_id=visit.pk, appointment=_out(_load(request, appointment_id)))


class ReminderOut(Schema):
    appointment_id: int
    sent_to: str
    sent_at: datetime


@router.post("/appointments/{appointment_id}/reminder", response={201: ReminderOut})
def remind(request: ClinicRequest, appointment_id: int) -> Status[ReminderOut]:
    """E-mail the reminder now (refused if the patient opted out, has no address, or was already reminded)."""
    sent = actions.send_reminder(member(request), appointment_id)
    return Status(201, ReminderOut(appointment_id=sent.appointment_id, sent_to=sent.sent_to, sent_at=sent.sent_at))


class PreferenceIO(Schema):
    email_reminders: bool


@router.get("/patients/{patient_id}/contact-preference", response=PreferenceIO)
def preference(request: ClinicRequest, patient_id: int) -> PreferenceIO:
    """Whether the patient wants appointment reminders by e-mail."""
    membership = require(request.membership, Capability.VIEW_SCHEDULE)
    return PreferenceIO(email_reminders=actions.wants_reminders(get_patient(membership, patient_id)))


@router.put("/patients/{patient_id}/contact-preference", response=PreferenceIO)
def set_preference(request: ClinicRequest, patient_id: int, body: PreferenceIO) -> PreferenceIO:
    """Record whether the patient wants appointment reminders by e-mail."""
    saved = actions.set_contact_preference(member(request), patient_id, body.email_reminders)
    return PreferenceIO(email_reminders=saved.email_reminders)
