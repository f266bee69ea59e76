"""A patient's records as FHIR resources: fetched through the access helper, turned into the mapping's values.

Every fetch is clinic-scoped and capability-checked by ``needlepoint.accounts.access``: the patient through
``get_patient`` (which records the read), single records through ``get_record`` (also recorded), and lists
through ``scoped`` with one audit entry per search naming the patient and how many resources were returned.
Clinical resources need VIEW_CLINICAL; the Patient needs VIEW_DEMOGRAPHICS. The lists of several types
(``clinical_resources``: $everything, the record export, a bulk export's batch) fetch the rows the types share
once (``_Rows``), so their queries are as many however long the record.

Resource ids: Patient, Condition (episode), Consent, Procedure (visit) and AdverseEvent use the row's id; a
condition another record reported is a Condition too, ``reported-7``, so its ids never meet the episodes'.
Observations come from three tables, so their ids say which: ``outcome-12`` (a questionnaire score or pain
rating), ``rom-5`` (a range-of-motion measurement), ``visit-9-pain-before`` / ``visit-9-pain-after`` (the
0-10 ratings of a signed visit). A record another clinic made, kept as received by an import, is a resource of
its own type with id ``received-<patient>-<entry>`` (each list gives them after this clinic's own).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from typing import Any, TypeVar

from django.db.models import Exists, Model, OuterRef, QuerySet, prefetch_related_objects
from django.http import Http404

from needlepoint.accounts import audit
from needlepoint.accounts.access import get_patient, get_record, require, scoped, searched
from needlepoint.accounts.models import Membership
from needlepoint.accounts.roles import Capability
from needlepoint.fhir import codes, mapping, practitioners
from needlepoint.fhir.mapping import Json
from needlepoint.fhir.paging import MAX_COUNT, Page
from needlepoint.fhir.search import Query
from needlepoint.outcomes.actions import current_wording_entry
from needlepoint.outcomes.models import ClinicInstrumentWording, Observation, RomMeasurement
from needlepoint.outcomes.scoring import Instrument, ScoringError, instrument, instruments
from needlepoint.outcomes.wording import EnteredWording, licence_note, wording_shipped
from needlepoint.patients import demographics
from needlepoint.patients.conditions import icd10_label
from needlepoint.patients.models import Consent, Episode, Patient, ReceivedRecord, ReportedCondition
from needlepoint.patients.page import stored_data
from needlepoint.visits.adverse_events import severities
from needlepoint.visits.models import AdverseEvent, NeedlingEntry, TwitchResponse, Visit
from needlepoint.visits.muscles import muscle_name
from needlepoint.visits.summary import technique_label

CLINICAL_TYPES = ("Condition", "Consent", "Procedure", "Observation", "AdverseEvent", "QuestionnaireResponse")
RESOURCE_TYPES = ("Patient", *CLINICAL_TYPES)
# The clinic's staff, read and searched by any member of the clinic (needlepoint.fhir.practitioners).
STAFF_TYPES = ("Practitioner",)
_VISIT_PAIN_ID = re.compile(r"^visit-(\d+)-pain-(before|after)$")
_PREFIXED_ID = re.compile(r"^(outcome|rom)-(\d+)$")
_REPORTED_ID = re.compile(r"^reported-(\d+)$")
_RECEIVED_ID = re.compile(r"^received-(\d+-\d+)$")
ONE_PAGE = Page()
WHOLE_RECORD = Page(count=MAX_COUNT)
RECORD_FORMAT = 1  # part of the stored whole record's key: a release that changes the resources raises it
# The models whose rows the whole record shows besides the patient page's own (the patient, identifiers, consents,
# episodes, conditions and records received) and the clinic's staff, consent texts and settings: its stored copy is
# kept until one of the patient's rows of these, or one of the clinic's wordings, is written (patients.page).
RECORD_ROWS = (
    "visits.Visit", "visits.NeedlingEntry", "visits.AdverseEvent", "outcomes.Observation", "outcomes.RomMeasurement",
)  # fmt: skip
RECORD_CLINIC_ROWS = ("outcomes.ClinicInstrumentWording",)
M = TypeVar("M", bound=Model)
R = TypeVar("R", bound=Model)


def _who(membership: Membership | None) -> str:
    return membership.display_name if membership is not None else ""


def _member_id(membership_id: int | None) -> str:
    """A membership's id as its Practitioner's, "" where none is recorded."""
    return str(membership_id) if membership_id is not None else ""


# ---------------------------------------------------------------------------------------------- rows to values


def _coded(coded: demographics.CodedSet, code: str) -> mapping.CodedData | None:
    found = coded.find(code) if code else None
    return mapping.CodedData(found.system, found.code, found.display) if found else None


def patient_data(p: Patient) -> mapping.PatientData:
    """The mapping's view of a patient. Its identifiers come from ``p.identifiers``: prefetch them
    (``prefetch_related("identifiers")``) where many patients are shown, so they cost one query in all."""
    race = tuple(c for c in (_coded(demographics.races(), code) for code in p.race_codes or []) if c is not None)
    identifiers = sorted(p.identifiers.all(), key=lambda i: i.pk)
    return mapping.PatientData(
        id=str(p.pk),
        mrn=p.mrn,
        clinic_slug=p.clinic.slug,
        clinic_name=p.clinic.name,
        given_name=p.given_name,
        family_name=p.family_name,
        birth_date=p.date_of_birth,
        sex=p.sex,
        phone=p.phone,
        email=p.email,
        address=p.address,
        emergency_contact=p.emergency_contact,
        version=p.version,
        updated_at=p.updated_at,
        name_prefix=p.name_prefix,
        address_city=p.address_city,
        address_state=p.address_state,
        address_postal_code=p.address_postal_code,
        address_country=p.address_country,
        marital_status=_coded(demographics.marital_statuses(), p.marital_status),
        race=race,
        race_text=p.race_text,
        ethnicity=_coded(demographics.ethnicities(), p.ethnicity_code),
        ethnicity_text=p.ethnicity_text,
        birth_sex=p.birth_sex,
        identifiers=tuple(
            mapping.IdentifierData(i.system, i.value, i.type_system, i.type_code, i.type_display, i.type_text)
            for i in identifiers
        ),
        deceased=p.deceased,
        deceased_date=p.deceased_date,
    )


def _icd10_label(condition: str, code: str) -> str:
    return icd10_label(condition, code)


def episode_data(e: Episode) -> mapping.EpisodeData:
    """The mapping's view of an episode of care."""
    return mapping.EpisodeData(
        id=str(e.pk),
        patient_id=str(e.patient_id),
        condition=e.condition,
        condition_label=e.condition_label,
        icd10_code=e.icd10_code,
        icd10_label=_icd10_label(e.condition, e.icd10_code),
        side=e.side,
        onset_date=e.onset_date,
        status=e.status,
        opened_at=e.opened_at,
        opened_by=_who(e.opened_by),
        goals=e.goals,
        discharge_date=e.discharge_date,
        discharge_reason=e.discharge_reason,
        discharge_reason_label=e.get_discharge_reason_display() if e.discharge_reason else "",
        version=e.version,
        updated_at=e.updated_at or e.opened_at,
        opened_by_id=_member_id(e.opened_by_id),
    )


def reported_condition_data(c: ReportedCondition) -> mapping.ReportedConditionData:
    """The mapping's view of a condition another record reported (kept as received: always version 1)."""
    return mapping.ReportedConditionData(
        id=f"reported-{c.pk}",
        patient_id=str(c.patient_id),
        codings=tuple(c.codings),
        text=c.text,
        clinical_status=c.clinical_status,
        clinical_status_label=c.clinical_status_label,
        verification_status=c.verification_status,
        verification_status_label=c.verification_status_label,
        onset=c.onset,
        abatement=c.abatement,
        recorded_date=c.recorded_date,
        source=c.source,
        imported_at=c.imported_at,
        imported_by=_who(c.imported_by),
    )


def consent_data(c: Consent) -> mapping.ConsentData:
    """The mapping's view of a consent and the text version it was signed on."""
    risks = tuple(str(r.get("text", r)) if isinstance(r, dict) else str(r) for r in c.text.material_risks)
    return mapping.ConsentData(
        id=str(c.pk),
        patient_id=str(c.patient_id),
        patient_name=c.patient.full_name,
        clinic_slug=c.clinic.slug,
        clinic_name=c.clinic.name,
        text_version=c.text.version,
        text_title=c.text.title,
        text_body=c.text.body,
        material_risks=risks,
        signed_name=c.signed_name,
        signed_at=c.signed_at,
        recorded_by=_who(c.recorded_by),
        withdrawn_at=c.withdrawn_at,
        withdrawal_reason=c.withdrawal_reason,
        # A consent changes once at most: when it is withdrawn.
        version=2 if c.withdrawn_at else 1,
        updated_at=c.withdrawn_at or c.signed_at,
    )


def _site(entry: NeedlingEntry) -> mapping.NeedledSite:
    return mapping.NeedledSite(
        muscle_id=entry.muscle_id,
        muscle_name=muscle_name(entry.muscle_id),
        side=entry.side,
        needles=entry.needles,
        diameter_mm=entry.diameter_mm,
        length_mm=entry.length_mm,
        technique=entry.technique,
        technique_label=technique_label(entry.technique),
        twitch_response=entry.twitch_response,
        twitch_label=str(dict(TwitchResponse.choices).get(entry.twitch_response, entry.twitch_response)),
        trigger_point=entry.trigger_point,
        minutes_left_in=entry.minutes_left_in,
        patient_response=entry.patient_response,
    )


def procedure_data(v: Visit, events: Sequence[AdverseEvent] | None = None) -> mapping.ProcedureData:
    """The mapping's view of a signed needling visit (needling entries prefetched) and the adverse events recorded
    against it (``events``, where the caller has them; else the visit's, prefetched).

    A signed visit does not change, but an adverse event recorded against it later adds a complication to the
    Procedure; adverse events are never deleted, so the visit's version plus its number of events only grows.
    """
    events = list(v.adverse_events.all()) if events is None else list(events)
    return mapping.ProcedureData(
        id=str(v.pk),
        patient_id=str(v.patient_id),
        episode_id=str(v.episode_id),
        icd10_code=v.episode.icd10_code,
        icd10_label=_icd10_label(v.episode.condition, v.episode.icd10_code),
        performed_at=v.started_at,
        clinician=_who(v.signed_by or v.clinician),
        cpt_code=v.cpt_code,
        sites=tuple(_site(e) for e in sorted(v.needling_entries.all(), key=lambda e: (e.position, e.pk))),
        needles_opened=v.needles_opened,
        needles_inserted=v.needles_inserted,
        needles_removed=v.needles_removed,
        needles_in_sharps=v.needles_in_sharps,
        signed_at=v.signed_at,
        complications=tuple((a.event_type, a.type_label) for a in sorted(events, key=lambda a: a.pk)),
        version=v.version + len(events),
        updated_at=max([v.updated_at, *(a.recorded_at for a in events)]),
        clinician_id=str(v.signed_by_id or v.clinician_id),
    )


def _instrument_name(code: str) -> tuple[str, str | None]:
    try:
        found = instrument(code)
    except ScoringError:
        return code, None
    return found.name, found.loinc


def questionnaire_data(defn: Instrument, entry: ClinicInstrumentWording | None) -> mapping.QuestionnaireData:
    """The mapping's view of an instrument with the clinic's current licensed wording (``entry``, or None).

    Wording appears only where it ships with the instrument or the clinic entered it; an instrument whose wording
    is licensed and not entered shows each item's topic as its code and no text, and options without text."""
    entered = EnteredWording.from_items(entry.items) if entry is not None else None
    shipped = wording_shipped(defn.code)
    items = []
    for item in defn.items:
        question = item.wording or (entered.questions.get(item.id) if entered else None) or None
        entered_options = entered.options.get(item.id, ()) if entered else ()
        if len(entered_options) != len(item.options):
            entered_options = ()
        options = tuple(
            (
                int(o.printed) if o.printed.denominator == 1 else float(o.printed),
                entered_options[n] if entered_options else (o.label if shipped else None),
            )
            for n, o in enumerate(item.options)
        )
        items.append(
            mapping.QuestionItem(
                link_id=item.id,
                topic=item.label,
                text=question,
                kind=item.kind,
                options=options,
                minimum=float(item.minimum) if item.kind != "choice" else None,
                maximum=float(item.maximum) if item.kind != "choice" else None,
            )
        )
    if entry is not None:
        note = f"Item wording: the clinic's licensed wording, version {entry.version}."
    elif shipped:
        note = "Item wording as published."
    else:
        note = f"Item wording is licensed and not shipped; each item names its topic only. {licence_note(defn.code)}"
    return mapping.QuestionnaireData(
        code=defn.code,
        name=defn.name,
        version=defn.version,
        items=tuple(items),
        loinc_panel=codes.LOINC_PANEL.get(defn.code),
        wording_note=note,
        wording_version=entry.version if entry is not None else None,
        updated_at=entry.entered_at if entry is not None else None,
    )


def _questionnaires(clinic_id: int, wanted: set[str] | None = None) -> dict[str, mapping.QuestionnaireData]:
    """The clinic's questionnaires by instrument code (all, or the ``wanted`` codes), with its current wording."""
    entries: dict[str, ClinicInstrumentWording] = {}
    rows = ClinicInstrumentWording.objects.filter(clinic_id=clinic_id).order_by("instrument", "version")
    for entry in rows:
        entries[entry.instrument] = entry  # the highest version last
    return {
        code: questionnaire_data(defn, entries.get(code))
        for code, defn in instruments().items()
        if wanted is None or code in wanted
    }


def response_data(o: Observation, questionnaire: mapping.QuestionnaireData) -> mapping.ResponseData:
    """The mapping's view of a questionnaire's item answers, as the form printed them."""
    answers = dict(o.answers or {})
    return mapping.ResponseData(
        id=f"outcome-{o.pk}",
        patient_id=str(o.patient_id),
        episode_id=str(o.episode_id),
        questionnaire=mapping.questionnaire_canonical(questionnaire),
        authored=o.observed_at,
        source=o.source,
        recorded_by=_who(o.recorded_by) or None,
        answers=tuple((item, answers.get(item.link_id)) for item in questionnaire.items),
        updated_at=o.created_at,
        recorded_by_id=_member_id(o.recorded_by_id),
    )


def score_data(o: Observation, procedure_ids: set[int]) -> mapping.ScoreData:
    """The mapping's view of a questionnaire score or pain rating."""
    name, loinc = _instrument_name(o.instrument)
    return mapping.ScoreData(
        id=f"outcome-{o.pk}",
        patient_id=str(o.patient_id),
        episode_id=str(o.episode_id),
        instrument=o.instrument,
        instrument_name=name,
        value=o.value,
        unit=o.unit,
        observed_at=o.observed_at,
        loinc=loinc,
        source=o.source,
        recorded_by=_who(o.recorded_by) or None,
        procedure_id=str(o.visit_id) if o.visit_id in procedure_ids else None,
        subscales=dict(o.subscales or {}),
        response_id=f"outcome-{o.pk}" if _has_answers(o) else None,
        updated_at=o.created_at,  # scores are never edited: version 1
        recorded_by_id=_member_id(o.recorded_by_id),
    )


def _has_answers(o: Observation) -> bool:
    """Whether a score was derived from item answers kept with it (a QuestionnaireResponse is exported)."""
    try:
        instrument(o.instrument)
    except ScoringError:
        return False
    return any(v is not None for v in (o.answers or {}).values())


def visit_pain_data(v: Visit, which: str, procedure_ids: set[int]) -> mapping.ScoreData:
    """The mapping's view of a signed visit's pain rating before or after treatment (``which``)."""
    name, loinc = _instrument_name("NPRS")
    rating = v.pain_before if which == "before" else v.pain_after
    if rating is None:  # callers pass only a rating that is there; float(None) raised the same TypeError
        raise TypeError(f"Visit {v.pk} has no pain rating {which} treatment.")
    return mapping.ScoreData(
        id=f"visit-{v.pk}-pain-{which}",
        patient_id=str(v.patient_id),
        episode_id=str(v.episode_id),
        instrument="NPRS",
        instrument_name=name,
        value=float(rating),
        unit="points",
        observed_at=v.started_at,
        loinc=loinc,
        source="patient",
        recorded_by=_who(v.clinician),
        procedure_id=str(v.pk) if v.pk in procedure_ids else None,
        label=f"Pain {which} treatment at the visit",
        updated_at=v.signed_at,  # a signed visit's ratings are never edited: version 1
    )


def rom_data(r: RomMeasurement) -> mapping.RomData:
    """The mapping's view of a range-of-motion measurement."""
    from needlepoint.outcomes.rom import movements

    movement = next((m for m in movements() if m.joint == r.joint and m.movement == r.movement), None)
    return mapping.RomData(
        id=f"rom-{r.pk}",
        patient_id=str(r.patient_id),
        episode_id=str(r.episode_id),
        joint=r.joint,
        joint_label=r.joint.replace("_", " ").capitalize(),
        movement=r.movement,
        movement_label=movement.label if movement else r.movement.replace("_", " "),
        side=r.side,
        degrees=r.degrees,
        method=r.method,
        method_label=r.get_method_display(),
        observed_at=r.observed_at,
        recorded_by=_who(r.recorded_by),
        normal_degrees=r.normal_degrees,
        percent_of_normal=r.percent_of_normal,
        updated_at=r.created_at,  # measurements are never edited: version 1
        recorded_by_id=_member_id(r.recorded_by_id),
    )


def adverse_event_data(a: AdverseEvent, procedure_ids: set[int]) -> mapping.AdverseEventData:
    """The mapping's view of an adverse event; its suspect is the visit's Procedure when one is exported."""
    grade = next((s for s in severities() if s.code == a.severity), None)
    return mapping.AdverseEventData(
        id=str(a.pk),
        patient_id=str(a.patient_id),
        event_type=a.event_type,
        type_label=a.type_label,
        severity=a.severity,
        severity_label=a.severity_label,
        fhir_severity=grade.fhir_severity if grade else "moderate",
        serious=bool(grade and grade.serious),
        onset_at=a.onset_at,
        recorded_at=a.recorded_at,
        recorder=_who(a.recorded_by),
        outcome=a.outcome,
        description=a.description,
        procedure_id=str(a.visit_id) if a.visit_id in procedure_ids else None,
        needles_unaccounted=a.needles_unaccounted,
        version=a.version,
        updated_at=a.updated_at or a.recorded_at,
        recorder_id=_member_id(a.recorded_by_id),
    )


# ---------------------------------------------------------------------------------------------- querysets


def _needled_signed_visits(queryset: QuerySet[Visit]) -> QuerySet[Visit]:
    """Signed visits with at least one needling entry: the visits exported as Procedures."""
    has_needling = Exists(NeedlingEntry.objects.filter(visit_id=OuterRef("pk")))
    return queryset.filter(has_needling, signed_at__isnull=False)


def _procedure_ids(membership: Membership, patient_ids: Sequence[int]) -> set[int]:
    visits = scoped(membership, Visit.objects.filter(patient_id__in=patient_ids), Capability.VIEW_CLINICAL)
    return set(_needled_signed_visits(visits).values_list("pk", flat=True))


class _Rows:
    """The rows of some patients (one for a read, a few hundred for a bulk export) that several resource types
    share, each fetched once however many of the types are listed: the signed visits (Procedures, and pain
    ratings as Observations), the visits exported as Procedures (their ids are the references Observations and
    AdverseEvents make), the adverse events (AdverseEvents, and the Procedures' complications), the questionnaire
    scores (Observations, and QuestionnaireResponses), the records kept as received (every type's) and the
    clinic's staff who opened, recorded or signed them. Every fetch of patient data goes through ``scoped``."""

    def __init__(self, membership: Membership, patient_ids: Sequence[int]) -> None:
        self.membership = membership
        self.patient_ids = patient_ids
        self._signed: list[Visit] | None = None
        self._procedures: list[Visit] | None = None
        self._procedure_ids: set[int] | None = None
        self._scores: list[Observation] | None = None
        self._events: list[AdverseEvent] | None = None
        self._received: dict[str, list[ReceivedRecord]] | None = None
        self._staff: dict[int, Membership] | None = None

    def of(self, model: type[M]) -> QuerySet[M]:
        """The patients' rows of one model, limited to the membership's clinic (VIEW_CLINICAL checked)."""
        rows = model._default_manager.filter(patient_id__in=self.patient_ids)
        return scoped(self.membership, rows, Capability.VIEW_CLINICAL)

    def with_staff(self, found: Iterable[R], *fields: str) -> list[R]:
        """``found`` with the membership each of its ``fields`` names (and its user) taken from the clinic's
        staff, fetched once for every list instead of joined into each (one outside the clinic's staff, if any,
        is still read when used)."""
        if self._staff is None:
            staff = Membership.objects.filter(clinic_id=self.membership.clinic_id).select_related("user")
            self._staff = {m.pk: m for m in staff}
        listed = list(found)
        for row in listed:
            for field in fields:
                person = self._staff.get(getattr(row, f"{field}_id"))
                if person is not None:
                    setattr(row, field, person)
        return listed

    def signed_visits(self) -> list[Visit]:
        """The signed visits in the order they took place."""
        if self._signed is None:
            visits = self.of(Visit).filter(signed_at__isnull=False).select_related("episode")
            self._signed = self.with_staff(visits.order_by("started_at", "pk"), "clinician", "signed_by")
        return self._signed

    def procedure_visits(self) -> list[Visit]:
        """The visits exported as Procedures: signed, with a needling entry (as ``_needled_signed_visits``), their
        needling entries prefetched."""
        if self._procedures is None:
            signed = self.signed_visits()
            prefetch_related_objects(signed, "needling_entries")
            self._procedures = [v for v in signed if v.needling_entries.all()]
        return self._procedures

    def adverse_events(self) -> list[AdverseEvent]:
        """The adverse events in the order of their onset."""
        if self._events is None:
            events = self.of(AdverseEvent).order_by("onset_at", "pk")
            self._events = self.with_staff(events, "recorded_by")
        return self._events

    def procedure_ids(self) -> set[int]:
        """The ids of the visits exported as Procedures: from those visits where the Procedures were listed, else
        by themselves (a list that only refers to them needs no needling entries)."""
        if self._procedures is not None:
            return {v.pk for v in self._procedures}
        if self._procedure_ids is None:
            self._procedure_ids = _procedure_ids(self.membership, self.patient_ids)
        return self._procedure_ids

    def scores(self) -> list[Observation]:
        """The questionnaire scores and pain ratings, in the order observed."""
        if self._scores is None:
            self._scores = self.with_staff(self.of(Observation).order_by("observed_at", "pk"), "recorded_by")
        return self._scores

    def received(self, resource_type: str) -> list[Json]:
        """The records of one type other clinics made for these patients, kept as received, in the order
        imported (every type's in one query)."""
        if self._received is None:
            self._received = {}
            for r in self.of(ReceivedRecord).order_by("imported_at", "pk"):
                self._received.setdefault(r.resource_type, []).append(r)
        return [
            mapping.received_resource(r.resource, r.fhir_id, r.imported_at)
            for r in self._received.get(resource_type, [])
        ]


def _conditions(rows: _Rows) -> list[Json]:
    episodes = rows.with_staff(rows.of(Episode).order_by("opened_at", "pk"), "opened_by")
    reported = rows.with_staff(rows.of(ReportedCondition).order_by("imported_at", "pk"), "imported_by")
    return (
        [mapping.condition_resource(episode_data(e)) for e in episodes]
        + [mapping.reported_condition_resource(reported_condition_data(c)) for c in reported]
        + rows.received("Condition")
    )


def _consents(rows: _Rows) -> list[Json]:
    consents = rows.of(Consent).select_related("text", "clinic", "patient").order_by("signed_at", "pk")
    own = [mapping.consent_resource(consent_data(c)) for c in rows.with_staff(consents, "recorded_by")]
    return own + rows.received("Consent")


def _procedure_queryset(membership: Membership) -> QuerySet[Visit]:
    visits = scoped(membership, Visit.objects.all(), Capability.VIEW_CLINICAL)
    return (
        _needled_signed_visits(visits)
        .select_related("episode", "clinician__user", "signed_by__user")
        .prefetch_related("needling_entries", "adverse_events")
    )


def _procedures(rows: _Rows) -> list[Json]:
    events: dict[int | None, list[AdverseEvent]] = {}
    for a in rows.adverse_events():
        events.setdefault(a.visit_id, []).append(a)
    own = [mapping.procedure_resource(procedure_data(v, events.get(v.pk, []))) for v in rows.procedure_visits()]
    return own + rows.received("Procedure")


def _observations(rows: _Rows) -> list[Json]:
    procedure_ids = rows.procedure_ids()
    found: list[tuple[datetime, Json]] = []
    for o in rows.scores():
        found.append((o.observed_at, mapping.score_observation(score_data(o, procedure_ids))))
    for r in rows.with_staff(rows.of(RomMeasurement).order_by("pk"), "recorded_by"):
        found.append((r.observed_at, mapping.rom_observation(rom_data(r))))
    for v in rows.signed_visits():
        for which in ("before", "after"):
            if getattr(v, f"pain_{which}") is not None:
                found.append((v.started_at, mapping.score_observation(visit_pain_data(v, which, procedure_ids))))
    found.sort(key=lambda pair: pair[0])  # stable: a visit's pain before stays ahead of its pain after
    return [resource for _, resource in found] + rows.received("Observation")


def _adverse_events(rows: _Rows) -> list[Json]:
    procedure_ids = rows.procedure_ids()
    own = [mapping.adverse_event_resource(adverse_event_data(a, procedure_ids)) for a in rows.adverse_events()]
    return own + rows.received("AdverseEvent")


def _responses(rows: _Rows) -> list[Json]:
    answered = [o for o in rows.scores() if _has_answers(o)]
    wanted = {o.instrument.upper() for o in answered}
    forms = _questionnaires(rows.membership.clinic_id, wanted) if wanted else {}
    own = [mapping.questionnaire_response_resource(response_data(o, forms[o.instrument.upper()])) for o in answered]
    return own + rows.received("QuestionnaireResponse")


_LISTS: dict[str, Callable[[_Rows], list[Json]]] = {
    "Condition": _conditions,
    "Consent": _consents,
    "Procedure": _procedures,
    "Observation": _observations,
    "AdverseEvent": _adverse_events,
    "QuestionnaireResponse": _responses,
}


def clinical_resources(
    membership: Membership, patient_ids: Sequence[int], types: Sequence[str] = CLINICAL_TYPES
) -> dict[str, list[Json]]:
    """Some patients' clinical resources of the ``types`` (CLINICAL_TYPES), by type in the order asked: one
    patient's for the reads, a few hundred at a time for a bulk export. The rows the types share are fetched
    once, so the queries are bounded by the number of types, not by the patients' history. Not audited here."""
    rows = _Rows(membership, patient_ids)
    return {resource_type: _LISTS[resource_type](rows) for resource_type in types}


# ---------------------------------------------------------------------------------------------- public reads


def patient_resource(membership: Membership, patient_id: int | str) -> Json:
    """GET Patient/{id}: the patient of the membership's clinic (read-audited), 404 for anyone else's."""
    patient = get_patient(membership, patient_id, Capability.VIEW_DEMOGRAPHICS)
    return mapping.patient_resource(patient_data(patient))


def shown(returned: int, total: int) -> str:
    """How many a search returned, for the audit trail: "3", or "50 of 114" when it was one page of more."""
    return str(returned) if returned == total else f"{returned} of {total}"


def search_by_patient(
    membership: Membership,
    resource_type: str,
    patient_id: int | str,
    page: Page = ONE_PAGE,
    query: Query | None = None,
) -> tuple[list[Json], int]:
    """GET {type}?patient={id}: one page of the patient's resources of one clinical type that meet the query's
    other criteria, and how many there are in all, recorded as one search."""
    require(membership, Capability.VIEW_CLINICAL)
    patient = get_patient(membership, patient_id, Capability.VIEW_CLINICAL)
    every = clinical_resources(membership, [patient.pk], (resource_type,))[resource_type]
    terms = ""
    if query is not None:
        every = [r for r in every if query.matches(r)]
        others = sorted({c.param.name for c in query.criteria} - {"patient"})
        terms = "".join(f"&{name}" for name in others)
    start, stop = page.window(len(every))
    found = every[start:stop]
    searched(
        found,
        f"FHIR {resource_type}?patient={patient.pk}{terms}: {shown(len(found), len(every))} returned",
        object_type=f"fhir.{resource_type}",
        patient_id=patient.pk,
        clinic_id=patient.clinic_id,
    )
    return found, len(every)


def search_questionnaires(membership: Membership, query: Query, page: Page = ONE_PAGE) -> tuple[list[Json], int]:
    """GET Questionnaire: the clinic's instruments as Questionnaires (no patient data: any member may search)."""
    every = [mapping.questionnaire_resource(q) for q in _questionnaires(membership.clinic_id).values()]
    every = [r for r in every if query.matches(r)]
    start, stop = page.window(len(every))
    return every[start:stop], len(every)


def questionnaire(membership: Membership, resource_id: str) -> Json:
    """GET Questionnaire/{id}: one instrument (its code in lower case) with the clinic's current wording."""
    try:
        defn = instrument(resource_id) if resource_id == resource_id.lower() else None
    except ScoringError:
        defn = None
    if defn is None:
        raise Http404("Not found")
    entry = current_wording_entry(membership.clinic_id, defn.code)
    return mapping.questionnaire_resource(questionnaire_data(defn, entry))


def _care_dates(resource: Json) -> tuple[str, str]:
    """The first and last day of care a resource records (YYYY-MM-DD): a Condition spans its onset to its
    abatement (still open: no end); the others happened on one day."""
    if resource["resourceType"] == "Condition":
        # A reported condition may have no onset: it is taken as having been there all along.
        return resource.get("onsetDateTime", "0000-01-01")[:10], resource.get("abatementDateTime", "9999-12-31")[:10]
    for key in ("performedDateTime", "effectiveDateTime", "dateTime", "date", "authored"):
        if key in resource:
            return resource[key][:10], resource[key][:10]
    return "0000-01-01", "9999-12-31"


def in_care_period(resource: Json, start: date | None, end: date | None) -> bool:
    """Whether a resource's care dates meet the period [start, end] ($everything's start and end)."""
    first, last = _care_dates(resource)
    return (start is None or last >= start.isoformat()) and (end is None or first <= end.isoformat())


def everything(
    membership: Membership,
    patient_id: int | str,
    page: Page = WHOLE_RECORD,
    start: date | None = None,
    end: date | None = None,
) -> tuple[list[Json], int]:
    """Patient/{id}/$everything: the Patient, then every clinical resource the role may read whose care falls
    in [start, end]; one page of them and how many there are in all."""
    patient = get_patient(membership, patient_id, Capability.VIEW_DEMOGRAPHICS)
    every = [r for r in whole_record(membership, patient) if in_care_period(r, start, end)]
    first, stop = page.window(len(every))
    found = every[first:stop]
    audit.record(
        "export",
        patient,
        summary=f"FHIR Patient/$everything: {shown(len(found), len(every))} resources",
        object_type="fhir.Patient.everything",
    )
    return found, len(every)


def whole_record(membership: Membership, patient: Patient) -> list[Json]:
    """The Patient, then every clinical resource of the patient the role may read, in ``CLINICAL_TYPES`` order:
    kept in the shared cache while nothing of it was written (``patients.page.stored_data``; ``RECORD_ROWS`` and
    ``RECORD_CLINIC_ROWS`` name what it shows besides the patient page's own rows). The care period is applied to
    it, not kept in it: the Patient's care dates span every period."""

    def work_out() -> dict[str, Any]:
        resources = [mapping.patient_resource(patient_data(patient))]
        if membership.can(Capability.VIEW_CLINICAL):
            for listed in clinical_resources(membership, [patient.pk]).values():
                resources += listed
        return {"resources": resources}

    key = f"fhir-record:{RECORD_FORMAT}:{patient.pk}"
    resources: list[Json] = stored_data(membership, patient.pk, key, work_out, shape=("resources",))["resources"]
    return resources


def read(membership: Membership, resource_type: str, resource_id: str) -> Json:
    """GET {type}/{id} of any supported type, through ``get_patient``/``get_record`` (read-audited)."""
    if resource_type == "Patient":
        return patient_resource(membership, resource_id)
    if resource_type == "Questionnaire":
        return questionnaire(membership, resource_id)
    if resource_type == "Practitioner":
        return practitioners.read(membership, resource_id)
    require(membership, Capability.VIEW_CLINICAL)
    received = _RECEIVED_ID.match(resource_id)
    if received and resource_type in CLINICAL_TYPES:
        return _read_received(membership, resource_type, received.group(1))
    if resource_type == "Condition" and _REPORTED_ID.match(resource_id):
        reported = ReportedCondition.objects.select_related("imported_by__user")
        found = get_record(membership, reported, resource_id.removeprefix("reported-"))
        return mapping.reported_condition_resource(reported_condition_data(found))
    if resource_type == "Condition":
        episode = get_record(membership, Episode.objects.select_related("opened_by__user"), resource_id)
        return mapping.condition_resource(episode_data(episode))
    if resource_type == "Consent":
        related = Consent.objects.select_related("text", "clinic", "patient", "recorded_by__user")
        return mapping.consent_resource(consent_data(get_record(membership, related, resource_id)))
    if resource_type == "Procedure":
        visit = get_record(membership, _procedure_queryset(membership), resource_id)
        return mapping.procedure_resource(procedure_data(visit))
    if resource_type == "AdverseEvent":
        event = get_record(membership, AdverseEvent.objects.select_related("recorded_by__user"), resource_id)
        return mapping.adverse_event_resource(adverse_event_data(event, _procedure_ids(membership, [event.patient_id])))
    if resource_type == "Observation":
        return _read_observation(membership, resource_id)
    if resource_type == "QuestionnaireResponse":
        return _read_response(membership, resource_id)
    raise Http404("Not found")


def _read_received(membership: Membership, resource_type: str, key: str) -> Json:
    """GET {type}/received-{key}: a record another clinic made, kept as received (404 for another clinic's)."""
    of_type = ReceivedRecord.objects.filter(resource_type=resource_type)
    pk = of_type.filter(key=key).values_list("pk", flat=True).first()
    if pk is None:
        raise Http404("Not found")
    found = get_record(membership, of_type, pk)
    return mapping.received_resource(found.resource, found.fhir_id, found.imported_at)


def _read_response(membership: Membership, resource_id: str) -> Json:
    prefixed = _PREFIXED_ID.match(resource_id)
    if prefixed is None or prefixed.group(1) != "outcome":
        raise Http404("Not found")
    score = get_record(membership, Observation.objects.select_related("recorded_by__user"), prefixed.group(2))
    if not _has_answers(score):
        raise Http404("Not found")
    form = _questionnaires(membership.clinic_id, {score.instrument.upper()})[score.instrument.upper()]
    return mapping.questionnaire_response_resource(response_data(score, form))


def _read_observation(membership: Membership, resource_id: str) -> Json:
    pain = _VISIT_PAIN_ID.match(resource_id)
    if pain:
        visit = get_record(membership, Visit.objects.filter(signed_at__isnull=False), pain.group(1))
        which = pain.group(2)
        if getattr(visit, f"pain_{which}") is None:
            raise Http404("Not found")
        return mapping.score_observation(visit_pain_data(visit, which, _procedure_ids(membership, [visit.patient_id])))
    prefixed = _PREFIXED_ID.match(resource_id)
    if prefixed is None:
        raise Http404("Not found")
    kind, pk = prefixed.groups()
    if kind == "rom":
        return mapping.rom_observation(rom_data(get_record(membership, RomMeasurement.objects.all(), pk)))
    score = get_record(membership, Observation.objects.select_related("recorded_by__user"), pk)
    return mapping.score_observation(score_data(score, _procedure_ids(membership, [score.patient_id])))


def export_resources(
    membership: Membership, patients: Sequence[Patient], types: tuple[str, ...]
) -> dict[str, list[Json]]:
    """A bulk export's resources of some patients of the membership's clinic (a few hundred at a time: one query
    per type for all of them), by type (only ``types``): the same resources the reads give. Not audited here: the
    export job records its run in each patient's trail, and one entry per file downloaded."""
    if any(p.clinic_id != membership.clinic_id for p in patients):
        raise Http404("Not found")
    ids = [p.pk for p in patients]
    found: dict[str, list[Json]] = {}
    if "Patient" in types:
        require(membership, Capability.VIEW_DEMOGRAPHICS)
        found["Patient"] = [mapping.patient_resource(patient_data(p)) for p in patients]
    if ids:
        found.update(clinical_resources(membership, ids, [t for t in CLINICAL_TYPES if t in types]))
    return found
