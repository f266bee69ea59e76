"""Change from baseline on an outcome instrument: direction applied, responder status, beyond the MDC.

A responder is a patient whose improvement reaches the instrument's MCID, in points on the instrument's own
scale or in percent of the baseline, as the instrument's data file defines it (an override rule may be given,
e.g. one of the published alternatives), and also exceeds the instrument's MDC where one is sourced: a change
inside the MDC can be measurement error, so it is never called clinically important, even where a published
MCID lies below the MDC (the QuickDASH's 14 against 17.1). Whether a change exceeds measurement error is judged
against the MDC, never against zero.

Pure Python: imports nothing from Django.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

from needlepoint.outcomes.scoring import Instrument, Score, Threshold, instrument


class ChangeError(ValueError):
    """A change cannot be computed (unknown instrument, value off the scale, instrument that rates change)."""


@dataclass(frozen=True)
class Change:
    """Change between a baseline and a current score on one instrument."""

    instrument: str
    baseline: float
    current: float
    points: float  # current − baseline, as measured
    percent: float | None  # points ÷ baseline × 100; None when the baseline is 0
    improvement_points: float  # points with the instrument's direction applied: positive = better
    improvement_percent: float | None
    improved: bool
    is_responder: bool | None  # None when no responder rule is known or it cannot be applied
    responder_rule: Threshold | None
    rule_below_mdc: bool  # the rule lies below the MDC, so the MDC decides responder status too
    beyond_mdc: bool | None  # None when the instrument has no sourced MDC
    mdc: Threshold | None
    note: str


def responder_rules(instrument_code: str) -> tuple[Threshold, ...]:
    """The instrument's MCID followed by its published alternatives, for a clinician to choose from."""
    defn = instrument(instrument_code)
    primary = (defn.mcid,) if defn.mcid is not None else ()
    return primary + defn.mcid_alternatives


def _exact(value: float, defn: Instrument, what: str) -> Fraction:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ChangeError(f"{defn.code}: {what} {value!r} is not a number")
    low, high = defn.scale_range
    if not low <= value <= high:
        raise ChangeError(f"{defn.code}: {what} {value!r} is outside the scale ({low:g} to {high:g})")
    # repr gives the decimal the clinician sees, so 10 − 7 = 3 is 30 % of 10 exactly
    return Fraction(repr(float(value)))


def _value(entry: float | Score, defn: Instrument, what: str) -> Fraction:
    if isinstance(entry, Score):
        if entry.instrument != defn.code:
            raise ChangeError(f"{defn.code}: {what} is a {entry.instrument} score")
        entry = entry.total
    return _exact(entry, defn, what)


def _responder(
    rule: Threshold | None, improvement: Fraction, improvement_pct: Fraction | None
) -> tuple[bool | None, str]:
    if rule is None:
        return None, "no MCID is known for this instrument; supply a responder rule to judge response"
    if rule.unit == "percent":
        if improvement_pct is None:
            return None, "a percent rule cannot be applied to a baseline of 0"
        return improvement_pct >= Fraction(repr(rule.value)), f"MCID {rule.value:g} % of baseline"
    return improvement >= Fraction(repr(rule.value)), f"MCID {rule.value:g} points"


def _beyond_mdc(mdc: Threshold | None, points: Fraction) -> bool | None:
    if mdc is None:
        return None
    return abs(points) >= Fraction(repr(mdc.value))


def change_from_baseline(
    instrument_code: str,
    baseline: float | Score,
    current: float | Score,
    rule: Threshold | None = None,
) -> Change:
    """Change from baseline with direction applied, responder status against the MCID, and MDC check."""
    defn = instrument(instrument_code)
    if defn.rates_change:
        raise ChangeError(f"{defn.code} is itself a rating of change; compare it with a cut-off, not a baseline")
    start, now = _value(baseline, defn, "baseline"), _value(current, defn, "current score")
    points = now - start
    sign = -1 if defn.direction == "higher_is_worse" else 1
    percent = points / abs(start) * 100 if start != 0 else None
    improvement_pct = sign * percent if percent is not None else None
    chosen = rule if rule is not None else defn.mcid
    is_responder, note = _responder(chosen, sign * points, improvement_pct)
    beyond = _beyond_mdc(defn.mdc, points)
    if is_responder and beyond is False:
        is_responder = False  # reaching the MCID inside the MDC is not a clinically important change
    below = defn.below_mdc(chosen)
    if below and defn.mdc is not None:
        note += f" (below the MDC {defn.mdc.value:g}: the change must also pass the MDC)"
    return Change(
        instrument=defn.code,
        baseline=float(start),
        current=float(now),
        points=float(points),
        percent=None if percent is None else float(percent),
        improvement_points=float(sign * points),
        improvement_percent=None if improvement_pct is None else float(improvement_pct),
        improved=sign * points > 0,
        is_responder=is_responder,
        responder_rule=chosen,
        rule_below_mdc=below,
        beyond_mdc=beyond,
        mdc=defn.mdc,
        note=note,
    )
