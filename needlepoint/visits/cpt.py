"""CPT code for a needling visit: 20560 for 1 or 2 muscles, 20561 for 3 or more, never both.

Pure Python, no Django. The codes, their muscle-count bands, work RVUs and the rule for counting the two
sides of one muscle live in ``data/cpt_codes.json`` (citing the project's references [S97–S104]).

The count is of anatomical muscles, not atlas entries: the atlas splits trapezius into upper, middle and lower
parts and sternocleidomastoid into two heads, and each names the muscle it belongs to (``anatomical_muscle`` in
``atlas/data/muscles.json``), so right upper + right lower trapezius + right levator scapulae are 2 muscles. A
group entry (scalenes, hamstrings) counts the members its trigger points lie in; an entry needled at a trigger
point without a member counts as one muscle of the group. The count is the fewest anatomical muscles that the
recorded trigger points can stand for, so a visit is never coded above what its record shows.

How sides count is not settled by the §F.1 sources. The data file's default, ``per_side``, counts left and
right of one muscle as two muscles, following an AAPC coding answer for the trigger-point injection codes
(also banded by muscle count); it is marked unverified, and a clinic can switch it to ``per_muscle``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from itertools import combinations
from pathlib import Path
from typing import Any, Protocol

# The atlas catalogue is pure Python too (it imports nothing from Django).
from needlepoint.atlas.catalogue import MuscleAnatomy, muscle_anatomy

DATA_FILE = Path(__file__).parent / "data" / "cpt_codes.json"

PER_SIDE = "per_side"
PER_MUSCLE = "per_muscle"
SIDES = ("left", "right", "both")

_SOURCE_KEY = re.compile(r"\[S\d+")


class CptDataError(ValueError):
    """The CPT data file is malformed; the message names the file and every problem."""


class NeedledMuscle(Protocol):
    """Anything that says which muscle was needled and on which side (an entry, a model row).

    An entry may also carry ``trigger_point`` (the atlas trigger-point code, blank when not recorded); for a group
    entry such as the scalenes it tells which member was needled. Entries without the attribute count as needled
    at no particular trigger point.
    """

    @property
    def muscle_id(self) -> str: ...

    @property
    def side(self) -> str: ...


@dataclass(frozen=True)
class CptBand:
    """One code and the range of muscle counts it covers (``max_muscles`` None: no upper limit)."""

    code: str
    description: str
    min_muscles: int
    max_muscles: int | None
    work_rvu: float
    work_rvu_source: str
    source: str

    def covers(self, count: int) -> bool:
        """Whether this code applies to a visit with ``count`` muscles."""
        return count >= self.min_muscles and (self.max_muscles is None or count <= self.max_muscles)


@dataclass(frozen=True)
class CptNote:
    """A billing note shown beside the code (for example: not with 20552/20553 for the same muscles)."""

    text: str
    source: str
    unverified: bool


@dataclass(frozen=True)
class CptTable:
    """The codes in band order, how the two sides of one muscle count, and billing notes."""

    bands: tuple[CptBand, ...]
    counting: str
    counting_rules: dict[str, str]
    counting_source: str
    counting_unverified: bool
    notes: tuple[CptNote, ...] = ()
    # How atlas entries become anatomical muscles (shown with the code), its source and whether it is verified.
    anatomy_rule: str = ""
    anatomy_source: str = ""
    anatomy_unverified: bool = True


@dataclass(frozen=True)
class CptChoice:
    """The code chosen for a visit, with the count and counting rule behind it."""

    code: str
    description: str
    muscle_count: int
    counting_rule: str
    counting_unverified: bool
    counting_source: str
    work_rvu: float
    source: str
    anatomy_rule: str = ""


def load_cpt_table(path: Path = DATA_FILE) -> CptTable:
    """Read and validate a CPT data file; raise CptDataError listing every problem."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        counting, bands = raw["counting"], [_band(entry) for entry in raw["codes"]]
        table = CptTable(
            bands=tuple(bands),
            counting=counting["sides"],
            counting_rules=dict(counting["rules"]),
            counting_source=counting["source"],
            counting_unverified=counting["unverified"],
            notes=tuple(CptNote(n["text"], n["source"], n["unverified"]) for n in raw.get("notes", [])),
            anatomy_rule=counting["anatomy"]["rule"],
            anatomy_source=counting["anatomy"]["source"],
            anatomy_unverified=counting["anatomy"]["unverified"],
        )
    except (OSError, json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise CptDataError(f"{path}: cannot be read as a CPT table: {exc!r}") from exc
    problems = _table_problems(table)
    if problems:
        raise CptDataError(f"{path}: invalid CPT table:\n- " + "\n- ".join(problems))
    return table


@cache
def cpt_table() -> CptTable:
    """The CPT table from the packaged data file."""
    return load_cpt_table(DATA_FILE)


def description_of(code: str, table: CptTable | None = None) -> str:
    """The description of a code of the table (for a stored code); empty for a code the table does not know."""
    table = cpt_table() if table is None else table
    return next((band.description for band in table.bands if band.code == code), "")


def _band(entry: dict[str, Any]) -> CptBand:
    return CptBand(
        code=str(entry["code"]),
        description=str(entry["description"]),
        min_muscles=entry["min_muscles"],  # checked in _table_problems
        max_muscles=entry["max_muscles"],
        work_rvu=entry["work_rvu"],
        work_rvu_source=str(entry["work_rvu_source"]),
        source=str(entry["source"]),
    )


def _table_problems(table: CptTable) -> list[str]:
    problems = []
    if set(table.counting_rules) != {PER_SIDE, PER_MUSCLE}:
        problems.append(f"counting.rules must describe exactly {PER_SIDE} and {PER_MUSCLE}.")
    if table.counting not in (PER_SIDE, PER_MUSCLE):
        problems.append(f"counting.sides must be {PER_SIDE} or {PER_MUSCLE}, not {table.counting!r}.")
    if not isinstance(table.counting_unverified, bool) or not _SOURCE_KEY.search(table.counting_source):
        problems.append("counting needs a source citing the project's reference keys and an unverified flag.")
    if not (
        table.anatomy_rule.strip()
        and _SOURCE_KEY.search(table.anatomy_source)
        and isinstance(table.anatomy_unverified, bool)
    ):
        problems.append(
            "counting.anatomy needs a rule, a source citing the project's reference keys and an unverified flag."
        )
    for band in table.bands:
        problems.extend(_band_problems(band))
    for note in table.notes:
        if not (note.text.strip() and _SOURCE_KEY.search(note.source) and isinstance(note.unverified, bool)):
            problems.append(
                f"note {note.text[:30]!r}: needs text, a source in the project's references and an unverified flag."
            )
    problems.extend(_coverage_problems(table.bands))
    return problems


def _band_problems(band: CptBand) -> list[str]:
    problems = []
    if not isinstance(band.min_muscles, int) or band.min_muscles < 1:
        problems.append(f"{band.code}: min_muscles must be a whole number from 1.")
    if band.max_muscles is not None and (not isinstance(band.max_muscles, int) or band.max_muscles < band.min_muscles):
        problems.append(f"{band.code}: max_muscles must be null or a whole number >= min_muscles.")
    if not isinstance(band.work_rvu, int | float) or band.work_rvu < 0:
        problems.append(f"{band.code}: work_rvu must be a number >= 0.")
    if not (_SOURCE_KEY.search(band.source) and _SOURCE_KEY.search(band.work_rvu_source)):
        problems.append(f"{band.code}: source and work_rvu_source must cite the project's reference keys.")
    return problems


def _coverage_problems(bands: Sequence[CptBand]) -> list[str]:
    # Contiguous bands from 1 to open-ended are what make "never both codes on one visit" true by data.
    if not bands:
        return ["at least one code is needed."]
    expected = 1
    for band in bands:
        if band.min_muscles != expected:
            return [f"{band.code}: bands must follow on without gap or overlap; it should start at {expected}."]
        if band.max_muscles is None:
            return [] if band is bands[-1] else ["only the last band may be open-ended."]
        expected = band.max_muscles + 1 if isinstance(band.max_muscles, int) else expected
    return ["the last band must be open-ended (max_muscles null)."]


@cache
def atlas_anatomy() -> Mapping[str, MuscleAnatomy]:
    """Atlas muscle id -> the anatomical muscle it counts as, from the packaged atlas data file."""
    return muscle_anatomy()


def count_muscles(
    entries: Iterable[NeedledMuscle], counting: str, anatomy: Mapping[str, MuscleAnatomy] | None = None
) -> int:
    """How many anatomical muscles a visit's needling counts as, under ``per_side`` or ``per_muscle`` counting.

    ``anatomy`` maps atlas muscle ids to what they count as (default: the atlas data file). A muscle id the
    mapping does not know counts as a muscle of its own.
    """
    if counting not in (PER_SIDE, PER_MUSCLE):
        raise ValueError(f"Counting must be {PER_SIDE} or {PER_MUSCLE}, not {counting!r}.")
    anatomy = atlas_anatomy() if anatomy is None else anatomy
    needled: dict[str, list[frozenset[str]]] = {}
    for entry in entries:
        if entry.side not in SIDES:
            raise ValueError(f"Side of {entry.muscle_id} must be one of {', '.join(SIDES)}, not {entry.side!r}.")
        candidates = _candidates(entry, anatomy)
        for side in ("left", "right") if entry.side == "both" else (entry.side,):
            needled.setdefault(side if counting == PER_SIDE else "", []).append(candidates)
    return sum(_fewest_muscles(sets) for sets in needled.values())


def _candidates(entry: NeedledMuscle, anatomy: Mapping[str, MuscleAnatomy]) -> frozenset[str]:
    known = anatomy.get(entry.muscle_id)
    if known is None:
        return frozenset({entry.muscle_id})
    return known.candidates(str(getattr(entry, "trigger_point", "") or ""))


def _fewest_muscles(needled: list[frozenset[str]]) -> int:
    """The fewest anatomical muscles that include at least one candidate of every needling.

    A needling with one candidate (a single muscle, or a group member named by its trigger point) is certain;
    the rest, group needlings that could be several members, are covered by as few further muscles as possible.
    Groups have a handful of members, so trying the smallest combinations first stays cheap.
    """
    distinct = set(needled)
    certain = {next(iter(c)) for c in distinct if len(c) == 1}
    open_sets = [c for c in distinct if not c & certain]
    if not open_sets:
        return len(certain)
    pool = sorted(frozenset().union(*open_sets))
    for size in range(1, len(open_sets) + 1):
        for chosen in combinations(pool, size):
            if all(c.intersection(chosen) for c in open_sets):
                return len(certain) + size
    return len(certain) + len(open_sets)  # unreachable: one member per open needling always covers them


def choose_cpt(
    entries: Iterable[NeedledMuscle],
    table: CptTable | None = None,
    anatomy: Mapping[str, MuscleAnatomy] | None = None,
) -> CptChoice | None:
    """The one CPT code for a visit's needling entries, or None when nothing was needled.

    Entries are the muscles actually needled. Entries for one anatomical muscle on one side (two trigger
    points, or two parts such as upper and lower trapezius) count once; see ``count_muscles``.
    """
    table = cpt_table() if table is None else table
    count = count_muscles(entries, table.counting, anatomy)
    if count == 0:
        return None
    band = next(b for b in table.bands if b.covers(count))
    return CptChoice(
        code=band.code,
        description=band.description,
        muscle_count=count,
        counting_rule=table.counting_rules[table.counting],
        counting_unverified=table.counting_unverified,
        counting_source=table.counting_source,
        work_rvu=band.work_rvu,
        source=f"{band.source}; work RVU: {band.work_rvu_source}",
        anatomy_rule=table.anatomy_rule,
    )
