"""API for visits, needling, needle counts, signing, addenda and adverse events: the same actions and access
rules as the pages. A refusal is a 400 with the action's message; a stale ``version`` is a 400 conflict;
a signed visit refuses every change."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from ninja import Field, Router, Schema, Status

from needlepoint.accounts.access import get_record, listed, scoped
from needlepoint.accounts.requests import ClinicRequest, member
from needlepoint.accounts.roles import Capability
from needlepoint.patients.models import Episode
from needlepoint.visits import actions
from needlepoint.visits.dashboard import open_adverse_events
from needlepoint.visits.inputs import AdverseEventInput, NeedleCountsInput, NeedlingEntryInput, VisitDetailsInput
from needlepoint.visits.models import AdverseEvent, Visit
from needlepoint.visits.read_model import WarningState, visit_state

router = Router(tags=["visits"])
LIST_LIMIT = 100


class NeedlingEntryOut(Schema):
    id: int
    muscle_id: str
    muscle: str
    side: str
    trigger_point: str
    needles: int
    diameter_mm: Decimal
    length_mm: Decimal
    technique: str
    twitch_response: str
    minutes_left_in: int | None
    patient_response: str


class NeedleCountOut(Schema):
    opened: int
    inserted: int
    removed: int
    in_sharps: int
    balanced: bool
    missing: int
    message: str


class PrecautionOut(Schema):
    code: str
    label: str
    source: str


class AcknowledgementOut(Schema):
    precautions: list[str]
    note: str
    reason: str = Field(description="Acknowledgements made before precautions carry a reason only")
    by: str
    at: str


class WarningOut(Schema):
    key: str
    code: str
    severity: str = Field(description="reminder (information, printed on the note), warning (acknowledge) or refusal")
    message: str
    source: str
    unverified: bool
    acknowledgeable: bool
    precautions: list[PrecautionOut] = Field(description="The precautions that acknowledge this warning")
    acknowledged_reason: str | None = Field(description="The acknowledgement in words, or null")
    acknowledgement: AcknowledgementOut | None


class AcknowledgementIn(Schema):
    precautions: list[str] = Field([], description="Codes of the precautions taken, from the warning's list")
    note: str = Field("", description="Optional with a precaution; without one, a reason that is a real sentence")


Acknowledgements = dict[str, AcknowledgementIn | str]
ACK_DESCRIPTION = (
    "Warning key -> {precautions: [codes], note} (or a plain reason to proceed, at least 3 words and 15 letters)"
)


def _acknowledgements(given: Acknowledgements) -> dict[str, Any]:
    return {key: value if isinstance(value, str) else value.dict() for key, value in given.items()}


def _warning_out(state: WarningState) -> WarningOut:
    w, ack = state.warning, state.ack
    return WarningOut(
        key=state.key,
        code=w.code,
        severity=w.severity,
        message=w.message,
        source=w.source,
        unverified=w.unverified,
        acknowledgeable=w.acknowledgeable,
        precautions=[PrecautionOut(code=p.code, label=p.label, source=p.source) for p in w.precautions],
        acknowledged_reason=state.acknowledged_text,
        acknowledgement=AcknowledgementOut(
            precautions=list(ack.get("precautions") or []),
            note=str(ack.get("note") or ""),
            reason=str(ack.get("reason") or ""),
            by=str(ack.get("by_name") or ""),
            at=str(ack.get("at") or ""),
        )
        if ack
        else None,
    )


class CptOut(Schema):
    code: str
    description: str
    muscle_count: int


class AddendumOut(Schema):
    id: int
    author: str
    written_at: datetime
    text: str


class AdverseEventOut(Schema):
    id: int
    visit_id: int
    patient_id: int
    event_type: str
    label: str
    severity: str
    description: str
    onset_at: datetime
    action_taken: str
    outcome: str
    follow_up_due: date | None
    needles_unaccounted: int | None
    search_made: str
    observed_minutes: int | None = None
    driving_advice_given: bool = False
    closed_at: datetime | None
    version: int


class CleanTechniqueOut(Schema):
    items: list[str]
    gloves_worn: bool
    by: str
    at: datetime


class VisitSummaryOut(Schema):
    id: int
    patient_id: int
    episode_id: int
    started_at: datetime
    clinician: str
    pain_before: int | None
    pain_after: int | None
    signed_at: datetime | None
    cpt_code: str
    overdue: bool
    version: int


class VisitOut(VisitSummaryOut):
    subjective: str
    interventions: list[str]
    interventions_other: str
    assessment: str
    plan: str
    signed_by: str | None
    needling: list[NeedlingEntryOut]
    needle_count: NeedleCountOut
    warnings: list[WarningOut]
    cpt: CptOut | None
    note: str
    addenda: list[AddendumOut]
    adverse_events: list[AdverseEventOut]
    patient_positions: list[str] = []
    clean_technique: CleanTechniqueOut | None = None


def _summary(v: Visit) -> dict[str, Any]:
    return {
        "id": v.pk,
        "patient_id": v.patient_id,
        "episode_id": v.episode_id,
        "started_at": v.started_at,
        "clinician": v.clinician.display_name,
        "pain_before": v.pain_before,
        "pain_after": v.pain_after,
        "signed_at": v.signed_at,
        "cpt_code": v.cpt_code,
        "overdue": v.is_overdue,
        "version": v.version,
    }


def _event_out(e: AdverseEvent) -> AdverseEventOut:
    return AdverseEventOut(
        id=e.pk,
        visit_id=e.visit_id,
        patient_id=e.patient_id,
        event_type=e.event_type,
        label=e.type_label,
        severity=e.severity,
        description=e.description,
        onset_at=e.onset_at,
        action_taken=e.action_taken,
        outcome=e.outcome,
        follow_up_due=e.follow_up_due,
        needles_unaccounted=e.needles_unaccounted,
        search_made=e.search_made,
        observed_minutes=e.observed_minutes,
        driving_advice_given=e.driving_advice_given,
        closed_at=e.closed_at,
        version=e.version,
    )


def _visit_out(request: ClinicRequest, visit_id: int) -> VisitOut:
    visit = get_record(
        member(request),
        Visit.objects.select_related("patient", "episode", "clinician__user", "signed_by__user"),
        visit_id,
    )
    state = visit_state(visit)
    counts = state.reconciliation
    return VisitOut(
        **_summary(visit),
        subjective=visit.subjective,
        interventions=list(visit.interventions),
        interventions_other=visit.interventions_other,
        assessment=visit.assessment,
        plan=visit.plan,
        signed_by=visit.signed_by.display_name if visit.signed_by else None,
        needling=[
            NeedlingEntryOut(
                id=row.entry.pk,
                muscle_id=row.entry.muscle_id,
                muscle=row.muscle,
                side=row.entry.side,
                trigger_point=row.entry.trigger_point,
                needles=row.entry.needles,
                diameter_mm=row.entry.diameter_mm,
                length_mm=row.entry.length_mm,
                technique=row.entry.technique,
                twitch_response=row.entry.twitch_response,
                minutes_left_in=row.entry.minutes_left_in,
                patient_response=row.entry.patient_response,
            )
            for row in state.rows
        ],
        needle_count=NeedleCountOut(
            opened=counts.opened,
            inserted=counts.inserted,
            removed=counts.removed,
            in_sharps=counts.sharps,
            balanced=counts.balanced,
            missing=counts.missing,
            message=counts.message,
        ),
        warnings=[_warning_out(w) for w in state.warnings],
        cpt=CptOut(code=state.cpt.code, description=state.cpt.description, muscle_count=state.cpt.muscle_count)
        if state.cpt
        else None,
        note=state.note,
        addenda=[
            AddendumOut(id=a.pk, author=a.author.display_name, written_at=a.written_at, text=a.text)
            for a in state.addenda
        ],
        adverse_events=[_event_out(e) for e in state.events],
        **_in_clinic_out(visit),
    )


def _in_clinic_out(visit: Visit) -> dict[str, Any]:
    checklist = visit.clean_technique or {}
    clean = None
    if checklist.get("items") and visit.clean_technique_at is not None:
        clean = CleanTechniqueOut(
            items=list(checklist["items"]),
            gloves_worn=bool(checklist.get("gloves_worn")),
            by=visit.clean_technique_by.display_name if visit.clean_technique_by is not None else "",
            at=visit.clean_technique_at,
        )
    return {"patient_positions": list(visit.patient_positions or []), "clean_technique": clean}


# --- visits ------------------------------------------------------------------------------------------


class VisitIn(VisitDetailsInput):
    """A new visit: ``VisitDetailsInput`` (the same the page reads; now when no time is given) and its episode."""

    episode_id: int
    copy_previous_needling: bool = False


class VisitUpdate(Schema):
    version: int = Field(description="The version you read; a stale version is refused")
    started_at: datetime | None = None
    pain_before: int | None = None
    pain_after: int | None = None
    subjective: str | None = None
    interventions: list[str] | None = None
    interventions_other: str | None = None
    assessment: str | None = None
    plan: str | None = None
    clear_pain: list[str] = Field([], description="Fields to empty: pain_before and/or pain_after")


@router.get("", response=list[VisitSummaryOut])
def list_visits(
    request: ClinicRequest, patient_id: int | None = None, episode_id: int | None = None, unsigned: bool = False
) -> list[VisitSummaryOut]:
    """Visits of the clinic, newest first (at most 100), by patient, episode or unsigned."""
    visits = scoped(member(request), Visit.objects.select_related("clinician__user"), Capability.VIEW_CLINICAL)
    if patient_id is not None:
        visits = visits.filter(patient_id=patient_id)
    if episode_id is not None:
        visits = visits.filter(episode_id=episode_id)
    if unsigned:
        visits = visits.filter(signed_at__isnull=True)
    found = listed(list(visits.order_by("-started_at", "-pk")[:LIST_LIMIT]), "visits list")
    return [VisitSummaryOut(**_summary(v)) for v in found]


@router.post("", response={201: VisitOut})
def create_visit(request: ClinicRequest, body: VisitIn) -> Status[VisitOut]:
    """Start a visit in an episode of care, optionally from the previous visit's needling."""
    m = member(request)
    episode = get_record(m, Episode.objects.all(), body.episode_id, Capability.EDIT_CLINICAL)
    # A refused copy starts no visit: the client asked for both or neither.
    visit = actions.start_visit(m, episode, body, copy_previous=body.copy_previous_needling)
    return Status(201, _visit_out(request, visit.pk))


@router.get("/adverse-events/open", response=list[AdverseEventOut])
def open_events(request: ClinicRequest) -> list[AdverseEventOut]:
    """Open adverse events of the clinic, soonest follow-up first."""
    return [_event_out(e) for e in open_adverse_events(member(request), limit=500)]


@router.get("/{visit_id}", response=VisitOut)
def read_visit(request: ClinicRequest, visit_id: int) -> VisitOut:
    """A visit with its needling, needle count, warnings, CPT code, note, addenda and adverse events."""
    return _visit_out(request, visit_id)


@router.patch("/{visit_id}", response=VisitOut)
def update_visit(request: ClinicRequest, visit_id: int, body: VisitUpdate) -> VisitOut:
    """Change the visit's date, pain, report, interventions, assessment or plan."""
    data = {k: v for k, v in body.dict(exclude={"version", "clear_pain"}).items() if v is not None}
    for name in body.clear_pain:
        if name in ("pain_before", "pain_after"):
            data[name] = None
    actions.update_visit(member(request), visit_id, data, body.version)
    return _visit_out(request, visit_id)


class NeedlingIn(NeedlingEntryInput):
    """One needling entry: ``NeedlingEntryInput`` (the same the page reads), the version read and the
    acknowledgements."""

    version: int
    acknowledgements: Acknowledgements = Field({}, description=ACK_DESCRIPTION)


@router.post("/{visit_id}/needling", response={201: VisitOut})
def add_needling(request: ClinicRequest, visit_id: int, body: NeedlingIn) -> Status[VisitOut]:
    """Record one muscle needled (through the needling gate and the safety warnings)."""
    acks = _acknowledgements(body.acknowledgements)
    actions.add_needling_entry(member(request), visit_id, body, body.version, acks)
    return Status(201, _visit_out(request, visit_id))


class VersionIn(Schema):
    version: int
    acknowledgements: Acknowledgements = Field({}, description=ACK_DESCRIPTION)


@router.post("/{visit_id}/needling/copy-previous", response=VisitOut)
def copy_previous(request: ClinicRequest, visit_id: int, body: VersionIn) -> VisitOut:
    """Start this visit's needling from the episode's previous visit."""
    acks = _acknowledgements(body.acknowledgements)
    actions.copy_previous_needling(member(request), visit_id, body.version, acks)
    return _visit_out(request, visit_id)


@router.delete("/{visit_id}/needling/{entry_id}", response=VisitOut)
def remove_needling(request: ClinicRequest, visit_id: int, entry_id: int, version: int) -> VisitOut:
    """Take back a needling entry recorded by mistake (before signing)."""
    actions.remove_needling_entry(member(request), visit_id, entry_id, version)
    return _visit_out(request, visit_id)


class AcknowledgementsIn(Schema):
    version: int
    acknowledgements: Acknowledgements = Field(description=ACK_DESCRIPTION)


@router.post("/{visit_id}/acknowledgements", response=VisitOut)
def acknowledge(request: ClinicRequest, visit_id: int, body: AcknowledgementsIn) -> VisitOut:
    """Acknowledge the visit's warnings: the precautions taken (and a note), or a reason to proceed."""
    acks = _acknowledgements(body.acknowledgements)
    actions.acknowledge_warnings(member(request), visit_id, acks, body.version)
    return _visit_out(request, visit_id)


class CountsIn(NeedleCountsInput):
    """Needles opened, removed and in sharps (``NeedleCountsInput``, as the page reads them) and the version."""

    version: int


@router.put("/{visit_id}/needle-count", response=VisitOut)
def needle_count(request: ClinicRequest, visit_id: int, body: CountsIn) -> VisitOut:
    """Record needles opened, removed and in sharps (inserted comes from the needling)."""
    actions.record_needle_counts(
        member(request),
        visit_id,
        opened=body.opened,
        removed=body.removed,
        in_sharps=body.in_sharps,
        expected_version=body.version,
    )
    return _visit_out(request, visit_id)


class IncidentIn(Schema):
    version: int
    needles_unaccounted: int
    search_made: str
    action_taken: str
    follow_up_due: date
    severity: str = "mild"


@router.post("/{visit_id}/needle-incident", response={201: AdverseEventOut})
def needle_incident(request: ClinicRequest, visit_id: int, body: IncidentIn) -> Status[AdverseEventOut]:
    """Record a 'needle unaccounted for' incident (an adverse event to follow up)."""
    event = actions.record_needle_incident(
        member(request),
        visit_id,
        needles_unaccounted=body.needles_unaccounted,
        search_made=body.search_made,
        action_taken=body.action_taken,
        follow_up_due=body.follow_up_due,
        expected_version=body.version,
        severity=body.severity,
    )
    return Status(201, _event_out(event))


@router.post("/{visit_id}/sign", response=VisitOut)
def sign(request: ClinicRequest, visit_id: int, body: VersionIn) -> VisitOut:
    """Sign the visit: warnings and needle count checked again, CPT chosen, note fixed, visit locked."""
    acks = _acknowledgements(body.acknowledgements)
    actions.sign_visit(member(request), visit_id, body.version, acks)
    return _visit_out(request, visit_id)


@router.post("/{visit_id}/take-over", response=VisitOut)
def take_over(request: ClinicRequest, visit_id: int, body: VersionIn) -> VisitOut:
    """Take over a colleague's unsigned visit (recorded on the visit and audited); it is then yours to
    edit and sign. An unsigned visit is edited by its clinician only."""
    actions.take_over_visit(member(request), visit_id, body.version)
    return _visit_out(request, visit_id)


class AddendumIn(Schema):
    text: str


@router.post("/{visit_id}/addenda", response={201: AddendumOut})
def addendum(request: ClinicRequest, visit_id: int, body: AddendumIn) -> Status[AddendumOut]:
    """Add a dated addendum to a signed visit."""
    a = actions.add_addendum(member(request), visit_id, body.text)
    return Status(201, AddendumOut(id=a.pk, author=a.author.display_name, written_at=a.written_at, text=a.text))


class AdverseEventIn(AdverseEventInput):
    """An adverse event: ``AdverseEventInput``, as the page reads it."""


@router.post("/{visit_id}/adverse-events", response={201: AdverseEventOut})
def adverse_event(request: ClinicRequest, visit_id: int, body: AdverseEventIn) -> Status[AdverseEventOut]:
    """Record an adverse event for a visit, during it or days later."""
    event = actions.record_adverse_event(member(request), visit_id, body)
    return Status(201, _event_out(event))


class FollowUpIn(Schema):
    version: int
    note: str
    outcome: str
    next_follow_up_due: date | None = None
    close: bool = False


@router.post("/adverse-events/{event_id}/follow-ups", response={201: AdverseEventOut})
def follow_up(request: ClinicRequest, event_id: int, body: FollowUpIn) -> Status[AdverseEventOut]:
    """Follow up an open adverse event; ``close`` closes it once resolved."""
    m = member(request)
    actions.record_follow_up(
        m,
        event_id,
        note=body.note,
        outcome=body.outcome,
        next_follow_up_due=body.next_follow_up_due,
        close=body.close,
        expected_version=body.version,
    )
    return Status(201, _event_out(get_record(m, AdverseEvent.objects.all(), event_id)))


# --- in-clinic safety: position and clean technique --------------------------------------------------


class PositionIn(Schema):
    version: int
    patient_positions: list[str] = Field(description="Position codes: supine, prone, side_lying, semi_reclined, seated")


@router.put("/{visit_id}/position", response=VisitOut)
def position(request: ClinicRequest, visit_id: int, body: PositionIn) -> VisitOut:
    """Record the position(s) the patient is needled in (a first session after fainting must be lying)."""
    actions.record_patient_position(member(request), visit_id, body.patient_positions, body.version)
    return _visit_out(request, visit_id)


class CleanTechniqueIn(Schema):
    version: int
    gloves_worn: bool
    items: list[str] | None = Field(None, description="Items confirmed; omit for 'all done'")


@router.put("/{visit_id}/clean-technique", response=VisitOut)
def clean_technique(request: ClinicRequest, visit_id: int, body: CleanTechniqueIn) -> VisitOut:
    """Record the clean-technique checklist (before signing), with who and when."""
    actions.record_clean_technique(
        member(request),
        visit_id,
        items=body.items,
        gloves_worn=body.gloves_worn,
        expected_version=body.version,
    )
    return _visit_out(request, visit_id)
