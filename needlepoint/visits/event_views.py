"""Pages for the in-clinic safety events: the visit's position and clean-technique checklist (htmx parts of
the visit workspace), and needle-stick injuries to staff (list, new, one incident with its steps).

Thin: each view parses a form, calls one action or read helper, and renders.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.views.decorators.http import require_POST

from needlepoint.accounts.access import get_record, patients_for, require
from needlepoint.accounts.models import Membership
from needlepoint.accounts.requests import ClinicRequest, member
from needlepoint.accounts.roles import Capability
from needlepoint.visits import actions, event_forms, needle_stick
from needlepoint.visits.clinic_safety import packaged
from needlepoint.visits.models import Visit
from needlepoint.visits.views import _add_errors, _version, _workspace_action

# --- the visit workspace: position and clean technique ----------------------------------------------


@require_POST
def position(request: ClinicRequest, visit_id: int) -> HttpResponse:
    """Record the position(s) the patient is needled in (the action checks the choices and the rule)."""
    chosen = request.POST.getlist("patient_positions")
    return _workspace_action(
        request,
        visit_id,
        lambda m: actions.record_patient_position(m, visit_id, chosen, _version(request)),
        success="Patient position saved.",
    )


@require_POST
def clean_technique(request: ClinicRequest, visit_id: int) -> HttpResponse:
    """One click records the whole clean-technique checklist; ``partial`` records only the items ticked."""
    form = event_forms.CleanTechniqueForm(request.POST)

    def run(membership: Any) -> Any:
        if not form.is_valid():
            raise ValidationError(gettext("Say whether gloves were worn or not used."))
        data = form.cleaned_data
        return actions.record_clean_technique(
            membership,
            visit_id,
            items=data["items"] if data["partial"] else None,
            gloves_worn=data["gloves_worn"],
            expected_version=_version(request),
        )

    return _workspace_action(request, visit_id, run, success="Clean-technique checklist recorded.")


# --- needle-stick injuries ---------------------------------------------------------------------------


def _staff(membership: Membership) -> list[tuple[int, str]]:
    members = Membership.objects.filter(clinic_id=membership.clinic_id, is_active=True).select_related("user")
    return [(m.pk, m.display_name) for m in members.order_by("user__last_name", "user__first_name", "pk")]


def incidents(request: ClinicRequest) -> HttpResponse:
    """Open needle-stick injuries of the clinic until closed, soonest follow-up first, and the latest closed."""
    membership = require(request.membership, Capability.VIEW_CLINICAL)
    return render(
        request,
        "visits/needle_sticks.html",
        {
            "open": needle_stick.open_needle_sticks(membership),
            "closed": needle_stick.recently_closed_needle_sticks(membership),
        },
    )


def _source_from_query(membership: Membership, request: ClinicRequest) -> Visit | None:
    visit_id = request.GET.get("visit") or request.POST.get("source_visit_id")
    if not visit_id:
        return None
    return get_record(membership, Visit.objects.select_related("patient"), visit_id, Capability.EDIT_CLINICAL)


def incident_new(request: ClinicRequest) -> HttpResponse:
    """Record a needle-stick injury to a member of staff (from a visit: its patient is the source)."""
    membership = require(request.membership, Capability.EDIT_CLINICAL)
    source_visit = _source_from_query(membership, request)
    initial: dict[str, Any] = {}
    if source_visit is not None:
        initial |= {"source_kind": "patient", "source_visit_id": source_visit.pk, "source_patient_mrn": ""}
    form = event_forms.NeedleStickForm(request.POST or None, staff=_staff(membership), initial=initial)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        mrn = data.pop("source_patient_mrn", "").strip()
        if mrn and not data.get("source_visit_id"):
            found = patients_for(membership, Capability.EDIT_CLINICAL).filter(mrn=mrn).values_list("pk", flat=True)
            data["source_patient_id"] = found[0] if found else -1
        try:
            incident = needle_stick.record_needle_stick(membership, data)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, gettext("Needle-stick injury recorded. It stays listed until closed."))
            return redirect("needle_stick", incident_id=incident.pk)
    return render(
        request,
        "visits/needle_stick_form.html",
        {"form": form, "source_visit": source_visit, "protocol": packaged().needle_stick_protocol},
    )


def incident_detail(request: ClinicRequest, incident_id: int) -> HttpResponse:
    """One needle-stick injury: the protocol steps with their times, the steps form and the closing form."""
    membership = member(request)
    incident = needle_stick.get_needle_stick(membership, incident_id)
    steps_form = event_forms.NeedleStickStepsForm(initial={"version": incident.version})
    close_form = event_forms.NeedleStickCloseForm(initial={"version": incident.version})
    if request.method == "POST":
        closing = "closing_note" in request.POST
        require(membership, Capability.CLOSE_INCIDENTS if closing else Capability.EDIT_CLINICAL)
        form: Any = event_forms.NeedleStickCloseForm(request.POST) if closing else None
        if form is None:
            form = event_forms.NeedleStickStepsForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                if closing:
                    needle_stick.close_needle_stick(membership, incident.pk, data["closing_note"], data["version"])
                else:
                    needle_stick.record_needle_stick_steps(membership, incident.pk, data, data["version"])
            except ValidationError as exc:
                _add_errors(form, exc)
            else:
                messages.success(request, "Needle-stick incident closed." if closing else "Steps recorded.")
                return redirect("needle_stick", incident_id=incident.pk)
        if closing:
            close_form = form
        else:
            steps_form = form
    return render(
        request,
        "visits/needle_stick.html",
        {
            "incident": incident,
            "steps": _steps(incident),
            "steps_form": steps_form,
            "close_form": close_form,
        },
    )


def _steps(incident: Any) -> list[dict[str, Any]]:
    """Each protocol step with its source, when it was done and what was decided."""
    done = {
        "wound_washed": (incident.wound_washed_at, ""),
        "reported": (incident.reported_at, incident.reported_to),
        "source_testing": (incident.source_consent_at, incident.get_source_consent_display()),
        "pep_decision": (incident.pep_decided_at, incident.get_pep_decision_display()),
    }
    rows = []
    for step in packaged().needle_stick_protocol:
        if step.code == "source_testing" and incident.source_patient_id is None:
            continue
        at, what = done[step.code]
        rows.append({"step": step, "at": at, "what": what})
    return rows
