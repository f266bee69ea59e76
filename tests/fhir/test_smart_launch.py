"""SMART App Launch 2.0 through the Django test client: discovery, authorize with PKCE, the consent page and its
patient choice, the token with ``patient``, scoped reads allowed and refused, another patient refused, refresh,
revocation (RFC 7009 and the user's page), a reused code and a wrong verifier refused, the EHR launch from a
patient's page, and the role's limits kept under any scope."""

from __future__ import annotations

import base64
import hashlib
import secrets
from datetime import date
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
from django.test import Client

from needlepoint.accounts.models import AuditEntry
from needlepoint.fhir.models import AppAuthorisation
from needlepoint.fhir.smart_pages import register_app
from needlepoint.patients import actions
from needlepoint.patients.models import Patient
from tests.conftest import client_for, response_json
from tests.fhir.conftest import Record, token_client
from tests.visits.visit_helpers import open_neck_episode

BASE = "/fhir/R4"
REDIRECT = "https://app.example/callback"
FHIR = {"HTTP_ACCEPT": "application/fhir+json"}


@pytest.fixture
def app(clinic_admin):
    registered, _ = register_app(
        clinic_admin,
        "Pain diary viewer",
        "public",
        "launch launch/patient offline_access online_access patient/*.rs user/*.rs",
        REDIRECT,
        "https://app.example/launch",
    )
    return registered


@pytest.fixture
def other_patient(clinician):
    return actions.register_patient(
        clinician, {"given_name": "Olga", "family_name": "Other", "date_of_birth": date(1970, 3, 3), "sex": "female"}
    )


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def authorize(browser: Client, app, scope: str, challenge: str, patient=None, launch: str = "") -> str:
    """Open the consent page, choose the patient if asked, allow; the code sent back to the redirect URI."""
    query = {
        "response_type": "code",
        "client_id": app.application.client_id,
        "redirect_uri": REDIRECT,
        "scope": scope,
        "state": "xyz",
        "aud": "http://testserver/fhir/R4",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    if launch:
        query["launch"] = launch
    page = browser.get(f"/oauth/authorize/?{urlencode(query)}")
    assert page.status_code == 200, page.content
    assert app.application.name in page.content.decode()
    form = {k: v for k, v in page.context["form"].initial.items() if v is not None}
    if patient is not None and not launch:
        found = browser.get(f"/oauth/authorize/?{urlencode({**query, 'find': patient.family_name})}")
        assert patient.full_name in found.content.decode()
        form["patient"] = str(patient.pk)
    answer = browser.post("/oauth/authorize/", {**form, "allow": "on"})
    assert answer.status_code == 302, answer.content
    sent = parse_qs(urlparse(answer["Location"]).query)
    assert answer["Location"].startswith(REDIRECT) and sent["state"] == ["xyz"]
    return sent["code"][0]


def exchange(app, code: str, verifier: str) -> tuple[int, dict]:
    response = Client().post(
        "/oauth/token/",
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "client_id": app.application.client_id,
            "code_verifier": verifier,
        },
    )
    return response.status_code, response.json()


def bearer(token: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}")


def launched(clinician, app, patient, scope: str) -> dict:
    verifier, challenge = pkce()
    code = authorize(client_for(clinician), app, scope, challenge, patient)
    status, body = exchange(app, code, verifier)
    assert status == 200, body
    return body


def test_discovery_names_the_endpoints_and_pkce(db) -> None:
    for url in (f"{BASE}/.well-known/smart-configuration", "/fhir/.well-known/smart-configuration"):
        found = Client().get(url).json()
        assert found["authorization_endpoint"] == "http://testserver/oauth/authorize/"
        assert found["token_endpoint"] == "http://testserver/oauth/token/"
        assert found["revocation_endpoint"] == "http://testserver/oauth/revoke/"
        assert found["code_challenge_methods_supported"] == ["S256"]
        assert {"launch-standalone", "launch-ehr", "permission-v2", "context-standalone-patient"} <= set(
            found["capabilities"]
        )
        assert "patient/*.rs" in found["scopes_supported"]


def test_capability_statement_declares_smart_security(db) -> None:
    security = Client().get(f"{BASE}/metadata", **FHIR).json()["rest"][0]["security"]
    assert security["service"][0]["coding"][0]["code"] == "SMART-on-FHIR"
    uris = {e["url"]: e["valueUri"] for e in security["extension"][0]["extension"]}
    assert uris["token"] == "http://testserver/oauth/token/"
    assert uris["authorize"] == "http://testserver/oauth/authorize/"


def test_standalone_launch_reads_the_chosen_patient_within_its_scopes(
    clinician, app, record: Record, other_patient
) -> None:
    patient = record.patient
    scope = "launch/patient offline_access patient/Observation.rs patient/Patient.r"
    body = launched(clinician, app, patient, scope)
    assert body["patient"] == str(patient.pk) and body["token_type"].lower() == "bearer"
    assert set(body["scope"].split()) == set(scope.split()) and body["refresh_token"]
    reader = bearer(body["access_token"])

    assert reader.get(f"{BASE}/Patient/{patient.pk}", **FHIR).status_code == 200
    observations = reader.get(f"{BASE}/Observation", {"patient": patient.pk}, **FHIR)
    assert observations.status_code == 200 and observations.json()["total"] > 0
    # Outside the scopes: conditions, a search of patients (Patient.s not granted), a write.
    for url in (f"{BASE}/Condition?patient={patient.pk}", f"{BASE}/Patient?name=a"):
        refused = reader.get(url, **FHIR)
        assert refused.status_code == 403
        assert refused.json()["resourceType"] == "OperationOutcome"
        assert "do not allow" in refused.json()["issue"][0]["diagnostics"]
    # Another patient of the same clinic: refused under a patient/ scope.
    assert reader.get(f"{BASE}/Patient/{other_patient.pk}", **FHIR).status_code == 403
    assert reader.get(f"{BASE}/Observation?patient={other_patient.pk}", **FHIR).status_code == 403
    # The trail names the app.
    entry = AuditEntry.objects.filter(patient_id=patient.pk, action="search").latest("pk")
    assert "Pain diary viewer" in entry.actor_label


def test_a_code_is_used_once_and_only_with_its_verifier(clinician, app, record: Record) -> None:
    verifier, challenge = pkce()
    browser = client_for(clinician)
    code = authorize(browser, app, "launch/patient patient/*.rs", challenge, record.patient)
    wrong, _ = pkce()
    status, body = exchange(app, code, wrong)
    assert status == 400 and body["error"] == "invalid_grant"
    verifier, challenge = pkce()
    code = authorize(browser, app, "launch/patient patient/*.rs", challenge, record.patient)
    assert exchange(app, code, verifier)[0] == 200
    status, body = exchange(app, code, verifier)
    assert status == 400 and body["error"] == "invalid_grant"


def test_pkce_is_required(clinician, app) -> None:
    query = {"response_type": "code", "client_id": app.application.client_id, "redirect_uri": REDIRECT}
    page = client_for(clinician).get(f"/oauth/authorize/?{urlencode({**query, 'scope': 'user/*.rs'})}")
    assert page.status_code == 302 and "error=invalid_request" in page["Location"]
    assert "code=" not in page["Location"]


def test_refresh_keeps_the_patient_and_a_used_refresh_token_is_refused(clinician, app, record: Record) -> None:
    body = launched(clinician, app, record.patient, "launch/patient offline_access patient/*.rs")
    refreshed = Client().post(
        "/oauth/token/",
        {"grant_type": "refresh_token", "refresh_token": body["refresh_token"], "client_id": app.application.client_id},
    )
    assert refreshed.status_code == 200, refreshed.content
    again = refreshed.json()
    assert again["patient"] == str(record.patient.pk) and again["access_token"] != body["access_token"]
    assert bearer(again["access_token"]).get(f"{BASE}/Patient/{record.patient.pk}", **FHIR).status_code == 200
    assert bearer(body["access_token"]).get(f"{BASE}/Patient/{record.patient.pk}", **FHIR).status_code == 401
    reused = Client().post(
        "/oauth/token/",
        {"grant_type": "refresh_token", "refresh_token": body["refresh_token"], "client_id": app.application.client_id},
    )
    assert reused.status_code == 400


def test_revocation_endpoint_ends_a_token(clinician, app, record: Record) -> None:
    body = launched(clinician, app, record.patient, "launch/patient patient/*.rs")
    revoked = Client().post("/oauth/revoke/", {"token": body["access_token"], "client_id": app.application.client_id})
    assert revoked.status_code == 200
    answer = bearer(body["access_token"]).get(f"{BASE}/Patient/{record.patient.pk}", **FHIR)
    assert answer.status_code == 401 and answer.json()["resourceType"] == "OperationOutcome"


def test_the_user_sees_and_withdraws_an_app(clinician, app, record: Record) -> None:
    body = launched(clinician, app, record.patient, "launch/patient offline_access patient/*.rs")
    browser = client_for(clinician)
    page = browser.get("/account/apps/")
    assert b"Pain diary viewer" in page.content and record.patient.full_name in page.content.decode()
    authorisation = AppAuthorisation.objects.get(membership=clinician)
    assert browser.post("/account/apps/", {"revoke": authorisation.pk}).status_code == 302
    assert bearer(body["access_token"]).get(f"{BASE}/Patient/{record.patient.pk}", **FHIR).status_code == 401
    refused = Client().post(
        "/oauth/token/",
        {"grant_type": "refresh_token", "refresh_token": body["refresh_token"], "client_id": app.application.client_id},
    )
    assert refused.status_code == 400
    assert b'name="revoke"' not in browser.get("/account/apps/").content


def test_ehr_launch_from_the_patient_page_brings_the_patient(clinician, app, record: Record) -> None:
    browser = client_for(clinician)
    page = browser.get(f"/patients/{record.patient.pk}/").content.decode()
    assert "Open in app" in page and f'action="/patients/{record.patient.pk}/launch-app/"' in page
    started = browser.post(f"/patients/{record.patient.pk}/launch-app/", {"app": app.pk})
    assert started.status_code == 302
    sent = parse_qs(urlparse(started["Location"]).query)
    assert started["Location"].startswith("https://app.example/launch?")
    assert sent["iss"] == ["http://testserver/fhir/R4"]
    verifier, challenge = pkce()
    code = authorize(browser, app, "launch patient/*.rs", challenge, launch=sent["launch"][0])
    status, body = exchange(app, code, verifier)
    assert status == 200 and body["patient"] == str(record.patient.pk)
    # Another user cannot use that launch.
    assert b"unknown" in client_for_colleague(app, sent["launch"][0]).content


def client_for_colleague(app, launch: str):
    from needlepoint.accounts.models import Membership

    colleague = Membership.objects.exclude(role="clinician").filter(clinic=app.clinic).first()
    query = {
        "response_type": "code",
        "client_id": app.application.client_id,
        "redirect_uri": REDIRECT,
        "scope": "launch patient/*.rs",
        "code_challenge": pkce()[1],
        "code_challenge_method": "S256",
        "launch": launch,
    }
    return client_for(colleague).get(f"/oauth/authorize/?{urlencode(query)}")


def test_a_scope_never_grants_more_than_the_role(front_desk, app, record: Record) -> None:
    body = launched(front_desk, app, record.patient, "launch/patient user/*.rs")
    reader = bearer(body["access_token"])
    assert reader.get(f"{BASE}/Patient/{record.patient.pk}", **FHIR).status_code == 200
    refused = reader.get(f"{BASE}/Observation?patient={record.patient.pk}", **FHIR)
    assert refused.status_code == 403 and refused.json()["resourceType"] == "OperationOutcome"
    assert reader.get(f"{BASE}/$export", HTTP_PREFER="respond-async", **FHIR).status_code == 403


def test_user_scope_reads_any_patient_of_the_clinic_but_no_other_clinic(
    clinician, app, record: Record, other_patient, outsider
) -> None:
    body = launched(clinician, app, record.patient, "launch/patient user/Patient.rs")
    reader = bearer(body["access_token"])
    assert reader.get(f"{BASE}/Patient/{other_patient.pk}", **FHIR).status_code == 200
    stranger = actions.register_patient(
        outsider, {"given_name": "Sam", "family_name": "Stranger", "date_of_birth": date(1980, 1, 1), "sex": "male"}
    )
    assert reader.get(f"{BASE}/Patient/{stranger.pk}", **FHIR).status_code == 404
    assert reader.get(f"{BASE}/Procedure?patient={record.patient.pk}", **FHIR).status_code == 403


def test_an_app_cannot_ask_for_more_than_it_was_registered_with(clinician, app) -> None:
    query = {
        "response_type": "code",
        "client_id": app.application.client_id,
        "redirect_uri": REDIRECT,
        "scope": "user/*.cruds",
        "code_challenge": pkce()[1],
        "code_challenge_method": "S256",
    }
    answer = client_for(clinician).get(f"/oauth/authorize/?{urlencode(query)}")
    assert answer.status_code == 302 and "error=invalid_scope" in answer["Location"]


def test_personal_tokens_still_work(clinician, record: Record) -> None:
    response = token_client(clinician).get(f"{BASE}/Condition?patient={record.patient.pk}", **FHIR)
    assert response.status_code == 200


def test_a_bad_token_is_401(db) -> None:
    answer = bearer("notatoken").get(f"{BASE}/Patient/1", **FHIR)
    assert answer.status_code == 401 and answer.json()["resourceType"] == "OperationOutcome"


def test_no_refresh_token_without_offline_or_online_access(clinician, app, record: Record) -> None:
    body = launched(clinician, app, record.patient, "launch/patient patient/*.rs")
    assert "refresh_token" not in body
    assert bearer(body["access_token"]).get(f"{BASE}/Patient/{record.patient.pk}", **FHIR).status_code == 200


def test_every_interaction_is_held_to_the_launch_patient(clinician, app, record: Record, other_patient) -> None:
    body = launched(clinician, app, record.patient, "launch/patient patient/*.rs")
    reader = bearer(body["access_token"])
    mine, theirs = record.patient.pk, other_patient.pk
    for url in (f"Patient/{mine}/_history", f"Patient/{mine}/_history/1", f"Patient/{mine}/$everything"):
        assert reader.get(f"{BASE}/{url}", **FHIR).status_code in (200, 404), url
    assert response_json(reader.get(f"{BASE}/Patient/{mine}/$everything", **FHIR))["total"] > 1
    for url in (f"Patient/{theirs}/_history", f"Patient/{theirs}/_history/1", f"Patient/{theirs}/$everything"):
        refused = reader.get(f"{BASE}/{url}", **FHIR)
        assert refused.status_code == 403 and refused.json()["resourceType"] == "OperationOutcome", url
    # A record of the launch patient is found; the same kind of record of another patient is not.
    condition = f"{BASE}/Condition/{record.neck.pk}"
    assert reader.get(condition, **FHIR).status_code == 200
    other_episode = open_neck_episode(clinician, other_patient)
    assert reader.get(f"{BASE}/Condition/{other_episode.pk}", **FHIR).status_code == 404
    # A search by POST naming another patient, a search of patients, a patient-scoped export, a write.
    posted = reader.post(f"{BASE}/Observation/_search", {"patient": theirs}, **FHIR)
    assert posted.status_code == 403
    found = reader.get(f"{BASE}/Patient", {"name": "o"}, **FHIR).json()
    assert {e["resource"]["id"] for e in found.get("entry", [])} <= {str(mine)}
    assert reader.get(f"{BASE}/Patient/$export", HTTP_PREFER="respond-async", **FHIR).status_code == 403
    write = reader.post(
        f"{BASE}", {"resourceType": "Bundle", "type": "transaction"}, content_type="application/fhir+json"
    )
    assert write.status_code == 403


def test_a_write_needs_a_create_scope(clinician, clinic_admin, record: Record) -> None:
    writer_app, _ = register_app(clinic_admin, "Importer", "public", "launch/patient user/*.cruds", REDIRECT)
    body = launched(clinician, writer_app, record.patient, "launch/patient user/*.rs")
    refused = bearer(body["access_token"]).post(
        f"{BASE}", {"resourceType": "Bundle", "type": "transaction", "entry": []}, content_type="application/fhir+json"
    )
    assert refused.status_code == 403 and "Patient.c" in refused.json()["issue"][0]["diagnostics"]
    body = launched(clinician, writer_app, record.patient, "launch/patient user/*.cruds")
    allowed = bearer(body["access_token"]).post(
        f"{BASE}", {"resourceType": "Bundle", "type": "transaction", "entry": []}, content_type="application/fhir+json"
    )
    assert allowed.status_code != 403 and allowed.json()["resourceType"] == "OperationOutcome"


def test_a_disabled_app_or_a_deactivated_user_ends_the_tokens(clinician, clinic_admin, app, record: Record) -> None:
    body = launched(clinician, app, record.patient, "launch/patient patient/*.rs")
    reader = bearer(body["access_token"])
    assert reader.get(f"{BASE}/Patient/{record.patient.pk}", **FHIR).status_code == 200
    clinician.is_active = False
    clinician.save()
    assert reader.get(f"{BASE}/Patient/{record.patient.pk}", **FHIR).status_code == 401
    clinician.is_active = True
    clinician.save()
    admin = client_for(clinic_admin)
    assert admin.post("/clinic/apps/", {"disable": app.pk}).status_code == 302
    assert reader.get(f"{BASE}/Patient/{record.patient.pk}", **FHIR).status_code == 401


def test_another_clinics_staff_cannot_authorise_the_app(outsider, app) -> None:
    query = {
        "response_type": "code",
        "client_id": app.application.client_id,
        "redirect_uri": REDIRECT,
        "scope": "user/*.rs",
        "code_challenge": pkce()[1],
        "code_challenge_method": "S256",
    }
    page = client_for(outsider).get(f"/oauth/authorize/?{urlencode(query)}")
    assert page.status_code == 200 and b"registered by another clinic" in page.content
    form = {k: v for k, v in page.context["form"].initial.items() if v is not None}
    answer = client_for(outsider).post("/oauth/authorize/", {**form, "allow": "on"})
    assert answer.status_code == 200 and not AppAuthorisation.objects.exists()


def test_an_app_token_opens_fhir_only_not_the_api_or_the_record_download(clinician, app, record: Record) -> None:
    body = launched(clinician, app, record.patient, "launch/patient user/*.rs")
    reader = bearer(body["access_token"])
    assert reader.get(f"/api/v1/patients/{record.patient.pk}").status_code == 401
    download = reader.post(f"/patients/{record.patient.pk}/record-export/", {"format": "fhir"})
    assert download.status_code == 302 and download["Location"].startswith("/login/")


def test_a_conditional_create_needs_patient_search_and_read(clinician, clinic_admin, record: Record) -> None:
    """ifNoneExist answers with the patient it finds (name, birth date, MRN): a create-only scope may not use it
    to read patients or walk their identifiers."""
    writer_app, _ = register_app(clinic_admin, "Importer", "public", "launch/patient user/*.cruds", REDIRECT)
    sent = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": "urn:uuid:11111111-1111-4111-8111-111111111111",
                "resource": {
                    "resourceType": "Patient",
                    "name": [{"family": "Okafor", "given": ["Ada"]}],
                    "birthDate": "1970-04-02",
                },
                "request": {"method": "POST", "url": "Patient", "ifNoneExist": "identifier=https://sender.example|A-1"},
            }
        ],
    }
    body = launched(clinician, writer_app, record.patient, "launch/patient user/Patient.c")
    refused = bearer(body["access_token"]).post(f"{BASE}", sent, content_type="application/fhir+json")
    assert refused.status_code == 403, refused.content
    said = refused.json()["issue"][0]["diagnostics"]
    assert "Patient.r" in said and "Patient.s" in said and "ifNoneExist" in said
    assert not Patient.objects.filter(family_name="Okafor").exists()

    body = launched(clinician, writer_app, record.patient, "launch/patient user/Patient.crs")
    allowed = bearer(body["access_token"]).post(f"{BASE}", sent, content_type="application/fhir+json")
    assert allowed.status_code == 200, allowed.content
