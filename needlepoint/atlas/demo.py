"""Demo step 2: pain drawings and palpation findings for the new demo episodes.

Each new episode gets an initial assessment with a drawing typical of its condition on the episode's side,
the trigger points found in the muscles the matcher ranks highest, and, once three weeks have passed, a
re-assessment with less pain (and a discharge assessment for discharged episodes). Deterministic for a seed;
only episodes without assessments are touched, so running it again adds nothing. Bulk inserts: one audit
entry for the whole demo load is written by ``needlepoint.demo``.
"""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from needlepoint.atlas.catalogue import body_map, muscles
from needlepoint.atlas.matcher import rank_muscles
from needlepoint.atlas.models import Assessment, PalpationFinding
from needlepoint.patients.models import Episode

BATCH = 500
REASSESS_AFTER = timedelta(days=21)
# Regions drawn for each condition, as codes without their side (midline codes as they are), most typical first.
DRAWINGS = {
    "neck_pain": ["posterolateral-neck", "angle-of-neck", "top-of-shoulder", "occiput", "suprascapular"],
    "tension_type_headache": ["temple", "posterolateral-neck", "occiput", "forehead", "mastoid"],
    "migraine": ["temple", "behind-eye", "forehead", "occiput", "side-of-head"],
    "low_back_pain": ["low-back", "sacroiliac", "upper-buttock", "lumbar-spine", "iliac-crest"],
    "sciatica": ["upper-buttock", "lower-lateral-buttock", "upper-posterior-thigh", "lower-posterior-thigh", "calf"],
    "lateral_epicondylalgia": ["lateral-epicondyle", "dorsal-forearm", "dorsal-wrist", "dorsum-of-hand"],
    "tendinopathy": ["lateral-shoulder", "anterior-shoulder", "lateral-arm", "posterior-shoulder"],
    "joint_spine_dysfunction": ["mid-back", "between-shoulder-blades", "medial-scapular-border", "base-of-neck"],
    "other": ["top-of-shoulder", "anterior-shoulder", "posterior-shoulder"],
}
SIDES = {"left": ("-l",), "right": ("-r",), "bilateral": ("-l", "-r"), "central": ("-l", "-r")}


def build(context: Any) -> None:
    """Add assessments and findings for the episodes of the patients just added."""
    patient_ids = list(context.history_patient_ids)
    if not patient_ids:
        return
    rng = random.Random(f"{context.seed}:atlas:{context.summary.get('patients_existing', 0)}")
    totals = {"assessments": 0, "palpation_findings": 0}
    for start in range(0, len(patient_ids), BATCH):
        chunk = patient_ids[start : start + BATCH]
        with transaction.atomic():
            _build_chunk(context, rng, chunk, totals)
        context.progress("pain drawings", min(start + BATCH, len(patient_ids)), len(patient_ids))
    for key, value in totals.items():
        context.summary[key] = context.summary.get(key, 0) + value


def _build_chunk(context: Any, rng: random.Random, patient_ids: list[int], totals: dict[str, int]) -> None:
    episodes = list(
        Episode.objects.filter(clinic=context.clinic, patient_id__in=patient_ids, assessments__isnull=True)
        .distinct()
        .order_by("pk")
    )
    now = timezone.now()
    planned: list[tuple[Assessment, list[dict[str, Any]]]] = []
    for episode in episodes:
        drawing = demo_drawing(episode, rng)
        initial_at = min(episode.opened_at + timedelta(minutes=5), now)
        initial = _assessment(episode, Assessment.Kind.INITIAL, initial_at, drawing)
        planned.append((initial, _findings(episode, drawing, rng)))
        later = _later_moments(episode, initial_at, now)
        for kind, at, relief in later:
            eased = {code: max(0, round(v * (1 - relief))) if v is not None else None for code, v in drawing.items()}
            eased = {code: v for code, v in eased.items() if v is None or v > 0}
            planned.append((_assessment(episode, kind, at, eased), []))
    created = Assessment.objects.bulk_create([a for a, _ in planned], batch_size=BATCH)
    findings = []
    for assessment, specs in zip(created, (f for _, f in planned), strict=True):
        for spec in specs:
            findings.append(
                PalpationFinding(
                    clinic_id=assessment.clinic_id,
                    patient_id=assessment.patient_id,
                    assessment=assessment,
                    recorded_by_id=assessment.clinician_id,
                    recorded_at=assessment.assessed_at + timedelta(minutes=10),
                    **spec,
                )
            )
    PalpationFinding.objects.bulk_create(findings, batch_size=BATCH)
    totals["assessments"] += len(created)
    totals["palpation_findings"] += len(findings)


def demo_drawing(episode: Episode, rng: random.Random) -> dict[str, int | None]:
    """A plausible drawing for the episode's condition and side: the typical region and a few of the rest."""
    regions = body_map().regions
    bases = DRAWINGS.get(episode.condition, DRAWINGS["other"])
    chosen = [bases[0], *[b for b in bases[1:] if rng.random() < 0.55]]
    drawing: dict[str, int | None] = {}
    for index, base in enumerate(chosen):
        codes = [base] if base in regions else [base + suffix for suffix in SIDES.get(episode.side, ("-r",))]
        for code in codes:
            unrated = rng.random() < 0.1
            drawing[code] = None if unrated else rng.randint(5, 8) if index == 0 else rng.randint(2, 6)
    return drawing


def _assessment(episode: Episode, kind: str, at: datetime, drawing: dict[str, int | None]) -> Assessment:
    return Assessment(
        clinic_id=episode.clinic_id,
        patient_id=episode.patient_id,
        episode=episode,
        clinician_id=episode.opened_by_id,
        kind=kind,
        assessed_at=at,
        created_at=at,
        drawing=drawing,
    )


def _later_moments(episode: Episode, initial_at: datetime, now: datetime) -> list[tuple[str, datetime, float]]:
    moments: list[tuple[str, datetime, float]] = []
    reassess_at = initial_at + REASSESS_AFTER
    discharge_at = None
    if episode.discharge_date is not None:
        discharge_at = timezone.make_aware(datetime.combine(episode.discharge_date, time(12, 0)))
    if reassess_at < now - timedelta(hours=1) and (discharge_at is None or reassess_at < discharge_at):
        moments.append((Assessment.Kind.REASSESSMENT, reassess_at, 0.4))
    if discharge_at is not None and initial_at < discharge_at < now:
        moments.append((Assessment.Kind.DISCHARGE, discharge_at, 0.7))
    return moments


def _findings(episode: Episode, drawing: dict[str, int | None], rng: random.Random) -> list[dict[str, Any]]:
    """Trigger points in the two or three best-ranked muscles: the first active and reproducing the pain."""
    condition = episode.condition if episode.condition in DRAWINGS else None
    matches = rank_muscles(drawing, condition, limit=rng.choice([2, 3]))
    atlas = muscles()
    specs = []
    for rank, match in enumerate(matches):
        sides = ("left", "right") if match.side == "both" else (match.side,)
        points = atlas[match.muscle_id].trigger_points
        for side in sides:
            specs.append(
                {
                    "muscle_id": match.muscle_id,
                    "side": side,
                    "trigger_point": match.trigger_point or points[0].code,
                    "status": PalpationFinding.Status.ACTIVE if rank < 2 else PalpationFinding.Status.LATENT,
                    "twitch_response": rng.choice(["none", "single", "single", "several"]),
                    "reproduces_familiar_pain": rank == 0 or rng.random() < 0.3,
                }
            )
    return specs
