"""The muscles a visit can record, adapted from the atlas catalogue for the needling form and the safety rules.

The atlas owns the data (``needlepoint/atlas/data/muscles.json``: ids, names, sides, trigger points,
hazards). This module keeps only what needling needs and turns each hazard block into the
``safety.MuscleHazard`` the pure rules take.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from needlepoint.atlas.catalogue import BODY_SIDES, Muscle, muscles
from needlepoint.visits.safety import MuscleHazard

BOTH_SIDES = BODY_SIDES


@dataclass(frozen=True)
class NeedlingMuscle:
    """A muscle as the needling form and the safety rules see it."""

    id: str
    name: str
    region: str
    sides: tuple[str, ...]
    trigger_points: tuple[tuple[str, str], ...]  # (code, label)
    hazard: MuscleHazard

    @property
    def has_several_trigger_points(self) -> bool:
        """Whether the clinician must say which trigger point was needled."""
        return len(self.trigger_points) > 1


def _label(code: str, location: str) -> str:
    location = " ".join(location.split())
    short = location if len(location) <= 60 else location[:57].rstrip(" ,;") + "…"
    return f"{code}: {short}" if short else code


def adapt(muscle: Muscle) -> NeedlingMuscle:
    """One atlas muscle as a ``NeedlingMuscle``. The atlas describes a muscle for one side, so it can be
    needled on either; ``MuscleHazard`` refuses an incomplete hazard block with a ValueError."""
    hazard = muscle.hazard
    block = {
        "kinds": hazard.kinds,
        "over_thorax": hazard.over_thorax,
        "safe_depth_mm": hazard.safe_depth_mm,
        "safe_depth_source": hazard.safe_depth_source or "",
        "structures": hazard.structures,
        "note": hazard.note,
        # The atlas adds pleura_access (lung apex, intercostal, below the 12th rib) in parallel; until it is
        # there, a thorax muscle counts as intercostal (see MuscleHazard.access).
        "pleura_access": getattr(hazard, "pleura_access", None),
    }
    return NeedlingMuscle(
        id=muscle.id,
        name=muscle.name,
        region=muscle.body_area,
        sides=BOTH_SIDES,
        trigger_points=tuple((tp.code, _label(tp.code, tp.location)) for tp in muscle.trigger_points),
        hazard=MuscleHazard.from_mapping(muscle.id, muscle.name, block),
    )


@cache
def needling_muscles() -> dict[str, NeedlingMuscle]:
    """Every muscle of the atlas catalogue, by id, in catalogue order."""
    return {muscle_id: adapt(muscle) for muscle_id, muscle in muscles().items()}


def hazards() -> dict[str, MuscleHazard]:
    """The hazard block of every muscle, by id, for ``safety.needling_warnings``."""
    return {muscle_id: m.hazard for muscle_id, m in needling_muscles().items()}


def muscle_name(muscle_id: str) -> str:
    """The muscle's name, or its id if the catalogue no longer lists it."""
    muscle = needling_muscles().get(muscle_id)
    return muscle.name if muscle else muscle_id


def trigger_point_label(muscle_id: str, code: str) -> str:
    """The trigger point's label as the atlas words it."""
    muscle = needling_muscles().get(muscle_id)
    if muscle is None or not code:
        return code
    return dict(muscle.trigger_points).get(code, code)
