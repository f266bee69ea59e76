"""Read-side helpers for a visit: its warnings, needle reconciliation, incident, CPT and note text.

No writes here; the actions and the pages both use these so the page shows exactly what the actions
enforce.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.utils import timezone

from needlepoint.grammar import clause, join_sentences, plural
from needlepoint.patients.gate import Clearance, needling_clearance
from needlepoint.patients.screening_rules import ScreeningResult
from needlepoint.visits import accountability, cpt, safety
from needlepoint.visits.adverse_events import adverse_event_types, severities
from needlepoint.visits.muscles import hazards, muscle_name, trigger_point_label
from needlepoint.visits.needles import needle_stock
from needlepoint.visits.note import NoteAcknowledgement, NoteEntry, NoteInput, soap_note


def planned(entries: Iterable[Any]) -> list[safety.PlannedNeedling]:
    """Needling entries (saved or not) as the safety rules take them."""
    return [
        safety.PlannedNeedling(e.muscle_id, e.side, float(e.length_mm), e.technique == "electrical_stimulation")
        for e in entries
    ]


def flags_from(clearance: Clearance) -> safety.ScreeningFlags:
    """The safety flags from the gate's answer: the screening it relied on, and whether consent holds."""
    screening = clearance.screening
    result = None
    if screening is not None and screening.is_current():
        result = ScreeningResult.from_record(screening.status, screening.findings)
    consent_current = clearance.consent_current
    return safety.screening_flags(result, consent_current=consent_current)


def current_warnings(entries: Sequence[Any], clearance: Clearance) -> list[safety.SafetyWarning]:
    """Every warning and refusal for these needling entries and this patient's screening."""
    muscles = hazards()
    known = [e for e in entries if e.muscle_id in muscles]
    return safety.needling_warnings(planned(known), muscles, flags_from(clearance))


def reconciliation_of(visit: Any) -> accountability.Reconciliation:
    """Where every needle of the visit is."""
    return accountability.reconciliation(
        visit.needles_opened, visit.needles_inserted, visit.needles_removed, visit.needles_in_sharps
    )


def incident_of(visit: Any, events: Sequence[Any] | None = None) -> accountability.Incident | None:
    """The visit's 'needle unaccounted for' incidents, combined, or None."""
    if events is None:
        events = list(visit.adverse_events.filter(needles_unaccounted__isnull=False).order_by("pk"))
    incidents = [e for e in events if e.needles_unaccounted is not None]
    if not incidents:
        return None
    return accountability.Incident(
        needles_unaccounted=sum(e.needles_unaccounted for e in incidents),
        search_made="; ".join(e.search_made for e in incidents),
        action_taken="; ".join(e.action_taken for e in incidents),
    )


def cpt_choice(entries: Sequence[Any]) -> cpt.CptChoice | None:
    """The one CPT code the needling entries give (None without needling)."""
    return cpt.choose_cpt(entries)


def size_label(diameter_mm: Any, length_mm: Any) -> str:
    """A needle size as the stock list words it: "0.25 mm (32G) x 40 mm"."""
    diameter = next((d for d in needle_stock().diameters if abs(d.diameter_mm - float(diameter_mm)) < 1e-6), None)
    gauge = diameter.label if diameter else f"{float(diameter_mm):.2f} mm"
    return f"{gauge} x {float(length_mm):g} mm"


def technique_label(code: str) -> str:
    """A needling technique as the clinician reads it (the code itself for a code the list does not know)."""
    from needlepoint.visits.models import Technique

    return str(dict(Technique.choices).get(code, code))


def event_type_label(code: str) -> str:
    """An adverse-event type as the catalogue names it."""
    return next((t.label for t in adverse_event_types() if t.code == code), code)


def severity_label(code: str) -> str:
    """A severity as the catalogue names it."""
    return next((s.label for s in severities() if s.code == code), code)


def visit_reminders(
    visit: Any, entries: Sequence[Any], warnings: Sequence[safety.SafetyWarning] | None = None
) -> list[str]:
    """The safety reminders for the visit's needling and its patient, as printed on the note (from
    ``warnings`` when the caller has worked them out already)."""
    if not entries:
        return []
    if warnings is None:
        warnings = current_warnings(entries, needling_clearance(visit.patient))
    return [w.message for w in safety.reminders(warnings)]


def note_input(
    visit: Any, entries: Sequence[Any], events: Sequence[Any] | None = None, reminders: Sequence[str] | None = None
) -> NoteInput:
    """The plain values the note is written from (the reminders worked out now unless given)."""
    from needlepoint.visits.models import TwitchResponse

    if events is None:
        events = list(visit.adverse_events.order_by("onset_at", "pk"))
    # Plain text for the note (a pure module): the labels are lazy translations until made strings.
    twitch = {code: str(label) for code, label in TwitchResponse.choices}
    choice = cpt_choice(entries)
    stored = visit.acknowledgements or {}
    acknowledged = [
        NoteAcknowledgement(
            a["message"],
            str(a.get("reason") or a.get("note") or ""),
            a.get("by_name", ""),
            precautions=tuple(a.get("precautions") or ()),
            note=str(a.get("note") or ""),
        )
        for a in stored.values()
    ]
    if reminders is None:
        reminders = visit_reminders(visit, entries)
    incidents = [
        f"{plural(e.needles_unaccounted, 'needle')}; search made: {clause(e.search_made)}; "
        f"action taken: {clause(e.action_taken)}"
        for e in events
        if e.needles_unaccounted is not None
    ]
    others = [
        f"{event_type_label(e.event_type)} ({severity_label(e.severity).lower()}), "
        f"{timezone.localtime(e.onset_at):%Y-%m-%d %H:%M}: "
        + join_sentences([e.action_taken, getattr(e, "after_care", "")])
        for e in events
        if e.needles_unaccounted is None
    ]
    return NoteInput(
        date=f"{timezone.localtime(visit.started_at):%Y-%m-%d %H:%M}",
        clinician=visit.clinician.display_name,
        condition=f"{visit.episode.condition_label} ({visit.episode.icd10_code})",
        pain_before=visit.pain_before,
        pain_after=visit.pain_after,
        subjective=visit.subjective,
        interventions=visit.intervention_labels(),
        entries=[
            NoteEntry(
                muscle=muscle_name(e.muscle_id),
                side=e.side,
                trigger_point=trigger_point_label(e.muscle_id, e.trigger_point),
                needles=e.needles,
                size=size_label(e.diameter_mm, e.length_mm),
                technique=technique_label(e.technique),
                twitch_response=twitch.get(e.twitch_response, e.twitch_response),
                minutes_left_in=e.minutes_left_in,
                patient_response=e.patient_response,
            )
            for e in entries
        ],
        counts=reconciliation_of(visit).message,
        assessment=visit.assessment,
        plan=visit.plan,
        cpt=f"{choice.code} ({choice.description}; {choice.muscle_count} counted)" if choice else "none (no needling)",
        acknowledgements=acknowledged,
        reminders=list(reminders),
        incidents=incidents,
        adverse_events=others,
        **in_clinic_note_fields(visit),
    )


def in_clinic_note_fields(visit: Any) -> dict[str, Any]:
    """The note's patient position and clean-technique checklist, from the visit."""
    from needlepoint.visits.clinic_safety import checklist_text, position_labels

    checklist = visit.clean_technique or {}
    clean = ""
    if checklist.get("items") and visit.clean_technique_at is not None:
        by = visit.clean_technique_by.display_name if visit.clean_technique_by_id else ""
        at = f"{timezone.localtime(visit.clean_technique_at):%Y-%m-%d %H:%M}"
        clean = checklist_text(checklist["items"], bool(checklist.get("gloves_worn")), by, at)
    return {"positions": position_labels(visit.patient_positions or []), "clean_technique": clean}


def render_note(
    visit: Any,
    entries: Sequence[Any],
    events: Sequence[Any] | None = None,
    warnings: Sequence[safety.SafetyWarning] | None = None,
) -> str:
    """The SOAP note text of the visit as it stands (``warnings``: the visit's current checks, if known)."""
    return soap_note(note_input(visit, entries, events, visit_reminders(visit, entries, warnings)))
