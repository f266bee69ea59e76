"""Rank the muscles whose referred-pain patterns best explain a pain drawing.

A drawing maps region codes of ``regions.json`` to an intensity from 0 to 10, or ``None`` when the patient marked
the region without rating it. ``rank_muscles`` scores every muscle of the atlas against it and returns the muscles
best first, each with a score, the side whose pattern matched, a reason a clinician can read and the muscle's
needling hazard.

Method (all parts deterministic):

1. Drawing weights. A region rated ``i`` weighs ``i / 10``; an unrated region weighs 0.5; a region rated 0 is
   ignored (the patient said it does not hurt).
2. Candidate patterns. Muscles are described for one side. Each muscle's pattern, and each trigger point's own
   pattern where the data give one, is mirrored onto the left and onto the right side; the muscle's pattern on both
   sides at once is a further candidate for bilateral drawings. In a pattern a primary (essential) zone weighs 1.0
   and a spill-over zone 0.5.
3. Local pain. A trigger point's own site (the region that holds it, ``site`` in ``muscles.json``) also counts
   toward its muscle, at 0.5 (``LOCAL_WEIGHT``), where the pattern does not already name that region: the
   muscle's pattern takes the sites of all its trigger points, a trigger point's own pattern its own site. Why
   0.5, the spill-over weight: pain drawn at the point supports its muscle but does not define it the way the
   essential zone does (a region that holds a trigger point holds other tissue that can hurt, and the points of
   several muscles may lie under one region), so it counts as supporting evidence, like spill-over. Less would
   leave a drawing of the point and its zone ranking the muscle barely above the zone alone; more would let a
   muscle whose point merely lies under a drawn region (the low back holds several) outrank one whose essential
   zone is drawn.
4. Specificity of a region, like inverse document frequency: ``idf(r) = ln(1 + M / (n_r + 0.5))`` where ``M`` is
   the number of muscles and ``n_r`` the number of muscles whose pattern or trigger-point sites include region
   ``r``. A zone that few muscles explain is stronger evidence than one that many share.
5. Coverage: the share of the drawing the pattern explains,
   ``C = sum(w_r * idf_r * z_r over drawn regions in the pattern) / sum(w_r * idf_r over all drawn regions)``,
   with ``z_r`` 1.0, 0.5 or the local weight.
6. Fit: the share of the pattern that is drawn, ``F = sum(z_r * idf_r over drawn pattern regions) /
   sum(z_r * idf_r over the whole pattern)``. A pattern spread over many zones of which few are drawn is less
   specific evidence for its muscle. A trigger-point site counts in both sums only when it is drawn: pain at
   the point raises the fit, its absence does not lower it (patients often do not feel the point itself).
7. Score: ``C ** 0.7 * F ** 0.3``. Coverage weighs more: patients often draw only part of a pattern, while the
   muscle should explain the pain they do draw.
8. Condition prior: when the episode's condition is given, the score of a muscle that does not list that condition
   is multiplied by 0.75.
9. A muscle's score is that of its best candidate, rounded to three decimals. Muscles that explain nothing (score
   0.000) are left out. Equal scores are ordered by muscle id. When the left and right patterns score the same (a
   drawing of midline regions only) the side is reported as "both".

The constants (1.0/0.5, 0.7/0.3, 0.75, 0.5 for unrated) were set from these principles before the vignettes in
``tests/atlas/vignettes.json`` were run, and were not fitted to them. The local weight was set from the argument
in step 3 before the vignettes were run with it; a check afterwards found 0.25 and 0.5 alike on the vignettes, and
0.75 or 1.0 lowering the first-place rate with one region left out (benchmarks/atlas_matcher.py).

The index behind this (patterns mirrored, specificities, an inverted index from region to patterns) is built once,
so ranking one drawing over the whole atlas takes well under a millisecond.

Pure Python: imports nothing from Django.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass

from needlepoint.atlas.catalogue import (
    CONDITION_CODES,
    BodyMap,
    Muscle,
    ReferralPattern,
    Region,
    UnknownRegionError,
    Zone,
    body_map,
    muscles,
    unknown_region_message,
)

PRIMARY_WEIGHT = 1.0
SPILLOVER_WEIGHT = 0.5
# Pain drawn at a trigger point's own site counts like spill-over (reasoning in the module docstring, step 3).
LOCAL_WEIGHT = 0.5
UNRATED_WEIGHT = 0.5
COVERAGE_EXPONENT = 0.7
FIT_EXPONENT = 0.3
CONDITION_MISMATCH_FACTOR = 0.75
MAX_INTENSITY = 10
SCORE_DECIMALS = 3
_TIE = 1e-12


@dataclass(frozen=True)
class MuscleMatch:
    """One ranked muscle: how well its pattern explains the drawing, why, and what needling it risks.

    ``unverified`` is true for a muscle whose entry comes from a source outside the project's cross-checked
    muscle table.
    """

    muscle_id: str
    muscle_name: str
    score: float
    side: str
    reason: str
    matched_primary: tuple[str, ...]
    matched_spillover: tuple[str, ...]
    matched_local: tuple[str, ...]
    unexplained: tuple[str, ...]
    trigger_point: str | None
    coverage: float
    fit: float
    hazard_kinds: tuple[str, ...]
    hazard_note: str
    hazard_unverified: bool
    over_thorax: bool
    safe_depth_mm: float | None
    unverified: bool


@dataclass(frozen=True)
class Candidate:
    """A referral pattern placed on one side (or both): region code -> zone weight.

    ``local`` holds the trigger-point sites the pattern does not already name (region code -> local weight);
    ``norm`` sums the pattern's zones only.
    """

    muscle_id: str
    side: str
    trigger_point: str | None
    weights: Mapping[str, float]
    local: Mapping[str, float]
    unverified: frozenset[str]
    norm: float


@dataclass(frozen=True)
class AtlasIndex:
    """Everything the matcher needs, precomputed: muscles, regions, specificities and an inverted index."""

    muscles: Mapping[str, Muscle]
    regions: Mapping[str, Region]
    idf: Mapping[str, float]
    candidates: tuple[Candidate, ...]
    # Region -> (candidate, zone weight, True when the region is only the candidate's trigger-point site).
    postings: Mapping[str, tuple[tuple[int, float, bool], ...]]


def rank_muscles(
    drawing: Mapping[str, float | int | None],
    condition: str | None = None,
    limit: int | None = None,
    *,
    index: AtlasIndex | None = None,
) -> list[MuscleMatch]:
    """Muscles whose referral patterns explain ``drawing``, best first (method in the module docstring).

    ``drawing`` maps region codes to intensities 0-10 or ``None``; ``condition`` is the episode's condition code;
    ``limit`` keeps the first n. Raises ``UnknownRegionError`` for a region code that is not in the vocabulary
    and ``ValueError`` for an intensity outside 0-10 or an unknown condition.
    """
    atlas = index or default_index()
    weights = _drawing_weights(drawing, atlas)
    if condition is not None and condition not in CONDITION_CODES:
        raise ValueError(f"Unknown condition {condition!r}; use one of {list(CONDITION_CODES)}")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise ValueError("limit must be a positive whole number or None")
    best = _best_candidates(weights, condition, atlas)
    ranked = sorted(best.items(), key=lambda item: (-round(item[1][0], SCORE_DECIMALS), item[0]))
    matches = [_match(mid, result, weights, atlas) for mid, result in ranked]
    matches = [m for m in matches if m.score > 0]
    return matches[:limit] if limit else matches


@functools.cache
def default_index() -> AtlasIndex:
    """The index of the atlas shipped in ``needlepoint/atlas/data``, built once."""
    return build_index(muscles(), body_map())


def build_index(atlas_muscles: Mapping[str, Muscle], bmap: BodyMap) -> AtlasIndex:
    """Mirror every pattern onto both sides, compute region specificities and the region -> pattern index."""
    patterns = [(m.id, *p) for m in atlas_muscles.values() for p in _patterns(m)]
    shapes: list[_Shape] = []
    for mid, tp_code, pattern, sites in patterns:
        for side in ("left", "right"):
            placed, unverified = _place(pattern, side, bmap)
            shapes.append(_Shape(mid, side, tp_code, placed, _local(sites, (side,), placed, bmap), unverified))
        if tp_code is None:
            both, unverified = _place_both(pattern, bmap)
            local = _local(sites, ("left", "right"), both, bmap)
            shapes.append(_Shape(mid, "both", None, both, local, unverified))
    idf = _specificities(atlas_muscles, shapes, bmap)
    candidates = tuple(
        Candidate(s.muscle_id, s.side, s.tp, s.placed, s.local, s.unverified, _norm(s.placed, idf)) for s in shapes
    )
    postings: dict[str, list[tuple[int, float, bool]]] = {}
    for i, cand in enumerate(candidates):
        for region, z in cand.weights.items():
            postings.setdefault(region, []).append((i, z, False))
        for region, z in cand.local.items():
            postings.setdefault(region, []).append((i, z, True))
    return AtlasIndex(
        muscles=atlas_muscles,
        regions=bmap.regions,
        idf=idf,
        candidates=candidates,
        postings={r: tuple(p) for r, p in postings.items()},
    )


# ---------------------------------------------------------------------------------------------------------------
# Index construction


@dataclass(frozen=True)
class _Shape:
    muscle_id: str
    side: str
    tp: str | None
    placed: dict[str, float]
    local: dict[str, float]
    unverified: frozenset[str]


def _patterns(muscle: Muscle) -> list[tuple[str | None, ReferralPattern, tuple[Zone, ...]]]:
    """The muscle's pattern with all its trigger-point sites, then each trigger point's own pattern and site."""
    whole = (None, muscle.referral, tuple(tp.site for tp in muscle.trigger_points))
    own = [(tp.code, tp.referral, (tp.site,)) for tp in muscle.trigger_points if tp.referral is not None]
    return [whole, *own]


def _local(
    sites: tuple[Zone, ...], sides: tuple[str, ...], placed: Mapping[str, float], bmap: BodyMap
) -> dict[str, float]:
    """The sites on ``sides`` that the placed pattern does not already name, at the local weight."""
    codes = {site.region_code(side, bmap) for site in sites for side in sides}
    return {code: LOCAL_WEIGHT for code in sorted(codes) if code not in placed}


def _place(pattern: ReferralPattern, side: str, bmap: BodyMap) -> tuple[dict[str, float], frozenset[str]]:
    placed: dict[str, float] = {}
    for zones, z in ((pattern.primary, PRIMARY_WEIGHT), (pattern.spillover, SPILLOVER_WEIGHT)):
        for zone in zones:
            code = zone.region_code(side, bmap)
            placed[code] = max(placed.get(code, 0.0), z)
    return placed, frozenset(_unverified_codes(pattern.unverified, side, bmap))


def _place_both(pattern: ReferralPattern, bmap: BodyMap) -> tuple[dict[str, float], frozenset[str]]:
    left, unv_left = _place(pattern, "left", bmap)
    right, unv_right = _place(pattern, "right", bmap)
    merged = dict(left)
    for code, z in right.items():
        merged[code] = max(merged.get(code, 0.0), z)
    return merged, unv_left | unv_right


def _unverified_codes(zones: tuple[Zone, ...], side: str, bmap: BodyMap) -> list[str]:
    return [zone.region_code(side, bmap) for zone in zones]


def _norm(placed: Mapping[str, float], idf: Mapping[str, float]) -> float:
    return sum(z * idf[r] for r, z in placed.items())


def _specificities(atlas_muscles: Mapping[str, Muscle], shapes: list[_Shape], bmap: BodyMap) -> dict[str, float]:
    muscles_by_region: dict[str, set[str]] = {code: set() for code in bmap.regions}
    for shape in shapes:
        for region in (*shape.placed, *shape.local):
            muscles_by_region[region].add(shape.muscle_id)
    total = len(atlas_muscles)
    return {code: math.log(1 + total / (len(mids) + 0.5)) for code, mids in muscles_by_region.items()}


# ---------------------------------------------------------------------------------------------------------------
# Scoring


def _drawing_weights(drawing: Mapping[str, float | int | None], atlas: AtlasIndex) -> dict[str, float]:
    if not isinstance(drawing, Mapping):
        raise TypeError("A drawing is a mapping of region code -> intensity (0-10) or None")
    weights: dict[str, float] = {}
    for code, intensity in drawing.items():
        if code not in atlas.regions:
            raise UnknownRegionError(unknown_region_message(str(code)))
        if intensity is None:
            weights[code] = UNRATED_WEIGHT
            continue
        if isinstance(intensity, bool) or not isinstance(intensity, int | float) or math.isnan(intensity):
            raise ValueError(f"Intensity for {code!r} must be a number from 0 to 10 or None, not {intensity!r}")
        if not 0 <= intensity <= MAX_INTENSITY:
            raise ValueError(f"Intensity for {code!r} must be from 0 to 10, not {intensity!r}")
        if intensity > 0:
            weights[code] = intensity / MAX_INTENSITY
    return weights


def _best_candidates(
    weights: Mapping[str, float], condition: str | None, atlas: AtlasIndex
) -> dict[str, tuple[float, Candidate, float, float, bool]]:
    total = sum(w * atlas.idf[r] for r, w in weights.items())
    if total <= 0:
        return {}
    explained: dict[int, float] = {}
    drawn_pattern: dict[int, float] = {}
    drawn_local: dict[int, float] = {}
    for region, w in weights.items():
        idf = atlas.idf[region]
        for i, z, local in atlas.postings.get(region, ()):
            explained[i] = explained.get(i, 0.0) + w * idf * z
            drawn = drawn_local if local else drawn_pattern
            drawn[i] = drawn.get(i, 0.0) + z * idf
    best: dict[str, tuple[float, Candidate, float, float, bool]] = {}
    for i in sorted(explained):
        cand = atlas.candidates[i]
        # A drawn trigger-point site joins the pattern for the fit; an undrawn one is not missed (step 6).
        at_point = drawn_local.get(i, 0.0)
        coverage, fit = explained[i] / total, (drawn_pattern.get(i, 0.0) + at_point) / (cand.norm + at_point)
        score = coverage**COVERAGE_EXPONENT * fit**FIT_EXPONENT * _prior(cand.muscle_id, condition, atlas)
        current = best.get(cand.muscle_id)
        if current is None or score > current[0] + _TIE:
            best[cand.muscle_id] = (score, cand, coverage, fit, False)
        elif abs(score - current[0]) <= _TIE and {current[1].side, cand.side} == {"left", "right"}:
            # Equal left and right patterns: the drawing does not tell the side.
            best[cand.muscle_id] = (*current[:4], True)
    return best


def _prior(muscle_id: str, condition: str | None, atlas: AtlasIndex) -> float:
    if condition is None or condition in atlas.muscles[muscle_id].conditions:
        return 1.0
    return CONDITION_MISMATCH_FACTOR


def _match(
    muscle_id: str,
    result: tuple[float, Candidate, float, float, bool],
    weights: Mapping[str, float],
    atlas: AtlasIndex,
) -> MuscleMatch:
    score, cand, coverage, fit, either_side = result
    side = "both" if either_side else cand.side
    order = sorted(weights, key=lambda r: (-weights[r], r))
    primary = tuple(r for r in order if cand.weights.get(r) == PRIMARY_WEIGHT)
    spillover = tuple(r for r in order if cand.weights.get(r) == SPILLOVER_WEIGHT)
    local = tuple(r for r in order if r in cand.local)
    unexplained = tuple(r for r in order if r not in cand.weights and r not in cand.local)
    muscle = atlas.muscles[muscle_id]
    hazard = muscle.hazard
    return MuscleMatch(
        muscle_id=muscle_id,
        muscle_name=muscle.name,
        score=round(score, SCORE_DECIMALS),
        side=side,
        reason=_reason(primary, spillover, local, unexplained, cand, side, atlas),
        matched_primary=primary,
        matched_spillover=spillover,
        matched_local=local,
        unexplained=unexplained,
        trigger_point=cand.trigger_point,
        coverage=round(coverage, SCORE_DECIMALS),
        fit=round(fit, SCORE_DECIMALS),
        hazard_kinds=hazard.kinds,
        hazard_note=hazard.note,
        hazard_unverified=hazard.unverified,
        over_thorax=hazard.over_thorax,
        safe_depth_mm=hazard.safe_depth_mm,
        unverified=muscle.unverified,
    )


# ---------------------------------------------------------------------------------------------------------------
# Reasons in plain English


def _reason(
    primary: tuple[str, ...],
    spillover: tuple[str, ...],
    local: tuple[str, ...],
    unexplained: tuple[str, ...],
    cand: Candidate,
    side: str,
    atlas: AtlasIndex,
) -> str:
    parts = []
    if primary:
        parts.append(_clause(primary, "in its primary zone", cand, side, atlas))
    if spillover:
        parts.append(_clause(spillover, "in its spill-over zone", cand, side, atlas))
    if local:
        parts.append(_clause(local, "at its trigger point", cand, side, atlas))
    text = "; ".join(parts)
    text = text[0].upper() + text[1:] + "."
    if cand.trigger_point:
        text += f" Best fit: its {cand.trigger_point.replace('-', ' ')} trigger point."
    if unexplained:
        names = _names(unexplained, side, atlas)
        shown = names[:3] + ([f"{len(names) - 3} more"] if len(names) > 3 else [])
        text += f" Not in its pattern: {_join(shown)}."
    return text


def _clause(codes: tuple[str, ...], where: str, cand: Candidate, side: str, atlas: AtlasIndex) -> str:
    names = _names(codes, side, atlas, cand.unverified)
    verb = "is" if len(names) == 1 else "are"
    return f"{_join(names)} {verb} {where}"


def _names(codes: tuple[str, ...], side: str, atlas: AtlasIndex, unverified: frozenset[str] = frozenset()) -> list[str]:
    groups: dict[str, list[Region]] = {}
    for code in codes:
        region = atlas.regions[code]
        groups.setdefault(region.base_code, []).append(region)
    return [_group_name(group, side, unverified) for group in groups.values()]


def _group_name(group: list[Region], side: str, unverified: frozenset[str]) -> str:
    region = group[0]
    name = region.plain_name
    if len(group) == 2:
        name += " on both sides"
    elif region.side != "midline" and side == "both":
        name += f" on the {region.side}"
    elif region.side != "midline" and region.side != side:
        name += " on the opposite side"
    if any(r.code in unverified for r in group):
        name += " (unverified)"
    return name


def _join(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
