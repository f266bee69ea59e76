"""Every write of visit data: one function per action, in a module per part of the visit.

- ``visit``: starting a visit, its details, the draft autosave, taking over a colleague's visit
- ``entries``: needling entries (add, copy the previous visit's, remove) and acknowledging their warnings
- ``counts``: needle accountability (the counts, the 'needle unaccounted for' incident)
- ``signing``: signing and addenda
- ``adverse``: adverse events and their follow-ups
- ``in_clinic``: the patient's position, the first needled session after fainting, the clean technique

Each action owns its transaction, locks the visit row (``guard``), checks the version the clinician read (so two
clinicians editing at once get a conflict, not a silent overwrite) and the invariants that need the database,
and records its audit entry (``audit.wrote``). The input arrives already read
by its definition in ``visits/inputs.py`` (the same for the page and the API). Bad input raises
``ValidationError`` with a message a clinician can act on, and changes nothing.
"""

from needlepoint.visits.actions.adverse import record_adverse_event, record_follow_up
from needlepoint.visits.actions.counts import record_needle_counts, record_needle_incident
from needlepoint.visits.actions.entries import (
    Acknowledgements,
    acknowledge_warnings,
    add_needling_entry,
    copy_previous_needling,
    previous_needled_visit,
    remove_needling_entry,
)
from needlepoint.visits.actions.guard import (
    WarningsNeedAcknowledgement,
    _locked_visit,
    conflict_message,
    not_your_visit_message,
)
from needlepoint.visits.actions.in_clinic import (
    check_fainting_first_session,
    has_fainting_history,
    is_first_needled_visit,
    record_clean_technique,
    record_patient_position,
)
from needlepoint.visits.actions.signing import add_addendum, sign_visit
from needlepoint.visits.actions.visit import (
    DRAFT_FIELDS,
    FREE_TEXT_FIELDS,
    VISIT_FIELDS,
    save_draft_text,
    start_visit,
    take_over_visit,
    update_visit,
)
from needlepoint.visits.inputs import FUTURE_TOLERANCE, MAX_MINUTES_LEFT_IN, MAX_NEEDLES_PER_ENTRY, NEEDLE_INCIDENT_TYPE

__all__ = [
    "DRAFT_FIELDS",
    "FREE_TEXT_FIELDS",
    "FUTURE_TOLERANCE",
    "MAX_MINUTES_LEFT_IN",
    "MAX_NEEDLES_PER_ENTRY",
    "NEEDLE_INCIDENT_TYPE",
    "VISIT_FIELDS",
    "Acknowledgements",
    "WarningsNeedAcknowledgement",
    "_locked_visit",
    "acknowledge_warnings",
    "add_addendum",
    "add_needling_entry",
    "check_fainting_first_session",
    "conflict_message",
    "copy_previous_needling",
    "has_fainting_history",
    "is_first_needled_visit",
    "not_your_visit_message",
    "previous_needled_visit",
    "record_adverse_event",
    "record_clean_technique",
    "record_follow_up",
    "record_needle_counts",
    "record_needle_incident",
    "record_patient_position",
    "remove_needling_entry",
    "save_draft_text",
    "sign_visit",
    "start_visit",
    "take_over_visit",
    "update_visit",
]
