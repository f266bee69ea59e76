"""Passkeys (WebAuthn) as a second factor, checked end to end by py_webauthn against a software authenticator
built here from the specification (P-256 key, "none" attestation), through the real views and session."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import struct

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from django.test import Client

from needlepoint.accounts.models import AuditEntry, Passkey
from tests.conftest import PASSWORD, client_for

ORIGIN = "http://testserver"
RP_ID = "testserver"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SoftAuthenticator:
    """A minimal authenticator as the WebAuthn Level 2 specification lays out its data (sections 6.1, 6.5)."""

    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.credential_id = os.urandom(16)
        self.counter = 0

    def _client_data(self, kind: str, challenge: str, origin: str) -> bytes:
        return json.dumps({"type": kind, "challenge": challenge, "origin": origin, "crossOrigin": False}).encode()

    def create(self, options: dict, origin: str = ORIGIN) -> dict:
        numbers = self.key.public_key().public_numbers()
        cose_key = {1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")}
        attested = bytes(16) + struct.pack(">H", len(self.credential_id)) + self.credential_id + cbor2.dumps(cose_key)
        auth_data = hashlib.sha256(options["rp"]["id"].encode()).digest() + bytes([0x45]) + struct.pack(">I", 0)
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data + attested})
        client_data = self._client_data("webauthn.create", options["challenge"], origin)
        return {
            "id": b64url(self.credential_id),
            "rawId": b64url(self.credential_id),
            "type": "public-key",
            "response": {"clientDataJSON": b64url(client_data), "attestationObject": b64url(attestation)},
            "clientExtensionResults": {},
        }

    def get(self, options: dict, origin: str = ORIGIN) -> dict:
        self.counter += 1
        auth_data = hashlib.sha256(options["rpId"].encode()).digest() + bytes([0x05]) + struct.pack(">I", self.counter)
        client_data = self._client_data("webauthn.get", options["challenge"], origin)
        signed = auth_data + hashlib.sha256(client_data).digest()
        signature = self.key.sign(signed, ec.ECDSA(hashes.SHA256()))
        return {
            "id": b64url(self.credential_id),
            "rawId": b64url(self.credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64url(client_data),
                "authenticatorData": b64url(auth_data),
                "signature": b64url(signature),
            },
            "clientExtensionResults": {},
        }


def post_json(client: Client, url: str, body: dict | None = None):
    return client.post(url, json.dumps(body or {}), content_type="application/json")


def add_passkey(client: Client, authenticator: SoftAuthenticator, name: str = "laptop"):
    options = post_json(client, "/account/passkeys/options/").json()
    return post_json(client, "/account/passkeys/", {"credential": authenticator.create(options), "name": name})


def test_a_user_adds_a_passkey_and_signs_in_with_it(clinician) -> None:
    authenticator = SoftAuthenticator()
    assert add_passkey(client_for(clinician), authenticator).status_code == 200
    assert Passkey.objects.get(user=clinician.user).name == "laptop"
    assert AuditEntry.objects.filter(summary="user alice added passkey laptop").exists()
    client = Client()

    assert client.post("/login/", {"username": "alice", "password": PASSWORD})["Location"] == "/login/code/"
    assert "Use a passkey" in client.get("/login/code/").content.decode()
    options = post_json(client, "/login/passkey/options/").json()
    done = post_json(client, "/login/passkey/", {"credential": authenticator.get(options)})

    assert done.json() == {"next": "/"}
    assert client.get("/patients/").status_code == 200
    assert AuditEntry.objects.get(action="login").summary == "signed in as alice with passkey"


def test_an_answer_for_another_site_or_a_replayed_one_is_refused(clinician) -> None:
    authenticator = SoftAuthenticator()
    add_passkey(client_for(clinician), authenticator)
    client = Client()
    client.post("/login/", {"username": "alice", "password": PASSWORD})

    options = post_json(client, "/login/passkey/options/").json()
    phished = post_json(client, "/login/passkey/", {"credential": authenticator.get(options, "https://evil.example")})
    assert phished.status_code == 401
    options = post_json(client, "/login/passkey/options/").json()
    answer = authenticator.get(options)
    assert post_json(client, "/login/passkey/", {"credential": answer}).status_code == 200
    other = Client()
    other.post("/login/", {"username": "alice", "password": PASSWORD})
    post_json(other, "/login/passkey/options/")

    assert post_json(other, "/login/passkey/", {"credential": answer}).status_code == 401
    assert other.get("/patients/").status_code == 302


def test_a_passkey_step_needs_the_password_first(clinician) -> None:
    authenticator = SoftAuthenticator()
    add_passkey(client_for(clinician), authenticator)

    assert post_json(Client(), "/login/passkey/options/").status_code == 401
    assert post_json(Client(), "/login/passkey/", {"credential": {}}).status_code == 401


def test_a_made_up_registration_stores_nothing(clinician) -> None:
    client = client_for(clinician)
    post_json(client, "/account/passkeys/options/")

    response = post_json(client, "/account/passkeys/", {"credential": {"id": "x", "response": {}}, "name": "fake"})

    assert response.status_code == 400
    assert "could not be registered" in response.json()["error"]
    assert not Passkey.objects.exists()


def test_an_admins_reset_removes_passkeys(clinic_admin, clinician) -> None:
    add_passkey(client_for(clinician), SoftAuthenticator())

    client_for(clinic_admin).post("/staff/", {"do": "reset_two_factor", "member": clinician.pk})

    assert not Passkey.objects.exists()
