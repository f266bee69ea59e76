"""OpenID Connect for SMART apps (``openid`` and ``fhirUser``), through the Django test client: a full
authorization-code + PKCE launch gives an ID token (RS256) whose signature verifies against the JWKS discovery
names, with the right claims; ``fhirUser`` resolves with the access token; no ID token without ``openid``;
userinfo gives the ID token's claims to a token that holds ``openid`` and still stands; discovery is truthful;
and the local server's signing key is made once and kept."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client
from django.utils import timezone
from jwcrypto import jwk, jwt
from oauth2_provider.models import AccessToken, RefreshToken

from needlepoint.accounts.actions import deactivate_member
from needlepoint.accounts.models import AuditEntry, Membership, User
from needlepoint.fhir.models import AppAuthorisation, SmartApp
from needlepoint.fhir.smart_pages import register_app
from needlepoint.fhir.smart_server import revoke_authorisation
from needlepoint.signing_key import KEY_FILE_NAME, new_private_key, oidc_private_key
from tests.conftest import client_for
from tests.fhir.conftest import Record
from tests.fhir.test_smart_launch import BASE, FHIR, REDIRECT, authorize, bearer, exchange, pkce

PROJECT = Path(__file__).resolve().parents[2]
ROOT = "http://testserver"
IDENTITY_LAUNCH = "openid fhirUser launch/patient patient/*.rs"


@pytest.fixture
def app(clinic_admin):
    registered, _ = register_app(
        clinic_admin,
        "Who am I viewer",
        "public",
        "openid fhirUser launch launch/patient offline_access patient/*.rs user/*.rs",
        REDIRECT,
        "https://app.example/launch",
    )
    return registered


def verified_claims(id_token: str) -> dict[str, Any]:
    """The ID token's claims, once its signature verifies against the key set that discovery names."""
    discovery = Client().get("/.well-known/openid-configuration").json()
    jwks_path = urlparse(discovery["jwks_uri"]).path
    keys = jwk.JWKSet.from_json(Client().get(jwks_path).content.decode())
    token = jwt.JWT(jwt=id_token, key=keys, algs=["RS256"], expected_type="JWS")
    header = json.loads(token.header)
    assert header["alg"] == "RS256" and keys.get_key(header["kid"]) is not None
    claims: dict[str, Any] = json.loads(token.claims)
    return claims


def launch_with_nonce(membership, app, patient, scope: str, nonce: str = "") -> dict[str, Any]:
    """A standalone launch (authorize with PKCE, choose the patient, allow, exchange the code) sending a nonce."""
    verifier, challenge = pkce()
    browser = client_for(membership)
    query = {
        "response_type": "code",
        "client_id": app.application.client_id,
        "redirect_uri": REDIRECT,
        "scope": scope,
        "state": "s1",
        "aud": f"{ROOT}/fhir/R4",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    if nonce:
        query["nonce"] = nonce
    page = browser.get(f"/oauth/authorize/?{urlencode(query)}")
    assert page.status_code == 200, page.content
    form = {k: v for k, v in page.context["form"].initial.items() if v is not None}
    form["patient"] = str(patient.pk)
    answer = browser.post("/oauth/authorize/", {**form, "allow": "on"})
    assert answer.status_code == 302, answer.content
    sent = parse_qs(urlparse(answer["Location"]).query)
    assert sent["iss"] == [ROOT]  # RFC 9207: the issuer the ID token names
    status, body = exchange(app, sent["code"][0], verifier)
    assert status == 200, body
    return body


def test_a_launch_with_openid_and_fhiruser_gives_a_verifiable_id_token(clinician, app, record: Record) -> None:
    before = int(time.time())
    body = launch_with_nonce(clinician, app, record.patient, IDENTITY_LAUNCH, nonce="n-0S6_WzA2Mj")
    assert body["patient"] == str(record.patient.pk)
    claims = verified_claims(body["id_token"])
    assert claims["iss"] == ROOT
    assert claims["aud"] == app.application.client_id
    assert claims["sub"] == str(clinician.user_id)
    assert claims["nonce"] == "n-0S6_WzA2Mj"
    assert before - 5 <= claims["iat"] <= int(time.time()) + 5 and claims["exp"] > claims["iat"]
    assert claims["fhirUser"] == f"{ROOT}/fhir/R4/Practitioner/{clinician.pk}"

    # fhirUser resolves with the access token, though the app holds only patient/ resource scopes.
    me = bearer(body["access_token"]).get(urlparse(claims["fhirUser"]).path, **FHIR)
    assert me.status_code == 200, me.content
    practitioner = me.json()
    assert practitioner["resourceType"] == "Practitioner" and practitioner["id"] == str(clinician.pk)
    assert practitioner["name"][0]["given"] == [clinician.user.first_name]


def test_no_nonce_sent_none_in_the_token(clinician, app, record: Record) -> None:
    body = launch_with_nonce(clinician, app, record.patient, IDENTITY_LAUNCH)
    assert "nonce" not in verified_claims(body["id_token"])


def test_fhiruser_only_when_that_scope_is_granted(clinician, app, patient) -> None:
    body = launch_with_nonce(clinician, app, patient, "openid launch/patient patient/*.rs")
    claims = verified_claims(body["id_token"])
    assert claims["sub"] == str(clinician.user_id) and "fhirUser" not in claims
    # Without fhirUser, no Practitioner scope, and no Procedure of this patient naming them, the app may not read
    # the user's Practitioner.
    refused = bearer(body["access_token"]).get(f"{BASE}/Practitioner/{clinician.pk}", **FHIR)
    assert refused.status_code == 403


def test_without_openid_no_id_token(clinician, app, record: Record) -> None:
    verifier, challenge = pkce()
    code = authorize(client_for(clinician), app, "launch/patient patient/*.rs", challenge, record.patient)
    status, body = exchange(app, code, verifier)
    assert status == 200 and "id_token" not in body


def test_a_refresh_gives_a_new_id_token_for_the_same_user(clinician, app, record: Record) -> None:
    body = launch_with_nonce(clinician, app, record.patient, f"{IDENTITY_LAUNCH} offline_access")
    refreshed = Client().post(
        "/oauth/token/",
        {"grant_type": "refresh_token", "refresh_token": body["refresh_token"], "client_id": app.application.client_id},
    )
    assert refreshed.status_code == 200, refreshed.content
    claims = verified_claims(refreshed.json()["id_token"])
    assert claims["sub"] == str(clinician.user_id)
    assert claims["fhirUser"] == f"{ROOT}/fhir/R4/Practitioner/{clinician.pk}"


def test_discovery_lists_openid_connect_truthfully(db) -> None:
    smart = Client().get(f"{BASE}/.well-known/smart-configuration").json()
    assert "sso-openid-connect" in smart["capabilities"]
    assert {"openid", "fhirUser", "user/Practitioner.rs"} <= set(smart["scopes_supported"])
    assert smart["issuer"] == ROOT and smart["jwks_uri"] == f"{ROOT}/oauth/jwks/"
    oidc = Client().get("/.well-known/openid-configuration")
    assert oidc.status_code == 200
    found = oidc.json()
    assert found["issuer"] == ROOT
    assert found["authorization_endpoint"] == smart["authorization_endpoint"]
    assert found["token_endpoint"] == smart["token_endpoint"]
    assert found["jwks_uri"] == smart["jwks_uri"]
    assert found["id_token_signing_alg_values_supported"] == ["RS256"]
    assert found["response_types_supported"] == ["code"] and "fhirUser" in found["claims_supported"]
    keys = Client().get("/oauth/jwks/").json()["keys"]
    assert len(keys) == 1 and keys[0]["kty"] == "RSA" and keys[0]["alg"] == "RS256" and "d" not in keys[0]


def test_without_a_signing_key_openid_connect_is_off(db, settings, clinician, app) -> None:
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "OIDC_ENABLED": False, "OIDC_RSA_PRIVATE_KEY": ""}
    smart = Client().get(f"{BASE}/.well-known/smart-configuration").json()
    assert "sso-openid-connect" not in smart["capabilities"] and "issuer" not in smart
    assert "openid" not in smart["scopes_supported"]
    assert Client().get("/.well-known/openid-configuration").status_code == 404
    assert Client().get("/oauth/jwks/").status_code == 404
    # An app asking for openid is refused rather than granted a scope with no ID token behind it.
    query = {
        "response_type": "code",
        "client_id": app.application.client_id,
        "redirect_uri": REDIRECT,
        "scope": "openid launch/patient patient/*.rs",
        "code_challenge": pkce()[1],
        "code_challenge_method": "S256",
    }
    page = client_for(clinician).get(f"/oauth/authorize/?{urlencode(query)}")
    assert page.status_code == 302 and "error=invalid_scope" in page["Location"]


@pytest.mark.no_database
def test_the_local_servers_key_is_made_once_and_kept(tmp_path: Path) -> None:
    first = oidc_private_key("", tmp_path, debug=True)
    assert (tmp_path / KEY_FILE_NAME).stat().st_mode & 0o077 == 0  # readable by its owner only
    # A restart reads the settings again: the same key, so tokens signed before it still verify.
    assert oidc_private_key("", tmp_path, debug=True) == first
    # Production takes the configured key, and without one has OpenID Connect off (no key made).
    configured = new_private_key()
    elsewhere = tmp_path / "production"
    elsewhere.mkdir()
    assert oidc_private_key(configured, elsewhere, debug=False) == configured.strip() + "\n"
    assert oidc_private_key("", elsewhere, debug=False) == ""
    assert not (elsewhere / KEY_FILE_NAME).exists()
    with pytest.raises(ImproperlyConfigured, match="OIDC_RSA_PRIVATE_KEY"):
        oidc_private_key("not a key", elsewhere, debug=False)


def started_key(data_dir: Path) -> str:
    """Start Django as ``python3 dev.py run`` does (DEBUG, SQLite, nothing configured) and print the thumbprint
    of the key that would sign ID tokens."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("OIDC_", "DEBUG", "SECRET_KEY", "DATABASE_URL"))
    }
    environment |= {"NEEDLEPOINT_DATA_DIR": str(data_dir), "DJANGO_SETTINGS_MODULE": "needlepoint.settings"}
    environment |= {"DEBUG": "true"}
    script = (
        "import django; django.setup(); from needlepoint.fhir.smart_server import oidc_enabled, signing_key; "
        "print(oidc_enabled(), signing_key().thumbprint())"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=PROJECT, env=environment, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    enabled, thumbprint = done.stdout.split()
    assert enabled == "True"
    return thumbprint


@pytest.mark.no_database
def test_the_local_server_signs_with_the_same_key_after_a_restart(tmp_path: Path) -> None:
    first = started_key(tmp_path)
    assert (tmp_path / KEY_FILE_NAME).exists()
    assert started_key(tmp_path) == first


def refresh(app, refresh_token: str):
    """The token endpoint's answer to a refresh-token grant."""
    return Client().post(
        "/oauth/token/",
        {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": app.application.client_id},
    )


def test_a_deactivated_member_gets_no_fresh_id_token_by_refresh(clinic_admin, clinician, app, record: Record) -> None:
    body = launch_with_nonce(clinician, app, record.patient, f"{IDENTITY_LAUNCH} offline_access")
    deactivate_member(clinic_admin, clinician.pk)
    refused = refresh(app, body["refresh_token"])
    assert refused.status_code == 400, refused.content
    assert "id_token" not in refused.json() and "access_token" not in refused.json()
    # Deactivation withdrew the app's authorisation and ended its tokens.
    assert not AppAuthorisation.objects.filter(membership=clinician, revoked_at__isnull=True).exists()
    assert not RefreshToken.objects.filter(token=body["refresh_token"], revoked__isnull=True).exists()
    assert bearer(body["access_token"]).get(f"{BASE}/Patient/{record.patient.pk}", **FHIR).status_code == 401


@pytest.mark.parametrize("what", ["membership", "user", "app"])
def test_a_refresh_is_refused_once_the_member_user_or_app_is_inactive(what, clinician, app, record: Record) -> None:
    """Even with the authorisation left standing (changed outside the deactivation action), the token endpoint
    checks the membership, the user and the app at each refresh."""
    body = launch_with_nonce(clinician, app, record.patient, f"{IDENTITY_LAUNCH} offline_access")
    if what == "membership":
        Membership.objects.filter(pk=clinician.pk).update(is_active=False)
    elif what == "user":
        User.objects.filter(pk=clinician.user_id).update(is_active=False)
    else:
        SmartApp.objects.filter(pk=app.pk).update(disabled_at=timezone.now())
    refused = refresh(app, body["refresh_token"])
    assert refused.status_code == 400, refused.content
    assert "id_token" not in refused.json()


@pytest.mark.no_database
def test_servers_starting_together_all_read_the_one_whole_key(tmp_path: Path) -> None:
    starting = threading.Barrier(6)

    def start() -> str:
        starting.wait()
        return oidc_private_key("", tmp_path, debug=True)

    with ThreadPoolExecutor(6) as pool:
        keys = list(pool.map(lambda _: start(), range(6)))

    assert len(set(keys)) == 1 and keys[0] == (tmp_path / KEY_FILE_NAME).read_text(encoding="ascii")
    assert (tmp_path / KEY_FILE_NAME).stat().st_mode & 0o077 == 0
    assert [p.name for p in tmp_path.iterdir()] == [KEY_FILE_NAME]  # no temporary file left behind


@pytest.mark.no_database
def test_a_key_file_read_while_still_being_written_is_waited_for(tmp_path: Path) -> None:
    """A server that finds the key file before the one making it has finished (an empty file, as a key written
    in place leaves for a moment) waits briefly for the whole key."""
    path = tmp_path / KEY_FILE_NAME
    path.write_text("", encoding="ascii")
    pem = new_private_key()
    finisher = threading.Timer(0.2, lambda: path.write_text(pem, encoding="ascii"))
    finisher.start()
    try:
        assert oidc_private_key("", tmp_path, debug=True) == pem
    finally:
        finisher.join()


@pytest.mark.no_database
def test_a_key_file_left_empty_fails_with_a_clear_message(tmp_path: Path) -> None:
    (tmp_path / KEY_FILE_NAME).write_text("-----BEGIN PRIVATE KEY-----\nMIIE", encoding="ascii")
    with pytest.raises(ImproperlyConfigured, match=r"empty or cut short.*remove it"):
        oidc_private_key("", tmp_path, debug=True)


# ---------------------------------------------------------------------------------------------- userinfo

USERINFO = "/oauth/userinfo/"


def userinfo(access_token: str, method: str = "get") -> Any:
    """The userinfo endpoint's answer to an access token sent in the Authorization header."""
    client = bearer(access_token)
    return client.post(USERINFO) if method == "post" else client.get(USERINFO)


@pytest.mark.parametrize("method", ["get", "post"])
def test_userinfo_gives_the_id_tokens_claims_for_a_token_with_openid(clinician, app, record: Record, method) -> None:
    body = launch_with_nonce(clinician, app, record.patient, IDENTITY_LAUNCH)
    claims = verified_claims(body["id_token"])

    answer = userinfo(body["access_token"], method)

    assert answer.status_code == 200, answer.content
    assert answer["Content-Type"] == "application/json"
    assert answer.json() == {"sub": claims["sub"], "fhirUser": claims["fhirUser"]}
    assert answer.json() == {
        "sub": str(clinician.user_id),
        "fhirUser": f"{ROOT}/fhir/R4/Practitioner/{clinician.pk}",
    }


def test_userinfo_gives_fhiruser_only_when_that_scope_was_granted(clinician, app, patient) -> None:
    body = launch_with_nonce(clinician, app, patient, "openid launch/patient patient/*.rs")

    answer = userinfo(body["access_token"])

    assert answer.status_code == 200, answer.content
    assert (
        answer.json()
        == {"sub": str(clinician.user_id)}
        == {k: v for k, v in verified_claims(body["id_token"]).items() if k in ("sub", "fhirUser")}
    )


def test_userinfo_refuses_a_token_without_openid(clinician, app, record: Record) -> None:
    verifier, challenge = pkce()
    code = authorize(client_for(clinician), app, "fhirUser launch/patient patient/*.rs", challenge, record.patient)
    status, body = exchange(app, code, verifier)
    assert status == 200, body

    answer = userinfo(body["access_token"])

    # RFC 6750: the token stands but lacks the scope, so 403 insufficient_scope (not 401, as for a bad token).
    assert answer.status_code == 403, answer.content
    assert answer.json()["error"] == "insufficient_scope" and "sub" not in answer.json()
    assert 'error="insufficient_scope"' in answer["WWW-Authenticate"]
    # The same token still reads the FHIR endpoints: only userinfo needs openid.
    assert bearer(body["access_token"]).get(f"{BASE}/Patient/{record.patient.pk}", **FHIR).status_code == 200


def test_userinfo_refuses_an_unknown_or_missing_token(db) -> None:
    unknown = userinfo("not-a-token")
    assert unknown.status_code == 401
    assert unknown.json()["error"] == "invalid_token" and 'error="invalid_token"' in unknown["WWW-Authenticate"]
    assert Client().get(USERINFO).status_code == 401


def test_userinfo_refuses_an_expired_token(clinician, app, record: Record) -> None:
    body = launch_with_nonce(clinician, app, record.patient, IDENTITY_LAUNCH)
    AccessToken.objects.update(expires=timezone.now() - timedelta(seconds=1))

    assert userinfo(body["access_token"]).status_code == 401


def test_userinfo_refuses_a_token_the_user_revoked(clinician, app, record: Record) -> None:
    body = launch_with_nonce(clinician, app, record.patient, IDENTITY_LAUNCH)
    revoke_authorisation(clinician, AppAuthorisation.objects.get(membership=clinician).pk)

    assert userinfo(body["access_token"]).status_code == 401


def test_userinfo_refuses_a_token_revoked_at_the_revocation_endpoint(clinician, app, record: Record) -> None:
    body = launch_with_nonce(clinician, app, record.patient, IDENTITY_LAUNCH)
    revoked = Client().post("/oauth/revoke/", {"token": body["access_token"], "client_id": app.application.client_id})
    assert revoked.status_code == 200, revoked.content

    assert userinfo(body["access_token"]).status_code == 401


def test_userinfo_refuses_a_deactivated_members_token(clinic_admin, clinician, app, record: Record) -> None:
    body = launch_with_nonce(clinician, app, record.patient, IDENTITY_LAUNCH)
    assert userinfo(body["access_token"]).status_code == 200
    deactivate_member(clinic_admin, clinician.pk)

    assert userinfo(body["access_token"]).status_code == 401


@pytest.mark.parametrize("what", ["membership", "user", "app", "authorisation"])
def test_userinfo_refuses_a_token_once_the_member_user_app_or_authorisation_no_longer_stands(
    what, clinician, app, record: Record
) -> None:
    """Even with the token left in place (changed outside the actions that end tokens), as at the FHIR endpoints."""
    body = launch_with_nonce(clinician, app, record.patient, IDENTITY_LAUNCH)
    if what == "membership":
        Membership.objects.filter(pk=clinician.pk).update(is_active=False)
    elif what == "user":
        User.objects.filter(pk=clinician.user_id).update(is_active=False)
    elif what == "app":
        SmartApp.objects.filter(pk=app.pk).update(disabled_at=timezone.now())
    else:
        AppAuthorisation.objects.filter(membership=clinician).update(revoked_at=timezone.now())

    assert userinfo(body["access_token"]).status_code == 401
    assert bearer(body["access_token"]).get(f"{BASE}/Patient/{record.patient.pk}", **FHIR).status_code == 401


def test_discovery_names_the_userinfo_endpoint(db, settings) -> None:
    found = Client().get("/.well-known/openid-configuration").json()
    assert found["userinfo_endpoint"] == f"{ROOT}{USERINFO}"
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "OIDC_ENABLED": False, "OIDC_RSA_PRIVATE_KEY": ""}
    assert userinfo("anything").status_code == 404


def test_userinfo_leaves_no_audit_entry(clinician, app, record: Record) -> None:
    body = launch_with_nonce(clinician, app, record.patient, IDENTITY_LAUNCH)
    before = AuditEntry.objects.count()

    assert userinfo(body["access_token"]).status_code == 200
    assert AuditEntry.objects.count() == before  # the user's own identity, no patient data
