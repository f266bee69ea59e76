"""Every error under /fhir/ is a FHIR OperationOutcome (application/fhir+json), never Django's HTML page: a walk
over bad requests, each with the status it must get and the words its diagnostics must hold."""

from __future__ import annotations

import pytest
from django.test import Client

from needlepoint.patients.models import ConsentText
from tests.conftest import client_for
from tests.fhir.conftest import Record

pytestmark = pytest.mark.django_db
BASE = "/fhir/R4"
FHIR_JSON = "application/fhir+json; charset=utf-8"

# (method, address under /fhir/, extra headers, status, words in the diagnostics). {p} is the patient's id,
# {v} the signed visit's, {e} the patient's version.
BAD_REQUESTS = [
    ("GET", "R4/Organization", {}, 404, "Resource type Organization is not supported"),
    ("GET", "R4/Organization/1", {}, 404, "Resource type Organization is not supported"),
    ("GET", "R4/Group/condition-neck-pain", {}, 404, "not an interaction this server supports"),
    ("GET", "R4/Patient/a_b", {}, 400, "is not a FHIR id"),
    ("GET", f"R4/Patient/{'1' * 65}", {}, 400, "is not a FHIR id"),
    ("GET", "R4/Patient/{p}/_history/{e}0", {}, 404, "only the current one"),
    ("GET", "R4/Patient/99999999", {}, 404, "No such resource"),
    ("GET", "R4/Observation/outcome-x", {}, 404, "No such resource"),
    ("GET", "R4/Patient/_history", {}, 405, "type-level history is not supported"),
    ("GET", "R4/_history", {}, 405, "system-level history is not supported"),
    ("POST", "R4/_search", {}, 405, "system-level search is not supported"),
    ("GET", "R4/Patient/{p}/$validate", {}, 404, "not an interaction this server supports"),
    ("GET", "R4/Condition/{p}/$everything", {}, 404, "not an interaction this server supports"),
    ("GET", "R4/metadata/", {}, 404, "No FHIR endpoint at /fhir/R4/metadata/"),
    ("GET", "R5/Patient", {}, 404, "the FHIR R4 base is /fhir/R4"),
    ("GET", "", {}, 404, "No FHIR endpoint"),
    ("PUT", "R4/Patient/{p}", {}, 405, "PUT is not supported here; use GET"),
    ("DELETE", "R4/Patient/{p}", {}, 405, "DELETE is not supported here"),
    ("PATCH", "R4/Procedure/{v}", {}, 405, "PATCH is not supported here"),
    ("POST", "R4/Patient", {}, 405, "POST is not supported here"),
    ("GET", "R4/Patient/_search", {}, 405, "GET is not supported here; use POST"),
    ("GET", "R4/Patient?address=Main", {}, 400, "Unsupported search parameter(s): address"),
    ("GET", "R4/Patient?name=doe&_count=many", {}, 400, "_count must be a whole number from 0 to 500"),
    ("GET", "R4/Patient?name=doe&_count=501", {}, 400, "_count must be a whole number from 0 to 500"),
    ("GET", "R4/Patient?name=doe&_offset=-1", {}, 400, "_offset must be a whole number"),
    ("GET", "R4/Patient?name=doe&_summary=true", {}, 400, "_summary=true is not supported"),
    ("GET", "R4/Condition", {}, 400, "patient=<id> is required"),
    ("GET", "R4/Patient/{p}/$everything?start=2024-13-01", {}, 400, "start is a date written YYYY-MM-DD"),
    ("GET", "R4/Patient/{p}/$everything?start=2025-01-02&end=2025-01-01", {}, 400, "start is after end"),
    ("GET", "R4/Patient/{p}/$everything?since=2025-01-01", {}, 400, "Unsupported search parameter(s): since"),
    ("GET", "R4/Patient/{p}?_format=xml", {}, 406, "_format=xml is not supported"),
    ("GET", "R4/Patient/{p}", {"HTTP_IF_MATCH": 'W/"999"'}, 412, "The current version is"),
    ("POST", "R4/", {"content_type": "text/plain"}, 415, "Send the Bundle as"),
    ("POST", "R4/Patient/_search", {"content_type": "application/json"}, 415, "form-encoded"),
]


def _request(client: Client, method: str, url: str, headers: dict[str, str]):
    extra = dict(headers)
    content_type = extra.pop("content_type", "application/x-www-form-urlencoded")
    call = getattr(client, method.lower())
    if method in ("POST", "PUT", "PATCH"):
        return call(url, "{}" if "json" in content_type or "text" in content_type else "", content_type, **extra)
    return call(url, **extra)


def assert_outcome(response, status: int, words: str) -> None:
    """The response is an OperationOutcome with ``status`` and an error issue whose diagnostics hold ``words``."""
    assert response.status_code == status, (response.status_code, response.content[:300])
    assert response["Content-Type"] == FHIR_JSON
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert any(words in i["diagnostics"] and i["severity"] == "error" for i in outcome["issue"]), outcome


def test_every_bad_request_is_answered_with_an_operation_outcome(clinician, record: Record) -> None:
    client = client_for(clinician)
    ids = {"p": record.patient.pk, "v": record.visit.pk, "e": record.patient.version}
    for method, address, headers, status, words in BAD_REQUESTS:
        url = f"/fhir/{address.format(**ids)}"
        response = _request(client, method, url, headers)
        assert_outcome(response, status, words)


def test_an_unsupported_type_is_told_the_types_the_capability_statement_lists(db) -> None:
    statement = Client().get(f"{BASE}/metadata").json()
    listed = [entry["type"] for entry in statement["rest"][0]["resource"]]
    assert {"Questionnaire", "Practitioner", "Group"} <= set(listed)
    response = Client().get(f"{BASE}/Organization")
    assert_outcome(response, 404, f"Resource type Organization is not supported; supported: {', '.join(listed)}.")


def test_without_credentials_a_read_is_401_with_the_bearer_challenge(record: Record) -> None:
    response = Client().get(f"{BASE}/Patient/{record.patient.pk}/_history/1")
    assert_outcome(response, 401, "Authorization: Bearer")
    assert response["WWW-Authenticate"] == 'Bearer realm="needlepoint"'
    revoked = Client(HTTP_AUTHORIZATION="Bearer np_not-a-token").get(f"{BASE}/Patient/{record.patient.pk}/_history")
    assert_outcome(revoked, 401, "The API token is not valid")


def test_front_desk_is_refused_clinical_versions_and_history_with_403(front_desk, record: Record) -> None:
    client = client_for(front_desk)
    for url in (f"Procedure/{record.visit.pk}/_history", f"Procedure/{record.visit.pk}/_history/1"):
        assert_outcome(client.get(f"{BASE}/{url}"), 403, "")


def test_another_clinics_record_is_404_in_history_as_in_read(outsider, record: Record) -> None:
    client = client_for(outsider)
    for url in (f"Patient/{record.patient.pk}", f"Patient/{record.patient.pk}/_history", "Patient/1/_history/1"):
        assert_outcome(client.get(f"{BASE}/{url}"), 404, "No such resource in your clinic")


def test_a_failure_inside_the_server_is_a_500_operation_outcome(clinician, record: Record) -> None:
    # A consent text whose material risks are not a list (written around the application) breaks the mapping.
    ConsentText.objects.filter(pk=record.current.text_id).update(material_risks=5)
    response = client_for(clinician).get(f"{BASE}/Consent/{record.current.pk}")
    assert_outcome(response, 500, "The server failed to answer; the error is logged")
