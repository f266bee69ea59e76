"""The appointments panel on the patient page: the coming appointments, bounded, in one query."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from needlepoint.accounts.access import scoped
from needlepoint.accounts.roles import Capability
from needlepoint.patients.panels import Panel, TodayEntry, register_patient_panel, register_todays_patients
from needlepoint.scheduling.models import Appointment
from needlepoint.scheduling.rules import Status

COMING = 10
TODAY_LIMIT = 200


@register_patient_panel(reads=("scheduling.Appointment",))
def coming_appointments(patient: Any) -> Panel:
    """The patient's next appointments, with links to book another and to the reminder preference."""
    coming = list(
        Appointment.objects.filter(patient=patient, starts_at__gte=timezone.now() - timedelta(hours=12))
        .select_related("clinic", "clinician__user")
        .order_by("starts_at", "pk")[:COMING]
    )
    return Panel("scheduling/_patient_panel.html", {"appointments": coming, "patient": patient})


@register_todays_patients
def todays_appointments(membership: Any) -> list[TodayEntry]:
    """The clinic's appointments today (not cancelled), for the patient list, in one query. Front desk sees
    them too: an appointment holds no clinical content."""
    if not membership.can(Capability.VIEW_SCHEDULE):
        return []
    from needlepoint.scheduling.calendar import day_bounds

    start, end = day_bounds(timezone.localdate())
    rows = (
        scoped(membership, Appointment.objects.all(), Capability.VIEW_SCHEDULE)
        .filter(starts_at__gte=start, starts_at__lt=end)
        .exclude(status=Status.CANCELLED.value)
        .select_related("patient", "clinic", "clinician__user")
        .order_by("starts_at", "pk")[:TODAY_LIMIT]
    )
    return [
        TodayEntry(
            a.patient,
            a.starts_at,
            f"{a.kind_label} with {a.clinician.user.get_full_name() or a.clinician.user.username} · {a.status_label}",
        )
        for a in rows
    ]
