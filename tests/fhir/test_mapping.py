"""Each resource we emit, from a record made through the real actions: its content, and that it passes the
structural validator (the core R4 StructureDefinitions) without an error."""

from __future__ import annotations

import base64
from datetime import UTC, date, datetime

import pytest

from needlepoint.fhir import codes, mapping, records
from tests.fhir.conftest import Record
from tests.fhir.structural.validator import describe

pytestmark = pytest.mark.django_db


def codings(concept: dict, system: str) -> list[str]:
    return [c["code"] for c in concept.get("coding", []) if c["system"] == system]


def by_id(resources: list[dict], resource_id: str) -> dict:
    return next(r for r in resources if r["id"] == resource_id)


def test_every_resource_of_a_full_record_is_structurally_valid(clinician, record: Record, validator) -> None:
    everything, _ = records.everything(clinician, record.patient.pk)
    kinds = sorted({r["resourceType"] for r in everything})
    assert kinds == [
        "AdverseEvent",
        "Condition",
        "Consent",
        "Observation",
        "Patient",
        "Procedure",
        "QuestionnaireResponse",
    ]
    for resource in everything:
        assert validator.errors(resource) == [], f"{resource['resourceType']}/{resource['id']}:\n" + describe(
            validator.validate(resource)
        )
    bundle = mapping.searchset(
        "http://testserver/fhir/R4", "http://testserver/fhir/R4/Patient/1/$everything", everything
    )
    assert validator.validate(bundle) == []


def test_patient_carries_the_mrn_in_a_clinic_scoped_system(clinician, record: Record) -> None:
    patient = records.patient_resource(clinician, record.patient.pk)
    identifier = patient["identifier"][0]
    assert identifier["system"] == codes.mrn_system("test") == "https://needlepoint.example/fhir/sid/mrn/test"
    assert identifier["value"] == record.patient.mrn
    assert patient["name"] == [{"use": "official", "family": "Doe", "given": ["Jane"]}]
    assert (patient["birthDate"], patient["gender"]) == ("1980-05-17", "female")
    assert patient["meta"]["versionId"] == str(record.patient.version)


def test_patient_telecom_address_and_emergency_contact() -> None:
    data = mapping.PatientData(
        id="7",
        mrn="NP-0000007",
        clinic_slug="north",
        clinic_name="North Clinic",
        given_name="Ana María",
        family_name="López",
        birth_date=date(1990, 2, 3),
        sex="other",
        phone="+1 555 0100",
        email="ana@example.org",
        address="1 Main St, Springfield",
        emergency_contact="Luis López, +1 555 0101",
    )
    patient = mapping.patient_resource(data)
    assert patient["telecom"] == [
        {"system": "phone", "value": "+1 555 0100"},
        {"system": "email", "value": "ana@example.org"},
    ]
    assert patient["address"] == [{"text": "1 Main St, Springfield"}]
    assert patient["contact"][0]["name"] == {"text": "Luis López, +1 555 0101"}
    assert patient["identifier"][0]["system"].endswith("/sid/mrn/north")
    assert "meta" not in patient or "lastUpdated" not in patient["meta"]


def test_an_open_episode_is_an_active_condition_with_icd10_and_side(clinician, record: Record) -> None:
    condition = records.read(clinician, "Condition", str(record.neck.pk))
    assert codings(condition["clinicalStatus"], codes.CONDITION_CLINICAL) == ["active"]
    assert codings(condition["code"], codes.ICD10_CM) == ["M54.2"]
    assert codings(condition["code"], codes.local_system("condition")) == ["neck_pain"]
    assert codings(condition["bodySite"][0], codes.local_system("laterality")) == ["right"]
    # SNOMED CT first (24028007 Right), the local code kept as the second coding.
    assert condition["bodySite"][0]["coding"][0] == {"system": codes.SNOMED, "code": "24028007", "display": "Right"}
    assert condition["onsetDateTime"] == "2024-01-10"
    assert "abatementDateTime" not in condition
    assert condition["subject"] == {"reference": f"Patient/{record.patient.pk}"}


def test_a_discharged_episode_is_resolved_with_the_discharge_date_as_abatement(clinician, record: Record) -> None:
    condition = records.read(clinician, "Condition", str(record.back.pk))
    assert codings(condition["clinicalStatus"], codes.CONDITION_CLINICAL) == ["resolved"]
    assert condition["abatementDateTime"] == record.back.discharge_date.isoformat()
    assert {"text": "Discharged: Goals met"} in condition["note"]


@pytest.mark.parametrize(
    ("reason", "status"), [("goals_met", "resolved"), ("plateau", "inactive"), ("referred_on", "inactive")]
)
def test_discharge_reasons_give_a_status_that_r4_allows_with_an_abatement(reason: str, status: str) -> None:
    episode = mapping.EpisodeData(
        id="1",
        patient_id="2",
        condition="neck_pain",
        condition_label="Neck pain",
        icd10_code="M54.2",
        icd10_label="Cervicalgia",
        side="left",
        onset_date=date(2024, 1, 1),
        status="discharged",
        opened_at=datetime(2024, 1, 2, 9, tzinfo=UTC),
        opened_by="Alice",
        discharge_date=date(2024, 3, 1),
        discharge_reason=reason,
        discharge_reason_label=reason,
    )
    condition = mapping.condition_resource(episode)
    # con-4: an abated condition is inactive, resolved or in remission.
    assert codings(condition["clinicalStatus"], codes.CONDITION_CLINICAL) == [status]
    assert condition["abatementDateTime"] == "2024-03-01"


def test_consent_names_its_text_version_and_a_withdrawal_denies(clinician, record: Record) -> None:
    withdrawn = records.read(clinician, "Consent", str(record.withdrawn.pk))
    current = records.read(clinician, "Consent", str(record.current.pk))
    assert (withdrawn["status"], current["status"]) == ("inactive", "active")
    assert codings(current["scope"], codes.CONSENT_SCOPE) == ["treatment"]
    assert codings(current["category"][0], codes.LOINC) == [codes.CONSENT_LOINC]
    assert current["policy"] == [{"uri": codes.consent_text_uri("test", record.current.text.version)}]
    assert current["provision"]["type"] == "permit"
    assert withdrawn["provision"]["type"] == "deny"
    assert withdrawn["provision"]["period"]["start"] == mapping.fhir_datetime(record.withdrawn.withdrawn_at)
    signed_text = base64.b64decode(current["sourceAttachment"]["data"]).decode()
    assert record.current.text.body in signed_text
    assert "Pneumothorax" in signed_text
    assert current["performer"] == [{"reference": f"Patient/{record.patient.pk}", "display": "Jane Doe"}]


def test_a_signed_needling_visit_is_a_procedure(clinician, record: Record) -> None:
    procedure = records.read(clinician, "Procedure", str(record.visit.pk))
    assert procedure["status"] == "completed"
    assert codings(procedure["code"], codes.CPT) == ["20561"]  # three muscles
    assert codings(procedure["code"], codes.local_system("procedure")) == ["dry-needling"]
    assert procedure["reasonReference"] == [{"reference": f"Condition/{record.neck.pk}"}]
    assert codings(procedure["reasonCode"][0], codes.ICD10_CM) == ["M54.2"]
    muscles = [codings(site, codes.local_system("muscle"))[0] for site in procedure["bodySite"]]
    assert muscles == ["infraspinatus", "deltoid", "teres-minor"]
    sides = [
        codings(site["extension"][0]["valueCodeableConcept"], codes.local_system("laterality"))[0]
        for site in procedure["bodySite"]
    ]
    assert sides == ["right", "right", "right"]
    snomed = [codings(site["extension"][0]["valueCodeableConcept"], codes.SNOMED) for site in procedure["bodySite"]]
    assert snomed == [["24028007"]] * 3
    notes = [n["text"] for n in procedure["note"]]
    assert notes[0].startswith("Needles: 6 opened, 6 inserted, 6 removed, 6 in the sharps container.")
    assert "nothing was injected" in notes[0]
    assert any(
        "Infraspinatus (right) TP1: 2 needles 0.25 × 30 mm" in n and "twitch response: single" in n for n in notes
    )
    assert procedure["performedDateTime"] == mapping.fhir_datetime(record.visit.started_at)
    assert procedure["performer"][0]["actor"]["display"].startswith("Alice")
    assert codings(procedure["complication"][0], codes.local_system("adverse-event-type")) == ["bruising"]


def test_a_visit_without_needling_or_unsigned_is_no_procedure(clinician, record: Record) -> None:
    from needlepoint.visits import actions as visit_actions

    draft = visit_actions.start_visit(clinician, record.neck, {})
    assert [p["id"] for p in records.search_by_patient(clinician, "Procedure", record.patient.pk)[0]] == [
        str(record.visit.pk)
    ]
    from django.http import Http404

    with pytest.raises(Http404):
        records.read(clinician, "Procedure", str(draft.pk))


def test_pain_ratings_are_loinc_72514_3_in_score_units(clinician, record: Record) -> None:
    observations, _ = records.search_by_patient(clinician, "Observation", record.patient.pk)
    pain = [o for o in observations if codings(o["code"], codes.LOINC) == ["72514-3"]]
    assert sorted(o["valueQuantity"]["value"] for o in pain) == [3, 5, 6]
    for o in pain:
        assert o["valueQuantity"] | {} == {
            "value": o["valueQuantity"]["value"],
            "unit": "{score}",
            "system": "http://unitsofmeasure.org",
            "code": "{score}",
        }
    before = by_id(observations, f"visit-{record.visit.pk}-pain-before")
    assert before["partOf"] == [{"reference": f"Procedure/{record.visit.pk}"}]
    assert before["extension"][0]["valueReference"] == {"reference": f"Condition/{record.neck.pk}"}


def test_questionnaire_totals_use_local_codes_where_loinc_is_unverified(clinician, record: Record) -> None:
    observations, _ = records.search_by_patient(clinician, "Observation", record.patient.pk)
    ndi = next(o for o in observations if codings(o["code"], codes.local_system("instrument")) == ["NDI"])
    assert codings(ndi["code"], codes.LOINC) == []
    assert ndi["valueQuantity"] == {"value": 20, "unit": "%", "system": codes.UCUM, "code": "%"}


def test_range_of_motion_is_in_degrees_with_body_site_and_method(clinician, record: Record) -> None:
    observations, _ = records.search_by_patient(clinician, "Observation", record.patient.pk)
    rom = next(o for o in observations if o["id"].startswith("rom-"))
    assert rom["valueQuantity"] == {"value": 55, "unit": "deg", "system": codes.UCUM, "code": "deg"}
    assert codings(rom["code"], codes.local_system("rom-movement")) == ["cervical_spine.rotation"]
    assert codings(rom["bodySite"], codes.local_system("joint")) == ["cervical_spine"]
    side = rom["bodySite"]["extension"][0]["valueCodeableConcept"]
    assert codings(side, codes.local_system("laterality")) == ["left"]
    assert codings(side, codes.SNOMED) == ["7771000"]
    assert codings(rom["method"], codes.local_system("rom-method")) == ["crom"]
    assert rom["referenceRange"][0]["text"].startswith("Normal ")


def test_an_adverse_event_points_at_the_procedure_and_maps_severity(clinician, record: Record) -> None:
    event = records.read(clinician, "AdverseEvent", str(record.event.pk))
    assert event["actuality"] == "actual"
    assert event["suspectEntity"] == [{"instance": {"reference": f"Procedure/{record.visit.pk}"}}]
    assert codings(event["severity"], codes.AE_SEVERITY) == ["mild"]
    assert event["severity"]["text"] == "Mild"
    # R4 4.0.1's CodeSystem adverse-event-seriousness is case-sensitive and spells it "Non-serious".
    assert codings(event["seriousness"], codes.AE_SERIOUSNESS) == ["Non-serious"]
    assert event["seriousness"]["coding"][0]["display"] == "Non-serious"
    assert codings(event["outcome"], codes.AE_OUTCOME) == ["resolved"]
    assert codings(event["event"], codes.local_system("adverse-event-type")) == ["bruising"]
    assert event["event"]["text"] == "Bruising: Small bruise over infraspinatus"
    assert event["recorder"]["display"].startswith("Alice")


@pytest.mark.parametrize(
    ("grade", "fhir", "serious"),
    [("mild", "mild", "Non-serious"), ("significant", "moderate", "Non-serious"), ("serious", "severe", "Serious")],
)
def test_severity_grades_map_to_r4_severity_and_seriousness(grade: str, fhir: str, serious: str, validator) -> None:
    from needlepoint.visits.adverse_events import severities

    found = next(s for s in severities() if s.code == grade)
    event = mapping.adverse_event_resource(
        mapping.AdverseEventData(
            id="3",
            patient_id="4",
            event_type="vasovagal",
            type_label="Fainting",
            severity=grade,
            severity_label=found.label,
            fhir_severity=found.fhir_severity,
            serious=found.serious,
            onset_at=datetime(2025, 1, 1, 10, tzinfo=UTC),
            recorded_at=datetime(2025, 1, 1, 11, tzinfo=UTC),
            recorder="Alice",
            outcome="resolved_with_sequelae",
        )
    )
    assert codings(event["severity"], codes.AE_SEVERITY) == [fhir]
    assert codings(event["seriousness"], codes.AE_SERIOUSNESS) == [serious]
    assert codings(event["outcome"], codes.AE_OUTCOME) == ["resolvedWithSequelae"]
    assert "suspectEntity" not in event  # no exported Procedure to point at
    assert validator.errors(event) == []


def test_naive_datetimes_are_refused_rather_than_guessed() -> None:
    with pytest.raises(ValueError, match="time zone"):
        mapping.fhir_datetime(datetime(2025, 1, 1, 10))


def test_the_capability_statement_lists_resources_and_local_code_systems(validator) -> None:
    statement = mapping.capability_statement("http://testserver/fhir/R4", "0.1.0", datetime(2025, 1, 1, tzinfo=UTC))
    types = [r["type"] for r in statement["rest"][0]["resource"]]
    assert types == [
        "Patient",
        "Condition",
        "Observation",
        "Procedure",
        "AdverseEvent",
        "Consent",
        "QuestionnaireResponse",
        "Questionnaire",
        "Practitioner",
    ]
    assert statement["fhirVersion"] == "4.0.1"
    assert codes.local_system("procedure") in statement["description"]
    assert "No SNOMED CT concept for dry needling" in statement["description"]
    assert codes.local_system("instrument") in statement["description"]


@pytest.mark.parametrize(
    ("side", "snomed"),
    [("left", ["7771000"]), ("right", ["24028007"]), ("bilateral", ["51440002"]), ("central", [])],
)
def test_laterality_is_snomed_ct_where_a_qualifier_exists_and_always_keeps_the_local_code(side: str, snomed) -> None:
    found = codes.laterality_codings(side)
    assert [c["code"] for c in found if c["system"] == codes.SNOMED] == snomed
    assert found[-1] == {
        "system": codes.local_system("laterality"),
        "code": side,
        "display": codes.LATERALITY_DISPLAY[side],
    }
