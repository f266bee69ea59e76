"""Every write of visit data: one function per action.

Each action owns its transaction, locks the visit row, checks the version the clinician read (so two
clinicians editing at once get a conflict, not a silent overwrite), checks the invariants and leaves the
audit entry to the audit mechanism (models with ``audit_trail``). Every needling write passes the needling
gate (``require_needling_clearance``) and the safety warnings first. Bad input raises ``ValidationError``
with a message a clinician can act on, and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from needlepoint.accounts import audit
from needlepoint.accounts.access import get_record, require
from needlepoint.accounts.models import Membership
from needlepoint.accounts.roles import Capability
from needlepoint.patients.gate import require_needling_clearance
from needlepoint.patients.models import Episode
from needlepoint.visits import accountability, adverse_events, clinic_safety, needles, safety
from needlepoint.visits.models import (
    CLOSING_OUTCOMES,
    LEFT_IN_TECHNIQUES,
    Addendum,
    AdverseEvent,
    AdverseEventFollowUp,
    Intervention,
    NeedlingEntry,
    Outcome,
    Side,
    Technique,
    TwitchResponse,
    Visit,
    VisitLocked,
)
from needlepoint.visits.muscles import needling_muscles
from needlepoint.visits.summary import (
    current_warnings,
    incident_of,
    reconciliation_of,
    render_note,
)

# A visit's clock may run a little ahead of the server's; further ahead is a typing mistake.
FUTURE_TOLERANCE = timedelta(minutes=15)
MAX_NEEDLES_PER_ENTRY = 50
MAX_MINUTES_LEFT_IN = 120
NEEDLE_INCIDENT_TYPE = "needle_left_in"


class WarningsNeedAcknowledgement(ValidationError):
    """Safety warnings that need acknowledging before this write; ``warnings`` lists them and ``problems``
    maps a warning key to what was wrong with the acknowledgement given for it."""

    def __init__(self, warnings: Sequence[safety.SafetyWarning], problems: Mapping[str, str] | None = None) -> None:
        self.warnings = list(warnings)
        self.problems = dict(problems or {})
        super().__init__(
            [*self.problems.values()]
            + [
                f"Acknowledge this warning by choosing the precautions you take (or a reason to proceed): {w.message}"
                for w in self.warnings
            ],
            code="acknowledge",
        )


def conflict_message(visit: Visit, expected_version: int) -> str:
    """What a clinician reads when someone else saved the visit first."""
    return (
        f"Someone else changed this visit while you were editing (it is now at version {visit.version}, "
        f"you had version {expected_version}). Nothing of yours was saved and nothing of theirs was "
        "overwritten: reload the visit to see their changes, then enter yours again."
    )


# --- fetching and guarding ---------------------------------------------------------------------------


def _locked_visit(membership: Membership, visit_id: int) -> Visit:
    """The visit, row-locked for this transaction, through the access helper. An unsigned visit is
    edited by its clinician only; another clinician takes it over first (``take_over_visit``)."""
    require(membership, Capability.EDIT_CLINICAL)
    visit = get_record(
        membership,
        Visit.objects.select_related("patient__clinic", "episode", "clinician__user"),
        visit_id,
        Capability.EDIT_CLINICAL,
        for_update=True,
    )
    if visit.signed_at is None and visit.clinician_id != membership.pk:
        raise ValidationError(not_your_visit_message(visit), code="not_yours")
    return visit


def not_your_visit_message(visit: Visit) -> str:
    """What a clinician reads when they try to edit a colleague's unsigned visit."""
    return (
        f"This unsigned visit belongs to {visit.clinician.display_name}. Nothing was saved: take the visit "
        "over first if you are continuing it (the take-over is recorded on the visit and in the audit trail)."
    )


def _check_editable(visit: Visit, expected_version: int | None) -> None:
    if visit.signed_at is not None:
        raise VisitLocked(
            f"This visit was signed on {timezone.localtime(visit.signed_at):%Y-%m-%d %H:%M} and is locked; "
            "add a dated addendum to correct it."
        )
    if expected_version is None or int(expected_version) != visit.version:
        raise ValidationError(conflict_message(visit, expected_version or 0), code="conflict")


def _bump(visit: Visit) -> None:
    visit.version += 1
    visit.save()


# --- starting and editing a visit --------------------------------------------------------------------


def _episode_start(episode: Episode) -> date:
    return timezone.localtime(episode.opened_at).date()


def _check_started_at(episode: Episode, started_at: Any) -> dict[str, str]:
    if not isinstance(started_at, datetime):
        return {"started_at": "Enter the date and time of the visit."}
    if timezone.is_naive(started_at):
        started_at = timezone.make_aware(started_at)
    day = timezone.localtime(started_at).date()
    if day < _episode_start(episode):
        return {
            "started_at": f"The visit is dated {day:%Y-%m-%d}, before the episode began on "
            f"{_episode_start(episode):%Y-%m-%d}."
        }
    if started_at > timezone.now() + FUTURE_TOLERANCE:
        return {"started_at": "The visit cannot be dated in the future."}
    if episode.status == Episode.Status.DISCHARGED and episode.discharge_date and day > episode.discharge_date:
        return {
            "started_at": f"The episode was discharged on {episode.discharge_date:%Y-%m-%d}; "
            "open a new episode for a later visit."
        }
    return {}


def _pain_value(name: str, value: Any, errors: dict[str, str]) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            value = int(str(value))
        except ValueError:
            errors[name] = "Pain is a whole number from 0 to 10."
            return None
    if not 0 <= value <= 10:
        errors[name] = "Pain is a whole number from 0 to 10."
        return None
    return int(value)


# The free text a clinician types while the needles are in; saved by the draft autosave and by signing.
FREE_TEXT_FIELDS = ("subjective", "assessment", "plan")
# With the pain scores: what the page saves as a draft when it changes, and what signing takes from the page.
DRAFT_FIELDS = (*FREE_TEXT_FIELDS, "pain_before", "pain_after")

VISIT_FIELDS = (
    "started_at",
    "pain_before",
    "pain_after",
    "subjective",
    "interventions",
    "interventions_other",
    "assessment",
    "plan",
)


def _apply_details(visit: Visit, episode: Episode, data: Mapping[str, Any]) -> None:
    errors: dict[str, str] = {}
    if "started_at" in data:
        errors |= _check_started_at(episode, data["started_at"])
        if not errors:
            visit.started_at = data["started_at"]
    for name in ("pain_before", "pain_after"):
        if name in data:
            setattr(visit, name, _pain_value(name, data[name], errors))
    if "interventions" in data:
        codes = list(dict.fromkeys(data["interventions"] or []))
        unknown = [c for c in codes if c not in Intervention.values]
        if unknown:
            errors["interventions"] = f"Unknown intervention {', '.join(map(str, unknown))}."
        visit.interventions = codes
    for name, limit in (("subjective", 5000), ("interventions_other", 200), ("assessment", 5000), ("plan", 5000)):
        if name in data:
            text = str(data[name] or "").strip()
            if len(text) > limit:
                errors[name] = f"Keep this under {limit} characters."
            setattr(visit, name, text)
    if Intervention.OTHER in visit.interventions and not visit.interventions_other:
        errors["interventions_other"] = "Name the other intervention."
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def start_visit(
    membership: Membership,
    episode: Episode,
    data: Mapping[str, Any],
    *,
    copy_previous: bool = False,
    on_copy_refused: Callable[[ValidationError], None] | None = None,
) -> Visit:
    """Start a visit in an episode of care, for the acting clinician; with ``copy_previous``, from the previous
    visit's needling (``copy_previous_needling``), in the same transaction.

    A refused copy starts no visit, unless ``on_copy_refused`` is given: then the visit starts without the copy
    and hears why (the page's one-click start, whose warnings are acknowledged on the visit page).
    """
    require(membership, Capability.EDIT_CLINICAL)
    if episode.clinic_id != membership.clinic_id:
        raise ValidationError("This episode belongs to another clinic.")
    data = {"started_at": timezone.now()} | dict(data)
    visit = Visit(clinic_id=episode.clinic_id, patient_id=episode.patient_id, episode=episode, clinician=membership)
    _apply_details(visit, episode, {k: v for k, v in data.items() if k in VISIT_FIELDS})
    visit.save()
    if not copy_previous:
        return visit
    try:
        with transaction.atomic():  # a savepoint: a refused copy leaves the started visit as it was
            copy_previous_needling(membership, visit.pk, visit.version)
    except ValidationError as refused:
        if on_copy_refused is None:
            raise
        on_copy_refused(refused)
    visit.refresh_from_db()
    return visit


@transaction.atomic
def update_visit(membership: Membership, visit_id: int, data: Mapping[str, Any], expected_version: int) -> Visit:
    """Change a visit's date, pain scores, report, other interventions, assessment or plan."""
    visit = _locked_visit(membership, visit_id)
    _check_editable(visit, expected_version)
    _apply_details(visit, visit.episode, {k: v for k, v in data.items() if k in VISIT_FIELDS})
    _bump(visit)
    return visit


@transaction.atomic
def save_draft_text(membership: Membership, visit_id: int, text: Mapping[str, Any], expected_version: int) -> Visit:
    """Save the visit's free text (report, assessment, plan) as typed and the pain scores as chosen, while the
    visit is unsigned.

    The draft autosave calls this: version-checked like every other write, so a colleague's page gets a
    conflict instead of overwriting, and nothing but the free text and pain scores changes.
    """
    visit = _locked_visit(membership, visit_id)
    _check_editable(visit, expected_version)
    fields = {name: text[name] for name in DRAFT_FIELDS if name in text}
    if not fields:
        raise ValidationError("There is no report, assessment or plan to save.")
    _apply_details(visit, visit.episode, fields)
    _bump(visit)
    return visit


@transaction.atomic
def take_over_visit(membership: Membership, visit_id: int, expected_version: int) -> Visit:
    """Make the acting clinician the clinician of a colleague's unsigned visit, so they can continue and
    sign it. Recorded on the visit (from whom, when) and in the audit trail."""
    require(membership, Capability.EDIT_CLINICAL)
    visit = get_record(
        membership,
        Visit.objects.select_related("clinician__user"),
        visit_id,
        Capability.EDIT_CLINICAL,
        for_update=True,
    )
    if visit.signed_at is not None:
        raise VisitLocked("This visit is signed and locked; add a dated addendum instead of taking it over.")
    if visit.clinician_id == membership.pk:
        raise ValidationError("This visit is already yours.")
    if expected_version is None or int(expected_version) != visit.version:
        raise ValidationError(conflict_message(visit, expected_version or 0), code="conflict")
    previous = visit.clinician
    visit.taken_over_from = previous
    visit.taken_over_at = timezone.now()
    visit.clinician = membership
    with audit.describing(f"visit taken over from {previous.display_name} by {membership.display_name}"):
        _bump(visit)
    return visit


# --- needling ----------------------------------------------------------------------------------------


def _as_decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def _whole(value: Any) -> int | None:
    if isinstance(value, bool) or value is None or value == "":
        return None
    if isinstance(value, int):
        return value
    try:
        return int(str(value).strip())
    except ValueError:
        return None


def _clean_entry(data: Mapping[str, Any]) -> dict[str, Any]:
    """Check one needling entry against the muscle data and the needle stock; return clean values."""
    errors: dict[str, str] = {}
    catalogue = needling_muscles()
    muscle = catalogue.get(str(data.get("muscle_id") or ""))
    if muscle is None:
        errors["muscle_id"] = "Choose a muscle from the list."
    side = data.get("side")
    if side not in Side.values:
        errors["side"] = "Choose the left or the right side."
    elif muscle is not None and side not in muscle.sides:
        errors["side"] = f"{muscle.name} is not needled on the {side} side."
    trigger_point = str(data.get("trigger_point") or "").strip()
    if muscle is not None:
        points = [code for code, _label in muscle.trigger_points]
        if len(points) > 1 and trigger_point not in points:
            errors["trigger_point"] = f"{muscle.name} has several trigger points; choose which was needled."
        elif len(points) <= 1 and trigger_point and trigger_point not in points:
            errors["trigger_point"] = f"{muscle.name} has no trigger point {trigger_point!r}."
    count = _whole(data.get("needles"))
    if count is None:
        errors["needles"] = "Enter how many needles were inserted."
    elif count < 1:
        errors["needles"] = "At least one needle is inserted in a needling entry (zero or negative is not a count)."
    elif count > MAX_NEEDLES_PER_ENTRY:
        errors["needles"] = f"More than {MAX_NEEDLES_PER_ENTRY} needles in one muscle; check the count."
    diameter, length = _as_decimal(data.get("diameter_mm")), _as_decimal(data.get("length_mm"))
    if diameter is None:
        errors["diameter_mm"] = "Choose the needle gauge from the clinic's stock."
    if length is None:
        errors["length_mm"] = "Choose the needle length from the clinic's stock."
    if diameter is not None and length is not None:
        try:
            needles.validate_needle(diameter, length)
        except needles.NeedleNotStocked as exc:
            errors.update({problem.field: problem.message for problem in exc.problems})
    technique = data.get("technique")
    if technique not in Technique.values:
        errors["technique"] = "Choose static, pistoning, rotation or electrical stimulation."
    twitch = data.get("twitch_response")
    if twitch not in TwitchResponse.values:
        errors["twitch_response"] = "Choose none, single or several local twitch responses."
    minutes = _whole(data.get("minutes_left_in"))
    raw_minutes = data.get("minutes_left_in")
    if raw_minutes not in (None, "") and (minutes is None or not 1 <= minutes <= MAX_MINUTES_LEFT_IN):
        errors["minutes_left_in"] = f"Time left in is a whole number of minutes from 1 to {MAX_MINUTES_LEFT_IN}."
    elif technique in LEFT_IN_TECHNIQUES and minutes is None:
        errors["minutes_left_in"] = "Enter how many minutes the needles were left in."
    response = str(data.get("patient_response") or "").strip()
    if len(response) > 300:
        errors["patient_response"] = "Keep the patient's response under 300 characters."
    if errors or muscle is None:  # no muscle is always among the errors
        raise ValidationError(errors)
    return {
        "muscle_id": muscle.id,
        "side": side,
        "trigger_point": trigger_point,
        "needles": count,
        "diameter_mm": diameter,
        "length_mm": length,
        "technique": technique,
        "twitch_response": twitch,
        "minutes_left_in": minutes,
        "patient_response": response,
    }


Acknowledgements = Mapping[str, Any]
"""Warning key -> ``{"precautions": [codes], "note": "..."}`` or a plain reason to proceed."""


def _merge_acknowledgements(
    visit: Visit,
    warnings: Sequence[safety.SafetyWarning],
    given: Acknowledgements | None,
    membership: Membership,
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


def _store_needling(visit: Visit, acknowledgements: Mapping[str, Any]) -> None:
    inserted = sum(NeedlingEntry.objects.filter(visit=visit).values_list("needles", flat=True))
    visit.needles_inserted = inserted
    visit.needles_opened = max(visit.needles_opened, inserted)
    visit.acknowledgements = dict(acknowledgements)
    _bump(visit)


@transaction.atomic
def add_needling_entry(
    membership: Membership,
    visit_id: int,
    data: Mapping[str, Any],
    expected_version: int,
    acknowledgements: Acknowledgements | None = None,
) -> NeedlingEntry:
    """Record one muscle needled. Passes the needling gate and the safety checks first: a refusal stops
    it, and each warning needs an acknowledgement (in ``acknowledgements``, keyed by warning key: the
    precautions taken, or a reason to proceed that is a real sentence).

    Needles opened rises to at least the needles inserted (a needle is opened before it goes in).
    """
    visit = _locked_visit(membership, visit_id)
    _check_editable(visit, expected_version)
    clean = _clean_entry(data)
    existing = list(visit.needling_entries.order_by("position", "pk"))
    entry = NeedlingEntry(
        clinic_id=visit.clinic_id,
        patient_id=visit.patient_id,
        visit=visit,
        position=(existing[-1].position + 1) if existing else 1,
        recorded_by=membership,
        **clean,
    )
    stored = _needling_checks(membership, visit, [*existing, entry], acknowledgements)
    entry.save()
    _store_needling(visit, stored)
    return entry


@transaction.atomic
def copy_previous_needling(
    membership: Membership,
    visit_id: int,
    expected_version: int,
    acknowledgements: Acknowledgements | None = None,
) -> list[NeedlingEntry]:
    """Start this visit's needling from the episode's previous visit with needling (same muscles, sides,
    trigger points, needles, sizes and techniques; twitch response and patient response left to record).
    The gate and the warnings apply exactly as for entries made one by one.
    """
    visit = _locked_visit(membership, visit_id)
    _check_editable(visit, expected_version)
    previous = previous_needled_visit(visit)
    if previous is None:
        raise ValidationError("No earlier visit in this episode has needling to start from.", code="nothing_to_copy")
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
        raise ValidationError("That needling entry is not part of this visit.")
    inserted = visit.needles_inserted - entry.needles
    try:
        accountability.validate_counts(visit.needles_opened, inserted, visit.needles_removed, visit.needles_in_sharps)
    except accountability.AccountabilityError as exc:
        raise ValidationError(
            [f"Correct the needle counts before removing this entry: {p}" for p in exc.problems]
        ) from exc
    summary = f"needling entry removed: {entry.muscle_id} {entry.side} x{entry.needles}"
    entry.delete()
    with audit.describing(summary):
        _store_needling(visit, visit.acknowledgements)
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
        raise ValidationError("This visit has no needling, so there is nothing to acknowledge.")
    clearance = require_needling_clearance(visit.patient)
    warnings = current_warnings(entries, clearance)
    keys = {safety.warning_key(w) for w in warnings if w.acknowledgeable}
    unknown = [k for k, given in acknowledgements.items() if _anything_given(given) and k not in keys]
    if unknown:
        raise ValidationError("A warning you acknowledged no longer applies; reload the visit.")
    merged, problems = _merge_acknowledgements(visit, warnings, acknowledgements, membership)
    if problems:
        raise ValidationError(list(problems.values()))
    if merged == visit.acknowledgements:
        raise ValidationError("Choose the precautions you take (or give a reason to proceed) for at least one warning.")
    visit.acknowledgements = merged
    _bump(visit)
    return visit


# --- needle accountability ---------------------------------------------------------------------------


@transaction.atomic
def record_needle_counts(
    membership: Membership,
    visit_id: int,
    *,
    opened: Any,
    removed: Any,
    in_sharps: Any,
    expected_version: int,
) -> Visit:
    """Record the needles opened, removed and put in sharps (inserted comes from the needling entries)."""
    visit = _locked_visit(membership, visit_id)
    _check_editable(visit, expected_version)
    values = {"opened": _whole(opened), "removed": _whole(removed), "in sharps": _whole(in_sharps)}
    missing = [name for name, value in values.items() if value is None]
    if missing:
        raise ValidationError(f"Enter the needles {', '.join(missing)} as whole numbers.")
    try:
        accountability.validate_counts(values["opened"], visit.needles_inserted, values["removed"], values["in sharps"])  # type: ignore[arg-type]  # none is None after the check above
    except accountability.AccountabilityError as exc:
        raise ValidationError(list(exc.problems)) from exc
    visit.needles_opened = values["opened"]  # type: ignore[assignment]  # none is None after the check above
    visit.needles_removed = values["removed"]  # type: ignore[assignment]  # none is None after the check above
    visit.needles_in_sharps = values["in sharps"]  # type: ignore[assignment]  # none is None after the check above
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
    count = _whole(needles_unaccounted)
    if reconciliation.balanced:
        raise ValidationError("Every needle is accounted for; there is no incident to record.")
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
    return AdverseEvent.objects.create(
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
    )


# --- signing and addenda -----------------------------------------------------------------------------


@transaction.atomic
def sign_visit(
    membership: Membership,
    visit_id: int,
    expected_version: int,
    acknowledgements: Acknowledgements | None = None,
    text: Mapping[str, Any] | None = None,
) -> Visit:
    """Sign the visit: the warnings are checked again, the needles must be reconciled (or a 'needle
    unaccounted for' incident recorded), the CPT code is chosen and the note is fixed. Signing locks it.

    ``text`` is the report, assessment and plan as they stand on the clinician's page: saved in the same
    transaction, so what was typed is what is signed (or nothing is saved and the page keeps it).
    """
    visit = _locked_visit(membership, visit_id)
    if visit.signed_at is not None:
        raise VisitLocked(
            f"This visit was already signed on {timezone.localtime(visit.signed_at):%Y-%m-%d %H:%M} by "
            f"{visit.signed_by.display_name if visit.signed_by else 'a clinician'}."
        )
    _check_editable(visit, expected_version)
    if visit.clinician_id != membership.pk:
        raise ValidationError(
            f"Only the treating clinician ({visit.clinician.display_name}) can sign this visit; "
            "add an addendum once it is signed."
        )
    if text:
        _apply_details(visit, visit.episode, {k: text[k] for k in DRAFT_FIELDS if k in text})
    entries = list(visit.needling_entries.order_by("position", "pk"))
    if entries:
        documented_at = max(e.recorded_at for e in entries)
        visit.acknowledgements = _needling_checks(membership, visit, entries, acknowledgements, at=documented_at)
    reconciliation = reconciliation_of(visit)
    allowed, message = accountability.can_sign(reconciliation, incident_of(visit))
    if not allowed:
        raise ValidationError({"needles": message})
    from needlepoint.visits.cpt import choose_cpt

    choice = choose_cpt(entries)
    visit.cpt_code = choice.code if choice else ""
    visit.cpt_muscle_count = choice.muscle_count if choice else None
    visit.signed_by = membership
    visit.signed_at = timezone.now()
    visit.note_text = render_note(visit, entries)
    _bump(visit)
    return visit


@transaction.atomic
def add_addendum(membership: Membership, visit_id: int, text: str) -> Addendum:
    """A dated correction or addition to a signed visit, by its signer or another clinician."""
    require(membership, Capability.EDIT_CLINICAL)
    visit = get_record(membership, Visit.objects.all(), visit_id, Capability.EDIT_CLINICAL)
    if visit.signed_at is None:
        raise ValidationError("The visit is not signed yet: edit it directly instead of adding an addendum.")
    text = str(text or "").strip()
    if len(text) < 3:
        raise ValidationError({"text": "Write the correction or addition."})
    if len(text) > 5000:
        raise ValidationError({"text": "Keep an addendum under 5000 characters."})
    return Addendum.objects.create(
        clinic_id=visit.clinic_id, patient_id=visit.patient_id, visit=visit, author=membership, text=text
    )


# --- adverse events ----------------------------------------------------------------------------------


def _check_event(data: Mapping[str, Any], visit: Visit) -> dict[str, str]:
    errors: dict[str, str] = {}
    try:
        adverse_events.validate_adverse_event(
            str(data.get("event_type") or ""), str(data.get("severity") or ""), str(data.get("description") or "")
        )
    except adverse_events.AdverseEventError as exc:
        errors["event_type"] = " ".join(exc.problems)
    onset = data.get("onset_at")
    if not isinstance(onset, datetime):
        errors["onset_at"] = "Enter when the event began."
    elif onset < visit.started_at:
        errors["onset_at"] = "The event cannot begin before the visit."
    elif onset > timezone.now() + FUTURE_TOLERANCE:
        errors["onset_at"] = "The onset cannot be in the future."
    if not str(data.get("action_taken") or "").strip():
        errors["action_taken"] = "Describe the action taken (or 'none needed')."
    outcome = data.get("outcome")
    if outcome not in Outcome.values:
        errors["outcome"] = "Choose the outcome so far."
    due = data.get("follow_up_due")
    if outcome not in CLOSING_OUTCOMES:
        if not isinstance(due, date):
            errors["follow_up_due"] = "An event that has not resolved needs a follow-up date."
        elif due < timezone.localdate():
            errors["follow_up_due"] = "The follow-up date cannot be in the past."
    return errors


@transaction.atomic
def record_adverse_event(membership: Membership, visit_id: int, data: Mapping[str, Any]) -> AdverseEvent:
    """Record an adverse event after a visit, during it or days later (a signed visit still takes one).

    An event recorded as already resolved is closed at once; otherwise it stays open until a follow-up
    closes it.
    """
    require(membership, Capability.EDIT_CLINICAL)
    visit = get_record(membership, Visit.objects.all(), visit_id, Capability.EDIT_CLINICAL)
    errors = _check_event(data, visit)
    if data.get("event_type") == NEEDLE_INCIDENT_TYPE and data.get("needles_unaccounted"):
        errors["event_type"] = "Record a needle unaccounted for with the needle count form of the visit."
    after_care = _vasovagal_after_care(data, errors)
    if errors:
        raise ValidationError(errors)
    closes = data["outcome"] in CLOSING_OUTCOMES
    now = timezone.now()
    return AdverseEvent.objects.create(
        clinic_id=visit.clinic_id,
        patient_id=visit.patient_id,
        visit=visit,
        event_type=data["event_type"],
        severity=data["severity"],
        description=str(data.get("description") or "").strip(),
        onset_at=data["onset_at"],
        action_taken=str(data["action_taken"]).strip(),
        outcome=data["outcome"],
        follow_up_due=None if closes else data["follow_up_due"],
        **after_care,
        recorded_by=membership,
        recorded_at=now,
        closed_at=now if closes else None,
        closed_by=membership if closes else None,
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
        raise ValidationError("This adverse event is closed.")
    if int(expected_version) != event.version:
        raise ValidationError(
            "Someone else followed up this event while you were writing. Nothing of yours was saved; reload."
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
    follow_up = AdverseEventFollowUp.objects.create(
        clinic_id=event.clinic_id,
        patient_id=event.patient_id,
        event=event,
        by=membership,
        note=note.strip(),
        outcome=outcome,
        next_follow_up_due=None if close else next_follow_up_due,
        closes_event=close,
    )
    event.outcome = outcome
    event.follow_up_due = None if close else next_follow_up_due
    if close:
        event.closed_at = follow_up.at
        event.closed_by = membership
    event.version += 1
    event.save()
    return follow_up


# --- in-clinic events: position, fainting first session, clean technique, vasovagal after-care ----------


def has_fainting_history(screening: Any) -> bool:
    """Whether the screening the gate relied on found a history of fainting (with needles, injections or
    blood). The screening question asks about ever having fainted, so the current screening carries it."""
    if screening is None:
        return False
    code = clinic_safety.packaged().first_session.screening_finding
    return any(f.get("code") == code for f in screening.findings or []) or (screening.answers or {}).get(code) == "yes"


def is_first_needled_visit(visit: Visit) -> bool:
    """No earlier visit of the patient (in any episode) has needling."""
    earlier = Visit.objects.filter(patient_id=visit.patient_id, needles_inserted__gt=0, started_at__lt=visit.started_at)
    return not earlier.exclude(pk=visit.pk).exists()


def check_fainting_first_session(visit: Visit, screening: Any, positions: Sequence[str] | None = None) -> None:
    """Refuse needling or signing the first needled visit of a patient who has fainted before unless the
    patient is recorded lying down (clinic_safety.check_first_session)."""
    positions = list(visit.patient_positions or []) if positions is None else list(positions)
    if clinic_safety.all_lying(positions) or not has_fainting_history(screening):
        return
    try:
        clinic_safety.check_first_session(
            fainting_history=True, first_needled_session=is_first_needled_visit(visit), positions=positions
        )
    except clinic_safety.FirstSessionNotLying as exc:
        raise ValidationError({"patient_positions": str(exc)}, code="refused") from exc


@transaction.atomic
def record_patient_position(
    membership: Membership, visit_id: int, positions: Sequence[str], expected_version: int
) -> Visit:
    """Record the position(s) the patient is needled in; a visit already needled keeps the first-session rule."""
    visit = _locked_visit(membership, visit_id)
    _check_editable(visit, expected_version)
    try:
        chosen = clinic_safety.check_positions([str(p) for p in positions or []])
    except ValueError as exc:
        raise ValidationError({"patient_positions": str(exc)}) from exc
    if not chosen:
        raise ValidationError({"patient_positions": "Choose the position the patient is needled in."})
    if visit.needles_inserted:
        from needlepoint.patients.gate import needling_clearance

        check_fainting_first_session(visit, needling_clearance(visit.patient).screening, chosen)
    visit.patient_positions = chosen
    _bump(visit)
    return visit


@transaction.atomic
def record_clean_technique(
    membership: Membership,
    visit_id: int,
    *,
    items: Sequence[str] | None = None,
    gloves_worn: bool,
    expected_version: int,
) -> Visit:
    """Record the clean-technique checklist with who and when ("all done" when ``items`` is None).

    Editable only before signing (a signed visit refuses it like every other change).
    """
    visit = _locked_visit(membership, visit_id)
    _check_editable(visit, expected_version)
    try:
        confirmed = clinic_safety.check_checklist(
            clinic_safety.all_checklist_codes() if items is None else [str(i) for i in items]
        )
    except ValueError as exc:
        raise ValidationError({"clean_technique": str(exc)}) from exc
    if not isinstance(gloves_worn, bool):
        raise ValidationError({"gloves_worn": "Say whether gloves were worn."})
    visit.clean_technique = {"items": confirmed, "gloves_worn": gloves_worn}
    visit.clean_technique_by = membership
    visit.clean_technique_at = timezone.now()
    _bump(visit)
    return visit


def _vasovagal_after_care(data: Mapping[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    """A vasovagal event's minutes observed after recovery and the driving advice (both required);
    other events carry neither."""
    if data.get("event_type") != clinic_safety.packaged().vasovagal.event_type:
        if data.get("observed_minutes") not in (None, "") or data.get("driving_advice_given"):
            errors["observed_minutes"] = "Observation and driving advice are recorded for a fainting event only."
        return {}
    minutes = _whole(data.get("observed_minutes"))
    problems = clinic_safety.check_vasovagal(minutes, data.get("driving_advice_given") is True)
    for problem in problems:
        field = "driving_advice_given" if problem.startswith("Confirm") else "observed_minutes"
        errors[field] = problem
    return {"observed_minutes": minutes, "driving_advice_given": True}
