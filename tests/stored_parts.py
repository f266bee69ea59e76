"""Helpers of the tests of values kept in the shared cache (the dashboard's lists, the stored parts of a patient's
pages): which tables a request read, so a test can tell a value read from the cache from one worked out."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext


def tables_read(queries: CaptureQueriesContext) -> set[str]:
    """The tables the captured statements read or wrote."""
    return {t for q in queries.captured_queries for t in re.findall(r'(?:FROM|JOIN|INTO|UPDATE) "(\w+)"', q["sql"])}


def get_reading(client: Client, url: str) -> tuple[Any, set[str]]:
    """GET ``url`` (answered 200) and the tables the request read."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, response.getvalue()[:500]
    return response, tables_read(queries)


def stored_expiry(key_part: str) -> datetime | None:
    """When the one value in the cache whose key holds ``key_part`` (``progress-page:``, ``patient-page:1:7:``)
    expires, as an aware time, or None when none is stored (the stored value itself still readable)."""
    from django.core.cache import cache

    with connection.cursor() as cursor:
        cursor.execute("SELECT cache_key, expires FROM needlepoint_cache")
        found = [(key, expires) for key, expires in cursor.fetchall() if key_part in key]
    if not found:
        return None
    ((key, expires),) = found
    assert cache.get(key.split(":", 2)[2]) is not None
    expires = datetime.fromisoformat(expires) if isinstance(expires, str) else expires
    return expires if expires.tzinfo is not None else expires.replace(tzinfo=UTC)
