"""Reads of the appointment book: a clinician's day or week, the clinic's day, the dashboard's today,
and a calendar feed. Each is a fixed number of queries, however many appointments it shows.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from needlepoint.accounts import audit
from needlepoint.accounts.access import scoped
from needlepoint.accounts.models import Membership, member_name_fields
from needlepoint.accounts.roles import Capability, Role
from needlepoint.patients.models import patient_name_fields
from needlepoint.scheduling import ical
from needlepoint.scheduling.models import Appointment, CalendarFeed

# The feed carries the recent past and the coming months: enough for a phone calendar, no full history.
FEED_PAST = timedelta(days=30)
FEED_AHEAD = timedelta(days=120)


def clinicians(clinic_id: int) -> list[Membership]:
    """The clinic's active clinicians, by name."""
    return list(
        Membership.objects.filter(clinic_id=clinic_id, role=Role.CLINICIAN, is_active=True)
        .select_related("user")
        .order_by("user__last_name", "user__first_name", "pk")
    )


def day_bounds(first: date, days: int = 1) -> tuple[datetime, datetime]:
    """Start and end (aware, the clinic's time zone) of ``days`` days from ``first``."""
    start = timezone.make_aware(datetime.combine(first, time.min))
    end = timezone.make_aware(datetime.combine(first + timedelta(days=days), time.min))
    return start, end


def appointments(membership: Membership, start: datetime, end: datetime) -> QuerySet[Appointment]:
    """The clinic's appointments starting in [start, end), with what a calendar row shows, in time order."""
    return (
        scoped(membership, Appointment.objects.all(), Capability.VIEW_SCHEDULE)
        .filter(starts_at__gte=start, starts_at__lt=end)
        .select_related("patient", "clinic", "clinician__user")
        .order_by("starts_at", "clinician_id", "pk")
    )


def record_calendar_read(what: str, rows: int) -> None:
    """One audit entry for a calendar page (it lists patients' names and times)."""
    audit.record("read", summary=f"calendar {what} ({rows} appointments)", object_type="scheduling.Appointment")


def by_day(rows: Iterable[Appointment], days: list[date]) -> list[dict[str, Any]]:
    """Appointments grouped under each of ``days`` (local dates)."""
    grouped: dict[date, list[Appointment]] = {d: [] for d in days}
    for a in rows:
        grouped.setdefault(timezone.localtime(a.starts_at).date(), []).append(a)
    return [{"day": d, "appointments": grouped[d]} for d in days]


def by_clinician(rows: Iterable[Appointment], people: list[Membership]) -> list[dict[str, Any]]:
    """Appointments grouped under each clinician (the clinic's day)."""
    grouped: dict[int, list[Appointment]] = {m.pk: [] for m in people}
    for a in rows:
        grouped.setdefault(a.clinician_id, []).append(a)
    return [{"clinician": m, "appointments": grouped[m.pk]} for m in people]


# What the dashboard's today shows of an appointment (time, type, status, patient, clinician, its visit's signature).
TODAY_FIELDS = (
    "id", "clinic_id", "patient_id", "clinician_id", "visit_id", "kind", "starts_at", "status",
    "clinic__id", "clinic__slug", "visit__id", "visit__signed_at",
    *patient_name_fields("patient"), *member_name_fields("clinician"),
)  # fmt: skip


def today_for(membership: Membership, visits_today: list[Any]) -> dict[str, Any]:
    """The dashboard's today: the clinician's (or, for an admin, the clinic's) appointments, and today's
    visits that started without one (walk-ins, late documentation)."""
    start, end = day_bounds(timezone.localdate())
    rows = appointments(membership, start, end).select_related("visit").only(*TODAY_FIELDS)
    if membership.role == Role.CLINICIAN:
        rows = rows.filter(clinician=membership)
    booked = list(rows[:100])
    linked = {a.visit_id for a in booked if a.visit_id}
    return {"appointments": booked, "walk_ins": [v for v in visits_today if v.pk not in linked]}


def feed_for_token(raw: str) -> CalendarFeed | None:
    """The active feed a raw token opens, or None (unknown or revoked tokens look the same)."""
    return (
        CalendarFeed.objects.select_related("clinic", "clinician__user")
        .filter(token_hash=CalendarFeed.hash_token(raw), revoked_at__isnull=True, clinician__is_active=True)
        .first()
    )


def feed_summary(appointment: Appointment) -> str:
    """What a feed shows of an appointment: the patient's given name and the appointment type.

    A phone calendar is synced to services outside the clinic, so the feed carries the least that lets a
    clinician recognise the slot: no family name, birth date, contact details, reason or notes.
    """
    return f"{appointment.patient.given_name} · {appointment.kind_label}"


def feed_text(feed: CalendarFeed, now: datetime | None = None) -> str:
    """The iCalendar text of the clinician's appointments from 30 days ago to 120 days ahead."""
    now = now or timezone.now()
    rows = (
        Appointment.objects.filter(
            clinician=feed.clinician, starts_at__gte=now - FEED_PAST, starts_at__lt=now + FEED_AHEAD
        )
        .exclude(status="no_show")
        .select_related("patient", "clinic")
        .order_by("starts_at", "pk")
    )
    events = [
        ical.Event(
            uid=f"appointment-{a.pk}@{feed.clinic.slug}.needlepoint",
            start=a.starts_at,
            end=a.ends_at,
            summary=feed_summary(a),
            cancelled=a.status == "cancelled",
        )
        for a in rows
    ]
    name = f"{feed.clinician.user.get_full_name() or feed.clinician.user.username} · {feed.clinic.name}"
    return ical.calendar(name, events, now)
