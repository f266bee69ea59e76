"""When each questionnaire of an episode is due again: at baseline, every N days, every Nth visit and at discharge.

Pure Python: imports nothing from Django. The database layer (``schedule``) gathers an episode's facts (opening
day, visit days, discharge day, the days each instrument was answered, the instruments of links still out) and
these rules say which occasions have come, which are done, which are due now, which are overdue, and which
count towards a completion rate.

An occasion is done when the instrument was answered, by the patient or entered by the clinician, inside the
occasion's window: from ``EARLY_DAYS`` before its due day until the next occasion of the same rule begins (the
baseline's and the discharge's windows close ``BASELINE_WINDOW_DAYS`` after the opening or the discharge).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

EARLY_DAYS = 3  # an answer a few days before the due day (a visit moved forward) still counts
BASELINE_WINDOW_DAYS = 14  # an answer later than this after opening (or discharge) is no baseline (discharge) measure
GRACE_DAYS = 7  # a due questionnaire becomes overdue (and counts in the completion rate) a week after its due day
MAX_EVERY_DAYS = 365
MAX_EVERY_VISITS = 50

BASELINE, INTERVAL, VISIT, DISCHARGE = "baseline", "every_days", "every_visits", "discharge"
# The time point a link is sent for, by the rule that made it due: what the Observation records.
TIME_POINT = {BASELINE: "baseline", INTERVAL: "reassessment", VISIT: "reassessment", DISCHARGE: "discharge"}
_PRIORITY = (DISCHARGE, BASELINE, INTERVAL, VISIT)  # one link per episode: the most telling time point first


class ScheduleError(ValueError):
    """A schedule cannot be used; the message says why."""


@dataclass(frozen=True)
class Rule:
    """When one instrument is due: at baseline, every ``every_days`` days, every ``every_visits``-th visit, and
    at discharge (either repeat may be None)."""

    baseline: bool = True
    every_days: int | None = None
    every_visits: int | None = None
    discharge: bool = True

    def describe(self) -> str:
        """The rule in words, e.g. 'at baseline, every 14 days and at discharge'."""
        parts = ["at baseline"] if self.baseline else []
        if self.every_days:
            parts.append(f"every {self.every_days} days")
        if self.every_visits:
            parts.append(f"every {self.every_visits}th visit" if self.every_visits > 3 else _nth(self.every_visits))
        if self.discharge:
            parts.append("at discharge")
        if not parts:
            return "never"
        return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]

    def as_data(self) -> dict[str, Any]:
        """The rule as stored in a plan's JSON."""
        return {
            "baseline": self.baseline,
            "every_days": self.every_days,
            "every_visits": self.every_visits,
            "discharge": self.discharge,
        }


def _nth(n: int) -> str:
    return {1: "at every visit", 2: "every 2nd visit", 3: "every 3rd visit"}[n]


def _whole(value: Any, name: str, high: int) -> int | None:
    if value in (None, "", 0):
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= high:
        raise ScheduleError(f"{name} must be a whole number from 1 to {high}, or empty.")
    return int(value)


def check_rule(data: Mapping[str, Any]) -> Rule:
    """A rule from its stored form; ScheduleError naming the field if it is malformed or asks for nothing."""
    if not isinstance(data, Mapping):
        raise ScheduleError("A schedule rule must be an object.")
    unknown = set(data) - {"baseline", "every_days", "every_visits", "discharge"}
    if unknown:
        raise ScheduleError(f"Unknown schedule field(s): {', '.join(sorted(unknown))}.")
    for flag in ("baseline", "discharge"):
        if not isinstance(data.get(flag, True), bool):
            raise ScheduleError(f"{flag} must be true or false.")
    rule = Rule(
        baseline=data.get("baseline", True),
        every_days=_whole(data.get("every_days"), "every_days", MAX_EVERY_DAYS),
        every_visits=_whole(data.get("every_visits"), "every_visits", MAX_EVERY_VISITS),
        discharge=data.get("discharge", True),
    )
    if not (rule.baseline or rule.every_days or rule.every_visits or rule.discharge):
        raise ScheduleError("A schedule must make the instrument due at least once.")
    return rule


def check_schedule(data: Mapping[str, Any], codes: Iterable[str]) -> dict[str, Rule]:
    """A plan's schedule: one rule per instrument code (``"*"`` the rule for instruments not named)."""
    if not isinstance(data, Mapping):
        raise ScheduleError("A schedule must map instrument codes to rules.")
    known = set(codes) | {"*"}
    rules: dict[str, Rule] = {}
    for code, rule in data.items():
        if code not in known:
            raise ScheduleError(f"The schedule names {code}, which the plan does not collect.")
        try:
            rules[code] = check_rule(rule)
        except ScheduleError as exc:
            raise ScheduleError(f"{code}: {exc}") from exc
    return rules


def rule_for(rules: Mapping[str, Rule], code: str, default: Rule) -> Rule:
    """The instrument's own rule, else the plan's rule for every instrument, else the default."""
    return rules.get(code) or rules.get("*") or default


@dataclass(frozen=True)
class EpisodeFacts:
    """What the rules need to know of an episode: its opening day, its visits' days (in order) and its
    discharge day (None while open)."""

    opened_on: date
    visit_days: tuple[date, ...] = ()
    discharged_on: date | None = None


@dataclass(frozen=True)
class Occasion:
    """One time an instrument came due: the rule that made it, its due day, and the window in which an answer
    counts (``window_end`` excluded; None = still open)."""

    kind: str
    due_on: date
    window_start: date
    window_end: date | None

    @property
    def time_point(self) -> str:
        return TIME_POINT[self.kind]

    def done_by(self, answered_on: Iterable[date]) -> bool:
        """Whether any answer falls inside the window."""
        return any(
            self.window_start <= day and (self.window_end is None or day < self.window_end) for day in answered_on
        )

    def open_on(self, today: date) -> bool:
        """Whether its window has begun and not yet closed."""
        return self.window_start <= today and (self.window_end is None or today < self.window_end)


def occasions(rule: Rule, facts: EpisodeFacts, today: date) -> list[Occasion]:
    """Every occasion the rule has made due up to ``today``, in order of due day.

    Repeats stop at discharge: after it only the discharge occasion remains.
    """
    early = timedelta(days=EARLY_DAYS)
    until = min(today, facts.discharged_on) if facts.discharged_on else today
    found: list[Occasion] = []
    if rule.baseline and facts.opened_on <= today:
        end = facts.opened_on + timedelta(days=BASELINE_WINDOW_DAYS)
        found.append(Occasion(BASELINE, facts.opened_on, facts.opened_on - early, end))
    if rule.every_days:
        step = timedelta(days=rule.every_days)
        days = []
        day = facts.opened_on + step
        while day <= until and (facts.discharged_on is None or day < facts.discharged_on):
            days.append(day)
            day += step
        found += _chain(INTERVAL, days, early, facts.discharged_on)
    if rule.every_visits:
        visits = [d for d in sorted(facts.visit_days) if d <= until]
        due = visits[rule.every_visits - 1 :: rule.every_visits]
        if facts.discharged_on is not None:
            due = [d for d in due if d < facts.discharged_on]
        found += _chain(VISIT, due, early, facts.discharged_on)
    if rule.discharge and facts.discharged_on is not None and facts.discharged_on <= today:
        end = facts.discharged_on + timedelta(days=BASELINE_WINDOW_DAYS)
        found.append(Occasion(DISCHARGE, facts.discharged_on, facts.discharged_on - early, end))
    return sorted(found, key=lambda o: (o.due_on, _PRIORITY.index(o.kind)))


def _chain(kind: str, days: list[date], early: timedelta, stop: date | None) -> list[Occasion]:
    """Repeated occasions: each window runs until the next one's begins (the last until discharge, if any)."""
    if not days:
        return []
    ends: list[date | None] = [*(d - early for d in days[1:]), stop - early if stop else None]
    return [Occasion(kind, d, d - early, end) for d, end in zip(days, ends, strict=True)]


@dataclass(frozen=True)
class Due:
    """An instrument due now for an episode: the occasion, and whether it is past its grace period."""

    instrument: str
    occasion: Occasion
    overdue: bool


def due_now(
    rules: Mapping[str, Rule], facts: EpisodeFacts, answered: Mapping[str, Iterable[date]], today: date
) -> list[Due]:
    """Per instrument, the occasion due now and not yet done (the latest such, by priority), if any.

    ``rules``: instrument code -> rule; ``answered``: instrument code -> the days it was answered.
    """
    found = []
    for code, rule in rules.items():
        chosen = _due_among(code, occasions(rule, facts, today), list(answered.get(code, ())), today)
        if chosen is not None:
            found.append(chosen)
    return found


def _due_among(code: str, made: list[Occasion], days: list[date], today: date) -> Due | None:
    """Of one instrument's occasions, the one due now and not yet done (the latest such, by priority)."""
    pending = [o for o in made if o.open_on(today) and not o.done_by(days)]
    if not pending:
        return None
    chosen = min(pending, key=lambda o: (_PRIORITY.index(o.kind), -o.due_on.toordinal()))
    return Due(code, chosen, today >= chosen.due_on + timedelta(days=GRACE_DAYS))


def to_send(due: Iterable[Due], out: Iterable[str]) -> tuple[list[Due], list[Due]]:
    """Split what is due into (to send, already out): an instrument on a link still open counts as sent."""
    out = set(out)
    send: list[Due] = []
    already: list[Due] = []
    for item in due:
        (already if item.instrument in out else send).append(item)
    return send, already


def time_point_for(due: Iterable[Due]) -> str | None:
    """The one time point a link for these instruments records: discharge, else baseline, else re-assessment."""
    kinds = {d.occasion.kind for d in due}
    for kind in _PRIORITY:
        if kind in kinds:
            return TIME_POINT[kind]
    return None


@dataclass(frozen=True)
class Completion:
    """Of the occasions whose grace period has ended, how many were done: ``n`` settled, ``done`` of them."""

    n: int
    done: int

    @property
    def rate(self) -> float | None:
        return self.done / self.n if self.n else None


def settled(
    rules: Mapping[str, Rule], facts: EpisodeFacts, answered: Mapping[str, Iterable[date]], today: date, since: date
) -> Completion:
    """Occasions due between ``since`` and the end of their grace period before ``today``, and how many were done."""
    pooled = Completion(0, 0)
    for code, rule in rules.items():
        pooled = add(pooled, _settled_among(occasions(rule, facts, today), list(answered.get(code, ())), today, since))
    return pooled


def _settled_among(made: list[Occasion], days: list[date], today: date, since: date) -> Completion:
    """Of one instrument's occasions, those settled since ``since`` (grace period over), and how many were done."""
    n = done = 0
    for o in made:
        if o.due_on < since or o.due_on + timedelta(days=GRACE_DAYS) > today:
            continue
        n += 1
        done += o.done_by(days)
    return Completion(n, done)


def due_and_settled(
    rules: Mapping[str, Rule], facts: EpisodeFacts, answered: Mapping[str, Iterable[date]], today: date, since: date
) -> tuple[list[Due], Completion]:
    """``due_now`` and ``settled`` together, each instrument's occasions worked out once (the dashboard's board
    asks both of every episode)."""
    found: list[Due] = []
    pooled = Completion(0, 0)
    for code, rule in rules.items():
        made = occasions(rule, facts, today)
        days = list(answered.get(code, ()))
        chosen = _due_among(code, made, days, today)
        if chosen is not None:
            found.append(chosen)
        pooled = add(pooled, _settled_among(made, days, today, since))
    return found, pooled


def add(a: Completion, b: Completion) -> Completion:
    """Two completions pooled."""
    return Completion(a.n + b.n, a.done + b.done)
