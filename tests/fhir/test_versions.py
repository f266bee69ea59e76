"""Versions over HTTP: meta.versionId and meta.lastUpdated on every resource type, the same values as the ETag
and Last-Modified of a read, conditional reads (304, 412), vread of the current version, an instance's _history,
versions that rise when a record changes, and a CapabilityStatement that lists exactly what works."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.test import Client
from django.utils import timezone
from django.utils.http import http_date, parse_http_date

from needlepoint.accounts.models import AuditEntry
from needlepoint.patients import actions as patient_actions
from needlepoint.visits import actions as visit_actions
from tests.conftest import client_for, response_json
from tests.fhir.conftest import Record

pytestmark = pytest.mark.django_db
BASE = "/fhir/R4"


def get(client: Client, url: str, **headers: str):
    return client.get(f"{BASE}/{url}", HTTP_ACCEPT="application/fhir+json", **headers)


def everything(client: Client, record: Record) -> list[dict]:
    bundle = response_json(get(client, f"Patient/{record.patient.pk}/$everything"))
    return [e["resource"] for e in bundle["entry"]]


def last_entry() -> int:
    return AuditEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def test_every_resource_type_carries_its_version_as_etag_and_last_modified(clinician, record: Record) -> None:
    client = client_for(clinician)
    resources = everything(client, record)
    assert {r["resourceType"] for r in resources} == {
        "Patient",
        "Condition",
        "Consent",
        "Procedure",
        "Observation",
        "AdverseEvent",
        "QuestionnaireResponse",
    }
    for resource in resources:
        meta = resource["meta"]
        path = f"{resource['resourceType']}/{resource['id']}"
        response = get(client, path)
        assert response.status_code == 200, path
        assert response.json()["meta"] == meta, path
        assert response["ETag"] == f'W/"{meta["versionId"]}"', path
        updated = datetime.fromisoformat(meta["lastUpdated"])
        assert response["Last-Modified"] == http_date(updated.timestamp()), path
        assert updated <= timezone.now(), path


def test_a_current_copy_is_answered_304_and_a_stale_one_200(clinician, record: Record) -> None:
    client = client_for(clinician)
    for path in (f"Patient/{record.patient.pk}", f"Procedure/{record.visit.pk}", f"Condition/{record.neck.pk}"):
        first = get(client, path)
        etag, modified = first["ETag"], first["Last-Modified"]
        before = last_entry()
        same = get(client, path, HTTP_IF_NONE_MATCH=etag)
        assert same.status_code == 304 and same.content == b"" and same["ETag"] == etag, path
        # Even a 304 tells the client about patient data: the read is in the trail.
        assert AuditEntry.objects.filter(pk__gt=before, action="read").count() == 1
        assert get(client, path, HTTP_IF_NONE_MATCH='W/"0", ' + etag).status_code == 304
        assert get(client, path, HTTP_IF_NONE_MATCH='W/"0"').status_code == 200
        assert get(client, path, HTTP_IF_MODIFIED_SINCE=modified).status_code == 304
        earlier = http_date(parse_http_date(modified) - 60)
        assert get(client, path, HTTP_IF_MODIFIED_SINCE=earlier).status_code == 200
        # If-None-Match wins over If-Modified-Since (RFC 9110, 13.2.2).
        assert get(client, path, HTTP_IF_NONE_MATCH='W/"0"', HTTP_IF_MODIFIED_SINCE=modified).status_code == 200
        assert get(client, path, HTTP_IF_MATCH=etag).status_code == 200
        assert get(client, path, HTTP_IF_MATCH='W/"0"').status_code == 412


def _open_event(clinician, record: Record):
    return visit_actions.record_adverse_event(
        clinician,
        record.visit.pk,
        {
            "event_type": "bruising",
            "severity": "mild",
            "description": "Second bruise",
            "onset_at": timezone.now(),  # the visit starts no earlier than midnight: "a minute ago" may precede it
            "action_taken": "Pressure applied",
            "outcome": "ongoing",
            "follow_up_due": timezone.localdate() + timedelta(days=2),
        },
    )


def test_a_change_raises_the_version_and_the_old_etag_is_no_longer_current(clinician, record: Record) -> None:
    client = client_for(clinician)
    condition = get(client, f"Condition/{record.neck.pk}")
    procedure = get(client, f"Procedure/{record.visit.pk}")
    consent = get(client, f"Consent/{record.current.pk}")
    event = _open_event(clinician, record)  # a new complication of the Procedure
    event_before = get(client, f"AdverseEvent/{event.pk}")

    patient_actions.discharge_episode(clinician, record.neck, timezone.localdate(), "goals_met")
    visit_actions.record_follow_up(
        clinician,
        event.pk,
        note="Gone",
        outcome="resolved",
        next_follow_up_due=None,
        close=True,
        expected_version=event.version,
    )
    patient_actions.withdraw_consent(clinician, record.current, "Changed their mind")

    for before in (condition, procedure, event_before, consent):
        path = before.wsgi_request.path.removeprefix(f"{BASE}/")
        after = get(client, path, HTTP_IF_NONE_MATCH=before["ETag"])
        assert after.status_code == 200, path
        old, new = before.json()["meta"], after.json()["meta"]
        assert int(new["versionId"]) == int(old["versionId"]) + 1, path
        assert new["lastUpdated"] >= old["lastUpdated"], path
        assert get(client, f"{path}/_history/{old['versionId']}").status_code == 404


def test_vread_of_the_current_version_is_the_read(clinician, record: Record) -> None:
    client = client_for(clinician)
    for resource in everything(client, record):
        path = f"{resource['resourceType']}/{resource['id']}"
        response = get(client, f"{path}/_history/{resource['meta']['versionId']}")
        assert response.status_code == 200, path
        assert response.json() == resource
        assert response["ETag"] == f'W/"{resource["meta"]["versionId"]}"'


def test_instance_history_lists_the_current_version_alone(clinician, record: Record, validator) -> None:
    client = client_for(clinician)
    patient_actions.discharge_episode(clinician, record.neck, timezone.localdate(), "goals_met")
    before = last_entry()
    response = get(client, f"Condition/{record.neck.pk}/_history")
    assert response.status_code == 200
    bundle = response.json()
    assert bundle["type"] == "history" and bundle["total"] == 1
    (entry,) = bundle["entry"]
    assert entry["resource"] == get(client, f"Condition/{record.neck.pk}").json()
    assert entry["request"] == {"method": "PUT", "url": f"Condition/{record.neck.pk}"}
    assert entry["response"]["etag"] == 'W/"2"'
    assert entry["fullUrl"] == f"http://testserver{BASE}/Condition/{record.neck.pk}"
    assert validator.errors(bundle) == []
    assert list(AuditEntry.objects.filter(pk__gt=before).values_list("action", flat=True))[:1] == ["read"]


def test_the_capability_statement_lists_the_interactions_that_answer(clinician, record: Record) -> None:
    client = client_for(clinician)
    statement = get(Client(), "metadata").json()
    examples = {r["resourceType"]: r for r in everything(client, record)}
    examples["Questionnaire"] = get(client, "Questionnaire/ndi").json()
    examples["Practitioner"] = get(client, f"Practitioner/{clinician.pk}").json()
    checks = {
        "read": lambda r: f"{r['resourceType']}/{r['id']}",
        "vread": lambda r: f"{r['resourceType']}/{r['id']}/_history/{r['meta']['versionId']}",
        "history-instance": lambda r: f"{r['resourceType']}/{r['id']}/_history",
        "search-type": lambda r: (
            f"{r['resourceType']}?"
            + (
                f"_id={r['id']}"
                if r["resourceType"] in ("Patient", "Questionnaire", "Practitioner")
                else f"patient={record.patient.pk}"
            )
        ),
    }
    listed = [r for r in statement["rest"][0]["resource"] if r["type"] != "Group"]  # Group: only its $export
    assert {r["type"] for r in listed} == set(examples)
    for entry in listed:
        assert entry["versioning"] == "versioned" and entry["conditionalRead"] == "full-support"
        for interaction in entry["interaction"]:
            url = checks[interaction["code"]](examples[entry["type"]])
            assert get(client, url).status_code == 200, url
    # What is not listed does not answer.
    assert get(client, "Patient/_history").status_code == 405
    assert all("history-type" not in str(entry["interaction"]) for entry in listed)
