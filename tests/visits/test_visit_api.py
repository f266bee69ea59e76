"""The visits API over HTTP: a whole visit documented and signed, refusals as JSON 400, CPT in the API."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from needlepoint.accounts.actions import create_api_token


@pytest.fixture
def api(clinician) -> Client:
    _token, raw = create_api_token(clinician, "test")
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


def needling(version: int, muscle: str, point: str, side: str = "right", **change) -> dict:
    return {
        "version": version,
        "muscle_id": muscle,
        "side": side,
        "trigger_point": point,
        "needles": 2,
        "diameter_mm": "0.25",
        "length_mm": "30",
        "technique": "pistoning",
        "twitch_response": "several",
    } | change


def test_a_visit_documented_and_signed_through_the_api(api, episode) -> None:
    created = api.post("/api/v1/visits", {"episode_id": episode.pk, "pain_before": 6}, content_type="application/json")
    assert created.status_code == 201, created.content
    visit = created.json()
    url = f"/api/v1/visits/{visit['id']}"
    version = visit["version"]
    for muscle, point in (("infraspinatus", "TP1"), ("deltoid", "middle")):
        body = api.post(f"{url}/needling", needling(version, muscle, point), content_type="application/json").json()
        version = body["version"]
    assert body["cpt"]["code"] == "20560"
    body = api.post(f"{url}/needling", needling(version, "teres-minor", ""), content_type="application/json").json()
    assert body["cpt"] == {"code": "20561", "description": body["cpt"]["description"], "muscle_count": 3}
    count = body["needle_count"]
    assert (count["inserted"], count["balanced"]) == (6, False)
    body = api.put(
        f"{url}/needle-count",
        {"version": body["version"], "opened": 6, "removed": 6, "in_sharps": 6},
        content_type="application/json",
    ).json()
    assert body["needle_count"]["balanced"] is True
    signed = api.post(f"{url}/sign", {"version": body["version"]}, content_type="application/json").json()
    assert signed["cpt_code"] == "20561" and signed["signed_at"] and "CPT: 20561" in signed["note"]
    addendum = api.post(f"{url}/addenda", {"text": "Pain after 2/10."}, content_type="application/json")
    assert addendum.status_code == 201
    assert api.get(url).json()["addenda"][0]["text"] == "Pain after 2/10."


def test_refusals_are_json_400_with_the_action_message(api, visit) -> None:
    url = f"/api/v1/visits/{visit.pk}"
    bad = api.post(f"{url}/needling", needling(1, "infraspinatus", "TP1", needles=0), content_type="application/json")
    assert bad.status_code == 400 and "needles" in bad.json()["errors"]
    bad = api.post(
        f"{url}/needling", needling(1, "infraspinatus", "TP1", length_mm="33"), content_type="application/json"
    )
    assert bad.status_code == 400 and "No 33 mm long needle in stock" in bad.json()["detail"]
    warned = api.post(f"{url}/needling", needling(1, "piriformis", "lateral"), content_type="application/json")
    assert warned.status_code == 400 and "sciatic nerve" in warned.json()["detail"]
    ok = api.post(
        f"{url}/needling",
        needling(
            1,
            "piriformis",
            "lateral",
            acknowledgements={"nerve_vessel:piriformis:right": "Angled away from the sciatic nerve"},
        ),
        content_type="application/json",
    )
    assert ok.status_code == 201
    stale = api.patch(url, {"version": 1, "pain_after": 2}, content_type="application/json")
    assert stale.status_code == 400 and "Someone else changed this visit" in stale.json()["detail"]


def test_adverse_events_through_the_api(api, visit) -> None:
    onset = (timezone.now() + timedelta(minutes=1)).isoformat()
    due = (timezone.localdate() + timedelta(days=2)).isoformat()
    created = api.post(
        f"/api/v1/visits/{visit.pk}/adverse-events",
        {
            "event_type": "bruising",
            "severity": "mild",
            "onset_at": onset,
            "action_taken": "Pressure",
            "outcome": "ongoing",
            "follow_up_due": due,
        },
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    event = created.json()
    assert [e["id"] for e in api.get("/api/v1/visits/adverse-events/open").json()] == [event["id"]]
    closed = api.post(
        f"/api/v1/visits/adverse-events/{event['id']}/follow-ups",
        {"version": 1, "note": "Faded", "outcome": "resolved", "close": True},
        content_type="application/json",
    )
    assert closed.status_code == 201 and closed.json()["closed_at"]
    assert api.get("/api/v1/visits/adverse-events/open").json() == []


def test_another_clinic_gets_404(outsider, visit) -> None:
    _token, raw = create_api_token(outsider, "test")
    assert Client(HTTP_AUTHORIZATION=f"Bearer {raw}").get(f"/api/v1/visits/{visit.pk}").status_code == 404


def test_a_refused_copy_of_the_previous_needling_leaves_no_visit(api, clinician, episode, visit) -> None:
    from needlepoint.visits import actions
    from needlepoint.visits.models import Visit
    from tests.visits.visit_helpers import add, reconcile

    stored = reconcile(
        clinician,
        add(
            clinician,
            visit,
            {"nerve_vessel:piriformis:right": "Angled away from the sciatic nerve"},
            muscle="piriformis",
            trigger_point="lateral",
        ),
    )
    actions.sign_visit(clinician, visit.pk, stored.version)
    response = api.post(
        "/api/v1/visits", {"episode_id": episode.pk, "copy_previous_needling": True}, content_type="application/json"
    )
    assert response.status_code == 400 and "sciatic nerve" in response.json()["detail"]
    assert Visit.objects.count() == 1
