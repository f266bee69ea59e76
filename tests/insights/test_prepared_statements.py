"""On PostgreSQL a page's statements are prepared once per connection (settings: the server binds the parameters,
psycopg prepares a statement the second time it runs), so their plans are not made again on every request; the
analytics' statements, which read temporary tables made again in other shapes, are not (``queries.unprepared``).
"""

from __future__ import annotations

import pytest
from django.db import connection

from needlepoint.insights.queries import unprepared


def _run_twice(probe: str) -> None:
    with connection.cursor() as cursor:
        for _ in range(2):
            cursor.execute(f"SELECT %s::text AS {probe}", ["x"])


def _prepared(probe: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s", [f"%AS {probe}%"])
        return bool(cursor.fetchone()[0])


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_statement_run_twice_is_prepared_and_not_inside_the_analytics() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("prepared statements are PostgreSQL's (SQLite's driver keeps its own statement cache)")
    _run_twice("page_probe")
    assert _prepared("page_probe")

    with unprepared():
        _run_twice("analytics_probe")
        # A statement prepared before runs unprepared here too: psycopg asks the threshold first.
        assert connection.connection.prepare_threshold is None
    assert not _prepared("analytics_probe")

    _run_twice("after_probe")  # the connection prepares again once the analytics are done
    assert _prepared("after_probe")
