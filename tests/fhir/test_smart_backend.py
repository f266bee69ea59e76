"""SMART Backend Services: a service registered with its public key gets a five-minute token for system/ scopes
with a signed JWT assertion (ES384 and RS384) and kicks off a bulk $export; a replayed, foreign-signed or
wrongly addressed assertion is refused, and a narrower scope cannot export every type."""

from __future__ import annotations

import json
import time
import uuid

import pytest
from django.test import Client
from jwcrypto import jwk, jwt

from needlepoint.accounts.models import AuditEntry
from needlepoint.fhir.smart_pages import register_app
from tests.conftest import client_for
from tests.fhir.conftest import Record

TOKEN_URL = "http://testserver/oauth/token/"
ASSERTION = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@pytest.fixture(autouse=True)
def data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path


def assertion(key: jwk.JWK, client_id: str, alg: str, **changes: object) -> str:
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": TOKEN_URL,
        "exp": int(time.time()) + 240,
        "jti": str(uuid.uuid4()),
    }
    claims.update(changes)
    token = jwt.JWT(header={"alg": alg, "kid": key.thumbprint(), "typ": "JWT"}, claims=claims)
    token.make_signed_token(key)
    return token.serialize()


def backend(clinic_admin, key: jwk.JWK, scopes: str = "system/*.rs"):
    public = json.dumps({"keys": [{**json.loads(key.export_public()), "kid": key.thumbprint()}]})
    app, _ = register_app(clinic_admin, "Registry export", "backend", scopes, public_keys=public)
    return app


def token(app, signed: str, scope: str = "system/*.rs"):
    return Client().post(
        "/oauth/token/",
        {
            "grant_type": "client_credentials",
            "scope": scope,
            "client_assertion_type": ASSERTION,
            "client_assertion": signed,
        },
    )


@pytest.mark.parametrize(
    ("alg", "make"),
    [
        ("ES384", lambda: jwk.JWK.generate(kty="EC", crv="P-384")),
        ("RS384", lambda: jwk.JWK.generate(kty="RSA", size=2048)),
    ],
)
def test_signed_assertion_gets_a_short_token_that_kicks_off_an_export(clinic_admin, record: Record, alg, make) -> None:
    key = make()
    app = backend(clinic_admin, key)
    before = AuditEntry.objects.count()
    answer = token(app, assertion(key, app.application.client_id, alg))
    assert answer.status_code == 200, answer.content
    [issued] = AuditEntry.objects.order_by("pk")[before:]
    assert issued.action == "create" and issued.summary.startswith("backend token issued to ")
    body = answer.json()
    assert body["expires_in"] == 300 and body["scope"] == "system/*.rs" and "refresh_token" not in body
    kick = Client(HTTP_AUTHORIZATION=f"Bearer {body['access_token']}").get(
        "/fhir/R4/$export", HTTP_PREFER="respond-async", HTTP_ACCEPT="application/fhir+json"
    )
    assert kick.status_code == 202, kick.content
    status = Client(HTTP_AUTHORIZATION=f"Bearer {body['access_token']}").get(kick["Content-Location"])
    assert status.status_code == 202


def test_replayed_foreign_or_misaddressed_assertions_are_refused(clinic_admin) -> None:
    key = jwk.JWK.generate(kty="EC", crv="P-384")
    app = backend(clinic_admin, key)
    client_id = app.application.client_id
    signed = assertion(key, client_id, "ES384")
    assert token(app, signed).status_code == 200
    replay = token(app, signed)
    assert replay.status_code == 401 and "already used" in replay.json()["error_description"]
    stranger = jwk.JWK.generate(kty="EC", crv="P-384")
    assert token(app, assertion(stranger, client_id, "ES384")).json()["error"] == "invalid_client"
    assert token(app, assertion(key, client_id, "ES384", aud="https://elsewhere/token")).status_code == 401
    assert token(app, assertion(key, client_id, "ES384", exp=int(time.time()) + 3600)).status_code == 401
    assert token(app, assertion(key, client_id, "ES384"), scope="user/*.rs").json()["error"] == "invalid_scope"


def test_a_narrower_system_scope_cannot_export_everything(clinic_admin, record: Record) -> None:
    key = jwk.JWK.generate(kty="EC", crv="P-384")
    app = backend(clinic_admin, key, "system/Observation.rs")
    body = token(app, assertion(key, app.application.client_id, "ES384"), scope="system/Observation.rs").json()
    reader = Client(HTTP_AUTHORIZATION=f"Bearer {body['access_token']}")
    everything = reader.get("/fhir/R4/$export", HTTP_PREFER="respond-async", HTTP_ACCEPT="application/fhir+json")
    assert everything.status_code == 403 and everything.json()["resourceType"] == "OperationOutcome"
    observations = reader.get(
        "/fhir/R4/$export?_type=Observation", HTTP_PREFER="respond-async", HTTP_ACCEPT="application/fhir+json"
    )
    assert observations.status_code == 202


def test_registration_refuses_a_private_key_and_the_page_lists_apps(clinic_admin) -> None:
    key = jwk.JWK.generate(kty="EC", crv="P-384")
    admin = client_for(clinic_admin)
    page = admin.post(
        "/clinic/apps/",
        {"name": "Leaky", "kind": "backend", "scopes": "system/*.rs", "public_keys": key.export_private()},
    )
    assert b"private key" in page.content
    public = json.dumps({"keys": [json.loads(key.export_public())]})
    page = admin.post(
        "/clinic/apps/", {"name": "Registry", "kind": "backend", "scopes": "system/*.rs", "public_keys": public}
    )
    assert b"Registered Registry" in page.content and b"Registry" in admin.get("/clinic/apps/").content


def test_only_clinic_admins_register_apps(clinician) -> None:
    assert client_for(clinician).get("/clinic/apps/").status_code == 403
