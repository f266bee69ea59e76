"""The SMART scope parser (a pure module): v2 syntax, v1 aliases, refusals, coverage and decisions."""

from __future__ import annotations

import re

import pytest

from needlepoint.fhir.smart_scopes import ANY, PATIENT, ResourceScope, ScopeError, decide, parse, parse_one


def test_v2_scope_is_parsed_into_context_type_and_permissions() -> None:
    assert parse_one("patient/Observation.rs") == ResourceScope("patient", "Observation", frozenset("rs"))
    assert parse_one("system/*.cruds") == ResourceScope("system", "*", frozenset("cruds"))


@pytest.mark.parametrize(("v1", "v2"), [("read", "rs"), ("write", "cud"), ("*", "cruds")])
def test_v1_endings_are_aliases_of_v2(v1: str, v2: str) -> None:
    assert parse_one(f"user/Patient.{v1}") == parse_one(f"user/Patient.{v2}")


@pytest.mark.parametrize(
    "bad",
    [
        "patient/Observation.sr",  # out of order
        "patient/Observation.rr",
        "patient/Observation.x",
        "clinic/*.rs",
        "patient/observation.rs",
        "patient/Observation.rs?category=vital-signs",  # granular: not supported
        "admin",
    ],
)
def test_what_is_not_a_scope_is_refused_by_name(bad: str) -> None:
    with pytest.raises(ScopeError, match=re.escape(bad)):
        parse_one(bad)


def test_launch_scopes_are_kept_apart_from_resource_scopes() -> None:
    scopes = parse("launch/patient offline_access patient/*.rs")
    assert "launch/patient" in scopes and "offline_access" in scopes
    assert scopes.resource == (ResourceScope("patient", "*", frozenset("rs")),)


def test_within_compares_context_type_and_permissions() -> None:
    allowed = parse("launch/patient patient/*.rs user/Patient.r")
    assert parse("patient/Observation.r launch/patient").within(allowed)
    assert parse("user/Patient.r").within(allowed)
    assert not parse("user/Patient.rs").within(allowed)  # search not registered at user level
    assert not parse("user/Observation.r").within(allowed)  # user level covers Patient only
    assert not parse("patient/Observation.c").within(allowed)
    assert not parse("offline_access patient/*.r").within(allowed)


def test_decide_prefers_user_and_system_over_patient() -> None:
    scopes = parse("patient/*.rs user/Patient.r")
    assert decide(scopes, "Patient", "r") == ANY
    assert decide(scopes, "Observation", "s") == PATIENT
    assert decide(scopes, "Observation", "c") is None
    assert decide(parse("system/Observation.read"), "Observation", "s") == ANY
    assert decide(parse("system/Observation.read"), "Patient", "r") is None
