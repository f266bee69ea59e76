"""An independent check with the npm ``fhir`` package (FHIR.js), when node and the package are installed.

To run it, install the package where node finds it, e.g. ``npm install -g fhir`` or
``npm install --prefix /some/dir fhir`` with NEEDLEPOINT_FHIRJS_NODE_PATH set to ``/some/dir/node_modules``
(``python3 dev.py test`` does the latter, into .ci/node, where npm is on the machine). Otherwise these tests are
skipped, saying so, except under CI=true where they fail.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from needlepoint.fhir import mapping, records
from tests.conftest import client_for, missing_tool
from tests.fhir.conftest import Record, post_bundle, synthea_bundle, synthea_files
from tests.fhir.node_validators import node_path, run_validator
from tests.fhir.structural import datatypes

SCRIPT = Path(__file__).with_name("fhirjs_validate.js")
FULL_DEMOGRAPHICS = {
    "name_prefix": "Ms.",
    "address": "183 Muller Manor\nUnit 2",
    "address_city": "Somerville",
    "address_state": "MA",
    "address_postal_code": "02138",
    "address_country": "US",
    "marital_status": "M",
    "race_codes": ["2028-9", "2106-3"],
    "race_text": "Korean and Irish",
    "ethnicity_code": "ASKU",
    "birth_sex": "F",
}
IDENTIFIERS = [
    {"system": "https://github.com/synthetichealth/synthea", "value": "a5f5a550"},
    {
        "system": "http://hl7.org/fhir/sid/us-ssn",
        "value": "999-55-2827",
        "type_system": "http://terminology.hl7.org/CodeSystem/v2-0203",
        "type_code": "SS",
        "type_display": "Social Security Number",
        "type_text": "Social Security Number",
    },
]


@pytest.fixture(scope="module")
def fhirjs() -> str:
    found = node_path("fhir")
    if found is None:
        missing_tool(
            "node or the npm 'fhir' package is not installed (npm install -g fhir, or set "
            "NEEDLEPOINT_FHIRJS_NODE_PATH); the independent FHIR.js check did not run"
        )
    return found


def fhirjs_validate(resources: list[dict[str, Any]], node_modules: str, tmp_path: Path) -> list[dict[str, Any]]:
    return run_validator(SCRIPT, resources, node_modules, tmp_path)


@pytest.mark.django_db
def test_fhirjs_finds_no_error_in_what_we_emit(
    fhirjs: str, clinician, front_desk, keeps_ssns, record: Record, tmp_path
) -> None:
    from datetime import UTC, datetime

    from needlepoint.patients import actions

    # The Patient with every demographic it can carry: prefix, address parts, marital status, US Core extensions,
    # and identifiers kept from another system after its MRN.
    actions.update_patient(clinician, record.patient.pk, FULL_DEMOGRAPHICS, record.patient.version)
    actions.keep_identifiers(clinician, record.patient, IDENTIFIERS, source="FHIR import")
    resources, _ = records.everything(clinician, record.patient.pk)
    assert {"extension", "maritalStatus"} <= set(resources[0]) and len(resources[0]["identifier"]) == 3
    resources.append(
        mapping.capability_statement("http://testserver/fhir/R4", "0.1.0", datetime(2025, 1, 1, tzinfo=UTC))
    )
    resources.append(mapping.operation_outcome([mapping.Issue("warning", "informational", "Claim ignored")]))
    from needlepoint.fhir.search import subsetted
    from needlepoint.outcomes.scoring import instruments

    resources += [mapping.questionnaire_resource(records.questionnaire_data(d, None)) for d in instruments().values()]
    resources.append(subsetted(resources[0], ("name",)))
    from needlepoint.accounts.models import Membership
    from needlepoint.fhir.practitioner_mapping import practitioner_resource
    from needlepoint.fhir.practitioners import practitioner_data

    # The clinic's staff: a clinician with profession and licence, and a role without (name as first name only).
    staff = Membership.objects.filter(clinic=clinician.clinic).select_related("user")
    resources += [practitioner_resource(practitioner_data(m)) for m in staff]
    assert any("qualification" in r for r in resources if r["resourceType"] == "Practitioner")
    results = fhirjs_validate(resources, fhirjs, tmp_path)
    errors = [(r["id"], m) for r in results for m in r["messages"] if m["severity"] == "error"]
    assert errors == []
    assert all(r["valid"] for r in results)


@pytest.mark.django_db
def test_fhirjs_finds_no_error_in_an_imports_transaction_response(fhirjs: str, clinician, tmp_path) -> None:
    response = post_bundle(client_for(clinician), synthea_bundle(synthea_files()[0]))
    assert response.status_code == 200, response.content
    answer = response.json()
    [result] = fhirjs_validate([answer], fhirjs, tmp_path)
    assert [m for m in result["messages"] if m["severity"] == "error"] == []
    assert result["valid"]


def test_fhirjs_rejects_a_broken_resource(fhirjs: str, tmp_path) -> None:
    """The check can fail: an unknown element and a missing required one are errors for FHIR.js too."""
    broken = {"resourceType": "Observation", "id": "x", "code": {"text": "pain"}, "colour": "red"}
    [result] = fhirjs_validate([broken], fhirjs, tmp_path)
    assert result["valid"] is False


def test_our_datatype_table_matches_fhirjs_definitions(fhirjs: str) -> None:
    """The datatypes written out in tests.fhir.structural.datatypes against the package's own R4 type definitions."""
    types = json.loads((Path(fhirjs) / "fhir" / "profiles" / "types.json").read_text(encoding="utf-8"))
    for name in datatypes.COMPLEX_TYPES:
        if name == "Timing.repeat":
            continue
        theirs = {p["_name"]: p for p in types[name]["_properties"] if not p["_name"].startswith("_")}
        mine = {}
        for element in datatypes.complex_type_elements(name) or ():
            for type_code in element.types:
                json_name = (
                    element.name[:-3] + type_code[0].upper() + type_code[1:] if element.is_choice else element.name
                )
                mine[json_name] = element
        assert set(mine) == set(theirs), name
        for json_name, element in mine.items():
            assert element.repeats == theirs[json_name]["_multiple"], f"{name}.{json_name}"
            assert (element.min >= 1) == bool(theirs[json_name].get("_required")), f"{name}.{json_name}"


@pytest.mark.django_db
def test_fhirjs_finds_no_error_in_imported_synthea_conditions(fhirjs: str, clinician, tmp_path) -> None:
    """The demo clinic has no conditions reported by another record: every Synthea patient is imported and the
    Conditions its record reported are checked by FHIR.js as the exports give them."""
    from needlepoint.patients.models import Patient
    from tests.conftest import client_for
    from tests.fhir.conftest import post_bundle, synthea_bundle, synthea_files

    client = client_for(clinician)
    for path in synthea_files():
        assert post_bundle(client, synthea_bundle(path)).status_code == 200, path.name
    resources: list[dict[str, Any]] = []
    for patient in Patient.objects.filter(clinic=clinician.clinic):
        found, _ = records.everything(clinician, patient.pk)
        resources += [r for r in found if r["resourceType"] == "Condition"]
    assert sum(1 for r in resources if r["id"].startswith("reported-")) == 122
    results = fhirjs_validate(resources, fhirjs, tmp_path)
    errors = [(r["id"], m) for r in results for m in r["messages"] if m["severity"] == "error"]
    assert errors == []
    assert all(r["valid"] for r in results)


@pytest.mark.django_db
def test_fhirjs_finds_no_error_in_records_kept_as_received(
    fhirjs: str, full_record, clinician, outsider, tmp_path
) -> None:
    """A Needlepoint patient's $everything imported into another clinic: every record kept as received, as the
    other clinic's $everything gives it, and the import's transaction-response, are checked by FHIR.js."""
    from tests.fhir.test_round_trip import round_trip

    _, answer, received, _ = round_trip(full_record, clinician, outsider)
    assert {r["resourceType"] for r in received if r["id"].startswith("received-")} == set(records.CLINICAL_TYPES)
    results = fhirjs_validate([*received, answer], fhirjs, tmp_path)
    errors = [(r["id"], m) for r in results for m in r["messages"] if m["severity"] == "error"]
    assert errors == []
    assert all(r["valid"] for r in results)
