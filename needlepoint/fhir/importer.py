"""Importing a transaction Bundle: one new patient (and their death, when the Patient says they died), the
conditions its record reports, one episode of care, its plain 0-10 pain ratings, and the other clinic's records
kept as received. All or nothing.

The plan comes from ``needlepoint.fhir.incoming`` (pure); the writes go through the apps' actions
(``register_patient``, ``keep_identifiers`` for the sender's identifiers, ``record_reported_conditions``,
``open_episode``, ``record_questionnaire`` for the NPRS, ``keep_received_records`` for the records kept as
received, their references rewritten to what this server stored each entry as), in one transaction, so any
refusal leaves the database as it was. The episode is for the condition the caller names;
else for the one active ICD-10-CM coded Condition the plan chose (``incoming.choose_episode``); else the default
("other", ICD-10-CM M79.10 myalgia, unspecified site, not sided), and the answer says why. The first imported
rating is its baseline.

Conditional create (the Patient entry's ``request.ifNoneExist``, ``identifier=system|value``: the search the
server does for ``GET Patient?identifier=``, ``patient_search.matching``, within the clinic and the caller's
access): no match, the import goes on as above; several, the transaction fails with 412 and nothing is written
(R4: "multiple matches ... the server returns a 412 Precondition Failed"). One match: R4 has the server skip the
create and answer 200 OK with the existing resource's location. That is what happens when nothing else in the bundle
would be written to that chart (its other entries are all of types not imported, and any death it reports is
already recorded). When the bundle also carries pain ratings, Conditions or records to keep as received, or a death
the chart lacks, the whole
transaction is refused (409) naming the existing patient: they came with a Patient the server did not create, so
keeping them would add another system's records to an existing chart without a clinician looking at them, and
dropping them would lose them without the sender knowing. The sender can then send the Patient alone, or a
clinician adds what is missing on the chart. The search is recorded in the audit trail (it tells the caller the
patient exists), without the identifier's value (it may be a Social Security number).

The search and the create are one transaction, serialised per clinic by the clinic's row (locked first, as the
MRN counter is): two conditional imports of the same identifier at once cannot both find no one and both create;
the second waits, then finds the first's patient. Every import takes that lock before it looks for the same name
and birth date, so two plain imports of one person at once give one patient and one 409. A refusal of a
conditional create (409, 412, or a refusal of the write) rolls the write back but keeps the search's audit entry:
the transaction commits with that entry alone, and the refusal is raised after it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from needlepoint.accounts.access import require, searched
from needlepoint.accounts.models import Clinic, Membership
from needlepoint.accounts.roles import Capability
from needlepoint.fhir import patient_search, records, search
from needlepoint.fhir.incoming import BundleRejected, ImportPlan, plan_import
from needlepoint.fhir.mapping import Issue, Json
from needlepoint.fhir.transaction_bundle import entry_index, entry_path, rewrite_references, transaction_response
from needlepoint.outcomes import actions as outcome_actions
from needlepoint.outcomes.models import Observation, Source, TimePoint
from needlepoint.outcomes.plans import PAIN_INSTRUMENT
from needlepoint.patients import actions as patient_actions
from needlepoint.patients.models import Episode, Patient, ReceivedRecord, ReportedCondition, normalise_name
from needlepoint.patients.received_records import ReceivedRecordData

DEFAULT_CONDITION = ("other", "M79.10", "central")
IDENTIFIER_SOURCE = "FHIR import"


@dataclass(frozen=True)
class ImportResult:
    """What one import created, the issues to report (ignored entries, roundings, identifiers), and the
    transaction-response Bundle that answers the request (``response``)."""

    patient: Patient
    episode: Episode | None
    observations: tuple[Observation, ...]
    created: tuple[Issue, ...]
    plan: ImportPlan
    response: Json


def _created(resource_type: str, resource_id: object, words: str, entry: int) -> Issue:
    """The issue reporting a resource the import created, located at the entry it answers: its reference is
    the entry's location in the transaction-response."""
    reference = f"{resource_type}/{resource_id}"
    said = f"Created {reference} {words}." if words else f"Created {reference}."
    return Issue("information", "informational", said, (f"Bundle.entry[{entry}]",), created=reference)


def _stored_versions(membership: Membership, patient: Patient, created: list[Issue]) -> dict[str, Json]:
    """The meta (versionId, lastUpdated) of each created resource, as a read of it gives them: the reads' own
    mapping, not audited (the import is its one audit entry)."""
    types = tuple(sorted({issue.created.split("/")[0] for issue in created}))
    found = records.export_resources(membership, [patient], types)
    return {f"{r['resourceType']}/{r['id']}": r["meta"] for resources in found.values() for r in resources}


def _refuse_duplicate(membership: Membership, plan: ImportPlan) -> None:
    data = plan.demographics
    search_name = normalise_name(f"{data['family_name']} {data['given_name']}")
    existing = Patient.objects.filter(
        clinic_id=membership.clinic_id, search_name=search_name, date_of_birth=data["date_of_birth"]
    ).first()
    if existing is not None:
        raise BundleRejected(
            [
                Issue(
                    "error",
                    "duplicate",
                    f"This clinic already has {existing.full_name}, born {existing.date_of_birth}, as MRN "
                    f"{existing.mrn}; nothing was imported.",
                    (f"Bundle.entry[{plan.patient_entry}]",),
                )
            ],
            status=409,
        )


def _open_episode(
    membership: Membership, patient: Patient, plan: ImportPlan, condition: tuple[str, str, str]
) -> Episode:
    """The import's episode of care, opened through ``open_episode`` and dated from the first reading
    (``record_questionnaire`` refuses a rating dated before its episode opened, and imported ratings are history).
    """
    first = plan.readings[0].at
    code, icd10, side = condition
    episode = patient_actions.open_episode(
        membership,
        patient,
        {
            "condition": code,
            "icd10_code": icd10,
            "side": side,
            "onset_date": timezone.localdate(first),
            "goals": "",
        },
        opened_at=min(first, timezone.now()),
    )
    return episode


def import_bundle(
    membership: Membership,
    bundle: object,
    *,
    condition: tuple[str, str, str] | None = None,
    now: datetime | None = None,
) -> ImportResult:
    """Import a transaction Bundle's Patient, Conditions and pain Observations as a new patient with the conditions
    its record reports and an episode of care. ``condition`` names the episode's condition (else the bundle's
    Conditions choose it, else the default; see the module).

    Raises ``BundleRejected`` (nothing written) for a bundle that cannot be imported, and lets the actions'
    ``ValidationError`` through (the transaction is rolled back) for values they refuse.
    """
    # Checked before the transaction opens, so a refusal's own audit entry is not rolled back with it.
    require(membership, Capability.EDIT_DEMOGRAPHICS)
    keeps = membership.clinic.keep_social_security_numbers
    plan = plan_import(
        bundle, now or timezone.now(), keeps_social_security_numbers=keeps, clinic_zone=timezone.get_current_timezone()
    )
    if plan.readings or plan.conditions or plan.kept:
        require(membership, Capability.EDIT_CLINICAL)
    if condition is None:
        plan, condition = _episode_condition(plan)
    if not plan.if_none_exist:
        return _write(membership, plan, condition)
    # The answer names the patient found (name, birth date, MRN): only a role that may read patients may ask.
    require(membership, Capability.VIEW_DEMOGRAPHICS)
    outcome = _create_if_none_exist(membership, plan, condition)
    if isinstance(outcome, ImportResult):
        return outcome
    raise outcome  # after the commit: the search's audit entry stays, nothing else was written


@transaction.atomic
def _create_if_none_exist(
    membership: Membership, plan: ImportPlan, condition: tuple[str, str, str]
) -> ImportResult | BundleRejected | ValidationError:
    """The conditional create in one transaction: the clinic's row locked, the search, then the answer for the
    patient found or the import. A refusal is returned, not raised, so that the transaction commits the search's
    audit entry (the write, in a savepoint of its own, is already rolled back); the caller raises it."""
    _lock_clinic(membership)
    try:
        existing = _conditional_match(membership, plan)
        if existing is not None:
            return _already_registered(membership, plan, existing)
        note = Issue(
            "information",
            "informational",
            "No patient of this clinic has the identifier ifNoneExist names, so the Patient was created.",
            (f"Bundle.entry[{plan.patient_entry}].request.ifNoneExist",),
        )
        return _write(membership, replace(plan, notes=(note, *plan.notes)), condition)
    except (BundleRejected, ValidationError) as refusal:
        return refusal


def _lock_clinic(membership: Membership) -> None:
    """Hold the clinic's row until the transaction ends: imports into one clinic go one at a time (the lock the
    MRN counter takes, taken first; on SQLite the immediate transaction already lets one writer in)."""
    Clinic.objects.select_for_update(no_key=True).get(pk=membership.clinic_id)


MATCHES_NAMED = 5  # a 412 names this many of the patients the search found


def _conditional_match(membership: Membership, plan: ImportPlan) -> Patient | None:
    """The one patient of the clinic the Patient entry's ifNoneExist finds, or None; several refuse the bundle (412).
    The search is audited as a FHIR Patient search, without the values searched for."""
    query = search.parse("Patient", [("identifier", f"{system}|{value}") for system, value in plan.if_none_exist])
    found = list(patient_search.matching(membership, query).order_by("pk")[: MATCHES_NAMED + 1])
    summary = f"FHIR conditional create (ifNoneExist by identifier): {len(found)} patient(s) found"
    searched(found, summary, object_type="fhir.Patient")
    if len(found) <= 1:
        return found[0] if found else None
    named = ", ".join(f"Patient/{p.pk} (MRN {p.mrn})" for p in found[:MATCHES_NAMED])
    more = " and more" if len(found) > MATCHES_NAMED else ""
    message = (
        f"The Patient's ifNoneExist matches several patients of this clinic: {named}{more}. A conditional create "
        "needs at most one match; nothing was imported."
    )
    where = (f"Bundle.entry[{plan.patient_entry}].request.ifNoneExist",)
    raise BundleRejected([Issue("error", "multiple-matches", message, where)], status=412)


def _not_for_an_existing_chart(plan: ImportPlan, existing: Patient) -> list[str]:
    """What the bundle would write beyond the Patient (the conditional create's match already has a chart)."""
    held = []
    if plan.conditions:
        held.append(f"{len(plan.conditions)} Condition(s)")
    if plan.readings:
        held.append(f"{len(plan.readings)} pain rating(s)")
    if plan.kept:
        held.append(f"{len(plan.kept)} record(s) another clinic made, to keep as received")
    if plan.demographics.get("deceased") and not existing.deceased:
        held.append("a death the chart does not record")
    return held


def _already_registered(membership: Membership, plan: ImportPlan, existing: Patient) -> ImportResult:
    """The answer when ifNoneExist finds one patient: 200 OK with their location and nothing written, or a 409
    refusal naming them when the bundle holds more for their chart (see the module)."""
    where = (f"Bundle.entry[{plan.patient_entry}].request.ifNoneExist",)
    who = f"{existing.full_name}, born {existing.date_of_birth}, MRN {existing.mrn} (Patient/{existing.pk})"
    held = _not_for_an_existing_chart(plan, existing)
    if held:
        message = (
            f"The Patient's ifNoneExist matches {who}, so no new patient is created; the bundle also holds "
            f"{' and '.join(held)}, which an import does not add to an existing chart: nothing was imported. "
            "Send the Patient alone, or record these on the chart."
        )
        raise BundleRejected([Issue("error", "duplicate", message, where)], status=409)
    note = Issue(
        "information",
        "informational",
        f"Not created: the Patient's ifNoneExist matches {who}; nothing was written (conditional create).",
        where,
    )
    reference = f"Patient/{existing.pk}"
    found = records.export_resources(membership, [existing], ("Patient",))
    stored = {reference: found["Patient"][0]["meta"]}
    response = transaction_response(
        plan.entry_types, [note, *plan.ignored], stored, found={plan.patient_entry: reference}
    )
    return ImportResult(existing, None, (), (), plan, response)


def _episode_condition(plan: ImportPlan) -> tuple[ImportPlan, tuple[str, str, str]]:
    """The episode's condition when the caller named none: the plan's choice, or the default; the plan's notes
    then say which and why (only when an episode is opened, that is when there are pain ratings)."""
    choice = plan.episode_choice
    if choice is None or not plan.readings:
        return plan, choice.condition if choice is not None and choice.condition else DEFAULT_CONDITION
    if choice.condition is not None:
        # The episode answers no entry of its own: a note without a Condition's entry goes with the Patient's.
        where = (f"Bundle.entry[{plan.patient_entry if choice.entry is None else choice.entry}]",)
        note = Issue("information", "informational", choice.reason, where)
        return replace(plan, notes=(*plan.notes, note)), choice.condition
    name, icd10, _ = DEFAULT_CONDITION
    note = Issue(
        "information",
        "informational",
        f"The episode's condition is the default ({name}, {icd10}): {choice.reason}.",
        (f"Bundle.entry[{plan.patient_entry}]",),
    )
    return replace(plan, notes=(*plan.notes, note)), DEFAULT_CONDITION


def _keep_conditions(membership: Membership, patient: Patient, plan: ImportPlan) -> list[Issue]:
    """Keep the bundle's Conditions as reported conditions of the new patient; one message per Condition kept."""
    if not plan.conditions:
        return []
    kept: list[ReportedCondition] = patient_actions.record_reported_conditions(
        membership, patient, [c.data for c in plan.conditions], plan.source
    )
    return [
        _created("Condition", f"reported-{row.pk}", "", c.entry) for c, row in zip(plan.conditions, kept, strict=True)
    ]


def _keep_received(
    membership: Membership, patient: Patient, plan: ImportPlan, created: list[Issue], noted: list[Issue]
) -> list[Issue]:
    """Keep the plan's records as received (``keep_received_records``), their references rewritten to what
    this server stored each entry as: the new Patient, the reported conditions, the ratings (``created`` names
    them) and the kept records themselves, whose ids (``received-<patient>-<entry>``) are known before they are
    written. A reference to an entry not stored is noted in ``noted``. One message per record kept."""
    stored: dict[int, str] = {}
    for issue in created:
        index = entry_index(issue)
        if issue.created and index is not None:
            stored[index] = issue.created
    stored[plan.patient_entry] = f"Patient/{patient.pk}"  # the episode is reported on the Patient's entry too
    keys = {k.entry: f"{patient.pk}-{k.entry}" for k in plan.kept}
    stored |= {k.entry: f"{k.resource_type}/received-{keys[k.entry]}" for k in plan.kept}
    received = []
    for k in plan.kept:
        where = f"Bundle.entry[{k.entry}].resource"
        resource, lost = rewrite_references(k.resource, where, plan.targets, stored, plan.entry_types)
        noted += [
            Issue(
                "information",
                "informational",
                f"Not kept: the reference at {path} to Bundle.entry[{entry}] ({plan.entry_types[entry]}), which "
                "is not stored; the record keeps its type and display.",
                entry_path(k.entry, path.removeprefix(f"Bundle.entry[{k.entry}].")),
            )
            for path, entry in lost
        ]
        received.append(ReceivedRecordData(k.resource_type, keys[k.entry], resource, k.source_reference))
    rows: list[ReceivedRecord] = patient_actions.keep_received_records(membership, patient, received, plan.source)
    return [
        _created(row.resource_type, row.fhir_id, "(kept as received)", k.entry)
        for k, row in zip(plan.kept, rows, strict=True)
    ]


@transaction.atomic
def _write(membership: Membership, plan: ImportPlan, condition: tuple[str, str, str]) -> ImportResult:
    # Before the check for the same name and birth date, so that two imports of one person at once do not both
    # pass it (a conditional create holds the lock already, since before its search).
    _lock_clinic(membership)
    _refuse_duplicate(membership, plan)
    # The same name and birth date were refused just above with the bundle's own 409; a phone shared with
    # another patient (a family's) does not stop an import, so the registration's own check is passed.
    # The patient's creation is the import's one audit entry (one event, one entry), so it says what came in.
    described = (
        f"FHIR import: patient, {len(plan.conditions)} condition(s), {len(plan.readings)} pain rating(s), "
        f"{len(plan.ignored)} entries ignored"
    )
    if plan.kept:
        described += f", {len(plan.kept)} record(s) kept as received"
    demographics = {k: v for k, v in plan.demographics.items() if k in patient_actions.DEMOGRAPHIC_FIELDS}
    patient = patient_actions.register_patient(
        membership, demographics, confirm_duplicate=True, summary=described, object_type="fhir.Bundle"
    )
    if plan.identifiers:
        patient_actions.keep_identifiers(membership, patient, list(plan.identifiers), source=IDENTIFIER_SOURCE)
    created = [
        _created("Patient", patient.pk, f"(MRN {patient.mrn})", plan.patient_entry),
    ]
    created += _keep_conditions(membership, patient, plan)
    episode = None
    observations: list[Observation] = []
    if plan.readings:
        episode = _open_episode(membership, patient, plan, condition)
        # The episode answers no entry of its own: it is reported with the Patient it was opened for.
        words = f"({episode.condition_label}, {episode.icd10_code}), the episode of care the pain ratings are in"
        created.append(_created("Condition", episode.pk, words, plan.patient_entry))
        for position, reading in enumerate(plan.readings):
            observation = outcome_actions.record_questionnaire(
                membership,
                episode,
                PAIN_INSTRUMENT,
                {"pain": reading.rating},
                time_point=TimePoint.BASELINE if position == 0 else TimePoint.REASSESSMENT,
                observed_at=reading.at,
                source=Source.PATIENT,  # LOINC 72514-3 is the patient's reported rating
            )
            observations.append(observation)
            created.append(_created("Observation", f"outcome-{observation.pk}", "", reading.entry))
    noted: list[Issue] = []
    if plan.kept:
        created += _keep_received(membership, patient, plan, created, noted)
    if plan.demographics.get("deceased"):
        # Recorded last, through the one action that records a death, so the history above is stored first.
        died = plan.demographics.get("deceased_date")
        patient = patient_actions.record_death(membership, patient.pk, died, patient.version).patient
        noted.append(
            Issue(
                "information",
                "informational",
                f"Recorded Patient/{patient.pk} as {patient.deceased_notice.lower()}.",
                (f"Bundle.entry[{plan.patient_entry}]",),
            )
        )
    issues = [*created, *noted, *plan.notes, *plan.ignored]
    # Built before the transaction commits: an answer that cannot be given undoes the import.
    response = transaction_response(plan.entry_types, issues, _stored_versions(membership, patient, created))
    return ImportResult(patient, episode, tuple(observations), tuple(created), plan, response)
