"""The evidence pages: the benefit-claims report at /insights/ (filters as GET parameters) and its PDF at
/insights/claims.pdf. Thin: check the capability, parse the filters, build the report, render."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone

from needlepoint.accounts import audit
from needlepoint.accounts.access import require
from needlepoint.accounts.requests import ClinicRequest
from needlepoint.accounts.roles import Capability
from needlepoint.atlas.catalogue import muscles
from needlepoint.insights import plots
from needlepoint.insights.filters import FilterError, clinicians, parse_filters
from needlepoint.insights.models import EpisodeCohort
from needlepoint.insights.pdf import claims_pdf
from needlepoint.insights.report import claims_report, condition_choices
from needlepoint.visits.models import Technique

FILTER_FIELDS = ("condition", "clinician", "date_from", "date_to", "muscle", "technique", "cohort", "rule", "missing")


def claims(request: ClinicRequest) -> HttpResponse:
    """What the clinic's own data show about the three claims, per condition, with every figure's n and CI."""
    membership = require(request.membership, Capability.VIEW_CLINIC_REPORTS)
    context = _form_context(request, membership.clinic_id)
    try:
        filters, options = parse_filters(membership.clinic_id, request.GET)
    except FilterError as exc:
        context["errors"] = exc.errors
        return render(request, "insights/claims.html", context, status=400)
    report = claims_report(membership.clinic, filters, options)
    messages.info(request, report.source_note)  # which path, and how old the summary figures are (base.html)
    audit.record("read", summary=f"claims report: {filters.describe()}", object_type="insights.ClaimsReport")
    context.update(
        report=report,
        relief_svg=plots.relief_svg(report),
        change_svg=plots.change_svg(report),
        recovery_svg=plots.recovery_svg(report),
        events_svg=plots.events_svg(report),
        pdf_query=request.GET.urlencode(),
    )
    return render(request, "insights/claims.html", context)


def claims_pdf_view(request: ClinicRequest) -> HttpResponse:
    """The same report as a PDF, for the same filters."""
    membership = require(request.membership, Capability.VIEW_CLINIC_REPORTS)
    try:
        filters, options = parse_filters(membership.clinic_id, request.GET)
    except FilterError as exc:
        return HttpResponse(" ".join(exc.errors.values()), status=400, content_type="text/plain; charset=utf-8")
    report = claims_report(membership.clinic, filters, options)
    audit.record("export", summary=f"claims report PDF: {filters.describe()}", object_type="insights.ClaimsReport")
    response = HttpResponse(claims_pdf(report, membership.clinic), content_type="application/pdf")
    stamp = timezone.localdate().isoformat()
    response["Content-Disposition"] = f'attachment; filename="claims-report-{stamp}.pdf"'
    return response


def _form_context(request: ClinicRequest, clinic_id: int) -> dict[str, object]:
    cohorts = (
        EpisodeCohort.objects.filter(clinic_id=clinic_id)
        .exclude(label="")
        .values_list("label", flat=True)
        .distinct()
        .order_by("label")
    )
    return {
        "values": {name: request.GET.get(name, "") for name in FILTER_FIELDS} | {"min_n": request.GET.get("min_n", "")},
        "conditions": condition_choices(),
        "clinicians": clinicians(clinic_id),
        "muscles": sorted(((muscle.id, muscle.name) for muscle in muscles().values()), key=lambda item: item[1]),
        "techniques": Technique.choices,
        "cohorts": list(cohorts),
        "errors": {},
    }
