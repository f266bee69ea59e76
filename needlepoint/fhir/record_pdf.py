"""The readable PDF of a patient's record export: the patient's details, then every document of the record in
date order, as plain text on letter pages. Text is never interpreted (no mathtext), so any name prints as typed."""

from __future__ import annotations

import io
import textwrap
from collections.abc import Iterator

import matplotlib

matplotlib.use("Agg")
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from needlepoint.fhir.export import RecordDocument
from needlepoint.patients.models import Patient

PAGE_INCHES = (8.5, 11)
LINES_PER_PAGE = 58
WRAP = 95


def _lines(patient: Patient, documents: list[RecordDocument], printed: str) -> Iterator[tuple[str, str]]:
    """(style, text) for every printed line."""
    yield "title", f"Health record of {patient.given_name} {patient.family_name}"
    yield "plain", f"MRN {patient.mrn} · born {patient.date_of_birth:%Y-%m-%d} · {patient.clinic.name}"
    for label, value in (("Phone", patient.phone), ("E-mail", patient.email), ("Address", patient.address)):
        if value:
            yield "plain", f"{label}: {value}"
    yield "plain", f"Printed {printed}. {len(documents)} documents follow, oldest first."
    yield "plain", ""
    for document in documents:
        yield "heading", document.title + ("" if document.final else " (not signed)")
        if document.author:
            yield "small", f"by {document.author}"
        for paragraph in document.text.splitlines() or [""]:
            for line in textwrap.wrap(paragraph, WRAP) or [""]:
                yield "plain", line
        yield "plain", ""


STYLES = {"title": (14, "bold"), "heading": (10.5, "bold"), "plain": (9, "normal"), "small": (8, "normal")}


def record_pdf(patient: Patient, documents: list[RecordDocument], printed: str) -> bytes:
    """The PDF bytes of the readable record."""
    out = io.BytesIO()
    lines = list(_lines(patient, documents, printed))
    pages = [lines[i : i + LINES_PER_PAGE] for i in range(0, len(lines), LINES_PER_PAGE)]
    with PdfPages(out) as pdf:
        for number, page in enumerate(pages, start=1):
            figure = Figure(figsize=PAGE_INCHES)
            y = 0.95
            for style, text in page:
                size, weight = STYLES[style]
                figure.text(0.07, y, text, fontsize=size, fontweight=weight, family="DejaVu Sans", parse_math=False)
                y -= 0.0155
            footer = f"{patient.given_name} {patient.family_name}, MRN {patient.mrn} · page {number} of {len(pages)}"
            figure.text(0.07, 0.03, footer, fontsize=7, family="DejaVu Sans", parse_math=False)
            pdf.savefig(figure)
    return out.getvalue()
