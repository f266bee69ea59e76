"""CPU time of one claims report under each filter kind: the Python process's and the database backend's.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/needlepoint_bench \\
        .venv/bin/python benchmarks/claims_report_cpu.py --size 18200 --runs 5
    ... --dump /tmp/report.json     # also write each report (its data and its printed text) as JSON, to compare
                                    # two versions' figures
    ... --profile summary           # cProfile one report of that kind, top functions by cumulative time

Wall time on a shared machine says more about the other work on it than about the report, so this script
counts CPU seconds: the process's own (``os.times``: user + system, the ORM, psycopg and the statistics) and, on
PostgreSQL, the CPU of the connection's backend process (``/proc/<pid>/stat``, so the database must run on this
machine; parallel workers are switched off for the session so that the backend does all the work). It prints the
median of ``--runs`` runs per filter kind, after one warm-up run, with the clinic's size and the machine's load.

The clinic is the one ``claims_report.py`` builds for that size (``needlepoint synth``); a third of its episodes
are given an imported cohort label (``arm-a``, ``claims_floor.label_cohorts``) the first time, so that the cohort
filter has episodes to cover, and the summary tables are refreshed before measuring. Filter kinds: ``summary``
(the whole clinic from the summary tables), ``live`` (the whole clinic from the records), and ``clinician``,
``condition``, ``dates``, ``cohort``, ``muscle`` and ``technique`` (each on the path the report picks for it), the
filters of ``claims_floor.FILTER_KINDS``, which ``claims_report.py --filters`` times against the report's floor.
"""

from __future__ import annotations

import argparse
import cProfile
import dataclasses
import enum
import json
import os
import pstats
import statistics
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

from claims_floor import FILTER_KINDS, kind_params, label_cohorts  # this folder is on the import path (timing.py)
from claims_report import _ensure, _setup

# Each kind: the filter kind of ``claims_floor.FILTER_KINDS`` and the report's source.
KINDS: dict[str, tuple[str, str]] = {
    "summary": ("clinic", "auto"),
    "live": ("clinic", "live"),
    **{kind: (kind, "auto") for kind in FILTER_KINDS if kind != "clinic"},
}
AS_OF = date(2026, 7, 1)
TICKS = os.sysconf("SC_CLK_TCK")


def _backend_cpu(pid: int | None) -> float:
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime (fields 14 and 15 of the whole line)


def _own_cpu() -> float:
    times = os.times()
    return times.user + times.system


def _plain(value: Any) -> Any:
    """The report as JSON-ready data, without the time it was generated (the one field that always differs)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        data = {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
        data.pop("generated_at", None)
        return data
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, float | int | str | bool) or value is None:
        return value
    return repr(value)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=18200, help="episodes in the clinic (about 5.5 visits each)")
    parser.add_argument("--runs", type=int, default=5, help="timed runs per filter kind (median printed)")
    parser.add_argument("--kinds", default=",".join(KINDS), help="filter kinds, comma-separated")
    parser.add_argument("--dump", help="write every report (one per kind) as JSON to this file")
    parser.add_argument("--profile", help="cProfile one report of this kind and print the top functions")
    parser.add_argument(
        "--parallel",
        action="store_true",
        help="leave PostgreSQL's parallel workers on, as the product runs (their CPU is then not counted)",
    )
    args = parser.parse_args()
    _setup(None)

    from django.core.management import call_command
    from django.db import connection

    from needlepoint.accounts.models import Clinic
    from needlepoint.insights.filters import parse_filters
    from needlepoint.insights.report import claims_report
    from needlepoint.insights.summaries import refresh
    from needlepoint.patients.models import Episode
    from needlepoint.visits.models import Visit

    call_command("migrate", verbosity=0)
    clinic = Clinic.objects.get(slug=_ensure(args.size))
    label_cohorts(clinic)
    refresh(clinic)  # the summary up to date (a full build the first time, then only what changed)
    postgres = connection.vendor == "postgresql"
    pid = None
    if postgres:
        with connection.cursor() as cursor:
            if not args.parallel:
                cursor.execute("SET max_parallel_workers_per_gather = 0")
            cursor.execute("SELECT pg_backend_pid()")
            pid = int(cursor.fetchone()[0])
    episodes = Episode.objects.filter(clinic=clinic).count()
    visits = Visit.objects.filter(clinic=clinic).count()
    print(
        f"database: {connection.vendor}; clinic {clinic.slug}: {episodes:,} episodes, {visits:,} visits; "
        f"{os.cpu_count()} CPUs; load at start {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}",
        flush=True,
    )

    def build(kind: str) -> Any:
        filter_kind, source = KINDS[kind]
        filters, options = parse_filters(clinic.pk, kind_params(clinic.pk, filter_kind))
        return claims_report(clinic, filters, options, as_of=AS_OF, clinician_names={}, source=source)

    if args.profile:
        build(args.profile)
        profiler = cProfile.Profile()
        profiler.enable()
        build(args.profile)
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(45)
        return 0

    from needlepoint.insights.cli_report import claims_text

    dumped = {}
    print(f"\n{'kind':>10} {'source':>8} {'episodes':>9}  {'CPU total':>9} {'python':>8} {'database':>8} {'wall':>8}")
    for kind in args.kinds.split(","):
        report = build(kind)  # warm up: imports, caches, the database's buffers
        dumped[kind] = _plain(report)
        dumped[kind]["printed"] = claims_text(report)  # the report as the command line prints it
        totals, own, backend, wall = [], [], [], []
        for _ in range(args.runs):
            cpu0, db0, wall0 = _own_cpu(), _backend_cpu(pid), time.perf_counter()
            build(kind)
            cpu1, db1, wall1 = _own_cpu(), _backend_cpu(pid), time.perf_counter()
            own.append(cpu1 - cpu0)
            backend.append(db1 - db0)
            totals.append(cpu1 - cpu0 + db1 - db0)
            wall.append(wall1 - wall0)
        print(
            f"{kind:>10} {report.source:>8} {report.episodes:>9,}  {statistics.median(totals):>8.3f}s "
            f"{statistics.median(own):>7.3f}s {statistics.median(backend):>7.3f}s {statistics.median(wall):>7.3f}s"
            f"   (CPU runs {[round(t, 3) for t in totals]}; load {os.getloadavg()[0]:.2f})",
            flush=True,
        )
    if args.dump:
        Path(args.dump).write_text(json.dumps(dumped, indent=1, sort_keys=True))
    print(
        "\nCPU total: median over the runs of the process's CPU plus its database backend's; python: the process "
        f"alone; database: the backend alone (clock ticks of 1/{TICKS} s); wall: elapsed time, for reference only."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
