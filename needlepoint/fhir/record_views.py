"""The clinic admin's button on the patient page: the patient's whole record as a FHIR Bundle or a PDF."""

from __future__ import annotations

import json

from django.http import HttpResponse, HttpResponseBadRequest
from django.views.decorators.http import require_POST

from needlepoint.accounts.access import get_patient
from needlepoint.accounts.requests import ClinicRequest, member
from needlepoint.accounts.roles import Capability
from needlepoint.fhir.export import file_stem, record_bundle, record_pdf_bytes


@require_POST
def record_export(request: ClinicRequest, patient_id: int) -> HttpResponse:
    """Download the record (``format`` is ``fhir`` or ``pdf``); only roles that may export records."""
    chosen = request.POST.get("format", "")
    if chosen not in ("fhir", "pdf"):
        return HttpResponseBadRequest("Choose the PDF or the FHIR export.")
    membership = member(request)
    patient = get_patient(membership, patient_id, Capability.EXPORT_RECORD)
    if chosen == "pdf":
        response = HttpResponse(record_pdf_bytes(patient), content_type="application/pdf")
        filename = f"{file_stem(patient)}.pdf"
    else:
        base = request.build_absolute_uri("/fhir/R4/")
        body = json.dumps(record_bundle(patient, base), ensure_ascii=False, indent=1)
        response = HttpResponse(body, content_type="application/fhir+json; charset=utf-8")
        filename = f"{file_stem(patient)}.fhir.json"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response
