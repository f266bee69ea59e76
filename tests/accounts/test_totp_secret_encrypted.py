"""Authenticator-app (TOTP) secrets are encrypted at rest: the column never holds the secret, sign-in with a
code still works, a changed key keeps old secrets readable through its fallback, and the data migration
encrypts secrets stored before it."""

from __future__ import annotations

import importlib
from types import SimpleNamespace

import pyotp
import pytest
from django.apps import apps
from django.db import connection
from django.test import Client, override_settings
from django.utils import timezone

from needlepoint.accounts import field_crypto
from needlepoint.accounts.models import TotpDevice
from tests.conftest import PASSWORD

MIGRATION = importlib.import_module("needlepoint.accounts.migrations.0008_totp_secret_encrypted")


def stored_column(device: TotpDevice) -> str:
    """The value in the database, read with SQL rather than through the model."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT encrypted_secret FROM accounts_totpdevice WHERE id = %s", [device.pk])
        return cursor.fetchone()[0]


def enrol(membership) -> tuple[TotpDevice, str]:
    secret = pyotp.random_base32(32)
    device = TotpDevice.objects.create(user=membership.user, secret=secret, confirmed_at=timezone.now())
    return device, secret


def signs_in_with_code(username: str, secret: str) -> bool:
    client = Client()
    step = client.post("/login/", {"username": username, "password": PASSWORD}, REMOTE_ADDR="198.51.100.7")
    assert step["Location"] == "/login/code/"
    response = client.post("/login/code/", {"code": pyotp.TOTP(secret).now()})
    return response.status_code == 302 and response["Location"] == "/" and client.get("/patients/").status_code == 200


def test_the_stored_column_is_not_the_secret_and_sign_in_with_a_code_works(clinician) -> None:
    device, secret = enrol(clinician)

    stored = stored_column(device)
    assert stored != secret and secret not in stored and secret.lower() not in stored.lower()
    assert stored.startswith(field_crypto.TOKEN_PREFIX)
    assert TotpDevice.objects.get(pk=device.pk).secret == secret
    assert signs_in_with_code("alice", secret)


def test_enrolment_through_the_page_stores_the_secret_encrypted(clinic_admin) -> None:
    client = Client()
    client.post("/login/", {"username": "adam", "password": PASSWORD}, REMOTE_ADDR="198.51.100.7")
    page = client.get("/login/enrol/").content.decode()
    device = TotpDevice.objects.get(user=clinic_admin.user)
    secret = device.secret

    assert f'data-testid="totp-secret">{secret}<' in page  # shown once to the user, in plain text
    assert secret not in stored_column(device)


def test_after_a_key_change_the_old_key_still_reads_and_the_next_sign_in_rewraps(clinician) -> None:
    device, secret = enrol(clinician)  # under the key derived from SECRET_KEY
    before = stored_column(device)

    with override_settings(FIELD_ENCRYPTION_KEY="a-new-field-encryption-key-for-this-test-only"):
        assert not field_crypto.current(before)
        assert signs_in_with_code("alice", secret)
        after = stored_column(device)
        assert after != before and field_crypto.current(after)
        assert TotpDevice.objects.get(pk=device.pk).secret == secret


def test_a_secret_no_configured_key_reads_is_refused_with_a_clear_message(clinician) -> None:
    with override_settings(FIELD_ENCRYPTION_KEY="the-key-the-secret-was-stored-under"):
        device, _ = enrol(clinician)
    refused = pytest.raises(field_crypto.UnreadableSecret, match="without keeping the old one as a fallback")
    with override_settings(FIELD_ENCRYPTION_KEY="a-different-key-and-no-fallback"), refused:
        _ = TotpDevice.objects.get(pk=device.pk).secret


def test_the_migration_encrypts_secrets_stored_in_plain_text_and_leaves_encrypted_ones(clinician, colleague) -> None:
    plain_device, plain_secret = enrol(clinician)
    kept_device, _ = enrol(colleague)
    kept = stored_column(kept_device)
    with connection.cursor() as cursor:  # as a database from before the migration holds it
        cursor.execute(
            "UPDATE accounts_totpdevice SET encrypted_secret = %s WHERE id = %s", [plain_secret, plain_device.pk]
        )

    MIGRATION.encrypt_existing(apps, SimpleNamespace(connection=connection))

    assert plain_secret not in stored_column(plain_device)
    assert TotpDevice.objects.get(pk=plain_device.pk).secret == plain_secret
    assert stored_column(kept_device) == kept  # already encrypted: not encrypted twice
    assert signs_in_with_code("alice", plain_secret)


def test_a_secret_no_key_can_read_refuses_the_code_without_a_server_error(clinician) -> None:
    from needlepoint.accounts import two_factor

    device, secret = enrol(clinician)
    recovery = two_factor.new_recovery_codes(clinician.user)
    # As if the key had been changed without keeping the old one: encrypted with a key no setting holds.
    from cryptography.fernet import Fernet

    foreign = Fernet(field_crypto.derive_key("a key nobody configured")).encrypt(secret.encode()).decode()
    TotpDevice.objects.filter(pk=device.pk).update(encrypted_secret=foreign)
    assert not two_factor.verify_totp(TotpDevice.objects.get(pk=device.pk), pyotp.TOTP(secret).now())
    client = Client()
    client.post("/login/", {"username": "alice", "password": PASSWORD}, REMOTE_ADDR="198.51.100.8")
    refused = client.post("/login/code/", {"code": pyotp.TOTP(secret).now()})
    assert refused.status_code == 401 and b"code" in refused.content  # the code form again, with its message
    accepted = client.post("/login/code/", {"code": recovery[0]})
    assert accepted.status_code == 302 and accepted["Location"] == "/"
