"""How long the ``needlepoint`` command takes to answer: ``--help``, ``score`` and ``suggest``.

    python benchmarks/command_startup.py [--runs 5]

Each command runs in a fresh Python process (as a clinician types it), ``--runs`` times after one warm-up run
(which fills the operating system's file cache); the script prints the median, the fastest and the slowest wall
time of each, the median CPU time (user + system, which a busy machine inflates less than the wall time), the
machine's load average, and the start-up import time of ``--help`` as Python's ``-X importtime`` reports it
(the heaviest top-level imports first). None of these commands needs a database.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = {
    "needlepoint --help": ["--help"],
    "needlepoint score ODI ...": ["score", "ODI", "2", "1", "3", "1", "2", "2", "1", "-", "2", "2"],
    "needlepoint suggest ...": ["suggest", "temple-r=6", "posterolateral-neck-r=4"],
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="timed runs per command (default 5)")
    args = parser.parse_args(argv)

    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, load average {_load()}")
    print(f"{'command':<28} {'median':>8} {'fastest':>8} {'slowest':>8} {'CPU':>8}  ({args.runs} runs each)")
    for label, command in COMMANDS.items():
        times, cpu = _times(command, args.runs)
        print(
            f"{label:<28} {_s(statistics.median(times))} {_s(min(times))} {_s(max(times))} {_s(statistics.median(cpu))}"
        )
    print("\nimport time of `needlepoint --help` (python -X importtime), heaviest top-level modules:")
    for module, seconds in _top_imports(["--help"])[:8]:
        print(f"  {seconds:6.3f} s  {module}")
    print(f"load average after: {_load()}")
    return 0


def _times(command: list[str], runs: int) -> tuple[list[float], list[float]]:
    """Wall and CPU (user + system) seconds of each run."""
    _run(command)  # warm-up
    times, cpu = [], []
    for _ in range(runs):
        before = _children_cpu()
        started = time.perf_counter()
        _run(command)
        times.append(time.perf_counter() - started)
        cpu.append(_children_cpu() - before)
    return times, cpu


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run(command: list[str], *python_options: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, *python_options, "-m", "needlepoint.cli", *command],
        cwd=ROOT,
        env={**os.environ, "SECRET_KEY": os.environ.get("SECRET_KEY", "benchmark")},
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        sys.exit(f"needlepoint {' '.join(command)} failed:\n{done.stderr}")
    return done


def _top_imports(command: list[str]) -> list[tuple[str, float]]:
    """Top-level modules by cumulative import time (microseconds in Python's report)."""
    report = _run(command, "-X", "importtime").stderr
    found = []
    for line in report.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cumulative, name = line.removeprefix("import time:").split("|")
        if not name.startswith("  "):  # a top-level import: not indented in the report
            found.append((name.strip(), int(cumulative) / 1e6))
    return sorted(found, key=lambda item: -item[1])


def _s(seconds: float) -> str:
    return f"{seconds:7.3f}s"


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


if __name__ == "__main__":
    sys.exit(main())
