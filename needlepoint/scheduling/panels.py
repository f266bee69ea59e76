"""The appointments panel on the patient page: the coming appointments, bounded, in one query."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from needlepoint.patients.panels import Panel, register_patient_panel
from needlepoint.scheduling.models import Appointment

COMING = 10


@register_patient_panel
def coming_appointments(patient: Any) -> Panel:
    """The patient's next appointments, with links to book another and to the reminder preference."""
    coming = list(
        Appointment.objects.filter(patient=patient, starts_at__gte=timezone.now() - timedelta(hours=12))
        .select_related("clinic", "clinician__user")
        .order_by("starts_at", "pk")[:COMING]
    )
    return Panel("scheduling/_patient_panel.html", {"appointments": coming, "patient": patient})
