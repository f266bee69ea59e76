"""Test-run environment, set before Django's settings load (loaded early by `-p tests.testenv`)."""

import os

os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production")
os.environ.setdefault("NEEDLEPOINT_FAST_HASHER", "true")
os.environ.setdefault("SECURE_COOKIES", "false")
# The suite's dates were written on a UTC clock; tests of the clinic's own zone set TIME_ZONE themselves.
os.environ.setdefault("TIME_ZONE", "UTC")
# A write of patient data that its action does not record fails the test (needlepoint.accounts.audit's safety net).
os.environ.setdefault("AUDIT_UNRECORDED_WRITES", "raise")
# OpenID Connect on in the tests, with a key made for this run (never one committed; needlepoint/signing_key.py).
if not os.environ.get("OIDC_RSA_PRIVATE_KEY"):
    from needlepoint.signing_key import new_private_key

    os.environ["OIDC_RSA_PRIVATE_KEY"] = new_private_key()
