"""Needling entries: adding one, copying the previous visit's, removing one, and acknowledging the warnings they raise.

Every needling write passes the needling gate (``require_needling_clearance``) and the safety warnings first."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from needlepoint.accounts import audit
from needlepoint.accounts.models import Membership
from needlepoint.patients.gate import require_needling_clearance
from needlepoint.visits import accountability, safety
from needlepoint.visits.actions.guard import WarningsNeedAcknowledgement, _bump, _check_editable, _locked_visit
from needlepoint.visits.actions.in_clinic import check_fainting_first_session
from needlepoint.visits.inputs import NeedlingEntryInput
from needlepoint.visits.models import NeedlingEntry, TwitchResponse, Visit
from needlepoint.visits.muscles import needling_muscles
from needlepoint.visits.summary import current_warnings

# --- needling ----------------------------------------------------------------------------------------


Acknowledgements = Mapping[str, Any]
"""Warning key -> ``{"precautions": [codes], "note": "..."}`` or a plain reason to proceed."""


def _merge_acknowledgements(
    visit: Visit, warnings: Sequence[safety.SafetyWarning], given: Acknowledgements | None, membership: Membership
) -> tuple[dict[str, Any], dict[str, str]]:
    """The visit's acknowledgements plus each new one given for a current warning, and the problems of
    those given that do not acknowledge (no fitting precaution and no real reason), by warning key.

    A stored acknowledgement keeps the warning's code and message, the precautions chosen (their words,
    as the clinician saw them), the note, who and when.
    """
    merged = dict(visit.acknowledgements or {})
    problems: dict[str, str] = {}
    now = timezone.now().isoformat()
    for warning in warnings:
        key = safety.warning_key(warning)
        if not warning.acknowledgeable or key in merged:
            continue
        try:
            ack = safety.read_acknowledgement(warning, (given or {}).get(key))
        except safety.AcknowledgementError as exc:
            problems[key] = str(exc)
            continue
        if ack is None:
            continue
        merged[key] = {
            "code": warning.code,
            "message": warning.message,
            "precautions": list(ack.precautions),
            "precaution_codes": list(ack.precaution_codes),
            "note": ack.note,
            "by": membership.pk,
            "by_name": membership.display_name,
            "at": now,
        }
    return merged, problems


def _check_warnings(
    warnings: Sequence[safety.SafetyWarning], acknowledgements: Mapping[str, Any], problems: Mapping[str, str]
) -> None:
    refusals = [w for w in warnings if w.blocks and not w.acknowledgeable]
    if refusals:
        raise ValidationError([f"Needling refused: {w.message}" for w in refusals], code="refused")
    pending = safety.unacknowledged(warnings, acknowledgements)
    if pending or problems:
        raise WarningsNeedAcknowledgement(pending, problems)


def _needling_checks(
    membership: Membership,
    visit: Visit,
    entries: Sequence[Any],
    given: Acknowledgements | None,
    at: datetime | None = None,
) -> dict[str, Any]:
    """The gate, then the checks for ``entries``; returns the acknowledgements to store. Refusals stop
    the write; each warning needs an acknowledgement; reminders only inform."""
    clearance = require_needling_clearance(visit.patient, at)
    check_fainting_first_session(visit, clearance.screening)
    warnings = current_warnings(entries, clearance)
    acknowledgements, problems = _merge_acknowledgements(visit, warnings, given, membership)
    _check_warnings(warnings, acknowledgements, problems)
    return acknowledgements


def _store_needling(visit: Visit, acknowledgements: Mapping[str, Any], summary: str | None = None) -> None:
    inserted = sum(NeedlingEntry.objects.filter(visit=visit).values_list("needles", flat=True))
    visit.needles_inserted = inserted
    visit.needles_opened = max(visit.needles_opened, inserted)
    visit.acknowledgements = dict(acknowledgements)
    _bump(visit, summary)


@transaction.atomic
def add_needling_entry(
    membership: Membership,
    visit_id: int,
    entry_input: NeedlingEntryInput,
    expected_version: int,
    acknowledgements: Acknowledgements | None = None,
) -> NeedlingEntry:
    """Record one muscle needled (``entry_input``, already read by ``NeedlingEntryInput``). Passes the
    needling gate and the safety checks first: a refusal stops it, and each warning needs an acknowledgement (in
    ``acknowledgements``, keyed by warning key: the precautions taken, or a reason to proceed that is a real
    sentence).

    Needles opened rises to at least the needles inserted (a needle is opened before it goes in).
    """
    visit = _locked_visit(membership, visit_id)
    _check_editable(visit, expected_version)
    existing = list(visit.needling_entries.order_by("position", "pk"))
    entry = NeedlingEntry(
        clinic_id=visit.clinic_id,
        patient_id=visit.patient_id,
        visit=visit,
        position=(existing[-1].position + 1) if existing else 1,
        recorded_by=membership,
        **entry_input.entry_fields(),
    )
    stored = _needling_checks(membership, visit, [*existing, entry], acknowledgements)
    entry.save()
    audit.wrote(entry, created=True)
    _store_needling(visit, stored)
    return entry


@transaction.atomic
def copy_previous_needling(
    membership: Membership, visit_id: int, expected_version: int, acknowledgements: Acknowledgements | None = None
) -> list[NeedlingEntry]:
    """Start this visit's needling from the episode's previous visit with needling (same muscles, sides,
    trigger points, needles, sizes and techniques; twitch response and patient response left to record).
    The gate and the warnings apply exactly as for entries made one by one.
    """
    visit = _locked_visit(membership, visit_id)
    _check_editable(visit, expected_version)
    previous = previous_needled_visit(visit)
    if previous is None:
        raise ValidationError(
            gettext("No earlier visit in this episode has needling to start from."), code="nothing_to_copy"
        )
    existing = list(visit.needling_entries.order_by("position", "pk"))
    start = (existing[-1].position if existing else 0) + 1
    catalogue = needling_muscles()
    copies = [
        NeedlingEntry(
            clinic_id=visit.clinic_id,
            patient_id=visit.patient_id,
            visit=visit,
            position=start + offset,
            muscle_id=old.muscle_id,
            side=old.side,
            trigger_point=old.trigger_point,
            needles=old.needles,
            diameter_mm=old.diameter_mm,
            length_mm=old.length_mm,
            technique=old.technique,
            twitch_response=TwitchResponse.NONE,
            minutes_left_in=old.minutes_left_in,
            recorded_by=membership,
        )
        for offset, old in enumerate(previous.needling_entries.order_by("position", "pk"))
        if old.muscle_id in catalogue
    ]
    stored = _needling_checks(membership, visit, [*existing, *copies], acknowledgements)
    for copy in copies:
        copy.save()
        audit.wrote(copy, created=True)
    _store_needling(visit, stored)
    return copies


def previous_needled_visit(visit: Visit) -> Visit | None:
    """The latest earlier visit of the same episode that has needling entries."""
    return (
        Visit.objects.filter(episode_id=visit.episode_id, started_at__lt=visit.started_at, needles_inserted__gt=0)
        .exclude(pk=visit.pk)
        .order_by("-started_at", "-pk")
        .first()
    )


@transaction.atomic
def remove_needling_entry(membership: Membership, visit_id: int, entry_id: int, expected_version: int) -> Visit:
    """Take back a needling entry recorded by mistake, before signing (recorded in the audit trail)."""
    visit = _locked_visit(membership, visit_id)
    _check_editable(visit, expected_version)
    entry = visit.needling_entries.filter(pk=entry_id).first()
    if entry is None:
        raise ValidationError(gettext("That needling entry is not part of this visit."))
    inserted = visit.needles_inserted - entry.needles
    try:
        accountability.validate_counts(visit.needles_opened, inserted, visit.needles_removed, visit.needles_in_sharps)
    except accountability.AccountabilityError as exc:
        raise ValidationError(
            [f"Correct the needle counts before removing this entry: {p}" for p in exc.problems]
        ) from exc
    summary = f"needling entry removed: {entry.muscle_id} {entry.side} x{entry.needles}"
    entry.delete()
    _store_needling(visit, visit.acknowledgements, summary)
    return visit


def _anything_given(value: Any) -> bool:
    if isinstance(value, Mapping):
        return bool(value.get("precautions")) or bool(str(value.get("note") or value.get("reason") or "").strip())
    return bool(str(value or "").strip())


@transaction.atomic
def acknowledge_warnings(
    membership: Membership, visit_id: int, acknowledgements: Acknowledgements, expected_version: int
) -> Visit:
    """Acknowledge the visit's current warnings: the precautions taken, or a reason to proceed that is a
    real sentence (refusals cannot be acknowledged; reminders need not be)."""
    visit = _locked_visit(membership, visit_id)
    _check_editable(visit, expected_version)
    entries = list(visit.needling_entries.all())
    if not entries:
        raise ValidationError(gettext("This visit has no needling, so there is nothing to acknowledge."))
    clearance = require_needling_clearance(visit.patient)
    warnings = current_warnings(entries, clearance)
    keys = {safety.warning_key(w) for w in warnings if w.acknowledgeable}
    unknown = [k for k, given in acknowledgements.items() if _anything_given(given) and k not in keys]
    if unknown:
        raise ValidationError(gettext("A warning you acknowledged no longer applies; reload the visit."))
    merged, problems = _merge_acknowledgements(visit, warnings, acknowledgements, membership)
    if problems:
        raise ValidationError(list(problems.values()))
    if merged == visit.acknowledgements:
        raise ValidationError(
            gettext("Choose the precautions you take (or give a reason to proceed) for at least one warning.")
        )
    visit.acknowledgements = merged
    _bump(visit)
    return visit
