"""Visit pages: the clinician dashboard, the visit page with its htmx fragments, adverse events.

Thin: each view parses a form, calls one action, and renders the page, or only the changed part of it
when htmx asked (no page reload per needling entry).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.http import require_POST

from needlepoint.accounts.access import get_record, require
from needlepoint.accounts.models import Membership
from needlepoint.accounts.requests import ClinicRequest, member
from needlepoint.accounts.roles import Capability
from needlepoint.inputs import whole_number
from needlepoint.patients.models import Episode
from needlepoint.patients.page import stored_part
from needlepoint.visits import actions, aftercare, forms
from needlepoint.visits.dashboard import (
    QUEUE_PAGE_ROWS,
    dashboard_for,
    open_adverse_events,
    shows_own_lists,
    stored_lists,
    unsigned_visits,
)
from needlepoint.visits.entry_defaults import LengthProposal, length_proposals
from needlepoint.visits.inputs import SignInput, StartVisitInput, parse
from needlepoint.visits.models import AdverseEvent, Visit, VisitLocked
from needlepoint.visits.muscles import hazards, needling_muscles
from needlepoint.visits.needles import needle_stock
from needlepoint.visits.read_model import note_text, visit_state
from needlepoint.visits.summary import flags_from

SIGNED_BODY_FORMAT = 1  # part of a signed visit's stored body's key: a release that changes its template raises it
ACK_PREFIX = "ack:"
PRECAUTION_PREFIX = "ackp:"


def _htmx(request: ClinicRequest) -> bool:
    return bool(request.headers.get("HX-Request"))


def _add_errors(form: Any, exc: ValidationError) -> None:
    """An action's ValidationError on the form: per field where it names one, else on top."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            for error in errors:
                form.add_error(field if field in form.fields else None, error)
    else:
        for message in exc.messages:
            form.add_error(None, message)


def _acknowledgements(request: ClinicRequest) -> dict[str, dict[str, Any]]:
    """Each warning's acknowledgement from the form: the precautions chosen (``ackp:KEY``, a checkbox or the
    one-click button) and the note or reason (``ack:KEY``)."""
    keys = {k.split(":", 1)[1] for k in request.POST if k.startswith((ACK_PREFIX, PRECAUTION_PREFIX))}
    return {
        key: {
            "precautions": request.POST.getlist(PRECAUTION_PREFIX + key),
            "note": request.POST.get(ACK_PREFIX + key, ""),
        }
        for key in keys
    }


def _version(request: ClinicRequest) -> int:
    return whole_number(request.POST.get("version", ""), smallest=0) or 0


# --- dashboard ---------------------------------------------------------------------------------------


def dashboard(request: ClinicRequest) -> HttpResponse:
    """The clinician's day: today's patients, unsigned and overdue visits, adverse events to follow up,
    screenings and consents about to lapse. Front desk goes to the patient search."""
    membership = request.membership
    if membership is None or not membership.can(Capability.VIEW_CLINICAL):
        return redirect("patients")
    return render(
        request, "visits/dashboard.html", {"lists": stored_lists(request, membership, lambda: _lists(membership))}
    )


def _lists(membership: Membership) -> dict[str, Any]:
    """The dashboard's lists (``dashboard_for``), with "today" from the appointment book: visits started without an
    appointment are listed after it."""
    from needlepoint.scheduling.calendar import today_for

    context = dashboard_for(membership)
    return context | today_for(membership, context["today"])


def unsigned_visits_page(request: ClinicRequest) -> HttpResponse:
    """Every unsigned visit (the clinician's own; the clinic's for an admin), oldest first: the dashboard shows the
    head of this queue."""
    membership = require(request.membership, Capability.VIEW_CLINICAL)
    context = unsigned_visits(membership, QUEUE_PAGE_ROWS, "unsigned visits")
    return render(request, "visits/unsigned.html", {**context, "mine": shows_own_lists(membership)})


# --- starting a visit --------------------------------------------------------------------------------


def visit_start(request: ClinicRequest, episode_id: int) -> HttpResponse:
    """Start a visit in an episode (now, or at an earlier time for late documentation)."""
    membership = member(request)
    episode = get_record(membership, Episode.objects.select_related("patient"), episode_id, Capability.EDIT_CLINICAL)
    form = forms.StartVisitForm(request.POST or None)
    quick = request.method == "POST" and "started_at" not in request.POST
    if quick or (request.method == "POST" and form.is_valid()):
        start = StartVisitInput() if quick else form.parsed
        # Only on the clinician's explicit choice (the checkbox, or the episode's "from the previous visit"
        # button): a new visit never silently repeats the last one's needling.
        copy = request.POST.get("copy_previous") in ("1", "on", "true")
        try:
            visit = actions.start_visit(
                membership, episode, start, copy_previous=copy, on_copy_refused=lambda exc: _copy_refused(request, exc)
            )
        except ValidationError as exc:
            if quick:
                # The one-click start has no form to show its refusal on: say it where the click was made.
                messages.error(request, " ".join(exc.messages))
                return redirect("episode", patient_id=episode.patient_id, episode_id=episode.pk)
            _add_errors(form, exc)
        else:
            return redirect("visit", visit_id=visit.pk)
    return render(request, "visits/start.html", {"form": form, "episode": episode, "patient": episode.patient})


def _copy_refused(request: ClinicRequest, refusal: ValidationError) -> None:
    """Why the visit started without the previous needling (the visit page offers the copy again)."""
    if isinstance(refusal, actions.WarningsNeedAcknowledgement):
        messages.info(request, gettext("Acknowledge the warnings to start from the previous visit's needling."))
    elif getattr(refusal, "code", None) == "nothing_to_copy":
        messages.info(request, gettext("No earlier visit in this episode has needling to start from."))
    else:
        messages.warning(request, " ".join(refusal.messages))


# --- the visit page ----------------------------------------------------------------------------------


def _load_visit(request: ClinicRequest, visit_id: int, capability: Capability = Capability.VIEW_CLINICAL) -> Visit:
    return get_record(
        member(request),
        # The clinic comes with the membership (get_record).
        Visit.objects.select_related(
            "patient", "episode", "clinician__user", "signed_by__user", "taken_over_from__user"
        ),
        visit_id,
        capability,
    )


def visit_context(request: ClinicRequest, visit: Visit, **extra: Any) -> dict[str, Any]:
    """Everything the visit page shows, in a bounded number of queries: the visit's state (``read_model``, the
    same the API returns) and the page's own forms and offers."""
    membership = member(request)
    state = visit_state(visit)
    unsigned = not state.signed
    may_edit = unsigned and membership.can(Capability.EDIT_CLINICAL)
    context: dict[str, Any] = {
        "visit": visit,
        "patient": visit.patient,
        "episode": visit.episode,
        "entries": state.rows,
        "events": state.events,
        "addenda": state.addenda,
        # An unsigned visit is edited by its clinician; a colleague sees it and may take it over.
        "editable": may_edit and visit.clinician_id == membership.pk,
        "can_take_over": may_edit and visit.clinician_id != membership.pk,
        "form_version": extra.pop("form_version", visit.version),
        "can_sign": unsigned and visit.clinician_id == membership.pk,
        "cpt": state.cpt,
        "reconciliation": state.reconciliation,
        "incident": state.incident,
        "after_care_given": aftercare.after_care_given(visit) if state.rows else [],
    }
    if unsigned:
        entries = state.entries
        context |= {
            "clearance": state.clearance,
            "warnings": state.warnings,
            "note_preview": state.note,
            "previous": actions.previous_needled_visit(visit) if not entries else None,
            "suggestions": _open_suggestions(visit, entries),
            "entry_form": extra.pop("entry_form", None) or _blank_entry_form(visit, entries),
            "counts_form": extra.pop("counts_form", None)
            or forms.CountsForm(
                initial={
                    "opened": visit.needles_opened,
                    "removed": visit.needles_removed,
                    "in_sharps": visit.needles_in_sharps,
                }
            ),
            "incident_form": extra.pop("incident_form", None) or forms.IncidentForm(),
            "details_form": extra.pop("details_form", None) or _details_form(visit),
            "muscle_data": _muscle_data(state.clearance),
        }
    else:
        context["acknowledged"] = list((visit.acknowledgements or {}).values())
        context["addendum_form"] = extra.pop("addendum_form", None) or forms.AddendumForm()
    return context | extra


def _muscle_data(clearance: Any) -> dict[str, dict[str, Any]]:
    """Per muscle: its trigger points and sides, and the length the entry form proposes when it is chosen
    (``length``; ``from_depth`` when that comes from a sourced safe depth, else it only caps the last length).
    The page hands it to visit.js with ``json_script``."""
    proposals = _length_proposals(flags_from(clearance))
    return {
        m.id: {
            "points": m.trigger_points,
            "sides": m.sides,
            "length": forms.length_value(proposals[m.id].longest_mm) if m.id in proposals else None,
            "from_depth": m.id in proposals and proposals[m.id].from_safe_depth,
        }
        for m in needling_muscles().values()
    }


@lru_cache(maxsize=64)
def _length_proposals(screening: Any) -> dict[str, LengthProposal]:
    # The same screening flags give the same proposals; the data files do not change while serving.
    lengths = [n.length_mm for n in needle_stock().lengths]
    return length_proposals(hazards(), lengths, screening)


def _details_form(visit: Visit) -> forms.VisitDetailsForm:
    return forms.VisitDetailsForm(
        draft_url=reverse("visit_draft", args=[visit.pk]),
        initial={
            "started_at": timezone.localtime(visit.started_at).replace(second=0, microsecond=0),
            "pain_before": visit.pain_before,
            "pain_after": visit.pain_after,
            "subjective": visit.subjective,
            "interventions": visit.interventions,
            "interventions_other": visit.interventions_other,
            "assessment": visit.assessment,
            "plan": visit.plan,
        },
    )


def _open_suggestions(visit: Visit, entries: list[Any]) -> list[Any]:
    """The assessment's suggested needling (palpation findings) not yet entered in this visit."""
    from needlepoint.atlas.suggestions import suggested_needling

    entered = {(e.muscle_id, e.side, e.trigger_point) for e in entries}
    return [s for s in suggested_needling(visit.episode) if (s.muscle_id, s.side, s.trigger_point) not in entered]


def _blank_entry_form(visit: Visit, entries: list[Any]) -> forms.NeedlingEntryForm:
    """A new entry, pre-set from the last one (same side, gauge, length, technique) for speed.

    The first entry's side is the episode's side; a central or two-sided episode leaves it for the
    clinician to choose. Choosing the muscle then proposes the length that suits it (``entry_defaults``)."""
    last = entries[-1] if entries else None
    side = visit.episode.side if visit.episode.side in ("left", "right") else ""
    initial: dict[str, Any] = {"side": side, "needles": 1, "diameter_mm": "0.25", "length_mm": "30"}
    if last is not None:
        initial |= {
            "side": last.side,
            "diameter_mm": forms.diameter_value(last.diameter_mm),
            "length_mm": forms.length_value(last.length_mm),
            "technique": last.technique,
            "minutes_left_in": last.minutes_left_in,
        }
    return forms.NeedlingEntryForm(initial=initial)


def visit_detail(request: ClinicRequest, visit_id: int) -> HttpResponse:
    """The visit page: documenting while unsigned; the signed note, addenda and adverse events after. A signed
    visit's body comes from the shared cache while nothing it shows was written (``patients.page.stored_part``)."""
    visit = _load_visit(request, visit_id)
    if visit.signed_at is None:
        return render(request, "visits/visit.html", visit_context(request, visit))
    body = stored_part(
        request,
        member(request),
        visit.patient_id,
        f"visit-page:{SIGNED_BODY_FORMAT}:{visit.pk}",
        "visits/_visit_body.html",
        lambda: visit_context(request, visit),
    )
    return render(request, "visits/visit.html", {"visit": visit, "patient": visit.patient, "signed_body": body})


def _fragment(request: ClinicRequest, visit_id: int, fragment: str = "workspace", **extra: Any) -> HttpResponse:
    """The changed part of the page (htmx), or the whole page without JavaScript. Once the visit is signed
    there is nothing left to edit, so the browser goes to the signed note with the message."""
    visit = _load_visit(request, visit_id)
    if visit.signed_at is not None:
        for message in extra.get("errors") or extra.get("sign_errors") or []:
            messages.error(request, message)
        url = reverse("visit", args=[visit_id])
        return HttpResponse(status=204, headers={"HX-Redirect": url}) if _htmx(request) else redirect(url)
    context = visit_context(request, visit, **extra)
    template = f"visits/_{fragment}_response.html" if _htmx(request) else "visits/visit.html"
    return render(request, template, context)


def _workspace_action(
    request: ClinicRequest,
    visit_id: int,
    run: Callable[[Any], Any],
    form: Any = None,
    form_name: str = "",
    success: str = "",
    fragment: str = "workspace",
) -> HttpResponse:
    """Run one action on POST and answer with the re-rendered fragment (htmx) or the page.

    On a refusal the clinician's input comes back in the form with the message, so nothing typed is lost.
    """
    membership = require(request.membership, Capability.EDIT_CLINICAL)
    extra: dict[str, Any] = {}
    if form is not None and not form.is_valid():
        return _fragment(request, visit_id, fragment, **{form_name: form})
    try:
        run(membership)
    except actions.WarningsNeedAcknowledgement as exc:
        extra |= {"pending": _pending(exc), "pending_for": form_name}
        if form is not None:
            extra[form_name] = form
    except ValidationError as exc:
        if getattr(exc, "code", None) == "conflict":
            # Keep the version the clinician read, so saving again conflicts again until they reload.
            extra["form_version"] = _version(request)
        if form is not None and not isinstance(exc, VisitLocked):
            _add_errors(form, exc)
            extra[form_name] = form
        else:
            extra["errors"] = exc.messages
    else:
        if not _htmx(request):
            messages.success(request, success)
            return redirect("visit", visit_id=visit_id)
        extra["saved"] = success
    return _fragment(request, visit_id, fragment, **extra)


def _pending(exc: actions.WarningsNeedAcknowledgement) -> list[dict[str, Any]]:
    """The warnings to acknowledge, each with what was wrong with the acknowledgement given, if anything."""
    return [{"warning": w, "key": _key(w), "problem": exc.problems.get(_key(w), "")} for w in exc.warnings]


def _key(warning: Any) -> str:
    from needlepoint.visits.safety import warning_key

    return warning_key(warning)


@require_POST
def entry_add(request: ClinicRequest, visit_id: int) -> HttpResponse:
    """Add a needling entry (htmx: the workspace comes back with the new row, the form ready again)."""
    form = forms.NeedlingEntryForm(request.POST)

    def run(membership: Any) -> Any:
        return actions.add_needling_entry(
            membership, visit_id, form.parsed, _version(request), _acknowledgements(request)
        )

    return _workspace_action(request, visit_id, run, form, "entry_form", "Needling entry added.")


@require_POST
def entry_remove(request: ClinicRequest, visit_id: int, entry_id: int) -> HttpResponse:
    """Take back a needling entry recorded by mistake (before signing)."""
    return _workspace_action(
        request,
        visit_id,
        lambda m: actions.remove_needling_entry(m, visit_id, entry_id, _version(request)),
        success="Needling entry removed.",
    )


@require_POST
def copy_previous(request: ClinicRequest, visit_id: int) -> HttpResponse:
    """Start from the previous visit's needling."""
    return _workspace_action(
        request,
        visit_id,
        lambda m: actions.copy_previous_needling(m, visit_id, _version(request), _acknowledgements(request)),
        form_name="copy",
        success="Needling copied from the previous visit.",
    )


@require_POST
def acknowledge(request: ClinicRequest, visit_id: int) -> HttpResponse:
    """Give reasons to proceed for the visit's warnings."""
    return _workspace_action(
        request,
        visit_id,
        lambda m: actions.acknowledge_warnings(m, visit_id, _acknowledgements(request), _version(request)),
        success="Warnings acknowledged.",
    )


@require_POST
def counts(request: ClinicRequest, visit_id: int) -> HttpResponse:
    """Record needles opened, removed and in sharps."""
    form = forms.CountsForm(request.POST)

    def run(membership: Any) -> Any:
        return actions.record_needle_counts(
            membership, visit_id, **form.parsed.model_dump(), expected_version=_version(request)
        )

    return _workspace_action(request, visit_id, run, form, "counts_form", "Needle counts saved.")


@require_POST
def incident(request: ClinicRequest, visit_id: int) -> HttpResponse:
    """Record a 'needle unaccounted for' incident."""
    form = forms.IncidentForm(request.POST)

    def run(membership: Any) -> Any:
        data = form.cleaned_data
        return actions.record_needle_incident(
            membership,
            visit_id,
            needles_unaccounted=data["needles_unaccounted"],
            search_made=data["search_made"],
            action_taken=data["action_taken"],
            follow_up_due=data["follow_up_due"],
            expected_version=_version(request),
        )

    return _workspace_action(request, visit_id, run, form, "incident_form", "Incident recorded.")


@require_POST
def details(request: ClinicRequest, visit_id: int) -> HttpResponse:
    """Save pain, report, other interventions, assessment and plan."""
    form = forms.VisitDetailsForm(request.POST, draft_url=reverse("visit_draft", args=[visit_id]))

    def run(membership: Any) -> Any:
        return actions.update_visit(membership, visit_id, form.cleaned_data, _version(request))

    return _workspace_action(request, visit_id, run, form, "details_form", "Visit details saved.", "details")


def _free_text(request: ClinicRequest) -> dict[str, str]:
    """The report, assessment, plan and pain scores as posted from the page (absent fields are left alone)."""
    return {name: request.POST[name] for name in actions.DRAFT_FIELDS if name in request.POST}


@require_POST
def draft(request: ClinicRequest, visit_id: int) -> HttpResponse:
    """The free text's autosave while the clinician types: answers the new version and whether it saved.

    A refusal (a colleague's change, someone else's visit, a signed visit) saves nothing; the page keeps
    the text and says "not saved" with the reason.
    """
    membership = require(request.membership, Capability.EDIT_CLINICAL)
    note_preview = ""
    try:
        visit = actions.save_draft_text(membership, visit_id, _free_text(request), _version(request))
    except ValidationError as exc:
        state, message, version = "error", "Not saved: " + " ".join(exc.messages), _version(request)
    else:
        state, version = "saved", visit.version
        message = f"Draft saved at {timezone.localtime():%H:%M:%S}"
        # The note preview follows the text, so what the page shows is what signing will fix.
        note_preview = note_text(visit)
    context = {"form_version": version, "draft_state": state, "draft_message": message, "note_preview": note_preview}
    return render(request, "visits/_draft_response.html", context)


@require_POST
def take_over(request: ClinicRequest, visit_id: int) -> HttpResponse:
    """Take over a colleague's unsigned visit, to continue and sign it (recorded and audited)."""
    membership = require(request.membership, Capability.EDIT_CLINICAL)
    try:
        visit = actions.take_over_visit(membership, visit_id, _version(request))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        previous = visit.taken_over_from.display_name if visit.taken_over_from is not None else gettext("its clinician")
        messages.success(
            request,
            gettext("You have taken this visit over from %(previous)s; it is yours to sign.") % {"previous": previous},
        )
    return redirect("visit", visit_id=visit_id)


def _to_visit(request: ClinicRequest, visit_id: int) -> HttpResponse:
    url = reverse("visit", args=[visit_id])
    if _htmx(request):
        return HttpResponse(status=204, headers={"HX-Redirect": url})
    return redirect(url)


@require_POST
def sign(request: ClinicRequest, visit_id: int) -> HttpResponse:
    """Sign the visit with the report, assessment and plan as they stand on the page (warnings and needle
    counts are checked again); the page then shows the note.

    A second sign of a visit this clinician has just signed (a double click, a second tab) answers as the
    first did, with no second message. A refusal leaves the typed text on the page with the message.
    """
    membership = require(request.membership, Capability.EDIT_CLINICAL)
    text = _free_text(request)
    try:
        typed = parse(SignInput, text)
        actions.sign_visit(membership, visit_id, _version(request), _acknowledgements(request), text=typed)
    except actions.WarningsNeedAcknowledgement as exc:
        return _fragment(request, visit_id, pending=_pending(exc), pending_for="sign")
    except VisitLocked as exc:
        visit = _load_visit(request, visit_id)
        if visit.signed_by_id == membership.pk:
            return _to_visit(request, visit_id)
        return _fragment(request, visit_id, sign_errors=exc.messages)
    except ValidationError as exc:
        errors = list(exc.messages)
        extra: dict[str, Any] = {}
        if getattr(exc, "code", None) == "not_yours":
            # A colleague's page has no sign section: the message goes on top of the workspace.
            return _fragment(request, visit_id, errors=errors)
        if getattr(exc, "code", None) == "conflict":
            extra["form_version"] = _version(request)
            if any(str(text.get(name, "")).strip() for name in actions.FREE_TEXT_FIELDS):
                errors.append(
                    "Your report, assessment and plan are still on this page, as you typed them: copy them "
                    "before you reload."
                )
        return _fragment(request, visit_id, sign_errors=errors, **extra)
    messages.success(request, gettext("Visit signed. The note is locked; corrections are addenda."))
    return _to_visit(request, visit_id)


def addendum(request: ClinicRequest, visit_id: int) -> HttpResponse:
    """Add a dated addendum to a signed visit."""
    membership = require(request.membership, Capability.EDIT_CLINICAL)
    form = forms.AddendumForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            actions.add_addendum(membership, visit_id, form.cleaned_data["text"])
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, gettext("Addendum added."))
            return redirect("visit", visit_id=visit_id)
    visit = _load_visit(request, visit_id)
    return render(request, "visits/visit.html", visit_context(request, visit, addendum_form=form))


# --- adverse events ----------------------------------------------------------------------------------


def adverse_event_new(request: ClinicRequest, visit_id: int) -> HttpResponse:
    """Record an adverse event for a visit (during it, or days later)."""
    membership = member(request)
    visit = _load_visit(request, visit_id, Capability.EDIT_CLINICAL)
    form = forms.AdverseEventForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            event = actions.record_adverse_event(membership, visit.pk, form.parsed)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, gettext("Adverse event recorded: %(type)s.") % {"type": event.type_label})
            return redirect("visit", visit_id=visit.pk)
    return render(request, "visits/adverse_event_form.html", {"form": form, "visit": visit, "patient": visit.patient})


def adverse_event_detail(request: ClinicRequest, event_id: int) -> HttpResponse:
    """One adverse event with its follow-ups, and the follow-up form while it is open."""
    membership = member(request)
    event = get_record(
        membership,
        AdverseEvent.objects.select_related("patient", "visit", "recorded_by__user", "closed_by__user"),
        event_id,
    )
    form = forms.FollowUpForm(request.POST or None, initial={"version": event.version})
    if request.method == "POST" and form.is_valid():
        require(membership, Capability.EDIT_CLINICAL)
        data = form.cleaned_data
        try:
            actions.record_follow_up(
                membership,
                event.pk,
                note=data["note"],
                outcome=data["outcome"],
                next_follow_up_due=data.get("next_follow_up_due"),
                close=data["close"],
                expected_version=data["version"],
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, gettext("Follow-up recorded."))
            return redirect("adverse_event", event_id=event.pk)
    follow_ups = list(event.follow_ups.select_related("by__user").order_by("at", "pk"))
    return render(
        request,
        "visits/adverse_event.html",
        {"event": event, "patient": event.patient, "form": form, "follow_ups": follow_ups},
    )


def adverse_events(request: ClinicRequest) -> HttpResponse:
    """Every open adverse event of the clinic, until closed, soonest follow-up first."""
    membership = require(request.membership, Capability.VIEW_CLINICAL)
    return render(
        request, "visits/adverse_events.html", {"events": open_adverse_events(membership, limit=QUEUE_PAGE_ROWS)}
    )
