"""Needle accountability: the count invariants, the reconciliation, and the signing rule."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from needlepoint.visits.accountability import (
    AccountabilityError,
    Incident,
    can_sign,
    reconciliation,
    total_inserted,
    validate_counts,
)

SEARCH = "Searched the couch, floor, gown and sharps tray"
ACTION = "Patient examined and told; incident reported to the lead clinician"


def problems_of(opened: object, inserted: object, removed: object, sharps: object) -> tuple[str, ...]:
    with pytest.raises(AccountabilityError) as caught:
        validate_counts(opened, inserted, removed, sharps)
    return caught.value.problems


# --- invariants -----------------------------------------------------------------------------------


@pytest.mark.parametrize("counts", [(0, 0, 0, 0), (5, 5, 5, 5), (6, 5, 5, 5), (6, 5, 3, 1), (4, 0, 0, 4)])
def test_possible_counts_pass(counts: tuple[int, int, int, int]) -> None:
    validate_counts(*counts)


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        ((5, 4, 5, 0), "More needles removed (5) than inserted (4)."),
        ((3, 4, 0, 0), "More needles inserted (4) than opened (3)."),
        ((-1, 0, 0, 0), "Needles opened cannot be negative (-1)."),
        ((5, -2, 0, 0), "Needles inserted cannot be negative (-2)."),
        ((5, 2, -1, 0), "Needles removed cannot be negative (-1)."),
        ((5, 2, 1, -3), "Needles in sharps cannot be negative (-3)."),
        ((5, 3, 1, 4), "More needles in sharps (4) than could be there: 5 opened and 2 still in the patient"),
        ((5, 0, 0, 6), "More needles in sharps (6) than could be there"),
        ((5, 2.0, 0, 0), "Needles inserted must be a whole number, not 2.0."),
        ((True, 0, 0, 0), "Needles opened must be a whole number, not True."),
        (("5", 0, 0, 0), "Needles opened must be a whole number, not '5'."),
        ((None, 0, 0, 0), "Needles opened must be a whole number, not None."),
    ],
)
def test_impossible_counts_are_refused(counts: tuple[object, ...], expected: str) -> None:
    assert any(p.startswith(expected) for p in problems_of(*counts)), problems_of(*counts)


def test_every_broken_rule_is_listed() -> None:
    problems = problems_of(3, 4, 5, -1)
    assert len(problems) == 3
    assert str(AccountabilityError(problems)).startswith("Needle counts are not possible:")


def test_the_error_is_a_value_error() -> None:
    assert issubclass(AccountabilityError, ValueError)


# --- per-entry needle counts ----------------------------------------------------------------------


def test_entry_counts_add_up() -> None:
    assert total_inserted([2, 1, 4]) == 7
    assert total_inserted([]) == 0


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        ([2, 0], "Needling entry 2 has no needles"),
        ([-1], "Needles inserted in entry 1 cannot be negative (-1)."),
        ([1.5], "Needles inserted in entry 1 must be a whole number, not 1.5."),
    ],
)
def test_an_entry_needs_at_least_one_needle(counts: list[object], expected: str) -> None:
    with pytest.raises(AccountabilityError) as caught:
        total_inserted(counts)
    assert any(p.startswith(expected) for p in caught.value.problems)


# --- reconciliation -------------------------------------------------------------------------------


def test_all_in_sharps_is_balanced() -> None:
    result = reconciliation(6, 5, 5, 6)
    assert result.balanced and result.missing == 0
    assert result.message == "All needles accounted for: 6 needles opened, 5 inserted, 5 removed, 6 in sharps."


def test_a_needle_still_in_the_patient_is_missing() -> None:
    result = reconciliation(5, 5, 4, 4)
    assert (result.balanced, result.not_removed, result.not_in_sharps, result.missing) == (False, 1, 0, 1)
    assert result.message.startswith("1 needle inserted and not removed (")


def test_an_unused_needle_not_in_sharps_is_missing() -> None:
    result = reconciliation(6, 5, 5, 5)
    assert (result.not_removed, result.not_in_sharps, result.missing) == (0, 1, 1)
    assert "1 needle removed or unused but not in sharps" in result.message


def test_both_kinds_of_missing_needle_are_named() -> None:
    result = reconciliation(8, 6, 4, 4)
    assert (result.not_removed, result.not_in_sharps, result.missing) == (2, 2, 4)
    assert result.message.startswith("2 needles inserted and not removed; 2 needles removed or unused")


def test_reconciliation_refuses_impossible_counts() -> None:
    with pytest.raises(AccountabilityError, match="More needles removed"):
        reconciliation(5, 3, 4, 0)


# --- signing --------------------------------------------------------------------------------------


def test_a_balanced_visit_can_be_signed() -> None:
    assert can_sign(reconciliation(4, 4, 4, 4), None) == (True, reconciliation(4, 4, 4, 4).message)


def test_a_visit_with_no_needling_can_be_signed() -> None:
    assert can_sign(reconciliation(0, 0, 0, 0), None)[0]


def test_removed_differs_from_inserted_blocks_signing() -> None:
    allowed, reason = can_sign(reconciliation(5, 5, 4, 4), None)
    assert not allowed
    assert reason.startswith("Cannot sign: 1 needle inserted and not removed")
    assert "needle unaccounted for" in reason


def test_an_incident_with_search_and_action_allows_signing() -> None:
    allowed, reason = can_sign(reconciliation(5, 5, 4, 4), Incident(1, SEARCH, ACTION))
    assert allowed
    assert SEARCH in reason and ACTION in reason


@pytest.mark.parametrize(
    ("incident", "expected"),
    [
        (Incident(1, "", ACTION), "must describe the search made."),
        (Incident(1, SEARCH, "  "), "must describe the action taken."),
        (Incident(1, " ", ""), "must describe the search made and the action taken."),
        (Incident(2, SEARCH, ACTION), "records 2 needles unaccounted for, but the counts leave 1 needle"),
        (Incident(0, SEARCH, ACTION), "records 0 needles unaccounted for"),
    ],
)
def test_an_incomplete_incident_does_not_allow_signing(incident: Incident, expected: str) -> None:
    allowed, reason = can_sign(reconciliation(5, 5, 4, 4), incident)
    assert not allowed
    assert reason.startswith("Cannot sign:") and expected in reason


# --- properties -----------------------------------------------------------------------------------


@st.composite
def possible_counts(draw: st.DrawFn) -> tuple[int, int, int, int]:
    opened = draw(st.integers(0, 60))
    inserted = draw(st.integers(0, opened))
    removed = draw(st.integers(0, inserted))
    sharps = draw(st.integers(0, opened - (inserted - removed)))
    return opened, inserted, removed, sharps


@given(possible_counts())
def test_possible_counts_always_reconcile(counts: tuple[int, int, int, int]) -> None:
    opened, inserted, removed, sharps = counts
    result = reconciliation(*counts)
    assert result.missing == opened - sharps
    assert result.not_removed == inserted - removed
    assert result.balanced == (result.missing == 0)
    assert can_sign(result, None)[0] == result.balanced
    assert can_sign(result, Incident(result.missing, SEARCH, ACTION))[0]


@given(st.integers(0, 50), st.integers(1, 10), st.integers(0, 50))
def test_more_removed_than_inserted_is_always_refused(inserted: int, extra: int, sharps: int) -> None:
    with pytest.raises(AccountabilityError, match="More needles removed"):
        validate_counts(inserted + extra, inserted, inserted + extra, sharps)
