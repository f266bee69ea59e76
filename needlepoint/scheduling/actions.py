"""Every write of the appointment book: one function per action.

Each action owns its transaction, checks the role and the invariants, and records its audit entry
(``audit.wrote``). Bad input raises ``ValidationError`` with a message
front desk or a clinician can act on, and nothing is stored. Double booking is checked while the
clinician's membership row is locked (``select_for_update`` on PostgreSQL; on SQLite every write
transaction starts IMMEDIATE and so holds the database's write lock), so two bookings made at the same
moment are checked one after the other. The role check runs before each transaction opens, so a refusal
stays in the audit trail.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from needlepoint.accounts import audit
from needlepoint.accounts.access import get_patient, get_record, require
from needlepoint.accounts.models import Membership
from needlepoint.accounts.roles import Capability, Role
from needlepoint.patients.actions import refuse_if_deceased
from needlepoint.patients.models import Episode, Patient
from needlepoint.scheduling import rules
from needlepoint.scheduling.config import book_settings
from needlepoint.scheduling.models import (
    Appointment,
    AppointmentSeries,
    CalendarFeed,
    ContactPreference,
    ReminderSent,
)
from needlepoint.scheduling.rules import Status

if TYPE_CHECKING:
    from needlepoint.visits.models import Visit

# A walk-in booked "now" is typed to the minute; a start this little in the past is still now.
BOOKING_GRACE = timedelta(minutes=5)


def when(moment: datetime) -> str:
    """A time as the calendar shows it: 'Wed 9 Dec 2026 09:00'."""
    local = timezone.localtime(moment)
    return f"{local:%a} {local.day} {local:%b %Y %H:%M}"


def clinician_of(membership: Membership, clinician_id: Any) -> Membership:
    """An active clinician of the membership's clinic, or a ValidationError naming the field."""
    try:
        pk = int(clinician_id)
    except (TypeError, ValueError):
        pk = None
    found = (
        Membership.objects.select_related("user", "clinic")
        .filter(pk=pk, clinic_id=membership.clinic_id, role=Role.CLINICIAN, is_active=True)
        .first()
        if pk
        else None
    )
    if found is None:
        raise ValidationError({"clinician": gettext("Choose a clinician of this clinic.")})
    return found


def _clean_booking(membership: Membership, data: Mapping[str, Any], now: datetime) -> tuple[str, datetime, int]:
    """The type, start and length of a booking, checked against the clinic's settings."""
    offered = book_settings(membership.clinic.slug)
    errors: dict[str, str] = {}
    kind = offered.type_named(str(data.get("kind") or ""))
    if kind is None:
        errors["kind"] = "Choose the appointment type: " + ", ".join(t.label.lower() for t in offered.types) + "."
    minutes = data.get("minutes") or (kind.minutes if kind else None)
    try:
        minutes = int(minutes) if minutes is not None else None
    except (TypeError, ValueError):
        minutes = None
    if kind is not None:
        problem = rules.length_problem(minutes or 0, kind.lengths)
        if problem:
            errors["minutes"] = f"{problem[:-1]} for a {kind.label.lower()} appointment."
    starts_at = data.get("starts_at")
    if not isinstance(starts_at, datetime):
        errors["starts_at"] = "Give the date and time the appointment starts."
    else:
        if timezone.is_naive(starts_at):
            starts_at = timezone.make_aware(starts_at)
        if starts_at < now - BOOKING_GRACE:
            errors["starts_at"] = (
                f"{when(starts_at)} is in the past: an appointment is booked for a time still to come."
            )
        elif minutes:
            problem = rules.hours_problem(timezone.localtime(starts_at), minutes, offered.day_starts, offered.day_ends)
            if problem:
                errors["starts_at"] = problem
    if errors or kind is None or minutes is None or not isinstance(starts_at, datetime):  # each is an error above
        raise ValidationError(errors)
    return kind.code, starts_at, minutes


def _clash_message(clashes: list[tuple[rules.Slot, str]]) -> str:
    listed = "; ".join(f"{when(s.start)} ({why})" for s, why in clashes)
    if len(clashes) == 1:
        return f"Not booked: {listed}. Choose another time."
    return f"Nothing was booked: {len(clashes)} of the dates clash: {listed}. Choose another time or fewer weeks."


def _check_free(clinician: Membership, patient: Patient, wanted: list[rules.Slot]) -> None:
    """Refuse if any wanted slot overlaps the clinician's or the patient's booked time, or another wanted slot."""
    first, last = min(s.start for s in wanted), max(s.end for s in wanted)
    holding = [s.value for s in rules.HOLDS_TIME]
    near = Appointment.objects.filter(
        clinic_id=clinician.clinic_id, status__in=holding, starts_at__lt=last, ends_at__gt=first
    )
    theirs = [rules.Slot(a.starts_at, a.ends_at) for a in near.filter(clinician=clinician).only("starts_at", "ends_at")]
    patients = [
        rules.Slot(a.starts_at, a.ends_at)
        for a in near.filter(patient=patient).exclude(clinician=clinician).only("starts_at", "ends_at")
    ]
    name = clinician.user.get_full_name() or clinician.user.username
    found: list[tuple[rules.Slot, str]] = []
    for s in wanted:
        if any(s.overlaps(t) for t in theirs):
            found.append((s, f"{name} is already booked then"))
        elif any(s.overlaps(t) for t in patients):
            found.append((s, f"{patient.full_name} already has an appointment then with another clinician"))
        elif rules.clashes([s], [w for w in wanted if w is not s]):
            found.append((s, "overlaps another date of this series"))
    if found:
        raise ValidationError(_clash_message(found), code="double_booking")


def book_series(
    membership: Membership,
    patient_id: int | str,
    data: Mapping[str, Any],
    *,
    count: int = 1,
    every_weeks: int = 1,
    now: datetime | None = None,
) -> list[Appointment]:
    """Book ``count`` appointments ``every_weeks`` weeks apart (one when ``count`` is 1): all or none.

    ``data``: clinician (membership id), kind (type code), starts_at (aware datetime), minutes.
    """
    require(membership, Capability.BOOK_APPOINTMENTS)  # outside the transaction: a refusal stays in the audit trail
    with transaction.atomic():
        now = now or timezone.now()
        # The patient's row is locked so that a death being recorded at this moment is seen: the booking waits
        # for it to commit, then is refused.
        patient = get_patient(membership, patient_id, Capability.VIEW_DEMOGRAPHICS, for_update=True)
        refuse_if_deceased(patient, gettext("no appointment can be booked."))
        clinician = clinician_of(membership, data.get("clinician"))
        kind, starts_at, minutes = _clean_booking(membership, data, now)
        try:
            starts = rules.weekly_series(timezone.localtime(starts_at), int(count), int(every_weeks))
        except (TypeError, ValueError) as exc:
            raise ValidationError({"repeat": str(exc)}) from exc
        # Lock the clinician's row: a concurrent booking for the same clinician waits here until this one commits.
        Membership.objects.select_for_update(no_key=True).filter(pk=clinician.pk).first()
        wanted = [rules.slot(s, minutes) for s in starts]
        _check_free(clinician, patient, wanted)
        series = None
        if len(wanted) > 1:
            series = audit.wrote(
                AppointmentSeries.objects.create(
                    clinic_id=membership.clinic_id,
                    patient=patient,
                    clinician=clinician,
                    kind=kind,
                    every_weeks=every_weeks,
                    count=len(wanted),
                    booked_by=membership,
                ),
                created=True,
            )
        booked = []
        for s in wanted:
            appointment = Appointment(
                clinic_id=membership.clinic_id,
                patient=patient,
                clinician=clinician,
                kind=kind,
                starts_at=s.start,
                ends_at=s.end,
                series=series,
                booked_by=membership,
            )
            appointment.save()
            booked.append(audit.wrote(appointment, created=True))
        return booked


def book_appointment(
    membership: Membership, patient_id: int | str, data: Mapping[str, Any], *, now: datetime | None = None
) -> Appointment:
    """Book one appointment; refused in the past, outside opening hours, or over a booked one."""
    return book_series(membership, patient_id, data, count=1, now=now)[0]


def _locked_appointment(membership: Membership, appointment_id: int | str, capability: Capability) -> Appointment:
    return get_record(
        membership,
        Appointment.objects.select_related("patient", "clinic", "clinician__user"),
        appointment_id,
        capability,
        for_update=True,
    )


def _check_version(appointment: Appointment, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != appointment.version:
        raise ValidationError(
            gettext(
                "Someone else changed this appointment while you had it open "
                "(it is now %(status)s). Nothing was changed: reload and try again."
            )
            % {"status": appointment.status_label.lower()},
            code="conflict",
        )


def _move(appointment: Appointment, status: Status) -> None:
    appointment.status = status.value
    appointment.status_changed_at = timezone.now()
    appointment.version += 1
    appointment.save()
    audit.wrote(appointment, created=False)


def change_status(
    membership: Membership,
    appointment_id: int | str,
    status: str,
    *,
    reason: str = "",
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Appointment:
    """Mark an appointment arrived, back to booked, no-show or cancelled (cancelling needs a reason).

    "In treatment" comes from starting the visit and "completed" from signing it, never by hand.
    """
    require(membership, Capability.BOOK_APPOINTMENTS)  # outside the transaction: a refusal stays in the audit trail
    with transaction.atomic():
        appointment = _locked_appointment(membership, appointment_id, Capability.VIEW_SCHEDULE)
        _check_version(appointment, expected_version)
        if status == Status.IN_TREATMENT:
            raise ValidationError(
                {"status": gettext("An appointment is in treatment once its visit is started from it.")}
            )
        if status == Status.COMPLETED:
            raise ValidationError({"status": gettext("An appointment is completed when its visit is signed.")})
        problem = rules.transition_problem(appointment.status, status)
        if problem:
            raise ValidationError({"status": problem})
        now = now or timezone.now()
        if status == Status.NO_SHOW and appointment.starts_at > now:
            starts = when(appointment.starts_at)
            raise ValidationError(
                {"status": gettext("The appointment starts at %(start)s: it is not yet a no-show.") % {"start": starts}}
            )
        reason = (reason or "").strip()
        if status == Status.CANCELLED:
            if len(reason) < 3:
                raise ValidationError({"reason": gettext("Give the reason for cancelling, e.g. 'patient unwell'.")})
            appointment.cancel_reason = reason[:300]
        _move(appointment, Status(status))
        return appointment


def open_episodes(appointment: Appointment) -> list[Episode]:
    """The patient's open episodes of care, newest first: where a visit from this appointment can go."""
    return list(
        Episode.objects.filter(
            clinic_id=appointment.clinic_id, patient_id=appointment.patient_id, status=Episode.Status.OPEN
        ).order_by("-onset_date", "-pk")
    )


def start_visit_from_appointment(membership: Membership, appointment_id: int | str, episode_id: Any = None) -> Visit:
    """Start the appointment's visit (in the patient's open episode) and move it to "in treatment".

    Starting again returns the visit already started, so a double click makes one visit.
    """
    from needlepoint.visits import actions as visit_actions

    require(membership, Capability.EDIT_CLINICAL)  # outside the transaction: a refusal stays in the audit trail
    with transaction.atomic():
        appointment = _locked_appointment(membership, appointment_id, Capability.EDIT_CLINICAL)
        if appointment.visit is not None:
            return appointment.visit
        if appointment.clinician_id != membership.pk:
            raise ValidationError(
                gettext("This appointment is with %(clinician)s; the clinician it is booked with starts its visit.")
                % {"clinician": appointment.clinician.user.get_full_name()}
            )
        if not appointment.is_open:
            raise ValidationError(
                gettext("A %(status)s appointment cannot start a visit.") % {"status": appointment.status_label.lower()}
            )
        episodes = open_episodes(appointment)
        if not episodes:
            name = appointment.patient.full_name
            raise ValidationError(
                {
                    "episode": gettext("%(patient)s has no open episode of care: open one, then start the visit.")
                    % {"patient": name}
                }
            )
        if episode_id not in (None, ""):
            episode = next((e for e in episodes if str(e.pk) == str(episode_id)), None)
            if episode is None:
                raise ValidationError({"episode": gettext("Choose one of the patient's open episodes of care.")})
        elif len(episodes) == 1:
            episode = episodes[0]
        else:
            raise ValidationError(
                {"episode": gettext("The patient has more than one open episode: choose the one for this visit.")}
            )
        visit = visit_actions.start_visit(membership, episode, {})
        appointment.visit = visit
        _move(appointment, Status.IN_TREATMENT)
        return visit


def complete_when_visit_signed(sender: Any, visit: Any, **_: Any) -> None:
    """Receiver of ``visit_signed``: the signed visit completes the appointment it started from (same transaction)."""
    appointment = (
        Appointment.objects.select_for_update(no_key=True)
        .filter(visit_id=visit.pk, status=Status.IN_TREATMENT.value)
        .first()
    )
    if appointment is not None:
        _move(appointment, Status.COMPLETED)


def cancel_on_death(sender: Any, membership: Membership, patient: Patient, **_: Any) -> list[str]:
    """Receiver of ``death_recorded``: cancel the patient's appointments still to come, through ``change_status``
    with the reason, in the transaction that records the death. Returns one sentence per appointment cancelled."""
    now = timezone.now()
    upcoming = Appointment.objects.filter(
        clinic_id=patient.clinic_id, patient_id=patient.pk, status=Status.BOOKED.value, starts_at__gt=now
    ).order_by("starts_at", "pk")
    cancelled = []
    for appointment_id in upcoming.values_list("pk", flat=True):
        appointment = change_status(
            membership, appointment_id, Status.CANCELLED.value, reason="Patient recorded as deceased", now=now
        )
        who = appointment.clinician.user.get_full_name() or appointment.clinician.user.username
        cancelled.append(f"Cancelled the appointment of {when(appointment.starts_at)} with {who}.")
    return cancelled


# --- contact preference and reminders ----------------------------------------------------------------


def set_contact_preference(
    membership: Membership, patient_id: int | str, email_reminders: bool, links_by: str | None = None
) -> ContactPreference:
    """Record whether the patient wants appointment reminders by e-mail and, when given, how they want
    questionnaire links (by e-mail or text, one of them only, or none: opted out)."""
    require(membership, Capability.BOOK_APPOINTMENTS)  # outside the transaction: a refusal stays in the audit trail
    if links_by is not None and links_by not in ContactPreference.LinksBy.values:
        raise ValidationError({"links_by": gettext("Choose how the patient wants questionnaire links, or none.")})
    with transaction.atomic():
        patient = get_patient(membership, patient_id, Capability.VIEW_DEMOGRAPHICS, for_update=True)
        preference = ContactPreference.objects.filter(patient=patient).first() or ContactPreference(
            clinic_id=patient.clinic_id, patient=patient
        )
        preference.email_reminders = bool(email_reminders)
        if links_by is not None:
            preference.links_by = links_by
        preference.changed_by = membership
        preference.changed_at = timezone.now()
        created = preference.pk is None
        preference.save()
        return audit.wrote(preference, created=created)


def wants_reminders(patient: Patient) -> bool:
    """Whether the patient accepts e-mail reminders (no recorded preference means yes)."""
    found = ContactPreference.objects.filter(patient=patient).values_list("email_reminders", flat=True).first()
    return True if found is None else bool(found)


def links_by(patient: Patient) -> str:
    """How the patient wants questionnaire links (no recorded preference: by e-mail or text message)."""
    found = ContactPreference.objects.filter(patient=patient).values_list("links_by", flat=True).first()
    return found or ContactPreference.LinksBy.EITHER.value


def reminder_problem(appointment: Appointment, *, opted_in: bool) -> str | None:
    """Why no reminder goes out for this appointment, or None when one may."""
    name = appointment.patient.full_name
    if appointment.patient.deceased:
        return f"{name} is recorded as deceased; nothing was sent."
    if not opted_in:
        return f"{name} has asked for no appointment reminders; nothing was sent."
    if not appointment.patient.email:
        return f"{name} has no e-mail address on record; nothing was sent."
    if appointment.status != Status.BOOKED:
        return f"The appointment is {appointment.status_label.lower()}; only a booked one is reminded."
    if appointment.starts_at <= timezone.now():
        return "The appointment has already started; nothing was sent."
    if ReminderSent.objects.filter(appointment=appointment).exists():
        return "A reminder for this appointment was already sent; each appointment is reminded once."
    return None


def reminder_message(appointment: Appointment) -> tuple[str, str]:
    """Subject and body of a reminder: time, place and clinician only, no clinical content."""
    local = timezone.localtime(appointment.starts_at)
    clinic = appointment.clinic.name
    clinician = appointment.clinician.user.get_full_name() or "your clinician"
    day = f"{local:%A} {local.day} {local:%B %Y}"
    subject = f"Appointment reminder: {clinic}, {local:%a} {local.day} {local:%b} at {local:%H:%M}"
    body = (
        f"Dear {appointment.patient.given_name},\n\n"
        f"This is a reminder of your {appointment.kind_label.lower()} appointment with {clinician} at {clinic} "
        f"on {day} at {local:%H:%M} ({appointment.minutes} minutes).\n\n"
        "If you cannot come, please let the clinic know as soon as you can.\n\n"
        "You receive this because the clinic has your e-mail address for appointment reminders. "
        "Tell the clinic if you would rather not receive them.\n"
    )
    return subject, body


def _deliver(appointment: Appointment, connection: Any = None) -> ReminderSent:
    """Record the reminder, then send it, in the caller's transaction: if sending fails, nothing is recorded."""
    sent = audit.wrote(
        ReminderSent.objects.create(
            clinic_id=appointment.clinic_id,
            patient_id=appointment.patient_id,
            appointment=appointment,
            sent_to=appointment.patient.email,
        ),
        created=True,
    )
    subject, body = reminder_message(appointment)
    EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, [appointment.patient.email], connection=connection).send(
        fail_silently=False
    )
    return sent


def send_reminder(membership: Membership, appointment_id: int | str, connection: Any = None) -> ReminderSent:
    """E-mail one appointment's reminder now, unless the patient opted out, has no address, or had one."""
    require(membership, Capability.BOOK_APPOINTMENTS)  # outside the transaction: a refusal stays in the audit trail
    with transaction.atomic():
        appointment = _locked_appointment(membership, appointment_id, Capability.VIEW_SCHEDULE)
        problem = reminder_problem(appointment, opted_in=wants_reminders(appointment.patient))
        if problem:
            raise ValidationError(problem, code="no_reminder")
        return _deliver(appointment, connection)


@dataclass(frozen=True)
class ReminderOutcome:
    """What happened to one due appointment in a reminder run."""

    appointment_id: int
    clinic: str
    starts_at: datetime
    sent: bool
    detail: str


def due_for_reminder(now: datetime) -> list[Appointment]:
    """Booked appointments, in every clinic, starting within their clinic's reminder window and not yet reminded."""
    widest = max(
        [book_settings("").reminder_hours_before]
        + [book_settings(slug).reminder_hours_before for slug in _clinic_slugs()]
    )
    candidates = (
        Appointment.objects.filter(
            status=Status.BOOKED.value,
            starts_at__gt=now,
            starts_at__lte=now + timedelta(hours=widest),
            reminder__isnull=True,
        )
        .select_related("patient", "clinic", "clinician__user")
        .order_by("starts_at", "pk")
    )
    return [
        a
        for a in candidates
        if a.starts_at <= now + timedelta(hours=book_settings(a.clinic.slug).reminder_hours_before)
    ]


def _clinic_slugs() -> list[str]:
    from needlepoint.accounts.models import Clinic

    return list(Clinic.objects.values_list("slug", flat=True))


def send_due_reminders(now: datetime | None = None, connection: Any = None) -> list[ReminderOutcome]:
    """Send every due reminder once (the ``needlepoint reminders send`` cron job); each in its own transaction.

    Patients who asked for no reminders, or have no e-mail address, are skipped and reported; nothing
    is stored for them. A failed send is reported and retried on the next run.
    """
    now = now or timezone.now()
    outcomes = []
    connection = connection or get_connection()
    for candidate in due_for_reminder(now):
        actor = audit.Actor(None, candidate.clinic_id, "cli", None, "needlepoint reminders send")
        with audit.event(actor):
            outcomes.append(_remind_one(candidate.pk, connection))
    return outcomes


def _remind_one(appointment_id: int, connection: Any) -> ReminderOutcome:
    try:
        with transaction.atomic():
            appointment = (
                Appointment.objects.select_for_update(no_key=True)
                .select_related("patient", "clinic", "clinician__user")
                .get(pk=appointment_id)
            )
            problem = reminder_problem(appointment, opted_in=wants_reminders(appointment.patient))
            if problem is None:
                _deliver(appointment, connection)
    except Exception as exc:  # a mail server's refusal is reported, and the next run retries
        return ReminderOutcome(appointment_id, "", timezone.now(), False, f"sending failed: {exc}")
    return ReminderOutcome(
        appointment.pk,
        appointment.clinic.slug,
        appointment.starts_at,
        problem is None,
        f"sent to {appointment.patient.email}" if problem is None else problem,
    )


# --- calendar feeds ----------------------------------------------------------------------------------


def create_calendar_feed(membership: Membership) -> tuple[CalendarFeed, str]:
    """A new private calendar address for the clinician; any earlier one stops working. Returns the raw token once."""
    require(membership, Capability.EDIT_CLINICAL)  # outside the transaction: a refusal stays in the audit trail
    with transaction.atomic():
        if membership.role != Role.CLINICIAN:
            raise ValidationError(
                gettext("Calendar feeds are for clinicians: they carry the clinician's own appointments.")
            )
        for old in CalendarFeed.objects.select_for_update(no_key=True).filter(
            clinician=membership, revoked_at__isnull=True
        ):
            old.revoked_at = timezone.now()
            old.save(update_fields=["revoked_at"])
            audit.wrote(old, created=False)
        raw = CalendarFeed.generate_raw()
        feed = audit.wrote(
            CalendarFeed.objects.create(
                clinic_id=membership.clinic_id,
                clinician=membership,
                token_hash=CalendarFeed.hash_token(raw),
                hint=raw[:8],
            ),
            created=True,
        )
        return feed, raw


def revoke_calendar_feed(membership: Membership, feed_id: int | str) -> CalendarFeed:
    """Stop one of the clinician's own calendar addresses from working."""
    with transaction.atomic():
        try:
            pk = int(feed_id)
        except (TypeError, ValueError):
            pk = 0
        feed = CalendarFeed.objects.select_for_update(no_key=True).filter(pk=pk, clinician=membership).first()
        if feed is None:
            raise ValidationError(gettext("No such calendar feed of yours."))
        if feed.revoked_at is None:
            feed.revoked_at = timezone.now()
            feed.save(update_fields=["revoked_at"])
            audit.wrote(feed, created=False)
        return feed
