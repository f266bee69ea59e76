"""The readable PDF of a patient's record export: the patient's details, then every document of the record in
date order, on the clinic's letterhead. One HTML template (documents/patient_record.html) rendered by
WeasyPrint, like every printed document; text is escaped by the template, so any name prints as typed."""

from __future__ import annotations

from needlepoint.fhir.export import RecordDocument
from needlepoint.patients.models import Patient
from needlepoint.printing import letterhead, render_pdf


def record_pdf(patient: Patient, documents: list[RecordDocument], printed: str) -> bytes:
    """The PDF bytes of the readable record."""
    contact = [
        f"{label}: {value}"
        for label, value in (("Phone", patient.phone), ("E-mail", patient.email), ("Address", patient.address))
        if value
    ]
    context = {
        "letterhead": letterhead(patient.clinic),
        "footer": f"{patient.given_name} {patient.family_name}, MRN {patient.mrn}",
        "patient": patient,
        "contact": contact,
        "documents": documents,
        "printed": printed,
    }
    return render_pdf("documents/patient_record.html", context)
