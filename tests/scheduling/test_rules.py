"""The pure rules of the appointment book: overlaps, weekly series, lengths, status changes, iCalendar text."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from needlepoint.scheduling import ical, rules
from needlepoint.scheduling.rules import Slot, Status

T0 = datetime(2030, 3, 4, 9, 0, tzinfo=UTC)


def span(start_minutes: int, minutes: int) -> Slot:
    return rules.slot(T0 + timedelta(minutes=start_minutes), minutes)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (span(0, 30), span(30, 30), False),  # back to back
        (span(0, 30), span(29, 30), True),  # one minute shared
        (span(0, 60), span(15, 15), True),  # one inside the other
        (span(15, 15), span(0, 60), True),
        (span(0, 30), span(0, 30), True),  # the same slot
        (span(0, 30), span(-30, 30), False),  # ends as the other starts
        (span(0, 30), span(-31, 30), False),
        (span(0, 30), span(-29, 30), True),
    ],
)
def test_two_slots_overlap_only_when_they_share_a_moment(a: Slot, b: Slot, expected: bool) -> None:
    assert a.overlaps(b) is expected
    assert b.overlaps(a) is expected


def test_clashes_lists_the_wanted_slots_that_meet_a_taken_one_or_each_other() -> None:
    wanted = [span(0, 30), span(60, 30), span(75, 30), span(200, 30)]
    taken = [span(10, 10)]
    assert rules.clashes(wanted, taken) == [span(0, 30), span(60, 30), span(75, 30)]
    assert rules.clashes([span(0, 30)], []) == []


def test_a_weekly_series_keeps_the_wall_clock_time_across_a_daylight_saving_change() -> None:
    new_york = ZoneInfo("America/New_York")
    first = datetime(2030, 3, 4, 9, 0, tzinfo=new_york)  # the clocks go forward on 10 March 2030
    starts = rules.weekly_series(first, 6)
    assert [s.date().isoformat() for s in starts] == [
        "2030-03-04",
        "2030-03-11",
        "2030-03-18",
        "2030-03-25",
        "2030-04-01",
        "2030-04-08",
    ]
    assert {(s.hour, s.minute) for s in starts} == {(9, 0)}
    assert starts[0].utcoffset() != starts[1].utcoffset()


def test_a_series_can_skip_weeks_and_has_bounds() -> None:
    starts = rules.weekly_series(T0, 3, every_weeks=2)
    assert [s - T0 for s in starts] == [timedelta(0), timedelta(weeks=2), timedelta(weeks=4)]
    with pytest.raises(ValueError, match="between 1 and 26"):
        rules.weekly_series(T0, 0)
    with pytest.raises(ValueError, match="between 1 and 26"):
        rules.weekly_series(T0, 27)
    with pytest.raises(ValueError, match="1 to 8 weeks"):
        rules.weekly_series(T0, 2, every_weeks=0)


def test_status_changes_that_make_sense_and_those_that_do_not() -> None:
    assert rules.transition_problem("booked", "arrived") is None
    assert rules.transition_problem("arrived", "booked") is None
    assert rules.transition_problem("booked", "cancelled") is None
    assert rules.transition_problem("in_treatment", "completed") is None
    assert rules.transition_problem("completed", "booked") == (
        "A completed appointment cannot become booked: it is closed. Book a new appointment instead."
    )
    assert "cannot become booked" in rules.transition_problem("in_treatment", "booked")
    assert "already booked" in rules.transition_problem("booked", "booked")
    assert "Unknown status" in rules.transition_problem("booked", "postponed")
    for closed in (Status.COMPLETED, Status.NO_SHOW, Status.CANCELLED):
        assert all(rules.transition_problem(closed, s) for s in Status)


def test_only_offered_lengths_are_accepted() -> None:
    assert rules.length_problem(30, (30, 45, 60)) is None
    assert rules.length_problem(40, (30, 45, 60)) == "Choose a length of 30, 45, 60 minutes."


def test_the_week_of_a_day_runs_monday_to_sunday() -> None:
    week = rules.week_of(datetime(2030, 3, 7).date())  # a Thursday
    assert week[0].isoformat() == "2030-03-04" and week[-1].isoformat() == "2030-03-10"


def test_icalendar_text_is_escaped_folded_and_in_utc() -> None:
    stamp = datetime(2030, 3, 1, 8, 0, tzinfo=UTC)
    event = ical.Event("appointment-1@demo.needlepoint", T0, T0 + timedelta(minutes=30), "Ann, Jo; x\\y · Follow-up")
    text = ical.calendar("Maya Okafor · Demo " + "x" * 80, [event], stamp)
    lines = text.split("\r\n")
    assert lines[0] == "BEGIN:VCALENDAR" and lines[-2] == "END:VCALENDAR" and lines[-1] == ""
    assert "DTSTART:20300304T090000Z" in lines and "DTEND:20300304T093000Z" in lines
    assert "SUMMARY:Ann\\, Jo\\; x\\\\y · Follow-up" in lines
    assert all(len(line.encode()) <= 75 for line in lines)
    assert any(line.startswith(" ") for line in lines)  # the long calendar name was folded
    cancelled = ical.calendar("c", [ical.Event("u", T0, T0, "s", cancelled=True)], stamp)
    assert "STATUS:CANCELLED" in cancelled


def test_folding_never_splits_a_multibyte_character() -> None:
    line = "SUMMARY:" + "é" * 60
    folded = ical.fold(line)
    assert folded.replace("\r\n ", "") == line
    assert all(len(piece.encode()) <= 75 for piece in folded.split("\r\n"))


def test_free_starts_skip_taken_time_and_the_past() -> None:
    opens, closes = T0, T0 + timedelta(hours=3)  # 09:00 to 12:00
    taken = [span(60, 45)]  # 10:00 to 10:45
    free = rules.free_starts(opens, closes, taken, minutes=30, not_before=T0 + timedelta(minutes=15))
    assert [(f - T0).seconds // 60 for f in free] == [30, 120, 150]  # 09:30, 11:00, 11:30; 10:30 meets 10:45


def test_follow_up_choices_say_why_a_week_cannot_be_booked() -> None:
    from datetime import time

    from needlepoint.scheduling.rules import follow_up_choices

    last = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    taken = [Slot(last + timedelta(weeks=1), last + timedelta(weeks=1, minutes=30))]
    mine = [Slot(last + timedelta(weeks=3, minutes=40), last + timedelta(weeks=3, minutes=70))]
    choices = follow_up_choices(
        last,
        45,
        opens=time(7),
        closes=time(20),
        now=last + timedelta(days=1),
        clinician_taken=taken,
        patient_taken=mine,
    )
    assert [(c.label, c.problem) for c in choices] == [
        ("in 1 week", "the clinician is booked then"),
        ("in 2 weeks", None),
        ("in 3 weeks", "the patient has another appointment then"),
    ]
    late = follow_up_choices(
        last.replace(hour=19, minute=30),
        45,
        opens=time(7),
        closes=time(20),
        now=last + timedelta(weeks=1, days=1),
        clinician_taken=[],
        patient_taken=[],
    )
    assert [(c.weeks, c.problem) for c in late] == [(2, "outside the booking hours"), (3, "outside the booking hours")]
