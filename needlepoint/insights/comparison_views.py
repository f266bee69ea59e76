"""The risk-adjusted comparison of clinicians at /insights/clinicians/. Thin: check the capability, parse the
filters (condition and dates only), build the comparison, render. A clinic admin sees every clinician; a
clinician sees their own rows beside the clinic's model and its calibration."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render

from needlepoint.accounts import audit
from needlepoint.accounts.access import require
from needlepoint.accounts.requests import ClinicRequest
from needlepoint.accounts.roles import Capability
from needlepoint.insights.clinician_comparison import clinician_comparison
from needlepoint.insights.filters import FilterError, parse_filters
from needlepoint.insights.report import condition_choices

FILTER_FIELDS = ("condition", "date_from", "date_to")


def clinicians(request: ClinicRequest) -> HttpResponse:
    """Observed minus expected change in pain per clinician, with the model's calibration, or why there is none."""
    membership = require(request.membership, Capability.VIEW_CLINIC_REPORTS)
    values = {name: request.GET.get(name, "") for name in FILTER_FIELDS}
    context: dict[str, object] = {"values": values, "conditions": condition_choices(), "errors": {}}
    try:
        filters, _ = parse_filters(membership.clinic_id, values)
    except FilterError as exc:
        context["errors"] = exc.errors
        return render(request, "insights/clinicians.html", context, status=400)
    report = clinician_comparison(membership.clinic, filters, membership)
    audit.record(
        "read", summary=f"clinician comparison: {filters.describe()}", object_type="insights.ClinicianComparison"
    )
    context["report"] = report
    return render(request, "insights/clinicians.html", context)
