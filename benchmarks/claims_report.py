"""How long the whole benefit-claims report takes, against the fastest ways found to compute the same figures (the
floor), and how much memory the report process needs as the data grow.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/needlepoint_bench \\
        .venv/bin/python benchmarks/claims_report.py --sizes 25000,50000,100000,182000 --runs 5
    .venv/bin/python benchmarks/claims_report.py --data-dir /tmp/np-bench-sqlite --sizes 25000,100000 --runs 3
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/needlepoint_bench \\
        .venv/bin/python benchmarks/claims_report.py --sizes 182000 --runs 5 --filters all

For each size it makes (or reuses) one synthetic clinic with that many episodes (``needlepoint synth``; about 5.5
visits per episode, so 182,000 episodes give about 1,000,000 visits) and prints how fast they were generated.
Then, for each clinic, a fresh process builds the report once to warm up and ``--runs`` times more, and prints:

- report: the median time of ``claims_report`` (every query, statistic, curve and verdict of the page);
- yardstick: the median time of one hand-written SQL statement over the records returning the report's main
  aggregates (no statistics), as the report defined them before the claims' definitions of issue 12 (relief at the
  end of visits 1-2, ROM per side, needled at any visit); kept unchanged so that it stays a fixed yardstick of the
  machine's speed, not the same figures;
- summary: the median time of ``claims_report`` from the summary tables (the path the page takes), and queries:
  the median time of its queries alone (the figures the floor computes, without the statistics);
- floor (``claims_floor.py``): the same figures as the summary path for the whole clinic, computed with one
  hand-written aggregate statement per figure group straight over the summary rows: "1-pass" on this database,
  "duckdb" in DuckDB over the clinic's summary rows copied into it ("copy": the copy, timed apart); "ratio" is the
  summary report's time over the faster floor (the target: within 2x). The report's figures are checked against
  both floors, every count exactly and every sum to 1e-9: any difference is printed and the run fails;
- page: the median time of the whole page, plots and template included, through Django's test client;
- peak memory: the process's peak resident size (before DuckDB is loaded), and the peak of Python allocations
  during one report.

With ``--filters`` (filter kinds, comma-separated, or ``all``: ``claims_floor.FILTER_KINDS``, the whole clinic
and a clinician, a condition, the dates of 2025, the imported cohort ``arm-a``, the muscle upper-trapezius and the
technique static) it prints instead, for each clinic and each filter kind: the episodes and needled visits the
filter covers; report, the median time of ``claims_report`` from the summary tables under that filter; queries,
its queries alone; 1-pass and duckdb, the floors' times under the same filter (the clinic's rows are copied into
DuckDB once, timed apart); the ratio of the report to the faster floor; and whether the figures agree (the run
fails when they do not). The first such run gives a third of the clinic's episodes the cohort label and refreshes
its summary. This is the one measurement of the report against its floor per filter; ``claims_report_cpu.py``
measures the CPU the report spends under the same filter kinds.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
END_DATE = date(2026, 6, 30)


def _setup(data_dir: str | None) -> None:
    sys.path.insert(0, str(ROOT))
    _create_missing_database(os.environ.get("DATABASE_URL", ""))
    os.environ.setdefault("SECRET_KEY", "benchmark-only")
    if data_dir:
        os.environ.setdefault("NEEDLEPOINT_DATA_DIR", data_dir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "needlepoint.settings")
    os.environ.setdefault("ALLOWED_HOSTS", "testserver")
    import django

    django.setup()


def _create_missing_database(url: str) -> None:
    """Create the PostgreSQL database ``url`` names when its server lacks it, as on a new machine (the migration
    that follows fills it)."""
    if not url.startswith(("postgres://", "postgresql://")):
        return
    import psycopg
    from psycopg import sql

    server, name = url.rsplit("/", 1)
    with psycopg.connect(f"{server}/postgres", autocommit=True) as connection:
        if connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
            print(f"creating database {name}", flush=True)
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def _seed(size: int) -> int:
    return 900_000 + size


def _ensure(size: int) -> str:
    """The slug of a one-clinic synthetic group with ``size`` episodes, generated if missing."""
    from needlepoint.accounts.models import Clinic
    from needlepoint.insights.synthetic import generate

    slug = f"synth-s{_seed(size)}-1"
    if Clinic.objects.filter(slug=slug).exists():
        print(f"{size:>9,} episodes: reusing {slug}", flush=True)
        return slug
    summary = generate(1, size, _seed(size), end_date=END_DATE)
    print(
        f"{size:>9,} episodes: generated {summary.rows['visits']:,} visits and {summary.total_rows:,} rows in "
        f"{summary.seconds:.1f} s = {summary.rate('visits'):,.0f} visits/s, "
        f"{summary.total_rows / summary.seconds:,.0f} rows/s; "
        f"1,000,000 visits would take {1_000_000 / summary.rate('visits') / 60:.1f} min",
        flush=True,
    )
    return slug


# ---------------------------------------------------------------------------------------------------- the floor


def yardstick_sql(vendor: str) -> str:
    """The report's main aggregates as one hand-written statement over the records (no ORM, no statistics), in the
    definitions the report used before issue 12: an unchanged yardstick of the machine, not today's figures (those
    are ``claims_floor.py``'s)."""
    if vendor == "postgresql":
        days = "(COALESCE(e.discharge_date, %(as_of)s::date) - CAST(e.opened_at AS date))"
    else:
        days = "CAST(julianday(COALESCE(e.discharge_date, %(as_of)s)) - julianday(date(e.opened_at)) AS INTEGER)"
    # Typed NULLs line up the columns of the UNION (an untyped NULL in a CTE is text on PostgreSQL).
    N, K = "CAST(NULL AS REAL)", "CAST(NULL AS INTEGER)"
    return f"""
    WITH ep AS (
        SELECT e.id, e.condition, e.opened_by_id,
               CASE WHEN EXISTS (SELECT 1 FROM visits_visit v WHERE v.episode_id = e.id AND v.needles_inserted > 0)
                    THEN 1 ELSE 0 END AS needled,
               {days} AS days,
               CASE WHEN e.status = 'discharged' AND e.discharge_reason = 'goals_met' THEN 1 ELSE 0 END AS met
        FROM patients_episode e WHERE e.clinic_id = %(clinic)s
    ),
    obs AS (
        SELECT o.instrument, o.value, o.time_point, ep.condition, ep.opened_by_id, ep.needled,
               FIRST_VALUE(o.value) OVER w AS first_value, FIRST_VALUE(o.time_point) OVER w AS first_tp,
               LEAD(o.id) OVER w AS next_id
        FROM outcomes_observation o JOIN ep ON ep.id = o.episode_id
        WHERE o.clinic_id = %(clinic)s
        WINDOW w AS (PARTITION BY o.episode_id, o.instrument ORDER BY o.observed_at, o.id)
    ),
    p AS (
        SELECT condition, opened_by_id, needled, instrument,
               CASE WHEN first_tp = 'baseline' THEN first_value END AS b,
               CASE WHEN time_point <> 'baseline' THEN value END AS f
        FROM obs WHERE next_id IS NULL
    ),
    measures AS (
        SELECT 'measure' AS part, condition AS k1, CAST(opened_by_id AS TEXT) AS k2, needled AS k3, instrument AS k4,
               COUNT(*) AS v1, SUM(b) AS v2, SUM(b * b) AS v3, COUNT(f) AS v4, SUM(f) AS v5, SUM(f * f) AS v6,
               SUM(f - b) AS v7, SUM((f - b) * (f - b)) AS v8,
               SUM(CASE WHEN instrument = 'NPRS' AND b - f >= 2 THEN 1 ELSE 0 END) AS v9
        FROM p WHERE b IS NOT NULL GROUP BY condition, opened_by_id, needled, instrument
    ),
    ranked AS (
        SELECT v.episode_id, v.pain_before, v.pain_after, ep.condition, ep.needled,
               ROW_NUMBER() OVER (PARTITION BY v.episode_id ORDER BY v.started_at, v.id) AS position
        FROM visits_visit v JOIN ep ON ep.id = v.episode_id WHERE v.clinic_id = %(clinic)s
    ),
    x AS (
        SELECT episode_id, condition, needled,
               MAX(CASE WHEN position = 1 THEN pain_before END) AS base,
               MAX(CASE WHEN position = 1 THEN pain_after END) AS a1,
               MAX(CASE WHEN position = 2 THEN pain_after END) AS a2
        FROM ranked WHERE position <= 2 GROUP BY episode_id, condition, needled
    ),
    relief AS (
        SELECT 'relief', condition, NULL, needled, NULL, COUNT(*), COUNT(base),
               SUM(CASE WHEN base - a1 >= 2 THEN 1 ELSE 0 END),
               SUM(CASE WHEN base - a1 >= 2 OR base - a2 >= 2 THEN 1 ELSE 0 END), {N}, {N}, {N}, {N}, {N}
        FROM x GROUP BY condition, needled
    ),
    r AS (
        SELECT r.episode_id, r.joint, r.movement, r.side, r.method, r.degrees, ep.condition, ep.needled,
               ROW_NUMBER() OVER (PARTITION BY r.episode_id, r.joint, r.movement, r.side, r.method
                                  ORDER BY r.observed_at, r.id) AS first_position,
               ROW_NUMBER() OVER (PARTITION BY r.episode_id, r.joint, r.movement, r.side, r.method
                                  ORDER BY r.observed_at DESC, r.id DESC) AS last_position
        FROM outcomes_rommeasurement r JOIN ep ON ep.id = r.episode_id WHERE r.clinic_id = %(clinic)s
    ),
    s AS (
        SELECT condition, needled, joint, movement, method,
               MAX(CASE WHEN last_position = 1 AND first_position > 1 THEN degrees END)
               - MAX(CASE WHEN first_position = 1 THEN degrees END) AS gain
        FROM r WHERE first_position = 1 OR last_position = 1
        GROUP BY episode_id, condition, needled, joint, movement, side, method
    ),
    rom AS (
        SELECT 'rom', condition, joint || ' ' || movement, needled, method, COUNT(*), COUNT(gain), SUM(gain),
               SUM(gain * gain), {N}, {N}, {N}, {N}, {N}
        FROM s GROUP BY condition, needled, joint, movement, method
    ),
    survival AS (
        SELECT 'survival', condition, CAST(days AS TEXT), needled, CAST(met AS TEXT), COUNT(*), {N}, {N}, {N},
               {N}, {N}, {N}, {N}, {N}
        FROM ep GROUP BY condition, days, needled, met
    ),
    nv AS (
        SELECT v.id, v.clinician_id, v.pain_before, v.pain_after FROM visits_visit v
        WHERE v.clinic_id = %(clinic)s AND v.needles_inserted > 0
    ),
    events AS (
        SELECT 'event', a.event_type, a.severity, {K}, NULL, COUNT(*), {N}, {N}, {N}, {N}, {N}, {N}, {N}, {N}
        FROM visits_adverseevent a JOIN nv ON nv.id = a.visit_id GROUP BY a.event_type, a.severity
    ),
    clinicians AS (
        SELECT 'clinician', CAST(nv.clinician_id AS TEXT), NULL, {K}, NULL, COUNT(*),
               SUM(CASE WHEN nv.pain_before - nv.pain_after >= 2 THEN 1 ELSE 0 END), {N}, {N}, {N}, {N}, {N},
               {N}, {N}
        FROM nv GROUP BY nv.clinician_id
    ),
    t AS (SELECT DISTINCT visit_id, technique FROM visits_needlingentry WHERE clinic_id = %(clinic)s),
    techniques AS (
        SELECT 'technique', t.technique, NULL, {K}, NULL, COUNT(*),
               SUM(CASE WHEN nv.pain_before - nv.pain_after >= 2 THEN 1 ELSE 0 END), {N}, {N}, {N}, {N}, {N},
               {N}, {N}
        FROM t JOIN nv ON nv.id = t.visit_id GROUP BY t.technique
    )
    SELECT * FROM measures UNION ALL SELECT * FROM relief UNION ALL SELECT * FROM rom
    UNION ALL SELECT * FROM survival UNION ALL SELECT * FROM events UNION ALL SELECT * FROM clinicians
    UNION ALL SELECT * FROM techniques
    """


# ---------------------------------------------------------------------------------------------------- one clinic


def measure(slug: str, runs: int) -> dict[str, object]:
    """Time the report, the floors and the page for one clinic in this process; report peak memory; check that the
    floors' figures are the report's."""
    from claims_floor import compare, duckdb_copy, on_duckdb, one_pass, report_figures
    from django.db import connection, transaction
    from django.test import Client
    from django.utils import timezone

    from needlepoint.accounts.models import Clinic, Membership
    from needlepoint.insights.filters import parse_filters
    from needlepoint.insights.report import claims_report
    from needlepoint.insights.summaries import refresh
    from needlepoint.patients.models import Episode
    from needlepoint.visits.models import Visit

    clinic = Clinic.objects.get(slug=slug)
    filters, options = parse_filters(clinic.pk, {})
    episodes = Episode.objects.filter(clinic=clinic).count()
    visits = Visit.objects.filter(clinic=clinic).count()
    claims_report(clinic, filters, options, source="live")  # warm up: imports, caches, the database's buffers

    report_times = []
    for _ in range(runs):
        started = time.perf_counter()
        claims_report(clinic, filters, options, source="live")
        report_times.append(time.perf_counter() - started)

    started = time.perf_counter()
    run = refresh(clinic, full=True)  # the whole rebuild, not a day's changes (summary_refresh.py times those)
    refresh_seconds = time.perf_counter() - started
    claims_report(clinic, filters, options, source="summary")  # warm up the summary tables' buffers
    summary_times = []
    for _ in range(runs):
        started = time.perf_counter()
        claims_report(clinic, filters, options, source="summary")
        summary_times.append(time.perf_counter() - started)
    as_of = timezone.localdate()  # the day claims_report counts time in care to
    queries = [report_figures(filters, as_of) for _ in range(runs)]

    sql = yardstick_sql(connection.vendor)
    yardstick_times = []
    for _ in range(runs):
        with transaction.atomic(), connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("SET LOCAL jit = off")
                cursor.execute("SET LOCAL work_mem = '64MB'")
            started = time.perf_counter()
            cursor.execute(sql, {"clinic": clinic.pk, "as_of": date.today().isoformat()})
            rows = cursor.fetchall()
            yardstick_times.append(time.perf_counter() - started)

    admin = Membership.objects.filter(clinic=clinic, role="clinic_admin").select_related("user").first()
    client = Client()
    client.force_login(admin.user)
    client.get("/insights/")  # warm up the plots (matplotlib's first figure loads its fonts)
    page_times = []
    for _ in range(max(1, runs // 2)):
        started = time.perf_counter()
        response = client.get("/insights/")
        page_times.append(time.perf_counter() - started)
        assert response.status_code == 200, response.status_code

    tracemalloc.start()
    claims_report(clinic, filters, options, source="live")
    _, python_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # before DuckDB adds its own

    one_pass(filters, as_of)  # warm up
    passes = [one_pass(filters, as_of) for _ in range(runs)]
    copies = []
    for _ in range(runs):
        if copies:
            copies[-1].connection.close()
        copies.append(duckdb_copy(clinic.pk))
    on_duckdb(copies[-1], filters, as_of)  # warm up
    ducks = [on_duckdb(copies[-1], filters, as_of) for _ in range(runs)]
    problems = {
        "1-pass": compare(queries[0].figures, passes[0].figures),
        "duckdb": compare(queries[0].figures, ducks[0].figures),
    }
    compared = sum(len(rows) for rows in queries[0].figures.values())

    def medians(timed: list[Any]) -> dict[str, float]:
        return {name: statistics.median(t.seconds[name] for t in timed) for name in timed[0].seconds}

    summary_median = statistics.median(summary_times)
    one_median = statistics.median(t.total for t in passes)
    duck_median = statistics.median(t.total for t in ducks)
    return {
        "episodes": episodes,
        "visits": visits,
        "report_median": statistics.median(report_times),
        "report_runs": [round(t, 3) for t in report_times],
        "summary_median": summary_median,
        "summary_runs": [round(t, 3) for t in summary_times],
        "queries_median": statistics.median(t.total for t in queries),
        "queries_by_group": medians(queries),
        "refresh_seconds": refresh_seconds,
        "summary_rows": f"{run.episodes:,} episode / {run.measures:,} measure / {run.rom_series:,} ROM rows",
        "yardstick_median": statistics.median(yardstick_times),
        "yardstick_rows": len(rows),
        "one_pass_median": one_median,
        "one_pass_by_group": medians(passes),
        "duckdb_median": duck_median,
        "duckdb_by_group": medians(ducks),
        "copy_median": statistics.median(c.copy_seconds for c in copies),
        "copy_export_median": statistics.median(c.export_seconds for c in copies),
        "copy_load_median": statistics.median(c.load_seconds for c in copies),
        "copy_rows": copies[-1].rows,
        "ratio": summary_median / min(one_median, duck_median),
        "figures_compared": compared,
        "problems": problems,
        "page_median": statistics.median(page_times),
        "python_peak_mb": python_peak / 2**20,
        "rss_peak_mb": rss_peak,
        "rss_with_duckdb_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def measure_filters(slug: str, runs: int, kinds: list[str]) -> dict[str, object]:
    """For each filter kind: time the summary report, its queries and both floors under that filter in this
    process, and check that the floors' figures are the report's."""
    from claims_floor import compare, duckdb_copy, kind_filters, label_cohorts, on_duckdb, one_pass, report_figures
    from django.utils import timezone

    from needlepoint.accounts.models import Clinic
    from needlepoint.insights.filters import ReportOptions
    from needlepoint.insights.report import claims_report
    from needlepoint.insights.summaries import refresh
    from needlepoint.patients.models import Episode
    from needlepoint.visits.models import Visit

    clinic = Clinic.objects.get(slug=slug)
    label_cohorts(clinic)  # the cohort kind's label on a third of the episodes, once
    refresh(clinic)  # the summary up to date (the labels are a change; nothing, once they are in)
    as_of = timezone.localdate()  # the day claims_report counts time in care to
    copy = duckdb_copy(clinic.pk)  # the whole clinic's summary rows, once: every filter reads them
    results: dict[str, object] = {}
    for kind in kinds:
        filters, options = kind_filters(clinic.pk, kind), ReportOptions()
        claims_report(clinic, filters, options, source="summary")  # warm up
        report_times = []
        for _ in range(runs):
            started = time.perf_counter()
            claims_report(clinic, filters, options, source="summary")
            report_times.append(time.perf_counter() - started)
        queries = [report_figures(filters, as_of) for _ in range(runs)]
        one_pass(filters, as_of)  # warm up
        passes = [one_pass(filters, as_of) for _ in range(runs)]
        on_duckdb(copy, filters, as_of)  # warm up
        ducks = [on_duckdb(copy, filters, as_of) for _ in range(runs)]
        report_median = statistics.median(report_times)
        one_median = statistics.median(t.total for t in passes)
        duck_median = statistics.median(t.total for t in ducks)
        figures = queries[0].figures
        results[kind] = {
            "episodes": sum(row[0] for row in figures["episodes"].values()),
            "visits": sum(row[0] for row in figures["clinicians"].values()),
            "report_median": report_median,
            "report_runs": [round(t, 3) for t in report_times],
            "queries_median": statistics.median(t.total for t in queries),
            "one_pass_median": one_median,
            "duckdb_median": duck_median,
            "ratio": report_median / min(one_median, duck_median),
            "figures_compared": sum(len(rows) for rows in figures.values()),
            "problems": {"1-pass": compare(figures, passes[0].figures), "duckdb": compare(figures, ducks[0].figures)},
            "load": _load(),
        }
    return {
        "episodes": Episode.objects.filter(clinic=clinic).count(),
        "visits": Visit.objects.filter(clinic=clinic).count(),
        "copy_seconds": copy.copy_seconds,
        "copy_rows": copy.rows,
        "kinds": results,
    }


def _print_filters(result: dict[str, Any]) -> bool:
    """Print one clinic's table by filter kind; whether any figures differ."""
    print(
        f"\nclinic of {result['episodes']:,} episodes and {result['visits']:,} visits; DuckDB copy of its "
        f"{result['copy_rows']:,} summary rows: {result['copy_seconds']:.2f}s (apart)"
    )
    print(
        f"{'filter':>10} {'episodes':>9} {'needled':>9}  {'report':>8} {'queries':>8} {'1-pass':>8} {'duckdb':>8} "
        f"{'ratio':>6}  figures"
    )
    failed = False
    for kind, row in result["kinds"].items():
        differ = {floor: problems for floor, problems in row["problems"].items() if problems}
        print(
            f"{kind:>10} {row['episodes']:>9,} {row['visits']:>9,}  {row['report_median']:>7.3f}s "
            f"{row['queries_median']:>7.3f}s {row['one_pass_median']:>7.3f}s {row['duckdb_median']:>7.3f}s "
            f"{row['ratio']:>5.1f}x  {'DIFFER' if differ else 'agree'} ({row['figures_compared']:,} rows; "
            f"report runs {row['report_runs']}; load {row['load']})",
            flush=True,
        )
        for floor, problems in differ.items():
            failed = True
            print(f"{'':>12}FIGURES DIFFER between the report and the {floor} floor ({len(problems)}):")
            for problem in problems[:40]:
                print(f"{'':>14}{problem}")
    return failed


def _load() -> str:
    """The machine's load averages over 1, 5 and 15 minutes (timings on a busy machine say little)."""
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def _ms(seconds: dict[str, float]) -> str:
    return ", ".join(f"{name} {value * 1000:.0f}" for name, value in seconds.items())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="25000,100000", help="episodes per clinic, comma-separated")
    parser.add_argument("--runs", type=int, default=5, help="timed runs per clinic (median printed)")
    parser.add_argument("--data-dir", help="SQLite data folder (default: a temporary one); ignored with DATABASE_URL")
    parser.add_argument(
        "--filters",
        help="filter kinds, comma-separated, or 'all' (clinic,clinician,condition,dates,cohort,muscle,technique): "
        "the report and the floors under each, in place of the whole-clinic table",
    )
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    args = parser.parse_args()
    from claims_floor import FILTER_KINDS  # imports nothing of Django at the top: checked before any setup

    kinds = list(FILTER_KINDS) if args.filters == "all" else (args.filters.split(",") if args.filters else [])
    if unknown := [kind for kind in kinds if kind not in FILTER_KINDS]:
        parser.error(f"unknown filter kinds {', '.join(unknown)}; choose from {', '.join(FILTER_KINDS)}")
    data_dir = None if os.environ.get("DATABASE_URL") else (args.data_dir or tempfile.mkdtemp(prefix="np-bench-"))
    _setup(data_dir)
    if args.measure:
        result = measure_filters(args.measure, args.runs, kinds) if kinds else measure(args.measure, args.runs)
        print(json.dumps(result))
        return 0

    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    print(
        f"database: {connection.vendor} ({connection.settings_dict['NAME']}); {os.cpu_count()} CPUs; load average "
        f"{_load()}",
        flush=True,
    )
    sizes = [int(size) for size in args.sizes.split(",")]
    slugs = [_ensure(size) for size in sizes]
    if kinds:
        failed = False
        for slug in slugs:
            command = [
                sys.executable,
                __file__,
                "--measure",
                slug,
                "--runs",
                str(args.runs),
                "--filters",
                ",".join(kinds),
            ]
            env = dict(os.environ, **({"NEEDLEPOINT_DATA_DIR": data_dir} if data_dir else {}))
            output = subprocess.run(command, env=env, check=True, capture_output=True, text=True).stdout
            failed = _print_filters(json.loads(output.strip().splitlines()[-1])) or failed
            print(f"load average after the clinic's runs: {_load()}", flush=True)
        print(
            "\nreport: claims_report() median from the summary tables under the filter (every query, statistic and "
            "verdict); queries: its queries alone; 1-pass and duckdb: the same figures as one statement per figure "
            "group over the summary rows the filter covers, on this database and in DuckDB; ratio: report over the "
            "faster floor; episodes and needled: the episodes and needled visits the filter covers."
        )
        if failed:
            print("FAILED: the floors' figures are not the report's.", file=sys.stderr)
            return 1
        return 0
    print(
        f"\n{'episodes':>9} {'visits':>10}  {'report':>8} {'yardstick':>9} {'summary':>8} {'queries':>8} "
        f"{'1-pass':>8} {'duckdb':>8} {'copy':>8} {'ratio':>6} {'refresh':>8} {'page':>8}  {'peak RSS':>9} "
        f"{'peak py':>8}"
    )
    failed = False
    for slug in slugs:
        command = [sys.executable, __file__, "--measure", slug, "--runs", str(args.runs)]
        env = dict(os.environ, **({"NEEDLEPOINT_DATA_DIR": data_dir} if data_dir else {}))
        output = subprocess.run(command, env=env, check=True, capture_output=True, text=True).stdout
        result = json.loads(output.strip().splitlines()[-1])
        print(
            f"{result['episodes']:>9,} {result['visits']:>10,}  {result['report_median']:>7.2f}s "
            f"{result['yardstick_median']:>8.2f}s {result['summary_median']:>7.2f}s {result['queries_median']:>7.2f}s "
            f"{result['one_pass_median']:>7.2f}s {result['duckdb_median']:>7.2f}s {result['copy_median']:>7.2f}s "
            f"{result['ratio']:>5.1f}x {result['refresh_seconds']:>7.1f}s {result['page_median']:>7.2f}s  "
            f"{result['rss_peak_mb']:>7.0f}MB {result['python_peak_mb']:>6.1f}MB   "
            f"(report runs {result['report_runs']}, summary runs {result['summary_runs']}; {result['summary_rows']})",
            flush=True,
        )
        print(
            f"{'':>22}ms by figure group: summary queries {_ms(result['queries_by_group'])}; "
            f"1-pass {_ms(result['one_pass_by_group'])}; duckdb {_ms(result['duckdb_by_group'])}; copy "
            f"{result['copy_rows']:,} rows: export {result['copy_export_median']:.2f}s + load "
            f"{result['copy_load_median']:.2f}s; peak RSS with DuckDB {result['rss_with_duckdb_mb']:.0f}MB",
            flush=True,
        )
        print(f"{'':>22}load average after the clinic's runs: {_load()}", flush=True)
        for floor, problems in result["problems"].items():
            if problems:
                failed = True
                print(f"{'':>22}FIGURES DIFFER between the report and the {floor} floor ({len(problems)}):")
                for problem in problems[:40]:
                    print(f"{'':>24}{problem}")
            else:
                print(f"{'':>22}figures agree: report = {floor} floor ({result['figures_compared']:,} rows of figures)")
    print(
        "\nreport: claims_report() median on the live path; yardstick: the pre-issue-12 aggregates as one "
        "hand-written SQL statement over the records (a fixed measure of the machine, not the same figures); "
        "summary: claims_report() median from the summary tables; queries: its queries alone; 1-pass and duckdb: "
        "the same figures as one statement per figure group over the summary rows, on this database and in DuckDB "
        "(copy: the clinic's summary rows copied into DuckDB, apart); ratio: summary over the faster floor; refresh: "
        "one full rebuild (`needlepoint insights refresh --full`) of the clinic; page: /insights/ with plots "
        "(summary path); peak RSS of the measuring process before DuckDB; peak py: Python allocations during one "
        "live report."
    )
    if failed:
        print("FAILED: the floors' figures are not the report's.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
