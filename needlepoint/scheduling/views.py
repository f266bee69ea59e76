"""Appointment pages: the clinic's day, a clinician's day or week, booking, one appointment, reminder
preferences and the clinician's calendar feed. Thin: parse, call one action or read, render.

Every page here shows times, patients' names, appointment types and statuses only, so front desk uses
them all; starting a visit is the one clinical step, and the action refuses it to other roles.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext
from django.views.decorators.http import require_POST

from needlepoint.accounts import audit
from needlepoint.accounts.access import get_patient, get_record, require
from needlepoint.accounts.models import Membership
from needlepoint.accounts.requests import ClinicRequest, member
from needlepoint.accounts.roles import Capability
from needlepoint.patients.models import Patient
from needlepoint.patients.search import find_patients
from needlepoint.scheduling import actions, calendar, proposals, rules
from needlepoint.scheduling.config import BookSettings, book_settings
from needlepoint.scheduling.forms import BookingForm, StatusForm
from needlepoint.scheduling.models import Appointment, CalendarFeed, ContactPreference, ReminderSent


def _day(request: ClinicRequest) -> date:
    try:
        return date.fromisoformat(request.GET.get("day", ""))
    except ValueError:
        return timezone.localdate()


def _messages_of(exc: ValidationError) -> list[str]:
    if hasattr(exc, "error_dict"):
        return [m for errors in exc.error_dict.values() for e in errors for m in e.messages]
    return list(exc.messages)


def clinic_day(request: ClinicRequest) -> HttpResponse:
    """The clinic's day: each clinician's appointments side by side."""
    membership = require(request.membership, Capability.VIEW_SCHEDULE)
    day = _day(request)
    people = calendar.clinicians(membership.clinic_id)
    rows = list(calendar.appointments(membership, *calendar.day_bounds(day)))
    calendar.record_calendar_read(f"clinic day {day}", len(rows))
    return render(
        request,
        "scheduling/clinic_day.html",
        {
            "day": day,
            "columns": calendar.by_clinician(rows, people),
            "previous": day - timedelta(days=1),
            "next": day + timedelta(days=1),
            "today": timezone.localdate(),
        },
    )


def clinician_calendar(request: ClinicRequest, clinician_id: int) -> HttpResponse:
    """One clinician's day, or with ``?view=week`` their week (Monday to Sunday)."""
    membership = require(request.membership, Capability.VIEW_SCHEDULE)
    people = calendar.clinicians(membership.clinic_id)
    clinician = next((m for m in people if m.pk == clinician_id), None)
    if clinician is None:
        raise Http404("Not found")
    day = _day(request)
    week = request.GET.get("view") == "week"
    days = rules.week_of(day) if week else [day]
    rows = list(calendar.appointments(membership, *calendar.day_bounds(days[0], len(days))).filter(clinician=clinician))
    calendar.record_calendar_read(f"{'week' if week else 'day'} {days[0]} of clinician {clinician.pk}", len(rows))
    step = timedelta(days=7 if week else 1)
    free = []
    if not week and membership.can(Capability.BOOK_APPOINTMENTS):
        hours = book_settings(membership.clinic.slug)
        holding = [rules.Slot(a.starts_at, a.ends_at) for a in rows if a.status in rules.HOLDS_TIME]
        opens = timezone.make_aware(datetime.combine(day, hours.day_starts))
        closes = timezone.make_aware(datetime.combine(day, hours.day_ends))
        shortest = min(m for t in hours.types for m in t.lengths)
        free = rules.free_starts(opens, closes, holding, minutes=shortest, not_before=timezone.now())
    return render(
        request,
        "scheduling/clinician.html",
        {
            "clinician": clinician,
            "people": people,
            "week": week,
            "day": day,
            "days": calendar.by_day(rows, days),
            "free": free,
            "previous": day - step,
            "next": day + step,
            "today": timezone.localdate(),
        },
    )


def book(request: ClinicRequest) -> HttpResponse:
    """Book an appointment (or a weekly series): find the patient, then choose clinician, type and time.

    A search that finds one patient chooses them (one Enter); once the patient is chosen the form proposes a
    follow-up from their last appointment, with one-click quick choices and the clinician's free times.
    """
    membership = require(request.membership, Capability.BOOK_APPOINTMENTS)
    offered = book_settings(membership.clinic.slug)
    source = request.POST if request.method == "POST" else request.GET
    patient = None
    if source.get("patient"):
        patient = get_patient(membership, source["patient"])
    # The search form posts its terms so names and birth dates stay out of addresses and access logs.
    query = source.get("q", "").strip()
    found = []
    if query and patient is None:
        found = find_patients(membership, query, limit=20, purpose="patient search for booking")
        if len(found) == 1:
            return redirect(_book_url(request.GET, patient=found[0].pk))
    initial, quick = _proposed(request, membership, offered, patient)
    form = BookingForm(request.POST or None, initial=initial, clinic_id=membership.clinic_id, offered=offered)
    if request.method == "POST" and patient is not None and form.is_valid():
        try:
            booked = actions.book_series(
                membership,
                patient.pk,
                form.booking(),
                count=form.cleaned_data["repeat"],
                every_weeks=form.cleaned_data.get("every_weeks") or 1,
            )
        except ValidationError as exc:
            if hasattr(exc, "error_dict"):
                for field, errors in exc.error_dict.items():
                    target = {"starts_at": "start", "repeat": "repeat"}.get(field, field)
                    for error in errors:
                        form.add_error(target if target in form.fields else None, error)
            else:
                for message in exc.messages:
                    form.add_error(None, message)
        else:
            first = booked[0]
            local = timezone.localtime(first.starts_at)
            messages.success(
                request,
                (
                    gettext("Booked %(patient)s: %(kind)s with %(clinician)s on %(when)s, and %(more)s more weekly.")
                    if len(booked) > 1
                    else gettext("Booked %(patient)s: %(kind)s with %(clinician)s on %(when)s.")
                )
                % {
                    "patient": patient.full_name,
                    "kind": first.kind_label.lower(),
                    "clinician": first.clinician.user.get_full_name(),
                    "when": actions.when(first.starts_at),
                    "more": len(booked) - 1,
                },
            )
            return redirect(f"/schedule/clinicians/{first.clinician_id}/?day={local.date().isoformat()}")
    if patient is not None and not patient.deceased:  # a deceased patient's page offers no time (book.html)
        quick |= _free(request.GET, offered, patient, form, initial)
    return render(
        request,
        "scheduling/book.html",
        {"form": form, "patient": patient, "query": query, "found": found, "types": offered.types} | quick,
    )


def _book_url(given: Any, **change: Any) -> str:
    """The booking form's address with ``given``'s values (not the search terms) and ``change`` applied."""
    params = {k: v for k, v in given.items() if k not in ("q", *change)} | {k: v for k, v in change.items() if v}
    return f"{reverse('book')}?{urlencode(params)}"


def _number(text: Any) -> int | None:
    try:
        return int(text)
    except (TypeError, ValueError):
        return None


def _proposed(
    request: ClinicRequest, membership: Membership, offered: BookSettings, patient: Patient | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The form's first values and the page's quick choices and free times.

    What the address gives wins (a calendar's free slot, the visit's follow-up link); the rest comes from the
    follow-up proposed from the patient's last appointment, at its first quick choice that can be booked.
    """
    given = request.GET
    proposal = None
    if patient is not None:
        proposal = proposals.follow_up_proposal(patient, offered, clinician_id=_number(given.get("clinician")))
    first = proposal.first_free if proposal and not (given.get("day") or given.get("time")) else None
    kind = given.get("kind") or (proposal.kind if proposal else offered.types[-1].code)
    minutes: str | int | None = given.get("minutes")
    usual = offered.type_named(kind)
    if not minutes and proposal and kind == proposal.kind and usual and proposal.minutes != usual.minutes:
        minutes = proposal.minutes  # the patient's own length, where it is not the type's usual one
    clinician = given.get("clinician") or (proposal.clinician.pk if proposal else None)
    initial = {
        "clinician": clinician or (membership.pk if membership.role == "clinician" else None),
        "kind": kind,
        "minutes": minutes,
        "day": timezone.localdate(first.start) if first else _day(request),
        "start": f"{timezone.localtime(first.start):%H:%M}" if first else given.get("time", ""),
        "patient": patient.pk if patient else None,
    }
    if patient is None:
        return initial, {}
    keep = {"patient": patient.pk, "kind": initial["kind"], "minutes": initial["minutes"]}
    quick = []
    for choice in proposal.choices if proposal else []:
        local = timezone.localtime(choice.start)
        day, start = local.date(), f"{local:%H:%M}"
        href = _book_url(
            given, **keep, clinician=proposal.clinician.pk if proposal else None, day=day.isoformat(), time=start
        )
        quick.append({"choice": choice, "href": href, "chosen": (day, start) == (initial["day"], initial["start"])})
    return initial, {"proposal": proposal, "quick": quick}


def _free(
    given: Any, offered: BookSettings, patient: Patient, form: BookingForm, initial: dict[str, Any]
) -> dict[str, Any]:
    """The clinician's free times on the form's day (as sent, after a refused booking), each a link that fills
    in the time."""
    sent = getattr(form, "cleaned_data", {}) if form.is_bound else {}
    values = {key: sent.get(key) or initial[key] for key in ("clinician", "kind", "minutes", "day")}
    clinician_id = _number(values["clinician"])
    kind = offered.type_named(str(values["kind"] or ""))
    if clinician_id is None or kind is None:
        return {}
    minutes = _number(values["minutes"]) or kind.minutes
    day = values["day"]
    starts = proposals.free_times(clinician_id, patient, day, minutes, offered)
    keep = {"patient": patient.pk, "clinician": clinician_id, "kind": kind.code, "minutes": values["minutes"]}
    keep["day"] = day.isoformat()
    free = [{"start": s, "href": _book_url(given, **keep, time=f"{timezone.localtime(s):%H:%M}")} for s in starts]
    name = form.clinician_names.get(str(clinician_id), "")
    return {"free": free, "free_day": day, "free_with": name}


def _load(request: ClinicRequest, appointment_id: int) -> Appointment:
    return get_record(
        member(request),
        Appointment.objects.select_related("patient", "clinic", "clinician__user", "booked_by__user", "series"),
        appointment_id,
        Capability.VIEW_SCHEDULE,
    )


def appointment_detail(request: ClinicRequest, appointment_id: int) -> HttpResponse:
    """One appointment: its status, the changes it allows, starting its visit, a reminder."""
    membership = require(request.membership, Capability.VIEW_SCHEDULE)
    appointment = _load(request, appointment_id)
    episodes = []
    if membership.can(Capability.EDIT_CLINICAL) and appointment.is_open and appointment.clinician_id == membership.pk:
        episodes = actions.open_episodes(appointment)
    manual = [rules.Status.ARRIVED, rules.Status.BOOKED, rules.Status.NO_SHOW, rules.Status.CANCELLED]
    allowed = [s for s in manual if rules.transition_problem(appointment.status, s) is None]
    if appointment.starts_at > timezone.now():
        allowed = [s for s in allowed if s != rules.Status.NO_SHOW]  # not a no-show before it starts
    return render(
        request,
        "scheduling/appointment.html",
        {
            "appointment": appointment,
            "allowed": [(s.value, rules.STATUS_LABELS[s]) for s in allowed],
            "episodes": episodes,
            "can_start": bool(episodes) or appointment.visit_id is not None,
            "needs_episode": not episodes
            and appointment.is_open
            and appointment.clinician_id == membership.pk
            and membership.can(Capability.EDIT_CLINICAL),
            "reminded": ReminderSent.objects.filter(appointment=appointment).first(),
            "wants_reminders": actions.wants_reminders(appointment.patient),
        },
    )


@require_POST
def appointment_status(request: ClinicRequest, appointment_id: int) -> HttpResponse:
    """Change an appointment's status; a refused change leaves it as it was, with the reason why."""
    membership = member(request)
    form = StatusForm(request.POST)
    form.is_valid()
    try:
        appointment = actions.change_status(
            membership,
            appointment_id,
            form.cleaned_data.get("status", ""),
            reason=form.cleaned_data.get("reason", ""),
            expected_version=form.cleaned_data.get("version"),
        )
    except ValidationError as exc:
        for message in _messages_of(exc):
            messages.error(request, message)
    else:
        messages.success(
            request,
            gettext("%(patient)s: %(status)s.")
            % {"patient": appointment.patient.full_name, "status": appointment.status_label.lower()},
        )
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = f"/appointments/{appointment_id}/"
    return redirect(back)


@require_POST
def appointment_start_visit(request: ClinicRequest, appointment_id: int) -> HttpResponse:
    """Start the visit of this appointment and open it."""
    membership = member(request)
    try:
        visit = actions.start_visit_from_appointment(membership, appointment_id, request.POST.get("episode"))
    except ValidationError as exc:
        for message in _messages_of(exc):
            messages.error(request, message)
        return redirect(f"/appointments/{appointment_id}/")
    return redirect("visit", visit_id=visit.pk)


@require_POST
def appointment_remind(request: ClinicRequest, appointment_id: int) -> HttpResponse:
    """E-mail this appointment's reminder now."""
    try:
        sent = actions.send_reminder(member(request), appointment_id)
    except ValidationError as exc:
        for message in _messages_of(exc):
            messages.error(request, message)
    else:
        messages.success(request, gettext("Reminder e-mailed to %(address)s.") % {"address": sent.sent_to})
    return redirect(f"/appointments/{appointment_id}/")


def contact_preference(request: ClinicRequest, patient_id: int) -> HttpResponse:
    """Whether the patient wants appointment reminders by e-mail, and how they want questionnaire links."""
    membership = require(request.membership, Capability.BOOK_APPOINTMENTS)
    patient = get_patient(membership, patient_id)
    if request.method == "POST":
        wanted = request.POST.get("email_reminders") == "yes"
        try:
            saved = actions.set_contact_preference(membership, patient.pk, wanted, request.POST.get("links_by"))
        except ValidationError as exc:
            for message in _messages_of(exc):
                messages.error(request, message)
        else:
            messages.success(
                request,
                (
                    gettext("%(patient)s receives e-mail reminders; questionnaire links: %(links)s.")
                    if wanted
                    else gettext("%(patient)s will not receive e-mail reminders; questionnaire links: %(links)s.")
                )
                % {"patient": patient.full_name, "links": saved.get_links_by_display().lower()},
            )
        return redirect(f"/schedule/patients/{patient.pk}/reminders/")
    upcoming = list(
        Appointment.objects.filter(clinic_id=membership.clinic_id, patient=patient, starts_at__gte=timezone.now())
        .select_related("clinic", "clinician__user")
        .order_by("starts_at")[:20]
    )
    return render(
        request,
        "scheduling/contact.html",
        {
            "patient": patient,
            "wants": actions.wants_reminders(patient),
            "links_by": actions.links_by(patient),
            "links_choices": ContactPreference.LinksBy.choices,
            "upcoming": upcoming,
        },
    )


def feeds(request: ClinicRequest) -> HttpResponse:
    """The clinician's private calendar address: make a new one (the old one stops) or revoke it."""
    membership = require(request.membership, Capability.VIEW_SCHEDULE)
    new_url = None
    if request.method == "POST":
        try:
            if request.POST.get("revoke"):
                actions.revoke_calendar_feed(membership, request.POST["revoke"])
                messages.success(request, gettext("The calendar address no longer works."))
            else:
                _, raw = actions.create_calendar_feed(membership)
                new_url = request.build_absolute_uri(f"/calendar-feed/{raw}.ics")
        except ValidationError as exc:
            for message in _messages_of(exc):
                messages.error(request, message)
    mine = list(CalendarFeed.objects.filter(clinician=membership).order_by("-created_at")[:10])
    return render(request, "scheduling/feeds.html", {"feeds": mine, "new_url": new_url})


def feed(request: ClinicRequest, token: str) -> HttpResponse:
    """The iCalendar feed behind a private address (no sign-in: the unguessable token is the key)."""
    found = calendar.feed_for_token(token)
    if found is None:
        raise Http404("Not found")
    CalendarFeed.objects.filter(pk=found.pk).update(last_used_at=timezone.now())
    # The feed's clinician is who reads it (the address is theirs): the request's entry names them.
    request.audit_actor = audit.Actor(
        found.clinician.user_id, found.clinic_id, "feed", None, found.clinician.user.username
    )
    text = calendar.feed_text(found)
    audit.record("read", found, summary="calendar feed fetched", clinic_id=found.clinic_id)
    response = HttpResponse(text, content_type="text/calendar; charset=utf-8")
    response["Cache-Control"] = "private, no-store"
    return response
