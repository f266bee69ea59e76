"""Demo step 3: outcome measures for the new demo episodes.

Each episode gets its condition's questionnaires at baseline, at re-assessment once three weeks have passed
(or at the middle visit), and at discharge; some answered by the patient through a (used) self-report link;
and range of motion for neck, back and elbow conditions. Where the visits step recorded pain, questionnaire
answers follow the pain before treatment at that time, so the progress page tells one consistent story.
Answers are generated item by item and scored with the real scoring rules. Bulk inserts: one audit entry
for the whole demo load is written by ``needlepoint.demo``.
"""

from __future__ import annotations

import hashlib
import random
import secrets
from collections import defaultdict
from datetime import datetime, time, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from needlepoint.outcomes.actions import plan_or_default
from needlepoint.outcomes.models import (
    ClinicInstrumentPlan,
    Observation,
    RomMeasurement,
    SelfReportLink,
    Source,
    TimePoint,
)
from needlepoint.outcomes.plans import PAIN_INSTRUMENT
from needlepoint.outcomes.rom import movements, percent_of_normal
from needlepoint.outcomes.scoring import Instrument, ScoringError, instrument, score
from needlepoint.patients.models import Episode
from needlepoint.visits.models import Visit

BATCH = 500
PATIENT_REPORTED_SHARE = 0.5
REASSESS_AFTER = timedelta(days=21)
PSFS_ACTIVITIES = {
    "neck_pain": ["Turning head to reverse the car", "Reading for 30 minutes", "Sleeping through the night"],
    "low_back_pain": ["Sitting through a work meeting", "Lifting a laundry basket", "Walking 20 minutes"],
    "sciatica": ["Walking 30 minutes", "Sitting for an hour", "Putting on socks"],
    "tension_type_headache": ["Computer work for 2 hours", "Reading", "Exercising"],
    "migraine": ["Working a full day", "Exercising", "Looking after the children"],
    "lateral_epicondylalgia": ["Gripping a kettle", "Carrying shopping", "Using a screwdriver"],
}
DEFAULT_ACTIVITIES = ["Household chores", "Walking 20 minutes", "Sleeping through the night"]
# (joint, movement, sides, method, share of normal at worst) per condition
ROM_BY_CONDITION = {
    "neck_pain": ("cervical_spine", "rotation", ("left", "right"), "crom", 0.55),
    "tension_type_headache": ("cervical_spine", "rotation", ("left", "right"), "crom", 0.7),
    "low_back_pain": ("thoracolumbar_spine", "flexion", (None,), "inclinometer", 0.5),
    "sciatica": ("thoracolumbar_spine", "flexion", (None,), "inclinometer", 0.45),
    "lateral_epicondylalgia": ("wrist", "extension", ("episode",), "goniometer", 0.7),
}


def build(context: Any) -> None:
    """Add outcome observations, self-report links and ROM for the episodes of the patients just added."""
    patient_ids = list(context.history_patient_ids)
    if not patient_ids:
        return
    rng = random.Random(f"{context.seed}:outcomes:{context.summary.get('patients_existing', 0)}")
    plans = {p.condition: p for p in ClinicInstrumentPlan.objects.filter(clinic=context.clinic)}
    totals: dict[str, int] = defaultdict(int)
    for start in range(0, len(patient_ids), BATCH):
        chunk = patient_ids[start : start + BATCH]
        with transaction.atomic():
            _build_chunk(context, rng, plans, chunk, totals)
        context.progress("outcomes", min(start + BATCH, len(patient_ids)), len(patient_ids))
    for key, value in totals.items():
        context.summary[key] = context.summary.get(key, 0) + value


def _build_chunk(
    context: Any,
    rng: random.Random,
    plans: dict[str, ClinicInstrumentPlan],
    patient_ids: list[int],
    totals: dict[str, int],
) -> None:
    episodes = list(Episode.objects.filter(clinic=context.clinic, patient_id__in=patient_ids).order_by("pk"))
    pains: dict[int, list[tuple[datetime, int]]] = defaultdict(list)
    rows = Visit.objects.filter(episode__in=episodes, pain_before__isnull=False).order_by("started_at", "pk")
    for episode_id, started_at, pain_before in rows.values_list("episode_id", "started_at", "pain_before"):
        pains[episode_id].append((started_at, pain_before or 0))  # never None: filtered above
    now = timezone.now()
    links: list[SelfReportLink] = []
    pending: list[tuple[Observation, int | None]] = []  # observation and index of its link in ``links``
    roms: list[RomMeasurement] = []
    for episode in episodes:
        moments = _moments(episode, pains.get(episode.pk, []), now, rng)
        codes = plan_or_default(plans.get(episode.condition), episode.condition)
        notes = _activities(episode.condition)
        for time_point, moment, severity in moments:
            patient_reported = time_point != TimePoint.BASELINE and rng.random() < PATIENT_REPORTED_SHARE
            link_index = None
            if patient_reported:
                links.append(_used_link(episode, codes, time_point, moment))
                link_index = len(links) - 1
            asked = [*codes, PAIN_INSTRUMENT] if patient_reported or not pains.get(episode.pk) else list(codes)
            for code in asked:
                obs = _observation(episode, instrument(code), severity, rng, time_point, moment, notes)
                if obs is not None:
                    pending.append((obs, link_index))
        roms.extend(_rom(episode, moments, rng))
    SelfReportLink.objects.bulk_create(links, batch_size=BATCH)
    observations = []
    for obs, link_index in pending:
        if link_index is None:
            obs.source, obs.recorded_by_id = Source.CLINICIAN, obs.episode.opened_by_id
        else:
            obs.source, obs.self_report_link = Source.PATIENT, links[link_index]
        observations.append(obs)
    Observation.objects.bulk_create(observations, batch_size=BATCH)
    RomMeasurement.objects.bulk_create(roms, batch_size=BATCH)
    totals["observations"] += len(observations)
    totals["self_report_links"] += len(links)
    totals["rom_measurements"] += len(roms)


def _moments(
    episode: Episode, pains: list[tuple[datetime, int]], now: datetime, rng: random.Random
) -> list[tuple[str, datetime, float]]:
    """(time point, when, severity 0-1) for baseline, re-assessment and discharge, as far as the episode got."""
    opened = episode.opened_at
    if pains:
        first, middle, last = pains[0], pains[len(pains) // 2], pains[-1]
        severity = {p: min(1.0, max(0.0, 0.1 + 0.75 * pain / 10 + rng.uniform(-0.05, 0.05))) for p, pain in pains}
        found: list[tuple[str, datetime, float]]
        found = [(TimePoint.BASELINE, max(opened, first[0] - timedelta(minutes=15)), severity[first[0]])]
        if len(pains) >= 3:
            found.append((TimePoint.REASSESSMENT, middle[0] - timedelta(minutes=15), severity[middle[0]]))
        if episode.discharge_date is not None and len(pains) >= 2:
            found.append((TimePoint.DISCHARGE, last[0] + timedelta(minutes=30), severity[last[0]]))
        return [(tp, at, s) for tp, at, s in found if at <= now]
    start = rng.uniform(0.35, 0.8)
    gain = rng.choice([0.15, 0.35, 0.5, 0.65, 0.8])  # a mix of non-responders and responders
    found = [(TimePoint.BASELINE, opened + timedelta(minutes=10), start)]
    if opened + REASSESS_AFTER < now - timedelta(hours=1):
        found.append((TimePoint.REASSESSMENT, opened + REASSESS_AFTER, start * (1 - gain * 0.6)))
    if episode.discharge_date is not None:
        noon = timezone.make_aware(datetime.combine(episode.discharge_date, time(12, 0)))
        if noon < now:
            found.append((TimePoint.DISCHARGE, noon, start * (1 - gain)))
    return found


def _activities(condition: str) -> dict[str, str]:
    names = PSFS_ACTIVITIES.get(condition, DEFAULT_ACTIVITIES)
    return {f"activity_{n}": name for n, name in enumerate(names, start=1)}


def _answers(defn: Instrument, severity: float, rng: random.Random) -> list[Any]:
    """Item answers whose points sit near ``severity`` of the way from best to worst, with item-level noise."""
    worse_high = defn.direction == "higher_is_worse"
    answers: list[Any] = []
    for item in defn.items:
        if not item.scored or item.module is not None or item.kind == "measurement":
            answers.append(None)
            continue
        share = min(1.0, max(0.0, severity + rng.uniform(-0.15, 0.15)))
        share = share if worse_high else 1 - share
        if item.kind == "choice":
            points = [float(o.points) for o in item.options]
            wanted = min(points) + share * (max(points) - min(points))
            nearest = min(range(len(points)), key=lambda i: abs(points[i] - wanted))
            answers.append(int(item.options[nearest].printed))  # answers are what the form prints
        else:
            low, high = float(item.minimum), float(item.maximum)
            answers.append(round(low + share * (high - low)))
    if defn.code == "PSFS":
        answers[3:] = [None, None]  # three activities rated
    return answers


def _observation(
    episode: Episode,
    defn: Instrument,
    severity: float,
    rng: random.Random,
    time_point: str,
    moment: datetime,
    notes: dict[str, str],
) -> Observation | None:
    answers = _answers(defn, severity, rng)
    try:
        result = score(defn.code, answers)
    except ScoringError:
        return None  # an instrument a clinic added that generated answers cannot fill (e.g. a measurement)
    return Observation(
        clinic_id=episode.clinic_id,
        patient_id=episode.patient_id,
        episode=episode,
        instrument=defn.code,
        value=result.total,
        unit=result.unit,
        subscales=result.subscales,
        answers={item.id: value for item, value in zip(defn.items, answers, strict=True)},
        item_notes=notes if defn.code == "PSFS" else {},
        observed_at=moment,
        observed_on=timezone.localdate(moment),
        time_point=time_point,
        created_at=moment,
    )


def _used_link(episode: Episode, codes: tuple[str, ...], time_point: str, moment: datetime) -> SelfReportLink:
    # The demo never shows these tokens: the stored hash is of a secret thrown away, so no demo link opens.
    return SelfReportLink(
        clinic_id=episode.clinic_id,
        patient_id=episode.patient_id,
        episode=episode,
        instruments=list(codes),
        include_pain=True,
        time_point=time_point,
        token_hash=hashlib.sha256(secrets.token_bytes(32)).hexdigest(),
        created_by_id=episode.opened_by_id,
        created_at=moment - timedelta(days=1),
        expires_at=moment + timedelta(days=6),
        used_at=moment,
    )


def _rom(episode: Episode, moments: list[tuple[str, datetime, float]], rng: random.Random) -> list[RomMeasurement]:
    spec = ROM_BY_CONDITION.get(episode.condition)
    if spec is None or not moments:
        return []
    joint, movement, sides, method, worst = spec
    normal = next(m.normal for m in movements() if m.joint == joint and m.movement == movement)
    chosen = [moments[0]] + ([moments[-1]] if len(moments) > 1 else [])
    found = []
    for time_point, moment, severity in chosen:
        for side in sides:
            if side == "episode":
                side = episode.side if episode.side in ("left", "right") else "right"
            share = 1 - (1 - worst) * severity + rng.uniform(-0.04, 0.04)
            degrees = float(round(min(normal * 1.05, max(5.0, normal * share))))
            found.append(
                RomMeasurement(
                    clinic_id=episode.clinic_id,
                    patient_id=episode.patient_id,
                    episode=episode,
                    joint=joint,
                    movement=movement,
                    side=side or "",
                    degrees=degrees,
                    method=method,
                    normal_degrees=normal,
                    percent_of_normal=percent_of_normal(joint, movement, degrees),
                    observed_at=moment + timedelta(minutes=5),
                    observed_on=timezone.localdate(moment + timedelta(minutes=5)),
                    time_point=time_point,
                    recorded_by_id=episode.opened_by_id,
                    created_at=moment,
                )
            )
    return found
