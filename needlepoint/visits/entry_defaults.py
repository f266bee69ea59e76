"""Which needle length the needling form proposes when the clinician picks a muscle.

Pure Python, no Django. The proposal is asked of the safety rules themselves, so it follows them whatever
they become: a stocked length is "quiet" for a muscle when it raises no warning that the shortest stocked
length does not raise already (a warning every length raises, such as a refusal or an unsourced depth, is
not the length's doing). For a muscle with a sourced safe depth the proposal is the longest quiet length
not above that depth; for any other muscle the form keeps the clinician's last length unless it is longer
than the longest quiet one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from needlepoint.visits import safety


@dataclass(frozen=True)
class LengthProposal:
    """The longest stocked length the form may propose for a muscle, and whether that comes from a
    sourced safe depth (then it is proposed outright) or only caps the clinician's last choice."""

    longest_mm: float
    from_safe_depth: bool


def _codes(muscle: safety.MuscleHazard, length_mm: float, screening: safety.ScreeningFlags) -> set[str]:
    entry = safety.PlannedNeedling(muscle.muscle_id, "right", length_mm)
    return {w.code for w in safety.needling_warnings([entry], {muscle.muscle_id: muscle}, screening)}


def length_proposal(
    muscle: safety.MuscleHazard, lengths: Sequence[float], screening: safety.ScreeningFlags
) -> LengthProposal:
    """The longest stocked length that adds no warning for ``muscle`` (and is not above its sourced safe
    depth); the shortest stocked length when every longer one adds a warning."""
    ordered = sorted(float(length) for length in lengths)
    if not ordered:
        raise ValueError("The needle stock has no lengths.")
    baseline = _codes(muscle, ordered[0], screening)
    depth = muscle.safe_depth_mm
    for length in reversed(ordered):
        if depth is not None and length > depth:
            continue
        if _codes(muscle, length, screening) <= baseline:
            return LengthProposal(length, depth is not None)
    return LengthProposal(ordered[0], depth is not None)


def length_proposals(
    muscles: Mapping[str, safety.MuscleHazard], lengths: Sequence[float], screening: safety.ScreeningFlags
) -> dict[str, LengthProposal]:
    """``length_proposal`` for every muscle, keyed by muscle id."""
    return {muscle_id: length_proposal(muscle, lengths, screening) for muscle_id, muscle in muscles.items()}
