"""Parse once, at the edge: the visit page and the API read each write with the same input definition
(visits/inputs.py), so the same bad value is refused on the same field with the same message by both, and
nothing is written. Real HTTP through both edges, a real database."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from needlepoint.accounts.actions import create_api_token
from needlepoint.visits.models import AdverseEvent, NeedlingEntry, Visit
from tests.conftest import client_for
from tests.visits.visit_helpers import add, entry, fresh

HX = {"HTTP_HX_REQUEST": "true"}
LONG_TEXT = "x" * 301


@pytest.fixture
def api(clinician: Any) -> Client:
    _token, raw = create_api_token(clinician, "test")
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


def page_errors(response: Any, form_name: str) -> dict[str, list[str]]:
    """The errors of the form the page rendered, by field."""
    assert response.status_code == 200
    return {field: list(messages) for field, messages in response.context[form_name].errors.items()}


def api_errors(response: Any) -> dict[str, list[str]]:
    """The API's refusal by field (a 400, as for any refusal of a value)."""
    assert response.status_code == 400, response.content
    return dict(response.json()["errors"])


# --- one needling entry ------------------------------------------------------------------------------------

BAD_ENTRIES: list[tuple[dict[str, Any], str, str]] = [
    (
        {"muscle_id": "biceps-imaginarius"},
        "muscle_id",
        "Unknown muscle 'biceps-imaginarius'; choose a muscle of the atlas.",
    ),
    ({"muscle_id": ""}, "muscle_id", "Choose a muscle of the atlas."),
    ({"side": "middle"}, "side", "Choose the left or the right side."),
    ({"side": ""}, "side", "Choose the left or the right side."),
    (
        {"trigger_point": ""},
        "trigger_point",
        "Infraspinatus has several trigger points; choose one of TP1, TP2, medial-border.",
    ),
    (
        {"trigger_point": "TP9"},
        "trigger_point",
        "Infraspinatus has no trigger point 'TP9'; choose one of TP1, TP2, medial-border.",
    ),
    (
        {"muscle_id": "teres-minor", "trigger_point": "TP2"},
        "trigger_point",
        "Teres minor has no trigger point 'TP2'; choose one of TP.",
    ),
    ({"needles": "abc"}, "needles", "Enter how many needles were inserted."),
    ({"needles": ""}, "needles", "Enter how many needles were inserted."),
    ({"needles": "٣"}, "needles", "Enter how many needles were inserted."),
    (
        {"needles": "0"},
        "needles",
        "At least one needle is inserted in a needling entry (zero or negative is not a count).",
    ),
    ({"needles": "51"}, "needles", "More than 50 needles in one muscle; check the count."),
    ({"diameter_mm": "thick"}, "diameter_mm", "Choose the needle gauge from the clinic's stock."),
    ({"length_mm": ""}, "length_mm", "Choose the needle length from the clinic's stock."),
    ({"technique": "wiggling"}, "technique", "Choose static, pistoning, rotation or electrical stimulation."),
    ({"twitch_response": "lots"}, "twitch_response", "Choose none, single or several local twitch responses."),
    (
        {"technique": "static", "minutes_left_in": ""},
        "minutes_left_in",
        "Enter how many minutes the needles were left in.",
    ),
    ({"minutes_left_in": "0"}, "minutes_left_in", "Time left in is a whole number of minutes from 1 to 120."),
    ({"minutes_left_in": "ten"}, "minutes_left_in", "Time left in is a whole number of minutes from 1 to 120."),
    ({"patient_response": LONG_TEXT}, "patient_response", "Keep the patient's response under 300 characters."),
]


@pytest.mark.parametrize(("change", "field", "message"), BAD_ENTRIES)
def test_a_bad_needling_entry_is_refused_alike_by_the_page_and_the_api(
    clinician, visit, api, change, field, message
) -> None:
    data = entry() | change
    posted = {k: "" if v is None else v for k, v in data.items()} | {"version": str(visit.version)}
    page = client_for(clinician).post(f"/visits/{visit.pk}/needling/", posted, **HX)
    body = {k: v for k, v in data.items() if v is not None} | {"version": visit.version}
    answer = api.post(f"/api/v1/visits/{visit.pk}/needling", body, content_type="application/json")
    assert page_errors(page, "entry_form")[field] == [message]
    assert api_errors(answer)[field] == [message]
    assert not NeedlingEntry.objects.exists() and fresh(visit).version == visit.version


def test_a_needle_size_not_in_stock_is_refused_alike_on_each_field(clinician, visit, api) -> None:
    data = entry(diameter_mm="0.22", length_mm="33")
    page = client_for(clinician).post(
        f"/visits/{visit.pk}/needling/", data | {"minutes_left_in": "", "version": "1"}, **HX
    )
    answer = api.post(
        f"/api/v1/visits/{visit.pk}/needling",
        {k: v for k, v in data.items() if v is not None} | {"version": 1},
        content_type="application/json",
    )
    on_page, by_api = page_errors(page, "entry_form"), api_errors(answer)
    for field in ("diameter_mm", "length_mm"):
        assert on_page[field] == by_api[field] and "in stock" in on_page[field][0]


def test_json_numbers_are_read_as_the_page_reads_text(clinician, visit, api) -> None:
    body = entry(needles=3, diameter_mm=0.25, length_mm=30, minutes_left_in=None) | {"version": visit.version}
    answer = api.post(f"/api/v1/visits/{visit.pk}/needling", body, content_type="application/json")
    assert answer.status_code == 201
    row = NeedlingEntry.objects.get()
    assert (row.needles, str(row.diameter_mm), str(row.length_mm)) == (3, "0.25", "30.0")


def test_a_body_that_is_not_the_schema_is_still_422(visit, api) -> None:
    answer = api.post(f"/api/v1/visits/{visit.pk}/needling", {"version": 1}, content_type="application/json")
    assert answer.status_code == 422 and "muscle_id" in answer.json()["errors"]


# --- needle counts -----------------------------------------------------------------------------------------

BAD_COUNTS: list[tuple[dict[str, str], str, str]] = [
    ({"opened": "many"}, "opened", "Enter the needles opened as a whole number."),
    ({"removed": ""}, "removed", "Enter the needles removed as a whole number."),
    ({"in_sharps": "-1"}, "in_sharps", "Needles in sharps cannot be negative (-1)."),
    ({"opened": "2.5"}, "opened", "Enter the needles opened as a whole number."),
]


@pytest.mark.parametrize(("change", "field", "message"), BAD_COUNTS)
def test_bad_needle_counts_are_refused_alike_by_the_page_and_the_api(
    clinician, visit, api, change, field, message
) -> None:
    stored = add(clinician, visit)
    data = {"opened": "2", "removed": "2", "in_sharps": "2"} | change
    page = client_for(clinician).post(
        f"/visits/{visit.pk}/needle-counts/", data | {"version": str(stored.version)}, **HX
    )
    answer = api.put(
        f"/api/v1/visits/{visit.pk}/needle-count",
        data | {"version": stored.version},
        content_type="application/json",
    )
    assert page_errors(page, "counts_form")[field] == [message]
    assert api_errors(answer)[field] == [message]
    assert fresh(visit).version == stored.version


# --- adverse events ----------------------------------------------------------------------------------------


def _event(**change: str) -> dict[str, str]:
    return {
        "event_type": "bruising",
        "severity": "mild",
        "description": "",
        "onset_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
        "action_taken": "Pressure applied",
        "outcome": "ongoing",
        "follow_up_due": (timezone.localdate() + timedelta(days=2)).isoformat(),
        "observed_minutes": "",
    } | change


BAD_EVENTS: list[tuple[dict[str, str], str, str]] = [
    ({"event_type": "sneezing"}, "event_type", "Unknown adverse-event type 'sneezing'."),
    (
        {"event_type": "needle_left_in"},
        "event_type",
        "Record a needle unaccounted for with the needle count form of the visit.",
    ),
    ({"severity": "moderate"}, "severity", "Unknown severity 'moderate'; use one of mild, significant, serious."),
    ({"event_type": "other"}, "description", "Other needs a description of what happened."),
    ({"onset_at": "yesterday"}, "onset_at", "Enter when the event began."),
    ({"onset_at": "2999-01-01T10:00"}, "onset_at", "The onset cannot be in the future."),
    ({"action_taken": " "}, "action_taken", "Describe the action taken (or 'none needed')."),
    ({"outcome": "better"}, "outcome", "Choose the outcome so far."),
    ({"follow_up_due": ""}, "follow_up_due", "An event that has not resolved needs a follow-up date."),
    ({"follow_up_due": "2000-01-01"}, "follow_up_due", "The follow-up date cannot be in the past."),
    (
        {"observed_minutes": "10"},
        "observed_minutes",
        "Observation and driving advice are recorded for a fainting event only.",
    ),
]


@pytest.mark.parametrize(("change", "field", "message"), BAD_EVENTS)
def test_a_bad_adverse_event_is_refused_alike_by_the_page_and_the_api(
    clinician, visit, api, change, field, message
) -> None:
    data = _event(**change)
    page = client_for(clinician).post(f"/visits/{visit.pk}/adverse-events/new/", data)
    body = {k: v for k, v in data.items() if v != "" or k in change}
    answer = api.post(f"/api/v1/visits/{visit.pk}/adverse-events", body, content_type="application/json")
    assert page_errors(page, "form")[field] == [message]
    assert api_errors(answer)[field] == [message]
    assert not AdverseEvent.objects.exists()


# --- starting a visit --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("started_at", "message"),
    [
        ("not a date", "Enter the date and time of the visit."),
        ("2999-01-01T09:00", "The visit cannot be dated in the future."),
    ],
)
def test_a_bad_visit_start_is_refused_alike_by_the_page_and_the_api(
    clinician, episode, api, started_at, message
) -> None:
    page = client_for(clinician).post(f"/episodes/{episode.pk}/visits/new/", {"started_at": started_at})
    answer = api.post(
        "/api/v1/visits", {"episode_id": episode.pk, "started_at": started_at}, content_type="application/json"
    )
    assert page_errors(page, "form")["started_at"] == [message]
    assert api_errors(answer)["started_at"] == [message]
    assert not Visit.objects.exists()
