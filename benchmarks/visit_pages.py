"""Latency of the visit page, the visit API and the clinician dashboard with 100,000 visits in the database.

    .venv/bin/python benchmarks/visit_pages.py                 # SQLite in a temporary folder
    DATABASE_URL=postgres://... .venv/bin/python benchmarks/visit_pages.py
    .venv/bin/python benchmarks/visit_pages.py --visits 20000 --data-dir /tmp/np-bench --repeat 100

It builds (or reuses, with --data-dir) the demo clinic until it holds the wanted number of visits, then
requests each page through Django's test client as the demo physical therapist and prints the median and
95th percentile latency, and the number of queries per request.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _setup(data_dir: str) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("SECRET_KEY", "benchmark-only")
    os.environ.setdefault("NEEDLEPOINT_DATA_DIR", data_dir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "needlepoint.settings")
    os.environ.setdefault("ALLOWED_HOSTS", "testserver")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _fill(visits_wanted: int) -> int:
    from needlepoint.demo import build_demo
    from needlepoint.patients.models import Patient
    from needlepoint.visits.models import Visit

    have = Visit.objects.count()
    patients = Patient.objects.filter(clinic__slug="demo").count()
    while have < visits_wanted:
        per_patient = have / patients if have and patients else 2.0
        patients += max(500, int((visits_wanted - have) / per_patient * 1.05))
        started = time.perf_counter()
        print(f"building the demo clinic up to {patients:,} patients …", flush=True)
        build_demo(patients=patients, seed=2024)
        have = Visit.objects.count()
        print(f"  {have:,} visits after {time.perf_counter() - started:.0f} s", flush=True)
    return have


def _time(client, urls: list[str]) -> tuple[list[float], list[int]]:  # type: ignore[no-untyped-def]
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    timings, queries = [], []
    for url in urls:
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(url)
            timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
        queries.append(len(captured))
    return timings, queries


def _report(name: str, timings: list[float], queries: list[int]) -> None:
    ordered = sorted(timings)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    print(
        f"{name:<28} n={len(timings):<4} median {statistics.median(ordered):7.1f} ms   p95 {p95:7.1f} ms   "
        f"queries {min(queries)}-{max(queries)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--visits", type=int, default=100_000, help="visits in the database (default 100,000)")
    parser.add_argument("--repeat", type=int, default=60, help="requests per page (default 60)")
    parser.add_argument("--data-dir", default="", help="keep the SQLite database here to reuse it next time")
    args = parser.parse_args()
    data_dir = args.data_dir or tempfile.mkdtemp(prefix="needlepoint-bench-")
    _setup(data_dir)

    from django.test import Client

    from needlepoint.accounts.models import Membership
    from needlepoint.visits.models import Visit

    total = _fill(args.visits)
    from django.db import connection

    print(f"\n{total:,} visits on {connection.vendor}; {args.repeat} requests per page\n")
    pt = Membership.objects.select_related("user").get(user__username="pt", clinic__slug="demo")
    client = Client()
    client.force_login(pt.user)
    mine = Visit.objects.filter(clinician=pt)
    signed = list(mine.filter(signed_at__isnull=False).order_by("?").values_list("pk", flat=True)[: args.repeat])
    unsigned = list(mine.filter(signed_at__isnull=True).order_by("?").values_list("pk", flat=True)[: args.repeat])
    _time(client, ["/", f"/visits/{signed[0]}/"])  # warm caches (muscle data, templates)
    _report("dashboard /", *_time(client, ["/"] * args.repeat))
    _report("visit page, signed", *_time(client, [f"/visits/{pk}/" for pk in signed]))
    _report("visit page, unsigned", *_time(client, [f"/visits/{pk}/" for pk in unsigned]))
    # The API reads the same visit state as the page (visits/read_model.py).
    _report("visit API, signed", *_time(client, [f"/api/v1/visits/{pk}" for pk in signed]))
    _report("visit API, unsigned", *_time(client, [f"/api/v1/visits/{pk}" for pk in unsigned]))
    if not args.data_dir:
        print(f"\n(database left in {data_dir}; pass --data-dir to reuse it)")


if __name__ == "__main__":
    main()
