"""The PostgreSQL backend (needlepoint.operations.postgresql): a page's statements are prepared once per
connection (settings: the server binds the parameters, psycopg prepares a statement the second time it runs);
the analytics' statements, which read temporary tables made again in other shapes, run unprepared
(``queries.unprepared``); and a statement with more parameters than the server binds still runs.
"""

from __future__ import annotations

import pytest
from django.db import connection

from needlepoint.insights.queries import unprepared
from needlepoint.operations.postgresql.base import MOST_BOUND_PARAMETERS
from needlepoint.patients.models import Patient

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


@pytest.fixture(autouse=True)
def _postgres_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("prepared statements and the bound-parameter limit are PostgreSQL's")


def _run(probe: str, times: int = 1) -> None:
    with connection.cursor() as cursor:
        for _ in range(times):
            cursor.execute(f"SELECT %s::text AS {probe}", ["x"])


def _plans(probe: str) -> int | None:
    """How many times the server ran the prepared statement of ``probe`` (None: not prepared)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT generic_plans + custom_plans FROM pg_prepared_statements WHERE statement LIKE %s",
            [f"%AS {probe}%"],
        )
        found = cursor.fetchone()
    return None if found is None else int(found[0])


def test_a_statement_run_twice_is_prepared_and_runs_unprepared_inside_the_analytics() -> None:
    _run("page_probe", times=2)
    prepared_runs = _plans("page_probe")
    assert prepared_runs

    with unprepared():
        _run("page_probe")  # prepared before: here it is sent as a plain statement
        _run("analytics_probe", times=2)
        assert connection.connection.prepare_threshold is None
    assert _plans("page_probe") == prepared_runs
    assert _plans("analytics_probe") is None

    _run("page_probe")  # the connection uses its prepared statements again once the analytics are done
    assert _plans("page_probe") == prepared_runs + 1


def test_a_statement_with_more_parameters_than_the_server_binds_still_runs(clinician) -> None:
    from datetime import date

    from needlepoint.patients import actions

    oneil = actions.register_patient(
        clinician, {"given_name": "Aoife", "family_name": "O'Neil", "date_of_birth": date(1980, 1, 2)}
    )
    others = range(10**9, 10**9 + MOST_BOUND_PARAMETERS + 10)
    # Merged into the text on the client: the numbers as numbers, the quoted name escaped.
    assert list(Patient.objects.filter(pk__in=[*others, oneil.pk])) == [oneil]
    names = [f"Name{n}" for n in range(MOST_BOUND_PARAMETERS)] + ["O'Neil"]
    assert list(Patient.objects.filter(family_name__in=names)) == [oneil]
