"""The rules of the appointment book: overlaps, weekly series, lengths and status changes.

Pure module (no Django imports), so each rule can be read and tested on its own. Times are aware
``datetime`` values; an appointment occupies the half-open interval [start, end), so one that ends at
10:00 and one that starts at 10:00 do not overlap.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum


class Status(StrEnum):
    """Where an appointment stands in the clinic's day."""

    BOOKED = "booked"
    ARRIVED = "arrived"
    IN_TREATMENT = "in_treatment"
    COMPLETED = "completed"
    NO_SHOW = "no_show"
    CANCELLED = "cancelled"


STATUS_LABELS: dict[Status, str] = {
    Status.BOOKED: "Booked",
    Status.ARRIVED: "Arrived",
    Status.IN_TREATMENT: "In treatment",
    Status.COMPLETED: "Completed",
    Status.NO_SHOW: "No-show",
    Status.CANCELLED: "Cancelled",
}

# Which status may follow which. "Arrived" can go back to "booked" (marked by mistake); a completed,
# no-show or cancelled appointment is history and stays as it is (book a new one instead).
TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.BOOKED: frozenset({Status.ARRIVED, Status.IN_TREATMENT, Status.NO_SHOW, Status.CANCELLED}),
    Status.ARRIVED: frozenset({Status.BOOKED, Status.IN_TREATMENT, Status.NO_SHOW, Status.CANCELLED}),
    Status.IN_TREATMENT: frozenset({Status.COMPLETED}),
    Status.COMPLETED: frozenset(),
    Status.NO_SHOW: frozenset(),
    Status.CANCELLED: frozenset(),
}

# Statuses whose time is still taken in the clinician's calendar (a cancelled or missed slot is free again).
HOLDS_TIME = frozenset({Status.BOOKED, Status.ARRIVED, Status.IN_TREATMENT, Status.COMPLETED})


def transition_problem(current: str, wanted: str) -> str | None:
    """Why an appointment cannot move from ``current`` to ``wanted``, or None when it can."""
    try:
        old, new = Status(current), Status(wanted)
    except ValueError:
        return f"Unknown status {wanted!r}: choose one of {', '.join(s.value for s in Status)}."
    if old == new:
        return f"The appointment is already {STATUS_LABELS[old].lower()}."
    if new not in TRANSITIONS[old]:
        if TRANSITIONS[old]:
            allowed = ", ".join(sorted(STATUS_LABELS[s].lower() for s in TRANSITIONS[old]))
            return (
                f"A {STATUS_LABELS[old].lower()} appointment cannot become {STATUS_LABELS[new].lower()}; "
                f"it can become {allowed}."
            )
        return (
            f"A {STATUS_LABELS[old].lower()} appointment cannot become {STATUS_LABELS[new].lower()}: "
            "it is closed. Book a new appointment instead."
        )
    return None


@dataclass(frozen=True)
class Slot:
    """A span of a clinician's time: [start, end)."""

    start: datetime
    end: datetime

    def overlaps(self, other: Slot) -> bool:
        """Whether the two spans share any moment (touching ends do not count)."""
        return self.start < other.end and other.start < self.end


def slot(start: datetime, minutes: int) -> Slot:
    """The span of an appointment of ``minutes`` starting at ``start``."""
    return Slot(start, start + timedelta(minutes=minutes))


def clashes(wanted: Sequence[Slot], taken: Iterable[Slot]) -> list[Slot]:
    """The wanted spans that overlap a taken one, or each other, in the order wanted."""
    taken = list(taken)
    clashing: list[Slot] = []
    for i, candidate in enumerate(wanted):
        against = taken + [w for j, w in enumerate(wanted) if j != i]
        if any(candidate.overlaps(other) for other in against):
            clashing.append(candidate)
    return clashing


MAX_SERIES = 26  # half a year of weekly visits; a longer plan is reviewed and booked again


def weekly_series(first: datetime, count: int, every_weeks: int = 1) -> list[datetime]:
    """The start times of ``count`` appointments, ``every_weeks`` weeks apart, from ``first``.

    Pass ``first`` in the clinic's time zone: adding weeks to an aware time keeps its wall-clock time,
    so 09:00 stays 09:00 across a daylight-saving change.
    """
    if count < 1 or count > MAX_SERIES:
        raise ValueError(f"A series has between 1 and {MAX_SERIES} appointments.")
    if every_weeks < 1 or every_weeks > 8:
        raise ValueError("Repeat every 1 to 8 weeks.")
    return [first + timedelta(weeks=every_weeks * n) for n in range(count)]


def free_starts(
    opens: datetime, closes: datetime, taken: Iterable[Slot], *, minutes: int, step: int = 30, not_before: datetime
) -> list[datetime]:
    """Start times every ``step`` minutes between ``opens`` and ``closes`` where ``minutes`` fit without
    meeting a taken slot, from ``not_before`` on: the free places a calendar offers to book."""
    taken = list(taken)
    found = []
    start = opens
    while start + timedelta(minutes=minutes) <= closes:
        wanted = slot(start, minutes)
        if start >= not_before and not any(wanted.overlaps(t) for t in taken):
            found.append(start)
        start += timedelta(minutes=step)
    return found


def hours_problem(local_start: datetime, minutes: int, opens: time, closes: time) -> str | None:
    """Why an appointment starting at ``local_start`` (the clinic's time zone) for ``minutes`` falls outside the
    clinic's booking hours, or None when it fits."""
    end = local_start + timedelta(minutes=minutes)
    if local_start.time() < opens or end.date() != local_start.date() or end.time() > closes:
        return (
            f"The clinic books between {opens:%H:%M} and {closes:%H:%M}; "
            f"{local_start:%H:%M} for {minutes} minutes falls outside."
        )
    return None


# The quick choices of the booking form: the same time of day this many weeks after the last appointment.
FOLLOW_UP_WEEKS = (1, 2, 3)


@dataclass(frozen=True)
class QuickChoice:
    """A start the booking form offers in one click, and why it cannot be booked (None when it can)."""

    weeks: int
    start: datetime
    problem: str | None

    @property
    def label(self) -> str:
        """'in 1 week', 'in 2 weeks'."""
        return f"in {self.weeks} week{'s' if self.weeks != 1 else ''}"


def follow_up_choices(
    last: datetime,
    minutes: int,
    *,
    opens: time,
    closes: time,
    now: datetime,
    clinician_taken: Iterable[Slot],
    patient_taken: Iterable[Slot],
    weeks: Sequence[int] = FOLLOW_UP_WEEKS,
) -> list[QuickChoice]:
    """The same time of day 1, 2 and 3 weeks after ``last`` (the clinic's time zone), each with the reason it
    cannot be booked: in the past, outside the booking hours, the clinician or the patient already booked.
    Choices already in the past are left out; the server checks every rule again when the booking is made."""
    clinician_taken, patient_taken = list(clinician_taken), list(patient_taken)
    choices = []
    for n in weeks:
        start = last + timedelta(weeks=n)
        if start < now:
            continue
        wanted = slot(start, minutes)
        problem = "outside the booking hours" if hours_problem(start, minutes, opens, closes) else None
        if problem is None and any(wanted.overlaps(t) for t in clinician_taken):
            problem = "the clinician is booked then"
        elif problem is None and any(wanted.overlaps(t) for t in patient_taken):
            problem = "the patient has another appointment then"
        choices.append(QuickChoice(n, start, problem))
    return choices


def length_problem(minutes: int, allowed: Sequence[int]) -> str | None:
    """Why an appointment length is not offered, or None when it is."""
    if minutes not in allowed:
        return f"Choose a length of {', '.join(str(m) for m in allowed)} minutes."
    return None


def week_of(day: date) -> list[date]:
    """Monday to Sunday of the week that holds ``day``."""
    monday = day - timedelta(days=day.weekday())
    return [monday + timedelta(days=n) for n in range(7)]
