"""Printed documents: one HTML template per document, shown as a printable page and rendered to PDF by
WeasyPrint from the same template, so the page and the PDF cannot say different things.

Every document carries the clinic's letterhead (name, address, phone, e-mail, website) and names its
clinician with profession and licence number.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from typing import Any

from django.contrib.staticfiles import finders
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string

from needlepoint.accounts.models import Clinic, Membership


@dataclass(frozen=True)
class Letterhead:
    """The clinic's name and contact lines as printed at the top of a document."""

    name: str
    lines: list[str]
    missing_contact: bool  # no address and no phone yet: the page tells an admin where to add them


def letterhead(clinic: Clinic) -> Letterhead:
    """The letterhead of ``clinic``."""
    return Letterhead(clinic.name, clinic.contact_lines, not (clinic.address or clinic.phone))


@dataclass(frozen=True)
class Signatory:
    """A clinician as a document names them: name, profession and licence number."""

    name: str
    profession: str
    licence: str

    @property
    def line(self) -> str:
        """ "Maya Okafor, Physical therapist, licence PT-40213" (parts that are missing are left out)."""
        parts = [self.name, self.profession, f"licence {self.licence}" if self.licence else ""]
        return ", ".join(p for p in parts if p)


def signatory(membership: Membership) -> Signatory:
    """The clinician of ``membership`` as printed under a note or letter."""
    name = membership.user.get_full_name() or membership.user.username
    return Signatory(
        name, membership.get_profession_display() if membership.profession else "", membership.licence_number
    )


# The documents' one stylesheet: the printable page links it, the PDF is rendered with it. A file rather than a
# <style> element, which the pages' Content-Security-Policy would refuse.
DOCUMENT_CSS = "css/document.css"


def render_pdf(template: str, context: dict[str, Any]) -> bytes:
    """The document ``template`` rendered with ``context`` as PDF (WeasyPrint; fonts from the system)."""
    # Imported here: WeasyPrint loads Pango at import, which only the pages that print need.
    from weasyprint import HTML

    html = render_to_string(template, context | {"as_pdf": True})
    pdf: bytes = HTML(string=html).write_pdf(stylesheets=[finders.find(DOCUMENT_CSS)])  # WeasyPrint is untyped
    return pdf


def document_response(
    request: HttpRequest, template: str, context: dict[str, Any], *, filename: str, as_pdf: bool
) -> HttpResponse:
    """The document as a printable page, or as an inline PDF named ``filename``."""
    if not as_pdf:
        return render(request, template, context | {"as_pdf": False})
    response = HttpResponse(render_pdf(template, context), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    # A clinical document must not linger in a shared browser's or proxy's cache.
    response["Cache-Control"] = "no-store"
    return response


def chart_image(svg: str) -> dict[str, str]:
    """An inline SVG chart as an image for the PDF (a data URI) and its accessible label.

    As an image, each chart keeps its own ids (matplotlib numbers them per figure, so two inline charts would
    share 'line2d_1'), and its presentation styles are read by the SVG renderer rather than as page CSS.
    """
    label = re.search(r'aria-label="([^"]*)"', svg)
    # A standalone SVG image needs a size: the page's inline form has width="100%"; matplotlib's viewBox is in pt.
    box = re.search(r'viewBox="0 0 ([\d.]+) ([\d.]+)"', svg)
    size = f'width="{box.group(1)}pt" height="{box.group(2)}pt"' if box else 'width="540pt"'
    document = svg.replace('width="100%"', size, 1)
    encoded = base64.b64encode(document.encode("utf-8")).decode("ascii")
    return {"uri": f"data:image/svg+xml;base64,{encoded}", "label": label.group(1) if label else "Chart"}
