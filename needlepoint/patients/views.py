"""Patient pages: search, registration, the patient page, screening, consent and episodes. Thin: they
parse the form, call one action, and render."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, QuerySet
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext

from needlepoint.accounts import audit
from needlepoint.accounts.access import get_patient, get_record, listed, patients_for, require, scoped
from needlepoint.accounts.models import Membership
from needlepoint.accounts.requests import ClinicRequest, member
from needlepoint.accounts.roles import Capability
from needlepoint.patients import actions, demographics, forms, received_records
from needlepoint.patients.consent import current_consent_text, patient_consent_wording
from needlepoint.patients.gate import needling_clearance
from needlepoint.patients.language import language_of
from needlepoint.patients.models import (
    Consent,
    Episode,
    Patient,
    PatientIdentifier,
    ReceivedRecord,
    ReportedCondition,
    Screening,
)
from needlepoint.patients.page import stored_body
from needlepoint.patients.panels import todays_patients
from needlepoint.patients.reported_conditions import chart_order
from needlepoint.patients.screening_form import ScreeningForm
from needlepoint.patients.screening_rules import ADULT_AGE, build_rules, screening_data
from needlepoint.patients.search import find_patients, recent_patients
from needlepoint.web import add_errors

RECENT_LIMIT = 20


def patient_list(request: ClinicRequest) -> HttpResponse:
    """Search the clinic's patients by name, date of birth, MRN or phone; without a search, this member's
    recent patients and today's patients (appointments, and for clinical roles visits started today).

    The search forms post their terms, so names and birth dates stay out of addresses, browser history and
    web-server access logs; ``?q=`` still works for links and scripts.
    """
    membership = member(request)
    source = request.POST if request.method == "POST" else request.GET
    query = (source.get("q") or "").strip()
    results = find_patients(membership, query) if query else []
    context: dict[str, object] = {"query": query, "results": results}
    if request.headers.get("HX-Request") and source.get("from") == "header":
        # The header's live results: the matches only, nothing listed while the box is empty.
        return render(request, "patients/_header_results.html", context)
    if not query:
        context["recent"] = recent = recent_patients(patients_for(membership), membership.pk)
        context["today"] = today = todays_patients(membership)
        listed = len(recent) + len(today)
        if listed:
            audit.record(
                "read", summary=f"recent and today's patients ({listed} listed)", object_type="patients.Patient"
            )
    template = "patients/_results.html" if request.headers.get("HX-Request") else "patients/list.html"
    return render(request, template, context)


def patient_new(request: ClinicRequest) -> HttpResponse:
    """Register a patient."""
    membership = require(request.membership, Capability.EDIT_DEMOGRAPHICS)
    form = forms.PatientForm(request.POST or None, offer_confirm_duplicate=True)
    candidates: list[Patient] = []
    if request.method == "POST" and form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if k in actions.DEMOGRAPHIC_FIELDS}
        try:
            patient = actions.register_patient(
                membership,
                data,
                mrn=form.cleaned_data["mrn"],
                confirm_duplicate=form.cleaned_data["confirm_duplicate"],
            )
        except actions.PossibleDuplicate as exc:
            # Not an error on a field: the existing records are offered below, with "register anyway".
            candidates = exc.candidates
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(
                request,
                gettext("%(patient)s registered with MRN %(mrn)s.")
                % {"patient": patient.full_name, "mrn": patient.mrn},
            )
            return redirect("patient", patient_id=patient.pk)
    context = {"form": form, "title": gettext("Register a patient"), "candidates": candidates}
    return render(request, "patients/form.html", context)


def patient_edit(request: ClinicRequest, patient_id: int) -> HttpResponse:
    """Edit demographics; a save after someone else's is refused, not merged silently."""
    membership = member(request)
    patient = get_patient(membership, patient_id, Capability.EDIT_DEMOGRAPHICS)
    initial = {name: getattr(patient, name) for name in actions.DEMOGRAPHIC_FIELDS} | {"version": patient.version}
    form = forms.PatientForm(request.POST or None, initial=initial, offer_confirm_duplicate=True)
    form.fields["mrn"].disabled = True
    form.fields["mrn"].initial = patient.mrn
    form.fields["confirm_duplicate"].label = gettext("This is a different person: save anyway")
    candidates: list[Patient] = []
    if request.method == "POST" and form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if k in actions.DEMOGRAPHIC_FIELDS}
        try:
            actions.update_patient(
                membership,
                patient.pk,
                data,
                form.cleaned_data.get("version") or 0,
                confirm_duplicate=form.cleaned_data["confirm_duplicate"],
            )
        except actions.PossibleDuplicate as exc:
            candidates = exc.candidates
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(request, gettext("Patient details saved."))
            return redirect("patient", patient_id=patient.pk)
    return render(
        request,
        "patients/form.html",
        {
            "form": form,
            "title": gettext("Edit %(patient)s") % {"patient": patient.full_name},
            "patient": patient,
            "candidates": candidates,
        },
    )


def patient_detail(request: ClinicRequest, patient_id: int) -> HttpResponse:
    """The patient page: demographics for everyone; screening, episodes and visits for clinical roles. Its body
    comes from the shared cache while nothing it shows was written (``patients.page``)."""
    membership = member(request)
    patient = get_patient(membership, patient_id)
    actions.note_patient_opened(membership, patient)
    body = stored_body(request, membership, patient, lambda: _body(membership, patient))
    return render(request, "patients/detail.html", {"patient": patient, "body": body})


def _body(membership: Membership, patient: Patient) -> dict[str, object]:
    """What the patient page's body shows, by the membership's capabilities."""
    context: dict[str, object] = {"age": patient.age_on(timezone.localdate())}
    context |= _demographics_in_words(patient)
    if membership.can(Capability.VIEW_CONSENT_STATUS):
        clearance = needling_clearance(patient)
        context["consent"] = clearance.consent
        context["consent_text"] = clearance.consent_text
        context["clearance"] = clearance
        if membership.can(Capability.VIEW_CLINICAL):
            context["screening"] = clearance.screening
    if membership.can(Capability.VIEW_CLINICAL):
        context["episodes"] = list(
            Episode.objects.filter(patient=patient)
            .select_related("opened_by__user")
            .order_by("status", "-opened_at")[:RECENT_LIMIT]
        )
        context["reported_conditions"] = reported_condition_groups(patient)
        context["received"] = received_summary(patient)
        context.update(_clinical_panels(patient))
    return context


@dataclass
class ConditionsFrom:
    """The conditions one import brought in: where from, when and by whom, in chart order."""

    source: str
    imported_at: datetime
    imported_by: str
    conditions: list[ReportedCondition] = field(default_factory=list)


@dataclass
class RecordsFrom:
    """The records one import kept as received from another clinic: where from, when and by whom, newest first."""

    source: str
    imported_at: datetime
    imported_by: str
    records: list[ReceivedRecord] = field(default_factory=list)


RECEIVED_ON_CHART = 10  # the chart lists this many of the newest records other clinics sent; the rest on their page
RECEIVED_PER_PAGE = 50
# The order the chart and the list show them in: by the date the sender gave, newest first (none given: last).
RECEIVED_ORDER = ("-occurred", "-imported_at", "-pk")


@dataclass(frozen=True)
class ReceivedCount:
    """How many records of one FHIR resource type other clinics sent for the patient."""

    resource_type: str
    label: str
    count: int


@dataclass
class ReceivedSummary:
    """What the chart shows of the records other clinics sent, whatever their number: how many of each type, who
    sent them, and the newest ``RECEIVED_ON_CHART``; all of them are on their own paged list."""

    total: int
    by_type: list[ReceivedCount]
    sources: list[str]
    newest: list[ReceivedRecord]


def _received_counts(rows: QuerySet[ReceivedRecord]) -> tuple[list[ReceivedCount], list[str]]:
    """The counts by type (in words, in their order) and the senders of ``rows``: one grouped query."""
    by_type: dict[str, int] = {}
    sources: set[str] = set()
    for group in rows.order_by().values("resource_type", "source").annotate(count=Count("pk")):
        by_type[group["resource_type"]] = by_type.get(group["resource_type"], 0) + group["count"]
        sources.add(group["source"])
    counts = [ReceivedCount(t, received_records.type_label(t), n) for t, n in by_type.items()]
    return sorted(counts, key=lambda c: c.label), sorted(sources)


def received_summary(patient: Patient) -> ReceivedSummary | None:
    """The chart's summary of the records other clinics sent for ``patient`` (None when there are none): two
    queries however many there are. The caller fetched the patient through the access helper and checked the role
    may read clinical records."""
    rows = ReceivedRecord.objects.filter(clinic_id=patient.clinic_id, patient=patient)
    by_type, sources = _received_counts(rows)
    if not by_type:
        return None
    newest = list(
        rows.select_related("imported_by__user")
        .defer("resource")  # the chart shows the words kept beside it, never the whole resource
        .order_by(*RECEIVED_ORDER)[:RECEIVED_ON_CHART]
    )
    return ReceivedSummary(sum(c.count for c in by_type), by_type, sources, newest)


def received_list(request: ClinicRequest, patient_id: int) -> HttpResponse:
    """All the records other clinics sent for a patient, newest first, 50 a page, optionally of one type
    (``?type=Procedure``): the chart shows the newest few. For the roles that see them on the chart."""
    membership = member(request)
    patient = get_patient(membership, patient_id, Capability.VIEW_CLINICAL)
    rows = scoped(membership, ReceivedRecord.objects.filter(patient=patient), Capability.VIEW_CLINICAL)
    by_type, _ = _received_counts(rows)
    chosen = request.GET.get("type", "")
    refused_type = ""
    if chosen and chosen not in {c.resource_type for c in by_type}:
        refused_type, chosen = chosen[:64], ""
    if chosen:
        rows = rows.filter(resource_type=chosen)
    rows = rows.select_related("imported_by__user").defer("resource").order_by(*RECEIVED_ORDER)
    page = Paginator(rows, RECEIVED_PER_PAGE).get_page(request.GET.get("page"))
    shown = listed(list(page), "records kept as received")
    return render(
        request,
        "patients/received_records.html",
        {
            "patient": patient,
            "page": page,
            "records": shown,
            "by_type": by_type,
            "total": sum(c.count for c in by_type),
            "chosen": chosen,
            "chosen_label": received_records.type_label(chosen) if chosen else "",
            "refused_type": refused_type,
            "query": urlencode({"type": chosen}) if chosen else "",
        },
    )


Imported = TypeVar("Imported", ReceivedRecord, ReportedCondition)
Group = TypeVar("Group", RecordsFrom, ConditionsFrom)


def _by_import(
    rows: Iterable[Imported], group: Callable[[str, datetime, str], Group]
) -> list[tuple[Group, list[Imported]]]:
    """Rows brought in by imports, one group per import (where from, when, by whom), in the rows' order."""
    groups: dict[tuple[str, datetime, int], tuple[Group, list[Imported]]] = {}
    for row in rows:
        key = (row.source, row.imported_at, row.imported_by_id)
        if key not in groups:
            groups[key] = (group(row.source, row.imported_at, row.imported_by.display_name), [])
        groups[key][1].append(row)
    return list(groups.values())


def received_record_groups(patient: Patient, resource_type: str = "") -> list[RecordsFrom]:
    """The records other clinics made for a patient (only those of ``resource_type`` if given), kept as received,
    one group per import, each listed by the date the sender gave (newest first): one query however many there
    are. The caller fetched the patient through the access helper and checked the role may read clinical
    records."""
    rows = ReceivedRecord.objects.filter(patient=patient)
    if resource_type:
        rows = rows.filter(resource_type=resource_type)
    rows = (
        rows.select_related("imported_by__user")
        .defer("resource")  # the chart shows the words kept beside it, never the whole resource
        .order_by("imported_at", "imported_by_id", "source", "-occurred", "pk")
    )
    groups = _by_import(rows, RecordsFrom)
    for group, kept in groups:
        group.records = kept
    return [group for group, _ in groups]


def reported_condition_groups(patient: Patient) -> list[ConditionsFrom]:
    """The conditions other records reported for a patient, one group per import, active ones first in each: one
    query however many there are. The caller fetched the patient through the access helper."""
    rows = (
        ReportedCondition.objects.filter(patient=patient)
        .select_related("imported_by__user")
        .order_by("imported_at", "pk")
    )
    groups = _by_import(rows, ConditionsFrom)
    for group, kept in groups:
        group.conditions = chart_order(kept)
    return [group for group, _ in groups]


def _demographics_in_words(patient: Patient) -> dict[str, object]:
    """The coded demographics in words, and the identifiers from other systems (one query for all of them), each
    named in plain words and a Social Security number masked: the page never holds one in full."""
    identifiers = [
        {
            "name": demographics.identifier_name(i.system, i.type_system, i.type_code, i.type_text),
            "value": demographics.shown_value(i.value, i.system, i.type_system, i.type_code, i.type_text),
            "system": i.system,
            "source": i.source,
            "recorded_at": i.recorded_at,
        }
        for i in PatientIdentifier.objects.filter(patient=patient).order_by("pk")
    ]
    return {
        "marital_status": demographics.label_of(demographics.marital_statuses(), patient.marital_status),
        "race": demographics.in_words(demographics.races(), patient.race_codes or [], patient.race_text),
        "ethnicity": demographics.in_words(
            demographics.ethnicities(),
            [patient.ethnicity_code] if patient.ethnicity_code else [],
            patient.ethnicity_text,
        ),
        "birth_sex": demographics.label_of(demographics.birth_sexes(), patient.birth_sex),
        "identifiers": identifiers,
    }


def _clinical_panels(patient: Patient) -> dict[str, object]:
    """Extra panels other apps contribute to the patient page (recent visits, outcomes)."""
    from needlepoint.patients.panels import patient_panels

    return {"panels": patient_panels(patient)}


def record_death(request: ClinicRequest, patient_id: int) -> HttpResponse:
    """Record the patient's death; future appointments are cancelled, and the page says which."""
    membership = member(request)
    patient = get_patient(membership, patient_id, Capability.EDIT_DEMOGRAPHICS)
    context = {"patient": patient, "title": gettext("Record the patient's death"), "submit": gettext("Record death")}
    if patient.deceased:
        return render(request, "patients/death_form.html", context | {"form": None})
    form = forms.RecordDeathForm(request.POST or None, initial={"version": patient.version})
    if request.method == "POST" and form.is_valid():
        try:
            recorded = actions.record_death(
                membership, patient.pk, form.cleaned_data["deceased_date"], form.cleaned_data["version"]
            )
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            stopped = " ".join(recorded.stopped) or gettext("There were no future appointments to cancel.")
            messages.warning(
                request,
                gettext(
                    "%(patient)s: %(notice)s. %(stopped)s "
                    "No questionnaire links, reminders or appointments will go to this patient."
                )
                % {"patient": patient.full_name, "notice": recorded.patient.deceased_notice, "stopped": stopped},
            )
            return redirect("patient", patient_id=patient.pk)
    return render(request, "patients/death_form.html", context | {"form": form})


def withdraw_death(request: ClinicRequest, patient_id: int) -> HttpResponse:
    """Withdraw a death recorded in error, with the reason; what was recorded is kept."""
    membership = member(request)
    patient = get_patient(membership, patient_id, Capability.EDIT_DEMOGRAPHICS)
    context = {"patient": patient, "title": gettext("Withdraw the record of death"), "submit": gettext("Withdraw")}
    if not patient.deceased:
        return render(request, "patients/death_form.html", context | {"form": None})
    form = forms.WithdrawDeathForm(request.POST or None, initial={"version": patient.version})
    if request.method == "POST" and form.is_valid():
        try:
            actions.withdraw_death(membership, patient.pk, form.cleaned_data["reason"], form.cleaned_data["version"])
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(
                request,
                gettext(
                    "The record of death of %(patient)s was withdrawn. Appointments cancelled when it was "
                    "recorded stay cancelled: book again where needed."
                )
                % {"patient": patient.full_name},
            )
            return redirect("patient", patient_id=patient.pk)
    return render(request, "patients/death_form.html", context | {"form": form})


def screening_new(request: ClinicRequest, patient_id: int) -> HttpResponse:
    """Screen a patient for dry-needling contraindications and precautions."""
    membership = member(request)
    patient = get_patient(membership, patient_id, Capability.EDIT_CLINICAL)
    form = ScreeningForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            screening = actions.record_screening(membership, patient, form.answers())
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(
                request, gettext("Screening recorded: %(status)s.") % {"status": screening.get_status_display()}
            )
            return redirect("screening", patient_id=patient.pk, screening_id=screening.pk)
    age = patient.age_on(timezone.localdate())
    context = {
        "form": form,
        "patient": patient,
        "age": age,
        "reported_conditions": reported_condition_groups(patient),
        # Another clinic's Conditions kept whole are conditions the patient has been reported with too.
        "received_records": received_record_groups(patient, "Condition"),
    }
    return render(request, "patients/screening_form.html", context)


def screening_detail(request: ClinicRequest, patient_id: int, screening_id: int) -> HttpResponse:
    """One screening: answers, findings with sources, and the acknowledgement of precautions."""
    membership = member(request)
    screening = get_record(
        membership,
        Screening.objects.select_related("patient", "screened_by__user"),
        screening_id,
        patient_id=patient_id,
    )
    form = forms.AcknowledgeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        require(membership, Capability.EDIT_CLINICAL)
        try:
            actions.acknowledge_precautions(membership, screening, form.cleaned_data["note"])
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(request, gettext("Precautions acknowledged."))
            return redirect("screening", patient_id=patient_id, screening_id=screening.pk)
    return render(
        request,
        "patients/screening_detail.html",
        {
            "screening": screening,
            "patient": screening.patient,
            "form": form,
            "answers": ScreeningForm.describe_answers(screening.answers),
            "build": build_rules(),
            "references": screening_data().references,
            "reported_conditions": reported_condition_groups(screening.patient),
            "received_records": received_record_groups(screening.patient, "Condition"),
        },
    )


def needling_age(request: ClinicRequest) -> HttpResponse:
    """The clinic's minimum needling age (clinic admins)."""
    membership = require(request.membership, Capability.CONFIGURE_CLINIC)
    form = forms.NeedlingAgeForm(
        request.POST or None, initial={"minimum_needling_age": membership.clinic.minimum_needling_age}
    )
    if request.method == "POST" and form.is_valid():
        try:
            clinic = actions.set_minimum_needling_age(membership, form.cleaned_data["minimum_needling_age"])
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(
                request, gettext("Minimum needling age set to %(age)s.") % {"age": clinic.minimum_needling_age}
            )
            return redirect("needling_age")
    return render(request, "patients/needling_age.html", {"form": form})


def health_change(request: ClinicRequest, patient_id: int) -> HttpResponse:
    """The patient reports a change in health: current screenings stop being current."""
    membership = member(request)
    patient = get_patient(membership, patient_id, Capability.EDIT_CLINICAL)
    form = forms.HealthChangeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            actions.report_health_change(membership, patient, form.cleaned_data["description"])
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.warning(request, gettext("Change in health recorded. Screen the patient again before needling."))
            return redirect("patient", patient_id=patient.pk)
    return render(
        request,
        "patients/simple_form.html",
        {"form": form, "patient": patient, "title": gettext("Report a change in health")},
    )


def consent_new(request: ClinicRequest, patient_id: int) -> HttpResponse:
    """Show the current consent text and record the patient's typed signature."""
    membership = member(request)
    patient = get_patient(membership, patient_id, Capability.RECORD_CONSENT)
    text = current_consent_text(patient.clinic)
    age = patient.age_on(timezone.localdate())
    form = forms.ConsentForm(request.POST or None, initial={"text_version": text.version}, minor=age < ADULT_AGE)
    if request.method == "POST" and form.is_valid():
        try:
            actions.record_consent(
                membership,
                patient,
                form.cleaned_data["signed_name"],
                form.cleaned_data["text_version"],
                form.cleaned_data.get("drawn_signature") or "",
                guardian_name=form.cleaned_data.get("guardian_name") or "",
                guardian_relationship=form.cleaned_data.get("guardian_relationship") or "",
                child_assent=bool(form.cleaned_data.get("child_assent")),
            )
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(request, gettext("Consent recorded."))
            return redirect("patient", patient_id=patient.pk)
    context = {"form": form, "patient": patient, "text": text, "age": age, "minor": age < ADULT_AGE}
    # The patient reads and signs the same version in their language (a translation of that very edition).
    context["translated"] = patient_consent_wording(text, language_of(patient))
    return render(request, "patients/consent_form.html", context)


def consent_withdraw(request: ClinicRequest, patient_id: int, consent_id: int) -> HttpResponse:
    """Record the withdrawal of a consent."""
    membership = member(request)
    consent = get_record(
        membership,
        Consent.objects.select_related("patient"),
        consent_id,
        Capability.RECORD_CONSENT,
        patient_id=patient_id,
    )
    form = forms.WithdrawConsentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            actions.withdraw_consent(membership, consent, form.cleaned_data["reason"])
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.warning(
                request, gettext("Consent withdrawn. No needling can be documented until the patient consents again.")
            )
            return redirect("patient", patient_id=patient_id)
    return render(
        request,
        "patients/simple_form.html",
        {"form": form, "patient": consent.patient, "title": gettext("Withdraw consent")},
    )


def episode_new(request: ClinicRequest, patient_id: int) -> HttpResponse:
    """Open an episode of care."""
    membership = member(request)
    patient = get_patient(membership, patient_id, Capability.EDIT_CLINICAL)
    form = forms.EpisodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            episode = actions.open_episode(membership, patient, form.cleaned_data)
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(
                request, gettext("Episode opened: %(condition)s.") % {"condition": episode.condition_label}
            )
            return redirect("episode", patient_id=patient.pk, episode_id=episode.pk)
    return render(
        request,
        "patients/simple_form.html",
        {"form": form, "patient": patient, "title": gettext("Open an episode of care"), "script": "js/episode_form.js"},
    )


def episode_detail(request: ClinicRequest, patient_id: int, episode_id: int) -> HttpResponse:
    """An episode: condition, goals, status, discharge; other apps add visits and outcomes."""
    membership = member(request)
    episode = get_record(
        membership,
        Episode.objects.select_related("patient", "opened_by__user"),
        episode_id,
        patient_id=patient_id,
    )
    form = forms.DischargeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        require(membership, Capability.EDIT_CLINICAL)
        try:
            actions.discharge_episode(
                membership, episode, form.cleaned_data["discharge_date"], form.cleaned_data["reason"]
            )
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(request, gettext("Episode discharged."))
            return redirect(reverse("episode", args=[patient_id, episode.pk]))
    from needlepoint.patients.panels import episode_panels

    return render(
        request,
        "patients/episode.html",
        {"episode": episode, "patient": episode.patient, "form": form, "panels": episode_panels(episode)},
    )
