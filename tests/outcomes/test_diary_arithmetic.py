"""Headache-diary arithmetic (pure): 28-day months from the diary's start, headache and acute-medication days,
scaling of incomplete months, which days a patient may write, and the 50% responder rule."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from needlepoint.outcomes import diary
from needlepoint.outcomes.diary import DiaryDay, DiaryError

START = date(2026, 1, 5)


def days(first: date, count: int, headache_every: int = 0, medication_every: int = 0) -> list[DiaryDay]:
    """``count`` consecutive diary days from ``first``; every n-th a headache (and every m-th with medication)."""
    out = []
    for n in range(count):
        ache = bool(headache_every) and n % headache_every == 0
        meds = bool(medication_every) and n % medication_every == 0
        out.append(DiaryDay(first + timedelta(days=n), ache, 6 if ache else None, 3.0 if ache else None, meds))
    return out


def test_months_are_28_day_periods_from_the_first_day_and_count_headache_and_medication_days() -> None:
    diary_days = days(START, 56, headache_every=2, medication_every=4)  # 14 headache days, 7 medication days a month
    found = diary.periods(diary_days, START, START + timedelta(days=60))
    assert [(p.number, p.first_day, p.last_day) for p in found] == [
        (1, START, date(2026, 2, 1)),
        (2, date(2026, 2, 2), date(2026, 3, 1)),
        (3, date(2026, 3, 2), date(2026, 3, 29)),
    ]
    assert [(p.recorded_days, p.headache_days, p.medication_days) for p in found] == [
        (28, 14, 7),
        (28, 14, 7),
        (0, 0, 0),
    ]
    assert [p.ended for p in found] == [True, True, False]
    assert found[0].is_baseline and not found[1].is_baseline


def test_a_month_with_missing_days_is_scaled_to_28_days_only_from_21_recorded_days() -> None:
    recorded = days(START, 21, headache_every=3)  # 7 headache days in 21 recorded
    (month,) = diary.periods(recorded, START, START + timedelta(days=27 + 1))[:1]
    assert month.comparable
    assert month.headache_days_per_period == pytest.approx(7 * 28 / 21)
    too_few = diary.periods(recorded[:20], START, START + timedelta(days=28))[0]
    assert not too_few.comparable and too_few.headache_days_per_period is None
    assert too_few.headache_days == 7  # counts are still shown


def test_a_running_month_is_never_compared_even_when_every_day_so_far_is_recorded() -> None:
    month = diary.periods(days(START, 25, headache_every=1), START, START + timedelta(days=24))[0]
    assert not month.ended and not month.comparable


def test_days_after_today_or_before_the_start_are_not_counted() -> None:
    stray = [
        DiaryDay(START - timedelta(days=1), True, 5, 2.0, False),
        DiaryDay(START + timedelta(days=9), True, 5, 2.0, False),
    ]
    found = diary.periods(stray, START, START + timedelta(days=3))
    assert found[0].recorded_days == 0


def test_responder_at_exactly_half_the_baseline_headache_days() -> None:
    month_days = days(START, 28, headache_every=2) + days(START + timedelta(days=28), 28, headache_every=4)
    result = diary.responder(diary.periods(month_days, START, START + timedelta(days=57)))
    assert (result.status, result.baseline, result.latest, result.reduction_percent) == ("responder", 14, 7, 50)
    assert result.is_responder is True and result.period == 2


def test_not_a_responder_just_under_half() -> None:
    baseline = days(START, 28, headache_every=2)  # 14
    later = [
        DiaryDay(START + timedelta(days=28 + n), n < 8, 5 if n < 8 else None, 1.0 if n < 8 else None, False)
        for n in range(28)
    ]
    result = diary.responder(diary.periods(baseline + later, START, START + timedelta(days=57)))
    assert (
        result.status == "not_responder"
        and result.latest == 8
        and result.reduction_percent == pytest.approx(42.857, 0.01)
    )
    assert result.is_responder is False


def test_the_latest_complete_month_is_compared_not_the_best() -> None:
    baseline = days(START, 28, headache_every=2)  # 14
    good = days(START + timedelta(days=28), 28, headache_every=7)  # 4
    worse = days(START + timedelta(days=56), 28, headache_every=2)  # 14
    result = diary.responder(diary.periods(baseline + good + worse, START, START + timedelta(days=90)))
    assert result.status == "not_responder" and result.period == 3


@pytest.mark.parametrize(
    ("diary_days", "today_offset", "reason"),
    [
        ([], 10, "still running"),
        (days(START, 20, headache_every=2), 40, "20 of 28 days recorded"),
        (days(START, 28, headache_every=2), 40, "No month after the baseline is complete"),
        (days(START, 56), 60, "No headache days in the baseline month"),
    ],
)
def test_the_rule_says_why_it_cannot_judge(diary_days, today_offset, reason) -> None:
    result = diary.responder(diary.periods(diary_days, START, START + timedelta(days=today_offset)))
    assert result.status == "not_judged" and result.is_responder is None
    assert reason in result.reason


def test_no_diary_is_not_judged() -> None:
    assert diary.responder([]).status == "not_judged"


def test_a_headache_day_needs_intensity_and_hours_and_a_day_without_has_neither() -> None:
    assert diary.check_day(True, "7", "2,5", False) == (True, 7, 2.5, False)
    assert diary.check_day(False, "7", "3", True) == (False, None, None, True)  # stray answers are dropped
    with pytest.raises(DiaryError) as refused:
        diary.check_day(True, "11", "0", None)
    assert set(refused.value.problems) == {"worst_intensity", "hours", "acute_medication"}
    for bad_hours in ("25", "-1", "nan", "abc", ""):
        with pytest.raises(DiaryError):
            diary.check_day(True, 5, bad_hours, False)
    with pytest.raises(DiaryError):
        diary.check_day(None, None, None, False)


def test_which_days_a_patient_may_write() -> None:
    today = START + timedelta(days=10)
    diary.check_day_allowed(today, today, START, already_recorded=True)  # today may be rewritten
    diary.check_day_allowed(today - timedelta(days=2), today, START, already_recorded=False)  # two days late
    refusals = [
        (today + timedelta(days=1), False, "not happened yet"),
        (today - timedelta(days=1), True, "can no longer be changed"),
        (today - timedelta(days=3), False, "can no longer be filled in"),
        (START - timedelta(days=1), False, "Your diary starts on"),
    ]
    for day, recorded, words in refusals:
        with pytest.raises(DiaryError) as refused:
            diary.check_day_allowed(day, today, START, already_recorded=recorded)
        assert words in refused.value.problems["day"]
    assert diary.open_days(today, START) == [today, today - timedelta(days=1), today - timedelta(days=2)]
    assert diary.open_days(START, START) == [START]


def test_only_migraine_and_tension_type_headache_keep_a_diary() -> None:
    assert diary.keeps_diary("migraine") and diary.keeps_diary("tension_type_headache")
    assert not diary.keeps_diary("neck_pain")
