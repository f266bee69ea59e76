"""Demo step 2: treatment visits for the demo patients, with needling, reconciled needle counts, signed
notes, addenda, adverse events at about the published rates, and one needle unaccounted for.

Each needled visit records the patient's position (lying, chosen from where the muscles lie) and the
clean-technique checklist; the clinic has one fainting (vasovagal) event with its observation and driving
advice, and one needle-stick injury to a clinician with its protocol steps.

Adverse events are drawn per needled visit at Brady 2014's per-treatment rates [S1]:
about 19% of treatments have a mild event, mostly bruising (7.55%) and bleeding (4.65%); no significant
events. The warnings each visit's needling raises are acknowledged with a plausible reason, as the pages
would require. Rows are inserted in bulk (unsigned, then signed), so a large clinic builds in minutes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from needlepoint.accounts import audit
from needlepoint.atlas.catalogue import muscles as atlas_muscles
from needlepoint.grammar import clause, join_sentences, plural
from needlepoint.patients.models import Consent, Episode, Screening
from needlepoint.patients.screening_rules import ScreeningResult
from needlepoint.visits import accountability, clinic_safety, cpt, safety
from needlepoint.visits.models import (
    Addendum,
    AdverseEvent,
    AdverseEventFollowUp,
    NeedleStickIncident,
    NeedlingEntry,
    Visit,
)
from needlepoint.visits.muscles import hazards, needling_muscles
from needlepoint.visits.note import NoteAcknowledgement, NoteEntry, NoteInput, soap_note
from needlepoint.visits.summary import size_label

BATCH = 500
# Brady 2014, mild adverse events per treatment [S1]; "other" gathers fatigue, altered
# emotions, shaking, itching, claustrophobia and numbness.
BRADY_RATES = {
    "bruising": 0.0755,
    "bleeding": 0.0465,
    "pain_during": 0.0301,
    "pain_after_24h": 0.0219,
    "symptom_aggravation": 0.0088,
    "drowsiness": 0.0026,
    "headache": 0.0014,
    "nausea": 0.0013,
    "other": 0.0011,
}
ACTIONS = {
    "bruising": "Pressure applied; advised a cold pack.",
    "bleeding": "Pressure with sterile gauze until it stopped.",
    "pain_during": "Needle withdrawn slightly and repositioned; patient reassured.",
    "pain_after_24h": "Advised heat and gentle movement; reviewed by phone.",
    "symptom_aggravation": "Reduced needling dose next visit; advised activity pacing.",
    "drowsiness": "Rested 15 minutes before leaving; advised not to drive until alert.",
    "headache": "Fluids and rest; advised to call if it persisted.",
    "nausea": "Rested supine with water until settled.",
    "other": "Observed until settled; advice given.",
}
ACK_REASONS = {
    "ptx_depth": "Superficial, tangential insertion with a pincer grasp over the rib.",
    "ptx_unverified_depth": "Pincer grasp, tangential needling, depth kept well short of the chest wall.",
    "bilateral_thorax": "Both sides needed today; superficial needling, patient monitored for breathlessness.",
    "lymphoedema_side": "This muscle lies outside the lymphoedematous limb.",
    "bleeding_risk": "INR in range this week; pressure applied after each needle.",
    "nerve_vessel": "Needle directed away from the named structures; patient told to report paraesthesia.",
    "organ": "Needling kept lateral and shallow; direction away from the abdominal cavity.",
    "estim_pregnancy": "Low-intensity stimulation only, away from the abdomen.",
}
TECHNIQUES = ["pistoning", "pistoning", "static", "rotation"]
SUBJECTIVE = [
    "Reports less stiffness since last session; still sore after work.",
    "Pain worse after a long drive; sleeping better.",
    "Mornings are the worst; improved since the last visit.",
    "Headaches less frequent this week.",
    "Able to do more at work; sitting still aggravates it.",
]
PLANS = [
    "Continue home exercises; review in one week.",
    "Progress loading; dry needling again next visit if needed.",
    "Review in one week; add postural exercises.",
]


@dataclass
class _Patient:
    """What the demo needs of one patient to document visits."""

    episode: Episode
    flags: safety.ScreeningFlags
    clinician: Any
    last_day: datetime


def build(context: Any) -> None:
    """Add visits for the patients the patients step just created (so extending the demo stays idempotent)."""
    ids = list(context.history_patient_ids)
    if not ids:
        return
    pt, chiro = context.memberships["pt"], context.memberships["chiro"]
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        with transaction.atomic():
            _add_visits(context, chunk, (pt, chiro))
        context.progress("visits", start + len(chunk), len(ids))


def _patients(ids: list[int], clinicians: tuple[Any, Any]) -> list[_Patient]:
    screenings = {s.patient_id: s for s in Screening.objects.filter(patient_id__in=ids)}
    consents = {c.patient_id: c for c in Consent.objects.filter(patient_id__in=ids)}
    now = timezone.now()
    found = []
    for episode in Episode.objects.filter(patient_id__in=ids).order_by("patient_id"):
        screening, consent = screenings.get(episode.patient_id), consents.get(episode.patient_id)
        if screening is None or consent is None or screening.status == "not_cleared" or screening.needs_acknowledgement:
            continue
        result = ScreeningResult.from_record(screening.status, screening.findings)
        last = now
        if episode.discharge_date:
            last = min(now, timezone.make_aware(datetime.combine(episode.discharge_date, datetime.min.time())))
        if consent.withdrawn_at:
            last = min(last, consent.withdrawn_at)
        clinician = clinicians[0] if episode.opened_by_id == clinicians[0].pk else clinicians[1]
        flags = safety.screening_flags(result, consent_current=True)
        found.append(_Patient(episode, flags, clinician, last))
    return found


def _muscles_for(condition: str) -> list[str]:
    chosen = [m.id for m in atlas_muscles().values() if condition in m.conditions]
    return chosen or list(needling_muscles())


def _length_for(rng: Any, muscle_id: str) -> Decimal:
    hazard = hazards()[muscle_id]
    if hazard.pneumothorax:
        return Decimal("15") if (hazard.safe_depth_mm or 0) < 30 else Decimal("25")
    return Decimal(rng.choice(["25", "30", "40", "50"]))


def _side(rng: Any, episode: Episode) -> str:
    return episode.side if episode.side in ("left", "right") else rng.choice(["left", "right"])


def _plan_entries(rng: Any, p: _Patient) -> list[dict[str, Any]]:
    pool = _muscles_for(p.episode.condition)
    picked = rng.sample(pool, k=min(len(pool), rng.choice([1, 2, 2, 3, 3, 3, 4])))
    entries = []
    for muscle_id in picked:
        muscle = needling_muscles()[muscle_id]
        technique = rng.choice(TECHNIQUES)
        entries.append(
            {
                "muscle_id": muscle_id,
                "side": _side(rng, p.episode),
                "trigger_point": rng.choice(muscle.trigger_points)[0] if muscle.has_several_trigger_points else "",
                "needles": rng.choice([1, 1, 2, 2, 3]),
                "diameter_mm": Decimal(rng.choice(["0.25", "0.25", "0.30", "0.20"])),
                "length_mm": _length_for(rng, muscle_id),
                "technique": technique,
                "twitch_response": rng.choice(["none", "single", "single", "several"]),
                "minutes_left_in": rng.choice([10, 15, 20]) if technique == "static" else None,
                "patient_response": rng.choice(["Familiar pain reproduced", "Ache eased", "", "Tolerated well"]),
            }
        )
    return entries


def _acknowledge(entries: list[dict[str, Any]], p: _Patient, by: Any, at: datetime) -> dict[str, Any]:
    planned = [safety.PlannedNeedling(e["muscle_id"], e["side"], float(e["length_mm"])) for e in entries]
    acks = {}
    for warning in safety.needling_warnings(planned, hazards(), p.flags):
        if not warning.acknowledgeable:  # reminders need no acknowledgement
            continue
        first = warning.precautions[0]  # the one-click acknowledgement of the visit page
        acks[safety.warning_key(warning)] = {
            "code": warning.code,
            "message": warning.message,
            "precautions": [first.label],
            "precaution_codes": [first.code],
            "note": ACK_REASONS.get(warning.code, "Discussed with the patient; proceeding with care."),
            "by": by.pk,
            "by_name": by.display_name,
            "at": at.isoformat(),
        }
    return acks


def _add_visits(context: Any, ids: list[int], clinicians: tuple[Any, Any]) -> None:
    rng = context.rng
    now = timezone.now()
    plans: list[tuple[Visit, list[dict[str, Any]], _Patient]] = []
    for p in _patients(ids, clinicians):
        day = p.episode.opened_at + timedelta(minutes=15)
        pain = rng.randint(4, 8)
        for _number in range(rng.choice([1, 2, 3, 3, 4, 4, 5, 6])):
            if day > p.last_day or day > now:
                break
            entries = _plan_entries(rng, p)
            after = max(0, pain - rng.choice([0, 1, 1, 2, 2, 3]))
            visit = Visit(
                clinic_id=p.episode.clinic_id,
                patient_id=p.episode.patient_id,
                episode=p.episode,
                clinician=p.clinician,
                started_at=day,
                created_at=day,
                pain_before=pain,
                pain_after=after,
                subjective=rng.choice(SUBJECTIVE),
                interventions=rng.choice([["therapeutic_exercise"], ["education", "therapeutic_exercise"], ["heat"]]),
                plan=rng.choice(PLANS),
                acknowledgements=_acknowledge(entries, p, p.clinician, day),
                patient_positions=_positions(entries),
                clean_technique={"items": clinic_safety.all_checklist_codes(), "gloves_worn": True},
                clean_technique_by=p.clinician,
                clean_technique_at=day + timedelta(minutes=4),
            )
            plans.append((visit, entries, p))
            pain = max(0, min(10, after + rng.choice([0, 1, 1, 2])))
            day += timedelta(days=rng.randint(5, 9), minutes=rng.randint(-90, 90))
    created = Visit.objects.bulk_create([v for v, _, _ in plans], batch_size=BATCH)
    rows = []
    for visit, entries, _p in plans:
        for position, data in enumerate(entries, start=1):
            rows.append(
                NeedlingEntry(
                    clinic_id=visit.clinic_id,
                    patient_id=visit.patient_id,
                    visit=visit,
                    position=position,
                    recorded_by=visit.clinician,
                    recorded_at=visit.started_at + timedelta(minutes=5 + position),
                    **data,
                )
            )
    NeedlingEntry.objects.bulk_create(rows, batch_size=BATCH)
    events = _adverse_events(rng, plans, now)
    fainting = _maybe_fainting(context, plans, now)
    events += [fainting] if fainting else []
    incident = _maybe_incident(context, plans, now)
    _sign(rng, plans, events, incident, now)
    AdverseEvent.objects.bulk_create(events + ([incident[1]] if incident else []), batch_size=BATCH)
    if incident:
        _close_incident(incident[1], now)
    addenda = _addenda(rng, plans, now)
    Addendum.objects.bulk_create(addenda, batch_size=BATCH)
    _maybe_needle_stick(context, plans, incident, now)
    summary = context.summary
    summary["visits"] = summary.get("visits", 0) + len(created)
    summary["needling_entries"] = summary.get("needling_entries", 0) + len(rows)
    summary["adverse_events"] = summary.get("adverse_events", 0) + len(events) + (1 if incident else 0)
    summary["addenda"] = summary.get("addenda", 0) + len(addenda)


# Where a muscle lies decides the lying position it is needled in (no random draw, so the rest of the demo
# stays as the seed made it).
_SUPINE_AREAS = ("anterior", "abdomen", "groin", "temple", "cheek", "medial thigh", "lateral thigh")
_SIDE_LYING_AREAS = ("lateral chest wall", "lateral buttock", "lateral lumbar", "anterolateral hip")


def _positions(entries: list[dict[str, Any]]) -> list[str]:
    found = []
    for e in entries:
        area = atlas_muscles()[e["muscle_id"]].body_area
        if any(a in area for a in _SIDE_LYING_AREAS):
            found.append("side_lying")
        elif any(a in area for a in _SUPINE_AREAS):
            found.append("supine")
        else:
            found.append("prone")
    order = [p.code for p in clinic_safety.packaged().positions]
    return sorted(set(found), key=order.index)


def _maybe_fainting(
    context: Any, plans: list[tuple[Visit, list[dict[str, Any]], _Patient]], now: datetime
) -> AdverseEvent | None:
    """The demo's one fainting (vasovagal) event, observed 20 minutes after recovery, on the first visit of
    the first batch that is more than a day old."""
    if AdverseEvent.objects.filter(clinic=context.clinic, event_type="vasovagal").exists():
        return None
    for visit, _entries, _p in plans:
        if visit.started_at < now - timedelta(days=1):
            return AdverseEvent(
                clinic_id=visit.clinic_id,
                patient_id=visit.patient_id,
                visit=visit,
                event_type="vasovagal",
                severity="mild",
                description="Light-headed, pale and sweaty two minutes after the last needle; stayed conscious.",
                onset_at=visit.started_at + timedelta(minutes=18),
                action_taken="Needles removed, lay flat with legs raised, water; recovered within five minutes.",
                outcome="resolved",
                observed_minutes=20,
                driving_advice_given=True,
                recorded_by=visit.clinician,
                recorded_at=visit.started_at + timedelta(minutes=45),
                closed_at=visit.started_at + timedelta(minutes=45),
                closed_by=visit.clinician,
            )
    return None


def _maybe_needle_stick(
    context: Any,
    plans: list[tuple[Visit, list[dict[str, Any]], _Patient]],
    incident: tuple[Visit, AdverseEvent] | None,
    now: datetime,
) -> None:
    """The demo's one needle-stick injury: a clinician stuck by a used needle while clearing up, the source
    patient consented to testing, PEP assessed as not indicated, follow-up testing still open."""
    if NeedleStickIncident.objects.filter(clinic=context.clinic).exists():
        return
    used = [
        v for v, _e, _p in plans if v.started_at < now - timedelta(days=2) and (not incident or v is not incident[0])
    ]
    if not used:
        return
    visit = used[-1]
    at = visit.started_at + timedelta(minutes=25)
    audit.wrote(
        NeedleStickIncident.objects.create(
            clinic_id=visit.clinic_id,
            injured=visit.clinician,
            occurred_at=at,
            description="Stuck in the left index finger by a used needle on the way to the sharps box; bled slightly.",
            source_kind="patient",
            source_patient_id=visit.patient_id,
            source_visit=visit,
            source_consent="consented",
            source_consent_at=at + timedelta(minutes=30),
            wound_washed_at=at + timedelta(minutes=1),
            reported_at=at + timedelta(minutes=10),
            reported_to="Clinic lead",
            pep_decision="not_indicated",
            pep_decided_at=at + timedelta(hours=3),
            follow_up_due=(at + timedelta(days=42)).date(),
            recorded_by=visit.clinician,
            recorded_at=at + timedelta(minutes=40),
        ),
        created=True,
    )
    context.summary["needle_stick_incidents"] = context.summary.get("needle_stick_incidents", 0) + 1


def _counts(visit: Visit, entries: list[dict[str, Any]], missing: int = 0) -> None:
    inserted = sum(e["needles"] for e in entries)
    visit.needles_inserted = inserted
    visit.needles_opened = inserted
    visit.needles_removed = inserted - missing
    visit.needles_in_sharps = inserted - missing


def _adverse_events(rng: Any, plans: list[tuple[Visit, list[dict[str, Any]], _Patient]], now: datetime) -> list[Any]:
    events = []
    for visit, _entries, _p in plans:
        for code, rate in BRADY_RATES.items():
            if rng.random() >= rate:
                continue
            later = code in ("pain_after_24h", "symptom_aggravation")
            onset = visit.started_at + (timedelta(hours=rng.randint(20, 40)) if later else timedelta(minutes=12))
            recorded = visit.started_at + (timedelta(days=2) if later else timedelta(minutes=20))
            if recorded > now:
                recorded = now
            if onset > now:
                onset = now
            still_open = later and recorded > now - timedelta(days=3)
            events.append(
                AdverseEvent(
                    clinic_id=visit.clinic_id,
                    patient_id=visit.patient_id,
                    visit=visit,
                    event_type=code,
                    severity="mild",
                    description="Fatigue after treatment." if code == "other" else "",
                    onset_at=onset,
                    action_taken=ACTIONS[code],
                    outcome="recovering" if still_open else "resolved",
                    follow_up_due=(recorded + timedelta(days=2)).date() if still_open else None,
                    recorded_by=visit.clinician,
                    recorded_at=recorded,
                    closed_at=None if still_open else recorded,
                    closed_by=None if still_open else visit.clinician,
                )
            )
    return events


def _maybe_incident(
    context: Any, plans: list[tuple[Visit, list[dict[str, Any]], _Patient]], now: datetime
) -> tuple[Visit, AdverseEvent] | None:
    """The demo's one 'needle unaccounted for' incident, on the first suitable visit of the first batch."""
    if AdverseEvent.objects.filter(clinic=context.clinic, needles_unaccounted__isnull=False).exists():
        return None
    for visit, entries, _p in plans:
        if sum(e["needles"] for e in entries) >= 3 and visit.started_at < now - timedelta(days=7):
            event = AdverseEvent(
                clinic_id=visit.clinic_id,
                patient_id=visit.patient_id,
                visit=visit,
                event_type="needle_left_in",
                severity="mild",
                description="1 needle(s) unaccounted for at the end of the visit.",
                onset_at=visit.started_at + timedelta(minutes=30),
                action_taken="Patient told to check clothing and bag and to call; lead clinician informed.",
                search_made="Searched the couch, pillow, floor, gown and the patient's clothing; sharps box counted.",
                needles_unaccounted=1,
                outcome="ongoing",
                follow_up_due=(visit.started_at + timedelta(days=2)).date(),
                recorded_by=visit.clinician,
                recorded_at=visit.started_at + timedelta(minutes=35),
            )
            return visit, event
    return None


def _close_incident(event: AdverseEvent, now: datetime) -> None:
    saved = AdverseEvent.objects.get(clinic_id=event.clinic_id, needles_unaccounted__isnull=False)
    at = min(now, saved.recorded_at + timedelta(days=1))
    audit.wrote(
        AdverseEventFollowUp.objects.create(
            clinic_id=saved.clinic_id,
            patient_id=saved.patient_id,
            event=saved,
            by=saved.recorded_by,
            at=at,
            note="Patient found the needle in her sweater at home and brought it in; disposed of in sharps. No injury.",
            outcome="resolved",
            closes_event=True,
        ),
        created=True,
    )
    saved.outcome, saved.closed_at, saved.closed_by, saved.follow_up_due = "resolved", at, saved.recorded_by, None
    saved.version += 1
    saved.save()
    audit.wrote(saved, created=False)


def _note(visit: Visit, entries: list[dict[str, Any]], p: _Patient, events: list[Any], choice: Any) -> str:
    muscles = needling_muscles()
    counts = accountability.reconciliation(
        visit.needles_opened, visit.needles_inserted, visit.needles_removed, visit.needles_in_sharps
    )
    labels = {"therapeutic_exercise": "Therapeutic exercise", "education": "Education", "heat": "Heat"}
    techniques = {"static": "Static", "pistoning": "Pistoning / fast-in fast-out", "rotation": "Rotation"}
    incident = [e for e in events if e.needles_unaccounted]
    return soap_note(
        NoteInput(
            date=f"{timezone.localtime(visit.started_at):%Y-%m-%d %H:%M}",
            clinician=p.clinician.display_name,
            condition=f"{p.episode.condition_label} ({p.episode.icd10_code})",
            pain_before=visit.pain_before,
            pain_after=visit.pain_after,
            subjective=visit.subjective,
            interventions=[labels.get(c, c) for c in visit.interventions],
            entries=[
                NoteEntry(
                    muscle=muscles[e["muscle_id"]].name,
                    side=e["side"],
                    trigger_point=dict(muscles[e["muscle_id"]].trigger_points).get(e["trigger_point"], ""),
                    needles=e["needles"],
                    size=size_label(e["diameter_mm"], e["length_mm"]),
                    technique=techniques[e["technique"]],
                    twitch_response=e["twitch_response"].capitalize(),
                    minutes_left_in=e["minutes_left_in"],
                    patient_response=e["patient_response"],
                )
                for e in entries
            ],
            counts=counts.message,
            assessment=visit.assessment,
            plan=visit.plan,
            cpt=f"{choice.code} ({choice.description}; {choice.muscle_count} counted)" if choice else "none",
            acknowledgements=[
                NoteAcknowledgement(
                    a["message"],
                    a.get("reason", ""),
                    a["by_name"],
                    tuple(a.get("precautions") or ()),
                    a.get("note", ""),
                )
                for a in visit.acknowledgements.values()
            ],
            reminders=[
                w.message
                for w in safety.reminders(
                    safety.needling_warnings(
                        [safety.PlannedNeedling(e["muscle_id"], e["side"], float(e["length_mm"])) for e in entries],
                        hazards(),
                        p.flags,
                    )
                )
            ],
            incidents=[
                f"{plural(e.needles_unaccounted, 'needle')}; search made: {clause(e.search_made)}; "
                f"action taken: {clause(e.action_taken)}"
                for e in incident
            ],
            adverse_events=[
                f"{e.event_type.replace('_', ' ')} ({e.severity}): " + join_sentences([e.action_taken, e.after_care])
                for e in events
                if not e.needles_unaccounted and e.recorded_at <= visit.started_at + timedelta(hours=1)
            ],
            positions=clinic_safety.position_labels(visit.patient_positions),
            clean_technique=clinic_safety.checklist_text(
                visit.clean_technique["items"],
                visit.clean_technique["gloves_worn"],
                p.clinician.display_name,
                f"{timezone.localtime(visit.clean_technique_at):%Y-%m-%d %H:%M}",
            ),
        )
    )


def _sign(
    rng: Any,
    plans: list[tuple[Visit, list[dict[str, Any]], _Patient]],
    events: list[Any],
    incident: tuple[Visit, AdverseEvent] | None,
    now: datetime,
) -> None:
    by_visit: dict[int, list[Any]] = {}
    for event in events:
        by_visit.setdefault(event.visit.pk, []).append(event)
    if incident:
        by_visit.setdefault(incident[0].pk, []).append(incident[1])
    to_sign = []
    for visit, entries, p in plans:
        missing = 1 if incident and visit is incident[0] else 0
        _counts(visit, entries, missing)
        recent = visit.started_at > now - timedelta(hours=24)
        if (recent and rng.random() < 0.5) or (not recent and rng.random() < 0.015 and not missing):
            continue  # left unsigned: some of today's, and a few overdue
        choice = cpt.choose_cpt([_Needled(e["muscle_id"], e["side"]) for e in entries])
        visit.cpt_code = choice.code if choice else ""
        visit.cpt_muscle_count = choice.muscle_count if choice else None
        visit.note_text = _note(visit, entries, p, by_visit.get(visit.pk, []), choice)
        visit.signed_by = visit.clinician
        visit.signed_at = min(now, visit.started_at + timedelta(minutes=rng.randint(20, 240)))
        visit.version = 2 + len(entries)
        to_sign.append(visit)
    unsigned = [v for v, _, _ in plans if v.signed_at is None]
    counts = ["needles_inserted", "needles_opened", "needles_removed", "needles_in_sharps"]
    Visit.objects.bulk_update(unsigned, counts, batch_size=BATCH)
    fields = [*counts, "cpt_code", "cpt_muscle_count", "note_text", "signed_by", "signed_at", "version"]
    Visit.objects.bulk_update(to_sign, fields, batch_size=BATCH)


@dataclass(frozen=True)
class _Needled:
    muscle_id: str
    side: str


def _addenda(rng: Any, plans: list[tuple[Visit, list[dict[str, Any]], _Patient]], now: datetime) -> list[Addendum]:
    texts = [
        "Correction: pain after treatment was reported by phone as 2/10 the next morning.",
        "Addendum: home exercise sheet given (chin tucks, scapular setting).",
        "Reviewed by colleague: agree with the assessment and plan.",
    ]
    found = []
    for visit, _entries, _p in plans:
        if visit.signed_at is None or rng.random() >= 0.03:
            continue
        found.append(
            Addendum(
                clinic_id=visit.clinic_id,
                patient_id=visit.patient_id,
                visit=visit,
                author=visit.clinician,
                written_at=min(now, visit.signed_at + timedelta(days=1)),
                text=rng.choice(texts),
            )
        )
    return found
