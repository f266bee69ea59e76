"""Helpers of the tests of values kept in the shared cache (the dashboard's lists, the stored parts of a patient's
pages): which tables a request read, so a test can tell a value read from the cache from one worked out."""

from __future__ import annotations

import re
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
    assert response.status_code == 200, response.content[:500]
    return response, tables_read(queries)
