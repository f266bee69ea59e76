"""The appointment API with a personal token: book, list, refuse bad input with JSON errors, change status,
start the visit, reminders and the reminder preference."""

from __future__ import annotations

import json
from datetime import timedelta

from django.core import mail
from django.test import Client
from django.utils import timezone

from needlepoint.accounts.actions import create_api_token
from needlepoint.patients.models import Patient
from needlepoint.scheduling.models import Appointment, ContactPreference
from needlepoint.visits.models import Visit
from tests.scheduling.conftest import appointment_at, at
from tests.visits.visit_helpers import open_neck_episode

API = "/api/v1/scheduling"


def api(membership) -> Client:
    _, raw = create_api_token(membership, "tests")
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


def post(client: Client, url: str, body: dict, method: str = "POST"):
    return client.generic(method, url, json.dumps(body), content_type="application/json")


def book_body(patient, clinician, starts_at, **change):
    return {
        "patient_id": patient.pk,
        "clinician_id": clinician.pk,
        "kind": "follow_up",
        "starts_at": starts_at.isoformat(),
    } | change


def test_booking_and_listing_through_the_api(front_desk, clinician, patient):
    client = api(front_desk)
    response = post(client, f"{API}/appointments", book_body(patient, clinician, at(1, 9)))

    assert response.status_code == 201
    [booked] = response.json()
    assert booked["patient_name"] == "Jane Doe" and booked["kind_label"] == "Follow-up"
    assert booked["minutes"] == 30 and booked["status"] == "booked" and booked["visit_id"] is None

    day = (timezone.localdate() + timedelta(days=1)).isoformat()
    listed = client.get(f"{API}/appointments", {"day": day}).json()
    assert [a["id"] for a in listed] == [booked["id"]]
    assert client.get(f"{API}/appointments").json() == []  # today has none
    assert client.get(f"{API}/appointments/{booked['id']}").json()["clinician_id"] == clinician.pk


def test_a_series_and_its_clashes_through_the_api(front_desk, clinician, patient):
    client = api(front_desk)
    post(client, f"{API}/appointments", book_body(patient, clinician, at(1, 9) + timedelta(weeks=3)))

    refused = post(client, f"{API}/appointments", book_body(patient, clinician, at(1, 9), repeat=6))

    assert refused.status_code == 400
    assert refused.json()["detail"].startswith("Not booked:")
    assert "Alice is already booked then" in refused.json()["detail"]
    assert Appointment.objects.count() == 1
    ok = post(client, f"{API}/appointments", book_body(patient, clinician, at(1, 11), repeat=6))
    assert ok.status_code == 201 and len(ok.json()) == 6


def test_bad_bookings_get_json_errors_by_field_and_store_nothing(front_desk, clinician, patient):
    client = api(front_desk)
    past = post(client, f"{API}/appointments", book_body(patient, clinician, timezone.now() - timedelta(hours=2)))
    length = post(client, f"{API}/appointments", book_body(patient, clinician, at(1, 9), minutes=25))
    schema = post(client, f"{API}/appointments", {"patient_id": patient.pk})

    assert past.status_code == 400 and "is in the past" in past.json()["errors"]["starts_at"][0]
    assert length.status_code == 400 and length.json()["errors"]["minutes"] == [
        "Choose a length of 30, 45, 60 minutes for a follow-up appointment."
    ]
    assert schema.status_code == 422 and "clinician_id" in schema.json()["errors"]
    assert not Appointment.objects.exists()


def test_status_changes_through_the_api(front_desk, clinician, patient):
    client = api(front_desk)
    [booked] = post(client, f"{API}/appointments", book_body(patient, clinician, at(1, 9))).json()
    url = f"{API}/appointments/{booked['id']}/status"

    no_reason = post(client, url, {"status": "cancelled"})
    cancelled = post(client, url, {"status": "cancelled", "reason": "clinician ill", "version": 1})
    back = post(client, url, {"status": "booked"})
    completed = post(client, url, {"status": "completed"})

    assert no_reason.status_code == 400 and "reason" in no_reason.json()["errors"]
    assert cancelled.status_code == 200 and cancelled.json()["cancel_reason"] == "clinician ill"
    assert back.status_code == 400 and "it is closed" in back.json()["detail"]
    assert completed.status_code == 400
    assert Appointment.objects.get().status == "cancelled"


def test_a_clinician_starts_the_visit_through_the_api(front_desk, clinician, cleared_patient):
    open_neck_episode(clinician, cleared_patient)
    start = timezone.now().replace(second=0, microsecond=0)
    appointment = appointment_at(clinician, cleared_patient, start, booked_by=front_desk)
    response = post(api(clinician), f"{API}/appointments/{appointment.pk}/start-visit", {})

    assert response.status_code == 200
    assert response.json()["visit_id"] == Visit.objects.get().pk
    assert response.json()["appointment"]["status"] == "in_treatment"


def test_reminder_and_preference_through_the_api(front_desk, clinician, patient):
    Patient.objects.filter(pk=patient.pk).update(email="jane@example.org")
    client = api(front_desk)
    [booked] = post(client, f"{API}/appointments", book_body(patient, clinician, at(1, 9))).json()
    pref = f"{API}/patients/{patient.pk}/contact-preference"

    assert client.get(pref).json() == {"email_reminders": True}
    assert post(client, pref, {"email_reminders": False}, method="PUT").json() == {"email_reminders": False}
    refused = post(client, f"{API}/appointments/{booked['id']}/reminder", {})
    assert refused.status_code == 400 and "asked for no appointment reminders" in refused.json()["detail"]
    assert mail.outbox == []

    post(client, pref, {"email_reminders": True}, method="PUT")
    sent = post(client, f"{API}/appointments/{booked['id']}/reminder", {})
    assert sent.status_code == 201 and sent.json()["sent_to"] == "jane@example.org"
    assert len(mail.outbox) == 1 and ContactPreference.objects.count() == 1
