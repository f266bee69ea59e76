"""Responder rules and missing follow-up policies for the clinic evidence report.

A rule says when an episode counts as a responder: its change reached the measure's MCID (the default), its
percent change reached X, or its final value ended at or below (or at or above) a threshold. Each rule is
also given as linear conditions on (baseline, final) so that the database can count responders in SQL and
agree with ``is_responder`` here. No Django imports.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

Direction = Literal["higher_is_worse", "higher_is_better"]

# Measures are recorded to at most a few decimals; a change equal to the threshold must count as reaching it
# even when binary floating point lands a hair below (0.3 * 10 == 3.0000000000000004).
TOLERANCE = 1e-9

_SQL_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$")


class RuleKind(StrEnum):
    """The kinds of responder rule the report offers."""

    MCID = "mcid"
    PERCENT = "percent"
    FINAL_AT_MOST = "final-at-most"
    FINAL_AT_LEAST = "final-at-least"


@dataclass(frozen=True)
class ResponderRule:
    """A parsed responder rule; ``value`` is the percent or the final-value threshold (None for MCID)."""

    kind: RuleKind
    value: float | None = None


@dataclass(frozen=True)
class LinearCondition:
    """``baseline_coefficient * baseline + final_coefficient * final <comparison> bound``, SQL-ready."""

    baseline_coefficient: float
    final_coefficient: float
    comparison: Literal[">=", ">"]
    bound: float

    def holds(self, baseline: float, final: float) -> bool:
        """Evaluate the condition in Python, exactly as the SQL expression would."""
        left = self.baseline_coefficient * baseline + self.final_coefficient * final
        return left >= self.bound if self.comparison == ">=" else left > self.bound

    def as_sql(self, baseline_column: str = "baseline", final_column: str = "final") -> str:
        """The condition as a SQL boolean expression over two numeric columns (identifiers are validated).

        Both columns always appear, even with a zero coefficient, so that a NULL in either makes the row a
        non-responder, as ``is_responder`` does.
        """
        baseline = f"({self.baseline_coefficient!r} * {_identifier(baseline_column)})"
        final = f"({self.final_coefficient!r} * {_identifier(final_column)})"
        return f"{baseline} + {final} {self.comparison} {self.bound!r}"


def parse_rule(text: str) -> ResponderRule:
    """Parse ``"mcid"``, ``"percent:30"``, ``"final-at-most:1"`` or ``"final-at-least:40"``."""
    kind_text, _, value_text = text.strip().lower().partition(":")
    try:
        kind = RuleKind(kind_text)
    except ValueError:
        raise ValueError(
            f"Unknown responder rule {text!r}; use mcid, percent:X, final-at-most:X or final-at-least:X."
        ) from None
    if kind is RuleKind.MCID:
        if value_text:
            raise ValueError("The mcid rule takes no value; the measure's published MCID is used.")
        return ResponderRule(kind)
    value = _parse_number(value_text, text)
    if kind is RuleKind.PERCENT and value <= 0:
        raise ValueError(f"A percent rule needs a positive percentage, got {text!r}.")
    return ResponderRule(kind, value)


def is_responder(
    rule: ResponderRule, baseline: float | None, final: float | None, mcid: float | None, direction: Direction
) -> bool:
    """Whether one episode meets the rule; a missing baseline or final value is never a response."""
    threshold = _threshold(rule, mcid, direction)
    if baseline is None or final is None:
        return False
    improvement = baseline - final if direction == "higher_is_worse" else final - baseline
    if rule.kind is RuleKind.MCID:
        return improvement >= threshold - TOLERANCE
    if rule.kind is RuleKind.PERCENT:
        # A percent change from zero is undefined: such an episode cannot show a relative improvement.
        return baseline > 0 and improvement >= threshold / 100 * baseline - TOLERANCE
    if rule.kind is RuleKind.FINAL_AT_MOST:
        return final <= threshold + TOLERANCE
    return final >= threshold - TOLERANCE


def responder_conditions(rule: ResponderRule, mcid: float | None, direction: Direction) -> tuple[LinearCondition, ...]:
    """The rule as linear conditions on (baseline, final) that must all hold, for counting in SQL.

    Rows with a NULL baseline or final fail any such condition in SQL, matching ``is_responder``.
    Example: MCID 2 on a higher-is-worse measure gives ``baseline - final >= 2 - TOLERANCE``.
    """
    threshold = _threshold(rule, mcid, direction)
    sign = 1.0 if direction == "higher_is_worse" else -1.0
    if rule.kind is RuleKind.MCID:
        return (LinearCondition(sign, -sign, ">=", threshold - TOLERANCE),)
    if rule.kind is RuleKind.PERCENT:
        # improvement >= p * baseline, rearranged so each column appears once.
        baseline_coefficient = sign - threshold / 100
        return (
            LinearCondition(1.0, 0.0, ">", 0.0),
            LinearCondition(baseline_coefficient, -sign, ">=", -TOLERANCE),
        )
    if rule.kind is RuleKind.FINAL_AT_MOST:
        return (LinearCondition(0.0, -1.0, ">=", -threshold - TOLERANCE),)
    return (LinearCondition(0.0, 1.0, ">=", threshold - TOLERANCE),)


def describe_rule(rule: ResponderRule, mcid: float | None, direction: Direction) -> str:
    """A plain-English sentence saying what counted as a response."""
    _threshold(rule, mcid, direction)  # refuses a rule that does not fit the measure
    if rule.kind is RuleKind.MCID:
        return f"A responder improved by at least the minimal clinically important difference ({mcid:g} points)."
    if rule.kind is RuleKind.PERCENT:
        return f"A responder improved by at least {rule.value:g}% of the starting value."
    bound = "at most" if rule.kind is RuleKind.FINAL_AT_MOST else "at least"
    return (
        f"A responder ended with a final value of {bound} {rule.value:g}, whatever the starting value, "
        "so an episode that started there counts without improving."
    )


class MissingPolicy(StrEnum):
    """How episodes without a follow-up value enter the responder rate."""

    ITT = "itt"
    COMPLETERS = "completers"


def parse_missing_policy(text: str) -> MissingPolicy:
    """Parse ``"itt"`` (intention to treat) or ``"completers"``."""
    try:
        return MissingPolicy(text.strip().lower())
    except ValueError:
        raise ValueError(f"Unknown missing follow-up policy {text!r}; use itt or completers.") from None


def responder_count(policy: MissingPolicy, responders: int, with_follow_up: int, episodes: int) -> tuple[int, int]:
    """(successes, denominator) for the Wilson interval under the chosen missing follow-up policy."""
    if not 0 <= responders <= with_follow_up <= episodes:
        raise ValueError("Need 0 <= responders <= episodes with follow-up <= episodes.")
    if policy is MissingPolicy.ITT:
        return responders, episodes
    return responders, with_follow_up


def describe_missing_policy(policy: MissingPolicy, with_follow_up: int, episodes: int) -> str:
    """A sentence stating the policy used, how many episodes it touched, and which way it can mislead."""
    if not 0 <= with_follow_up <= episodes:
        raise ValueError("Need 0 <= episodes with follow-up <= episodes.")
    missing = episodes - with_follow_up
    if policy is MissingPolicy.ITT:
        used = "Intention to treat: episodes without a follow-up value count as non-responders"
        effect = "so the rate errs on the low side"
    else:
        used = "Completers only: episodes without a follow-up value are left out"
        effect = "so the rate may flatter the clinic if patients who did not return did worse"
    if missing == 0:
        return f"{used}; all {episodes} episodes had a follow-up value, so this made no difference."
    return f"{used} ({missing} of {episodes} episodes had none), {effect}."


def _threshold(rule: ResponderRule, mcid: float | None, direction: Direction) -> float:
    """The rule's number (the MCID, the percent or the final value), once the rule is known to fit the measure."""
    if direction not in ("higher_is_worse", "higher_is_better"):
        raise ValueError(f"Unknown direction {direction!r}.")
    if rule.kind is RuleKind.MCID:
        if mcid is None or not mcid > 0:
            raise ValueError("The mcid rule needs the measure's MCID, a positive number.")
        return mcid
    if rule.value is None:
        raise ValueError(f"The {rule.kind.value} rule needs a number.")
    if rule.kind is RuleKind.PERCENT and direction == "higher_is_worse" and rule.value > 100:
        raise ValueError("A fall of more than 100% is impossible on a measure that cannot go below zero.")
    # Counting "final at most X" on a higher-is-better measure would reward getting worse, and vice versa.
    if rule.kind is RuleKind.FINAL_AT_MOST and direction == "higher_is_better":
        raise ValueError("final-at-most suits measures where higher is worse; use final-at-least.")
    if rule.kind is RuleKind.FINAL_AT_LEAST and direction == "higher_is_worse":
        raise ValueError("final-at-least suits measures where higher is better; use final-at-most.")
    return rule.value


def _parse_number(value_text: str, rule_text: str) -> float:
    try:
        value = float(value_text)
    except ValueError:
        raise ValueError(f"Responder rule {rule_text!r} needs a number after the colon.") from None
    if not math.isfinite(value):
        raise ValueError(f"Responder rule {rule_text!r} needs a finite number.")
    return value


def _identifier(column: str) -> str:
    if not _SQL_IDENTIFIER.match(column):
        raise ValueError(f"Not a plain SQL column name: {column!r}.")
    return column
