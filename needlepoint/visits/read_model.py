"""What a visit shows, worked out once: its needling rows, safety warnings with their acknowledgements, needle
count, incident, CPT code and note.

The visit page, the API and the printed note read a visit through ``visit_state`` so they never disagree: the
warnings the page lists are the ones the API returns, the CPT code is the one signing would fix (or, once
signed, the one it fixed), and the note is the text signing would fix (or did). Reads only; the actions enforce.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from needlepoint.patients.gate import Clearance, needling_clearance
from needlepoint.visits import accountability, cpt, safety
from needlepoint.visits.models import Addendum, AdverseEvent, NeedlingEntry, Visit
from needlepoint.visits.muscles import muscle_name, trigger_point_label
from needlepoint.visits.summary import (
    cpt_choice,
    current_warnings,
    incident_of,
    reconciliation_of,
    render_note,
    size_label,
    technique_label,
)

# The models whose rows the visit page shows besides its patient's, episode's and staff's: a signed visit's stored
# body is kept until one of the patient's rows of these is written (``patients.page.shows_patient_rows``).
VISIT_PAGE_ROWS = (
    "visits.Visit", "visits.NeedlingEntry", "visits.AdverseEvent", "visits.Addendum", "visits.AfterCareGiven",
)  # fmt: skip


@dataclass(frozen=True)
class NeedlingRow:
    """One needling entry with the words a clinician reads: muscle, trigger point, needle size, technique."""

    entry: NeedlingEntry
    muscle: str
    trigger_point: str
    size: str
    technique: str


@dataclass(frozen=True)
class WarningState:
    """A safety check of the visit's needling, with its stored acknowledgement (None until acknowledged)."""

    warning: safety.SafetyWarning
    key: str
    ack: dict[str, Any] | None

    @property
    def acknowledged_text(self) -> str | None:
        """The acknowledgement in words, or None."""
        return safety.acknowledgement_text(self.ack) if self.ack else None


@dataclass(frozen=True)
class CptShown:
    """The visit's CPT code as shown: the code, its description and how many muscles it counted."""

    code: str
    description: str
    muscle_count: int


@dataclass(frozen=True)
class VisitState:
    """Everything computed about one visit that the page, the API and the printed note show."""

    visit: Visit
    entries: list[NeedlingEntry]
    rows: list[NeedlingRow]
    events: list[AdverseEvent]
    addenda: list[Addendum]
    reconciliation: accountability.Reconciliation
    incident: accountability.Incident | None
    # Unsigned: today's choice from the entries. Signed: the code fixed at signing (counting rules change).
    cpt: CptShown | None
    clearance: Clearance | None  # unsigned visits only: the gate's answer the warnings come from
    warnings: list[WarningState]
    note: str  # signed: the note as fixed; unsigned: the note as signing would fix it now

    @property
    def signed(self) -> bool:
        """Whether the visit is signed (its note and code fixed)."""
        return self.visit.signed_at is not None


def needling_rows(entries: list[NeedlingEntry]) -> list[NeedlingRow]:
    """The entries with their muscle, trigger point, size and technique in words."""
    return [
        NeedlingRow(
            entry=e,
            muscle=muscle_name(e.muscle_id),
            trigger_point=trigger_point_label(e.muscle_id, e.trigger_point),
            size=size_label(e.diameter_mm, e.length_mm),
            technique=technique_label(e.technique),
        )
        for e in entries
    ]


def visit_state(visit: Visit) -> VisitState:
    """The visit's computed state, in a fixed number of queries (entries, events, addenda, and for an
    unsigned visit the patient's needling clearance, which its warnings and the page's length proposals use)."""
    entries = list(visit.needling_entries.order_by("position", "pk"))
    events = list(visit.adverse_events.select_related("recorded_by__user").order_by("onset_at", "pk"))
    addenda = list(visit.addenda.select_related("author__user").order_by("written_at", "pk"))
    if visit.signed_at is not None:
        shown = _as_signed(visit, entries)
        return _state(visit, entries, events, addenda, shown, None, [], visit.note_text)
    clearance = needling_clearance(visit.patient)
    checks = current_warnings(entries, clearance) if entries else []
    stored = visit.acknowledgements or {}
    warnings = [WarningState(w, safety.warning_key(w), stored.get(safety.warning_key(w))) for w in checks]
    note = render_note(visit, entries, events, checks)
    choice = cpt_choice(entries)
    shown = CptShown(choice.code, choice.description, choice.muscle_count) if choice else None
    return _state(visit, entries, events, addenda, shown, clearance, warnings, note)


def note_text(visit: Visit) -> str:
    """The signed note, or the note as signing would fix it now (for the autosave and the printed note, which
    show only the note; the same text as ``visit_state(visit).note``)."""
    if visit.signed_at is not None:
        return visit.note_text
    entries = list(visit.needling_entries.order_by("position", "pk"))
    return render_note(visit, entries, list(visit.adverse_events.order_by("onset_at", "pk")))


def _state(
    visit: Visit,
    entries: list[NeedlingEntry],
    events: list[AdverseEvent],
    addenda: list[Addendum],
    choice: CptShown | None,
    clearance: Clearance | None,
    warnings: list[WarningState],
    note: str,
) -> VisitState:
    return VisitState(
        visit=visit,
        entries=entries,
        rows=needling_rows(entries),
        events=events,
        addenda=addenda,
        reconciliation=reconciliation_of(visit),
        incident=incident_of(visit, events),
        cpt=choice,
        clearance=clearance,
        warnings=warnings,
        note=note,
    )


def _as_signed(visit: Visit, entries: list[NeedlingEntry]) -> CptShown | None:
    """The code a signed visit was signed with, never recomputed (None when it had no needling)."""
    if cpt_choice(entries) is None:
        return None
    return CptShown(visit.cpt_code, cpt.description_of(visit.cpt_code), visit.cpt_muscle_count or 0)
