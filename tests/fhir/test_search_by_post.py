"""Searches with the terms in the body, not the address (so not in access logs): FHIR's
``POST [base]/[type]/_search`` (form-encoded) and the API's ``POST /api/v1/patients/search`` (JSON)."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from needlepoint.accounts.models import AuditEntry
from tests.conftest import client_for
from tests.fhir.conftest import Record, token_client

pytestmark = pytest.mark.django_db
BASE = "/fhir/R4"
FORM = "application/x-www-form-urlencoded"


def post_search(client: Client, url: str, body: str, content_type: str = FORM):
    return client.post(f"{BASE}/{url}", body, content_type=content_type, HTTP_ACCEPT="application/fhir+json")


def last_entry() -> int:
    return AuditEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def ids(bundle: dict) -> list[tuple[str, str]]:
    return [(e["resource"]["resourceType"], e["resource"]["id"]) for e in bundle.get("entry", [])]


def test_fhir_patient_search_by_post_finds_by_name_with_nothing_in_the_address(clinician, record: Record) -> None:
    client = token_client(clinician)  # another system: a token, no session and no CSRF token
    before = last_entry()

    response = post_search(client, "Patient/_search", "name=doe")

    assert response.status_code == 200, response.content
    bundle = response.json()
    assert bundle["type"] == "searchset" and ids(bundle) == [("Patient", str(record.patient.pk))]
    assert "doe" not in response.wsgi_request.get_full_path().lower()
    assert list(AuditEntry.objects.filter(pk__gt=before).values_list("action", flat=True)) == ["search"]
    assert post_search(client, "Patient/_search", "name=smith").json()["total"] == 0


def test_fhir_search_by_post_combines_body_and_address_and_searches_other_types(clinician, record: Record) -> None:
    client = client_for(clinician)
    mrn = record.patient.mrn

    both = post_search(client, "Patient/_search?_format=json", f"identifier={mrn}&name=doe")
    clash = post_search(client, "Patient/_search", f"identifier={mrn}&name=smith")
    procedures = post_search(client, "Procedure/_search", f"patient={record.patient.pk}")

    assert ids(both.json()) == [("Patient", str(record.patient.pk))]
    assert clash.json()["total"] == 0
    by_get = client.get(f"{BASE}/Procedure?patient={record.patient.pk}", HTTP_ACCEPT="application/fhir+json")
    assert procedures.status_code == 200 and procedures.json()["total"] >= 1
    assert ids(procedures.json()) == ids(by_get.json())


def test_fhir_search_by_post_refuses_what_it_cannot_read(clinician, record: Record) -> None:
    client = token_client(clinician)

    as_json = post_search(client, "Patient/_search", json.dumps({"name": "doe"}), content_type="application/json")
    unknown = post_search(client, "Patient/_search", "address=Main")
    by_get = client.get(f"{BASE}/Patient/_search?name=doe", HTTP_ACCEPT="application/fhir+json")

    assert as_json.status_code == 415 and "form-encoded" in as_json.content.decode()
    assert unknown.status_code == 400 and "Unsupported search parameter(s): address" in unknown.content.decode()
    assert by_get.status_code == 405
    assert Client().post(f"{BASE}/Patient/_search", "name=doe", content_type=FORM).status_code == 401


def test_another_clinic_finds_nothing_by_post(outsider, record: Record) -> None:
    assert post_search(token_client(outsider), "Patient/_search", "name=doe").json()["total"] == 0


def test_the_api_searches_patients_by_post_with_the_terms_in_the_body(clinician, record: Record) -> None:
    client = token_client(clinician)
    before = last_entry()

    response = client.post("/api/v1/patients/search", json.dumps({"q": "Doe, Ja"}), content_type="application/json")

    assert response.status_code == 200, response.content
    assert [p["id"] for p in response.json()] == [record.patient.pk]
    assert response.wsgi_request.get_full_path() == "/api/v1/patients/search"
    assert list(AuditEntry.objects.filter(pk__gt=before).values_list("action", flat=True)) == ["search"]
    missing = client.post("/api/v1/patients/search", "{}", content_type="application/json")
    assert missing.status_code == 422
    # "search" is never read as a patient's id.
    assert client.get("/api/v1/patients/search").status_code == 405


def test_the_openapi_schema_documents_the_search_body(clinician) -> None:
    schema = client_for(clinician).get("/api/v1/openapi.json").json()
    operation = schema["paths"]["/api/v1/patients/search"]["post"]
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    ref = body["$ref"].rsplit("/", 1)[-1]
    properties = schema["components"]["schemas"][ref]["properties"]

    assert set(properties) == {"q"} and "date of birth" in properties["q"]["description"]
    assert "access logs" in operation["description"]
    assert "access logs" in schema["paths"]["/api/v1/patients"]["get"]["description"]
