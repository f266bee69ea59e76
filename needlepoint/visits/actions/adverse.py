"""Adverse events after a visit and their follow-ups."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from needlepoint.accounts import audit
from needlepoint.accounts.access import get_record, require
from needlepoint.accounts.models import Membership
from needlepoint.accounts.roles import Capability
from needlepoint.visits import clinic_safety
from needlepoint.visits.inputs import AdverseEventInput, parse
from needlepoint.visits.models import CLOSING_OUTCOMES, AdverseEvent, AdverseEventFollowUp, Outcome, Visit

# --- adverse events ----------------------------------------------------------------------------------


@transaction.atomic
def record_adverse_event(
    membership: Membership, visit_id: int, data: AdverseEventInput | Mapping[str, Any]
) -> AdverseEvent:
    """Record an adverse event after a visit, during it or days later (a signed visit still takes one).

    ``data`` is read by ``AdverseEventInput`` (the form and the API hand it over already read); this checks
    what needs the visit: the onset not before it. An event recorded as already resolved is closed at once;
    otherwise it stays open until a follow-up closes it.
    """
    require(membership, Capability.EDIT_CLINICAL)
    visit = get_record(membership, Visit.objects.all(), visit_id, Capability.EDIT_CLINICAL)
    event = data if isinstance(data, AdverseEventInput) else parse(AdverseEventInput, data)
    if event.onset_at < visit.started_at:
        raise ValidationError({"onset_at": gettext("The event cannot begin before the visit.")})
    closes = event.outcome in CLOSING_OUTCOMES
    now = timezone.now()
    fainting = event.event_type == clinic_safety.packaged().vasovagal.event_type
    return audit.wrote(
        AdverseEvent.objects.create(
            clinic_id=visit.clinic_id,
            patient_id=visit.patient_id,
            visit=visit,
            event_type=event.event_type,
            severity=event.severity,
            description=event.description,
            onset_at=event.onset_at,
            action_taken=event.action_taken,
            outcome=event.outcome,
            follow_up_due=None if closes else event.follow_up_due,
            **({"observed_minutes": event.observed_minutes, "driving_advice_given": True} if fainting else {}),
            recorded_by=membership,
            recorded_at=now,
            closed_at=now if closes else None,
            closed_by=membership if closes else None,
        ),
        created=True,
    )


@transaction.atomic
def record_follow_up(
    membership: Membership,
    event_id: int,
    *,
    note: str,
    outcome: str,
    next_follow_up_due: date | None,
    close: bool,
    expected_version: int,
) -> AdverseEventFollowUp:
    """Follow up an open adverse event: what was found, the outcome, and the next date or the closing."""
    require(membership, Capability.EDIT_CLINICAL)
    event = get_record(membership, AdverseEvent.objects.all(), event_id, Capability.EDIT_CLINICAL, for_update=True)
    if event.closed_at is not None:
        raise ValidationError(gettext("This adverse event is closed."))
    if int(expected_version) != event.version:
        raise ValidationError(
            gettext("Someone else followed up this event while you were writing. Nothing of yours was saved; reload.")
        )
    errors: dict[str, str] = {}
    if len(str(note or "").strip()) < 3:
        errors["note"] = "Say what was found at follow-up."
    if outcome not in Outcome.values:
        errors["outcome"] = "Choose the outcome."
    elif close and outcome not in CLOSING_OUTCOMES:
        errors["outcome"] = "An event is closed only once resolved, resolved with lasting effects, fatal or lost."
    if not close:
        if not isinstance(next_follow_up_due, date):
            errors["next_follow_up_due"] = "Set the next follow-up date, or close the event."
        elif next_follow_up_due < timezone.localdate():
            errors["next_follow_up_due"] = "The next follow-up date cannot be in the past."
    if errors:
        raise ValidationError(errors)
    follow_up = audit.wrote(
        AdverseEventFollowUp.objects.create(
            clinic_id=event.clinic_id,
            patient_id=event.patient_id,
            event=event,
            by=membership,
            note=note.strip(),
            outcome=outcome,
            next_follow_up_due=None if close else next_follow_up_due,
            closes_event=close,
        ),
        created=True,
    )
    event.outcome = outcome
    event.follow_up_due = None if close else next_follow_up_due
    if close:
        event.closed_at = follow_up.at
        event.closed_by = membership
    event.version += 1
    event.save()
    audit.wrote(event, created=False)
    return follow_up
