"""Trigger-point atlas matcher: vignette hit rates, robustness to sloppy drawings, and ranking time.

Run from the repository root, without Django:

    .venv/bin/python benchmarks/atlas_matcher.py

Prints the share of the clinical vignettes (tests/atlas/vignettes.json) whose textbook muscle is ranked first and
within the first three, lists the misses, repeats the count for perturbed drawings (no episode condition; one
region left out; one neighbouring region added), and times the ranking of one drawing over the whole atlas (median
and 95th percentile of 2000 runs). Targets: top-3 >= 90 %, first >= 60 %, median < 5 ms.

The vignettes are written from the same clinical.md section A text as the atlas, so the plain hit rate measures
whether the matcher recovers the textbook muscle from its own textbook pattern; the perturbed rates show how
quickly that degrades when the drawing is incomplete or spills onto a neighbouring region.
"""

from __future__ import annotations

import json
import re
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from needlepoint.atlas.catalogue import muscles, regions  # noqa: E402
from needlepoint.atlas.matcher import default_index, rank_muscles  # noqa: E402

VIGNETTES = ROOT / "tests" / "atlas" / "vignettes.json"
TIMING_RUNS = 2000
NEIGHBOUR_INTENSITY = 3


def hits(cases: list[dict]) -> tuple[int, int, list[str]]:
    """Count first-place and top-3 hits over the cases and describe each case not ranked first."""
    first = top3 = 0
    misses = []
    for case in cases:
        ranked = [m.muscle_id for m in rank_muscles(case["drawing"], case["condition"], limit=3)]
        expected = set(case["expected"])
        first += bool(ranked and ranked[0] in expected)
        hit3 = bool(expected & set(ranked))
        top3 += hit3
        if not ranked or ranked[0] not in expected:
            label = "MISS top-3" if not hit3 else "not first"
            misses.append(f"  {case['id']} {label}: expected {sorted(expected)}, got {ranked}")
    return first, top3, misses


def without_condition(cases: list[dict]) -> Iterator[dict]:
    """Each vignette with its episode condition removed."""
    for case in cases:
        yield {**case, "condition": None}


def leave_one_out(cases: list[dict]) -> Iterator[dict]:
    """Each vignette of two or more regions once for every region left out."""
    for case in cases:
        if len(case["drawing"]) < 2:
            continue
        for code in case["drawing"]:
            yield {**case, "drawing": {r: i for r, i in case["drawing"].items() if r != code}}


def with_neighbour(cases: list[dict]) -> Iterator[dict]:
    """Each vignette with the region nearest to its most intense region added at a low intensity."""
    centres = _centres()
    for case in cases:
        strongest = max(case["drawing"], key=lambda r: (case["drawing"][r] or 0, r))
        neighbour = min(
            (r for r in centres if r not in case["drawing"] and centres[r][0] == centres[strongest][0]),
            key=lambda r: (_distance(centres[r], centres[strongest]), r),
        )
        yield {**case, "drawing": {**case["drawing"], neighbour: NEIGHBOUR_INTENSITY}}


def _centres() -> dict[str, tuple[str, float, float]]:
    out = {}
    for code, region in regions().items():
        numbers = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", region.svg)]
        xs, ys = numbers[0::2], numbers[1::2]
        out[code] = (region.view, sum(xs) / len(xs), sum(ys) / len(ys))
    return out


def _distance(a: tuple[str, float, float], b: tuple[str, float, float]) -> float:
    return ((a[1] - b[1]) ** 2 + (a[2] - b[2]) ** 2) ** 0.5


def time_ranking(cases: list[dict]) -> list[float]:
    """Milliseconds per ranking of a full drawing over the whole atlas, cycling through the vignettes."""
    default_index()  # built once at start-up in the application too
    timings = []
    for i in range(TIMING_RUNS):
        case = cases[i % len(cases)]
        start = time.perf_counter()
        rank_muscles(case["drawing"], case["condition"])
        timings.append((time.perf_counter() - start) * 1000)
    return timings


def _report(label: str, make: Callable[[list[dict]], Iterator[dict]], cases: list[dict]) -> None:
    variants = list(make(cases))
    first, top3, _ = hits(variants)
    n = len(variants)
    print(f"  {label:<34} n={n:<4} first {first / n:6.1%}   top three {top3 / n:6.1%}")


def main() -> None:
    """Print hit rates, misses, robustness and timings."""
    cases = json.loads(VIGNETTES.read_text(encoding="utf-8"))["cases"]
    first, top3, misses = hits(cases)
    n = len(cases)
    ambiguous = sum(len(c["expected"]) > 1 for c in cases)
    print(f"Atlas: {len(muscles())} muscles, {len(regions())} regions")
    print(f"Vignettes: {n} ({ambiguous} ambiguous, with several textbook muscles accepted)")
    print(f"First place: {first}/{n} = {first / n:.1%} (target >= 60%)")
    print(f"Top three:   {top3}/{n} = {top3 / n:.1%} (target >= 90%)")
    print("Not ranked first:" if misses else "Not ranked first: none")
    if misses:
        print("\n".join(misses))
    print("Perturbed drawings:")
    _report("no episode condition", without_condition, cases)
    _report("one region left out", leave_one_out, cases)
    _report(f"nearest region added at {NEIGHBOUR_INTENSITY}/10", with_neighbour, cases)
    timings = sorted(time_ranking(cases))
    p95 = timings[int(0.95 * len(timings)) - 1]
    print(
        f"Ranking time over the whole atlas ({len(muscles())} muscles, {TIMING_RUNS} runs): "
        f"median {statistics.median(timings):.3f} ms, p95 {p95:.3f} ms (target median < 5 ms)"
    )


if __name__ == "__main__":
    main()
