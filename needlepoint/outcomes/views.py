"""Outcome pages: the progress page and its PDF report, recording a questionnaire or a range of motion,
sending a self-report link, the patient's phone page behind that link, the public dry-needling handout and
the clinic's instrument plan. Thin: they parse the form, call one action, and render."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import date
from typing import Any

from django import forms as django_forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from needlepoint.accounts import audit
from needlepoint.accounts.access import get_patient, get_record, require, scoped
from needlepoint.accounts.middleware import client_address
from needlepoint.accounts.models import Membership
from needlepoint.accounts.requests import ClinicRequest, member
from needlepoint.accounts.roles import Capability
from needlepoint.atlas.actions import kept_drawing
from needlepoint.atlas.display import INTENSITIES, drawing_chart
from needlepoint.atlas.forms import parse_drawing_text
from needlepoint.citations import sorted_keys
from needlepoint.outcomes import actions, answers, diary, forms, offers, plots, reports, sending
from needlepoint.outcomes.due import check_rule
from needlepoint.outcomes.headache_diary import episode_diary
from needlepoint.outcomes.models import ClinicInstrumentWording, SelfReportLink
from needlepoint.outcomes.plans import PAIN_INSTRUMENT, default_plans, default_schedule, schedule_rules
from needlepoint.outcomes.progress import earlier_notes, episode_progress, links_expiring
from needlepoint.outcomes.schedule import overdue_board
from needlepoint.outcomes.scoring import Instrument, ScoringError, instrument, instruments
from needlepoint.outcomes.sending import SentLink
from needlepoint.outcomes.wording import (
    EnteredWording,
    has_wording,
    language_terms,
    licence_note,
    name_in,
    wording_shipped,
)
from needlepoint.patients.conditions import conditions
from needlepoint.patients.consent import consent_text_in, default_consent_text
from needlepoint.patients.language import LANGUAGES, chosen_language, in_language, language_of, long_date
from needlepoint.patients.models import Episode, Patient
from needlepoint.patients.page import kept_until, stored_part
from needlepoint.references import keys_in_list
from needlepoint.scheduling.actions import links_by
from needlepoint.scheduling.models import ContactPreference
from needlepoint.visits.dashboard import QUEUE_PAGE_ROWS, shows_own_lists
from needlepoint.web import add_errors

PROGRESS_BODY_FORMAT = 1  # part of the stored body's key: a release that changes its template raises it


def _episode(request: ClinicRequest, patient_id: int, episode_id: int, capability: Capability) -> Episode:
    return get_record(
        member(request),
        Episode.objects.select_related("patient"),  # the clinic comes with the membership (get_record)
        episode_id,
        capability,
        patient_id=patient_id,
    )


def progress(request: ClinicRequest, patient_id: int, episode_id: int) -> HttpResponse:
    """An episode's progress: pain at each visit, questionnaire totals with the MCID band, ROM against normal. Its
    body comes from the shared cache while nothing it shows was written (``patients.page.stored_part``), kept no
    longer than a link it shows as waiting holds."""
    episode = _episode(request, patient_id, episode_id, Capability.VIEW_CLINICAL)
    started = time.perf_counter()
    body = stored_part(
        request,
        member(request),
        episode.patient_id,
        f"progress-page:{PROGRESS_BODY_FORMAT}:{episode.pk}",
        "outcomes/_progress_body.html",
        lambda: _progress_context(episode),
        keep_seconds=lambda context: kept_until(links_expiring(context["progress"], context["headache_diary"])),
    )
    body_ms = (time.perf_counter() - started) * 1000
    response = render(request, "outcomes/progress.html", {"episode": episode, "patient": episode.patient, "body": body})
    # The body's time, stored or worked out (its plots drawn, or read from the cache): what the page adds to the
    # access check and the frame.
    response["Server-Timing"] = f"body;dur={body_ms:.1f}"
    return response


def _progress_context(episode: Episode) -> dict[str, Any]:
    """What the progress page's body shows."""
    data = episode_progress(episode)
    pain, rom, *series = plots.drawn(
        (plots.pain_svg, (data.pain, data.pain_points)),
        (plots.rom_svg, (data.rom,)),
        *[(plots.series_svg, (s,)) for s in data.series],
    )
    return {
        "episode": episode,
        "patient": episode.patient,
        "progress": data,
        "headache_diary": episode_diary(episode) if diary.keeps_diary(episode.condition) else None,
        "charts": {"pain": pain, "series": list(zip(data.series, series, strict=True)), "rom": rom},
        "instrument_choices": _recordable(data.planned),
    }


def _recordable(planned: tuple[str, ...]) -> list[tuple[str, str, bool]]:
    """(code, name, planned) for the 'record a questionnaire' menu: the plan first, then the rest."""
    rest = [c for c in sorted(instruments()) if c not in planned and c != PAIN_INSTRUMENT]
    return [(c, instrument(c).name, c in planned) for c in (*planned, PAIN_INSTRUMENT, *rest)]


def report_pdf(request: ClinicRequest, patient_id: int, episode_id: int) -> HttpResponse:
    """The one-page progress report as PDF, ``?for=patient`` or ``?for=doctor``."""
    audience = request.GET.get("for", "patient")
    if audience not in reports.AUDIENCES:
        raise Http404("Unknown report")
    episode = _episode(request, patient_id, episode_id, Capability.VIEW_CLINICAL)
    pdf = reports.progress_pdf(episode_progress(episode), audience)
    audit.record("export", episode, summary=f"progress report PDF {reports.AUDIENCES[audience]}")
    response = HttpResponse(pdf, content_type="application/pdf")
    name = f"progress-{episode.patient.mrn}-{episode.pk}-{audience}.pdf"
    response["Content-Disposition"] = f'inline; filename="{name}"'
    return response


def record_questionnaire(request: ClinicRequest, patient_id: int, episode_id: int, code: str) -> HttpResponse:
    """Enter a questionnaire (or a 0-10 pain rating) for an episode; the score is computed on saving."""
    episode = _episode(request, patient_id, episode_id, Capability.EDIT_CLINICAL)
    try:
        defn = instrument(code)
    except ScoringError as exc:
        raise Http404("Unknown instrument") from exc
    initial = {"time_point": actions.suggested_time_point(episode), "observed_on": timezone.localdate()}
    notes = earlier_notes(episode, defn.code)
    entry = actions.current_wording_entry(episode.clinic_id, defn.code)
    entered = EnteredWording.from_items(entry.items) if entry else None
    form = forms.QuestionnaireForm(defn, request.POST or None, initial=initial, notes=notes, entered=entered)
    if request.method == "POST" and form.is_valid():
        try:
            given = answers.from_text(defn, form.raw_answers())
            observation = actions.record_questionnaire(
                member(request),
                episode,
                defn.code,
                given,
                time_point=form.cleaned_data["time_point"],
                observed_at=form.observed_at(),
                item_notes=forms.notes_from(defn, request.POST),
                source=form.cleaned_data["source"],
            )
        except answers.AnswerError as exc:
            add_errors(form, ValidationError({k or "answers": v for k, v in exc.problems.items()}))
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(
                request,
                gettext("%(code)s recorded: %(value)s %(unit)s.")
                % {"code": defn.code, "value": f"{observation.value:g}", "unit": observation.unit},
            )
            return redirect("outcomes_progress", patient_id=patient_id, episode_id=episode.pk)
    return render(
        request,
        "outcomes/questionnaire_form.html",
        {
            "episode": episode,
            "patient": episode.patient,
            "form": form,
            "defn": defn,
            "licence_note": licence_note(defn.code),
            "wording_shipped": wording_shipped(defn.code),
            "wording_entry": entry,
        },
    )


def record_rom(request: ClinicRequest, patient_id: int, episode_id: int) -> HttpResponse:
    """Enter a range-of-motion measurement; percent of normal is computed on saving."""
    episode = _episode(request, patient_id, episode_id, Capability.EDIT_CLINICAL)
    initial = {"time_point": actions.suggested_time_point(episode), "observed_on": timezone.localdate()}
    form = forms.RomForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        joint, _, movement = form.cleaned_data["movement"].partition(":")
        try:
            rom = actions.record_rom(
                member(request),
                episode,
                joint=joint,
                movement=movement,
                side=form.cleaned_data["side"] or None,
                degrees=form.cleaned_data["degrees"],
                method=form.cleaned_data["method"],
                time_point=form.cleaned_data["time_point"],
                observed_at=form.observed_at(),
            )
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            if rom.percent_of_normal is not None:
                said = gettext("Range of motion recorded: %(degrees)s° (%(percent)s%% of normal).") % {
                    "degrees": f"{rom.degrees:g}",
                    "percent": f"{rom.percent_of_normal:.0f}",
                }
            else:
                said = gettext("Range of motion recorded: %(degrees)s°.") % {"degrees": f"{rom.degrees:g}"}
            messages.success(request, said)
            if "another" in request.POST:
                return redirect("outcomes_rom", patient_id=patient_id, episode_id=episode.pk)
            return redirect("outcomes_progress", patient_id=patient_id, episode_id=episode.pk)
    return render(request, "outcomes/rom_form.html", {"episode": episode, "patient": episode.patient, "form": form})


def send_link(request: ClinicRequest, patient_id: int) -> HttpResponse:
    """Send the patient a self-report link for one episode by e-mail or text message, or show it once to hand
    over; below, the patient's recent links with how each went out, to cancel or re-send.

    Front desk sends too: what it sees names the questionnaires' titles only, never the condition or a score.
    """
    membership = member(request)
    patient = get_patient(membership, patient_id, Capability.EDIT_DEMOGRAPHICS)
    episodes = _episodes_of(membership, patient)
    chosen = request.POST.get("episode") or request.GET.get("episode") or (str(episodes[0].pk) if episodes else "")
    wanted = links_by(patient)
    initial = {"days": actions.link_days(), "channel": wanted if wanted in (sending.EMAIL, sending.SMS) else "copy"}
    form = forms.LinkForm(request.POST or None, initial=initial)
    sent = None
    if request.method == "POST" and form.is_valid():
        episode = next((e for e in episodes if str(e.pk) == chosen), None)
        if episode is None:
            form.add_error(None, gettext("Choose one of the patient's episodes of care."))
        else:
            try:
                sent = sending.send_self_report_link(
                    membership,
                    episode,
                    form.cleaned_data["channel"],
                    _host_base(request),
                    time_point=form.cleaned_data["time_point"],
                    days=form.cleaned_data["days"],
                    readable_only=form.cleaned_data["readable_only"],
                )
            except ValidationError as exc:
                add_errors(form, exc)
    elif request.method == "GET" and episodes:
        selected = next((e for e in episodes if str(e.pk) == chosen), episodes[0])
        form.initial["time_point"] = actions.suggested_time_point(selected)
    return _send_page(request, patient, episodes, chosen, form, sent, wanted)


def _episodes_of(membership: Membership, patient: Patient) -> list[Episode]:
    """The patient's episodes a link can be sent for, open ones first."""
    return list(
        scoped(membership, Episode.objects.all(), Capability.EDIT_DEMOGRAPHICS)
        .filter(patient=patient)
        .order_by("status", "-opened_at")[:20]
    )


def _host_base(request: ClinicRequest) -> str:
    """The scheme and host the page was opened on, for links when SHORT_LINK_BASE is not set."""
    return request.build_absolute_uri("/").rstrip("/")


def _send_page(
    request: ClinicRequest,
    patient: Patient,
    episodes: list[Episode],
    chosen: str,
    form: forms.LinkForm,
    sent: SentLink | None,
    wanted: str,
) -> HttpResponse:
    membership = member(request)
    clinical = membership.can(Capability.VIEW_CLINICAL)
    links = list(
        scoped(membership, SelfReportLink.objects.all(), Capability.EDIT_DEMOGRAPHICS)
        .filter(patient=patient, kind=SelfReportLink.Kind.QUESTIONNAIRE)
        .prefetch_related("messages")
        .order_by("-created_at")[:RECENT_LINKS]
    )
    now = timezone.now()
    replaced = set(SelfReportLink.objects.filter(replaces__in=links).values_list("replaces_id", flat=True))
    return render(
        request,
        "outcomes/send_link.html",
        {
            "patient": patient,
            "episodes": [(e, _episode_label(e, clinical)) for e in episodes],
            "chosen": chosen,
            "form": form,
            "sent": sent,
            "issued": sent.issued if sent else None,
            "url": request.build_absolute_uri(reverse("self_report", args=[sent.issued.token])) if sent else "",
            "titles": _titles(sent.issued.link) if sent else [],
            "links": [(link, link.status(now), _titles(link), link.pk in replaced) for link in links],
            "preference": dict(ContactPreference.LinksBy.choices)[wanted],
            "channels": forms.SEND_CHANNELS,
        },
    )


RECENT_LINKS = 10


def _titles(link: SelfReportLink) -> list[str]:
    """What a link asks, by the questionnaires' titles only (front desk sees these, nothing clinical)."""
    titles = [instrument(code).name for code in link.instruments]
    return [*titles, "Today's pain (0-10)"] if link.include_pain else titles


def _link_action(request: ClinicRequest, patient_id: int, done: Callable[[], str]) -> HttpResponse:
    """Run a cancel or re-send posted from the links list; its outcome is shown on the send page."""
    if request.method != "POST":
        return redirect("outcomes_send_link", patient_id=patient_id)
    try:
        message = done()
    except ValidationError as exc:
        for text in exc.messages:
            messages.error(request, text)
    else:
        messages.success(request, message)
    return redirect("outcomes_send_link", patient_id=patient_id)


@require_http_methods(["GET", "POST"])
def cancel_link(request: ClinicRequest, patient_id: int, link_id: int) -> HttpResponse:
    """Cancel one of the patient's links: neither its long nor its short form works afterwards."""
    membership = member(request)

    def done() -> str:
        link = sending.cancel_self_report_link(membership, patient_id, link_id)
        return f"Link of {timezone.localtime(link.created_at):%d %B %Y} cancelled: it no longer works."

    return _link_action(request, patient_id, done)


@require_http_methods(["GET", "POST"])
def resend_link(request: ClinicRequest, patient_id: int, link_id: int) -> HttpResponse:
    """Cancel a link and send a fresh one in its place; shown here once when it is to be handed over."""
    membership = member(request)
    if request.method != "POST":
        return redirect("outcomes_send_link", patient_id=patient_id)
    channel = request.POST.get("channel", "")
    try:
        sent = sending.resend_self_report_link(membership, patient_id, link_id, channel, _host_base(request))
    except ValidationError as exc:
        for text in exc.messages:
            messages.error(request, text)
        return redirect("outcomes_send_link", patient_id=patient_id)
    if sent.message is not None:
        messages.success(
            request,
            gettext("A fresh link went by %(channel)s to %(address)s; the old one no longer works.")
            % {"channel": sent.message.get_channel_display().lower(), "address": sent.message.sent_to},
        )
        return redirect("outcomes_send_link", patient_id=patient_id)
    patient = sent.issued.link.patient
    form = forms.LinkForm(initial={"days": actions.link_days(), "channel": "copy"})
    episodes = _episodes_of(membership, patient)
    chosen = str(sent.issued.link.episode_id)
    return _send_page(request, patient, episodes, chosen, form, sent, links_by(patient))


def _episode_label(episode: Episode, clinical: bool) -> str:
    opened = f"opened {timezone.localdate(episode.opened_at):%Y-%m-%d}"
    status = "" if episode.status == Episode.Status.OPEN else ", discharged"
    if clinical:
        return f"{episode.condition_label} ({episode.get_side_display().lower()}), {opened}{status}"
    return f"Episode of care {opened}{status}"


def _link_form_sections(
    link: SelfReportLink, language: str, data: QueryDict | None = None
) -> tuple[django_forms.Form, list[dict[str, Any]]]:
    """The phone form in the patient's language: one section per questionnaire on the link, then today's pain.
    The caller has checked that every questionnaire has wording in that language (``actions.missing_wording``)."""
    from django import forms as django_forms

    form = django_forms.Form(data)
    sections = []
    for code in link.instruments:
        defn = instrument(code)
        # Activities a clinician wrote down are the clinician's words; the patient sees only their own earlier ones.
        notes = earlier_notes(link.episode, code, patients_own_words=True) if code == "PSFS" else {}
        entered = actions.current_wording(link.clinic_id, code) if language == "en" else None
        fields = forms.item_fields(defn, prefix=f"{code}-", notes=notes, entered=entered, language=language)
        form.fields.update(fields)
        shipped = wording_shipped(code) or entered is not None or language != "en"
        sections.append(
            {"defn": defn, "name": name_in(defn, language), "names": list(fields), "wording_shipped": shipped}
        )
    if link.include_pain:
        pain = instrument(PAIN_INSTRUMENT)
        form.fields.update(forms.item_fields(pain, prefix=f"{PAIN_INSTRUMENT}-", language=language))
        form.fields[f"{PAIN_INSTRUMENT}-pain"].label = _("How much pain do you have right now?")
    return form, sections


def _refused_page(request: ClinicRequest, refused: actions.LinkRefused, status: int) -> HttpResponse:
    """The page of an unusable link, in the patient's language; an invalid link names no patient, so it says
    so in every language the product speaks."""
    if refused.language is not None:
        with in_language(refused.language):
            return render(request, "outcomes/link_refused.html", {"refused": refused}, status=status)
    said = []
    for language in LANGUAGES:
        with in_language(language):
            said.append({"language": language, "message": actions.invalid_link_message()})
    return render(request, "outcomes/link_refused.html", {"refused": refused, "said": said}, status=status)


@never_cache
@require_http_methods(["GET", "POST"])
def self_report(request: ClinicRequest, token: str) -> HttpResponse:
    """The patient's phone page behind a self-report link: no sign-in; refused when used, expired or altered.

    A signed-in staff session is refused before the link is even looked up, so nothing is opened, consumed or
    stored: answers filed through a link are recorded as the patient's own, so only the patient may give them.
    """
    if request.user.is_authenticated:
        return render(request, "outcomes/link_staff_refused.html", status=403)
    address = client_address(request)
    try:
        link = actions.open_self_report_link(token, address)
    except actions.LinkRefused as refused:
        return _refused_page(request, refused, 404 if refused.reason == "invalid" else 410)
    language = language_of(link.patient)
    with in_language(language):
        if link.kind == link.Kind.DIARY:
            return _diary_page(request, token, link, address)
        missing = actions.missing_wording(link, language)
        if missing:
            # A questionnaire the patient cannot read in their language is never shown as topic labels and
            # nothing posted is stored: the clinic must send another link.
            names = [name_in(instrument(code), language) for code in missing]
            return render(
                request,
                "outcomes/link_no_wording.html",
                {"clinic": link.clinic, "names": names, "language": language},
                status=409,
            )
        return _self_report_page(request, token, link, address, language)


def _self_report_page(
    request: ClinicRequest, token: str, link: SelfReportLink, address: str | None, language: str
) -> HttpResponse:
    """The questionnaire form of a link, and its answers stored when posted (in the active language)."""
    form, sections = _link_form_sections(link, language, request.POST or None)
    section_errors: dict[str, list[str]] = {}
    if request.method == "POST":
        given: dict[str, dict[str, Any]] = {}
        notes: dict[str, dict[str, Any]] = {}
        problems: dict[str, str] = {}
        for code in [*link.instruments, *([PAIN_INSTRUMENT] if link.include_pain else [])]:
            defn = instrument(code)
            raw = {item.id: request.POST.get(f"{code}-{item.id}", "") for item in defn.items}
            try:
                given[code] = answers.from_text(defn, raw)
            except answers.AnswerError as exc:
                problems.update({f"{code}-{k}": v for k, v in exc.problems.items()})
            notes[code] = forms.notes_from(defn, request.POST, prefix=f"{code}-")
        try:
            drawing = parse_drawing_text(request.POST.get("drawing", ""))
        except ValidationError as exc:
            problems["drawing"] = " ".join(exc.messages)
        try:
            if problems:
                raise ValidationError(problems)
            pain = given.pop(PAIN_INSTRUMENT, {}).get("pain")
            actions.submit_self_report(
                token,
                given,
                pain=pain,
                notes=notes,
                client_address=address,
                user_agent=request.META.get("HTTP_USER_AGENT", ""),
                drawing=drawing,
            )
        except actions.LinkRefused as refused:
            return _refused_page(request, refused, 410)
        except ValidationError as exc:
            for field, messages_ in exc.message_dict.items():
                code = field.split("-")[0]
                if field in form.fields:
                    for message in messages_:
                        form.add_error(field, message)
                elif field == f"{code}-answers" and code in given:
                    message, unanswered = _unanswered(instrument(code), given[code])
                    section_errors.setdefault(code, []).append(message)
                    for item_id in unanswered:
                        form.add_error(f"{code}-{item_id}", _("Not answered yet."))
                else:
                    section_errors.setdefault(code, []).extend(messages_)
        else:
            return render(request, "outcomes/link_thanks.html", {"clinic": link.clinic, "language": language})
    for section in sections:
        section["errors"] = section_errors.get(section["defn"].code, [])
    return render(
        request,
        "outcomes/self_report.html",
        {
            "link": link,
            "form": form,
            "sections": sections,
            "pain_field": form[f"{PAIN_INSTRUMENT}-pain"] if link.include_pain else None,
            "has_errors": bool(form.errors or section_errors),
            "drawing_errors": section_errors.get("drawing", []),
            "language": language,
        }
        | _patient_drawing_editor(request),
        status=400 if (form.errors or section_errors) else 200,
    )


def _patient_drawing_editor(request: ClinicRequest) -> dict[str, object]:
    """The body-chart editor of the self-report page, keeping the valid part of a drawing already posted."""
    try:
        kept = kept_drawing(parse_drawing_text(request.POST.get("drawing", "")))
    except ValidationError:
        kept = {}
    return {
        "chart": drawing_chart(kept, "patient-drawing", editable=True),
        "drawing_json": json.dumps(kept, separators=(",", ":")),
        "intensities": INTENSITIES,
    }


def _diary_page(request: ClinicRequest, token: str, link: SelfReportLink, address: str | None) -> HttpResponse:
    """The patient's daily headache diary behind a diary link: pick the day, answer four questions, save."""
    today = timezone.localdate()
    start = actions.diary_start(link.episode_id) or timezone.localdate(link.created_at)
    days = [(d.isoformat(), _day_label(d, today)) for d in diary.open_days(today, start)]
    form = forms.DiaryForm(request.POST or None, days=days, initial={"day": today.isoformat()})
    saved = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            saved = actions.record_diary_day(
                token,
                date.fromisoformat(data["day"]),
                headache=data["headache"] == "yes",
                worst_intensity=data["worst_intensity"],
                hours=data["hours"],
                acute_medication=data["acute_medication"] == "yes",
                client_address=address,
                user_agent=request.META.get("HTTP_USER_AGENT", ""),
            )
        except actions.LinkRefused as refused:
            return _refused_page(request, refused, 410)
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            form = forms.DiaryForm(days=days, initial={"day": today.isoformat()})
    recent = list(link.episode.diary_entries.order_by("-day")[:7])
    return render(
        request,
        "outcomes/diary.html",
        {
            "link": link,
            "form": form,
            "saved": saved,
            "recent": recent,
            "today": today,
            "language": language_of(link.patient),
        },
        status=400 if form.errors else 200,
    )


def _day_label(day: date, today: date) -> str:
    """'Today, 3 March 2026', 'Yesterday, ...' or the weekday, in the active language."""
    from django.utils import formats

    names = {0: _("Today"), 1: _("Yesterday")}
    name = names.get((today - day).days, formats.date_format(day, "l"))
    return f"{name}, {long_date(day)}"


@require_http_methods(["GET", "POST"])
def diary_link(request: ClinicRequest, patient_id: int, episode_id: int) -> HttpResponse:
    """Start a headache diary (a diary link, shown once to copy) or cancel one of the episode's diary links."""
    if request.method == "GET":
        return redirect("outcomes_progress", patient_id=patient_id, episode_id=episode_id)
    membership = member(request)
    episode = _episode(request, patient_id, episode_id, Capability.EDIT_DEMOGRAPHICS)
    try:
        if request.POST.get("action") == "cancel":
            link = episode.self_report_links.filter(pk=request.POST.get("link") or 0, kind="diary").first()
            if link is None:
                raise ValidationError(gettext("Choose one of this episode's diary links."))
            actions.cancel_link(membership, link)
            messages.success(request, gettext("Diary link cancelled: it no longer opens the diary."))
            return redirect("outcomes_progress", patient_id=patient_id, episode_id=episode.pk)
        issued = actions.create_diary_link(membership, episode)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return redirect("outcomes_progress", patient_id=patient_id, episode_id=episode.pk)
    url = request.build_absolute_uri(reverse("self_report", args=[issued.token]))
    return render(
        request,
        "outcomes/diary_link.html",
        {"episode": episode, "patient": episode.patient, "issued": issued, "url": url},
    )


def _unanswered(defn: Instrument, given: dict[str, Any]) -> tuple[str, list[str]]:
    """A patient's words for a questionnaire that cannot be scored yet, and the items to mark."""
    core = [item for item in defn.core_items if given.get(item.id) is None]
    rule, limit = defn.missing["rule"], defn.missing.get("value")
    if rule == "min_answered":
        return _("Please rate at least %(limit)s of these.") % {"limit": limit}, []
    if rule == "max_missing":
        said = _("Please answer the questions marked below (you may leave at most %(limit)s blank).") % {"limit": limit}
        return said, [item.id for item in core]
    return _("Please answer the questions marked below."), [item.id for item in core]


def handout(request: ClinicRequest) -> HttpResponse:
    """The public page on dry needling: what it is, what to expect, the risks, and after-care; printable.

    In the language the link asks for (``?lang=es``; the patient's pages link to it in the patient's language).
    """
    language = chosen_language(request.GET.get("lang"))
    with in_language(language):
        risks = consent_text_in(default_consent_text(), language)["material_risks"]
        # The handout's own statements rest on these as well as on the sources of the risks it lists.
        cited = {"S1", "S2", "S3", "S4", "S14", "S19", "S25", "S80", "S83", "S84", "S92"}
        cited |= {key for risk in risks for key in keys_in_list(risk["source"])}
        context = {"risks": risks, "sources": ", ".join(sorted_keys(cited)), "language": language}
        return render(request, "outcomes/handout.html", context)


def reassessments_overdue(request: ClinicRequest) -> HttpResponse:
    """Every re-assessment overdue that the board keeps (the clinician's patients, or the clinic's for an admin),
    oldest first: the dashboard shows the head of this list."""
    membership = require(request.membership, Capability.VIEW_CLINICAL)
    board = overdue_board(membership, limit=QUEUE_PAGE_ROWS, what="re-assessments overdue")
    return render(request, "outcomes/reassessments.html", {**board, "mine": shows_own_lists(membership)})


def plans(request: ClinicRequest) -> HttpResponse:
    """The clinic's questionnaires per condition: the default, or the clinic's own choice (clinic admins)."""
    membership = require(request.membership, Capability.CONFIGURE_CLINIC)
    from needlepoint.outcomes.models import ClinicInstrumentPlan

    own = {p.condition: p for p in ClinicInstrumentPlan.objects.filter(clinic_id=membership.clinic_id)}
    form = forms.PlanForm(request.POST or None)
    condition = request.POST.get("condition", "")
    if request.method == "POST" and form.is_valid():
        codes = [c for c in form.cleaned_data["instruments"].replace(";", ",").split(",") if c.strip()]
        try:
            actions.set_instrument_plan(membership, condition, codes, _merged_schedule(form, own.get(condition), codes))
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(request, gettext("Instrument plan saved."))
            return redirect("outcomes_plans")
    entered = {
        w.instrument: w
        for w in ClinicInstrumentWording.objects.filter(clinic_id=membership.clinic_id).order_by(
            "instrument", "version"
        )
    }  # the last version of each instrument wins
    rows = []
    for code, c in conditions().items():
        chosen = actions.plan_or_default(own.get(code), code)
        # The plan's licensed questionnaires the clinic has not entered wording for, and what can go instead.
        lacking = [i for i in chosen if not wording_shipped(i) and i not in entered]
        rows.append(
            {
                "condition": c,
                "instruments": chosen,
                "own": code in own,
                "default": default_plans()[code],
                "due": _due_words(own.get(code), code),
                "rule": _plan_rule(own.get(code)),
                "lacking": lacking,
                # Named with the languages an alternative has no wording in: the clinic's patients may read them.
                "instead": offers.instead_sentences(lacking, code, chosen, "en", name_languages=True),
            }
        )
    return render(
        request,
        "outcomes/plans.html",
        {
            "rows": rows,
            "form": form,
            "failed_condition": condition if form.errors else "",
            "instruments": [
                (instrument(c), entered.get(c), _spanish_state(c), _alternatives_state(c))
                for c in sorted(instruments())
            ],
        },
    )


def _alternatives_state(code: str) -> dict[str, Any]:
    """For an instrument whose wording is licensed: what can go instead with its caveats, whether a validated
    equivalent was found, and the others examined with their verdicts (the instrument's data file)."""
    return {
        "offered": offers.offered_sentences(code),
        "equivalent_found": offers.equivalent_found(code),
        "examined": offers.examined_sentences(code),
    }


def _spanish_state(code: str) -> dict[str, Any]:
    """Whether an instrument's Spanish wording ships, with its validation paper, or why not (the data file)."""
    terms = language_terms(code, "es")
    present = has_wording(code, "es")
    why = "" if present else ("licence does not allow it" if terms.get("may_ship") is False else "unverified")
    validated = terms.get("validated_version", "")
    return {"present": present, "why": why, "validated_version": "" if validated == "unverified" else validated}


def _merged_schedule(form: forms.PlanForm, plan: Any, codes: list[str]) -> dict[str, Any] | None:
    """The form's rule for every questionnaire, keeping the plan's rules for single questionnaires it still asks."""
    schedule = form.schedule()
    if schedule is None or plan is None:
        return schedule
    asked = {c.strip().upper() for c in codes}
    return {code: rule for code, rule in (plan.schedule or {}).items() if code in asked} | schedule


def _due_words(plan: Any, condition: str) -> list[str]:
    """When each of a plan's questionnaires is due, in words ("NDI: at baseline, every 14 days and at discharge")."""
    codes = actions.plan_or_default(plan, condition)
    rules = schedule_rules(codes, plan.schedule if plan is not None else None)
    return [f"{code}: {rule.describe()}" for code, rule in rules.items()]


def _plan_rule(plan: Any) -> Any:
    """The rule the form edits: the plan's rule for every questionnaire, else the default."""
    stored = (plan.schedule or {}).get("*") if plan is not None else None
    return check_rule(stored) if stored else default_schedule()


def instrument_wording(request: ClinicRequest, code: str) -> HttpResponse:
    """Enter or replace the clinic's licensed wording of an instrument (clinic admins); earlier versions are kept."""
    membership = require(request.membership, Capability.CONFIGURE_CLINIC)
    try:
        defn = instrument(code)
    except ScoringError as exc:
        raise Http404("Unknown instrument") from exc
    if wording_shipped(defn.code):
        raise Http404("This instrument's wording is shipped; there is nothing to enter.")
    history = list(
        ClinicInstrumentWording.objects.filter(clinic_id=membership.clinic_id, instrument=defn.code)
        .select_related("entered_by__user")
        .order_by("-version")
    )
    current = history[0] if history else None
    entered = EnteredWording.from_items(current.items) if current else None
    initial = {"licence_reference": current.licence_reference if current else ""}
    form = forms.WordingForm(defn, request.POST or None, entered=entered, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            entry = actions.enter_instrument_wording(
                membership, defn.code, form.items(), form.cleaned_data["licence_reference"]
            )
        except ValidationError as exc:
            _wording_errors(form, defn, exc)
        else:
            messages.success(
                request,
                gettext("%(code)s wording saved as version %(version)s.")
                % {"code": defn.code, "version": entry.version},
            )
            return redirect("outcomes_wording", code=defn.code)
    return render(
        request,
        "outcomes/wording_form.html",
        {"defn": defn, "form": form, "current": current, "history": history, "licence_note": licence_note(defn.code)},
    )


def _wording_errors(form: forms.WordingForm, defn: Instrument, exc: ValidationError) -> None:
    """Put the action's reasons on the item's question field (or the form) so the admin sees where."""
    if not hasattr(exc, "error_dict"):
        add_errors(form, exc)
        return
    for key, reasons in exc.message_dict.items():
        field = f"q__{key}" if f"q__{key}" in form.fields else key
        for reason in reasons:
            form.add_error(field if field in form.fields else None, reason)


@require_POST
def send_after_care(request: ClinicRequest, visit_id: int) -> HttpResponse:
    """Give a needling visit's after-care sheet by e-mail, text message or on paper; back to the visit page with
    what happened (a refusal names why, and nothing is recorded)."""
    membership = member(request)
    try:
        given = sending.send_after_care(membership, visit_id, request.POST.get("channel", ""))
    except ValidationError as exc:
        for text in exc.messages:
            messages.error(request, text)
    else:
        messages.success(request, gettext("After-care sheet given: %(given)s.") % {"given": given})
    return redirect("visit", visit_id=visit_id)
