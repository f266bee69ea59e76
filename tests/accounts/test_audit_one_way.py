"""One audit mechanism: each write action records its own entry (no save signal), the API names its token's user
through the request (no hidden setting), every patient search is recorded by one helper, and a bulk import writes
its entries through the same shaping as any other entry, chained with them."""

from __future__ import annotations

import csv
import io

import pytest
from django.test import Client

from needlepoint.accounts import audit
from needlepoint.accounts.actions import create_api_token
from needlepoint.accounts.models import AuditEntry
from needlepoint.accounts.verify import verify_audit_chain
from needlepoint.insights.importer import ImportOptions, import_outcomes
from tests.conftest import client_for

ROWS = [
    ["id", "time", "instrument", "value"],
    ["a1", 1, "NPRS", 7],
    ["a1", 2, "NPRS", 3],
    ["a2", 1, "NPRS", 6],
    ["a2", 2, "NPRS", 2],
]
OPTIONS = ImportOptions(condition="low_back_pain", instrument_col="instrument", value_col="value")
SHAPE = ("clinic_id", "user_id", "actor_label", "action", "object_type", "object_id", "summary", "via")


def _csv(rows: list[list[object]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode()


def test_an_api_request_is_recorded_as_its_tokens_user_through_the_api(clinician, patient) -> None:
    _token, raw = create_api_token(clinician, "audit")
    before = AuditEntry.objects.count()
    response = Client(HTTP_AUTHORIZATION=f"Bearer {raw}").get(f"/api/v1/patients/{patient.pk}")
    assert response.status_code == 200
    [entry] = AuditEntry.objects.order_by("pk")[before:]
    assert (entry.user_id, entry.via, entry.action, entry.patient_id) == (clinician.user_id, "api", "read", patient.pk)
    assert audit.current_actor() is None  # nothing set outside the request


def test_every_patient_search_is_one_search_entry(clinician, patient) -> None:
    _token, raw = create_api_token(clinician, "search")
    api = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    client = client_for(clinician)
    searches = [
        lambda: client.post("/patients/", {"q": patient.family_name}),
        lambda: api.get("/api/v1/patients", {"q": patient.family_name}),
        lambda: api.post("/api/v1/patients/search", {"q": patient.family_name}, content_type="application/json"),
    ]
    for search in searches:
        before = AuditEntry.objects.count()
        assert search().status_code == 200
        made = list(AuditEntry.objects.order_by("pk")[before:])
        assert [(e.action, e.summary) for e in made] == [("search", "patient search (1 found)")]


def test_an_import_writes_its_per_patient_entries_like_any_other_and_keeps_the_chain(clinician) -> None:
    actor = audit.Actor(clinician.user_id, clinician.clinic_id, "cli", None, "needlepoint import")
    with audit.event(actor):
        import_outcomes(clinician, _csv(ROWS), "audit.csv", OPTIONS)
    entries = list(AuditEntry.objects.filter(object_type="insights.OutcomeImport").order_by("pk"))
    per_patient, the_import = entries[:-1], entries[-1]
    assert len(per_patient) == 2 and len({e.patient_id for e in per_patient}) == 2
    for entry in per_patient:
        same = [getattr(entry, name) for name in SHAPE if name != "summary"]
        assert same == [getattr(the_import, name) for name in SHAPE if name != "summary"]
        assert entry.summary == "outcome import audit.csv" and entry.via == "cli"
    report = verify_audit_chain()
    assert report.broken is None and report.entries == AuditEntry.objects.count()


def test_a_write_action_records_its_own_entry(clinician, patient) -> None:
    """Entries are made by the actions (no save signal writes them): the action's update leaves one entry naming the
    acting user."""
    from needlepoint.patients.actions import update_patient

    actor = audit.Actor(clinician.user_id, clinician.clinic_id, "web", None, "alice")
    before = AuditEntry.objects.count()
    with audit.event(actor):
        update_patient(clinician, patient.pk, {"phone": "555-0100"}, expected_version=patient.version)
    [entry] = AuditEntry.objects.order_by("pk")[before:]
    assert (entry.action, entry.object_type, entry.user_id) == ("update", "patients.Patient", clinician.user_id)
    assert audit.take_unrecorded_writes() == []


def test_a_write_no_action_recorded_is_caught_by_the_safety_net(clinician, patient, settings, caplog) -> None:
    """Should an action forget ``audit.wrote``, its save still reaches the trail when the event ends: logged as an
    error and recorded under the event's actor, saying so (in production); refused in the tests' setting."""
    actor = audit.Actor(clinician.user_id, clinician.clinic_id, "web", None, "alice")
    settings.AUDIT_UNRECORDED_WRITES = "record"
    before = AuditEntry.objects.count()
    with audit.event(actor):
        patient.phone = "555-0101"
        patient.save()
    [entry] = AuditEntry.objects.order_by("pk")[before:]
    assert (entry.action, entry.object_type, entry.user_id) == ("update", "patients.Patient", clinician.user_id)
    assert "recorded by the audit safety net: patients.Patient #" in entry.summary
    assert "saved without audit.wrote" in caplog.text

    settings.AUDIT_UNRECORDED_WRITES = "raise"
    with pytest.raises(audit.UnrecordedWrite, match=r"patients\.Patient #"), audit.event(actor):
        patient.save()


def test_outside_an_event_the_net_settles_at_commit_and_the_test_guard_sees_the_rest(patient) -> None:
    """Outside any event a forgotten record is settled when the transaction commits; a test's transaction never
    commits, so tests/audit_guard.py takes what is left after each test and fails it if product code saved it."""
    from django.db import transaction

    from tests.audit_guard import unrecorded_by_product

    with transaction.atomic():
        patient.save()  # a test's own save: not the product's, so the guard leaves it be
    assert unrecorded_by_product() == []
    with transaction.atomic():
        patient.save()
    assert audit.take_unrecorded_writes() == [("patients.Patient", str(patient.pk))]
