"""Small-number suppression, including the complementary cell that stops subtraction from the total."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from needlepoint.insights.suppression import (
    COMPLEMENTARY_MARKER,
    DEFAULT_MINIMUM_N,
    check_small_number,
    suppress_breakdown,
)


def test_groups_at_the_minimum_are_shown_and_below_it_are_suppressed():
    assert not check_small_number(DEFAULT_MINIMUM_N).suppressed
    below = check_small_number(DEFAULT_MINIMUM_N - 1)
    assert below.suppressed and below.marker == f"n < {DEFAULT_MINIMUM_N}"


def test_the_minimum_is_configurable():
    assert check_small_number(4, minimum_n=5).suppressed
    assert not check_small_number(5, minimum_n=5).suppressed


@given(st.integers(min_value=0, max_value=49), st.integers(min_value=1, max_value=50))
def test_the_reason_never_reveals_the_exact_count(n, minimum):
    suppression = check_small_number(n, minimum)
    assert suppression.suppressed == (n < minimum)
    if suppression.suppressed:
        assert f"{minimum} episodes" in suppression.reason
        assert str(n) not in suppression.reason.replace(str(minimum), "")


@pytest.mark.parametrize(("n", "minimum"), [(-1, 10), (5, 0)])
def test_impossible_inputs_are_rejected(n, minimum):
    with pytest.raises(ValueError):
        check_small_number(n, minimum)


def test_one_small_group_takes_the_next_smallest_down_with_it():
    result = suppress_breakdown({"Dr A": 40, "Dr B": 3, "Dr C": 15, "Dr D": 22})
    assert result["Dr B"].suppressed and result["Dr B"].marker == "n < 10"
    assert result["Dr C"].suppressed and result["Dr C"].marker == COMPLEMENTARY_MARKER
    assert not result["Dr A"].suppressed and not result["Dr D"].suppressed


def test_two_small_groups_need_no_complement():
    result = suppress_breakdown({"pistoning": 4, "static": 6, "retained": 30})
    assert [key for key, s in result.items() if s.suppressed] == ["pistoning", "static"]


def test_a_single_small_group_alone_is_suppressed_without_a_partner():
    assert suppress_breakdown({"only": 3})["only"].suppressed
