"""The visit workspace's in-clinic safety panel (patient position, clean-technique checklist) as an
inclusion tag, so the visit page's own view and context stay as they are."""

from __future__ import annotations

from typing import Any

from django import template

from needlepoint.visits.actions import has_fainting_history, is_first_needled_visit
from needlepoint.visits.clinic_safety import packaged
from needlepoint.visits.summary import in_clinic_note_fields

register = template.Library()


@register.inclusion_tag("visits/_in_clinic.html", takes_context=True)
def in_clinic_panel(context: Any) -> dict[str, Any]:
    """The panel's values from the visit page's context: positions and checklist as recorded, the choices."""
    visit = context["visit"]
    data = packaged()
    recorded = visit.clean_technique or {}
    checklist = in_clinic_note_fields(visit)["clean_technique"]
    chosen = set(visit.patient_positions or [])
    clearance = context.get("clearance")
    # The same test the actions apply, so the page warns before the refusal (a query only for a fainter).
    must_lie = bool(clearance) and has_fainting_history(clearance.screening) and is_first_needled_visit(visit)
    return {
        "must_lie": must_lie,
        "visit": visit,
        "editable": context.get("editable"),
        "form_version": context.get("form_version", visit.version),
        "csrf_token": context.get("csrf_token"),
        "positions": [
            {"code": p.code, "label": p.label, "lying": p.lying, "chosen": p.code in chosen} for p in data.positions
        ],
        "recorded_positions": [p.label for p in data.positions if p.code in chosen],
        "checklist": checklist,
        "checklist_items": [
            {"item": i, "done": i.code in set(recorded.get("items") or [])} for i in data.clean_technique
        ],
        "gloves_worn": recorded.get("gloves_worn", True),
        "first_session": data.first_session,
    }
