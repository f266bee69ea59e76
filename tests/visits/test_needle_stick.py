"""Needle-stick injuries to staff: the actions (a named source patient needs a testing decision, steps are
never overwritten, closing needs every step), the pages, the API, the dashboard and the access rules."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils import timezone

from needlepoint.accounts.models import AuditEntry
from needlepoint.visits import needle_stick
from needlepoint.visits.models import NeedleStickIncident, VisitLocked
from tests.accounts.test_access_matrix import api_client
from tests.conftest import client_for
from tests.visits.visit_helpers import add, fresh


def stick(**change):
    """A needle-stick from a clean needle, wound washed at once."""
    now = timezone.now()
    return {
        "occurred_at": now - timedelta(minutes=30),
        "description": "Stuck while opening a new needle pack.",
        "source_kind": "clean_needle",
        "wound_washed_at": now - timedelta(minutes=29),
        "follow_up_due": timezone.localdate() + timedelta(days=7),
    } | change


def from_patient(visit, **change):
    return stick(source_kind="patient", source_visit_id=visit.pk, source_consent="consented") | change


# --- actions -----------------------------------------------------------------------------------------


def test_a_named_source_patient_without_a_testing_decision_is_refused_and_nothing_is_stored(clinician, visit) -> None:
    creates = AuditEntry.objects.filter(action="create", object_type="visits.NeedleStickIncident").count()
    for data in (from_patient(visit, source_consent=""), from_patient(visit, source_consent="not_asked")):
        with pytest.raises(ValidationError) as caught:
            needle_stick.record_needle_stick(clinician, data)
        assert "source_consent" in caught.value.error_dict
    assert "consented or declined" in " ".join(
        needle_stick_errors(clinician, from_patient(visit, source_consent=""))["source_consent"]
    )
    assert not NeedleStickIncident.objects.exists()
    assert AuditEntry.objects.filter(action="create", object_type="visits.NeedleStickIncident").count() == creates


def needle_stick_errors(clinician, data):
    try:
        needle_stick.record_needle_stick(clinician, data)
    except ValidationError as exc:
        return exc.message_dict
    raise AssertionError("expected a refusal")


def test_a_needle_stick_from_a_patient_is_stored_with_its_steps_and_audited_under_that_patient(
    clinician, colleague, visit
) -> None:
    incident = needle_stick.record_needle_stick(clinician, from_patient(visit, injured_id=colleague.pk))

    assert incident.injured == colleague and incident.recorded_by == clinician
    assert incident.source_patient_id == visit.patient_id and incident.source_visit_id == visit.pk
    assert incident.source_consent == "consented" and incident.source_consent_at is not None
    assert incident.steps_missing() == ["Reported to the clinic lead", "Post-exposure prophylaxis decision"]
    assert AuditEntry.objects.filter(
        action="create", object_type="visits.NeedleStickIncident", patient_id=visit.patient_id
    ).exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"source_kind": "clean_needle", "source_patient_id": 1}, "source_patient_id"),
        ({"source_kind": "patient"}, "source_patient_id"),
        ({"source_kind": "sharps"}, "source_kind"),
        ({"source_consent": "consented"}, "source_consent"),
        ({"occurred_at": timezone.now() + timedelta(hours=2)}, "occurred_at"),
        ({"occurred_at": "yesterday"}, "occurred_at"),
        ({"wound_washed_at": timezone.now() - timedelta(hours=3)}, "wound_washed_at"),
        ({"follow_up_due": timezone.localdate() - timedelta(days=1)}, "follow_up_due"),
        ({"follow_up_due": None}, "follow_up_due"),
        ({"description": ""}, "description"),
        ({"reported_to": "Dr Lead"}, "reported_at"),
        ({"pep_decision": "maybe"}, "pep_decision"),
        ({"injured_id": 999999}, "injured_id"),
    ],
)
def test_bad_input_gets_a_message_on_its_field_and_stores_nothing(clinician, change, field) -> None:
    with pytest.raises(ValidationError) as caught:
        needle_stick.record_needle_stick(clinician, stick(**change))
    assert field in caught.value.error_dict, caught.value
    assert not NeedleStickIncident.objects.exists()


def test_another_clinics_visit_or_staff_cannot_be_named(clinician, outsider, visit) -> None:
    with pytest.raises(ValidationError) as caught:
        needle_stick.record_needle_stick(outsider, from_patient(visit))
    assert "source_patient_id" in caught.value.error_dict
    with pytest.raises(ValidationError) as caught:
        needle_stick.record_needle_stick(clinician, stick(injured_id=outsider.pk))
    assert "injured_id" in caught.value.error_dict
    assert not NeedleStickIncident.objects.exists()


def test_steps_are_recorded_later_never_overwritten_and_closing_needs_them_all(clinician, visit) -> None:
    incident = needle_stick.record_needle_stick(clinician, from_patient(visit))
    with pytest.raises(ValidationError, match="Record these steps before closing: Reported to the clinic lead; "):
        needle_stick.close_needle_stick(clinician, incident.pk, "Baseline tests negative.", incident.version)

    now = timezone.now()
    later = needle_stick.record_needle_stick_steps(
        clinician,
        incident.pk,
        {"reported_at": now - timedelta(minutes=20), "reported_to": "Dr Lead", "pep_decision": "not_indicated"},
        incident.version,
    )
    assert later.version == 2 and later.steps_missing() == []

    with pytest.raises(ValidationError, match="already recorded and is not overwritten"):
        needle_stick.record_needle_stick_steps(
            clinician, incident.pk, {"pep_decision": "started", "pep_decided_at": now}, later.version
        )
    with pytest.raises(ValidationError, match="Someone else changed this incident"):
        needle_stick.record_needle_stick_steps(clinician, incident.pk, {"follow_up_due": timezone.localdate()}, 1)
    assert NeedleStickIncident.objects.get().pep_decision == "not_indicated"

    with pytest.raises(ValidationError, match="Say what the follow-up found"):
        needle_stick.close_needle_stick(clinician, incident.pk, "", later.version)
    closed = needle_stick.close_needle_stick(clinician, incident.pk, "Source tests negative; no PEP.", later.version)
    assert closed.closed_at is not None and closed.follow_up_due is None and closed.closed_by == clinician
    with pytest.raises(ValidationError, match="closed"):
        needle_stick.record_needle_stick_steps(clinician, incident.pk, {"follow_up_due": timezone.localdate()}, 3)


def test_an_incident_is_never_deleted_and_the_database_keeps_its_rules(clinician, visit) -> None:
    incident = needle_stick.record_needle_stick(clinician, stick())
    with pytest.raises(VisitLocked):
        incident.delete()
    with pytest.raises(VisitLocked):
        NeedleStickIncident.objects.all().delete()
    with pytest.raises(IntegrityError), transaction.atomic():
        NeedleStickIncident.objects.create(
            clinic_id=visit.clinic_id,
            injured=clinician,
            occurred_at=timezone.now(),
            description="Source named, no decision",
            source_kind="patient",
            source_patient_id=visit.patient_id,
            follow_up_due=timezone.localdate(),
            recorded_by=clinician,
        )


def test_front_desk_cannot_record_or_read_and_an_outsider_sees_nothing(clinician, front_desk, outsider) -> None:
    incident = needle_stick.record_needle_stick(clinician, stick())
    with pytest.raises(PermissionDenied):
        needle_stick.record_needle_stick(front_desk, stick())
    with pytest.raises(PermissionDenied):
        needle_stick.get_needle_stick(front_desk, incident.pk)
    with pytest.raises(Http404):
        needle_stick.get_needle_stick(outsider, incident.pk)
    assert needle_stick.open_needle_sticks(outsider) == []
    assert NeedleStickIncident.objects.count() == 1


# --- pages -------------------------------------------------------------------------------------------


def test_the_form_refuses_a_source_patient_without_a_decision_and_keeps_what_was_typed(clinician, visit) -> None:
    client = client_for(clinician)
    page = client.get(f"/needle-sticks/new/?visit={visit.pk}")
    assert page.status_code == 200 and visit.patient.full_name.encode() in page.content

    response = client.post(
        f"/needle-sticks/new/?visit={visit.pk}",
        {
            "occurred_at": (timezone.localtime() - timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M"),
            "description": "Stuck by a used needle while clearing the couch.",
            "source_kind": "patient",
            "source_visit_id": visit.pk,
            "source_consent": "",
            "follow_up_due": (timezone.localdate() + timedelta(days=7)).isoformat(),
        },
    )

    assert response.status_code == 200
    assert b"cannot be left" in response.content and b"not asked yet" in response.content
    assert b"Stuck by a used needle while clearing the couch." in response.content
    assert not NeedleStickIncident.objects.exists()


def test_an_injury_recorded_through_the_pages_is_listed_until_closed(clinician, clinic_admin, visit) -> None:
    client = client_for(clinician)
    response = client.post(
        "/needle-sticks/new/",
        {
            "occurred_at": (timezone.localtime() - timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M"),
            "description": "Stuck by a used needle while clearing the couch.",
            "source_kind": "patient",
            "source_patient_mrn": visit.patient.mrn,
            "source_consent": "declined",
            "wound_washed_at": (timezone.localtime() - timedelta(minutes=9)).strftime("%Y-%m-%dT%H:%M"),
            "follow_up_due": (timezone.localdate() + timedelta(days=7)).isoformat(),
        },
    )
    incident = NeedleStickIncident.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/needle-sticks/{incident.pk}/"
    assert incident.injured == clinician and incident.source_patient_id == visit.patient_id

    detail = client.get(f"/needle-sticks/{incident.pk}/").content.decode()
    assert "Declined testing" in detail and "Wound washed with soap and water" in detail
    assert 'href="/references/#S231"' in detail
    for page in (client.get("/needle-sticks/"), client.get("/"), client_for(clinic_admin).get("/needle-sticks/")):
        assert f"/needle-sticks/{incident.pk}/".encode() in page.content

    now = timezone.localtime()
    steps = client.post(
        f"/needle-sticks/{incident.pk}/",
        {
            "reported_at": (now - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M"),
            "reported_to": "Dr Lead",
            "pep_decision": "not_indicated",
            "version": 1,
        },
    )
    assert steps.status_code == 302
    refused = client.post(f"/needle-sticks/{incident.pk}/", {"closing_note": "", "version": 2})
    assert refused.status_code == 200 and NeedleStickIncident.objects.get().closed_at is None
    closed = client.post(f"/needle-sticks/{incident.pk}/", {"closing_note": "Baseline tests negative.", "version": 2})
    assert closed.status_code == 302 and NeedleStickIncident.objects.get().closed_at is not None
    listing = client.get("/needle-sticks/").content.decode()
    assert "No open needle-stick injuries." in listing and "None open." in client.get("/").content.decode()


def test_front_desk_and_admin_cannot_record_and_an_outsider_gets_not_found(
    clinician, front_desk, clinic_admin, outsider
) -> None:
    incident = needle_stick.record_needle_stick(clinician, stick())
    assert client_for(front_desk).get("/needle-sticks/").status_code == 403
    assert client_for(front_desk).get(f"/needle-sticks/{incident.pk}/").status_code == 403
    assert client_for(clinic_admin).get("/needle-sticks/new/").status_code == 403
    assert client_for(clinic_admin).get(f"/needle-sticks/{incident.pk}/").status_code == 200
    steps = {"reported_at": timezone.now().strftime("%Y-%m-%dT%H:%M"), "reported_to": "Lead", "version": 1}
    assert client_for(clinic_admin).post(f"/needle-sticks/{incident.pk}/", steps).status_code == 403
    desk_close = client_for(front_desk).post(f"/needle-sticks/{incident.pk}/", {"closing_note": "x", "version": 1})
    assert desk_close.status_code == 403
    assert client_for(outsider).get(f"/needle-sticks/{incident.pk}/").status_code == 404
    assert NeedleStickIncident.objects.get().closed_at is None and NeedleStickIncident.objects.get().version == 1


def test_the_clinic_admin_closes_an_incident_with_a_recorded_audited_note(clinician, clinic_admin) -> None:
    now = timezone.now()
    incident = needle_stick.record_needle_stick(
        clinician, stick(reported_at=now - timedelta(minutes=20), reported_to="Clinic lead", pep_decision="declined")
    )
    admin = client_for(clinic_admin)
    page = admin.get(f"/needle-sticks/{incident.pk}/").content.decode()
    assert 'data-testid="close-form"' in page and 'data-testid="steps-form"' not in page

    refused = admin.post(f"/needle-sticks/{incident.pk}/", {"closing_note": "ok", "version": incident.version})
    assert "Say what the follow-up found" in refused.content.decode()
    assert NeedleStickIncident.objects.get().closed_at is None

    note = "Six-week review: staff member well, no further testing advised."
    closed = admin.post(f"/needle-sticks/{incident.pk}/", {"closing_note": note, "version": incident.version})
    assert closed.status_code == 302
    incident.refresh_from_db()
    assert incident.closed_by == clinic_admin and incident.closing_note == note and incident.follow_up_due is None
    entry = AuditEntry.objects.filter(object_type="visits.NeedleStickIncident", object_id=str(incident.pk))
    assert entry.filter(user=clinic_admin.user, summary__endswith="closed").exists()
    shown = admin.get(f"/needle-sticks/{incident.pk}/").content.decode()
    assert note in shown and 'data-testid="close-form"' not in shown


def test_the_list_page_keeps_a_bounded_query_count(clinician, colleague, visit, django_assert_max_num_queries) -> None:
    client = client_for(clinician)
    needle_stick.record_needle_stick(clinician, from_patient(visit))
    with django_assert_max_num_queries(12) as one:
        assert client.get("/needle-sticks/").status_code == 200
    for n in range(6):
        needle_stick.record_needle_stick(colleague if n % 2 else clinician, from_patient(visit))
    with django_assert_max_num_queries(len(one.captured_queries)):
        assert client.get("/needle-sticks/").status_code == 200


# --- API ---------------------------------------------------------------------------------------------


def _json(data):
    return json.dumps({k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in data.items()})


def test_the_api_refuses_a_source_patient_without_a_decision_then_records_and_closes(clinician, visit) -> None:
    api = api_client(clinician)
    refused = api.post(
        "/api/v1/needle-sticks", _json(from_patient(visit, source_consent="")), content_type="application/json"
    )
    assert refused.status_code == 400 and "source_consent" in refused.json()["errors"]
    assert not NeedleStickIncident.objects.exists()

    created = api.post("/api/v1/needle-sticks", _json(from_patient(visit)), content_type="application/json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["source_patient_id"] == visit.patient_id and body["source_consent"] == "consented"
    assert body["steps_missing"] == ["Reported to the clinic lead", "Post-exposure prophylaxis decision"]
    assert [i["id"] for i in api.get("/api/v1/needle-sticks").json()] == [body["id"]]

    steps = {
        "version": 1,
        "reported_at": timezone.now().isoformat(),
        "reported_to": "Dr Lead",
        "pep_decision": "started",
    }
    updated = api.post(f"/api/v1/needle-sticks/{body['id']}/steps", json.dumps(steps), content_type="application/json")
    assert updated.status_code == 200 and updated.json()["steps_missing"] == []
    closed = api.post(
        f"/api/v1/needle-sticks/{body['id']}/close",
        json.dumps({"version": 2, "note": "PEP completed; 6-week tests negative."}),
        content_type="application/json",
    )
    assert closed.status_code == 200 and closed.json()["closed_at"] is not None
    assert api.get("/api/v1/needle-sticks").json() == []


def test_the_api_refuses_front_desk_and_hides_incidents_from_another_clinic(clinician, front_desk, outsider) -> None:
    incident = needle_stick.record_needle_stick(clinician, stick())
    denied = api_client(front_desk).post("/api/v1/needle-sticks", _json(stick()), content_type="application/json")
    assert denied.status_code == 403
    assert api_client(front_desk).get(f"/api/v1/needle-sticks/{incident.pk}").status_code == 403
    assert api_client(outsider).get(f"/api/v1/needle-sticks/{incident.pk}").status_code == 404
    assert NeedleStickIncident.objects.count() == 1


# --- the visit's position and checklist through the API ----------------------------------------------


def test_the_visit_api_records_position_and_checklist(clinician, visit) -> None:
    api = api_client(clinician)
    stored = add(clinician, visit)
    put = api.put(
        f"/api/v1/visits/{visit.pk}/position",
        json.dumps({"version": stored.version, "patient_positions": ["prone"]}),
        content_type="application/json",
    )
    assert put.status_code == 200 and put.json()["patient_positions"] == ["prone"]
    bad = api.put(
        f"/api/v1/visits/{visit.pk}/clean-technique",
        json.dumps({"version": fresh(visit).version, "gloves_worn": True, "items": ["mask"]}),
        content_type="application/json",
    )
    assert bad.status_code == 400 and fresh(visit).clean_technique == {}
    done = api.put(
        f"/api/v1/visits/{visit.pk}/clean-technique",
        json.dumps({"version": fresh(visit).version, "gloves_worn": True}),
        content_type="application/json",
    )
    assert done.status_code == 200
    assert done.json()["clean_technique"]["items"][0] == "hand_hygiene"
    assert "Clean technique: hand hygiene" in done.json()["note"]
