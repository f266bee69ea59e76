"""How the evidence report writes its numbers, the same on the page, in the PDF and on the command line.

Every estimate is written with its n and its 95% interval; an estimate without enough data says so instead of
showing a number. No Django imports.
"""

from __future__ import annotations

from typing import Any

from needlepoint.insights.stats import Estimate, Proportion, Rate

STATUS_WORDS = {
    "consistent": "Consistent with the claim",
    "not_consistent": "Not consistent with the claim",
    "not_enough_data": "Not enough data",
}
STATUS_BADGES = {"consistent": "ok", "not_consistent": "bad", "not_enough_data": "warn"}
CLAIM_TITLES = {
    "relief": "Pain relief within the first treatment or two",
    "rom": "Better range of motion",
    "recovery": "Faster recovery (time to discharge with goals met)",
}
# The same claims in a few words, for the one-line summary of each condition.
CLAIM_SHORT = {"relief": "Relief", "rom": "Range of motion", "recovery": "Recovery"}
# Why a verdict cannot show cause and effect, in a few words, beside the verdict on that line.
REASON_SHORT = {
    "relief": "no untreated group: cannot show cause",
    "rom": "no untreated group: cannot show cause",
    "recovery": "not randomised: association only",
}
NOT_ENOUGH = "not enough data"


def share(value: Proportion | None) -> str:
    """'58% (98 of 168; 95% CI 51% to 66%)', or why there is no share."""
    if value is None:
        return "not applicable"
    if not value.enough_data:
        return f"{NOT_ENOUGH} (n = {value.n})"
    return f"{value.value:.0%} ({value.successes} of {value.n}; 95% CI {value.low:.0%} to {value.high:.0%})"


def mean(value: Estimate | None, unit: str = "") -> str:
    """'-2.1 (95% CI -2.5 to -1.8; n = 154)', or why there is no mean."""
    if value is None:
        return "not applicable"
    if not value.enough_data:
        return f"{NOT_ENOUGH} (n = {value.n})"
    return f"{value.value:.1f}{unit} (95% CI {value.low:.1f} to {value.high:.1f}; n = {value.n})"


def rate(value: Rate | None) -> str:
    """'185.2 per 1,000 (95% CI 177.8 to 192.8; 2,364 in 12,768 visits)', or why there is no rate."""
    if value is None:
        return "not applicable"
    if not value.enough_data:
        return NOT_ENOUGH
    return (
        f"{value.per_1000:.1f} per 1,000 (95% CI {value.low:.1f} to {value.high:.1f}; "
        f"{value.events:,} in {value.exposures:,} visits)"
    )


def days(value: float | None) -> str:
    """A number of days, or 'not reached'."""
    return "not reached" if value is None else f"{value:g}"


def plain(value: Any) -> Any:
    """A value made JSON-friendly: numpy numbers to floats, tuples to lists, dataclasses to dicts."""
    from dataclasses import fields, is_dataclass

    if is_dataclass(value) and not isinstance(value, type):
        result = {item.name: plain(getattr(value, item.name)) for item in fields(value)}
        for name in ("enough_data",):
            if hasattr(value, name):
                result[name] = getattr(value, name)
        return result
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    if isinstance(value, bool | str | int) or value is None:
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)
