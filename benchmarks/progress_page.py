"""Progress page latency and plot rendering time for an episode with 100 visits, on SQLite and PostgreSQL.

    python benchmarks/progress_page.py --db sqlite|postgres|both [--visits 100] [--runs 30]

For each database it builds one patient with one low-back-pain episode: VISITS visits with pain before and
after (a day apart, some days with two visits), an ODI and a PSFS at baseline, then every fifth visit, three
ODIs on one day, patient-reported pain, and range of motion. It then requests the progress page through
Django's full request stack (middleware, session, access check, audit entry, template) as a signed-in
clinician, and prints:

- page latency (median and 95th percentile of RUNS requests) and the queries per request: a first view (the
  cache emptied: the page's body worked out and its plots drawn, with the body's own time) and a repeat view (the
  body read from the shared cache);
- plot rendering time on its own (pain, questionnaire and ROM plots; median and 95th percentile);
- the one-page PDF report time for the patient and for the referring doctor.

The databases are throwaway: a SQLite file under /tmp (``--sqlite-dir``) and the PostgreSQL database
``needlepoint_bench_progress`` (``--postgres-url``), created if missing and emptied of the benchmark clinic
before each run. Django's settings are read once per process, so each database is measured in a child process.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from timing import percentiles, timed

PROJECT = Path(__file__).resolve().parent.parent
DEFAULT_SQLITE_DIR = "/tmp/needlepoint-bench-progress"
DEFAULT_POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/needlepoint_bench_progress"
CLINIC_SLUG = "bench-progress"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--visits", type=int, default=100)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--sqlite-dir", default=DEFAULT_SQLITE_DIR)
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        return measure(args.visits, args.runs)
    for vendor in ("sqlite", "postgres") if args.db == "both" else (args.db,):
        environment = dict(os.environ, SECRET_KEY="benchmark-only", NEEDLEPOINT_FAST_HASHER="true")
        environment["ALLOWED_HOSTS"] = "testserver"
        if vendor == "sqlite":
            Path(args.sqlite_dir).mkdir(parents=True, exist_ok=True)
            environment["NEEDLEPOINT_DATA_DIR"] = args.sqlite_dir
            environment.pop("DATABASE_URL", None)
        else:
            _create_postgres_database(args.postgres_url)
            environment["DATABASE_URL"] = args.postgres_url
        print(f"\n== {vendor}", flush=True)
        command = [sys.executable, __file__, "--measure", "--visits", str(args.visits), "--runs", str(args.runs)]
        result = subprocess.run(command, env=environment, cwd=PROJECT, check=False)
        if result.returncode:
            return result.returncode
    return 0


def _create_postgres_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{name}"')


def _build(visit_count: int):  # type: ignore[no-untyped-def]
    """The benchmark clinic: one clinician, one patient, one episode with its visits and observations."""
    from datetime import date, timedelta

    from django.utils import timezone

    from needlepoint.accounts.models import Clinic, Membership, User
    from needlepoint.outcomes import actions
    from needlepoint.outcomes.models import Observation, RomMeasurement, SelfReportLink
    from needlepoint.patients import actions as patient_actions
    from needlepoint.patients.models import Consent, Episode, Patient, Screening
    from needlepoint.visits.models import Visit

    clinic, _ = Clinic.objects.get_or_create(
        slug=CLINIC_SLUG, defaults={"name": "Benchmark clinic", "mrn_prefix": "BP"}
    )
    # Start from an empty benchmark clinic each run (rows the triggers allow to be removed: unsigned visits).
    Observation.objects.filter(clinic=clinic).delete()
    RomMeasurement.objects.filter(clinic=clinic).delete()
    SelfReportLink.objects.filter(clinic=clinic).delete()
    Visit.objects.filter(clinic=clinic).delete()
    Episode.objects.filter(clinic=clinic).delete()
    Screening.objects.filter(clinic=clinic).delete()
    Consent.objects.filter(clinic=clinic).delete()
    Patient.objects.filter(clinic=clinic).delete()
    user = User.objects.filter(username="bench-clinician").first() or User.objects.create_user(
        "bench-clinician", password="benchmark-password-1"
    )
    clinician, _ = Membership.objects.get_or_create(
        user=user, clinic=clinic, defaults={"role": "clinician", "profession": "physical_therapist"}
    )
    patient = patient_actions.register_patient(
        clinician, {"given_name": "Bench", "family_name": "Mark", "date_of_birth": date(1975, 4, 4)}
    )
    episode = patient_actions.open_episode(
        clinician,
        patient,
        {"condition": "low_back_pain", "icd10_code": "M54.50", "side": "central", "onset_date": date(2024, 1, 1)},
    )
    start = timezone.now() - timedelta(days=visit_count + 5)
    Episode.objects.filter(pk=episode.pk).update(opened_at=start - timedelta(hours=1))
    episode.refresh_from_db()
    moments = [start + timedelta(days=n * 0.9) for n in range(visit_count)]
    Visit.objects.bulk_create(
        Visit(
            clinic=clinic,
            patient=patient,
            episode=episode,
            clinician=clinician,
            started_at=at,
            pain_before=max(1, 8 - n * 6 // visit_count),
            pain_after=max(0, 5 - n * 5 // visit_count),
        )
        for n, at in enumerate(moments)
    )
    odi_items = ("pain_intensity", "personal_care", "lifting", "walking", "sitting", "standing", "sleeping",
                 "sex_life", "social_life", "travelling")  # fmt: skip
    for n, at in enumerate(moments[::5]):
        level = max(0, 4 - n * 4 // (visit_count // 5))
        point = "baseline" if n == 0 else "reassessment"
        actions.record_questionnaire(
            clinician, episode, "ODI", dict.fromkeys(odi_items, level), time_point=point, observed_at=at
        )
        actions.record_questionnaire(
            clinician,
            episode,
            "PSFS",
            {"activity_1": min(10, 2 + n // 2), "activity_2": min(10, 3 + n // 2), "activity_3": 4},
            time_point=point,
            observed_at=at + timedelta(minutes=5),
        )
        actions.record_pain(clinician, episode, max(0, 7 - n // 3), time_point="visit", observed_at=at)
    for hour in (1, 2, 3):
        actions.record_questionnaire(
            clinician,
            episode,
            "ODI",
            dict.fromkeys(odi_items, 3 - hour),
            time_point="visit",
            observed_at=moments[-1] + timedelta(hours=hour),
        )
    for n, at in enumerate((moments[0], moments[len(moments) // 2], moments[-1])):
        for side in ("left", "right"):
            actions.record_rom(
                clinician,
                episode,
                joint="thoracolumbar_spine",
                movement="lateral_flexion",
                side=side,
                degrees=15 + n * 6,
                method="inclinometer",
                time_point="baseline" if n == 0 else "reassessment",
                observed_at=at,
            )
        actions.record_rom(
            clinician,
            episode,
            joint="thoracolumbar_spine",
            movement="flexion",
            side=None,
            degrees=40 + n * 20,
            method="inclinometer",
            time_point="baseline" if n == 0 else "reassessment",
            observed_at=at,
        )
    return clinician, episode


def measure(visit_count: int, runs: int) -> int:
    """Build the benchmark episode and print the page, plot and PDF timings (runs inside the child process)."""
    sys.path.insert(0, str(PROJECT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "needlepoint.settings")
    import django

    django.setup()
    from django.core.cache import cache
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from needlepoint.accounts import audit
    from needlepoint.outcomes import plots, reports
    from needlepoint.outcomes.progress import episode_progress

    call_command("migrate", interactive=False, verbosity=0)
    # Keep one connection for the whole run, as a server with CONN_MAX_AGE does.
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    with audit.event(audit.Actor(None, None, "cli", None, "benchmark")):
        clinician, episode = _build(visit_count)
    data = episode_progress(episode)
    observations = sum(len(s.points) for s in data.series) + len(data.pain_points.points)
    print(
        f"episode: {len(data.pain.visits)} visits, {observations} observations, {len(data.rom)} ROM movements "
        f"({connection.vendor})"
    )
    client = Client()
    client.force_login(clinician.user)
    url = f"/patients/{episode.patient_id}/episodes/{episode.pk}/outcomes/"
    assert client.get(url).status_code == 200  # warm: templates, fonts, session
    cache.clear()  # a first view: the body worked out, every plot drawn
    with CaptureQueriesContext(connection) as captured:
        client.get(url)
    queries = len(captured)  # read now: later requests reset the connection's query log
    with CaptureQueriesContext(connection) as captured:
        client.get(url)
    stored_queries = len(captured)
    body_timings: list[float] = []

    def page(cold: bool) -> None:
        if cold:
            cache.clear()
        response = client.get(url)
        assert response.status_code == 200
        if cold:
            body_timings.append(float(response["Server-Timing"].split("dur=")[1]))

    print(f"progress page, first view   {percentiles(timed(lambda: page(True), runs), 7, 1)}   {queries} queries")
    print(f"  of which the body         {percentiles(body_timings, 7, 1)}   (worked out, every plot drawn)")
    print(
        f"progress page, repeat view  {percentiles(timed(lambda: page(False), runs), 7, 1)}   {stored_queries} queries"
        " (the body from the shared cache)"
    )

    def all_plots() -> None:
        plots.pain_svg(data.pain, data.pain_points)
        for series in data.series:
            plots.series_svg(series)
        plots.rom_svg(data.rom)

    print(f"plot rendering (all)        {percentiles(timed(all_plots, runs), 7, 1)}")
    pain = timed(lambda: plots.pain_svg(data.pain, data.pain_points), runs)
    print(f"  pain plot                 {percentiles(pain, 7, 1)}")
    odi = data.series[0]
    series = timed(lambda: plots.series_svg(odi), runs)
    print(f"  {odi.code} plot ({len(odi.points)} points)    {percentiles(series, 7, 1)}")
    print(f"  ROM plot                  {percentiles(timed(lambda: plots.rom_svg(data.rom), runs), 7, 1)}")
    for audience in reports.AUDIENCES:
        samples = timed(lambda a=audience: reports.progress_pdf(data, a), max(5, runs // 3))
        print(f"PDF report ({audience:7})        {percentiles(samples, 7, 1)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
