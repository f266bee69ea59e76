"""schemathesis against /api/v1/openapi.json for each role: no server error, every response in the schema."""

from __future__ import annotations

import pytest

from needlepoint.fuzzing import ROLES, fuzz_role, seed_clinic

# Enough generated requests per operation to reach the parsers' edges while the three roles stay under a minute.
EXAMPLES_PER_OPERATION = 4


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_api_has_no_server_error_and_keeps_to_its_schema(role: str) -> None:
    tokens = seed_clinic()
    result = fuzz_role(role, tokens[role], max_examples=EXAMPLES_PER_OPERATION)
    assert result.cases > 0
    assert result.failures == [], "\n\n".join(f"{label}\n{message}" for label, message in result.failures)
