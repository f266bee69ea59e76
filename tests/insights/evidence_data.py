"""Small hand-made clinic data for the evidence-report tests, written straight to a real database, and the
report's definitions recomputed in plain Python from every row (the independent side of each comparison)."""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.utils import timezone

from needlepoint.accounts.models import Clinic, Membership
from needlepoint.outcomes.models import Observation, RomMeasurement
from needlepoint.patients.models import Episode, Patient
from needlepoint.visits.models import AdverseEvent, NeedlingEntry, Visit

_numbers = itertools.count(1)
START = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


def moment(day: int, hour: int = 9) -> datetime:
    """A fixed moment ``day`` days after the test start."""
    return START + timedelta(days=day, hours=hour - 9)


def episode(
    clinic: Clinic,
    clinician: Membership,
    condition: str = "neck_pain",
    *,
    opened: int = 0,
    discharged: int | None = None,
    reason: str = "",
) -> Episode:
    """A patient with one episode, opened ``opened`` days after the start, discharged after ``discharged``."""
    number = next(_numbers)
    patient = Patient.objects.create(
        clinic=clinic,
        mrn=f"T-{number:05d}",
        given_name="Test",
        family_name=f"Patient {number}",
        date_of_birth=date(1980, 1, 1),
    )
    return Episode.objects.create(
        clinic=clinic,
        patient=patient,
        condition=condition,
        icd10_code="M54.2",
        side="central",
        onset_date=date(2025, 1, 1),
        opened_by=clinician,
        opened_at=moment(opened),
        status="discharged" if discharged is not None else "open",
        discharge_date=moment(discharged).date() if discharged is not None else None,
        discharge_reason=reason if discharged is not None else "",
    )


def visit(
    ep: Episode,
    clinician: Membership,
    day: int,
    before: int | None,
    after: int | None,
    needling: list[tuple[str, str]] | None = None,
    events: list[tuple[str, str]] | None = None,
) -> Visit:
    """A visit with pain before/after, needling entries (muscle, technique) and adverse events (type, severity)."""
    entries = needling or []
    record = Visit.objects.create(
        clinic=ep.clinic,
        patient=ep.patient,
        episode=ep,
        clinician=clinician,
        started_at=moment(day),
        pain_before=before,
        pain_after=after,
        needles_opened=len(entries),
        needles_inserted=len(entries),
        needles_removed=len(entries),
        needles_in_sharps=len(entries),
    )
    for position, (muscle, technique) in enumerate(entries):
        NeedlingEntry.objects.create(
            clinic=ep.clinic,
            patient=ep.patient,
            visit=record,
            position=position,
            muscle_id=muscle,
            side="left",
            needles=1,
            diameter_mm=Decimal("0.25"),
            length_mm=Decimal("30.0"),
            technique=technique,
            twitch_response="none",
            recorded_by=clinician,
        )
    for event_type, severity in events or []:
        AdverseEvent.objects.create(
            clinic=ep.clinic,
            patient=ep.patient,
            visit=record,
            event_type=event_type,
            severity=severity,
            onset_at=moment(day),
            action_taken="Observed.",
            outcome="resolved",
            recorded_by=clinician,
            closed_at=moment(day + 1),
            closed_by=clinician,
        )
    return record


def observation(ep: Episode, clinician: Membership, code: str, value: float, day: int, time_point: str) -> Observation:
    """One score on an instrument."""
    return Observation.objects.create(
        clinic=ep.clinic,
        patient=ep.patient,
        episode=ep,
        instrument=code,
        value=value,
        unit="points",
        observed_on=moment(day).date(),
        observed_at=moment(day),
        time_point=time_point,
        source="clinician",
        recorded_by=clinician,
    )


def rom(
    ep: Episode,
    clinician: Membership,
    degrees: float,
    day: int,
    time_point: str,
    joint: str = "cervical_spine",
    movement: str = "rotation",
    method: str = "crom",
    side: str = "left",
    normal: float = 80,
) -> RomMeasurement:
    """One range-of-motion measurement."""
    return RomMeasurement.objects.create(
        clinic=ep.clinic,
        patient=ep.patient,
        episode=ep,
        joint=joint,
        movement=movement,
        side=side,
        degrees=degrees,
        method=method,
        normal_degrees=normal,
        percent_of_normal=degrees / normal * 100,
        observed_on=moment(day).date(),
        observed_at=moment(day),
        time_point=time_point,
        recorded_by=clinician,
    )


# ---------------------------------------------------------------------------------------------------- expected


@dataclass
class EpisodeFacts:
    """One episode as the report's definitions see it, worked out from its rows in Python."""

    id: int
    patient_id: int
    condition: str
    side: str
    clinician_id: int
    needled: bool  # needles inserted at the first visit: the report's cohort
    needled_any_visit: bool
    pairs: dict[str, tuple[float | None, float | None]]
    base_pain: int | None
    after_1: int | None
    before_2: int | None
    before_3: int | None
    rom: dict[tuple[str, str, str, str], tuple[float, float | None, float | None, float | None]]
    days: int
    goals_met: bool

    def rom_per_episode(self) -> dict[tuple[str, str, str], tuple[float | None, float | None]]:
        """(gain, percent gain) per movement and method: the treated side if measured, else the mean of sides."""
        found = {}
        for joint, movement, method in {(j, m, k) for j, m, _, k in self.rom}:
            sides = {
                side: values for (j, m, side, k), values in self.rom.items() if (j, m, k) == (joint, movement, method)
            }
            kept = [sides[self.side]] if self.side in sides else list(sides.values())
            gains = [gain for _, _, gain, _ in kept if gain is not None]
            percents = [percent for *_, percent in kept if percent is not None]
            found[(joint, movement, method)] = (
                sum(gains) / len(gains) if gains else None,
                sum(percents) / len(percents) if percents else None,
            )
        return found


def facts(clinic: Clinic, as_of: date) -> list[EpisodeFacts]:
    """Every episode of ``clinic``, reduced by the report's definitions, one row at a time in Python."""
    found = []
    for ep in Episode.objects.filter(clinic=clinic).order_by("pk"):
        visits = sorted(Visit.objects.filter(episode=ep), key=lambda v: (v.started_at, v.pk))
        observations = defaultdict(list)
        for obs in Observation.objects.filter(episode=ep):
            observations[obs.instrument].append(obs)
        pairs = {}
        for code, rows in observations.items():
            rows.sort(key=lambda o: (o.observed_at, o.pk))
            baseline = rows[0].value if rows[0].time_point == "baseline" else None
            final = rows[-1].value if len(rows) > 1 and rows[-1].time_point != "baseline" else None
            pairs[code] = (baseline, final)
        series = defaultdict(list)
        for measurement in RomMeasurement.objects.filter(episode=ep):
            series[(measurement.joint, measurement.movement, measurement.side, measurement.method)].append(measurement)
        rom_facts = {}
        for key, rows in series.items():
            rows.sort(key=lambda r: (r.observed_at, r.pk))
            first, last = rows[0], rows[-1] if len(rows) > 1 else None
            gain = last.degrees - first.degrees if last else None
            percent = (
                last.percent_of_normal - first.percent_of_normal
                if last and last.percent_of_normal is not None and first.percent_of_normal is not None
                else None
            )
            rom_facts[key] = (first.degrees, last.degrees if last else None, gain, percent)
        ended = ep.discharge_date or as_of
        found.append(
            EpisodeFacts(
                id=ep.pk,
                patient_id=ep.patient_id,
                condition=ep.condition,
                side=ep.side,
                clinician_id=ep.opened_by_id,
                needled=bool(visits) and visits[0].needles_inserted > 0,
                needled_any_visit=any(v.needles_inserted > 0 for v in visits),
                pairs=pairs,
                base_pain=visits[0].pain_before if visits else None,
                after_1=visits[0].pain_after if visits else None,
                before_2=visits[1].pain_before if len(visits) > 1 else None,
                before_3=visits[2].pain_before if len(visits) > 2 else None,
                rom=rom_facts,
                days=max(0, (ended - timezone.localdate(ep.opened_at)).days),  # the clinic's day opened
                goals_met=ep.status == "discharged" and ep.discharge_reason == "goals_met",
            )
        )
    return found
