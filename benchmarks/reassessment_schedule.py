"""Re-assessment schedule figures: the time to compute the dashboard's overdue list and completion rates, and a
dry run of ``send-due``, as the number of episodes grows.

    python benchmarks/reassessment_schedule.py [--episodes 50 400] [--visits 8] [--runs 9]

Builds, in a throwaway SQLite database under /tmp (``--sqlite-dir``), one clinic with EPISODES neck-pain
episodes opened 0 to 89 days ago, each with VISITS visits and a questionnaire answered at every other visit. It
prints, per size, the queries and the median and 95th percentile of RUNS calls of ``overdue_board`` (the
dashboard's panel: the same number of queries whatever the number of episodes) and of ``send_due`` with ``dry_run``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from timing import percentiles, timed

PROJECT = Path(__file__).resolve().parent.parent
DEFAULT_SQLITE_DIR = "/tmp/needlepoint-bench-schedule"


def _build(episode_count: int, visit_count: int):  # type: ignore[no-untyped-def]
    """A clinic with neck-pain episodes opened over the last 90 days, their visits and some answers."""
    from datetime import date, timedelta

    from django.utils import timezone

    from needlepoint.accounts.models import Clinic, Membership, User
    from needlepoint.outcomes.models import Observation
    from needlepoint.patients import actions as patient_actions
    from needlepoint.patients.models import Episode, Patient
    from needlepoint.visits.models import Visit

    clinic = Clinic.objects.create(slug=f"bench-due-{time.time_ns()}", name="Benchmark clinic", mrn_prefix="BS")
    user = User.objects.create_user(f"bench-due-{clinic.pk}", password="benchmark-password-1")
    clinician = Membership.objects.create(user=user, clinic=clinic, role="clinician", profession="physical_therapist")
    now = timezone.now()
    for n in range(episode_count):
        patient = patient_actions.register_patient(
            clinician, {"given_name": "Bench", "family_name": f"Due{n}", "date_of_birth": date(1980, 1, 1)}
        )
        Patient.objects.filter(pk=patient.pk).update(email=f"due{n}@example.org")
        episode = patient_actions.open_episode(
            clinician,
            patient,
            {"condition": "neck_pain", "icd10_code": "M54.2", "side": "central", "onset_date": date(2024, 1, 1)},
        )
        opened = now - timedelta(days=n % 90)
        Episode.objects.filter(pk=episode.pk).update(opened_at=opened)
        visits = Visit.objects.bulk_create(
            Visit(
                clinic=clinic,
                patient=patient,
                episode=episode,
                clinician=clinician,
                started_at=opened + timedelta(days=3 * v),
            )
            for v in range(visit_count)
            if 3 * v <= n % 90
        )
        Observation.objects.bulk_create(
            Observation(
                clinic=clinic,
                patient=patient,
                episode=episode,
                instrument="PSFS",
                value=5,
                unit="points",
                observed_on=timezone.localtime(v.started_at).date(),
                observed_at=v.started_at,
                time_point="reassessment",
                source="clinician",
                recorded_by=clinician,
            )
            for v in visits[::2]
        )
    return clinician, clinic


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--episodes", type=int, nargs="+", default=[50, 400])
    parser.add_argument("--visits", type=int, default=8)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--sqlite-dir", default=DEFAULT_SQLITE_DIR)
    args = parser.parse_args(argv)
    Path(args.sqlite_dir).mkdir(parents=True, exist_ok=True)
    os.environ["NEEDLEPOINT_DATA_DIR"] = args.sqlite_dir
    os.environ.pop("DATABASE_URL", None)
    os.environ.setdefault("SECRET_KEY", "benchmark-only")
    os.environ.setdefault("NEEDLEPOINT_FAST_HASHER", "true")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "needlepoint.settings")
    sys.path.insert(0, str(PROJECT))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from needlepoint.accounts import audit
    from needlepoint.accounts.models import Membership
    from needlepoint.outcomes.panels import reassessments_panel
    from needlepoint.outcomes.schedule import send_due

    def dashboard_board(who: Membership) -> dict[str, object]:
        """The board as the dashboard's panel shows it."""
        return reassessments_panel(who).context

    call_command("migrate", interactive=False, verbosity=0)
    for size in args.episodes:
        with audit.event(audit.Actor(None, None, "cli", None, "benchmark")):
            clinician, clinic = _build(size, args.visits)
        with audit.event(audit.Actor(clinician.user_id, clinic.pk, "web", None, "benchmark")):
            with CaptureQueriesContext(connection) as queries:
                board = dashboard_board(clinician)
            print(
                f"SQLite; {size} episodes, up to {args.visits} visits each: overdue_board {len(queries)} queries, "
                f"{board['reassessments_overdue_count']} overdue"
            )
            board_times = timed(lambda who=clinician: dashboard_board(who), args.runs)
            print("  overdue_board:      " + percentiles(board_times))
        dry = timed(lambda slug=clinic.slug: send_due("https://np.test", clinic_slug=slug, dry_run=True), args.runs)
        print("  send_due (dry run): " + percentiles(dry))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
