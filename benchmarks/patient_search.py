"""Patient search latency over a 100,000-patient clinic, on SQLite and on PostgreSQL.

    python benchmarks/patient_search.py --db sqlite|postgres|both [--patients 100000] [--queries 200]

For each database it builds the demo clinic with ``needlepoint demo --patients N`` (or reuses it: the demo
command adds nothing to a clinic that already has N patients), then times ``search_patients()`` for name
prefixes, birth dates, MRNs and phone numbers drawn from the data, and prints the median and 95th percentile of each.

The databases are throwaway: a SQLite file under /tmp (``--sqlite-dir``) and the PostgreSQL database
``needlepoint_bench`` (``--postgres-url``), created if missing. Django's settings are read once per process,
so each database is measured in a child process with its own NEEDLEPOINT_DATA_DIR or DATABASE_URL.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
DEFAULT_SQLITE_DIR = "/tmp/needlepoint-bench-sqlite"
DEFAULT_POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/needlepoint_bench"
SEED = 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200, help="queries per kind (at least 200 for the report)")
    parser.add_argument("--sqlite-dir", default=DEFAULT_SQLITE_DIR)
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.measure:
        return measure(args.patients, args.queries)
    for vendor in ("sqlite", "postgres") if args.db == "both" else (args.db,):
        environment = _environment(vendor, args)
        if vendor == "postgres":
            _create_postgres_database(args.postgres_url)
        print(f"\n== {vendor}: {environment.get('DATABASE_URL') or environment['NEEDLEPOINT_DATA_DIR']}", flush=True)
        started = time.perf_counter()
        output = _run(
            [sys.executable, "-m", "needlepoint.cli", "demo", "--patients", str(args.patients), "--seed", str(SEED)],
            environment,
            quiet=True,
        )
        print(f"demo build or reuse: {time.perf_counter() - started:.1f} s", flush=True)
        for line in _demo_steps(output):
            print(f"  {line}")
        _run(
            [sys.executable, __file__, "--measure", "--patients", str(args.patients), "--queries", str(args.queries)],
            environment,
        )
    return 0


def _environment(vendor: str, args: argparse.Namespace) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "NEEDLEPOINT_DATA_DIR")}
    environment.setdefault("SECRET_KEY", "benchmark-only")
    environment["DJANGO_SETTINGS_MODULE"] = "needlepoint.settings"
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT), environment.get("PYTHONPATH")]))
    if vendor == "sqlite":
        Path(args.sqlite_dir).mkdir(parents=True, exist_ok=True)
        environment["NEEDLEPOINT_DATA_DIR"] = args.sqlite_dir
    else:
        environment["NEEDLEPOINT_DATA_DIR"] = args.sqlite_dir  # static files and the like; the data is in PostgreSQL
        environment["DATABASE_URL"] = args.postgres_url
    return environment


def _run(command: list[str], environment: dict[str, str], quiet: bool = False) -> str:
    result = subprocess.run(
        command, cwd=PROJECT, env=environment, stdout=subprocess.PIPE if quiet else None, text=True, check=False
    )
    if result.returncode != 0:
        if quiet and result.stdout:
            print(result.stdout[-3000:])
        raise SystemExit(f"failed ({result.returncode}): {' '.join(command)}")
    return result.stdout or ""


def _demo_steps(output: str) -> list[str]:
    """Each demo step's final progress line (label, count, elapsed), and the command's summary."""
    lines = [line.strip() for line in output.replace("\r", "\n").splitlines() if line.strip()]
    steps = {}
    for line in lines:
        if "━" in line:
            label = line.split("━")[0].strip()
            steps[label] = " ".join([label, *line.replace("━", " ").split()[len(label.split()) :]])
    return [*steps.values(), *[line for line in lines if line.startswith("Demo clinic")]]


def _create_postgres_database(url: str) -> None:
    """CREATE DATABASE for the benchmark if it is missing (connecting to the server's ``postgres`` database)."""
    import psycopg
    from psycopg import sql

    name = url.rsplit("/", 1)[1].split("?")[0]
    server = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(server, autocommit=True) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            print(f"created PostgreSQL database {name}")


# The child: Django is set up for one database.


def measure(expected_patients: int, per_kind: int) -> int:
    import django

    django.setup()
    from django.db import connection

    from needlepoint.accounts.access import patients_for
    from needlepoint.accounts.models import Membership
    from needlepoint.patients.models import Consent, Episode, Patient, Screening
    from needlepoint.patients.search import search_patients

    membership = Membership.objects.select_related("clinic").get(user__username="pt", clinic__slug="demo")
    clinic_patients = Patient.objects.filter(clinic=membership.clinic)
    size = clinic_patients.count()
    print(f"database: {connection.vendor} {connection.settings_dict['NAME']} ({_database_bytes(connection)})")
    print(
        f"sizes: {size:,} patients in the demo clinic ({Patient.objects.count():,} in all), "
        f"{Screening.objects.count():,} screenings, {Consent.objects.count():,} consents, "
        f"{Episode.objects.count():,} episodes"
    )
    if size < expected_patients:
        print(f"warning: expected {expected_patients:,} patients")

    _analyze_if_stale(connection)
    queries = _queries(clinic_patients, per_kind)
    searchable = patients_for(membership)
    for text in [q for kind in queries.values() for q in kind[:10]]:
        search_patients(searchable, text)  # warm the caches and the connection

    print(f"\n{'kind':<14}{'queries':>8}{'median ms':>11}{'p95 ms':>9}{'max ms':>9}{'mean hits':>11}  examples")
    for kind, texts in queries.items():
        timings, hits = [], []
        for text in texts:
            started = time.perf_counter()
            found = search_patients(searchable, text)
            timings.append((time.perf_counter() - started) * 1000)
            hits.append(len(found))
        print(
            f"{kind:<14}{len(texts):>8}{statistics.median(timings):>11.2f}{_p95(timings):>9.2f}"
            f"{max(timings):>9.2f}{statistics.mean(hits):>11.1f}  {', '.join(repr(t) for t in texts[:3])}"
        )
    return 0


def _queries(patients, per_kind: int) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    """Search texts drawn from the clinic's own patients, the same for every run and database."""
    rng = random.Random(SEED)
    top = patients.order_by("-pk").values_list("pk", flat=True).first() or 0
    picks = list(
        patients.filter(pk__in=[rng.randint(1, top) for _ in range(per_kind * 3)]).values_list(
            "family_name", "given_name", "date_of_birth", "mrn"
        )
    )
    rng.shuffle(picks)
    picks = (picks * math.ceil(per_kind * 3 / max(len(picks), 1)))[: per_kind * 3]
    names = []
    for n, (family, given, _, _) in enumerate(picks[:per_kind]):
        shape = n % 3
        if shape == 0:
            names.append(family[: rng.randint(2, 5)].lower())  # "smi"
        elif shape == 1:
            names.append(f"{family.lower()} {given[: rng.randint(1, 3)].lower()}")  # "smith ol"
        else:
            names.append(f"{given.lower()} {family[: rng.randint(1, 3)].lower()}")  # "olivia sm"
    return {
        "name prefix": names,
        "birth date": [birth.isoformat() for _, _, birth, _ in picks[per_kind : 2 * per_kind]],
        "MRN": [mrn for _, _, _, mrn in picks[2 * per_kind :]],
        "phone": _phone_queries(patients, per_kind, top),
    }


def _phone_queries(patients, per_kind: int, top: int) -> list[str]:  # type: ignore[no-untyped-def]
    """Phone numbers as people type them: another format, without the country code, or only the end.

    Drawn with their own generator, so the other kinds' queries stay those of earlier runs.
    """
    rng = random.Random(SEED + 1)
    phones = [
        p
        for p in patients.filter(pk__in=[rng.randint(1, top) for _ in range(per_kind * 2)]).values_list(
            "phone", flat=True
        )
        if len("".join(ch for ch in p if ch.isdigit())) >= 10
    ][:per_kind]
    texts = []
    for n, phone in enumerate(phones):
        digits = "".join(ch for ch in phone if ch.isdigit())[-10:]
        shape = n % 3
        if shape == 0:
            texts.append(f"({digits[:3]}) {digits[3:6]}-{digits[6:]}")  # "(555) 201-3344"
        elif shape == 1:
            texts.append(f"+1 {digits[:3]}.{digits[3:6]}.{digits[6:]}")  # "+1 555.201.3344"
        else:
            texts.append(f"{digits[3:6]} {digits[6:]}")  # "201 3344"
    return texts


def _analyze_if_stale(connection) -> None:  # type: ignore[no-untyped-def]
    """A clinic reused from before the demo analysed its load: refresh PostgreSQL's statistics once, and say so."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT n_mod_since_analyze, n_live_tup FROM pg_stat_user_tables WHERE relname = 'patients_patient'"
        )
        changed, live = cursor.fetchone()
        if changed > 0.1 * max(live, 1):
            cursor.execute("ANALYZE patients_patient")
            print(f"ANALYZE patients_patient: {changed:,} rows changed since the last analysis")


def _p95(values: list[float]) -> float:
    """95th percentile, nearest rank."""
    ordered = sorted(values)
    return ordered[math.ceil(0.95 * len(ordered)) - 1]


def _database_bytes(connection) -> str:  # type: ignore[no-untyped-def]
    if connection.vendor == "sqlite":
        return f"{Path(connection.settings_dict['NAME']).stat().st_size / 1e6:.0f} MB file"
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_database_size(current_database())")
        return f"{cursor.fetchone()[0] / 1e6:.0f} MB"


if __name__ == "__main__":
    sys.path.insert(0, str(PROJECT))
    sys.exit(main())
