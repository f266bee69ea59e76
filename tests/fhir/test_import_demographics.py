"""A Synthea Patient's demographics survive import and export: name prefix, marital status, the US Core race,
ethnicity and birth sex, the address in parts, and the sender's identifiers; what is still not kept is named."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from needlepoint.patients.demographics import races
from needlepoint.patients.models import Patient, PatientIdentifier
from tests.conftest import client_for
from tests.fhir.conftest import import_messages, post_bundle, synthea_bundle, synthea_files

pytestmark = pytest.mark.django_db
US_CORE = "http://hl7.org/fhir/us/core/StructureDefinition"
OMB_RACES = {c.code for c in races().codes}


def source_patient(bundle: dict[str, Any]) -> dict[str, Any]:
    return next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient")


def extension(resource: dict[str, Any], name: str) -> dict[str, Any] | None:
    return next((e for e in resource.get("extension", []) if e["url"] == f"{US_CORE}/{name}"), None)


def categories(found: dict[str, Any] | None) -> list[str]:
    return [e["valueCoding"]["code"] for e in (found or {}).get("extension", []) if e["url"] == "ombCategory"]


def text_of(found: dict[str, Any] | None) -> str | None:
    return next((e["valueString"] for e in (found or {}).get("extension", []) if e["url"] == "text"), None)


def identifiers(resource: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [
        (i["system"], i["value"], [(c["system"], c["code"]) for c in i.get("type", {}).get("coding", [])])
        for i in resource["identifier"]
    ]


def official(resource: dict[str, Any]) -> dict[str, Any]:
    return next(n for n in resource["name"] if n.get("use") == "official")


@pytest.mark.parametrize("path", synthea_files(), ids=lambda p: p.name.split("_")[0])
def test_every_synthea_patient_round_trips_its_demographics(clinician, keeps_ssns, path: Path) -> None:
    bundle = synthea_bundle(path)
    sent = source_patient(bundle)
    client = client_for(clinician)

    response = post_bundle(client, bundle)

    assert response.status_code == 200, response.content
    patient = Patient.objects.get()
    exported = client.get(f"/fhir/R4/Patient/{patient.pk}", HTTP_ACCEPT="application/fhir+json").json()
    assert official(exported).get("prefix") == official(sent).get("prefix")
    assert exported["maritalStatus"]["coding"][0]["code"] == sent["maritalStatus"]["coding"][0]["code"]
    assert exported["maritalStatus"]["coding"][0]["system"] == sent["maritalStatus"]["coding"][0]["system"]
    for name in ("us-core-race", "us-core-ethnicity"):
        # A category that is not an OMB one (a Synthea patient has the ethnicity code 2135-2 as a race) is not kept.
        wanted = [c for c in categories(extension(sent, name)) if name != "us-core-race" or c in OMB_RACES]
        assert categories(extension(exported, name)) == wanted, name
        assert text_of(extension(exported, name)) == text_of(extension(sent, name)), name
    assert extension(exported, "us-core-birthsex") == extension(sent, "us-core-birthsex")
    address = {k: v for k, v in sent["address"][0].items() if k in ("line", "city", "state", "postalCode", "country")}
    assert exported["address"] == [address]
    assert identifiers(exported)[1:] == identifiers(sent)
    assert exported["identifier"][0]["value"] == patient.mrn
    assert PatientIdentifier.objects.filter(
        patient=patient, clinic=patient.clinic, source="FHIR import"
    ).count() == len(sent["identifier"])


def test_what_is_still_not_kept_is_named_and_identifiers_are_no_longer_said_dropped(clinician, keeps_ssns) -> None:
    bundle = synthea_bundle(next(p for p in synthea_files() if p.name.startswith("Angelic")))

    messages = [text for _, text in import_messages(post_bundle(client_for(clinician), bundle))]

    assert not any("not kept" in m.lower() and "identifier" in m.lower() for m in messages)
    assert "Kept the sender's 5 Patient identifier(s) beside the patient's new MRN." in messages
    for element in (
        "extension patient-mothersMaidenName",
        "extension patient-birthPlace",
        "extension disability-adjusted-life-years",
        "extension quality-adjusted-life-years",
        "address[0].extension geolocation",
        "multipleBirthBoolean",
        "communication",
        "name[1] (maiden): only one name is kept",
        "telecom[0].use",
    ):
        assert f"Not kept: Patient.{element}." in messages, element
    assert not any("us-core-race" in m or "us-core-birthsex" in m or "maritalStatus" in m for m in messages)


def test_a_race_code_that_is_no_omb_category_is_named_not_kept(clinician) -> None:
    bundle = synthea_bundle(next(p for p in synthea_files() if p.name.startswith("Angelic")))
    race = extension(source_patient(bundle), "us-core-race")
    assert race is not None
    race["extension"][0]["valueCoding"]["code"] = "2135-2"  # an ethnicity code, as one Synthea patient sends

    messages = [text for _, text in import_messages(post_bundle(client_for(clinician), bundle))]

    assert any("race ombCategory 2135-2: not an OMB race category" in m for m in messages), messages
    patient = Patient.objects.get()
    assert patient.race_codes == [] and patient.race_text == "White"


def test_an_old_one_line_address_is_exported_as_text(clinician) -> None:
    from datetime import date

    from needlepoint.patients import actions

    patient = actions.register_patient(
        clinician,
        {"given_name": "Old", "family_name": "Record", "date_of_birth": date(1970, 1, 2), "address": "1 Main St, Town"},
    )

    exported = client_for(clinician).get(f"/fhir/R4/Patient/{patient.pk}", HTTP_ACCEPT="application/fhir+json").json()

    assert exported["address"] == [{"text": "1 Main St, Town"}]
    assert "extension" not in exported and "maritalStatus" not in exported


def test_an_identifier_too_long_to_keep_refuses_the_whole_bundle(clinician, keeps_ssns) -> None:
    bundle = synthea_bundle(next(p for p in synthea_files() if p.name.startswith("Angelic")))
    source_patient(bundle)["identifier"][2]["value"] = "9" * 101

    response = post_bundle(client_for(clinician), bundle)

    assert response.status_code == 400
    messages = import_messages(response)
    assert any("Identifier 3: its value is longer than 100 characters." in text for _, text in messages), messages
    assert not Patient.objects.exists() and not PatientIdentifier.objects.exists()


@pytest.mark.usefixtures("keeps_ssns")
def test_second_addresses_names_and_contact_points_and_identifiers_without_a_system_are_named(clinician) -> None:
    bundle = synthea_bundle(next(p for p in synthea_files() if p.name.startswith("Angelic")))
    patient = source_patient(bundle)
    patient["address"][0]["text"] = "301 Wiza Dale, Rockport"
    patient["address"].append({"use": "old", "text": "1 Old Road"})
    patient["telecom"].append({"system": "phone", "value": "555-000-0000"})
    patient["identifier"].append({"value": "no-system"})
    patient["maritalStatus"] = {"coding": [{"system": "http://example.org/marital", "code": "M"}]}
    birth_sex = extension(patient, "us-core-birthsex")
    assert birth_sex is not None
    birth_sex["valueCode"] = "X"

    messages = [text for _, text in import_messages(post_bundle(client_for(clinician), bundle))]

    for element in (
        "address[0].text (its parts are kept)",
        "address[1]: only the first address is kept",
        "telecom[1] (phone): only the first phone and e-mail are kept",
        "identifier[5]: no system or no value",
        "maritalStatus: not a v3-MaritalStatus code",
        "extension us-core-birthsex X",
    ):
        assert f"Not kept: Patient.{element}." in messages, (element, messages)
    kept = Patient.objects.get()
    assert (kept.address, kept.marital_status, kept.birth_sex) == ("301 Wiza Dale", "", "")
    assert PatientIdentifier.objects.filter(patient=kept).count() == 5


def test_a_patient_is_found_by_an_identifier_kept_from_another_system(clinician, keeps_ssns, outsider) -> None:
    bundle = synthea_bundle(synthea_files()[0])
    sent = {i["system"]: i["value"] for i in source_patient(bundle)["identifier"]}
    client = client_for(clinician)
    assert post_bundle(client, bundle).status_code == 200
    post_bundle(client, synthea_bundle(synthea_files()[1]))  # another patient, who must not match
    patient = Patient.objects.get(family_name=source_patient(bundle)["name"][0]["family"])
    ssn = sent["http://hl7.org/fhir/sid/us-ssn"]

    def found(query: str, who=client) -> list[str]:
        answer = who.get(f"/fhir/R4/Patient?identifier={query}", HTTP_ACCEPT="application/fhir+json")
        assert answer.status_code == 200, answer.content
        return [e["resource"]["id"] for e in answer.json().get("entry", [])]

    assert found(f"http://hl7.org/fhir/sid/us-ssn|{ssn}") == [str(patient.pk)]
    assert found(ssn) == [str(patient.pk)]  # the value alone
    assert found(f"http://hl7.org/fhir/sid/us-ssn|{ssn},{patient.mrn}") == [str(patient.pk)]  # once, not twice
    assert found(f"http://other.example|{ssn}") == []  # the value in another system
    assert found(f"|{ssn}") == []  # "no system" is the MRN only
    assert len(found("http://hl7.org/fhir/sid/us-ssn|")) == 2  # everyone with a number in that system
    assert found(f"http://hl7.org/fhir/sid/us-ssn|{ssn}", client_for(outsider)) == []
