"""Inputs that cannot crash (issue 11, findings 5, 6 and 7): NUL characters, broken characters, out-of-range
dates and time-zone offsets, other scripts' digits and ids beyond 64 bits get a clear 400 (or a form message, or
a 404 for an id naming nothing) on every surface, and change nothing; PDF text is printed as typed; CSV cells
never run as spreadsheet formulas; usernames are validated."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, timedelta
from datetime import timezone as dt_timezone

import pytest
from django.test import Client
from django.utils import timezone
from pypdf import PdfReader

from needlepoint.accounts import actions as account_actions
from needlepoint.accounts.models import Membership, User
from needlepoint.inputs import csv_cell, whole_number
from needlepoint.patients import actions as patient_actions
from needlepoint.patients.models import Patient
from tests.conftest import client_for
from tests.outcomes.conftest import odi

# A clinic enters its licensed wording before a questionnaire can go to a patient (the product refuses otherwise).
pytestmark = pytest.mark.usefixtures("clinic_wording")


def api_post(client: Client, path: str, body: str) -> object:
    return client.post(path, body, content_type="application/json")


# ---------------------------------------------------------------- NUL and broken characters


def test_a_nul_in_a_page_search_is_a_clear_400(clinician, patient) -> None:
    page = client_for(clinician).get("/patients/", {"q": "Do\x00e"})
    assert page.status_code == 400 and b"NUL character" in page.content


def test_a_nul_in_a_page_form_is_refused_and_nothing_is_saved(clinician) -> None:
    form = {"given_name": "Ja\x00ne", "family_name": "Doe", "date_of_birth": "1980-05-17", "sex": "female"}
    page = client_for(clinician).post("/patients/new/", form)
    assert page.status_code == 400 and b"NUL character" in page.content
    assert Patient.objects.count() == 0


def test_a_nul_in_an_api_body_is_a_clear_400(clinician, patient) -> None:
    body = json.dumps({"given_name": "Ja\x00ne", "family_name": "Doe", "date_of_birth": "1980-05-17"})
    response = api_post(client_for(clinician), "/api/v1/patients", body)
    assert response.status_code == 400 and "NUL" in response.json()["detail"]
    assert Patient.objects.count() == 1


def test_an_unpaired_surrogate_in_an_api_body_is_a_clear_400(clinician, patient) -> None:
    body = '{"given_name": "Ja\\udc00ne", "family_name": "Doe", "date_of_birth": "1980-05-17"}'
    response = api_post(client_for(clinician), "/api/v1/patients", body)
    assert response.status_code == 400 and "broken character" in response.json()["detail"]


def test_a_nul_in_a_fhir_search_is_an_operation_outcome(clinician, patient) -> None:
    response = client_for(clinician).get("/fhir/R4/Patient", {"name": "Do\x00e"})
    assert response.status_code == 400
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome" and "NUL" in outcome["issue"][0]["diagnostics"]


# ---------------------------------------------------------------- dates and time-zone offsets


@pytest.mark.parametrize("moment", ["2026-03-01T10:00:00+16:00", "2026-03-01T10:00:00-23:59"])
def test_a_time_zone_offset_beyond_15_59_is_a_clear_400(clinician, lbp_episode, moment) -> None:
    body = json.dumps({"instrument": "NPRS", "answers": {"pain": 4}, "time_point": "visit", "observed_at": moment})
    response = api_post(client_for(clinician), f"/api/v1/outcomes/episodes/{lbp_episode.pk}/observations", body)
    assert response.status_code == 400 and "-15:59 to +15:59" in response.json()["detail"]
    assert not lbp_episode.observations.exists()


def test_an_offset_within_15_59_is_accepted(clinician, lbp_episode) -> None:
    kiribati = dt_timezone(timedelta(hours=14))
    moment = (timezone.now() - timedelta(hours=1)).astimezone(kiribati).isoformat()
    body = json.dumps({"instrument": "NPRS", "answers": {"pain": 4}, "time_point": "visit", "observed_at": moment})
    response = api_post(client_for(clinician), f"/api/v1/outcomes/episodes/{lbp_episode.pk}/observations", body)
    assert response.status_code == 201


def test_a_date_at_the_calendars_end_on_the_insights_is_a_clear_400(clinic_admin) -> None:
    client = client_for(clinic_admin)
    page = client.get("/insights/", {"date_to": "9999-12-31"})
    assert page.status_code == 400 and b"8999-12-31" in page.content
    api = client.get("/api/v1/insights/claims", {"date_to": "9999-12-31"})
    assert api.status_code == 400 and "8999-12-31" in api.json()["detail"]
    # A date the guard lets through but no report can mean gets the filters' own message.
    later = client.get("/api/v1/insights/claims", {"date_to": "3500-01-01"})
    assert later.status_code == 400 and "2999-12-31" in later.json()["detail"]


def test_the_insights_filters_name_an_out_of_range_date_in_words(clinic) -> None:
    from needlepoint.insights.filters import FilterError, parse_filters

    with pytest.raises(FilterError) as refused:
        parse_filters(clinic.pk, {"date_to": "3500-01-01"})
    assert "2999-12-31" in refused.value.errors["date_to"]


# ---------------------------------------------------------------- digits and ids


def test_a_superscript_digit_as_a_clinician_on_the_insights_is_a_clear_400(clinic_admin, clinician) -> None:
    client = client_for(clinic_admin)
    response = client.get("/api/v1/insights/claims", {"clinician": "²"})
    assert response.status_code == 400 and "ASCII digits" in response.json()["detail"]
    page = client.get("/insights/", {"clinician": "²"})
    assert page.status_code in (200, 400) and b"ASCII digits" in page.content


def test_a_superscript_digit_as_a_fhir_id_is_a_clear_400(clinician, patient) -> None:
    response = client_for(clinician).get("/fhir/R4/Patient", {"_id": "²"})
    assert response.status_code == 400 and response.json()["resourceType"] == "OperationOutcome"
    assert "ASCII digits" in response.json()["issue"][0]["diagnostics"]
    found = client_for(clinician).get("/fhir/R4/Patient", {"_id": str(patient.pk)}).json()
    assert found["total"] == 1


@pytest.mark.parametrize("wanted", ["99999999999999999999999", "-18065825", "١"])
def test_an_id_no_record_can_have_is_not_found(clinician, patient, wanted) -> None:
    response = client_for(clinician).get(f"/api/v1/patients/{wanted}")
    assert response.status_code in (404, 422)


def test_an_id_beyond_64_bits_in_a_nested_path_is_not_found(clinician, patient) -> None:
    path = "/api/v1/patients/18132697720287368577024/consents/-18065825/withdraw"  # found by schemathesis
    response = api_post(client_for(clinician), path, json.dumps({"reason": "changed my mind"}))
    assert response.status_code == 404


def test_a_superscript_digit_in_a_questionnaire_answer_is_a_form_message(clinician, lbp_episode) -> None:
    from needlepoint.outcomes import actions

    issued = actions.create_self_report_link(clinician, lbp_episode, time_point="reassessment")
    form = {f"ODI-{k}": str(v) for k, v in odi(2).items()} | {"NPRS-pain": "²"}
    form |= {"PSFS-activity_1": "4", "PSFS-activity_2": "5", "PSFS-activity_3": "6"}
    page = Client().post(f"/p/{issued.token}/", form)
    assert page.status_code == 400 and not lbp_episode.observations.exists()


@pytest.mark.parametrize(
    ("text", "expected"),
    [("12", 12), (" 7 ", 7), ("-3", -3), ("²", None), ("١٢", None), ("１", None), ("1" * 20, None), ("", None)],
)
def test_whole_numbers_are_ascii_digits_within_64_bits(text, expected) -> None:
    assert whole_number(text) == expected


# ---------------------------------------------------------------- PDF text


@pytest.mark.parametrize("family_name", ["O$\\frac{1}{0}$Brien", "Doe $x^$", "$$"])
def test_a_name_with_dollar_signs_prints_as_typed_in_the_progress_pdf(clinician, family_name) -> None:
    patient = patient_actions.register_patient(
        clinician, {"given_name": "Jane", "family_name": family_name, "date_of_birth": date(1980, 5, 17)}
    )
    episode = patient_actions.open_episode(
        clinician,
        patient,
        {"condition": "low_back_pain", "icd10_code": "M54.50", "side": "central", "onset_date": date(2026, 1, 5)},
    )
    response = client_for(clinician).get(f"/patients/{patient.pk}/episodes/{episode.pk}/outcomes/report.pdf?for=doctor")
    assert response.status_code == 200
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    assert family_name in text


# ---------------------------------------------------------------- CSV and usernames


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ('=HYPERLINK("x")', '\'=HYPERLINK("x")'),
        ("+1", "'+1"),
        ("-2", "'-2"),
        ("@SUM", "'@SUM"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("plain", "plain"),
        (-2, "-2"),
        (None, ""),
    ],
)
def test_a_csv_cell_never_starts_like_a_formula(value, cell) -> None:
    assert csv_cell(value) == cell


def test_the_audit_csv_neutralises_a_formula_in_any_cell(clinic, clinic_admin) -> None:
    # An account named before usernames were validated still appears in the trail.
    legacy = User.objects.create_user(username='=HYPERLINK("http://x.test","y")', password="x-unused-password-1")
    membership = Membership.objects.create(user=legacy, clinic=clinic, role="front_desk")
    form = {"given_name": "@Ann", "family_name": "-Lee", "date_of_birth": "1990-01-02", "sex": "female"}
    assert client_for(membership).post("/patients/new/", form).status_code == 302
    body = b"".join(client_for(clinic_admin).get("/audit.csv").streaming_content).decode()
    rows = list(csv.reader(io.StringIO(body)))
    assert any(row[1].startswith("'=HYPERLINK") for row in rows[1:])
    for row in rows:
        assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in row), row


@pytest.mark.parametrize(
    "username", ['=HYPERLINK("http://x.test","y")', "+cmd", "-1", "@home", "has space", "x" * 151, "tab\there"]
)
def test_the_staff_api_refuses_a_username_that_is_not_safe(clinic_admin, username) -> None:
    body = {"username": username, "password": "a-long-unusual-passphrase-77", "role": "front_desk"}
    response = api_post(client_for(clinic_admin), "/api/v1/staff", json.dumps(body))
    assert response.status_code == 400 and "username" in response.json()["errors"]
    assert not User.objects.filter(username=username).exists()


def test_the_staff_page_refuses_a_formula_username(clinic_admin) -> None:
    form = {
        "first_name": "Eve",
        "last_name": "Formula",
        "username": "@admin",
        "password": "a-long-unusual-passphrase-77",
        "role": "front_desk",
    }
    page = client_for(clinic_admin).post("/staff/", form)
    assert b"cannot start with" in page.content
    assert not User.objects.filter(username="@admin").exists()


def test_a_plain_username_is_still_accepted(clinic) -> None:
    added = account_actions.create_user(clinic, "maria.lopez@clinic", "a-long-unusual-passphrase-77", "front_desk")
    assert added.user.username == "maria.lopez@clinic"


def test_a_fhir_body_over_the_size_limit_is_still_answered_413_by_fhir(clinician, settings) -> None:
    settings.FHIR_TRANSACTION_MAX_BYTES = 1000
    body = json.dumps({"resourceType": "Bundle", "type": "transaction", "entry": [], "pad": "x" * 2000})
    response = client_for(clinician).post("/fhir/R4", body, content_type="application/fhir+json")
    assert response.status_code == 413 and response.json()["resourceType"] == "OperationOutcome"
