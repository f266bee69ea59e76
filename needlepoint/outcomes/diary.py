"""Headache diary arithmetic: headache days and acute-medication days per 28-day period, and the responder rule.

Pure Python (imports nothing from Django). The rules and their sources are in ``data/headache_diary.json``:
a month is a 28-day period counted from the diary's first day (the IHS trial guidelines count days per 4 weeks),
the first period is the baseline, and a responder has at least 50% fewer headache days per 28 days than at
baseline. A period is compared only once it has ended and the diary covers enough of its days; counts are then
scaled to 28 days. Anything short of that is shown, never judged.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

RULES_FILE = Path(__file__).parent / "data" / "headache_diary.json"
MAX_HOURS = 24
MAX_INTENSITY = 10


def _(text: str) -> str:
    """Marks a message for translation (the patient's page translates it); the English text stays as it is."""
    return text


class DiaryError(ValueError):
    """A diary entry cannot be stored; ``problems`` maps a field to the patient's words (in English).

    ``wording`` keeps each message as its English template and values, so the patient's page can say it in
    the patient's language: ``template % values`` is the English text. Date values are dates, formatted there.
    """

    def __init__(self, problems: dict[str, str], wording: dict[str, tuple[str, dict[str, Any]]] | None = None) -> None:
        super().__init__("; ".join(problems.values()))
        self.problems = problems
        self.wording = wording or {key: (text, {}) for key, text in problems.items()}


def _refused(field: str, template: str, **values: Any) -> DiaryError:
    """A refusal of one field, with English words made from ``template`` (dates written as 3 March 2026)."""
    shown = {k: f"{v.day} {v:%B %Y}" if isinstance(v, date) else v for k, v in values.items()}
    return DiaryError({field: template % shown}, {field: (template, values)})


@functools.cache
def rules() -> dict[str, Any]:
    """The diary's rules file, read once."""
    loaded: dict[str, Any] = json.loads(RULES_FILE.read_text(encoding="utf-8"))
    return loaded


def keeps_diary(condition: str) -> bool:
    """Whether episodes of this condition keep a headache diary (migraine and tension-type headache)."""
    return condition in rules()["conditions"]


def period_days() -> int:
    """Days in a diary month (28)."""
    return int(rules()["period_days"]["value"])


def responder_reduction() -> float:
    """The reduction in headache days, in percent of baseline, that makes a responder (50)."""
    return float(rules()["responder_reduction_percent"]["value"])


def min_recorded_days() -> int:
    """Days a period must have recorded before it is compared (21 of 28)."""
    return int(rules()["min_recorded_days"]["value"])


def late_entry_days() -> int:
    """How many days late a day not yet recorded may still be entered (2)."""
    return int(rules()["late_entry_days"]["value"])


@dataclass(frozen=True)
class DiaryDay:
    """One day of the diary: headache or not, the worst intensity (0-10), hours with headache, acute medication."""

    day: date
    headache: bool
    worst_intensity: int | None
    hours: float | None
    acute_medication: bool


def check_day(
    headache: bool | None, worst_intensity: Any, hours: Any, acute_medication: bool | None
) -> tuple[bool, int | None, float | None, bool]:
    """The entry's values made consistent, or DiaryError naming each problem in the patient's words.

    A headache day needs its worst intensity (0-10) and its hours (more than 0, at most 24); a day without
    headache has neither. Acute medication is asked every day (yes or no).
    """
    problems: dict[str, str] = {}
    if headache is None:
        problems["headache"] = _("Say whether you had a headache on this day.")
    if acute_medication is None:
        problems["acute_medication"] = _("Say whether you took medication for a headache on this day.")
    intensity = _number(worst_intensity)
    duration = _number(hours)
    if headache:
        if intensity is None or intensity != int(intensity) or not 0 <= intensity <= MAX_INTENSITY:
            problems["worst_intensity"] = _("Choose how bad the headache was at its worst, from 0 to 10.")
        if duration is None or not 0 < duration <= MAX_HOURS:
            problems["hours"] = _("Enter how many hours the headache lasted on this day (more than 0, at most 24).")
    if problems:
        raise DiaryError(problems)
    if not headache or intensity is None or duration is None:  # with a headache, both were checked above
        return False, None, None, bool(acute_medication)
    return True, int(intensity), float(duration), bool(acute_medication)


def _number(value: Any) -> float | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        number = float(str(value).replace(",", "."))
    except ValueError:
        return None
    return number if number == number and abs(number) != float("inf") else None  # NaN and infinity are not numbers


def check_day_allowed(day: date, today: date, start: date, already_recorded: bool) -> None:
    """Whether the patient may write ``day`` today: DiaryError with the reason if not.

    Today may be written and re-written; a day not yet recorded may be entered up to ``late_entry_days`` late;
    a day already recorded is closed once it has passed, and no day is in the future or before the diary began.
    """
    if day > today:
        raise _refused("day", _("You cannot fill in a day that has not happened yet."))
    if day < start:
        raise _refused("day", _("Your diary starts on %(start)s; choose a day from then on."), start=start)
    if day < today and already_recorded:
        raise _refused(
            "day",
            _("%(day)s is already in your diary and can no longer be changed. Tell your clinician if it is wrong."),
            day=day,
        )
    if (today - day).days > late_entry_days():
        raise _refused(
            "day", _("Days more than %(days)s days back can no longer be filled in."), days=late_entry_days()
        )


def open_days(today: date, start: date) -> list[date]:
    """The days the patient may choose on the diary page: today, then up to ``late_entry_days`` back."""
    return [today - timedelta(days=n) for n in range(late_entry_days() + 1) if today - timedelta(days=n) >= start]


@dataclass(frozen=True)
class Period:
    """One 28-day diary month: what was recorded, and whether it can be compared."""

    number: int  # 1 = baseline
    first_day: date
    last_day: date
    recorded_days: int
    headache_days: int
    medication_days: int
    ended: bool

    @property
    def is_baseline(self) -> bool:
        """The first period of the diary is its baseline."""
        return self.number == 1

    @property
    def comparable(self) -> bool:
        """Ended, with enough days recorded to stand for the whole period."""
        return self.ended and self.recorded_days >= min_recorded_days()

    @property
    def headache_days_per_period(self) -> float | None:
        """Headache days scaled to 28 days (from the days recorded); None while the period cannot be compared."""
        return self._scaled(self.headache_days)

    @property
    def medication_days_per_period(self) -> float | None:
        """Acute-medication days scaled to 28 days; None while the period cannot be compared."""
        return self._scaled(self.medication_days)

    def _scaled(self, count: int) -> float | None:
        if not self.comparable:
            return None
        return count * period_days() / self.recorded_days


def periods(days: Iterable[DiaryDay], start: date, today: date) -> list[Period]:
    """The diary's 28-day periods from ``start`` up to the one containing ``today`` (days after today ignored)."""
    length = period_days()
    if today < start:
        return []
    count = (today - start).days // length + 1
    recorded = [[0, 0, 0] for _ in range(count)]
    for entry in days:
        offset = (entry.day - start).days
        if offset < 0 or entry.day > today:
            continue
        tally = recorded[offset // length]
        tally[0] += 1
        tally[1] += entry.headache
        tally[2] += entry.acute_medication
    result = []
    for index, (n, headache, medication) in enumerate(recorded):
        first = start + timedelta(days=index * length)
        last = first + timedelta(days=length - 1)
        result.append(Period(index + 1, first, last, n, headache, medication, ended=last < today))
    return result


@dataclass(frozen=True)
class Responder:
    """The responder judgement: 'responder', 'not_responder' or 'not_judged', with the figures and the reason."""

    status: str
    reason: str
    baseline: float | None = None  # headache days per 28 days at baseline
    latest: float | None = None  # in the latest comparable period
    reduction_percent: float | None = None
    period: int | None = None  # the period compared with baseline

    @property
    def is_responder(self) -> bool | None:
        """True or False once judged; None when the diary cannot support a judgement."""
        return None if self.status == "not_judged" else self.status == "responder"


def responder(diary_periods: list[Period]) -> Responder:
    """At least a 50% reduction in headache days per 28 days, latest comparable period against baseline."""
    if not diary_periods:
        return Responder("not_judged", "No diary kept yet.")
    baseline = diary_periods[0]
    if not baseline.ended:
        return Responder("not_judged", f"The baseline month is still running (until {baseline.last_day:%Y-%m-%d}).")
    if not baseline.comparable:
        return Responder(
            "not_judged",
            f"The baseline month has {baseline.recorded_days} of {period_days()} days recorded; "
            f"at least {min_recorded_days()} are needed.",
        )
    base = baseline.headache_days_per_period
    assert base is not None
    later = [p for p in diary_periods[1:] if p.comparable]
    if not later:
        return Responder("not_judged", "No month after the baseline is complete yet.", baseline=base)
    latest = later[-1]
    current = latest.headache_days_per_period
    assert current is not None
    if base == 0:
        return Responder(
            "not_judged", "No headache days in the baseline month: a reduction cannot be judged.", base, current
        )
    reduction = (base - current) / base * 100
    threshold = responder_reduction()
    status = "responder" if reduction >= threshold else "not_responder"
    reason = f"{reduction:.0f}% fewer headache days than at baseline (responder from {threshold:.0f}%)."
    return Responder(status, reason, base, current, reduction, latest.number)
