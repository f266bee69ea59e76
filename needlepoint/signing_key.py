"""The RSA key that signs OpenID Connect ID tokens (RS256), read when the settings load.

In production the key comes from ``OIDC_RSA_PRIVATE_KEY`` (or ``OIDC_RSA_PRIVATE_KEY_FILE``, a PEM file), so every
server of the installation signs with the same key and an operator can change it. The local server (DEBUG, the
embedded SQLite default) needs no configuration: a key is generated once into the data folder, beside the
database, and read from there on every later start, so ID tokens still verify after a restart. No key is ever
committed to the repository. Without either (production with no key set) OpenID Connect is off, and discovery
says so.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core.exceptions import ImproperlyConfigured

KEY_FILE_NAME = "oidc-signing-key.pem"
KEY_BITS = 2048  # RS256 with a 2048-bit key: the minimum RFC 7518 (3.3) sets for RSA signatures


def new_private_key() -> str:
    """A new RSA private key, as PKCS#8 PEM text."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")


def _checked(pem: str, where: str) -> str:
    """The PEM text, if it holds an RSA private key of at least KEY_BITS bits; ImproperlyConfigured naming
    ``where`` otherwise."""
    try:
        key = serialization.load_pem_private_key(pem.encode("ascii"), password=None)
    except (ValueError, TypeError, UnicodeEncodeError) as exc:
        raise ImproperlyConfigured(f"{where} is not an unencrypted PEM private key: {exc}") from exc
    if not isinstance(key, rsa.RSAPrivateKey) or key.key_size < KEY_BITS:
        raise ImproperlyConfigured(f"{where} must be an RSA private key of at least {KEY_BITS} bits.")
    return pem


def _kept_key(data_dir: Path) -> str:
    """The key kept in the data folder, generated and written there (owner-only) the first time."""
    path = data_dir / KEY_FILE_NAME
    if not path.exists():
        _write_once(path, new_private_key())
    return _whole_key(path)


def _write_once(path: Path, pem: str) -> None:
    """Write the key under ``path`` whole or not at all: into a temporary file beside it (owner-only), flushed to
    disk, then linked to the final name, which fails if another server starting at the same time got there first
    (its key is kept). A crash leaves at most a stray temporary file, never an empty or partial key."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{KEY_FILE_NAME}.", suffix=".tmp")  # mode 0600
    try:
        with os.fdopen(handle, "w", encoding="ascii") as out:
            out.write(pem)
            out.flush()
            os.fsync(out.fileno())
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
    finally:
        os.unlink(temporary)


READ_TRIES = 20
READ_PAUSE_SECONDS = 0.1  # a key written in place by an older start may still be arriving: wait up to 2 s


def _whole_key(path: Path) -> str:
    """The key file's text once it holds a whole PEM key; ImproperlyConfigured when it stays empty or cut short."""
    for attempt in range(READ_TRIES):
        try:
            text = path.read_text(encoding="ascii")
        except OSError as exc:
            raise ImproperlyConfigured(f"The ID-token signing key {path} cannot be read: {exc}") from exc
        if PEM_END in text:
            return _checked(text, str(path))
        if attempt + 1 < READ_TRIES:
            time.sleep(READ_PAUSE_SECONDS)
    raise ImproperlyConfigured(
        f"The ID-token signing key {path} is empty or cut short (a start interrupted while writing it?): remove it "
        "and start again, and a new key is made (ID tokens signed with the old one will no longer verify)."
    )


PEM_END = "-----END "


def oidc_private_key(configured: str, data_dir: Path, debug: bool) -> str:
    """The PEM key that signs ID tokens: the configured one; else, on the local server (DEBUG), the one kept in
    ``data_dir`` (made the first time); else "" (OpenID Connect off)."""
    if configured.strip():
        return _checked(configured.strip() + "\n", "OIDC_RSA_PRIVATE_KEY")
    if debug:
        return _kept_key(data_dir)
    return ""
