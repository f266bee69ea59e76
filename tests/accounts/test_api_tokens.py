"""Personal API tokens: created and revoked by their user, shown once, stored hashed; API errors are JSON."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import timedelta

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from needlepoint.accounts.actions import create_api_token
from needlepoint.accounts.models import ApiToken, AuditEntry, Membership
from tests.conftest import client_for

TOKEN = re.compile(r'data-testid="new-token">(np_[A-Za-z0-9_-]+)<')


def create_on_the_page(client: Client, name: str = "billing export") -> str:
    page = client.post("/account/tokens/", {"name": name}).content.decode()
    return TOKEN.search(page).group(1)


def bearer(raw: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


def test_a_token_created_on_the_page_is_shown_once_and_stored_only_as_a_hash(clinician) -> None:
    client = client_for(clinician)

    raw = create_on_the_page(client)

    stored = ApiToken.objects.get()
    assert stored.token_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert stored.hint == raw[:10]
    assert raw not in json.dumps(list(ApiToken.objects.values()), default=str)
    assert raw not in client.get("/account/tokens/").content.decode()
    assert stored.user == clinician.user and stored.membership == clinician


def test_a_token_authenticates_as_its_user_with_their_role(clinician) -> None:
    raw = create_on_the_page(client_for(clinician))

    me = bearer(raw).get("/api/v1/me")

    assert me.status_code == 200
    assert me.json()["username"] == "alice"
    assert me.json()["role"] == "clinician"
    assert "edit_clinical" in me.json()["capabilities"]
    assert "view_audit" not in me.json()["capabilities"]
    assert ApiToken.objects.get().last_used_at is not None


def test_a_token_s_last_use_is_written_once_a_minute_not_on_every_request(clinician) -> None:
    _, raw = create_api_token(clinician, "reader")
    client = bearer(raw)
    client.get("/api/v1/me")
    first = ApiToken.objects.get().last_used_at
    assert first is not None

    # Within the minute: the token is read, nothing written.
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/api/v1/me").status_code == 200
    assert not [q for q in queries if q["sql"].startswith("UPDATE") and "accounts_apitoken" in q["sql"]]
    assert ApiToken.objects.get().last_used_at == first

    # A minute later, the next request records it.
    ApiToken.objects.update(last_used_at=first - timedelta(minutes=1))
    client.get("/api/v1/me")
    assert ApiToken.objects.get().last_used_at > first


def test_a_front_desk_token_carries_the_front_desk_role(front_desk, patient) -> None:
    _, raw = create_api_token(front_desk, "reception kiosk")

    response = bearer(raw).get(f"/api/v1/patients/{patient.pk}/screenings")

    assert response.status_code == 403
    assert response.json() == {"detail": "Your role (Front Desk) does not allow this."}


def test_a_revoked_token_is_refused_with_a_json_message(clinician) -> None:
    client = client_for(clinician)
    raw = create_on_the_page(client)
    token = ApiToken.objects.get()

    page = client.post("/account/tokens/", {"revoke": token.pk}, follow=True).content.decode()
    response = bearer(raw).get("/api/v1/me")

    assert "Token revoked." in page
    assert "revoked" in page
    assert response.status_code == 401
    assert response.json() == {"detail": "Authenticate with an API token: Authorization: Bearer <token>."}
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_a_user_cannot_revoke_someone_elses_token(clinician, colleague) -> None:
    theirs, raw = create_api_token(colleague, "bob's script")

    page = client_for(clinician).post("/account/tokens/", {"revoke": theirs.pk}).content.decode()

    assert "No such token." in page
    theirs.refresh_from_db()
    assert theirs.revoked_at is None
    assert bearer(raw).get("/api/v1/me").status_code == 200


def test_a_user_sees_only_their_own_tokens(clinician, colleague) -> None:
    create_api_token(colleague, "bob's script")
    create_api_token(clinician, "alice's export")

    page = client_for(clinician).get("/account/tokens/").content.decode()

    assert "alice&#x27;s export" in page
    assert "bob&#x27;s script" not in page


def test_a_token_needs_a_name(clinician) -> None:
    page = client_for(clinician).post("/account/tokens/", {"name": "  "}, follow=True).content.decode()

    assert "Name the token, e.g. the system that will use it." in page
    assert not ApiToken.objects.exists()


def test_a_nonsense_revoke_request_gets_a_message_not_an_error_page(clinician) -> None:
    response = client_for(clinician).post("/account/tokens/", {"revoke": "abc"})

    assert response.status_code == 200
    assert not ApiToken.objects.exists()


def test_a_token_stops_working_when_its_membership_is_deactivated(clinician) -> None:
    _, raw = create_api_token(clinician, "sync")
    Membership.objects.filter(pk=clinician.pk).update(is_active=False)

    assert bearer(raw).get("/api/v1/me").status_code == 401


def test_a_token_stops_working_when_its_user_is_deactivated(clinician) -> None:
    _, raw = create_api_token(clinician, "sync")
    clinician.user.is_active = False
    clinician.user.save()

    assert bearer(raw).get("/api/v1/me").status_code == 401


def test_a_made_up_or_truncated_token_is_refused(clinician) -> None:
    _, raw = create_api_token(clinician, "sync")

    for attempt in ("np_" + "x" * 43, raw[:-1], ApiToken.objects.get().token_hash):
        response = bearer(attempt).get("/api/v1/me")
        assert response.status_code == 401
        assert response.json()["detail"].startswith("Authenticate with an API token")


def test_each_token_is_different(clinician) -> None:
    raws = {create_api_token(clinician, f"t{n}")[1] for n in range(5)}

    assert len(raws) == 5
    assert all(raw.startswith("np_") and len(raw) > 40 for raw in raws)


def test_creating_and_revoking_tokens_is_audited(clinician) -> None:
    client = client_for(clinician)
    create_on_the_page(client, "nightly export")
    token = ApiToken.objects.get()

    client.post("/account/tokens/", {"revoke": token.pk})

    created = AuditEntry.objects.get(action="create", object_type="accounts.ApiToken")
    revoked = AuditEntry.objects.get(action="update", object_type="accounts.ApiToken")
    assert created.summary == f"API token nightly export, expires {token.expires_at:%Y-%m-%d}"
    assert revoked.summary == "API token nightly export revoked"
    assert created.user == revoked.user == clinician.user
    assert created.client_address == "127.0.0.1"


def test_api_calls_are_audited_as_api_with_the_callers_address(clinician, patient) -> None:
    _, raw = create_api_token(clinician, "sync")

    bearer(raw).get(f"/api/v1/patients/{patient.pk}", REMOTE_ADDR="192.0.2.44")

    entry = AuditEntry.objects.get(action="read", patient_id=patient.pk)
    assert entry.via == "api"
    assert entry.user == clinician.user
    assert entry.client_address == "192.0.2.44"


def test_the_browser_session_may_call_the_api_but_a_write_needs_the_csrf_token(clinician) -> None:
    from needlepoint.patients.models import Patient

    client = Client(enforce_csrf_checks=True)
    client.force_login(clinician.user)
    body = json.dumps({"given_name": "Sam", "family_name": "Lee", "date_of_birth": "1990-02-03"})

    read = client.get("/api/v1/me")
    write = client.post("/api/v1/patients", body, content_type="application/json")

    assert read.status_code == 200
    assert write.status_code == 403
    assert "CSRF" in write.json()["detail"]
    assert not Patient.objects.exists()


def test_a_token_writes_without_a_csrf_token(clinician) -> None:
    _, raw = create_api_token(clinician, "sync")
    client = Client(enforce_csrf_checks=True, HTTP_AUTHORIZATION=f"Bearer {raw}")
    body = json.dumps({"given_name": "Sam", "family_name": "Lee", "date_of_birth": "1990-02-03"})

    assert client.post("/api/v1/patients", body, content_type="application/json").status_code == 201


def test_api_errors_are_json_with_a_clear_message(clinician) -> None:
    _, raw = create_api_token(clinician, "sync")
    client = bearer(raw)

    not_found = client.get("/api/v1/patients/999999")
    not_a_number = client.get("/api/v1/patients/abc")
    bad_json = client.post("/api/v1/patients", "{not json", content_type="application/json")
    missing_field = client.post("/api/v1/patients", json.dumps({"given_name": "Sam"}), content_type="application/json")

    assert (not_found.status_code, not_found.json()) == (404, {"detail": "Not found."})
    assert not_a_number.status_code == 422
    assert not_a_number.json()["detail"] == "The request does not match the schema."
    assert bad_json.status_code in (400, 422)
    assert isinstance(bad_json.json()["detail"], str)
    assert missing_field.status_code == 422
    missing = missing_field.json()["errors"]
    assert any(key.endswith("family_name") for key in missing)
    assert any(key.endswith("date_of_birth") for key in missing)


def test_tokens_are_listed_created_and_revoked_through_the_api(clinician, colleague) -> None:
    client = client_for(clinician)
    created = client.post("/api/v1/tokens", {"name": "billing export"}, content_type="application/json")
    assert created.status_code == 201
    raw, token_id = created.json()["token"], created.json()["id"]
    assert ApiToken.objects.get(pk=token_id).token_hash == ApiToken.hash_token(raw)
    assert [t["name"] for t in client.get("/api/v1/tokens").json()] == ["billing export"]

    someone_else = client_for(colleague).post(f"/api/v1/tokens/{token_id}/revoke")
    assert someone_else.status_code == 400
    assert ApiToken.objects.get(pk=token_id).revoked_at is None

    revoked = client.post(f"/api/v1/tokens/{token_id}/revoke")
    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"] is not None
    assert Client().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 401


def test_clinic_admins_add_staff_through_the_api(clinic_admin) -> None:
    response = client_for(clinic_admin).post(
        "/api/v1/staff",
        {"username": "newdesk", "password": "a-long-unusual-passphrase-7", "role": "front_desk"},
        content_type="application/json",
    )
    assert response.status_code == 201
    assert Membership.objects.get(user__username="newdesk").role == "front_desk"
    weak = client_for(clinic_admin).post(
        "/api/v1/staff",
        {"username": "weak", "password": "password", "role": "front_desk"},
        content_type="application/json",
    )
    assert weak.status_code == 400
    assert not Membership.objects.filter(user__username="weak").exists()
