"""Secrets kept encrypted at rest: the authenticator apps' TOTP secrets.

A TOTP secret must be readable by the server (it computes the expected code), so it cannot be hashed like a
password; it is encrypted with Fernet (AES-128-CBC with an HMAC-SHA256, from ``cryptography``) instead, so a
copy of the database or a backup alone does not let anyone generate a user's codes.

The key is ``FIELD_ENCRYPTION_KEY`` when set (any long random string; docs/production.md), else one derived
from ``SECRET_KEY`` with HKDF-SHA256. Decryption also tries ``FIELD_ENCRYPTION_KEY_FALLBACKS``, ``SECRET_KEY``
and ``SECRET_KEY_FALLBACKS``, so a key can be changed: set the new one and keep the old one as a fallback; each
secret is re-encrypted with the new key when its user next signs in with a code.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

# HKDF's "info": the same key material gives this purpose its own key, unrelated to the session signatures.
PURPOSE = b"needlepoint field encryption v1"
# Every Fernet token starts with its version byte 0x80, which base64url writes as "gAAAAA".
TOKEN_PREFIX = "gAAAAA"


class UnreadableSecret(ImproperlyConfigured):
    """A stored secret that none of the configured keys decrypts: the key was changed without a fallback."""


def derive_key(material: str) -> bytes:
    """A Fernet key (32 bytes, base64url) derived from ``material`` with HKDF-SHA256."""
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=PURPOSE).derive(material.encode())
    return base64.urlsafe_b64encode(raw)


def _materials() -> list[str]:
    """The key materials in order of preference: the first encrypts, all of them decrypt."""
    chosen = [getattr(settings, "FIELD_ENCRYPTION_KEY", ""), *getattr(settings, "FIELD_ENCRYPTION_KEY_FALLBACKS", [])]
    chosen += [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return [m for m in dict.fromkeys(chosen) if m]


def _fernet() -> MultiFernet:
    return MultiFernet([Fernet(derive_key(material)) for material in _materials()])


def encrypt(plaintext: str) -> str:
    """``plaintext`` encrypted with the current key, as text for a CharField."""
    return _fernet().encrypt(plaintext.encode()).decode("ascii")


def decrypt(stored: str) -> str:
    """The plaintext of a value ``encrypt`` made, with the current key or any fallback."""
    try:
        return _fernet().decrypt(stored.encode("ascii")).decode()
    except (InvalidToken, UnicodeEncodeError) as exc:
        raise UnreadableSecret(
            "A stored secret cannot be decrypted with FIELD_ENCRYPTION_KEY, SECRET_KEY or their fallbacks: the key "
            "was changed without keeping the old one as a fallback (docs/production.md, section 3)."
        ) from exc


def is_encrypted(stored: str) -> bool:
    """Whether a stored value is a Fernet token (a plaintext base32 TOTP secret never starts with lower case)."""
    return stored.startswith(TOKEN_PREFIX)


def current(stored: str) -> bool:
    """Whether a stored value was encrypted with the current (first) key, so needs no re-encryption."""
    try:
        Fernet(derive_key(_materials()[0])).decrypt(stored.encode("ascii"))
    except (InvalidToken, UnicodeEncodeError):
        return False
    return True
