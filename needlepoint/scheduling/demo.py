"""Demo step: a booked day today and the coming two weeks for each demo clinician.

Each clinician's follow-ups go to patients with an open episode they opened; a few new-patient slots go to
patients without visits. Built once per clinic (a rebuilt or extended demo keeps the book it has).
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from needlepoint.patients.models import Episode
from needlepoint.scheduling.models import Appointment

DAYS_AHEAD = 14
FIRST_SLOT = time(8, 0)
SLOTS_PER_DAY = 9  # 08:00 to 16:00, on the hour


def build(context: Any) -> None:
    """Book today's and the next two weeks' appointments for the demo clinicians (weekdays only)."""
    clinic = context.clinic
    today = timezone.localdate()
    start_of_today = timezone.make_aware(datetime.combine(today, time.min))
    if Appointment.objects.filter(clinic=clinic, starts_at__gte=start_of_today).exists():
        return
    rng = context.rng
    rows: list[Appointment] = []
    for username in ("pt", "chiro"):
        clinician = context.memberships.get(username)
        if clinician is None:
            continue
        patients = list(
            Episode.objects.filter(clinic=clinic, opened_by=clinician, status=Episode.Status.OPEN)
            .order_by("pk")
            .values_list("patient_id", flat=True)[:200]
        )
        if not patients:
            continue
        for offset in range(DAYS_AHEAD + 1):
            day = today + timedelta(days=offset)
            if day.weekday() >= 5:
                continue
            # Today is full enough to click through; later days are booked about two thirds full.
            slots = range(SLOTS_PER_DAY) if offset == 0 else rng.sample(range(SLOTS_PER_DAY), 6)
            for n in sorted(slots):
                starts = timezone.make_aware(datetime.combine(day, FIRST_SLOT)) + timedelta(hours=n)
                new_patient = n == 0 and offset % 3 == 0
                minutes = 60 if new_patient else rng.choice([30, 30, 45])
                rows.append(
                    Appointment(
                        clinic=clinic,
                        patient_id=rng.choice(patients),
                        clinician=clinician,
                        kind="new_patient" if new_patient else "follow_up",
                        starts_at=starts,
                        ends_at=starts + timedelta(minutes=minutes),
                        booked_by=context.memberships.get("desk", clinician),
                        booked_at=timezone.now() - timedelta(days=rng.randint(1, 20)),
                    )
                )
    _without_patient_clashes(rows)
    with transaction.atomic():
        Appointment.objects.bulk_create(rows, batch_size=500)
    context.summary["appointments"] = context.summary.get("appointments", 0) + len(rows)


def _without_patient_clashes(rows: list[Appointment]) -> None:
    """Drop any slot that would give one patient two appointments at once (the two clinicians' books)."""
    taken: dict[int, list[Appointment]] = {}
    keep = []
    for a in rows:
        mine = taken.setdefault(a.patient_id, [])
        if any(a.starts_at < b.ends_at and b.starts_at < a.ends_at for b in mine):
            continue
        mine.append(a)
        keep.append(a)
    rows[:] = keep
