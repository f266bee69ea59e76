"""Several observations on one day each get their own position, in the order taken."""

from __future__ import annotations

from datetime import date, datetime

from hypothesis import given
from hypothesis import strategies as st

from needlepoint.outcomes.timeline import EPOCH, day_positions, same_day_counts


def test_one_a_day_sits_at_mid_day() -> None:
    assert day_positions([date(1970, 1, 2), datetime(1970, 1, 5, 9)]) == [1.5, 4.5]


def test_three_on_one_day_are_spread_in_time_order_whatever_the_input_order() -> None:
    evening, morning, noon = datetime(2024, 5, 3, 18), datetime(2024, 5, 3, 8), datetime(2024, 5, 3, 12)
    base = (date(2024, 5, 3) - EPOCH).days
    assert day_positions([evening, morning, noon]) == [base + 0.75, base + 0.25, base + 0.5]


def test_same_moment_keeps_input_order() -> None:
    moment = datetime(2024, 5, 3, 12)
    first, second = day_positions([moment, moment])
    assert first < second


def test_days_with_several_are_counted() -> None:
    assert same_day_counts([date(2024, 1, 1), datetime(2024, 1, 1, 9), date(2024, 1, 2)]) == {date(2024, 1, 1): 2}


@given(st.lists(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2030, 1, 1)), max_size=40))
def test_positions_are_distinct_stay_in_their_day_and_follow_time(moments: list[datetime]) -> None:
    positions = day_positions(moments)
    assert len(set(positions)) == len(positions)
    for moment, position in zip(moments, positions, strict=True):
        assert int(position) == (moment.date() - EPOCH).days
    order = sorted(range(len(moments)), key=lambda i: (moments[i], i))
    assert [positions[i] for i in order] == sorted(positions)
