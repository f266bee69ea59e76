"""The main pages against gunicorn, at 1 and at 8 concurrent users, beside the framework's floor.

    .venv/bin/python benchmarks/page_load.py                        # demo clinic of 3,000 patients, 20 s a step
    .venv/bin/python benchmarks/page_load.py --patients 400 --seconds 10

It makes its own PostgreSQL database (``np_pages_<pid>`` on --server, dropped at the end unless --keep),
migrates it, builds the demo clinic with --patients patients (the first 3,000 with a full history) and serves
it with gunicorn as docs/production.md does (``--workers 4``, DEBUG off, database sessions, the audit chain).

The floor is the cheapest page the framework can serve a signed-in clinician: the whole middleware stack
(session, user, clinic membership, CSP, audit actor) and one indexed SELECT, answered by a view that exists
only in this benchmark's URL configuration (benchmarks/page_load_floor.py and page_load_settings.py).
Every page is compared with it.

Pages: the dashboard (its lists from the shared cache after the first view, as when nobody in the clinic has
written since), the dashboard "after a write" (its lists worked out and stored again on every request, through a
view of benchmarks/page_load_floor.py that first ends the clinic's generation, as a write's commit does), a
patient's page, a signed visit's page, an episode's progress page and FHIR ``Patient/$everything`` with a personal
API token (each of the last four from the shared cache after its first view, as when nothing the page shows was
written since: every worker reads the same table).
Patients are taken in turn from those with a signed visit, so no page is served from one patient only.

For each page, first one user (sequential requests, for --seconds), then --users users at once (threads,
each with its own session, for --seconds): p50, p95 and p99 in milliseconds, requests per second, and the
ratio of the page's p50 and throughput to the floor's. The machine's load average is printed with each step,
because the figures are only comparable on a quiet machine.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from clinic_load import (
    PASSWORD,
    Recorder,
    Refused,
    Session,
    _admin_sql,
    _environment,
    _free_port,
    _percentile,
    _serve,
    _server_version,
)

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = Path(__file__).resolve().parent
USERNAME = "pt"  # the demo's physical therapist
SAMPLE_PATIENTS = 40


def _build(patients: int, synthetic_episodes: int) -> dict[str, Any]:
    """Migrate, build the demo clinic (and a synthetic one beside it), pick the patients to cycle through.

    Runs in this process (the owner). The synthetic clinic (``needlepoint synth``, about 5.5 visits an episode)
    only fills the tables: the pages measured are the demo clinic's, so a slower page there means a query that
    grows with the database, not with the patient.
    """
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from needlepoint.accounts.actions import create_api_token
    from needlepoint.accounts.models import Clinic, Membership
    from needlepoint.demo import build_demo
    from needlepoint.visits.models import Visit

    if not Clinic.objects.filter(slug="demo").exists():
        build_demo(patients=patients, seed=2024)
    if synthetic_episodes:
        from needlepoint.insights.synthetic import generate

        generate(1, synthetic_episodes, seed=7100)
    membership = Membership.objects.get(user__username=USERNAME)
    _, token = create_api_token(membership, "page load benchmark", days=1)
    signed = (
        Visit.objects.filter(clinic_id=membership.clinic_id, signed_at__isnull=False)
        .order_by("patient_id", "-signed_at")
        .distinct("patient_id")
        if _is_postgres()
        else Visit.objects.none()
    )
    picked = list(signed.values_list("patient_id", "episode_id", "pk")[:SAMPLE_PATIENTS])
    return {"token": token, "targets": picked, "sizes": _sizes()}


def _is_postgres() -> bool:
    from django.db import connection

    return connection.vendor == "postgresql"


def _sizes() -> dict[str, int]:
    from needlepoint.outcomes.models import Observation
    from needlepoint.patients.models import Patient
    from needlepoint.visits.models import NeedlingEntry, Visit

    return {
        "patients": Patient.objects.count(),
        "visits": Visit.objects.count(),
        "needling entries": NeedlingEntry.objects.count(),
        "observations": Observation.objects.count(),
    }


def _pages(targets: list[tuple[int, int, int]]) -> dict[str, list[str]]:
    """Each page's paths, one per sampled patient (the dashboard and the floor have one path)."""
    return {
        "floor": ["/_floor/"],
        "dashboard": ["/"],
        "dashboard after a write": ["/_dashboard_after_a_write/"],
        "patient page": [f"/patients/{p}/" for p, _, _ in targets],
        "visit page (signed)": [f"/visits/{v}/" for _, _, v in targets],
        "progress page": [f"/patients/{p}/episodes/{e}/outcomes/" for p, e, _ in targets],
        "FHIR $everything": [f"/fhir/R4/Patient/{p}/$everything" for p, _, _ in targets],
    }


class _Client:
    """One user: a signed-in cookie session, or a bearer token for FHIR."""

    def __init__(self, base: str, recorder: Recorder, token: str, bearer: bool = False) -> None:
        self.session = Session(base, recorder)
        self.session.request("sign in", "/login/")
        answer = self.session.request("sign in", "/login/", {"username": USERNAME, "password": PASSWORD}, expect=(302,))
        if answer.headers.get("Location") != "/":
            raise SystemExit(f"sign-in went to {answer.headers.get('Location')}")
        if bearer:  # FHIR reads with the token, as another system would
            self.session.opener.addheaders = [("Authorization", f"Bearer {token}")]

    def get(self, page: str, path: str) -> None:
        self.session.request(page, path)


def _run_step(base: str, token: str, page: str, paths: list[str], users: int, seconds: float) -> dict[str, Any]:
    """``users`` clients requesting ``paths`` in turn for ``seconds``; timings and errors of that page."""
    recorder = Recorder()
    clients = [_Client(base, recorder, token, bearer=page.startswith("FHIR")) for _ in range(users)]
    recorder.timings.clear()
    ends = time.monotonic() + seconds

    def work(client: _Client, offset: int) -> None:
        n = offset
        while time.monotonic() < ends:
            with contextlib.suppress(Refused):
                client.get(page, paths[n % len(paths)])
            n += 1

    load_before = os.getloadavg()[0]
    began = time.monotonic()
    threads = [threading.Thread(target=work, args=(c, i * 7), daemon=True) for i, c in enumerate(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - began
    timings = sorted(recorder.timings.get(page, []))
    return {
        "n": len(timings),
        "p50": statistics.median(timings) if timings else float("nan"),
        "p95": _percentile(timings, 0.95) if timings else float("nan"),
        "p99": _percentile(timings, 0.99) if timings else float("nan"),
        "rps": len(timings) / elapsed,
        "errors": sum(len(v) for v in recorder.errors.values()),
        "first error": next((v[0] for v in recorder.errors.values() if v), ""),
        "load": (load_before + os.getloadavg()[0]) / 2,
    }


def _warm(base: str, token: str, pages: dict[str, list[str]]) -> dict[str, str]:
    """One request to every path, so the plots of every sampled episode are drawn before the timing; returns
    how big each page was (the dashboard's lists depend on the clinic's time of day: its "today" fills up)."""
    sizes: dict[str, list[tuple[int, int]]] = {}
    for page, paths in pages.items():
        client = _Client(base, Recorder(), token, bearer=page.startswith("FHIR"))
        for path in paths:
            with contextlib.suppress(Refused):
                text = client.session.request(page, path).text
                sizes.setdefault(page, []).append((len(text.encode()), text.count("<tr")))
    return {
        page: f"median {statistics.median(b for b, _ in found) / 1000:.0f} kB"
        + (f", {statistics.median(r for _, r in found):.0f} table rows" if any(r for _, r in found) else "")
        for page, found in sizes.items()
    }


def _print(results: dict[str, dict[int, dict[str, Any]]], users: int) -> None:
    floor = results["floor"]
    print(
        f"\n{'page':<25}{'users':>6}{'n':>7}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'req/s':>8}"
        f"{'p50/floor':>10}{'floor/rps':>10}{'errors':>7}{'load':>6}"
    )
    for page, by_users in results.items():
        for n_users in (1, users):
            r = by_users[n_users]
            ratio = r["p50"] / floor[n_users]["p50"]
            throughput = floor[n_users]["rps"] / r["rps"] if r["rps"] else float("inf")
            print(
                f"{page:<25}{n_users:>6}{r['n']:>7}{r['p50']:>9.1f}{r['p95']:>9.1f}{r['p99']:>9.1f}"
                f"{r['rps']:>8.1f}{ratio:>10.1f}{throughput:>10.1f}{r['errors']:>7}{r['load']:>6.1f}"
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--patients", type=int, default=3000, help="patients in the demo clinic (default 3000)")
    parser.add_argument(
        "--synthetic-episodes",
        type=int,
        default=0,
        help="episodes of a synthetic clinic added beside the demo (182,000 make about a million visits)",
    )
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each step (default 20)")
    parser.add_argument("--users", type=int, default=8, help="concurrent users in the second step (default 8)")
    parser.add_argument("--server", default="postgres://postgres@127.0.0.1:5432", help="PostgreSQL server URL")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument(
        "--database",
        help="use this existing database (e.g. a claims benchmark's million visits): migrated, the demo clinic "
        "built in it if missing, and kept afterwards",
    )
    args = parser.parse_args()

    name = args.database or f"np_pages_{os.getpid()}"
    args.keep = args.keep or bool(args.database)
    data_dir = tempfile.mkdtemp(prefix="needlepoint-pages-")
    env = _environment(f"{args.server}/{name}", data_dir, secrets.token_urlsafe(40))
    if not args.database:
        _admin_sql(args.server, [f'CREATE DATABASE "{name}"'])
    server = None
    try:
        os.environ.update(env)
        sys.path.insert(0, str(ROOT))
        started = time.perf_counter()
        print(
            f"building database {name}: migrate, demo clinic of {args.patients} patients, "
            f"synthetic clinic of {args.synthetic_episodes:,} episodes …",
            flush=True,
        )
        built = _build(args.patients, args.synthetic_episodes)
        from django.db import connections

        connections.close_all()
        print(f"  built in {time.perf_counter() - started:.0f} s: " + _sizes_line(built["sizes"]), flush=True)
        if not built["targets"]:
            raise SystemExit("no signed visits in the demo clinic: nothing to measure")

        floor_env = env | {
            "DJANGO_SETTINGS_MODULE": "page_load_settings",
            "PYTHONPATH": f"{BENCHMARKS}{os.pathsep}{ROOT}",
        }
        port = _free_port()
        server = _serve(floor_env, port, Path(data_dir) / "gunicorn.log")
        base = f"http://127.0.0.1:{port}"
        pages = _pages(built["targets"])
        page_sizes = _warm(base, built["token"], pages)
        print("  pages as served: " + "; ".join(f"{page} {size}" for page, size in page_sizes.items()), flush=True)
        results: dict[str, dict[int, dict[str, Any]]] = {}
        for page, paths in pages.items():
            results[page] = {}
            for users in (1, args.users):
                results[page][users] = _run_step(base, built["token"], page, paths, users, args.seconds)
                print(f"  {page}, {users} user(s): p50 {results[page][users]['p50']:.1f} ms", flush=True)
        print(
            f"\nsettings: gunicorn --workers 4 (sync), DEBUG off, PostgreSQL {_server_version(args.server)}, "
            f"database sessions, audit chain on; {len(built['targets'])} patients cycled per page; "
            f"{args.seconds:g} s per step; client threads with urllib on the same {os.cpu_count()} cores"
        )
        _print(results, args.users)
        for page, by_users in results.items():
            for n_users, r in by_users.items():
                if r["errors"]:
                    print(f"  errors on {page} at {n_users} user(s): {r['errors']}, the first: {r['first error']}")
        return 1 if any(r["errors"] for by in results.values() for r in by.values()) else 0
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=60)
        if args.keep:
            print(f"\nkept: database {name}, data folder {data_dir}")
        else:
            from django.db import connections

            connections.close_all()
            _admin_sql(args.server, [f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'])
            shutil.rmtree(data_dir, ignore_errors=True)


def _sizes_line(sizes: dict[str, int]) -> str:
    return ", ".join(f"{v:,} {k}" for k, v in sizes.items())


if __name__ == "__main__":
    raise SystemExit(main())
