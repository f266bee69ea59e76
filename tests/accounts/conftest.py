"""Fixtures shared by the account tests: the demo clinic with one record of every kind (from the audit walk),
also walked by the Content-Security-Policy test."""

from tests.accounts.test_audit_every_url import demo  # noqa: F401
