"""How fast ``needlepoint synth`` writes a synthetic clinic group (bulk COPY on PostgreSQL, batched INSERTs on
SQLite), and how long one million visits take.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/needlepoint_bench \\
        .venv/bin/python benchmarks/synthetic_generation.py --episodes 182000 --clinics 1
    .venv/bin/python benchmarks/synthetic_generation.py --episodes 20000 --data-dir /tmp/np-gen

Each run uses a new seed (clinics of a seed are never written twice) and prints the rows written per table,
the wall time, visits and rows per second, and the time one million visits would take at that rate.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--episodes", type=int, default=20_000, help="episodes in all clinics (default 20,000)")
    parser.add_argument("--clinics", type=int, default=1, help="clinics (default 1)")
    parser.add_argument("--data-dir", help="SQLite data folder (default: a temporary one); ignored with DATABASE_URL")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("SECRET_KEY", "benchmark-only")
    if not os.environ.get("DATABASE_URL"):
        os.environ.setdefault("NEEDLEPOINT_DATA_DIR", args.data_dir or tempfile.mkdtemp(prefix="np-gen-"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "needlepoint.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from needlepoint.accounts.models import Clinic
    from needlepoint.insights.synthetic import generate

    call_command("migrate", verbosity=0)
    seed = 700_000 + Clinic.objects.filter(slug__startswith="synth-").count()
    print(f"database: {connection.vendor}; {os.cpu_count()} CPUs; seed {seed}", flush=True)
    started = time.perf_counter()
    summary = generate(args.clinics, args.episodes, seed, end_date=date(2026, 6, 30))
    wall = time.perf_counter() - started
    for table, count in summary.rows.items():
        print(f"  {table:<18} {count:>12,}")
    visits_per_second = summary.rows["visits"] / wall
    print(
        f"{args.episodes:,} episodes, {summary.rows['visits']:,} visits, {summary.total_rows:,} rows in {wall:.1f} s: "
        f"{visits_per_second:,.0f} visits/s, {summary.total_rows / wall:,.0f} rows/s; "
        f"1,000,000 visits at this rate: {1_000_000 / visits_per_second / 60:.1f} min "
        f"(per-row foreign-key checks {'skipped' if summary.checks_deferred_to_generator else 'kept'})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
