"""Where each observation sits on a time axis, so that several on one day are all shown, in order.

Trend graphs that plot by date alone draw same-day observations on top of each other (or keep only one).
Here every observation gets its own position: its day, plus a fraction that spreads that day's observations
evenly across the day in the order they were taken. Positions are days since 1970-01-01, which is
matplotlib's date epoch, so they can be plotted as dates directly.

Pure Python: imports nothing from Django.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime

EPOCH = date(1970, 1, 1)


def _day(moment: date | datetime) -> date:
    return moment.date() if isinstance(moment, datetime) else moment


def day_positions(moments: Sequence[date | datetime]) -> list[float]:
    """A position per moment: its day since 1970-01-01 plus (rank + 1) / (count + 1) within that day.

    Moments on the same day are ranked by time (a bare date counts as the start of its day), then by their
    order in ``moments``. A day with one observation puts it at mid-day; two at one-third and two-thirds.
    """
    by_day: dict[date, list[int]] = defaultdict(list)
    for index, moment in enumerate(moments):
        by_day[_day(moment)].append(index)
    positions = [0.0] * len(moments)
    for day, indexes in by_day.items():
        ordered = sorted(indexes, key=lambda i: (_time_key(moments[i]), i))
        base = (day - EPOCH).days
        for rank, index in enumerate(ordered):
            positions[index] = base + (rank + 1) / (len(ordered) + 1)
    return positions


def _time_key(moment: date | datetime) -> tuple[int, int, int, int]:
    if isinstance(moment, datetime):
        return (moment.hour, moment.minute, moment.second, moment.microsecond)
    return (0, 0, 0, 0)


def same_day_counts(moments: Sequence[date | datetime]) -> dict[date, int]:
    """How many moments fall on each day that has more than one (for a note under a plot)."""
    counts: dict[date, int] = defaultdict(int)
    for moment in moments:
        counts[_day(moment)] += 1
    return {day: n for day, n in counts.items() if n > 1}
