"""What the booking form proposes once the patient is chosen: a follow-up with the clinician of the patient's
last appointment (or, without one, last visit), of the same length, at the same time of day one, two or three
weeks later, and the clinician's free times on the proposed day.

Reads only, a fixed number of queries. A proposal saves the front desk typing; it decides nothing: the
booking action checks every rule again (double booking, the past, opening hours) when the form is sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from needlepoint.accounts.models import Membership
from needlepoint.accounts.roles import Role
from needlepoint.patients.models import Patient
from needlepoint.scheduling import actions, rules
from needlepoint.scheduling.calendar import day_bounds
from needlepoint.scheduling.config import BookSettings
from needlepoint.scheduling.models import Appointment

# The type a follow-up is booked as, when the clinic offers it (the visit page's follow-up link uses it too).
FOLLOW_UP = "follow_up"


@dataclass(frozen=True)
class Proposal:
    """A follow-up proposed from the patient's last appointment or visit."""

    clinician: Membership
    kind: str
    minutes: int
    last: str  # what the proposal follows, in words: "follow-up on Wed 2 Dec 2026 10:00 with Alice Smith"
    choices: list[rules.QuickChoice]

    @property
    def first_free(self) -> rules.QuickChoice | None:
        """The earliest quick choice that can be booked, which the form is filled in with."""
        return next((c for c in self.choices if c.problem is None), None)


def _holding() -> list[str]:
    return [s.value for s in rules.HOLDS_TIME]


def _last_seen(patient: Patient, now: datetime) -> tuple[datetime, Membership, str, int | None] | None:
    """When, with whom and as what the patient was last seen (an appointment up to today, else a visit)."""
    end_of_today = day_bounds(timezone.localdate(now))[1]
    last = (
        Appointment.objects.filter(patient=patient, status__in=_holding(), starts_at__lt=end_of_today)
        .select_related("clinic", "clinician__user")
        .order_by("-starts_at", "-pk")
        .first()
    )
    if last is not None:
        return last.starts_at, last.clinician, last.kind_label.lower(), last.minutes
    from needlepoint.visits.models import Visit  # visits depend on scheduling, not the other way round

    visit = (
        Visit.objects.filter(patient=patient, started_at__lt=end_of_today)
        .select_related("clinician__user")
        .order_by("-started_at", "-pk")
        .first()
    )
    if visit is None:
        return None
    return visit.started_at, visit.clinician, "visit", None


def taken_slots(
    clinic_id: int, clinician_id: int, patient: Patient, start: datetime, end: datetime
) -> tuple[list[rules.Slot], list[rules.Slot]]:
    """The clinician's and the patient's booked time between ``start`` and ``end``, in one query."""
    rows = (
        Appointment.objects.filter(clinic_id=clinic_id, status__in=_holding(), starts_at__lt=end, ends_at__gt=start)
        .filter(Q(clinician_id=clinician_id) | Q(patient=patient))
        .only("starts_at", "ends_at", "clinician_id", "patient_id")
    )
    clinician: list[rules.Slot] = []
    patients: list[rules.Slot] = []
    for a in rows:
        (clinician if a.clinician_id == clinician_id else patients).append(rules.Slot(a.starts_at, a.ends_at))
    return clinician, patients


def follow_up_proposal(
    patient: Patient, offered: BookSettings, now: datetime | None = None, clinician_id: int | None = None
) -> Proposal | None:
    """The follow-up the booking form proposes for ``patient``, or None when the patient was never seen.

    The clinician is the last one who saw the patient, unless ``clinician_id`` (chosen on a calendar) is given.
    """
    now = now or timezone.now()
    seen = _last_seen(patient, now)
    if seen is None:
        return None
    when, last_clinician, what, last_minutes = seen
    clinician = last_clinician
    if clinician_id is not None and clinician_id != last_clinician.pk:
        clinician = Membership.objects.select_related("user").filter(pk=clinician_id).first() or last_clinician
    if clinician.role != Role.CLINICIAN or not clinician.is_active or clinician.clinic_id != patient.clinic_id:
        return None
    kind = offered.type_named(FOLLOW_UP) or next(iter(offered.types), None)
    if kind is None:
        return None
    minutes = last_minutes if last_minutes in kind.lengths else kind.minutes
    local = timezone.localtime(when)
    starts = [local + timedelta(weeks=n) for n in rules.FOLLOW_UP_WEEKS]
    theirs, patients = taken_slots(
        patient.clinic_id, clinician.pk, patient, starts[0], starts[-1] + timedelta(minutes=minutes)
    )
    choices = rules.follow_up_choices(
        local,
        minutes,
        opens=offered.day_starts,
        closes=offered.day_ends,
        now=now,
        clinician_taken=theirs,
        patient_taken=patients,
    )
    name = last_clinician.user.get_full_name() or last_clinician.user.username
    return Proposal(clinician, kind.code, minutes, f"{what} on {actions.when(when)} with {name}", choices)


def free_times(
    clinician_id: int, patient: Patient, day: date, minutes: int, offered: BookSettings, now: datetime | None = None
) -> list[datetime]:
    """Starts on ``day``, every 30 minutes in the booking hours, where neither the clinician nor the patient
    is booked for ``minutes``."""
    now = now or timezone.now()
    opens = timezone.make_aware(datetime.combine(day, offered.day_starts))
    closes = timezone.make_aware(datetime.combine(day, offered.day_ends))
    theirs, patients = taken_slots(patient.clinic_id, clinician_id, patient, opens, closes)
    return rules.free_starts(opens, closes, theirs + patients, minutes=minutes, not_before=now)
