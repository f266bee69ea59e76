"""Needle accountability: the counts at the end of the visit and the 'needle unaccounted for' incident."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from needlepoint.accounts import audit
from needlepoint.accounts.models import Membership
from needlepoint.visits import accountability, adverse_events
from needlepoint.visits.actions.guard import _bump, _check_editable, _locked_visit
from needlepoint.visits.inputs import NEEDLE_INCIDENT_TYPE, whole_count
from needlepoint.visits.models import AdverseEvent, Outcome, Visit
from needlepoint.visits.summary import reconciliation_of

# --- needle accountability ---------------------------------------------------------------------------


@transaction.atomic
def record_needle_counts(
    membership: Membership, visit_id: int, *, opened: int, removed: int, in_sharps: int, expected_version: int
) -> Visit:
    """Record the needles opened, removed and put in sharps (inserted comes from the needling entries); the
    edges read the three numbers with ``NeedleCountsInput``, this checks them against the needles inserted."""
    visit = _locked_visit(membership, visit_id)
    _check_editable(visit, expected_version)
    try:
        accountability.validate_counts(opened, visit.needles_inserted, removed, in_sharps)
    except accountability.AccountabilityError as exc:
        raise ValidationError(list(exc.problems)) from exc
    visit.needles_opened = opened
    visit.needles_removed = removed
    visit.needles_in_sharps = in_sharps
    _bump(visit)
    return visit


@transaction.atomic
def record_needle_incident(
    membership: Membership,
    visit_id: int,
    *,
    needles_unaccounted: Any,
    search_made: str,
    action_taken: str,
    follow_up_due: date | None,
    expected_version: int,
    severity: str = "mild",
) -> AdverseEvent:
    """Record a 'needle unaccounted for' incident: how many needles, the search made and the action taken.

    It must cover exactly the needles the counts leave missing; it is an adverse event open for follow-up.
    """
    visit = _locked_visit(membership, visit_id)
    _check_editable(visit, expected_version)
    reconciliation = reconciliation_of(visit)
    already = sum(e.needles_unaccounted or 0 for e in visit.adverse_events.filter(needles_unaccounted__isnull=False))
    errors: dict[str, str] = {}
    count = whole_count(needles_unaccounted)
    if reconciliation.balanced:
        raise ValidationError(gettext("Every needle is accounted for; there is no incident to record."))
    if count is None or count < 1:
        errors["needles_unaccounted"] = "Enter how many needles are unaccounted for (1 or more)."
    elif count + already != reconciliation.missing:
        errors["needles_unaccounted"] = (
            f"The counts leave {reconciliation.missing - already} needle(s) unaccounted for, not {count}."
        )
    if not str(search_made or "").strip():
        errors["search_made"] = "Describe the search made for the needle(s)."
    if not str(action_taken or "").strip():
        errors["action_taken"] = "Describe the action taken."
    if not isinstance(follow_up_due, date):
        errors["follow_up_due"] = "Set a follow-up date: the incident is an adverse event to follow up."
    elif follow_up_due < timezone.localdate():
        errors["follow_up_due"] = "The follow-up date cannot be in the past."
    try:
        adverse_events.validate_adverse_event(NEEDLE_INCIDENT_TYPE, severity)
    except adverse_events.AdverseEventError as exc:
        errors["severity"] = " ".join(exc.problems)
    if errors:
        raise ValidationError(errors)
    return audit.wrote(
        AdverseEvent.objects.create(
            clinic_id=visit.clinic_id,
            patient_id=visit.patient_id,
            visit=visit,
            event_type=NEEDLE_INCIDENT_TYPE,
            severity=severity,
            description=f"{count} needle(s) unaccounted for at the end of the visit.",
            onset_at=timezone.now(),
            action_taken=action_taken.strip(),
            search_made=search_made.strip(),
            needles_unaccounted=count,
            outcome=Outcome.ONGOING,
            follow_up_due=follow_up_due,
            recorded_by=membership,
        ),
        created=True,
    )
