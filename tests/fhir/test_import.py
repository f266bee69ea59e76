"""POST of a transaction Bundle: Synthea patients and their pain ratings in, all or nothing."""

from __future__ import annotations

import copy
import json
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from django.utils.http import http_date

from needlepoint.accounts.models import AuditEntry
from needlepoint.fhir import codes, mapping
from needlepoint.fhir.incoming import BundleRejected, plan_import, whole_rating
from needlepoint.fhir.mapping import Issue
from needlepoint.fhir.transaction_bundle import transaction_response
from needlepoint.outcomes.models import Observation
from needlepoint.patients.models import Episode, Patient
from tests.conftest import client_for, response_json
from tests.fhir.conftest import SYNTHEA, import_messages, synthea_bundle, synthea_files, token_client

pytestmark = pytest.mark.django_db
URL = "/fhir/R4"
WILLY = "Willy_Koepp_ebbb96ce-c538-4ac4-ad6a-7c709ef6639c.json.gz"


def load(name: str = WILLY) -> dict[str, Any]:
    return synthea_bundle(SYNTHEA / name)


def post(client: Client, bundle: Any, query: str = "", content_type: str = "application/fhir+json"):
    body = bundle if isinstance(bundle, str) else json.dumps(bundle)
    return client.post(URL + query, body, content_type=content_type, HTTP_ACCEPT="application/fhir+json")


def pain_entries(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        e
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "Observation"
        and any(c.get("code") == "72514-3" for c in e["resource"]["code"]["coding"])
    ]


def http_date_of(instant: str) -> str:
    """A FHIR instant as an HTTP date (Last-Modified)."""
    return http_date(datetime.fromisoformat(instant).timestamp())


def counts() -> tuple[int, ...]:
    created = AuditEntry.objects.filter(action__in=["create", "update"]).count()
    return Patient.objects.count(), Episode.objects.count(), Observation.objects.count(), created


def test_a_synthea_bundle_round_trips(clinician, validator) -> None:
    bundle = load()
    source_patient = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient")
    source_pain = pain_entries(bundle)
    client = client_for(clinician)

    response = post(client, bundle)

    assert response.status_code == 200, response.content
    answer = response.json()
    assert answer["resourceType"] == "Bundle" and answer["type"] == "transaction-response"
    assert validator.errors(answer) == []
    assert len(answer["entry"]) == len(bundle["entry"])
    patient = Patient.objects.get()
    assert response["Location"] == f"http://testserver/fhir/R4/Patient/{patient.pk}"
    patient_index = bundle["entry"].index(next(e for e in bundle["entry"] if e["resource"] is source_patient))
    created = answer["entry"][patient_index]["response"]
    assert created["status"] == "201 Created"
    assert created["location"] == f"Patient/{patient.pk}/_history/1" and created["etag"] == 'W/"1"'
    messages = [m for _, m in import_messages(response)]
    assert f"Created Patient/{patient.pk} (MRN {patient.mrn})." in messages
    created_obs = [m for m in messages if m.startswith("Created Observation/outcome-")]
    assert len(created_obs) == len(source_pain) == 4
    ignored = [m for severity, m in import_messages(response) if severity == "warning"]
    # Conditions are kept; so are the other Observations and the Procedures, as received (test_round_trip.py).
    kept = [e for e in bundle["entry"] if e["resource"]["resourceType"] in ("Condition", "Observation", "Procedure")]
    assert len(ignored) == len(bundle["entry"]) - 1 - len(kept)
    assert any(m.startswith("Claim ignored (not stored)") for m in ignored)
    received = [m for m in messages if m.startswith("Created Observation/received-")]
    assert len(received) == len([e for e in kept if e["resource"]["resourceType"] == "Observation"]) - 4
    rounded = [m for m in messages if "rounded half up" in m]
    assert len(rounded) == 4

    everything = response_json(client.get(f"/fhir/R4/Patient/{patient.pk}/$everything"))
    resources = [e["resource"] for e in everything["entry"]]
    for resource in resources:
        assert validator.errors(resource) == []
    exported = resources[0]
    assert exported["name"][0]["family"] == source_patient["name"][0]["family"] == "Koepp"
    assert exported["name"][0]["given"] == source_patient["name"][0]["given"]
    assert exported["birthDate"] == source_patient["birthDate"]
    assert exported["gender"] == source_patient["gender"]
    assert exported["telecom"] == [{"system": "phone", "value": source_patient["telecom"][0]["value"]}]
    assert exported["address"][0]["line"] == source_patient["address"][0]["line"]

    # The episode; the bundle's own Conditions are there too, as reported-<id> (tests/fhir/test_import_conditions.py).
    [condition] = [r for r in resources if r["resourceType"] == "Condition" and not r["id"].startswith("reported-")]
    assert [c["code"] for c in condition["code"]["coding"]] == ["M79.10", "other"]
    first = min(e["resource"]["effectiveDateTime"] for e in source_pain)
    assert condition["onsetDateTime"] == first[:10]

    pain = [r for r in resources if r["resourceType"] == "Observation" and r["id"].startswith("outcome-")]
    sent = sorted((e["resource"]["effectiveDateTime"], e["resource"]["valueQuantity"]["value"]) for e in source_pain)
    got = sorted((o["effectiveDateTime"], o["valueQuantity"]["value"]) for o in pain)
    assert got == [(when, whole_rating(value)) for when, value in sent]
    assert all(o["code"]["coding"][0]["code"] == codes.PAIN_LOINC for o in pain)
    assert all(o["performer"] == [{"reference": f"Patient/{patient.pk}"}] for o in pain)  # patient-reported
    stored = Observation.objects.order_by("observed_at")
    assert [o.time_point for o in stored] == ["baseline", "reassessment", "reassessment", "reassessment"]


@pytest.mark.parametrize("path", synthea_files(), ids=lambda p: p.name.split("_")[0])
def test_every_synthea_bundle_imports(clinician, validator, path: Path) -> None:
    bundle = synthea_bundle(path)
    client = client_for(clinician)
    response = post(client, bundle)
    assert response.status_code == 200, response.content
    assert Observation.objects.filter(instrument="NPRS").count() == len(pain_entries(bundle)) >= 4
    assert Episode.objects.get().onset_date <= Observation.objects.earliest("observed_at").observed_on
    assert validator.errors(response.json()) == []
    answered = response.json()["entry"]
    assert len(answered) == len(bundle["entry"])
    for sent, entry in zip(bundle["entry"], answered, strict=True):
        resource, answer = sent["resource"], entry["response"]
        said = [i["diagnostics"] for i in answer["outcome"]["issue"]]
        if resource["resourceType"] in ("Patient", "Condition", "Observation", "Procedure"):
            assert answer["status"] == "201 Created", said
            assert answer["location"].startswith(resource["resourceType"] + "/")
        else:  # not stored: no location, and the warning says why
            assert answer["status"] == "200 OK" and "location" not in answer, said
            assert any(i["severity"] == "warning" for i in answer["outcome"]["issue"])
            assert not any(m.startswith("Created") for m in said)
    for answer in (e["response"] for e in answered if e["response"]["status"] == "201 Created"):
        read = client.get(f"{URL}/{answer['location']}", HTTP_ACCEPT="application/fhir+json")
        assert read.status_code == 200, answer["location"]
        assert (read["ETag"], read["Last-Modified"]) == (answer["etag"], http_date_of(answer["lastModified"]))


def test_a_bundle_larger_than_djangos_request_limit_imports_within_the_transaction_limit(clinician) -> None:
    # Django refuses bodies over 2.5 MB (DATA_UPLOAD_MAX_MEMORY_SIZE); a patient's record is often larger, so the
    # transaction has its own limit, 20 MB by default (FHIR_TRANSACTION_MAX_MB).
    bundle = load()
    padding = {"resourceType": "Basic", "id": "pad", "text": {"div": "x" * 3_000_000}}
    bundle["entry"].append({"resource": padding, "request": {"method": "POST", "url": "Basic"}})
    body = json.dumps(bundle)
    assert 2_621_440 < len(body) < 20 * 1024 * 1024
    response = post(client_for(clinician), body)
    assert response.status_code == 200, response.content[:500]
    assert Patient.objects.count() == 1


def test_a_bundle_over_the_transaction_limit_is_refused_413_with_nothing_written(clinician, settings) -> None:
    settings.FHIR_TRANSACTION_MAX_BYTES = 100_000
    body = json.dumps(load())
    assert len(body) > 100_000
    before = counts()
    response = post(client_for(clinician), body)
    assert response.status_code == 413
    assert response.json()["resourceType"] == "OperationOutcome"
    assert counts() == before


def test_other_requests_keep_djangos_request_limit(clinician, settings) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = json.dumps({"resourceType": "Parameters", "pad": "x" * 2000})
    response = client_for(clinician).post("/fhir/R4/Patient/_search", body, content_type="application/fhir+json")
    assert response.status_code == 413


def test_the_episode_condition_can_be_chosen(clinician) -> None:
    response = post(client_for(clinician), load(), "?condition=neck_pain&icd10=M54.2&side=right")
    assert response.status_code == 200, response.content
    episode = Episode.objects.get()
    assert (episode.condition, episode.icd10_code, episode.side) == ("neck_pain", "M54.2", "right")


def test_an_import_again_is_refused_as_a_duplicate(clinician) -> None:
    client = client_for(clinician)
    assert post(client, load()).status_code == 200
    before = counts()
    response = post(client, load())
    assert response.status_code == 409
    issue = response.json()["issue"][0]
    assert issue["code"] == "duplicate"
    assert "already has Willy Koepp" in issue["diagnostics"]
    assert counts() == before


def _set_pain(index: int, **change: Any):
    def apply(bundle: dict[str, Any]) -> None:
        pain_entries(bundle)[index]["resource"].update(change)

    return apply


def _future(bundle: dict[str, Any]) -> None:
    later = (timezone.now() + timedelta(days=3)).isoformat(timespec="seconds")
    pain_entries(bundle)[-1]["resource"]["effectiveDateTime"] = later


def _two_patients(bundle: dict[str, Any]) -> None:
    patient = copy.deepcopy(next(e for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient"))
    patient["fullUrl"] = "urn:uuid:22222222-2222-4222-8222-222222222222"  # another entry, not the same one twice
    bundle["entry"].append(patient)


def _other_subject(bundle: dict[str, Any]) -> None:
    # Absolute: a patient on another server (a Patient/id the bundle does not hold is a dangling reference).
    pain_entries(bundle)[1]["resource"]["subject"] = {"reference": "https://example.org/fhir/Patient/somebody-else"}


def _no_birth_date(bundle: dict[str, Any]) -> None:
    next(e for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient")["resource"].pop("birthDate")


def _put_patient(bundle: dict[str, Any]) -> None:
    patient = next(e for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient")
    patient["request"] = {"method": "PUT", "url": "Patient/1"}


BAD_BUNDLES = [
    ("pain above 10", _set_pain(2, valueQuantity={"value": 11, "unit": "{score}"}), 400, "Pain 11 is outside 0-10."),
    ("pain without a value", _set_pain(0, valueQuantity={"unit": "{score}"}), 400, "needs valueQuantity.value"),
    ("pain in the wrong unit", _set_pain(0, valueQuantity={"value": 3, "code": "mm"}), 400, "not 'mm'"),
    ("pain dated in the future", _future, 400, "dated in the future"),
    ("pain without a date", _set_pain(1, effectiveDateTime="2014-05"), 400, "needs effectiveDateTime"),
    ("pain without a time zone", _set_pain(1, effectiveDateTime="2014-05-27T10:00:00"), 400, "time zone"),
    ("two patients", _two_patients, 400, "exactly one Patient; it has 2 Patients"),
    ("pain about someone else", _other_subject, 400, "not about the bundle's Patient"),
    ("patient without a birth date", _no_birth_date, 400, "full birth date"),
    ("a PUT of the patient", _put_patient, 400, "must be POST"),
    ("a batch, not a transaction", lambda b: b.update(type="batch"), 400, "Only transaction Bundles"),
    ("no entries", lambda b: b.update(entry=[]), 400, "has no entries"),
]


@pytest.mark.parametrize(("change", "status", "words"), [b[1:] for b in BAD_BUNDLES], ids=[b[0] for b in BAD_BUNDLES])
def test_a_bad_bundle_changes_nothing(clinician, change, status: int, words: str) -> None:
    bundle = load()
    change(bundle)
    before = counts()
    response = post(client_for(clinician), bundle)
    assert response.status_code == status, response.content
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert any(words in i["diagnostics"] and i["severity"] == "error" for i in outcome["issue"]), outcome
    assert counts() == before


NOWHERE = "urn:uuid:00000000-0000-4000-8000-000000000000"


def _index(bundle: dict[str, Any], resource_type: str) -> int:
    return next(i for i, e in enumerate(bundle["entry"]) if e["resource"]["resourceType"] == resource_type)


def _dangling_uuid(bundle: dict[str, Any]) -> str:
    index = bundle["entry"].index(pain_entries(bundle)[0])
    bundle["entry"][index]["resource"]["encounter"] = {"reference": NOWHERE}
    return f"Bundle.entry[{index}].resource.encounter.reference"


def _dangling_patient(bundle: dict[str, Any]) -> str:
    index = _index(bundle, "Claim")  # an entry that is not imported is checked too
    bundle["entry"][index]["resource"]["patient"] = {"reference": "Patient/x"}
    return f"Bundle.entry[{index}].resource.patient.reference"


def _conditional(bundle: dict[str, Any]) -> str:
    index = _index(bundle, "Encounter")
    bundle["entry"][index]["resource"]["serviceProvider"] = {"reference": "Organization?identifier=x|1"}
    return f"Bundle.entry[{index}].resource.serviceProvider.reference"


def _unknown_type(bundle: dict[str, Any]) -> str:
    bundle["entry"].append({"resource": {"resourceType": "Pateint"}, "request": {"method": "POST", "url": "Pateint"}})
    return f"Bundle.entry[{len(bundle['entry']) - 1}].resource.resourceType"


def _bad_id(bundle: dict[str, Any]) -> str:
    index = _index(bundle, "Patient")
    bundle["entry"][index]["resource"]["id"] = "not an id"
    return f"Bundle.entry[{index}].resource.id"


def _duplicate_full_url(bundle: dict[str, Any]) -> str:
    index = _index(bundle, "Claim")
    bundle["entry"][index]["fullUrl"] = bundle["entry"][_index(bundle, "Patient")]["fullUrl"]
    return f"Bundle.entry[{index}].fullUrl"


def _relative_full_url(bundle: dict[str, Any]) -> str:
    index = _index(bundle, "Claim")
    bundle["entry"][index]["fullUrl"] = "Claim/1"
    return f"Bundle.entry[{index}].fullUrl"


def _versioned_full_url(bundle: dict[str, Any]) -> str:
    index = _index(bundle, "Claim")
    bundle["entry"][index]["fullUrl"] = "https://example.org/fhir/Claim/1/_history/2"
    return f"Bundle.entry[{index}].fullUrl"


def _no_request_url(bundle: dict[str, Any]) -> str:
    index = _index(bundle, "Encounter")
    bundle["entry"][index]["request"].pop("url")
    return f"Bundle.entry[{index}].request.url"


def _no_request(bundle: dict[str, Any]) -> str:
    index = _index(bundle, "Encounter")
    bundle["entry"][index].pop("request")
    return f"Bundle.entry[{index}].request"


def _get_entry(bundle: dict[str, Any]) -> str:
    index = _index(bundle, "Claim")  # any entry, imported or not
    bundle["entry"][index]["request"] = {"method": "GET", "url": "Claim"}
    return f"Bundle.entry[{index}].request.method"


def _not_a_reference(bundle: dict[str, Any]) -> str:
    index = _index(bundle, "Encounter")
    bundle["entry"][index]["resource"]["subject"] = {"reference": "the patient"}
    return f"Bundle.entry[{index}].resource.subject.reference"


REFUSED_ENTRIES = [
    ("a dangling urn:uuid reference", _dangling_uuid, f"{NOWHERE} is dangling"),
    ("a dangling Patient/x reference", _dangling_patient, "Patient/x is dangling: the Bundle holds no Patient"),
    ("a conditional reference", _conditional, "conditional reference Organization?identifier=x|1 is not resolved"),
    ("an unknown resource type", _unknown_type, "'Pateint' is not a FHIR R4 resource type"),
    ("an id that is no FHIR id", _bad_id, "the id 'not an id' is not a FHIR id"),
    ("a duplicate fullUrl", _duplicate_full_url, "(bdl-7)"),
    ("a relative fullUrl", _relative_full_url, "neither a urn:uuid:, a urn:oid: nor an absolute URL"),
    ("a versioned fullUrl", _versioned_full_url, "names a version"),
    ("a request without url", _no_request_url, "the request needs a url"),
    ("an entry without request", _no_request, "needs a request"),
    ("a GET entry", _get_entry, "entries must be POST (create); this one is 'GET'"),
    ("something that is no reference", _not_a_reference, "'the patient' is not a reference"),
]


@pytest.mark.parametrize(("change", "words"), [r[1:] for r in REFUSED_ENTRIES], ids=[r[0] for r in REFUSED_ENTRIES])
def test_an_entry_against_the_rules_is_refused_naming_its_path_with_nothing_written(
    clinician, change, words: str
) -> None:
    bundle = load()
    where = change(bundle)
    before = counts()
    response = post(client_for(clinician), bundle)
    assert response.status_code == 400, response.content
    [issue] = response.json()["issue"]
    assert issue["severity"] == "error"
    assert words in issue["diagnostics"], issue
    assert issue["expression"] == [where]
    assert issue["diagnostics"].startswith(where.split("]")[0] + "]")  # the message names the entry too
    assert import_messages(response) == [("error", issue["diagnostics"])]
    assert counts() == before


def test_every_dangling_reference_is_named_at_once() -> None:
    bundle = load()
    first, second = _dangling_uuid(bundle), _dangling_patient(bundle)
    with pytest.raises(BundleRejected) as refused:
        plan_import(bundle, timezone.now())
    assert sorted(i.expression for i in refused.value.issues) == sorted([(first,), (second,)])


def test_references_resolve_by_type_and_id_and_absolute_ones_may_point_outside(clinician) -> None:
    bundle = load()
    patient = bundle["entry"][_index(bundle, "Patient")]["resource"]
    for entry in pain_entries(bundle):
        entry["resource"]["subject"] = {"reference": f"Patient/{patient['id']}"}
    encounter = bundle["entry"][_index(bundle, "Encounter")]["resource"]
    encounter["serviceProvider"] = {"reference": "https://example.org/fhir/Organization/1"}
    response = post(client_for(clinician), bundle)
    assert response.status_code == 200, response.content
    assert Observation.objects.count() == len(pain_entries(bundle))


CREATED = Issue("information", "informational", "Created Patient/1.", ("Bundle.entry[0]",), created="Patient/1")
NOT_STORED = Issue("warning", "informational", "Claim ignored (not stored).", ("Bundle.entry[1]",))
PATIENT_META = {"Patient/1": {"versionId": "2", "lastUpdated": "2024-02-01T10:00:00+00:00"}}


def test_the_answer_is_one_entry_per_request_entry_from_the_issues_by_entry() -> None:
    answer = transaction_response(("Patient", "Claim"), [NOT_STORED, CREATED], PATIENT_META)
    created, ignored = (e["response"] for e in answer["entry"])
    assert (created["status"], created["location"], created["etag"]) == ("201 Created", "Patient/1/_history/2", 'W/"2"')
    assert created["lastModified"] == "2024-02-01T10:00:00+00:00"
    assert ignored == {"status": "200 OK", "outcome": mapping.operation_outcome([NOT_STORED])}


@pytest.mark.parametrize(
    ("issues", "stored", "words"),
    [
        ([CREATED], PATIENT_META, "Bundle.entry[1] was neither created nor reported as not stored"),
        (
            [CREATED, NOT_STORED, Issue("information", "informational", "Created Condition/1.")],
            PATIENT_META,
            "no entry",
        ),
        ([CREATED, NOT_STORED], {}, "no version of Patient/1"),
    ],
    ids=["an entry left unanswered", "an issue without an entry", "a created resource not read back"],
)
def test_an_answer_the_import_cannot_give_is_a_fault(issues: list[Issue], stored: dict[str, Any], words: str) -> None:
    with pytest.raises(ValueError, match=re.escape(words)):
        transaction_response(("Patient", "Claim"), issues, stored)


def test_a_refusal_by_an_action_after_the_patient_was_registered_rolls_everything_back(clinician) -> None:
    before = counts()
    # M54.2 is not a code of "other": open_episode refuses it after register_patient has run.
    response = post(client_for(clinician), load(), "?icd10=M54.2")
    assert response.status_code == 400
    assert (
        "icd10_code: Choose an ICD-10-CM code listed for this condition." in response.json()["issue"][0]["diagnostics"]
    )
    assert counts() == before


@pytest.mark.parametrize(
    ("body", "content_type", "status", "words"),
    [
        ("{not json", "application/fhir+json", 400, "not valid JSON"),
        ('{"resourceType": "Patient"}', "application/fhir+json", 400, "Post a Bundle"),
        ("[]", "application/json", 400, "Post a Bundle"),
        ('{"resourceType": "Bundle", "type": "transaction"}', "text/plain", 415, "Send the Bundle as"),
    ],
)
def test_a_body_that_is_no_bundle_is_refused(clinician, body: str, content_type: str, status: int, words: str) -> None:
    before = counts()
    response = post(client_for(clinician), body, content_type=content_type)
    assert response.status_code == status
    assert words in response.json()["issue"][0]["diagnostics"]
    assert counts() == before


def test_front_desk_may_import_a_patient_but_not_pain_ratings(front_desk) -> None:
    client = client_for(front_desk)
    before = counts()
    assert post(client, load()).status_code == 403
    assert counts() == before
    assert AuditEntry.objects.filter(user=front_desk.user, action="denied", summary="missing edit_clinical").exists()
    patient_only = load()
    patient_only["entry"] = [e for e in patient_only["entry"] if e["resource"]["resourceType"] == "Patient"]
    assert post(client, patient_only).status_code == 200
    assert (Patient.objects.count(), Episode.objects.count()) == (1, 0)


def test_statuses_other_than_final_are_ignored_not_imported() -> None:
    bundle = load()
    entries = pain_entries(bundle)
    entries[0]["resource"]["status"] = "entered-in-error"
    plan = plan_import(bundle, timezone.now())
    assert len(plan.readings) == len(entries) - 1
    assert any("'entered-in-error' is not imported" in i.diagnostics for i in plan.ignored)


def test_the_plan_lists_every_problem_at_once() -> None:
    bundle = load()
    _no_birth_date(bundle)
    _set_pain(0, valueQuantity={"value": -1})(bundle)
    with pytest.raises(BundleRejected) as refused:
        plan_import(bundle, timezone.now())
    messages = [i.diagnostics for i in refused.value.issues]
    assert "The Patient needs a full birth date (YYYY-MM-DD)." in messages
    assert "Pain -1 is outside 0-10." in messages


@pytest.mark.parametrize(("value", "rating"), [(0.49, 0), (0.5, 1), (2.5, 3), (3.2992, 3), (9.5, 10), (10, 10)])
def test_fractional_pain_is_rounded_half_up(value: float, rating: int) -> None:
    assert whole_rating(value) == rating


def test_a_reading_at_midnight_utc_from_a_date_only_value() -> None:
    bundle = load()
    pain_entries(bundle)[0]["resource"]["effectiveDateTime"] = "2013-02-26"
    plan = plan_import(bundle, timezone.now())
    assert plan.readings[0].at == datetime.fromisoformat("2013-02-26T00:00:00+00:00")


def test_a_token_imports_too(clinician) -> None:
    response = post(token_client(clinician), load())
    assert response.status_code == 200
    entry = AuditEntry.objects.filter(object_type="fhir.Bundle").get()
    assert entry.via == "api"
