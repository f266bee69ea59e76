"""Calendar months as the summary cells key them: the year and month as one number (202606), on the clinic's clock
(its time zone, passed in). No Django imports."""

from __future__ import annotations

import calendar
from collections.abc import Collection
from datetime import date, datetime, tzinfo

MonthRange = tuple[int, int]  # the first and last month, as 202601 and 202612
NO_EARLIER = 0  # a month number before every month
NO_LATER = 999_999  # a month number after every month


def month_of(day: date) -> int:
    """The month ``day`` lies in, as 202606."""
    return day.year * 100 + day.month


def next_month(month: int) -> int:
    """The month after ``month``."""
    return month + 1 if month % 100 < 12 else (month // 100 + 1) * 100 + 1


def previous_month(month: int) -> int:
    """The month before ``month``."""
    return month - 1 if month % 100 > 1 else (month // 100 - 1) * 100 + 12


def month_start(month: int, zone: tzinfo) -> datetime:
    """Midnight at the start of ``month`` in the time zone ``zone``."""
    return datetime(month // 100, month % 100, 1, tzinfo=zone)


def month_ranges(months: Collection[int], zone: tzinfo) -> list[tuple[datetime, datetime]]:
    """The moments the ``months`` cover in the time zone ``zone``, as few ranges as they allow (adjacent months
    joined): [start, end)."""
    ranges: list[tuple[int, int]] = []
    for month in sorted(set(months)):
        if ranges and next_month(ranges[-1][1]) == month:
            ranges[-1] = (ranges[-1][0], month)
        else:
            ranges.append((month, month))
    return [(month_start(first, zone), month_start(next_month(last), zone)) for first, last in ranges]


def whole_months(first: date | None, last: date | None) -> MonthRange | None:
    """The first and last month lying wholly between the days ``first`` and ``last`` (None: no bound; then
    ``NO_EARLIER`` or ``NO_LATER``); None when no whole month lies between them."""
    low = NO_EARLIER
    if first is not None:
        low = month_of(first) if first.day == 1 else next_month(month_of(first))
    high = NO_LATER
    if last is not None:
        ends_month = last.day == calendar.monthrange(last.year, last.month)[1]
        high = month_of(last) if ends_month else previous_month(month_of(last))
    return (low, high) if low <= high else None
