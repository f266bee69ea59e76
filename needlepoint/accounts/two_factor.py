"""Second factors: authenticator-app codes (TOTP, RFC 6238, through pyotp) and one-time recovery codes.

A code is accepted once (the time step of the last accepted code is kept and must grow), within one
30-second step either side for clock drift. Recovery codes are stored as SHA-256 hashes and used up
by a conditional UPDATE, so two requests cannot both spend one.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets

import pyotp
import segno
from django.utils import timezone

from needlepoint.accounts import field_crypto
from needlepoint.accounts.models import RecoveryCode, TotpDevice, User

logger = logging.getLogger(__name__)

ISSUER = "Needlepoint"
RECOVERY_CODE_COUNT = 10
# Codes an app shows for the step before and after the server's, for clocks a little apart.
DRIFT_STEPS = 1


def new_secret() -> str:
    """A new random base32 secret (160 bits, as RFC 4226 recommends)."""
    return pyotp.random_base32(length=32)


def provisioning_uri(device: TotpDevice) -> str:
    """The otpauth:// address an authenticator app reads from the QR code."""
    return pyotp.TOTP(device.secret).provisioning_uri(name=device.user.username, issuer_name=ISSUER)


def qr_svg(device: TotpDevice) -> str:
    """The provisioning address as an inline SVG QR code (no image files, nothing sent elsewhere)."""
    return segno.make(provisioning_uri(device), error="m").svg_inline(scale=4, title="Authenticator app QR code")


def _normalise(code: str) -> str:
    return re.sub(r"[\s-]", "", code or "").lower()


def verify_totp(device: TotpDevice, code: str) -> bool:
    """Whether ``code`` is the app's current code, not used before; marks its time step used."""
    code = _normalise(code)
    if not re.fullmatch(r"\d{6}", code):
        return False
    try:
        totp = pyotp.TOTP(device.secret)  # decrypted here, in memory only
    except field_crypto.UnreadableSecret:
        # A key was changed without keeping the old one as a fallback: the operator must act, but the user
        # is not shown a server error; a recovery code still signs in, and an admin can reset the app.
        logger.error("TOTP secret of user %s cannot be decrypted with any configured key", device.user_id)
        return False
    now = timezone.now()
    for offset in range(-DRIFT_STEPS, DRIFT_STEPS + 1):
        moment = int(now.timestamp()) + offset * totp.interval
        if secrets.compare_digest(totp.at(moment), code):
            step = int(moment // totp.interval)
            # Conditional update: a replayed or parallel use of the same code finds the step already taken.
            change: dict[str, object] = {"last_used_step": step}
            if not field_crypto.current(device.encrypted_secret):
                change["encrypted_secret"] = field_crypto.encrypt(device.secret)  # the key was changed: rewrap
            return bool(TotpDevice.objects.filter(pk=device.pk, last_used_step__lt=step).update(**change))
    return False


def hash_recovery_code(code: str) -> str:
    """The stored form of a recovery code."""
    return hashlib.sha256(_normalise(code).encode()).hexdigest()


def new_recovery_codes(user: User) -> list[str]:
    """Replace the user's recovery codes with ten new ones; returns them (shown once)."""
    RecoveryCode.objects.filter(user=user, used_at__isnull=True).update(used_at=timezone.now())
    codes = [f"{secrets.token_hex(3)}-{secrets.token_hex(3)}" for _ in range(RECOVERY_CODE_COUNT)]
    RecoveryCode.objects.bulk_create(RecoveryCode(user=user, code_hash=hash_recovery_code(c)) for c in codes)
    return codes


def use_recovery_code(user: User, code: str) -> bool:
    """Whether ``code`` is one of the user's unused recovery codes; uses it up."""
    if not _normalise(code):
        return False
    return bool(
        RecoveryCode.objects.filter(user=user, code_hash=hash_recovery_code(code), used_at__isnull=True).update(
            used_at=timezone.now()
        )
    )


def verify_second_factor(user: User, code: str) -> str:
    """Check a code against the user's confirmed app, then their recovery codes.

    Returns "app", "recovery code" or "" (not accepted).
    """
    device = TotpDevice.objects.filter(user=user, confirmed_at__isnull=False).first()
    if device is None:
        return ""
    if verify_totp(device, code):
        return "app"
    if use_recovery_code(user, code):
        return "recovery code"
    return ""


def unused_recovery_codes(user: User) -> int:
    """How many recovery codes the user has left."""
    return RecoveryCode.objects.filter(user=user, used_at__isnull=True).count()
