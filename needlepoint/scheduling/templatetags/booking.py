"""Links into the appointment book from other pages."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from django import template
from django.urls import reverse
from django.utils import timezone

register = template.Library()


@register.simple_tag
def follow_up_booking_url(visit: Any, weeks: int = 1) -> str:
    """The booking form filled in for a follow-up of ``visit``: the same patient and clinician, a follow-up
    ``weeks`` later at the same time of day (the clinician changes day or time when that slot does not suit)."""
    started = timezone.localtime(visit.started_at)
    follow_up = started + timedelta(weeks=weeks)
    query = {
        "patient": visit.patient_id,
        "clinician": visit.clinician_id,
        "kind": "follow_up",
        "day": follow_up.date().isoformat(),
        "time": follow_up.strftime("%H:%M"),
    }
    return f"{reverse('book')}?{urlencode(query)}"
