"""The visits panels on the patient and episode pages: recent visits, bounded, in two queries."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from needlepoint.accounts.access import scoped
from needlepoint.accounts.models import member_name_fields
from needlepoint.accounts.roles import Capability
from needlepoint.patients.panels import (
    Panel,
    TodayEntry,
    register_episode_panel,
    register_patient_panel,
    register_todays_patients,
)
from needlepoint.visits.models import AdverseEvent, Visit

RECENT_VISITS = 10
EPISODE_VISITS = 20


# What a row of visits/_visit_rows.html shows: times, pain, needles, code, signature, the episode's condition and
# the clinician's name; not the visit's notes and signed text.
VISIT_ROW_FIELDS = (
    "id", "clinic_id", "patient_id", "episode_id", "clinician_id", "started_at", "signed_at", "pain_before",
    "pain_after", "needles_inserted", "cpt_code", "episode__id", "episode__condition",
    *member_name_fields("clinician"), "clinician__user__username",
)  # fmt: skip


def _recent(queryset: Any, limit: int) -> list[Visit]:
    rows = queryset.select_related("clinician__user", "episode").only(*VISIT_ROW_FIELDS)
    return list(rows.order_by("-started_at", "-pk")[:limit])


@register_patient_panel(reads=("visits.Visit", "visits.AdverseEvent"))
def recent_visits(patient: Any) -> Panel:
    """The patient's latest visits across episodes, and their open adverse events."""
    visits = _recent(Visit.objects.filter(patient=patient), RECENT_VISITS)
    open_events = list(
        AdverseEvent.objects.filter(patient=patient, closed_at__isnull=True).order_by("follow_up_due", "pk")[:10]
    )
    return Panel("visits/_patient_panel.html", {"visits": visits, "open_events": open_events, "patient": patient})


@register_episode_panel
def episode_visits(episode: Any) -> Panel:
    """The episode's latest visits, with a button to start the next one."""
    visits = _recent(Visit.objects.filter(episode=episode), EPISODE_VISITS)
    return Panel("visits/_episode_panel.html", {"visits": visits, "episode": episode})


TODAY_LIMIT = 200


@register_todays_patients
def visits_started_today(membership: Any) -> list[TodayEntry]:
    """Visits started today, walk-ins included, for the patient list of clinical roles (one query). Front desk
    gets none: that a visit was documented belongs to the clinical record."""
    if not membership.can(Capability.VIEW_CLINICAL):
        return []
    from needlepoint.scheduling.calendar import day_bounds

    start, end = day_bounds(timezone.localdate())
    rows = (
        scoped(membership, Visit.objects.all(), Capability.VIEW_CLINICAL)
        .filter(started_at__gte=start, started_at__lt=end)
        .select_related("patient", "clinician__user")
        .order_by("started_at", "pk")[:TODAY_LIMIT]
    )
    return [
        TodayEntry(
            v.patient,
            v.started_at,
            f"Visit with {v.clinician.user.get_full_name() or v.clinician.user.username}"
            + (" · signed" if v.signed_at else " · in progress"),
        )
        for v in rows
    ]
