"""Needle-stick injuries to staff: recording one, recording its protocol steps, closing it, and the open list.

One function per write action, each owning its transaction and recording its audit entry (``audit.wrote``).
A needle-stick is an occupational incident, not a patient
adverse event: it is clinic-scoped, and a source patient is named only when the needle had been used on
one, in which case that patient's decision on blood-borne virus testing must be recorded with it (OSHA
29 CFR 1910.1030(f)(3)(ii)(A): the source is tested after consent is obtained). Bad input raises
``ValidationError`` with a message per field and stores nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext

from needlepoint.accounts import audit
from needlepoint.accounts.access import get_record, listed, require, scoped
from needlepoint.accounts.models import Membership
from needlepoint.accounts.roles import Capability
from needlepoint.patients.models import Patient
from needlepoint.visits.models import (
    NeedleStickIncident,
    NeedleStickSource,
    PepDecision,
    SourceConsent,
    Visit,
)

FUTURE_TOLERANCE = timedelta(minutes=15)
LIST_LIMIT = 200
# Step name -> (the field holding its time, the field holding its value or "" when the time is the step)
STEPS: dict[str, tuple[str, str]] = {
    "wound_washed": ("wound_washed_at", ""),
    "reported": ("reported_at", "reported_to"),
    "source_testing": ("source_consent_at", "source_consent"),
    "pep_decision": ("pep_decided_at", "pep_decision"),
}


def _when(value: Any, field: str, occurred_at: datetime | None, errors: dict[str, str]) -> datetime | None:
    """A step's time: a datetime, not before the injury, not in the future."""
    if value in (None, ""):
        return None
    if not isinstance(value, datetime):
        errors[field] = "Enter the date and time."
        return None
    when = timezone.make_aware(value) if timezone.is_naive(value) else value
    if when > timezone.now() + FUTURE_TOLERANCE:
        errors[field] = "This cannot be in the future."
    elif occurred_at is not None and when < occurred_at:
        errors[field] = "This cannot be before the injury."
    return when


def _check_steps(
    data: Mapping[str, Any], incident: NeedleStickIncident, errors: dict[str, str], *, creating: bool
) -> dict[str, Any]:
    """The protocol steps given in ``data``, checked; a step already recorded is never overwritten."""
    values: dict[str, Any] = {}
    occurred = incident.occurred_at
    washed = _when(data.get("wound_washed_at"), "wound_washed_at", occurred, errors)
    if washed:
        values["wound_washed_at"] = washed
    reported_at = _when(data.get("reported_at"), "reported_at", occurred, errors)
    reported_to = str(data.get("reported_to") or "").strip()
    if reported_at or reported_to:
        if not reported_at:
            errors["reported_at"] = "Enter when it was reported to the clinic lead."
        if not reported_to:
            errors["reported_to"] = "Name the clinic lead it was reported to."
        elif len(reported_to) > 150:
            errors["reported_to"] = "Keep the name under 150 characters."
        values |= {"reported_at": reported_at, "reported_to": reported_to}
    consent = str(data.get("source_consent") or "")
    consent_at = _when(data.get("source_consent_at"), "source_consent_at", occurred, errors)
    if consent and consent not in SourceConsent.values:
        errors["source_consent"] = "Choose consented or declined."
    if consent:
        if incident.source_kind != NeedleStickSource.PATIENT:
            errors["source_consent"] = "A testing decision is recorded only when a source patient is named."
        values |= {"source_consent": consent, "source_consent_at": consent_at or timezone.now()}
    elif consent_at:
        errors["source_consent"] = "Choose the source patient's decision on testing."
    pep = str(data.get("pep_decision") or "")
    pep_at = _when(data.get("pep_decided_at"), "pep_decided_at", occurred, errors)
    if pep and pep not in PepDecision.values:
        errors["pep_decision"] = "Choose not indicated, started or declined."
    if pep:
        values |= {"pep_decision": pep, "pep_decided_at": pep_at or timezone.now()}
    elif pep_at:
        errors["pep_decision"] = "Choose the post-exposure prophylaxis decision."
    if not creating:
        for step, (time_field, _value_field) in STEPS.items():
            if time_field in values and getattr(incident, time_field) is not None:
                errors[time_field] = (
                    f"The step '{step.replace('_', ' ')}' is already recorded and is not overwritten; "
                    "add the correction to the closing note."
                )
    return values


def _follow_up(value: Any, errors: dict[str, str], field: str = "follow_up_due") -> date | None:
    if not isinstance(value, date) or isinstance(value, datetime):
        errors[field] = "Set a follow-up date: the incident stays open until closed."
        return None
    if value < timezone.localdate():
        errors[field] = "The follow-up date cannot be in the past."
    return value


@transaction.atomic
def record_needle_stick(membership: Membership, data: Mapping[str, Any]) -> NeedleStickIncident:
    """Record a needle-stick injury to a member of staff of the clinic, with the steps taken so far.

    ``injured_id`` defaults to the member recording it. A source patient (``source_kind`` "patient", with
    ``source_patient_id`` or ``source_visit_id``) needs the patient's testing decision, consented or declined:
    not asked yet is refused, and nothing is stored.
    """
    require(membership, Capability.EDIT_CLINICAL)
    errors: dict[str, str] = {}
    injured = _staff(membership, data.get("injured_id"), errors)
    occurred = data.get("occurred_at")
    if not isinstance(occurred, datetime):
        errors["occurred_at"] = "Enter when the injury happened."
        occurred = None
    else:
        occurred = occurred if timezone.is_aware(occurred) else timezone.make_aware(occurred)
        if occurred > timezone.now() + FUTURE_TOLERANCE:
            errors["occurred_at"] = "The injury cannot be in the future."
    description = str(data.get("description") or "").strip()
    if len(description) < 5:
        errors["description"] = "Describe how it happened and the injury."
    kind = str(data.get("source_kind") or "")
    patient, visit = None, None
    if kind not in NeedleStickSource.values:
        errors["source_kind"] = "Say where the needle had been: used on a named patient, clean, or unknown."
    elif kind == NeedleStickSource.PATIENT:
        patient, visit = _source(membership, data, errors)
        if patient is not None and not data.get("source_consent"):
            errors["source_consent"] = (
                "Record the source patient's decision on blood-borne virus testing (consented or declined) "
                "before saving: a named source patient cannot be left 'not asked yet'."
            )
    elif data.get("source_patient_id") or data.get("source_visit_id"):
        errors["source_patient_id"] = "Name a source patient only for a needle used on that patient."
    incident = NeedleStickIncident(
        clinic_id=membership.clinic_id,
        injured=injured,
        occurred_at=occurred,  # type: ignore[misc]  # None only while the errors are gathered; then never saved
        description=description,
        source_kind=kind,
        source_patient=patient,
        source_visit=visit,
        recorded_by=membership,
    )
    steps = _check_steps(data, incident, errors, creating=True)
    incident.follow_up_due = _follow_up(data.get("follow_up_due"), errors)
    if errors:
        raise ValidationError(errors)
    for field, value in steps.items():
        setattr(incident, field, value)
    incident.save()
    return audit.wrote(incident, created=True)


def _staff(membership: Membership, injured_id: Any, errors: dict[str, str]) -> Membership | None:
    if injured_id in (None, ""):
        return membership
    try:
        return Membership.objects.get(pk=int(injured_id), clinic_id=membership.clinic_id)
    except (Membership.DoesNotExist, TypeError, ValueError):
        errors["injured_id"] = "Choose the member of staff who was injured from this clinic's staff."
        return None


def _source(
    membership: Membership, data: Mapping[str, Any], errors: dict[str, str]
) -> tuple[Patient | None, Visit | None]:
    """The source patient (and visit), through the access helper; another clinic's look missing."""
    visit_id, patient_id = data.get("source_visit_id"), data.get("source_patient_id")
    visit = None
    try:
        if visit_id not in (None, ""):
            visit = get_record(
                membership, Visit.objects.select_related("patient"), str(visit_id), Capability.EDIT_CLINICAL
            )
            if patient_id not in (None, "") and int(str(patient_id)) != visit.patient_id:
                errors["source_visit_id"] = "That visit is not the source patient's."
            return visit.patient, visit
        if patient_id in (None, ""):
            errors["source_patient_id"] = "Name the source patient (the needle had been used on them)."
            return None, None
        patient = get_record(membership, Patient.objects.all(), str(patient_id), Capability.EDIT_CLINICAL)
        return patient, None
    except (Http404, ValueError, TypeError):
        errors["source_patient_id"] = "No such patient or visit in this clinic."
        return None, None


def _locked(
    membership: Membership, incident_id: int, expected_version: Any, capability: Capability = Capability.EDIT_CLINICAL
) -> NeedleStickIncident:
    require(membership, capability)
    queryset = scoped(membership, NeedleStickIncident.objects.select_for_update(no_key=True), capability)
    incident = _get(queryset, incident_id)
    if incident.closed_at is not None:
        raise ValidationError(gettext("This needle-stick incident is closed."))
    try:
        same = int(expected_version) == incident.version
    except (TypeError, ValueError):
        same = False
    if not same:
        raise ValidationError(
            gettext("Someone else changed this incident while you were writing. Nothing of yours was saved; reload."),
            code="conflict",
        )
    return incident


def _get(queryset: QuerySet[NeedleStickIncident], incident_id: Any) -> NeedleStickIncident:
    try:
        incident = queryset.get(pk=int(incident_id))
    except (NeedleStickIncident.DoesNotExist, TypeError, ValueError) as exc:
        raise Http404("Not found") from exc
    audit.record("read", incident)
    return incident


@transaction.atomic
def record_needle_stick_steps(
    membership: Membership, incident_id: int, data: Mapping[str, Any], expected_version: Any
) -> NeedleStickIncident:
    """Record protocol steps taken since (each with its time) and optionally move the follow-up date.

    A step already recorded is not overwritten: a correction goes in the closing note.
    """
    incident = _locked(membership, incident_id, expected_version)
    errors: dict[str, str] = {}
    steps = _check_steps(data, incident, errors, creating=False)
    due = data.get("follow_up_due")
    if due not in (None, ""):
        due = _follow_up(due, errors)
    if not steps and due in (None, "") and not errors:
        errors["wound_washed_at"] = "Record at least one step or a new follow-up date."
    if errors:
        raise ValidationError(errors)
    for field, value in steps.items():
        setattr(incident, field, value)
    if due not in (None, ""):
        incident.follow_up_due = due
    incident.version += 1
    incident.save()
    return audit.wrote(incident, created=False)


@transaction.atomic
def close_needle_stick(
    membership: Membership, incident_id: int, note: str, expected_version: Any
) -> NeedleStickIncident:
    """Close the incident once every protocol step is recorded, with a note of the follow-up outcome.

    A clinician or the clinic admin (the clinic lead the injury is reported to) closes it; the note, the
    closer and the time are kept on the incident and in its audit entry.
    """
    incident = _locked(membership, incident_id, expected_version, Capability.CLOSE_INCIDENTS)
    missing = incident.steps_missing()
    errors: dict[str, str] = {}
    if missing:
        errors["closing_note"] = "Record these steps before closing: " + "; ".join(missing) + "."
    elif len(str(note or "").strip()) < 5:
        errors["closing_note"] = "Say what the follow-up found (for example the test results discussed)."
    if errors:
        raise ValidationError(errors)
    incident.closing_note = str(note).strip()
    incident.closed_at = timezone.now()
    incident.closed_by = membership
    incident.follow_up_due = None
    incident.version += 1
    incident.save()
    return audit.wrote(incident, created=False)


def get_needle_stick(membership: Membership, incident_id: Any) -> NeedleStickIncident:
    """One needle-stick incident of the membership's clinic, read-audited; 404 for any other."""
    queryset = scoped(
        membership,
        NeedleStickIncident.objects.select_related(
            "injured__user", "source_patient", "source_visit", "recorded_by__user", "closed_by__user"
        ),
        Capability.VIEW_CLINICAL,
    )
    return _get(queryset, incident_id)


def open_needle_sticks(membership: Membership, *, limit: int = LIST_LIMIT) -> list[NeedleStickIncident]:
    """The clinic's open needle-stick incidents, soonest follow-up first (one query)."""
    incidents = scoped(membership, NeedleStickIncident.objects.filter(closed_at__isnull=True), Capability.VIEW_CLINICAL)
    found = list(incidents.select_related("injured__user", "source_patient").order_by("follow_up_due", "pk")[:limit])
    return list(listed(found, "open needle-stick injuries"))


def recently_closed_needle_sticks(membership: Membership, *, limit: int = 20) -> list[NeedleStickIncident]:
    """The clinic's most recently closed needle-stick incidents (one query)."""
    incidents = scoped(
        membership, NeedleStickIncident.objects.filter(closed_at__isnull=False), Capability.VIEW_CLINICAL
    )
    found = list(incidents.select_related("injured__user", "source_patient").order_by("-closed_at", "-pk")[:limit])
    return list(listed(found, "recently closed needle-stick injuries"))
