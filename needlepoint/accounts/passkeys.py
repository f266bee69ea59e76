"""Passkeys (WebAuthn) as a second factor, through py_webauthn: registering one, and signing in with it.

The relying party is the host the clinic serves Needlepoint on (``WEBAUTHN_RP_ID`` when set, else the request's
host); the expected origin is the page's own. Each ceremony's challenge lives in the session and is used once.
"""

from __future__ import annotations

import json

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone
from webauthn import (
    base64url_to_bytes,
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import bytes_to_base64url
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from needlepoint.accounts.models import Passkey, User

CHALLENGE_KEY = "passkey_challenge"
RP_NAME = "Needlepoint"


class PasskeyError(ValueError):
    """A passkey ceremony that did not verify; the message says so plainly."""


def _rp_id(request: HttpRequest) -> str:
    return settings.WEBAUTHN_RP_ID or request.get_host().rsplit(":", 1)[0].strip("[]")


def _origin(request: HttpRequest) -> str:
    return f"{request.scheme}://{request.get_host()}"


def _take_challenge(request: HttpRequest, purpose: str) -> bytes:
    stored = request.session.pop(CHALLENGE_KEY, None) or {}
    if stored.get("purpose") != purpose or not stored.get("challenge"):
        raise PasskeyError("The passkey request has expired. Try again.")
    return base64url_to_bytes(stored["challenge"])


def registration_options(request: HttpRequest, user: User) -> str:
    """The options for the browser to create a passkey for ``user`` (JSON); the challenge is kept in the session."""
    options = generate_registration_options(
        rp_id=_rp_id(request),
        rp_name=RP_NAME,
        user_name=user.username,
        user_id=str(user.pk).encode(),
        user_display_name=user.get_full_name() or user.username,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED, user_verification=UserVerificationRequirement.PREFERRED
        ),
        exclude_credentials=[
            PublicKeyCredentialDescriptor(id=base64url_to_bytes(c))
            for c in user.passkeys.values_list("credential_id", flat=True)
        ],
    )
    request.session[CHALLENGE_KEY] = {"purpose": "register", "challenge": bytes_to_base64url(options.challenge)}
    return options_to_json(options)


def register(request: HttpRequest, user: User, credential: str, name: str) -> Passkey:
    """Verify the browser's new credential and store it as one of the user's passkeys."""
    challenge = _take_challenge(request, "register")
    try:
        verified = verify_registration_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=_rp_id(request),
            expected_origin=_origin(request),
        )
    except (WebAuthnException, ValueError, KeyError, TypeError) as exc:
        raise PasskeyError("The passkey could not be registered. Try again.") from exc
    return Passkey.objects.create(
        user=user,
        name=(name.strip() or "Passkey")[:100],
        credential_id=bytes_to_base64url(verified.credential_id),
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
    )


def authentication_options(request: HttpRequest, user: User) -> str:
    """The options for the browser to sign ``user`` in with one of their passkeys (JSON)."""
    options = generate_authentication_options(
        rp_id=_rp_id(request),
        allow_credentials=[
            PublicKeyCredentialDescriptor(id=base64url_to_bytes(c))
            for c in user.passkeys.values_list("credential_id", flat=True)
        ],
        user_verification=UserVerificationRequirement.PREFERRED,
    )
    request.session[CHALLENGE_KEY] = {"purpose": "sign_in", "challenge": bytes_to_base64url(options.challenge)}
    return options_to_json(options)


def authenticate(request: HttpRequest, user: User, credential: str) -> Passkey:
    """Verify a passkey assertion for ``user``; returns the passkey used (its signature counter moves on)."""
    challenge = _take_challenge(request, "sign_in")
    try:
        credential_id = json.loads(credential).get("id", "")
    except (ValueError, AttributeError) as exc:
        raise PasskeyError("The passkey answer was not understood. Try again.") from exc
    passkey = Passkey.objects.filter(user=user, credential_id=credential_id).first()
    if passkey is None:
        raise PasskeyError("That passkey is not registered for you.")
    try:
        verified = verify_authentication_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=_rp_id(request),
            expected_origin=_origin(request),
            credential_public_key=bytes(passkey.public_key),
            credential_current_sign_count=passkey.sign_count,
        )
    except (WebAuthnException, ValueError, KeyError, TypeError) as exc:
        raise PasskeyError("The passkey did not verify. Try again.") from exc
    # A counter that does not move on where it counts would mean a cloned authenticator; the conditional update
    # also stops two parallel uses of one assertion.
    moved = Passkey.objects.filter(pk=passkey.pk, sign_count=passkey.sign_count).update(
        sign_count=max(verified.new_sign_count, passkey.sign_count), last_used_at=timezone.now()
    )
    if not moved:
        raise PasskeyError("The passkey did not verify. Try again.")
    return passkey
