"""The timing every benchmark script shares: samples of an action in milliseconds, and their median and p95.

Scripts run as ``python benchmarks/<name>.py``, so this folder is on the import path: ``from timing import ...``.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def timed(action: Callable[[], object], runs: int) -> list[float]:
    """``runs`` wall-clock samples of ``action()``, in milliseconds."""
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def percentiles(samples: list[float], width: int = 8, decimals: int = 2) -> str:
    """The samples' median and 95th percentile (nearest rank) and their number, as one aligned line."""
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    median = statistics.median(ordered)
    return f"median {median:{width}.{decimals}f} ms   p95 {p95:{width}.{decimals}f} ms   (n={len(ordered)})"
