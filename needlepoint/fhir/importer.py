"""Importing a transaction Bundle: one new patient (and their death, when the Patient says they died), one episode
of care, its 0-10 pain ratings. All or nothing.

The plan comes from ``needlepoint.fhir.incoming`` (pure); the writes go through the apps' actions
(``register_patient``, ``open_episode``, ``record_questionnaire`` for the NPRS), in one transaction, so any
refusal leaves the database as it was. The episode is for the condition the caller names (default "other",
ICD-10-CM M79.10 myalgia, unspecified site, not sided), with the first imported rating as its baseline.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from needlepoint.accounts import audit
from needlepoint.accounts.access import require
from needlepoint.accounts.models import Membership
from needlepoint.accounts.roles import Capability
from needlepoint.fhir.incoming import BundleRejected, ImportPlan, plan_import
from needlepoint.fhir.mapping import Issue
from needlepoint.outcomes import actions as outcome_actions
from needlepoint.outcomes.models import Observation, Source, TimePoint
from needlepoint.outcomes.plans import PAIN_INSTRUMENT
from needlepoint.patients import actions as patient_actions
from needlepoint.patients.models import Episode, Patient, normalise_name

DEFAULT_CONDITION = ("other", "M79.10", "central")


@dataclass(frozen=True)
class ImportResult:
    """What one import created, and the issues to report (ignored entries, roundings, identifiers)."""

    patient: Patient
    episode: Episode | None
    observations: tuple[Observation, ...]
    created: tuple[Issue, ...]
    plan: ImportPlan


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
    condition: tuple[str, str, str] = DEFAULT_CONDITION,
    now: datetime | None = None,
) -> ImportResult:
    """Import a transaction Bundle's Patient and pain Observations as a new patient and episode of care.

    Raises ``BundleRejected`` (nothing written) for a bundle that cannot be imported, and lets the actions'
    ``ValidationError`` through (the transaction is rolled back) for values they refuse.
    """
    # Checked before the transaction opens, so a refusal's own audit entry is not rolled back with it.
    require(membership, Capability.EDIT_DEMOGRAPHICS)
    plan = plan_import(bundle, now or timezone.now())
    if plan.readings:
        require(membership, Capability.EDIT_CLINICAL)
    return _write(membership, plan, condition)


@transaction.atomic
def _write(membership: Membership, plan: ImportPlan, condition: tuple[str, str, str]) -> ImportResult:
    _refuse_duplicate(membership, plan)
    # The same name and birth date were refused just above with the bundle's own 409; a phone shared with
    # another patient (a family's) does not stop an import, so the registration's own check is passed.
    # The patient's creation is the import's one audit entry (one event, one entry), so it says what came in.
    described = f"FHIR import: patient, {len(plan.readings)} pain rating(s), {len(plan.ignored)} entries ignored"
    demographics = {k: v for k, v in plan.demographics.items() if k in patient_actions.DEMOGRAPHIC_FIELDS}
    with audit.describing(described, object_type="fhir.Bundle"):
        patient = patient_actions.register_patient(membership, demographics, confirm_duplicate=True)
    created = [
        Issue(
            "information",
            "informational",
            f"Created Patient/{patient.pk} (MRN {patient.mrn}).",
            (f"Bundle.entry[{plan.patient_entry}]",),
        )
    ]
    episode = None
    observations: list[Observation] = []
    if plan.readings:
        episode = _open_episode(membership, patient, plan, condition)
        created.append(
            Issue(
                "information",
                "informational",
                f"Created Condition/{episode.pk} ({episode.condition_label}, {episode.icd10_code}).",
            )
        )
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
            created.append(
                Issue(
                    "information",
                    "informational",
                    f"Created Observation/outcome-{observation.pk}.",
                    (f"Bundle.entry[{reading.entry}]",),
                )
            )
    if plan.demographics.get("deceased"):
        # Recorded last, through the one action that records a death, so the history above is stored first.
        died = plan.demographics.get("deceased_date")
        patient = patient_actions.record_death(membership, patient.pk, died, patient.version).patient
        created.append(
            Issue(
                "information",
                "informational",
                f"Recorded Patient/{patient.pk} as {patient.deceased_notice.lower()}.",
                (f"Bundle.entry[{plan.patient_entry}]",),
            )
        )
    return ImportResult(patient, episode, tuple(observations), tuple(created), plan)
