"""Search across the atlas: muscles, body regions and conditions, by words in any order.

A muscle matches on its name, the common names and abbreviations it is also known as (``also_known_as`` in
``muscles.json``: SCM, QL, TFL, ECRB ...), its id, body area, trigger-point locations, clinical tags and
presentations; a muscle whose name or one of whose other names is exactly the query comes first (so "TA" finds
tibialis anterior before every muscle whose text merely contains "ta"). A region matches on its name or code (left
and right are one result, with the muscles that refer pain there); a condition on its name or code (with the
muscles listed for it); a muscle not yet in the atlas on its name (with the reason). Pure Python: imports nothing
from Django.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from needlepoint.atlas.catalogue import (
    CONDITION_CODES,
    SIDE_SUFFIX,
    MissingMuscle,
    Muscle,
    body_map,
    muscles,
    not_yet_in_atlas,
)
from needlepoint.patients.conditions import condition_label

MAX_RESULTS = 30
_NOT_WORD = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class RegionHit:
    """A body region (both sides together) and the muscles whose referral zones include it."""

    base: str
    name: str
    view: str
    codes: tuple[str, ...]
    primary: tuple[Muscle, ...]
    spillover: tuple[Muscle, ...]


@dataclass(frozen=True)
class ConditionHit:
    """An episode condition and the atlas muscles listed for it."""

    code: str
    label: str
    muscles: tuple[Muscle, ...]


@dataclass(frozen=True)
class SearchResults:
    """What a search found, each list in atlas order (muscles named exactly by the query first)."""

    query: str
    muscles: tuple[Muscle, ...]
    regions: tuple[RegionHit, ...]
    conditions: tuple[ConditionHit, ...]
    # Muscles the atlas does not hold yet whose name matches, so a search for one says so rather than nothing.
    not_yet: tuple[MissingMuscle, ...] = ()

    @property
    def empty(self) -> bool:
        """True when nothing matched."""
        return not (self.muscles or self.regions or self.conditions or self.not_yet)


def search_atlas(query: str) -> SearchResults:
    """Muscles, regions and conditions whose text contains every word of ``query`` (case ignored)."""
    words = _words(query)
    if not words:
        return SearchResults(query, (), (), ())
    exact = " ".join(words)
    found = [m for m in muscles().values() if _matches(words, _muscle_text(m))]
    found_muscles = tuple(sorted(found, key=lambda m: exact not in _names(m)))
    regions = tuple(r for r in region_hits() if _matches(words, f"{r.name} {r.base} {' '.join(r.codes)}"))
    conditions = tuple(c for c in condition_hits() if _matches(words, f"{c.label} {c.code}"))
    not_yet = tuple(m for m in not_yet_in_atlas() if _matches(words, m.name))
    return SearchResults(query, found_muscles[:MAX_RESULTS], regions[:MAX_RESULTS], conditions, not_yet)


def region_hits() -> list[RegionHit]:
    """Every region, left and right merged, with the muscles that refer pain to it."""
    regions = body_map().regions
    groups: dict[str, list[str]] = {}
    for code, region in regions.items():
        groups.setdefault(region.base_code, []).append(code)
    primary: dict[str, list[Muscle]] = {}
    spillover: dict[str, list[Muscle]] = {}
    for muscle in muscles().values():
        for zone in muscle.referral.primary:
            primary.setdefault(zone.base, []).append(muscle)
        for zone in muscle.referral.spillover:
            spillover.setdefault(zone.base, []).append(muscle)
    hits = []
    for base, codes in groups.items():
        first = regions[codes[0]]
        name = first.name.removesuffix(f" ({first.side})") if first.side in SIDE_SUFFIX else first.name
        in_primary = _unique(primary.get(base, []))
        in_spill = [m for m in _unique(spillover.get(base, [])) if m not in in_primary]
        hits.append(RegionHit(base, name, first.view, tuple(codes), tuple(in_primary), tuple(in_spill)))
    return hits


def condition_hits() -> list[ConditionHit]:
    """Every atlas condition with its muscles."""
    atlas = muscles().values()
    return [
        ConditionHit(code, condition_label(code), tuple(m for m in atlas if code in m.conditions))
        for code in CONDITION_CODES
    ]


def _names(muscle: Muscle) -> set[str]:
    """The muscle's name and other names, each as its words joined by single spaces."""
    return {" ".join(_words(name)) for name in (muscle.name, *muscle.also_known_as)}


def _muscle_text(muscle: Muscle) -> str:
    parts = [muscle.name, *muscle.also_known_as, muscle.id.replace("-", " "), muscle.body_area, *muscle.tags]
    parts += muscle.presentations
    parts += [tp.location for tp in muscle.trigger_points]
    return " ".join(parts)


def _plain(text: str) -> str:
    return _NOT_WORD.sub(" ", str(text or "").lower())


def _words(text: str) -> list[str]:
    return _plain(text).split()


def _matches(words: list[str], text: str) -> bool:
    haystack = _plain(text)
    return all(w in haystack for w in words)


def _unique(items: list[Muscle]) -> list[Muscle]:
    seen: dict[str, Muscle] = {}
    for m in items:
        seen.setdefault(m.id, m)
    return list(seen.values())
