"""Shared by the schemathesis test and the longer fuzzing run in benchmarks/: a clinic with one person per
role and some records to aim at, and a run of every API operation for one role.

It drives the real WSGI application (real database, real middleware); schemathesis generates requests from
/api/v1/openapi.json and checks that none ends in a server error and every response matches the schema.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy
    from schemathesis.generation.case import Case
    from schemathesis.schemas import APIOperation

ROLES = ("clinician", "front_desk", "clinic_admin")


@dataclass
class FuzzResult:
    """What one role's run did: cases sent and the failures found (operation, message)."""

    role: str
    cases: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)


def seed_clinic() -> dict[str, str]:
    """A clinic with a clinician, a front desk and a clinic admin, a patient with an episode; role -> API token."""
    from needlepoint.accounts.actions import create_api_token
    from needlepoint.accounts.models import Clinic, Membership, User
    from needlepoint.patients import actions as patient_actions

    clinic = Clinic.objects.create(name="Fuzz Clinic", slug="fuzz", mrn_prefix="FZ")
    tokens = {}
    clinician: Membership | None = None
    for role in ROLES:
        user = User.objects.create_user(username=f"fuzz-{role}", password="fuzz-password-not-used-9")
        extra = {"profession": "physical_therapist", "licence_number": "PT-9"} if role == "clinician" else {}
        membership = Membership.objects.create(user=user, clinic=clinic, role=role, **extra)
        tokens[role] = create_api_token(membership, "fuzz")[1]
        if role == "clinician":
            clinician = membership
    if clinician is None:  # ROLES names a clinician
        raise RuntimeError("no clinician to register the patient")
    patient_actions.register_patient(
        clinician,
        {"given_name": "Jane", "family_name": "Doe", "date_of_birth": date(1980, 5, 17), "sex": "female"},
    )
    return tokens


def fuzz_role(role: str, token: str, *, max_examples: int, seed: int | None = None) -> FuzzResult:
    """Send up to ``max_examples`` generated requests to every API operation as ``role``; collect failures."""
    import schemathesis
    from django.core.signals import request_finished, request_started
    from django.core.wsgi import get_wsgi_application
    from django.db import close_old_connections
    from schemathesis.core.result import Err

    result = FuzzResult(role)
    headers = {"Authorization": f"Bearer {token}"}
    # As Django's test client does: the requests (the schema's own included) share the caller's database
    # connection (a test's transaction on PostgreSQL), so the end of a request must not close it.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())
        for found in schema.get_all_operations():
            if isinstance(found, Err):  # an operation the schema cannot describe is a defect of the API itself
                raise found.err()
            run = _operation_test(found.ok(), headers, result, max_examples, seed)
            run()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    return result


def _both_modes(operation: APIOperation[Any, Any, Any, Any]) -> SearchStrategy[Case[Any]]:
    """Requests that fit the schema and requests that break it (which must be refused with a 4xx, not a 5xx)."""
    from hypothesis import strategies as st
    from schemathesis.generation.modes import GenerationMode

    strategies = [operation.as_strategy(GenerationMode.POSITIVE)]
    # An operation with nothing to break has no negative cases.
    with contextlib.suppress(Exception):
        strategies.append(operation.as_strategy(GenerationMode.NEGATIVE))
    return st.one_of(strategies)


def _operation_test(
    operation: APIOperation[Any, Any, Any, Any],
    headers: dict[str, str],
    result: FuzzResult,
    max_examples: int,
    seed: int | None,
) -> Callable[[], None]:
    """A hypothesis test sending generated requests to one operation; distinct failures go to ``result``."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import seed as hypothesis_seed
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import response_schema_conformance

    seen: set[str] = set()

    @given(case=_both_modes(operation))
    @settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        derandomize=seed is None,
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
    )
    def run(case: Case[Any]) -> None:
        result.cases += 1
        try:
            case.call_and_validate(headers=headers, checks=[not_a_server_error, response_schema_conformance])
        except (Exception, BaseExceptionGroup) as exc:  # a check failure or a group of them: keep each distinct one
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            if first not in seen:
                seen.add(first)
                result.failures.append((operation.label, f"{type(exc).__name__}: {str(exc)[:3000]}"))

    return hypothesis_seed(seed)(run) if seed is not None else run
