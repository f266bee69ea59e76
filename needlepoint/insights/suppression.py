"""Small-number suppression for per-clinician and per-technique breakdowns.

Figures from a handful of episodes swing wildly by chance and, in a small clinic, can point to a single
patient. Groups below a configurable minimum are therefore shown as a marker with a reason, not a number.
No Django imports.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import TypeVar

DEFAULT_MINIMUM_N = 10
COMPLEMENTARY_MARKER = "withheld"

Key = TypeVar("Key", bound=Hashable)


@dataclass(frozen=True)
class Suppression:
    """Whether a group's figures may be shown; when not, the marker to show instead and why."""

    suppressed: bool
    marker: str
    reason: str


SHOWN = Suppression(suppressed=False, marker="", reason="")


def check_small_number(n: int, minimum_n: int = DEFAULT_MINIMUM_N) -> Suppression:
    """Suppress a group with fewer than ``minimum_n`` episodes; the reason never reveals the exact count."""
    _check_minimum(minimum_n)
    if n < 0:
        raise ValueError(f"A count cannot be negative, got {n!r}.")
    if n >= minimum_n:
        return SHOWN
    return Suppression(
        suppressed=True,
        marker=_marker(minimum_n),
        reason=(
            f"Fewer than {minimum_n} episodes: figures for groups this small are withheld because they "
            "change a lot by chance and could identify individual patients."
        ),
    )


def suppress_breakdown(counts: Mapping[Key, int], minimum_n: int = DEFAULT_MINIMUM_N) -> dict[Key, Suppression]:
    """Suppression for every group of a breakdown whose total is also published.

    If exactly one group is small, its count could be recovered by subtracting the others from the total,
    so the next smallest group is withheld as well (complementary suppression).
    """
    result = {key: check_small_number(n, minimum_n) for key, n in counts.items()}
    small = [key for key, suppression in result.items() if suppression.suppressed]
    shown = [key for key in counts if key not in small]
    if len(small) == 1 and shown:
        partner = min(shown, key=lambda key: counts[key])
        result[partner] = Suppression(
            suppressed=True,
            marker=COMPLEMENTARY_MARKER,
            reason="Withheld so that a smaller group in this table cannot be worked out from the total.",
        )
    return result


def _marker(minimum_n: int) -> str:
    return f"n < {minimum_n}"


def _check_minimum(minimum_n: int) -> None:
    if minimum_n < 1:
        raise ValueError(f"The minimum group size must be at least 1, got {minimum_n!r}.")
