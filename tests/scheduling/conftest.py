"""Fixtures of the appointment tests: a time tomorrow inside opening hours, and bookings made through the
real actions."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

import pytest
from django.utils import timezone

from needlepoint.scheduling import actions


def at(days: int, hour: int, minute: int = 0) -> datetime:
    """An aware time ``days`` from today at ``hour:minute`` in the clinic's time zone."""
    day = timezone.localdate() + timedelta(days=days)
    return timezone.make_aware(datetime.combine(day, time(hour, minute)))


def appointment_at(clinician: Any, patient: Any, starts_at: datetime, booked_by: Any = None, **extra: Any) -> Any:
    """A half-hour follow-up with ``clinician``, saved as it is, past the booking rules (for an appointment now
    or at any hour, which ``book_appointment`` would refuse); booked by ``booked_by`` (else the clinician), with
    ``extra`` columns (a status, say)."""
    from needlepoint.scheduling.models import Appointment

    return Appointment.objects.create(
        clinic=clinician.clinic,
        patient=patient,
        clinician=clinician,
        kind="follow_up",
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=30),
        booked_by=booked_by or clinician,
        **extra,
    )


def booking(clinician: Any, starts_at: datetime, kind: str = "follow_up", minutes: int | None = 30) -> dict[str, Any]:
    """The data of a booking with ``clinician``."""
    return {"clinician": clinician.pk, "kind": kind, "starts_at": starts_at, "minutes": minutes}


@pytest.fixture
def tomorrow_10() -> datetime:
    return at(1, 10)


@pytest.fixture
def booked(front_desk, clinician, patient, tomorrow_10):
    """A 30-minute follow-up with the clinician tomorrow at 10:00, booked by front desk."""
    return actions.book_appointment(front_desk, patient.pk, booking(clinician, tomorrow_10))
