"""A patient's whole record, out of one Needlepoint clinic and into another, loses nothing.

Clinic A's ``$everything`` of a patient with a full history (tests/fhir/conftest.py ``record``: two episodes,
a signed visit with needled muscles and pain before and after, an adverse event, pain, NDI with its answers and
range of motion, a withdrawn and a current consent, and a condition another record reported) is turned into a
transaction Bundle as a sender would (each entry a POST with a urn:uuid fullUrl, every reference to an entry
rewritten to that fullUrl), posted to clinic B, and B's ``$everything`` is compared with A's resource by
resource.

Equal apart from:
- id and meta.versionId/lastUpdated: B gives its own ids and versions (meta.profile is kept);
- references, compared through the id map of B's transaction-response (A's Type/id -> B's Type/id);
- the Patient's MRN identifier and managingOrganization: B gives the patient its own MRN (A's is kept beside it,
  as a received identifier, without "use": usual, which is said of a record's own MRN) and B is the clinic that
  now keeps the record.
Nothing else differs: every clinical resource is kept as received (none is a plain 0-10 pain rating, see
``incoming.keeps_as_received``), so B opens no episode of its own and its $everything holds as many resources.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from needlepoint.accounts.models import AuditEntry
from needlepoint.fhir import r4_structure, records
from needlepoint.fhir.incoming import IMPORTED_TYPES
from needlepoint.patients import actions as patient_actions
from needlepoint.patients.models import (
    Consent,
    Episode,
    Patient,
    ReceivedRecord,
    ReportedCondition,
)
from needlepoint.patients.received_records import TYPE_LABELS
from needlepoint.visits.models import AdverseEvent, Visit
from tests.conftest import client_for, make_member, response_json
from tests.fhir.conftest import EXAMPLES, import_messages, post_bundle

EVERYTHING = "/fhir/R4/Patient/{}/$everything"
FHIR_JSON = "application/fhir+json"


def everything(client: Any, patient_id: int | str) -> list[dict[str, Any]]:
    response = client.get(EVERYTHING.format(patient_id), HTTP_ACCEPT=FHIR_JSON)
    assert response.status_code == 200, response.getvalue()
    return [e["resource"] for e in response_json(response)["entry"]]


def references(value: Any) -> list[dict[str, Any]]:
    """Every Reference (an object with a string "reference") in ``value``."""
    found = []
    waiting = [value]
    while waiting:
        node = waiting.pop()
        if isinstance(node, dict):
            if isinstance(node.get("reference"), str):
                found.append(node)
            waiting += list(node.values())
        elif isinstance(node, list):
            waiting += node
    return found


# The sending server's base: $everything's relative references resolve against it (FHIR R4, "Resolving
# references in Bundles"), so a sender turns a reference to a resource it does not send into an absolute one.
SENDER_BASE = "http://testserver/fhir/R4/"
RELATIVE = re.compile(r"^[A-Z][A-Za-z]+/[A-Za-z0-9\-.]{1,64}$")


def absolute(reference: str) -> str:
    """A relative Type/id reference made absolute at the sender's base; any other reference as it is."""
    return SENDER_BASE + reference if RELATIVE.match(reference) else reference


def as_transaction(resources: list[dict[str, Any]]) -> dict[str, Any]:
    """A transaction Bundle of ``resources`` as a sender makes it: each a POST with its own urn:uuid fullUrl,
    every reference to one of them rewritten to that fullUrl, a reference to anything else (the Practitioner
    who performed a Procedure) made absolute at the sender's base."""
    urls = {f"{r['resourceType']}/{r['id']}": f"urn:uuid:{uuid.uuid4()}" for r in resources}
    entries = []
    for resource in resources:
        copied = json.loads(json.dumps(resource))
        for ref in references(copied):
            ref["reference"] = urls.get(ref["reference"], absolute(ref["reference"]))
        entries.append(
            {
                "fullUrl": urls[f"{resource['resourceType']}/{resource['id']}"],
                "resource": copied,
                "request": {"method": "POST", "url": resource["resourceType"]},
            }
        )
    return {"resourceType": "Bundle", "type": "transaction", "meta": {"source": "Test Clinic"}, "entry": entries}


def comparable(resource: dict[str, Any], ids: dict[str, str]) -> dict[str, Any]:
    """A resource without its id and version, its references named through ``ids`` (A's Type/id -> B's; A's
    reference to a resource it did not send -> the absolute reference the sender made of it)."""
    copied = json.loads(json.dumps(resource))
    for ref in references(copied):
        ref["reference"] = ids.get(ref["reference"], absolute(ref["reference"]) if ids else ref["reference"])
    copied.pop("id")
    copied["meta"] = {k: v for k, v in copied["meta"].items() if k not in ("versionId", "lastUpdated")}
    return copied


def round_trip(full_record, clinician, outsider):
    """A's $everything, B's transaction-response, B's $everything, and the id map A -> B."""
    sent = everything(client_for(clinician), full_record.patient.pk)
    response = post_bundle(client_for(outsider), as_transaction(sent))
    assert response.status_code == 200, response.content
    answer = response.json()
    ids = {}
    for resource, entry in zip(sent, answer["entry"], strict=True):
        assert entry["response"]["status"] == "201 Created", entry["response"]["outcome"]
        ids[f"{resource['resourceType']}/{resource['id']}"] = entry["response"]["location"].split("/_history/")[0]
    patient = Patient.objects.get(clinic=outsider.clinic)
    return sent, answer, everything(client_for(outsider), patient.pk), ids


def test_everything_imported_into_another_clinic_and_exported_again_loses_nothing(
    full_record, clinician, outsider, validator
) -> None:
    sent, _, received, ids = round_trip(full_record, clinician, outsider)

    kinds = sorted({r["resourceType"] for r in sent})
    assert kinds == sorted(
        ["Patient", "Condition", "Consent", "Procedure", "Observation", "AdverseEvent", "QuestionnaireResponse"]
    )
    procedure = next(r for r in sent if r["resourceType"] == "Procedure")
    assert len(procedure["bodySite"]) == 3
    assert any(r["resourceType"] == "Observation" and r.get("partOf") for r in sent)
    assert len(received) == len(sent)
    by_id = {f"{r['resourceType']}/{r['id']}": r for r in received}
    assert set(by_id) == set(ids.values())
    for original in sent:
        copy = by_id[ids[f"{original['resourceType']}/{original['id']}"]]
        assert validator.errors(copy) == [], copy
        if original["resourceType"] == "Patient":
            continue
        assert copy["id"].startswith("received-")
        assert copy["meta"]["versionId"] == "1"
        assert comparable(copy, {}) == comparable(original, ids), original["id"]

    a, b = sent[0], received[0]
    # A's MRN is kept beside B's own, without its use "usual": that is said of the record's own MRN, and in B it
    # is the other clinic's (the import notes "Not kept: Patient.identifier[0].use").
    assert b["identifier"][1:] == [{k: v for k, v in i.items() if k != "use"} for i in a["identifier"]]
    assert a["identifier"][0]["use"] == "usual"
    assert b["identifier"][0]["value"] == Patient.objects.get(clinic=outsider.clinic).mrn
    assert b["managingOrganization"] == {"display": outsider.clinic.name}
    for key in ("identifier", "managingOrganization"):
        a.pop(key), b.pop(key)
    assert comparable(b, {}) == comparable(a, ids)


def test_nothing_received_is_passed_off_as_the_clinics_own(full_record, clinician, outsider) -> None:
    sent, answer, _, _ = round_trip(full_record, clinician, outsider)
    patient = Patient.objects.get(clinic=outsider.clinic)
    # No visit, signed note, needle count, score, consent or episode of B's own: records from A, kept as received.
    for model in (Visit, AdverseEvent, Consent, Episode, ReportedCondition):
        assert not model.objects.filter(patient=patient).exists(), model
    kept = ReceivedRecord.objects.filter(patient=patient)
    assert kept.count() == len(sent) - 1
    assert {r.clinic_id for r in kept} == {outsider.clinic_id}
    assert {r.source for r in kept} == {"Test Clinic"}
    row = kept.first()
    assert row is not None
    with pytest.raises(ValueError, match="never changed"):
        row.save()
    with pytest.raises(ValueError, match="never deleted"):
        row.delete()
    messages = [m for _, m in import_messages_of(answer)]
    assert any(m.endswith("(kept as received).") for m in messages)
    assert AuditEntry.objects.filter(summary__contains="record(s) kept as received").count() == 1


def import_messages_of(answer: dict[str, Any]) -> list[tuple[str, str]]:
    class Answer:
        def json(self) -> dict[str, Any]:
            return answer

    return import_messages(Answer())


def test_the_chart_sums_up_the_records_from_the_sender_and_their_page_lists_them_all(
    full_record, clinician, outsider
) -> None:
    round_trip(full_record, clinician, outsider)
    patient = Patient.objects.get(clinic=outsider.clinic)
    kept = ReceivedRecord.objects.filter(patient=patient)
    page = client_for(outsider).get(f"/patients/{patient.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Records from Test Clinic" in html
    assert f"Adverse event: {kept.filter(resource_type='AdverseEvent').count()}" in html
    assert f"Procedure: {kept.filter(resource_type='Procedure').count()}" in html
    assert html.count('data-testid="received-record"') == min(kept.count(), 10)
    listing = client_for(outsider).get(f"/patients/{patient.pk}/received-records/").content.decode()
    assert "Adverse event" in listing and "Dry needling (needle insertion without injection)" in listing
    assert listing.count('data-testid="received-record"') == kept.count()


def test_the_screening_page_shows_the_conditions_received_whole(full_record, clinician, outsider) -> None:
    # A's episodes and A's reported condition say more than a reported condition keeps: kept whole, they are
    # still conditions the patient was reported with, beside the screening questions.
    round_trip(full_record, clinician, outsider)
    patient = Patient.objects.get(clinic=outsider.clinic)
    html = client_for(outsider).get(f"/patients/{patient.pk}/screening/new/").content.decode()
    conditions = ReceivedRecord.objects.filter(patient=patient, resource_type="Condition")
    assert conditions.count() == 3
    assert html.count('data-testid="received-record"') == 3
    assert "Hypertensive disorder" in html and "Neck pain" in html


def test_another_clinic_cannot_read_them(full_record, clinician, outsider) -> None:
    _, _, received, _ = round_trip(full_record, clinician, outsider)
    client = client_for(clinician)  # clinic A, where they came from, sees B's copies as nothing
    for resource in received[1:]:
        url = f"/fhir/R4/{resource['resourceType']}/{resource['id']}"
        assert client.get(url, HTTP_ACCEPT=FHIR_JSON).status_code == 404, url
        read = client_for(outsider).get(url, HTTP_ACCEPT=FHIR_JSON)
        assert read.status_code == 200, url
        assert read["ETag"] == 'W/"1"' and read.json() == resource
        assert client_for(outsider).get(f"{url}/_history/1", HTTP_ACCEPT=FHIR_JSON).json() == resource
        assert client.get(f"{url}/_history/1", HTTP_ACCEPT=FHIR_JSON).status_code == 404


def test_front_desk_reads_the_patient_and_none_of_the_records(full_record, clinician, outsider) -> None:
    _, _, received, _ = round_trip(full_record, clinician, outsider)
    desk = client_for(make_member(outsider.clinic, "dora", "front_desk"))
    for resource in received[1:]:
        url = f"/fhir/R4/{resource['resourceType']}/{resource['id']}"
        assert desk.get(url, HTTP_ACCEPT=FHIR_JSON).status_code == 403, url
    patient_id = received[0]["id"]
    assert [r["resourceType"] for r in everything(desk, patient_id)] == ["Patient"]
    search = desk.get(f"/fhir/R4/Procedure?patient={patient_id}", HTTP_ACCEPT=FHIR_JSON)
    assert search.status_code == 403
    page = desk.get(f"/patients/{patient_id}/").content.decode()
    assert "Records from" not in page


def test_front_desk_may_not_import_another_clinics_records(full_record, clinician, outsider) -> None:
    sent = everything(client_for(clinician), full_record.patient.pk)
    desk = client_for(make_member(outsider.clinic, "dora", "front_desk"))
    assert post_bundle(desk, as_transaction(sent)).status_code == 403
    assert not Patient.objects.filter(clinic=outsider.clinic).exists()


def test_the_patient_scoped_searches_find_them(full_record, clinician, outsider) -> None:
    _, _, received, _ = round_trip(full_record, clinician, outsider)
    client = client_for(outsider)
    patient_id = received[0]["id"]
    for kind in ("Condition", "Procedure", "Observation", "AdverseEvent", "Consent", "QuestionnaireResponse"):
        found = client.get(f"/fhir/R4/{kind}?patient={patient_id}", HTTP_ACCEPT=FHIR_JSON).json()
        assert found["total"] == len([r for r in received if r["resourceType"] == kind]) > 0, kind
    pain = client.get(f"/fhir/R4/Observation?patient={patient_id}&code=http://loinc.org|72514-3").json()
    assert pain["total"] == 3  # the pain rating and the visit's before and after, kept as received


BROKEN = [
    ("Procedure", lambda r: r.update(bodySite={"text": "one, not a list"}), "bodySite repeats"),
    ("Observation", lambda r: r.update(valueQuantity={"value": "5"}), "is not a number"),
    ("AdverseEvent", lambda r: r.pop("subject"), "subject must refer to it"),
    ("Consent", lambda r: r.update(scopee=r["scope"]), "scopee is not an element of Consent"),
    ("QuestionnaireResponse", lambda r: r.pop("status"), "status is required"),
]


@pytest.mark.parametrize(("kind", "breaks", "words"), BROKEN, ids=[b[0] for b in BROKEN])
def test_an_invalid_record_refuses_the_bundle_with_nothing_written(
    full_record, clinician, outsider, kind, breaks, words
) -> None:
    bundle = as_transaction(everything(client_for(clinician), full_record.patient.pk))
    broken = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind)
    breaks(broken)
    before = (Patient.objects.count(), ReceivedRecord.objects.count(), ReportedCondition.objects.count())
    response = post_bundle(client_for(outsider), bundle)
    assert response.status_code == 400, response.content
    said = [m for severity, m in import_messages(response) if severity == "error"]
    assert any(words in m for m in said), said
    assert (Patient.objects.count(), ReceivedRecord.objects.count(), ReportedCondition.objects.count()) == before


def test_a_reference_to_an_entry_not_kept_keeps_its_type_and_display_and_says_so(
    full_record, clinician, outsider
) -> None:
    bundle = as_transaction(everything(client_for(clinician), full_record.patient.pk))
    encounter = {"resourceType": "Encounter", "status": "finished", "class": {"code": "AMB"}}
    bundle["entry"].append(
        {
            "fullUrl": f"urn:uuid:{uuid.uuid4()}",
            "resource": encounter,
            "request": {"method": "POST", "url": "Encounter"},
        }
    )
    procedure = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Procedure")
    procedure["encounter"] = {"reference": bundle["entry"][-1]["fullUrl"]}
    response = post_bundle(client_for(outsider), bundle)
    assert response.status_code == 200, response.content
    messages = [m for _, m in import_messages(response)]
    assert any(m.startswith("Not kept: the reference at Bundle.entry[") and "(Encounter)" in m for m in messages)
    assert any(m.startswith("Encounter ignored (not stored)") for m in messages)
    kept = ReceivedRecord.objects.get(resource_type="Procedure")
    assert kept.resource["encounter"] == {"type": "Encounter", "display": "Encounter not kept by the receiving server"}


def test_a_kept_record_is_refused_by_the_action_for_another_patient(full_record, clinician) -> None:
    from needlepoint.patients.received_records import ReceivedRecordData

    item = ReceivedRecordData("Procedure", "999999-1", {"resourceType": "Procedure"})
    with pytest.raises(ValidationError, match="not one of this patient's"):
        patient_actions.keep_received_records(clinician, full_record.patient, [item], "Elsewhere")
    assert not ReceivedRecord.objects.exists()


def test_a_bulk_export_gives_them_as_the_reads_do(full_record, clinician, outsider, settings, tmp_path) -> None:
    from tests.fhir.conftest import token_client
    from tests.fhir.test_bulk_export import download, finished_manifest, kick_off

    settings.DATA_DIR = tmp_path
    _, _, received, _ = round_trip(full_record, clinician, outsider)
    admin = token_client(make_member(outsider.clinic, "olga", "clinic_admin"))
    found = download(admin, finished_manifest(admin, kick_off(admin, "/fhir/R4/$export")))
    exported = [r for lines in found.values() for r in lines]
    kept = [r for r in received if r["id"].startswith("received-")]
    assert len(kept) == len(received) - 1
    for resource in kept:
        assert resource in exported, resource["id"]


KEPT_EXAMPLES = [
    path
    for path in sorted(EXAMPLES.glob("*.json"))
    if json.loads(path.read_text(encoding="utf-8")).get("resourceType") in r4_structure.kept_types()
]


@pytest.mark.parametrize("path", KEPT_EXAMPLES, ids=lambda p: p.stem)
def test_every_r4_example_of_a_kept_type_has_the_structure_the_import_checks(path) -> None:
    # The official examples are valid R4: the import's check refuses none of them (Synthea's: test_import.py).
    assert r4_structure.structure_problems(json.loads(path.read_text(encoding="utf-8")), "R") == []


def test_the_structure_check_names_each_problem_where_it_is() -> None:
    observation = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": 7}]},
        "valueQuantity": {"value": True},
        "valueString": "and a second value",
        "component": [],
        "note": {"text": "one"},
        "_status": {"extension": []},
        "issued": "",
    }
    assert r4_structure.structure_problems(observation, "R") == [
        "R.component repeats in FHIR R4: send a list of one or more.",
        "R.note repeats in FHIR R4: send a list of one or more.",
        "R.issued is empty (instant).",
        "R: value[x] is sent more than once (valueQuantity, valueString).",
        "R.valueQuantity.value is not a number (decimal).",
        "R.code.coding[0].code is not a string (code).",
    ]
    assert r4_structure.structure_problems({"resourceType": "Observation", "code": {"text": "x"}}, "R") == [
        "R.status is required in FHIR R4 Observation."
    ]
    dated = {"resourceType": "Observation", "status": "final", "code": {"text": "x"}, "issued": "2024-13-01"}
    assert r4_structure.structure_problems(dated, "R") == ["R.issued is not written as R4 writes it (instant)."]
    assert r4_structure.structure_problems({"resourceType": "Encounter"}, "R") == [
        "R: 'Encounter' is not a type kept as received."
    ]


def test_the_types_kept_are_the_types_the_server_serves_and_the_chart_names() -> None:
    assert set(r4_structure.kept_types()) == set(records.CLINICAL_TYPES) == set(TYPE_LABELS)
    assert all(kind in r4_structure.kept_types() for kind in IMPORTED_TYPES if kind != "Patient")


def test_a_plain_pain_rating_is_still_the_clinics_rating_and_a_fuller_one_is_kept_whole() -> None:
    from django.utils import timezone

    from needlepoint.fhir.incoming import plan_import
    from tests.fhir.conftest import synthea_bundle, synthea_files

    bundle = synthea_bundle(synthea_files()[0])
    pain = [
        e
        for e in bundle["entry"]
        if any(c.get("code") == "72514-3" for c in e["resource"].get("code", {}).get("coding", []))
    ]
    plan = plan_import(bundle, timezone.now())
    assert len(plan.readings) == len(pain)
    said = [n.diagnostics for n in plan.notes]
    assert said.count(
        "Not kept: Observation.encounter, Observation.issued, Observation.meta; the pain rating recorded from it "
        "keeps its date and value."
    ) == len(pain)

    procedure = next(e for e in bundle["entry"] if e["resource"]["resourceType"] == "Procedure")
    pain[0]["resource"]["partOf"] = [{"reference": procedure["fullUrl"]}]
    plan = plan_import(bundle, timezone.now())
    assert len(plan.readings) == len(pain) - 1
    assert [k.entry for k in plan.kept if k.resource is pain[0]["resource"]] == [bundle["entry"].index(pain[0])]


def test_a_second_import_of_the_same_record_with_if_none_exist_is_refused_with_nothing_written(
    full_record, clinician, outsider
) -> None:
    sent, _, _, _ = round_trip(full_record, clinician, outsider)
    mrn = sent[0]["identifier"][0]
    bundle = as_transaction(sent)
    bundle["entry"][0]["request"]["ifNoneExist"] = f"identifier={mrn['system']}|{mrn['value']}"
    before = ReceivedRecord.objects.count()
    response = post_bundle(client_for(outsider), bundle)
    assert response.status_code == 409, response.content
    [(_, said)] = import_messages(response)
    assert "record(s) another clinic made, to keep as received" in said
    assert ReceivedRecord.objects.count() == before
    assert Patient.objects.filter(clinic=outsider.clinic).count() == 1
