"""API for the evidence report: the same figures as /insights/ and the command line, as JSON.

Filters are query parameters with the page's names (condition, clinician, date_from, date_to, muscle,
technique, cohort, rule, missing, min_n); a bad filter is a 400 naming the field.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext
from ninja import Router

from needlepoint.accounts import audit
from needlepoint.accounts.access import require
from needlepoint.accounts.models import Membership
from needlepoint.accounts.requests import ClinicRequest
from needlepoint.accounts.roles import Capability
from needlepoint.insights import formatting
from needlepoint.insights.filters import FilterError, ReportFilters, ReportOptions, parse_filters
from needlepoint.insights.report import claims_report, responder_report
from needlepoint.outcomes.scoring import ScoringError

router = Router(tags=["insights"])


def _parsed(request: ClinicRequest) -> tuple[Membership, ReportFilters, ReportOptions]:
    membership = require(request.membership, Capability.VIEW_CLINIC_REPORTS)
    try:
        filters, options = parse_filters(membership.clinic_id, request.GET)
    except FilterError as exc:
        raise ValidationError(exc.errors) from None
    return membership, filters, options


@router.get("/claims", response=dict[str, Any])
def claims(request: ClinicRequest) -> dict[str, Any]:
    """The benefit-claims report: verdicts per condition and claim, with every figure's n and 95% interval."""
    from needlepoint.insights.cli_report import claims_json

    membership, filters, options = _parsed(request)
    report = claims_report(membership.clinic, filters, options)
    audit.record("read", summary=f"claims report: {filters.describe()}", object_type="insights.ClaimsReport")
    return claims_json(report)


@router.get("/responders", response=dict[str, Any])
def responders(request: ClinicRequest, instrument: str, by: str = "all") -> dict[str, Any]:
    """Responder rates on one instrument under the chosen rule and missing follow-up policy, by group."""
    membership, filters, options = _parsed(request)
    if by not in ("all", "condition", "cohort", "clinician"):
        raise ValidationError({"by": gettext("Group by all, condition, cohort or clinician.")})
    try:
        report = responder_report(membership.clinic, filters, options, instrument, by=by)
    except ScoringError as exc:
        raise ValidationError({"instrument": str(exc)}) from None
    audit.record("read", summary=f"responder report {instrument}", object_type="insights.ResponderReport")
    data: dict[str, Any] = formatting.plain(report)
    data["filters"]["description"] = filters.describe()
    return data
