"""The printable visit note: the signed SOAP note with the clinic's letterhead, the clinician's licence and the
addenda, as a page to print and as a PDF from the same template. Clinical content: clinicians and clinic admins
only, never front desk."""

from __future__ import annotations

from django.http import HttpResponse
from django.utils import timezone

from needlepoint.accounts import audit
from needlepoint.accounts.access import get_record
from needlepoint.accounts.requests import ClinicRequest, member
from needlepoint.accounts.roles import Capability
from needlepoint.printing import document_response, letterhead, signatory
from needlepoint.visits.aftercare import after_care_given
from needlepoint.visits.models import Visit
from needlepoint.visits.read_model import note_text


def _note_context(visit: Visit) -> dict[str, object]:
    """What the printed note shows; an unsigned visit prints its current draft, marked as not the record."""
    text = note_text(visit)
    addenda = [
        {"text": a.text, "by": signatory(a.author).line, "at": timezone.localtime(a.written_at)}
        for a in visit.addenda.select_related("author__user").order_by("written_at", "pk")
    ]
    signed_at = timezone.localtime(visit.signed_at) if visit.signed_at else None
    started = timezone.localtime(visit.started_at)
    return {
        "letterhead": letterhead(visit.clinic),
        "visit": visit,
        "patient": visit.patient,
        "episode": visit.episode,
        "started_at": started,
        "clinician": signatory(visit.clinician),
        "signed_by": signatory(visit.signed_by) if visit.signed_by is not None else None,
        "signed_at": signed_at,
        "note_text": text,
        "addenda": addenda,
        "after_care": [
            {"how": str(g).replace(" on ", ", ", 1), "by": signatory(g.given_by).line} for g in after_care_given(visit)
        ],
        "footer": f"{visit.patient.full_name} · MRN {visit.patient.mrn} · visit of {started:%Y-%m-%d}",
    }


def _visit(request: ClinicRequest, visit_id: int, summary: str) -> Visit:
    return get_record(
        member(request),
        Visit.objects.select_related("patient", "clinic", "episode", "clinician__user", "signed_by__user"),
        visit_id,
        Capability.VIEW_CLINICAL,
        summary=summary,
    )


def visit_note(request: ClinicRequest, visit_id: int) -> HttpResponse:
    """The visit note as a printable page with the clinic's letterhead."""
    visit = _visit(request, visit_id, "printable visit note")
    return document_response(request, "documents/visit_note.html", _note_context(visit), filename="", as_pdf=False)


def visit_note_pdf(request: ClinicRequest, visit_id: int) -> HttpResponse:
    """The visit note as PDF, from the same template as the printable page."""
    visit = _visit(request, visit_id, "visit note PDF")
    audit.record("export", visit, summary="visit note PDF")
    name = f"visit-note-{visit.patient.mrn}-{timezone.localdate(visit.started_at):%Y-%m-%d}-{visit.pk}.pdf"
    return document_response(request, "documents/visit_note.html", _note_context(visit), filename=name, as_pdf=True)
