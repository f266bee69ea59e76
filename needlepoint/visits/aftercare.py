"""The printable after-care sheet offered after every needling visit.

It carries the patient's name, the visit date, the clinic's name and general after-care advice from the data
file, and nothing from the clinical record (no muscles, findings or notes), so front desk may print it too.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from needlepoint.accounts.access import get_record
from needlepoint.accounts.roles import Capability
from needlepoint.citations import sorted_keys
from needlepoint.references import keys_in_list
from needlepoint.visits.models import Visit

AFTER_CARE_FILE = Path(__file__).parent / "data" / "after_care.json"


@cache
def after_care_sections() -> list[dict[str, Any]]:
    """The sheet's sections (heading, items with their sources), in the order printed."""
    return json.loads(AFTER_CARE_FILE.read_text(encoding="utf-8"))["sections"]


def after_care_sheet(request: HttpRequest, visit_id: int) -> HttpResponse:
    """The after-care sheet of one needling visit; 404 when no needling was recorded in it."""
    # View-demographics is the right bar: the sheet shows who and when, never what was found or needled.
    visit = get_record(
        request.membership,  # type: ignore[attr-defined]
        Visit.objects.select_related("patient", "clinic", "clinician__user"),
        visit_id,
        Capability.VIEW_DEMOGRAPHICS,
        summary="after-care sheet",
    )
    if not visit.needling_entries.exists():
        raise Http404("No needling is recorded in this visit, so there is no after-care sheet for it.")
    sections = after_care_sections()
    sources = sorted_keys(key for s in sections for item in s["items"] for key in keys_in_list(item["source"]))
    context = {"visit": visit, "patient": visit.patient, "clinic": visit.clinic, "sections": sections}
    return render(request, "visits/after_care.html", context | {"sources": ", ".join(sources)})
