"""How long the risk-adjusted comparison of clinicians takes (the model fitted inside the page's path), step by
step, and how much Python memory it needs, as the clinic's history grows.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/needlepoint_bench \\
        .venv/bin/python benchmarks/clinician_comparison.py --sizes 100000 --runs 5
    .venv/bin/python benchmarks/clinician_comparison.py --data-dir /tmp/np-bench-sqlite --sizes 25000 --runs 3

For each size it makes (or reuses) the same synthetic clinic as ``benchmarks/claims_report.py`` (``needlepoint
synth``, about 5.5 visits per episode), then times ``--runs`` runs after one warm-up and prints the medians of:

- scope: the temporary table of episodes with a baseline pain score and their covariates;
- sums: the per-condition sums of products (the only input of the fit); fit: the least squares in numpy;
- residuals and deciles: the per-clinician and calibration aggregates;
- total: ``clinician_comparison`` end to end (names and report assembly included);
- page: /insights/clinicians/ through Django's test client, as the clinic admin;
- the peak of Python allocations during one comparison.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from claims_report import _ensure, _setup  # the same synthetic clinics, made the same way


def _median(times: list[float]) -> str:
    return f"{statistics.median(times) * 1000:,.0f} ms"


def measure(slug: str, runs: int) -> None:
    """Print the step timings for one clinic."""
    from django.test import Client

    from needlepoint.accounts.models import Clinic, Membership
    from needlepoint.insights import clinician_comparison as cc
    from needlepoint.insights import risk_adjustment as ra
    from needlepoint.insights.filters import ReportFilters

    clinic = Clinic.objects.get(slug=slug)
    filters = ReportFilters(clinic.pk)
    cc.clinician_comparison(clinic, filters)  # warm up: imports, caches, the database's buffers
    steps: dict[str, list[float]] = {name: [] for name in ("scope", "sums", "fit", "residuals", "deciles", "total")}
    for _ in range(runs):
        started = time.perf_counter()
        with cc.comparison_scope(filters) as table:
            steps["scope"].append(time.perf_counter() - started)
            mark = time.perf_counter()
            sums = cc.condition_sums(table)
            steps["sums"].append(time.perf_counter() - mark)
            mark = time.perf_counter()
            models = ra.fit_models(sums)
            steps["fit"].append(time.perf_counter() - mark)
            mark = time.perf_counter()
            cc.residual_sums(table, models)
            steps["residuals"].append(time.perf_counter() - mark)
            mark = time.perf_counter()
            cc.decile_sums(table, models)
            steps["deciles"].append(time.perf_counter() - mark)
        started = time.perf_counter()
        report = cc.clinician_comparison(clinic, filters)
        steps["total"].append(time.perf_counter() - started)
    admin = Membership.objects.filter(clinic=clinic, role="clinic_admin").select_related("user").first()
    client = Client()
    client.force_login(admin.user)
    client.get("/insights/clinicians/")
    page = []
    for _ in range(max(1, runs // 2)):
        started = time.perf_counter()
        response = client.get("/insights/clinicians/")
        page.append(time.perf_counter() - started)
        assert response.status_code == 200, response.status_code
    tracemalloc.start()
    cc.clinician_comparison(clinic, filters)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    fitted = [model for model in report.models if model.fitted]
    print(
        f"  {report.with_baseline:,} episodes with a baseline, {report.adjusted:,} in {len(fitted)} fitted models "
        f"({', '.join(f'{m.key} n={m.n:,} R2={m.r_squared:.2f}' for m in fitted)})"
    )
    print("  medians of " + str(runs) + " runs: " + "; ".join(f"{name} {_median(t)}" for name, t in steps.items()))
    print(f"  page {_median(page)}; Python peak during one comparison {peak / 2**20:.1f} MB")


def main() -> int:
    """Parse the sizes, make or reuse each clinic, and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100000", help="episodes per clinic, comma-separated")
    parser.add_argument("--runs", type=int, default=5, help="timed runs per clinic (median printed)")
    parser.add_argument("--data-dir", help="SQLite data folder; ignored with DATABASE_URL")
    args = parser.parse_args()
    _setup(args.data_dir)
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    print(f"database: {connection.vendor}")
    for size in (int(text) for text in args.sizes.split(",")):
        slug = _ensure(size)
        measure(slug, args.runs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
