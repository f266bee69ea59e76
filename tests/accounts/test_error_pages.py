"""Refusals and missing pages answer people with a page and API clients with JSON."""

from __future__ import annotations

from tests.conftest import client_for


def test_a_refused_page_says_why_and_that_nothing_changed(front_desk, patient) -> None:
    response = client_for(front_desk).get(f"/patients/{patient.pk}/screening/new/")
    assert response.status_code == 403
    body = response.content.decode()
    assert "front desk" in body.lower()
    assert "Nothing was changed" in body


def test_a_missing_page_is_a_page(clinician) -> None:
    response = client_for(clinician).get("/no-such-page/")
    assert response.status_code == 404
    assert b"Not found" in response.content


def test_an_unknown_api_path_answers_json(clinician) -> None:
    response = client_for(clinician).get("/api/v1/no-such-endpoint")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


def test_schema_errors_name_the_field_without_a_location_prefix(clinician) -> None:
    response = client_for(clinician).post(
        "/api/v1/patients", {"given_name": "A", "family_name": "B"}, content_type="application/json"
    )
    assert response.status_code == 422
    assert "date_of_birth" in response.json()["errors"]
