"""The /fhir/R4/ endpoints over HTTP: authentication, roles and clinics, searches, $everything, the audit trail."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from needlepoint.accounts.models import AuditEntry
from needlepoint.fhir import codes, mapping
from needlepoint.fhir.views import STREAM_PIECE_BYTES, fhir_response, streamed_bundle
from needlepoint.outcomes import actions as outcome_actions
from needlepoint.outcomes.scoring import instrument
from needlepoint.visits import actions as visit_actions
from tests.conftest import audit_lock_queries, client_for, response_json
from tests.fhir.conftest import Record, token_client
from tests.visits.visit_helpers import signed_visit

pytestmark = pytest.mark.django_db
BASE = "/fhir/R4"


def get(client: Client, url: str, **headers: str):
    return client.get(f"{BASE}/{url}", HTTP_ACCEPT=headers.pop("accept", "application/fhir+json"), **headers)


def ids(bundle: dict) -> list[tuple[str, str]]:
    return [(e["resource"]["resourceType"], e["resource"]["id"]) for e in bundle.get("entry", [])]


def test_metadata_is_a_capability_statement(clinician) -> None:
    response = get(client_for(clinician), "metadata")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/fhir+json; charset=utf-8"
    statement = response.json()
    assert statement["resourceType"] == "CapabilityStatement"
    assert statement["implementation"]["url"] == "http://testserver/fhir/R4"


def test_a_clinician_reads_the_patient_with_its_version_as_etag(clinician, record: Record, validator) -> None:
    response = get(client_for(clinician), f"Patient/{record.patient.pk}")
    assert response.status_code == 200
    assert response["ETag"] == f'W/"{record.patient.version}"'
    assert response.json()["identifier"][0]["value"] == record.patient.mrn
    assert validator.errors(response.json()) == []


def test_everything_holds_the_whole_record_for_a_clinician(clinician, record: Record, validator) -> None:
    response = get(client_for(clinician), f"Patient/{record.patient.pk}/$everything")
    assert response.status_code == 200
    bundle = response_json(response)
    assert bundle["type"] == "searchset"
    # 12 records, and the item answers of the two questionnaires answered (NDI and the 0-10 pain rating).
    assert bundle["total"] == len(bundle["entry"]) == 14
    assert ids(bundle)[0] == ("Patient", str(record.patient.pk))
    assert {t for t, _ in ids(bundle)} == {
        "Patient",
        "Condition",
        "Consent",
        "Procedure",
        "Observation",
        "AdverseEvent",
        "QuestionnaireResponse",
    }
    assert bundle["entry"][0]["fullUrl"] == f"http://testserver/fhir/R4/Patient/{record.patient.pk}"
    assert validator.errors(bundle) == []
    assert response.streaming and response["Content-Type"] == "application/fhir+json; charset=utf-8"
    assert response.getvalue() == fhir_response(bundle).content  # the bytes a whole response carries


BASE_URL = "http://testserver/fhir/R4"


def _observations(count: int, **extra: object) -> list[dict]:
    """``count`` Observations with text in three scripts and values the JSON encoder writes (a date, a time, a
    decimal), each about 700 bytes as JSON."""
    return [
        {
            "resourceType": "Observation",
            "id": f"o-{n}",
            "effectiveDateTime": datetime(2026, 3, 1, 9, 30, tzinfo=UTC),
            "issued": date(2026, 3, 2),
            "valueQuantity": {"value": Decimal("7.50")},
            "note": [{"text": "Schmerz " * 40 + "ü 痛み 🙂"}],
            **extra,
        }
        for n in range(count)
    ]


def _streamed(resources: list[dict]) -> Any:
    """The streamed response of a searchset of ``resources``."""
    head = mapping.searchset(BASE_URL, f"{BASE_URL}/x", [], 999)
    entries = [mapping.searchset_entry(BASE_URL, r) for r in resources]
    return streamed_bundle(RequestFactory().get("/fhir/R4/x"), head, entries)


@pytest.mark.parametrize("count", [0, 1, 400])
def test_a_streamed_bundle_is_the_bundle_sent_whole_in_pieces(count: int) -> None:
    """``streamed_bundle`` sends, in pieces of about 64 KiB, the bytes ``fhir_response`` sends whole: no entry
    lost, none twice, the JSON the same to the byte; an entry is never split."""
    resources = _observations(count)
    pieces = list(_streamed(resources).streaming_content)
    whole = fhir_response(mapping.searchset(BASE_URL, f"{BASE_URL}/x", resources, 999)).content
    assert b"".join(pieces) == whole
    if len(whole) < STREAM_PIECE_BYTES:
        assert len(pieces) == 1
    else:
        largest_entry = max(len(json.dumps(e, default=str).encode()) for e in _observations(1)) + 200
        assert len(pieces) >= len(whole) // (STREAM_PIECE_BYTES + largest_entry)
        assert all(STREAM_PIECE_BYTES <= len(p) < STREAM_PIECE_BYTES + largest_entry for p in pieces[:-1])


def test_a_bundle_that_cannot_be_written_fails_before_its_first_byte_or_ends_early_logged(caplog) -> None:
    """An entry that is not JSON in the first piece fails the call (the view's wrapper answers an
    OperationOutcome); in a later piece, the error is logged and the body ends early, never a whole-looking
    Bundle. Nothing the product stores makes either happen: this holds the contract."""
    with pytest.raises(TypeError):
        _streamed(_observations(1, extension={"not", "json"}))
    late = _observations(399) + _observations(1, extension={"not", "json"})
    sent = iter(_streamed(late).streaming_content)
    assert next(sent).startswith(b'{"resourceType": "Bundle"')
    with pytest.raises(TypeError):
        list(sent)
    assert "FHIR GET /fhir/R4/x failed while its body was sent" in caplog.text
    with pytest.raises(ValueError):
        streamed_bundle(RequestFactory().get("/"), {}, [])


# Session, user and membership; the Patient, its identifiers and clinic; the clinic's staff; conditions, reported
# conditions, records kept as received, consents, adverse events, signed visits, their needling entries, scores,
# range-of-motion measurements, the questionnaires' wording; the audit entry (hash, insert); the session's save
# (in a savepoint). Each list's rows once: fetched per list, this was 31.
EVERYTHING_BUDGET = 22


def _more_history(clinician, record: Record) -> None:
    """A second signed visit with an adverse event of its own, and another pain rating, questionnaire and range
    of motion."""
    # Between the first visit and now, so that the event's onset (now) follows it at any time of day: the first
    # visit starts no earlier than midnight, and ten minutes after it was still to come just after midnight.
    now = timezone.now()
    started = record.visit.started_at + (now - record.visit.started_at) / 2
    visit = visit_actions.start_visit(
        clinician, record.neck, {"started_at": started, "pain_before": 5, "pain_after": 2}
    )
    visit = signed_visit(clinician, visit)
    visit_actions.record_adverse_event(
        clinician,
        visit.pk,
        {
            "event_type": "bruising",
            "severity": "mild",
            "description": "Small bruise over deltoid",
            "onset_at": now,
            "action_taken": "Pressure applied for one minute",
            "outcome": "resolved",
            "follow_up_due": None,
        },
    )
    outcome_actions.record_pain(clinician, record.neck, 4, time_point="reassessment")
    ndi = instrument("NDI")
    outcome_actions.record_questionnaire(
        clinician, record.neck, "NDI", {i.id: 2 for i in ndi.items}, time_point="reassessment"
    )
    outcome_actions.record_rom(
        clinician,
        record.neck,
        joint="cervical_spine",
        movement="rotation",
        side="right",
        degrees=60,
        method="crom",
        time_point="reassessment",
    )


def test_everything_costs_as_many_queries_however_long_the_history(
    clinician, full_record: Record, django_assert_max_num_queries
) -> None:
    """Each list's rows are fetched once for the whole record, and rows two lists share once for both: never a
    query a row, nor the same rows twice."""
    client = client_for(clinician)
    url = f"Patient/{full_record.patient.pk}/$everything"
    get(client, url)  # the session's first request
    with django_assert_max_num_queries(EVERYTHING_BUDGET + audit_lock_queries()) as short:
        before = response_json(get(client, url))
    _more_history(clinician, full_record)
    with CaptureQueriesContext(connection) as longer:
        after = response_json(get(client, url))
    # A Procedure, an AdverseEvent, 5 Observations (two of them the visit's pain) and 2 QuestionnaireResponses.
    assert after["total"] == before["total"] + 9
    assert len(longer) == len(short)


def test_a_clinic_admin_reads_clinical_resources_too(clinic_admin, record: Record) -> None:
    response = get(client_for(clinic_admin), f"Procedure?patient={record.patient.pk}")
    assert response.status_code == 200
    assert ids(response.json()) == [("Procedure", str(record.visit.pk))]


def test_front_desk_gets_only_the_patient(front_desk, record: Record) -> None:
    client = client_for(front_desk)
    assert get(client, f"Patient/{record.patient.pk}").status_code == 200
    everything = response_json(get(client, f"Patient/{record.patient.pk}/$everything"))
    assert ids(everything) == [("Patient", str(record.patient.pk))]
    for url in (
        f"Condition?patient={record.patient.pk}",
        f"Consent?patient={record.patient.pk}",
        f"Observation?patient={record.patient.pk}",
        f"Procedure/{record.visit.pk}",
        f"AdverseEvent/{record.event.pk}",
    ):
        response = get(client, url)
        assert response.status_code == 403, url
        assert response.json()["issue"][0]["code"] == "forbidden"
    assert AuditEntry.objects.filter(user=front_desk.user, action="denied").count() == 5


def test_another_clinic_sees_nothing(outsider, record: Record) -> None:
    client = client_for(outsider)
    for url in (
        f"Patient/{record.patient.pk}",
        f"Patient/{record.patient.pk}/$everything",
        f"Condition?patient={record.patient.pk}",
        f"Observation?patient={record.patient.pk}",
        f"Condition/{record.neck.pk}",
        f"Procedure/{record.visit.pk}",
        f"AdverseEvent/{record.event.pk}",
        f"Consent/{record.current.pk}",
        f"Observation/visit-{record.visit.pk}-pain-before",
    ):
        response = get(client, url)
        assert response.status_code == 404, url
        assert response.json() == {
            "resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": "not-found", "diagnostics": "No such resource in your clinic."}],
        }
    search = get(client, f"Patient?identifier={record.patient.mrn}").json()
    assert search["total"] == 0


def test_searches_by_patient_return_that_patients_resources(clinician, record: Record) -> None:
    client = client_for(clinician)
    conditions = get(client, f"Condition?patient=Patient/{record.patient.pk}").json()
    assert sorted(ids(conditions)) == sorted([("Condition", str(record.neck.pk)), ("Condition", str(record.back.pk))])
    consents = get(client, f"Consent?patient={record.patient.pk}").json()
    assert [e["resource"]["status"] for e in consents["entry"]] == ["inactive", "active"]
    events = get(client, f"AdverseEvent?patient={record.patient.pk}").json()
    assert ids(events) == [("AdverseEvent", str(record.event.pk))]
    observations = get(client, f"Observation?patient={record.patient.pk}").json()
    assert observations["total"] == 5
    for _, observation_id in ids(observations):
        read = get(client, f"Observation/{observation_id}")
        assert read.status_code == 200, observation_id
        assert read.json()["id"] == observation_id


def test_patient_search_by_identifier_name_and_id(clinician, colleague, record: Record) -> None:
    client = client_for(clinician)
    mrn = record.patient.mrn
    system = codes.mrn_system(record.patient.clinic.slug)
    found = {
        "identifier": [f"{system}|{mrn}", mrn, f"|{mrn}", mrn.lower()],
        "none": [f"http://other.example|{mrn}", f"{system}|XX-999"],
    }
    for query in found["identifier"]:
        assert ids(get(client, f"Patient?identifier={query}").json()) == [("Patient", str(record.patient.pk))], query
    for query in found["none"]:
        assert get(client, f"Patient?identifier={query}").json()["total"] == 0, query
    for name in ("doe", "Jane", "jane d", "DOE JA"):
        assert get(client, f"Patient?name={name}").json()["total"] == 1, name
    assert get(client, "Patient?name=smith").json()["total"] == 0
    assert get(client, f"Patient?_id={record.patient.pk}").json()["total"] == 1
    assert get(client, f"Patient?name=doe&identifier={system}|XX-999").json()["total"] == 0


@pytest.mark.parametrize(
    ("url", "status", "words"),
    [
        ("Patient", 400, "Search patients by at least one of: _id, identifier, name, family, gender, birthdate"),
        ("Patient?address-city=x", 400, "Unsupported search parameter(s): address-city"),
        ("Condition", 400, "patient=<id> is required"),
        ("Condition?patient=abc", 404, "No such resource"),
        ("Observation/nonsense-1", 404, "No such resource"),
        ("Patient/99999", 404, "No such resource"),
        ("metadata?_format=xml", 406, "_format=xml is not supported"),
    ],
)
def test_bad_requests_answer_an_operation_outcome(clinician, record: Record, url: str, status: int, words: str) -> None:
    response = get(client_for(clinician), url)
    assert response.status_code == status
    assert response["Content-Type"].startswith("application/fhir+json")
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert words in outcome["issue"][0]["diagnostics"]


def test_content_negotiation_and_methods(clinician, record: Record) -> None:
    client = client_for(clinician)
    assert get(client, f"Patient/{record.patient.pk}", accept="text/html").status_code == 406
    assert get(client, f"Patient/{record.patient.pk}", accept="application/json").status_code == 200
    assert get(client, f"Patient/{record.patient.pk}", accept="text/html, */*;q=0.1").status_code == 200
    assert client.post(f"{BASE}/metadata").status_code == 405
    assert client.delete(f"{BASE}/Patient/{record.patient.pk}").status_code == 405


def test_reads_and_searches_are_in_the_audit_trail(clinician, record: Record) -> None:
    client = client_for(clinician)
    before = AuditEntry.objects.count()
    get(client, f"Patient/{record.patient.pk}")
    get(client, f"Condition?patient={record.patient.pk}")
    get(client, f"Procedure/{record.visit.pk}")
    get(client, f"Patient/{record.patient.pk}/$everything")
    entries = list(AuditEntry.objects.order_by("pk")[before:])
    assert all(e.user_id == clinician.user_id and e.clinic_id == clinician.clinic_id for e in entries)
    assert all(e.patient_id == record.patient.pk for e in entries)
    summaries = [(e.action, e.object_type, e.summary) for e in entries]
    assert ("read", "patients.Patient", "patient (view_demographics)") in summaries
    assert ("search", "fhir.Condition", f"FHIR Condition?patient={record.patient.pk}: 2 returned") in summaries
    assert ("read", "visits.Visit", "") in summaries
    assert ("export", "fhir.Patient.everything", "FHIR Patient/$everything: 14 resources") in summaries


def test_a_session_post_needs_the_csrf_token(clinician) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(clinician.user)
    response = client.post(f"{BASE}/", "{}", content_type="application/fhir+json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["issue"][0]["diagnostics"]


def test_a_session_without_a_clinic_is_refused(db) -> None:
    from needlepoint.accounts.models import User

    client = Client()
    client.force_login(User.objects.create_user(username="nomember", password="x" * 20))
    response = get(client, "Patient?name=doe")
    assert response.status_code == 403


def test_a_token_reads_as_its_membership_and_is_audited_as_api(clinician, record: Record) -> None:
    response = get(token_client(clinician), f"Patient/{record.patient.pk}")
    assert response.status_code == 200
    entry = AuditEntry.objects.filter(action="read", patient_id=record.patient.pk).latest("pk")
    assert (entry.via, entry.user_id) == ("api", clinician.user_id)


def test_a_front_desk_token_gets_only_the_patient(front_desk, record: Record) -> None:
    client = token_client(front_desk)
    assert get(client, f"Condition?patient={record.patient.pk}").status_code == 403
    assert ids(response_json(get(client, f"Patient/{record.patient.pk}/$everything"))) == [
        ("Patient", str(record.patient.pk))
    ]


def test_no_credentials_or_a_bad_token_is_401(record: Record) -> None:
    for client in (Client(), Client(HTTP_AUTHORIZATION="Bearer np_not-a-real-token")):
        response = get(client, f"Patient/{record.patient.pk}")
        assert response.status_code == 401
        assert response["WWW-Authenticate"].startswith("Bearer")
        assert response.json()["issue"][0]["code"] == "login"


def test_metadata_needs_no_credentials(db) -> None:
    response = get(Client(), "metadata")
    assert response.status_code == 200
    assert response.json()["resourceType"] == "CapabilityStatement"
