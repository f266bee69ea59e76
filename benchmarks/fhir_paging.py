"""FHIR Patient search paging over a large clinic: what a correct total and next/previous links cost.

    DATABASE_URL=postgres://... SECRET_KEY=x python benchmarks/fhir_paging.py [--patients 100000] [--runs 15]

Uses the database in DATABASE_URL (SQLite in NEEDLEPOINT_DATA_DIR when unset), migrates it, and fills a clinic
named ``fhir-bench`` with ``--patients`` patients (bulk-inserted with names drawn from a fixed list; reused when
it already has them). Then it times, through the Django test client (URL routing, token authentication, the
view, the audit entry), GET /fhir/R4/Patient searches: a first page, a deep page, ``_summary=count`` and an
``_id`` list, the US Core combinations (family, gender+name, birthdate+name, birthdate prefixes), and prints the
median and the slowest of ``--runs`` runs of each with the total it reported.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
FAMILIES = ["Adams", "Baker", "Clark", "Davis", "Evans", "Garcia", "Hughes", "Jones", "Khan", "Lopez", "Miller"]
GIVENS = ["Ann", "Ben", "Cara", "Dev", "Ella", "Finn", "Gia", "Hugo", "Ivy", "Jack", "Kai", "Lena", "Max", "Nia"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    sys.path.insert(0, str(PROJECT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "needlepoint.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    raw, first_ids = _clinic(args.patients)
    print(f"database: {connection.vendor}; clinic fhir-bench with {args.patients:,} patients; {args.runs} runs each")
    print("load average (1, 5, 15 min): " + ", ".join(f"{x:.2f}" for x in os.getloadavg()))
    from django.test import Client

    client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}", HTTP_ACCEPT="application/fhir+json", HTTP_HOST="localhost")
    searches = {
        "name=a, first page of 50": "Patient?name=a&_count=50",
        "name=a, page at offset 5,000": "Patient?name=a&_count=50&_offset=5000",
        "name=a, _summary=count": "Patient?name=a&_summary=count",
        "name=ja, first page of 50": "Patient?name=ja&_count=50",
        "_id list of 20": "Patient?_id=" + ",".join(map(str, first_ids[:20])),
        # US Core 6.1.0 Patient searches (each a database filter, needlepoint/fhir/patient_search.py).
        "family=adams": "Patient?family=adams&_count=50",
        "gender=female&name=ja": "Patient?gender=female&name=ja&_count=50",
        "birthdate=1980-05&name=a": "Patient?birthdate=1980-05&name=a&_count=50",
        "birthdate=ge1990&lt1991": "Patient?birthdate=ge1990&birthdate=lt1991&_count=50",
        "birthdate=ap1985-06-15": "Patient?birthdate=ap1985-06-15&_count=50",
    }
    print(f"\n{'search':<32}{'total':>9}{'entries':>9}{'median ms':>11}{'max ms':>9}")
    for label, url in searches.items():
        timings, bundle = [], {}
        client.get(f"/fhir/R4/{url}")  # warm
        for _ in range(args.runs):
            started = time.perf_counter()
            response = client.get(f"/fhir/R4/{url}")
            timings.append((time.perf_counter() - started) * 1000)
            bundle = response.json()
        entries = len(bundle.get("entry", []))
        print(f"{label:<32}{bundle['total']:>9,}{entries:>9}{statistics.median(timings):>11.1f}{max(timings):>9.1f}")
    return 0


def _clinic(size: int) -> tuple[str, list[int]]:
    """The benchmark clinic with ``size`` patients, and a fresh API token of its clinician."""
    from needlepoint.accounts.actions import create_api_token
    from needlepoint.accounts.models import Clinic, Membership, User
    from needlepoint.patients.models import Patient, normalise_name

    clinic, _ = Clinic.objects.get_or_create(slug="fhir-bench", defaults={"name": "FHIR bench", "mrn_prefix": "FB"})
    user, _ = User.objects.get_or_create(username="fhir-bench")
    membership, _ = Membership.objects.get_or_create(
        user=user, clinic=clinic, defaults={"role": "clinician", "profession": "physical_therapist"}
    )
    have = Patient.objects.filter(clinic=clinic).count()
    rng = random.Random(1)
    sexes = random.Random(2)  # its own stream, so the names stay those of earlier runs
    rows = []
    for n in range(have, size):
        given, family = rng.choice(GIVENS), rng.choice(FAMILIES)
        rows.append(
            Patient(
                clinic=clinic,
                mrn=f"FB-{n:07d}",
                given_name=given,
                family_name=family,
                search_name=normalise_name(f"{family} {given}"),
                search_given_first=normalise_name(f"{given} {family}"),
                date_of_birth=date(1940, 1, 1) + timedelta(days=rng.randint(0, 25_000)),
                sex=sexes.choice(["female", "male"]),
            )
        )
    Patient.objects.bulk_create(rows, batch_size=5_000)
    _, raw = create_api_token(membership, "benchmark")
    ids = list(Patient.objects.filter(clinic=clinic).order_by("pk").values_list("pk", flat=True)[:20])
    return raw, ids


if __name__ == "__main__":
    raise SystemExit(main())
