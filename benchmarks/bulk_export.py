"""A system-level FHIR bulk export ($export) of a whole clinic: how long the worker takes and how large the files are.

    DATABASE_URL=postgres://... SECRET_KEY=x python benchmarks/bulk_export.py [--patients 80] [--runs 3]
    DATABASE_URL=postgres://... SECRET_KEY=x python benchmarks/bulk_export.py --synthetic-episodes 100000 --runs 1

Uses the database in DATABASE_URL (SQLite in NEEDLEPOINT_DATA_DIR when unset) and migrates it. By default the
clinic is the demo clinic (``needlepoint demo``, built or extended to ``--patients``); with
``--synthetic-episodes`` it is a new synthetic clinic (``needlepoint.insights.synthetic``, about one patient per
episode). The files go to a temporary data folder. Each run kicks off GET /fhir/R4/$export through the Django test
client with a clinic admin's API token, runs the worker (``needlepoint.fhir.bulk.work(once=True)``) and times it;
it prints the median and slowest of ``--runs`` runs, and the resources and bytes per type of the last run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--patients", type=int, default=80, help="patients of the demo clinic (default 80)")
    parser.add_argument("--synthetic-episodes", type=int, help="export a new synthetic clinic of this many episodes")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    sys.path.insert(0, str(PROJECT))
    os.environ.setdefault("SECRET_KEY", "benchmark-only")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "needlepoint.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from needlepoint.fhir import bulk
    from needlepoint.fhir.models import ExportJob
    from needlepoint.patients.models import Patient

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    clinic, what = _clinic(args)
    print(f"database: {connection.vendor}; {what} ready in {time.perf_counter() - started:.1f} s")
    settings.DATA_DIR = Path(tempfile.mkdtemp(prefix="np-bulk-"))
    client = Client(HTTP_AUTHORIZATION=f"Bearer {_admin_token(clinic)}", HTTP_HOST="localhost")
    patients = Patient.objects.filter(clinic=clinic).count()
    timings: list[float] = []
    job = None
    for _ in range(args.runs):
        response = client.get("/fhir/R4/$export", HTTP_PREFER="respond-async", HTTP_ACCEPT="application/fhir+json")
        assert response.status_code == 202, response.content
        began = time.perf_counter()
        bulk.work(once=True, say=lambda _: None)
        timings.append(time.perf_counter() - began)
        job = ExportJob.objects.filter(clinic=clinic).order_by("-requested_at").first()
        assert job is not None and job.status == ExportJob.Status.DONE, job and job.error
    assert job is not None
    print(
        f"system export of {patients:,} patients, {args.runs} run(s): "
        f"median {statistics.median(timings):.2f} s, slowest {max(timings):.2f} s"
    )
    print(f"\n{'type':<14}{'resources':>11}{'bytes':>15}{'bytes/resource':>16}")
    for output in job.manifest:
        print(
            f"{output['type']:<14}{output['count']:>11,}{output['bytes']:>15,}{output['bytes'] // output['count']:>16,}"
        )
    resources = sum(o["count"] for o in job.manifest)
    size = sum(o["bytes"] for o in job.manifest)
    print(f"{'all':<14}{resources:>11,}{size:>15,}   ({size / 1e6:.1f} MB; {resources / timings[-1]:,.0f} resources/s)")
    return 0


def _clinic(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    """The clinic to export, and a line saying what it is."""
    from needlepoint.accounts.models import Clinic
    from needlepoint.demo import build_demo

    if args.synthetic_episodes:
        from needlepoint.insights.synthetic import generate

        seed = 900_000 + Clinic.objects.filter(slug__startswith="synth-").count()
        generate(1, args.synthetic_episodes, seed, end_date=date(2026, 6, 30))
        clinic = Clinic.objects.filter(slug__startswith="synth-").order_by("-pk").first()
        return clinic, f"synthetic clinic {clinic.slug} ({args.synthetic_episodes:,} episodes)"
    context = build_demo(patients=args.patients, seed=1)
    return context.clinic, f"demo clinic ({args.patients} patients)"


def _admin_token(clinic) -> str:  # type: ignore[no-untyped-def]
    """A new API token of a clinic admin of ``clinic`` (one made for the benchmark if it has none)."""
    from needlepoint.accounts.actions import create_api_token
    from needlepoint.accounts.models import Membership, User

    admin = Membership.objects.filter(clinic=clinic, role="clinic_admin", is_active=True).first()
    if admin is None:
        user, _ = User.objects.get_or_create(username=f"bulk-bench-{clinic.slug}")
        admin = Membership.objects.create(user=user, clinic=clinic, role="clinic_admin")
    _, raw = create_api_token(admin, "bulk export benchmark")
    return raw


if __name__ == "__main__":
    sys.exit(main())
