"""Which questionnaires each condition collects: the defaults from ``data/condition_instruments.json``
and the check applied to a clinic's own choice.

Pure Python: imports nothing from Django (the condition list and the instrument files are plain modules too).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import MappingProxyType

from needlepoint.outcomes.due import Rule, ScheduleError, check_rule, check_schedule, rule_for
from needlepoint.outcomes.scoring import Instrument, instruments
from needlepoint.patients.conditions import conditions

PLAN_FILE = Path(__file__).parent / "data" / "condition_instruments.json"
MAX_INSTRUMENTS = 6  # a patient answering more than this at one time point stops answering carefully
PAIN_INSTRUMENT = "NPRS"  # collected at every visit and on every link, so never part of a plan


class PlanError(ValueError):
    """A list of instruments cannot be used as a plan; the message says why."""


class PlanDataError(ValueError):
    """The plan data file is malformed; the message names the entry."""


def is_self_reportable(defn: Instrument) -> bool:
    """Whether a patient can answer the instrument on a phone: not a measurement taken by a clinician."""
    return any(item.kind != "measurement" for item in defn.items)


def check_plan(codes: Iterable[str]) -> tuple[str, ...]:
    """The instrument codes, upper-cased, in the order given; PlanError if unknown, repeated or too many."""
    if isinstance(codes, str):
        raise PlanError("Give a list of instrument codes, not one string.")
    known = instruments()
    chosen: list[str] = []
    for raw in codes:
        code = str(raw).strip().upper()
        if not code:
            continue
        if code not in known:
            raise PlanError(f"{code} is not a known instrument; known instruments are {', '.join(sorted(known))}.")
        if code == PAIN_INSTRUMENT:
            raise PlanError("Pain (NPRS) is collected at every visit and on every link; leave it out of the plan.")
        if code in chosen:
            raise PlanError(f"{code} is listed twice.")
        chosen.append(code)
    if not chosen:
        raise PlanError("Choose at least one instrument.")
    if len(chosen) > MAX_INSTRUMENTS:
        raise PlanError(f"Choose at most {MAX_INSTRUMENTS} instruments for one condition.")
    return tuple(chosen)


@functools.cache
def default_plans() -> Mapping[str, tuple[str, ...]]:
    """The default instruments for every condition, validated against the condition list and instrument files."""
    try:
        data = json.loads(PLAN_FILE.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise PlanDataError(f"data/condition_instruments.json is not valid JSON ({exc})") from exc
    rows = data.get("conditions")
    if not isinstance(rows, dict):
        raise PlanDataError("data/condition_instruments.json: 'conditions' must be an object")
    everywhere = tuple(data.get("any_condition", ()))
    plans: dict[str, tuple[str, ...]] = {}
    for condition, row in rows.items():
        if condition not in conditions():
            raise PlanDataError(f"data/condition_instruments.json: unknown condition '{condition}'")
        if not isinstance(row, dict) or not str(row.get("why", "")).strip():
            raise PlanDataError(f"data/condition_instruments.json: '{condition}' needs 'instruments' and 'why'")
        try:
            plans[condition] = check_plan(row.get("instruments", ()))
        except PlanError as exc:
            raise PlanDataError(f"data/condition_instruments.json: '{condition}': {exc}") from exc
        missing = [code for code in everywhere if code not in plans[condition]]
        if missing:
            raise PlanDataError(f"data/condition_instruments.json: '{condition}' lacks {missing} (any_condition)")
    absent = sorted(set(conditions()) - set(plans))
    if absent:
        raise PlanDataError(f"data/condition_instruments.json: no instruments for {', '.join(absent)}")
    return MappingProxyType(plans)


@functools.cache
def default_schedule() -> Rule:
    """When a plan's instruments are due unless the clinic says otherwise (``schedule`` in the plan file)."""
    data = json.loads(PLAN_FILE.read_text(encoding="utf-8"))
    if not str(data.get("schedule_source", "")).strip():
        raise PlanDataError("data/condition_instruments.json: 'schedule' needs a 'schedule_source'")
    try:
        return check_rule(data.get("schedule", {}))
    except ScheduleError as exc:
        raise PlanDataError(f"data/condition_instruments.json: 'schedule': {exc}") from exc


def schedule_rules(codes: Iterable[str], stored: Mapping[str, object] | None) -> dict[str, Rule]:
    """Each instrument's rule: the plan's stored schedule where it names one, else the default.

    The pain rating is left out: it is collected at every visit and on every link anyway.
    """
    rules = check_schedule(stored or {}, codes)
    return {code: rule_for(rules, code, default_schedule()) for code in codes if code != PAIN_INSTRUMENT}
