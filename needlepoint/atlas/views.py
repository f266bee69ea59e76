"""Atlas pages: search, a page per muscle, and the assessment with its pain drawing, ranking and palpation.

Thin: each view fetches through the access helper, parses a form, calls one action and renders the page,
or only the changed fragment when htmx asked (the ranking as the drawing changes, the findings list).
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.http import require_POST

from needlepoint.accounts.access import get_record, require
from needlepoint.accounts.models import Membership
from needlepoint.accounts.requests import ClinicRequest, member
from needlepoint.accounts.roles import Capability
from needlepoint.atlas import actions, display, forms
from needlepoint.atlas.catalogue import muscles, not_yet_in_atlas
from needlepoint.atlas.chart import trigger_point_marks
from needlepoint.atlas.models import Assessment, PalpationFinding
from needlepoint.atlas.search import condition_hits, search_atlas
from needlepoint.atlas.suggestions import suggestions_from_findings
from needlepoint.patients.conditions import condition_label
from needlepoint.patients.models import Episode
from needlepoint.web import add_errors, choice_field


def _htmx(request: ClinicRequest) -> bool:
    return bool(request.headers.get("HX-Request"))


def _membership(request: ClinicRequest) -> Membership:
    return member(request)


# --- reference pages ---------------------------------------------------------------------------------


def index(request: ClinicRequest) -> HttpResponse:
    """The atlas: search across muscles, regions and conditions; every muscle by body area when no query."""
    require(_membership(request), Capability.VIEW_CLINICAL)
    query = request.GET.get("q", "").strip()[:100]
    by_area: dict[str, list[Any]] = {}
    for muscle in muscles().values():
        by_area.setdefault(muscle.body_area, []).append(muscle)
    context = {
        "query": query,
        "results": search_atlas(query) if query else None,
        "by_area": sorted(by_area.items()),
        "conditions": condition_hits(),
        "not_yet": not_yet_in_atlas(),
    }
    template = "atlas/_search_results.html" if _htmx(request) else "atlas/index.html"
    return render(request, template, context)


def muscle_detail(request: ClinicRequest, muscle_id: str) -> HttpResponse:
    """One muscle: referral zones and trigger points on the chart, hazard with notes, conditions, sources."""
    require(_membership(request), Capability.VIEW_CLINICAL)
    muscle = muscles().get(muscle_id)
    if muscle is None:
        raise Http404("No such muscle in the atlas.")
    shown = request.GET.get("tp") or None
    own = {tp.code for tp in muscle.trigger_points if tp.referral is not None}
    if shown not in own:
        shown = None
    chart = display.zones_chart(muscle, "muscle-chart", shown)
    context = {
        "muscle": muscle,
        "chart": chart,
        "shown_tp": shown,
        "own_patterns": [tp for tp in muscle.trigger_points if tp.referral is not None],
        "tp_rows": list(zip(trigger_point_marks(muscle), muscle.trigger_points, strict=True)),
        "sources": _all_sources(muscle),
        "zones": display.zone_rows(muscle, shown),
        "badges": display.hazard_badges(muscle.hazard.kinds, muscle.hazard.unverified),
        "pleura_access": display.PLEURA_ACCESS_WORDS.get(muscle.hazard.pleura_access or "", ""),
        "conditions": [(code, condition_label(code)) for code in muscle.conditions],
    }
    return render(request, "atlas/muscle.html", context)


def _all_sources(muscle: Any) -> list[Any]:
    """The muscle's sources, then those of its trigger points and hazard that are not already listed."""
    found: dict[str, Any] = {}
    for source in (*muscle.sources, *(tp.source for tp in muscle.trigger_points), *muscle.hazard.sources):
        found.setdefault(source.key, source)
    return list(found.values())


# --- assessments -------------------------------------------------------------------------------------


def _episode(request: ClinicRequest, episode_id: int, capability: Capability) -> Episode:
    return get_record(_membership(request), Episode.objects.select_related("patient"), episode_id, capability)


def _assessment(
    request: ClinicRequest, assessment_id: int, capability: Capability = Capability.VIEW_CLINICAL
) -> Assessment:
    return get_record(
        _membership(request),
        Assessment.objects.select_related("episode", "patient", "clinician__user"),
        assessment_id,
        capability,
    )


def _initial(episode: Episode) -> Assessment | None:
    return (
        Assessment.objects.filter(episode=episode, kind=Assessment.Kind.INITIAL)
        .select_related("clinician__user")
        .first()
    )


def _ranking_context(
    drawing: dict[str, Any], episode: Episode, assessment: Assessment | None, can_edit: bool
) -> dict[str, Any]:
    rows = display.ranked_rows(drawing, episode.condition) if drawing else []
    return {
        "rows": rows[: display.RANKED_SHOWN],
        "more_rows": rows[display.RANKED_SHOWN :],
        "ranked_count": len(rows),
        "assessment": assessment,
        "episode": episode,
        "can_record": can_edit and assessment is not None,
        "condition_known": display.matcher_condition(episode.condition) is not None,
        "side_choices": PalpationFinding.Side.choices,
        "status_choices": PalpationFinding.Status.choices,
        "twitch_choices": PalpationFinding.Twitch.choices,
        "intensities": display.INTENSITIES,
    }


def assessment_new(request: ClinicRequest, episode_id: int) -> HttpResponse:
    """Record an assessment: paint the pain drawing, see the ranked muscles update, save."""
    membership = _membership(request)
    episode = _episode(request, episode_id, Capability.EDIT_CLINICAL)
    initial = _initial(episode)
    default_kind = Assessment.Kind.REASSESSMENT if initial else Assessment.Kind.INITIAL
    form = forms.AssessmentForm(request.POST or None, initial={"kind": default_kind})
    # The first assessment of an episode is its initial one; later ones are re-assessments or the discharge.
    choice_field(form, "kind").choices = [
        (k, label) for k, label in Assessment.Kind.choices if (k == "initial") != bool(initial)
    ]
    drawing: dict[str, Any] = {}
    if request.method == "POST":
        if form.is_valid():
            drawing = form.cleaned_data["drawing"]
            try:
                assessment = actions.create_assessment(membership, episode, form.cleaned_data)
            except ValidationError as exc:
                add_errors(form, exc)
            else:
                messages.success(request, gettext("%(kind)s recorded.") % {"kind": assessment.get_kind_display()})
                return redirect("atlas_assessment", assessment_id=assessment.pk)
        drawing = _posted_drawing(request)
    ranking = _ranking_context(drawing, episode, None, True)
    context = {
        "episode": episode,
        "patient": episode.patient,
        "form": form,
        "chart": display.drawing_chart(drawing, "drawing", editable=True),
        "drawing_json": _json(drawing),
        "first": initial,
        "first_chart": display.drawing_chart(initial.drawing, "first-drawing") if initial else None,
        "ranking_url": reverse("atlas_episode_ranking", args=[episode.pk]),
    } | ranking
    return render(request, "atlas/assessment_form.html", context)


def assessment_detail(request: ClinicRequest, assessment_id: int) -> HttpResponse:
    """An assessment: its drawing (editable), the ranked muscles with finding forms, the findings, the first drawing."""
    membership = _membership(request)
    assessment = _assessment(request, assessment_id)
    can_edit = membership.can(Capability.EDIT_CLINICAL)
    form = forms.DrawingUpdateForm(
        request.POST or None,
        initial={"notes": assessment.notes, "version": assessment.version},
    )
    drawing = assessment.drawing
    if request.method == "POST":
        require(membership, Capability.EDIT_CLINICAL)
        if form.is_valid():
            try:
                actions.update_assessment(
                    membership, assessment.pk, form.cleaned_data, expected_version=form.cleaned_data["version"]
                )
            except ValidationError as exc:
                add_errors(form, exc)
            else:
                messages.success(request, gettext("Drawing saved."))
                return redirect("atlas_assessment", assessment_id=assessment.pk)
        drawing = _posted_drawing(request)
    return render(request, "atlas/assessment.html", _assessment_context(assessment, drawing, can_edit, form))


def _assessment_context(assessment: Assessment, drawing: dict[str, Any], can_edit: bool, form: Any) -> dict[str, Any]:
    episode = assessment.episode
    initial = None if assessment.kind == Assessment.Kind.INITIAL else _initial(episode)
    return (
        {
            "assessment": assessment,
            "episode": episode,
            "patient": assessment.patient,
            "form": form,
            "can_edit": can_edit,
            "chart": display.drawing_chart(drawing, "drawing", editable=can_edit),
            "drawing_json": _json(drawing),
            "marked": display.marked_regions(assessment.drawing),
            "first": initial,
            "first_chart": display.drawing_chart(initial.drawing, "first-drawing") if initial else None,
            "ranking_url": reverse("atlas_assessment_ranking", args=[assessment.pk]),
            **_patient_drawing_context(episode),
            "other_assessments": list(
                Assessment.objects.filter(episode=episode).exclude(pk=assessment.pk).order_by("assessed_at", "pk")
            ),
        }
        | _findings_context(assessment, can_edit)
        | _ranking_context(drawing, episode, assessment, can_edit)
    )


def _patient_drawing_context(episode: Episode) -> dict[str, Any]:
    """The patient's own latest drawing in the episode, shown beside the clinician's."""
    mine = actions.latest_patient_drawing(episode)
    return {
        "patient_drawing": mine,
        "patient_chart": display.drawing_chart(mine.drawing, "patient-drawing") if mine else None,
        "patient_marked": display.marked_regions(mine.drawing) if mine else [],
    }


def _findings_context(assessment: Assessment, can_edit: bool, finding_form: Any = None) -> dict[str, Any]:
    findings = list(
        PalpationFinding.objects.filter(assessment=assessment, removed_at__isnull=True).order_by("recorded_at", "pk")
    )
    atlas = muscles()
    return {
        "assessment": assessment,
        "findings": [
            {"finding": f, "muscle": atlas[f.muscle_id].name if f.muscle_id in atlas else f.muscle_id} for f in findings
        ],
        "suggested": suggestions_from_findings(assessment, findings),
        "finding_form": finding_form or forms.FindingForm(initial={"status": "active", "twitch_response": "none"}),
        "point_groups": display.muscle_point_groups(),
        "can_edit": can_edit,
        "side_choices": PalpationFinding.Side.choices,
        "status_choices": PalpationFinding.Status.choices,
        "twitch_choices": PalpationFinding.Twitch.choices,
    }


@require_POST
def ranking(request: ClinicRequest, episode_id: int | None = None, assessment_id: int | None = None) -> HttpResponse:
    """The ranked muscles for the drawing being painted (htmx fragment; nothing is saved)."""
    membership = _membership(request)
    assessment = _assessment(request, assessment_id) if assessment_id is not None else None
    episode = assessment.episode if assessment else _episode(request, episode_id or 0, Capability.VIEW_CLINICAL)
    can_edit = membership.can(Capability.EDIT_CLINICAL)
    try:
        drawing = actions.clean_drawing(forms.parse_drawing_text(request.POST.get("drawing", "")))
    except ValidationError as exc:
        context = _ranking_context({}, episode, assessment, can_edit) | {"errors": exc.messages, "oob": True}
        return render(request, "atlas/_ranking.html", context)
    context = _ranking_context(drawing, episode, assessment, can_edit) | {"oob": True}
    return render(request, "atlas/_ranking.html", context)


@require_POST
def finding_add(request: ClinicRequest, assessment_id: int) -> HttpResponse:
    """Record a trigger point found on palpation (from a ranked row or from the any-muscle form)."""
    membership = _membership(request)
    assessment = _assessment(request, assessment_id, Capability.EDIT_CLINICAL)
    form = forms.FindingForm(request.POST)
    saved = None
    if form.is_valid():
        try:
            saved = actions.record_finding(membership, assessment.pk, form.finding_data())
        except ValidationError as exc:
            add_errors(form, exc)
    if _htmx(request):
        context = _findings_context(assessment, True, None if saved else form) | {
            "saved": saved,
            "saved_muscle": muscles()[saved.muscle_id].name if saved else "",
        }
        return render(request, "atlas/_findings.html", context)
    if saved:
        messages.success(
            request,
            gettext("Finding recorded: %(muscle)s (%(side)s).")
            % {"muscle": muscles()[saved.muscle_id].name, "side": saved.side},
        )
    else:
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
    return redirect(reverse("atlas_assessment", args=[assessment.pk]) + "#findings")


@require_POST
def finding_remove(request: ClinicRequest, assessment_id: int, finding_id: int) -> HttpResponse:
    """Strike out a finding recorded by mistake."""
    membership = _membership(request)
    assessment = _assessment(request, assessment_id, Capability.EDIT_CLINICAL)
    error = None
    try:
        actions.remove_finding(membership, assessment.pk, finding_id)
    except ValidationError as exc:
        error = " ".join(exc.messages)
    if _htmx(request):
        context = _findings_context(assessment, True) | {"remove_error": error}
        return render(request, "atlas/_findings.html", context)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, gettext("Finding removed."))
    return redirect(reverse("atlas_assessment", args=[assessment.pk]) + "#findings")


def assessment_print(request: ClinicRequest, assessment_id: int) -> HttpResponse:
    """The printable assessment: both views, the regions and their pain, findings, and the first drawing."""
    assessment = _assessment(request, assessment_id)
    initial = None if assessment.kind == Assessment.Kind.INITIAL else _initial(assessment.episode)
    findings = list(
        PalpationFinding.objects.filter(assessment=assessment, removed_at__isnull=True).order_by("recorded_at", "pk")
    )
    atlas = muscles()
    context = {
        "assessment": assessment,
        "episode": assessment.episode,
        "patient": assessment.patient,
        "chart": display.drawing_chart(assessment.drawing, "drawing"),
        "marked": display.marked_regions(assessment.drawing),
        "first": initial,
        "first_chart": display.drawing_chart(initial.drawing, "first-drawing") if initial else None,
        "compared": display.compare_drawings(initial.drawing, assessment.drawing) if initial else [],
        "intensities": display.INTENSITIES,
        "findings": [
            {"finding": f, "muscle": atlas[f.muscle_id].name if f.muscle_id in atlas else f.muscle_id} for f in findings
        ],
        "rows": display.ranked_rows(assessment.drawing, assessment.episode.condition, limit=display.RANKED_SHOWN)
        if assessment.drawing
        else [],
    }
    return render(request, "atlas/assessment_print.html", context)


def _posted_drawing(request: ClinicRequest) -> dict[str, Any]:
    """The valid part of the drawing as posted, so a refused form keeps what was painted."""
    try:
        posted = forms.parse_drawing_text(request.POST.get("drawing", ""))
    except ValidationError:
        return {}
    return actions.kept_drawing(posted)


def _json(drawing: dict[str, Any]) -> str:
    return json.dumps(drawing, separators=(",", ":"))
