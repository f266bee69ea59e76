"""Headache-diary figures for a report: the time to read every headache episode's months and responder status.

    python benchmarks/headache_diary.py [--episodes 200] [--days 112] [--runs 15]

Builds, in a throwaway SQLite database under /tmp (``--sqlite-dir``), one clinic with EPISODES migraine episodes,
each with a diary link and DAYS consecutive diary days (every other day a headache in the first 28 days, every
fourth day after). It then prints the median and 95th percentile of RUNS calls of ``diary_responders`` over all
episodes (the function the claims report reads; two queries whatever the number of episodes), and of the pure
arithmetic alone (periods and responder) for one 365-day diary.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from timing import percentiles, timed

PROJECT = Path(__file__).resolve().parent.parent
DEFAULT_SQLITE_DIR = "/tmp/needlepoint-bench-diary"


def _build(episode_count: int, day_count: int):  # type: ignore[no-untyped-def]
    """The benchmark clinic's migraine episodes, each with a diary link and its diary days."""
    from datetime import date, timedelta

    from django.utils import timezone

    from needlepoint.accounts.models import Clinic, Membership, User
    from needlepoint.outcomes import actions
    from needlepoint.outcomes.models import HeadacheDiaryEntry, SelfReportLink
    from needlepoint.patients import actions as patient_actions
    from needlepoint.patients.models import Episode

    clinic = Clinic.objects.create(slug=f"bench-diary-{time.time_ns()}", name="Benchmark clinic", mrn_prefix="BD")
    user = User.objects.create_user(f"bench-diary-{clinic.pk}", password="benchmark-password-1")
    clinician = Membership.objects.create(user=user, clinic=clinic, role="clinician", profession="physical_therapist")
    today = timezone.localdate()
    episodes = []
    for n in range(episode_count):
        patient = patient_actions.register_patient(
            clinician, {"given_name": "Bench", "family_name": f"Diary{n}", "date_of_birth": date(1980, 1, 1)}
        )
        episode = patient_actions.open_episode(
            clinician,
            patient,
            {"condition": "migraine", "icd10_code": "G43.009", "side": "bilateral", "onset_date": date(2024, 1, 1)},
        )
        link = actions.create_diary_link(clinician, episode).link
        SelfReportLink.objects.filter(pk=link.pk).update(created_at=timezone.now() - timedelta(days=day_count))
        HeadacheDiaryEntry.objects.bulk_create(
            HeadacheDiaryEntry(
                clinic=clinic,
                patient=patient,
                episode=episode,
                link=link,
                day=today - timedelta(days=day_count - d),
                headache=(d % 2 == 0) if d < 28 else (d % 4 == 0),
                worst_intensity=6 if ((d % 2 == 0) if d < 28 else (d % 4 == 0)) else None,
                hours=3.0 if ((d % 2 == 0) if d < 28 else (d % 4 == 0)) else None,
                acute_medication=d % 4 == 0,
            )
            for d in range(day_count)
        )
        episodes.append(episode)
    return list(Episode.objects.filter(pk__in=[e.pk for e in episodes]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--episodes", type=int, default=200)
    parser.add_argument("--days", type=int, default=112)
    parser.add_argument("--runs", type=int, default=15)
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
    from datetime import date, timedelta

    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from needlepoint.accounts import audit
    from needlepoint.outcomes import diary
    from needlepoint.outcomes.headache_diary import diary_responders

    call_command("migrate", interactive=False, verbosity=0)
    with audit.event(audit.Actor(None, None, "cli", None, "benchmark")):
        episodes = _build(args.episodes, args.days)
    print(f"SQLite; {args.episodes} migraine episodes x {args.days} diary days ({args.episodes * args.days} rows)")
    with CaptureQueriesContext(connection) as queries:
        found = diary_responders(episodes)
    responders = sum(1 for s in found.values() if s.responder.status == "responder")
    print(f"diary_responders: {len(queries)} queries; {responders} of {len(found)} episodes responders")
    print("diary_responders, all episodes:     " + percentiles(timed(lambda: diary_responders(episodes), args.runs)))
    start = date(2025, 1, 1)
    year = [diary.DiaryDay(start + timedelta(days=d), d % 3 == 0, 5, 2.0, d % 6 == 0) for d in range(365)]
    pure = timed(lambda: diary.responder(diary.periods(year, start, start + timedelta(days=365))), args.runs * 10)
    print("pure periods + responder, 365 days: " + percentiles(pure))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
