"""Trigger-point atlas matcher: vignette hit rates and ranking time.

Run from the repository root, without Django:

    .venv/bin/python benchmarks/atlas_matcher.py

Prints the share of the clinical vignettes (tests/atlas/vignettes.json) whose textbook muscle is ranked first and
within the first three, lists the misses, and times the ranking of one drawing over the whole atlas (median and
95th percentile of at least 1000 runs). Targets: top-3 >= 90 %, first >= 60 %, median < 5 ms.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from needlepoint.atlas.catalogue import muscles, regions  # noqa: E402
from needlepoint.atlas.matcher import default_index, rank_muscles  # noqa: E402

VIGNETTES = ROOT / "tests" / "atlas" / "vignettes.json"
TIMING_RUNS = 2000


def evaluate(cases: list[dict]) -> tuple[int, int, list[str]]:
    """Count first-place and top-3 hits over the vignettes and describe each miss."""
    first = top3 = 0
    misses = []
    for case in cases:
        ranked = [m.muscle_id for m in rank_muscles(case["drawing"], case["condition"], limit=3)]
        expected = set(case["expected"])
        first += bool(ranked[:1] and ranked[0] in expected)
        hit3 = bool(expected & set(ranked))
        top3 += hit3
        if not ranked or ranked[0] not in expected:
            label = "MISS top-3" if not hit3 else "not first"
            misses.append(f"  {case['id']} {label}: expected {sorted(expected)}, got {ranked}")
    return first, top3, misses


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


def main() -> None:
    """Print hit rates, misses and timings."""
    cases = json.loads(VIGNETTES.read_text(encoding="utf-8"))["cases"]
    first, top3, misses = evaluate(cases)
    n = len(cases)
    print(f"Atlas: {len(muscles())} muscles, {len(regions())} regions; {n} vignettes")
    print(f"First place: {first}/{n} = {first / n:.1%} (target >= 60%)")
    print(f"Top three:   {top3}/{n} = {top3 / n:.1%} (target >= 90%)")
    if misses:
        print("Not ranked first:")
        print("\n".join(misses))
    timings = sorted(time_ranking(cases))
    p95 = timings[int(0.95 * len(timings)) - 1]
    print(
        f"Ranking time over the whole atlas ({TIMING_RUNS} runs): median {statistics.median(timings):.3f} ms, "
        f"p95 {p95:.3f} ms (target median < 5 ms)"
    )


if __name__ == "__main__":
    main()
