"""Fixtures of the FHIR tests: the R4 reference data in tests/data, the structural validator, and a
patient with a full record made through the real actions (no mocks, a real database)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from needlepoint.accounts.actions import create_api_token
from needlepoint.outcomes import actions as outcome_actions
from needlepoint.outcomes.scoring import instrument
from needlepoint.patients import actions as patient_actions
from needlepoint.patients.consent import current_consent_text
from needlepoint.patients.models import Consent, Episode, Patient
from needlepoint.patients.reported_conditions import ReportedConditionData
from needlepoint.visits import actions as visit_actions
from needlepoint.visits.models import AdverseEvent, Visit
from tests.fhir.structural.validator import Validator, read_json
from tests.visits.visit_helpers import open_neck_episode, signed_visit

DATA = Path(__file__).resolve().parents[1] / "data"
EXAMPLES = DATA / "fhir-r4-examples"
DEFINITIONS = EXAMPLES / "structuredefinitions-r4"
SYNTHEA = DATA / "synthea"


def example(name: str) -> dict[str, Any]:
    """One official R4 example resource, e.g. ``Patient-example``."""
    return json.loads((EXAMPLES / f"{name}.json").read_text(encoding="utf-8"))


def synthea_files() -> list[Path]:
    """The Synthea transaction bundles (gzip-compressed JSON)."""
    return sorted(SYNTHEA.glob("*_*.json.gz"))


def synthea_bundle(path: Path) -> dict[str, Any]:
    """One Synthea transaction bundle."""
    return read_json(path)


def post_bundle(client: Client, bundle: Any, query: str = "") -> Any:
    """POST a transaction Bundle (a dict, or a body already serialised) to the FHIR base, as a FHIR client does."""
    body = bundle if isinstance(bundle, str) else json.dumps(bundle)
    return client.post(
        "/fhir/R4" + query, body, content_type="application/fhir+json", HTTP_ACCEPT="application/fhir+json"
    )


def import_messages(response: Any) -> list[tuple[str, str]]:
    """(severity, diagnostics) of every message an import answered with: what was created, noted, ignored or
    refused. Tests read an import's answer through this one function, so they do not depend on its shape."""
    body = response.json()
    if body.get("resourceType") == "Bundle":  # a transaction-response: each entry's outcome, in entry order
        outcomes = [e["response"]["outcome"] for e in body.get("entry", []) if "outcome" in e.get("response", {})]
    else:  # a refusal: one OperationOutcome
        outcomes = [body]
    return [(issue["severity"], issue.get("diagnostics", "")) for o in outcomes for issue in o.get("issue", [])]


@pytest.fixture(scope="session")
def validator() -> Validator:
    return Validator(DEFINITIONS)


def token_client(membership) -> Client:
    """A client that authenticates with a new personal API token of ``membership``."""
    _, raw = create_api_token(membership, "fhir test")
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


@dataclass
class Record:
    """A patient's record covering every resource type the FHIR endpoints show."""

    patient: Patient
    neck: Episode  # open, right side
    back: Episode  # discharged, goals met
    visit: Visit  # signed, three muscles needled, pain 6 -> 3
    event: AdverseEvent
    withdrawn: Consent
    current: Consent


@pytest.fixture
def record(clinician, cleared_patient) -> Record:
    patient = cleared_patient
    neck = open_neck_episode(clinician, patient)
    # Half an hour ago, but never before today's midnight: the searches by date expect today's visit.
    started = max(timezone.now() - timedelta(minutes=30), timezone.localtime().replace(hour=0, minute=0, second=0))
    visit = visit_actions.start_visit(clinician, neck, {"started_at": started, "pain_before": 6, "pain_after": 3})
    visit = signed_visit(clinician, visit)
    event = visit_actions.record_adverse_event(
        clinician,
        visit.pk,
        {
            "event_type": "bruising",
            "severity": "mild",
            "description": "Small bruise over infraspinatus",
            "onset_at": max(timezone.now() - timedelta(minutes=5), started),  # not before the visit, after midnight
            "action_taken": "Pressure applied for one minute",
            "outcome": "resolved",
            "follow_up_due": None,
        },
    )
    outcome_actions.record_pain(clinician, neck, 5, time_point="baseline")
    ndi = instrument("NDI")
    outcome_actions.record_questionnaire(clinician, neck, "NDI", {i.id: 1 for i in ndi.items}, time_point="baseline")
    outcome_actions.record_rom(
        clinician,
        neck,
        joint="cervical_spine",
        movement="rotation",
        side="left",
        degrees=55,
        method="crom",
        time_point="baseline",
    )
    back = patient_actions.open_episode(
        clinician,
        patient,
        {"condition": "low_back_pain", "icd10_code": "M54.50", "side": "central", "onset_date": neck.onset_date},
    )
    back = patient_actions.discharge_episode(clinician, back, timezone.localdate(), "goals_met")
    withdrawn = Consent.objects.get(patient=patient)
    withdrawn = patient_actions.withdraw_consent(clinician, withdrawn, "Wants to think it over")
    text = current_consent_text(patient.clinic)
    current = patient_actions.record_consent(clinician, patient, patient.full_name, text.version)
    return Record(patient, neck, back, visit, event, withdrawn, current)


@pytest.fixture
def full_record(record, clinician):
    """``record``, with a condition another record reported (kept in A as ``reported-<pk>``)."""
    patient_actions.record_reported_conditions(
        clinician,
        record.patient,
        [
            ReportedConditionData(
                system="http://snomed.info/sct",
                code="38341003",
                display="Hypertensive disorder",
                codings=({"system": "http://snomed.info/sct", "code": "38341003", "display": "Hypertensive disorder"},),
                clinical_status="active",
                verification_status="confirmed",
                onset="2019-04-02",
            )
        ],
        "Example Hospital",
    )
    return record
