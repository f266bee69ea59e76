"""Shared fixtures: a clinic with one person per role, an outsider in another clinic, and patients made
through the real actions (no mocks, a real database)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any, NoReturn, TypeVar

import pytest
from django.http import HttpResponse, StreamingHttpResponse
from django.test import Client

from needlepoint.accounts.actions import set_keep_social_security_numbers
from needlepoint.accounts.models import Clinic, Membership, User
from needlepoint.patients import actions
from needlepoint.patients.consent import current_consent_text
from needlepoint.patients.screening_rules import screening_items
from tests.audit_guard import every_write_is_recorded_by_its_action  # noqa: F401  (autouse: every test)

PASSWORD = "correct-horse-battery-staple"
T = TypeVar("T")


def missing_tool(message: str) -> NoReturn:
    """A tool a test needs (a browser, node) is not installed: skip, saying so; under CI=true fail, so that CI
    never passes with fewer tests than it should run."""
    if os.environ.get("CI") == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


# The fixtures through which a test reaches the test database (``live_server`` brings ``transactional_db``).
DATABASE_FIXTURES = frozenset(
    {
        "db",
        "transactional_db",
        "django_db_reset_sequences",
        "django_db_serialized_rollback",
        "django_db_setup",
        "live_server",
    }
)


@pytest.fixture(autouse=True)
def summary_cells_caught_up_at_once(settings) -> None:
    """A report's own summary refresh adds up again at once the cells it gave differences in the tests, not in a
    background thread that would reach the test database over a connection of its own (insights/summaries.py)."""
    settings.INSIGHTS_CELLS_CATCH_UP = "inline"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark ``no_database`` every test that asks for no database (no ``django_db`` mark, none of
    DATABASE_FIXTURES): pytest-django refuses such a test a connection, so it runs the same whichever database
    DATABASE_URL names, and CI runs it once, on SQLite, not again on PostgreSQL (see .ci/run). A test whose result
    depends on the database configuration (``connection.vendor``, a subprocess given DATABASE_URL) asks for ``db``."""
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if item.get_closest_marker("django_db") is None and not fixtures & DATABASE_FIXTURES:
            item.add_marker(pytest.mark.no_database)


def built_once(django_db_blocker, build: Callable[[], T]) -> Iterator[T]:
    """For a module- or class-scoped fixture: run ``build`` (a demo clinic, say) once, inside a transaction that is
    rolled back when the fixture's scope ends. Each test that asks for ``db`` runs in a savepoint inside that
    transaction, so it sees the data and its own writes are undone after it, exactly as if the data had been
    built in the test. Not for transactional tests (``transaction=True``, ``live_server``): their flush would
    empty the shared data. Use as ``yield from built_once(django_db_blocker, lambda: build_demo(...))``."""
    from django.db import transaction

    outer = transaction.atomic()
    with django_db_blocker.unblock():
        outer.__enter__()
        try:
            built = build()
        except BaseException:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)
            raise
    try:
        yield built
    finally:
        with django_db_blocker.unblock():
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


def make_member(clinic: Clinic, username: str, role: str, **extra: Any) -> Membership:
    """A user with one role in ``clinic``."""
    user = User.objects.create_user(username=username, password=PASSWORD, first_name=username.title())
    return Membership.objects.create(user=user, clinic=clinic, role=role, **extra)


@pytest.fixture
def clinic(db) -> Clinic:
    return Clinic.objects.create(name="Test Clinic", slug="test", mrn_prefix="TC")


@pytest.fixture
def other_clinic(db) -> Clinic:
    return Clinic.objects.create(name="Other Clinic", slug="other", mrn_prefix="OC")


@pytest.fixture
def clinician(clinic) -> Membership:
    return make_member(clinic, "alice", "clinician", profession="physical_therapist", licence_number="PT-1")


@pytest.fixture
def colleague(clinic) -> Membership:
    return make_member(clinic, "bob", "clinician", profession="chiropractor", licence_number="DC-2")


@pytest.fixture
def front_desk(clinic) -> Membership:
    return make_member(clinic, "fran", "front_desk")


@pytest.fixture
def clinic_admin(clinic) -> Membership:
    return make_member(clinic, "adam", "clinic_admin")


@pytest.fixture
def keeps_ssns(clinic, clinic_admin) -> Clinic:
    """The test clinic set, by its admin, to keep Social Security numbers received from other systems (off by
    default); the clinic object the fixtures' memberships hold is refreshed."""
    set_keep_social_security_numbers(clinic_admin, True)
    clinic.refresh_from_db()
    return clinic


@pytest.fixture
def outsider(other_clinic) -> Membership:
    return make_member(other_clinic, "charlie", "clinician", profession="physical_therapist")


def response_json(response: HttpResponse | StreamingHttpResponse) -> Any:
    """A JSON response's body, sent whole or streamed: ``Patient/$everything`` is streamed, and the test client's
    ``json()`` reads only a body sent whole. A streamed body can be read again after this."""
    assert "json" in response["Content-Type"], response["Content-Type"]
    body = response.getvalue()
    if response.streaming:
        response.streaming_content = [body]
    return json.loads(body)


def client_for(membership: Membership) -> Client:
    """A test client signed in as ``membership``'s user."""
    client = Client()
    client.force_login(membership.user)
    return client


@pytest.fixture
def patient(clinician):
    return actions.register_patient(
        clinician, {"given_name": "Jane", "family_name": "Doe", "date_of_birth": date(1980, 5, 17), "sex": "female"}
    )


def all_no() -> dict[str, str]:
    """Screening answers with every item answered no, and an average adult build (BMI 23.7)."""
    return {item.code: "no" for item in screening_items()} | {"height_cm": "172", "weight_kg": "70"}


def clear_for_needling(clinician: Membership, patient) -> None:
    """Screen (cleared) and consent a patient through the real actions."""
    actions.record_screening(clinician, patient, all_no())
    text = current_consent_text(patient.clinic)
    actions.record_consent(clinician, patient, patient.full_name, text.version)


@pytest.fixture
def cleared_patient(clinician, patient):
    clear_for_needling(clinician, patient)
    return patient


@pytest.fixture
def empty_cache() -> Iterator[None]:
    """An empty shared cache before and after the test: the cache table is not emptied by the flush between tests
    that commit (``transaction=True``), so values stored by one would be read by the next."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


def audit_lock_queries() -> int:
    """Queries the audit chain's lock adds to an audited request: PostgreSQL takes an advisory lock (one query);
    SQLite's immediate transactions need none."""
    from django.db import connection

    return 1 if connection.vendor == "postgresql" else 0


def licensed_wording(code: str, tag: str = "Licensed") -> dict[str, dict]:
    """Complete wording for an instrument: distinctive texts for every item question and option (test copy)."""
    from needlepoint.outcomes.scoring import instrument

    return {
        item.id: {
            "question": f"{tag} question {item.id}?",
            "options": [f"{tag} {item.id} option {n}" for n in range(len(item.options))],
        }
        for item in instrument(code).items
    }


@pytest.fixture
def clinic_wording(clinic, clinic_admin):
    """The clinic has entered its licensed wording of every questionnaire a patient answers on a phone, as a
    clinic must before such a questionnaire can be sent (a patient never answers topic labels)."""
    from needlepoint.outcomes import actions as outcome_actions
    from needlepoint.outcomes.plans import is_self_reportable
    from needlepoint.outcomes.scoring import instrument, instruments
    from needlepoint.outcomes.wording import wording_shipped

    for code in instruments():
        if is_self_reportable(instrument(code)) and not wording_shipped(code):
            outcome_actions.enter_instrument_wording(clinic_admin, code, licensed_wording(code), "TEST-LICENCE")
    return clinic
