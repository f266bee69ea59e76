"""How long the evidence summary's refresh takes: a full rebuild, and the incremental refresh of a day's changes;
and what the change-log triggers add to a single write.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/needlepoint_bench \\
        .venv/bin/python benchmarks/summary_refresh.py --sizes 18200,182000 --runs 3
    .venv/bin/python benchmarks/summary_refresh.py --data-dir /tmp/np-bench-sqlite --sizes 18200 --runs 3

For each size it makes (or reuses) the same synthetic clinic as benchmarks/claims_report.py (about 5.5 visits per
episode: 18,200 episodes give about 100,000 visits, 182,000 about 1,000,000) and prints, medians of ``--runs``:

- full: ``refresh(clinic, full=True)``, wall time from the first statement to the end of COMMIT and ANALYZE;
- a day's changes: every episode with a visit on the clinic's busiest day gets one new pain score (a real write,
  noted by the triggers), then the timed incremental refresh (which adds the change's differences to the summary
  cells); then the whole clinic's report at once, the catch-up that adds up again the cells of the months given
  differences (which a report's own refresh leaves to the background) and the report again; the scores are
  deleted again and that deletion refreshed and caught up too, so the clinic's data end as they began;
- a write: one pain score inserted and deleted, each in its own transaction, with the change-log triggers and
  without them (dropped and created again around that measurement).

The machine's load average is printed beside each figure.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from claims_report import _ensure, _setup


def _load() -> str:
    return "load " + " ".join(f"{value:.1f}" for value in os.getloadavg())


def _busiest_day(clinic_id: int) -> tuple[object, list[int], int]:
    """(the day with the most visits, its visits' episodes, its visits)."""
    from django.db.models import Count
    from django.db.models.functions import TruncDate

    from needlepoint.visits.models import Visit

    day = (
        Visit.objects.filter(clinic_id=clinic_id)
        .annotate(day=TruncDate("started_at"))
        .values("day")
        .annotate(n=Count("id"))
        .order_by("-n", "-day")
        .first()
    )
    visits = Visit.objects.filter(clinic_id=clinic_id, started_at__date=day["day"])
    return day["day"], sorted(set(visits.values_list("episode_id", flat=True))), visits.count()


def _scores(clinic_id: int, episodes: list[int]) -> list[object]:
    """One new pain score for each episode (unsaved), its latest: recorded 400 days after the episode opened, after
    the synthetic clinic's last follow-up, so that it changes the episode's final score as a score recorded today
    would (one recorded before the last changes no figure, and no cell)."""
    from needlepoint.outcomes.models import Observation
    from needlepoint.patients.models import Episode

    rows = Episode.objects.filter(pk__in=episodes).values("pk", "patient_id", "opened_at", "opened_by_id")
    return [
        Observation(
            clinic_id=clinic_id,
            patient_id=row["patient_id"],
            episode_id=row["pk"],
            instrument="NPRS",
            value=3,
            unit="points",
            observed_on=(row["opened_at"] + timedelta(days=400)).date(),
            observed_at=row["opened_at"] + timedelta(days=400),
            time_point="reassessment",
            source="clinician",
            recorded_by_id=row["opened_by_id"],
        )
        for row in rows
    ]


def _timed(work: Any) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def _write_seconds(clinic_id: int, episode_id: int, repeats: int = 50) -> float:
    """Median seconds of one pain score inserted and deleted, each in its own transaction."""
    from needlepoint.outcomes.models import Observation

    times = []
    for _ in range(repeats):
        (score,) = _scores(clinic_id, [episode_id])
        started = time.perf_counter()
        score.save()
        Observation.objects.filter(pk=score.pk).delete()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def measure(slug: str, runs: int, full_runs: int) -> None:
    from django.db import connection

    from needlepoint.accounts.models import Clinic
    from needlepoint.insights import changes
    from needlepoint.insights.filters import parse_filters
    from needlepoint.insights.models import SummaryChange, SummaryStaleMonth
    from needlepoint.insights.report import claims_report
    from needlepoint.insights.summaries import catch_up_cells, refresh
    from needlepoint.outcomes.models import Observation
    from needlepoint.patients.models import Episode
    from needlepoint.visits.models import Visit

    clinic = Clinic.objects.get(slug=slug)
    visits = Visit.objects.filter(clinic=clinic).count()
    print(f"{slug}: {Episode.objects.filter(clinic=clinic).count():,} episodes, {visits:,} visits", flush=True)
    full = []
    for _ in range(full_runs):
        run = refresh(clinic, full=True)
        full.append(run.seconds)
        print(f"  full refresh {run.seconds:.2f} s ({run.episodes:,} episodes, {run.visits:,} needled visits; "
              f"{_load()})", flush=True)  # fmt: skip
    day, episodes, day_visits = _busiest_day(clinic.pk)
    incremental, restore, catch_ups, first_reports, reports = [], [], [], [], []
    filters, options = parse_filters(clinic.pk, {})
    for _ in range(runs):
        scores = Observation.objects.bulk_create(_scores(clinic.pk, episodes))
        noted = SummaryChange.objects.filter(clinic=clinic).count()
        run = refresh(clinic)
        assert run.kind == "changes", run.kind
        incremental.append(run.seconds)
        differing = SummaryStaleMonth.objects.filter(clinic=clinic).count()
        first_reports.append(_timed(lambda: claims_report(clinic, filters, options, source="summary")))
        catch_ups.append(_timed(lambda: catch_up_cells(clinic.pk)))
        reports.append(_timed(lambda: claims_report(clinic, filters, options, source="summary")))
        Observation.objects.filter(pk__in=[s.pk for s in scores]).delete()
        undo = refresh(clinic)
        catch_up_cells(clinic.pk)
        restore.append(undo.seconds)
        print(
            f"  a day's changes ({day}: {day_visits:,} visits, {len(episodes):,} episodes, {noted:,} change notes): "
            f"incremental {run.seconds:.3f} s, undone in {undo.seconds:.3f} s; {differing} months given "
            f"differences, added up again in {catch_ups[-1]:.3f} s; the whole clinic's report "
            f"{first_reports[-1]:.3f} s before that, {reports[-1]:.3f} s after ({_load()})",
            flush=True,
        )
    with_triggers = _write_seconds(clinic.pk, episodes[0])
    changes.drop_triggers(connection)
    try:
        without = _write_seconds(clinic.pk, episodes[0])
    finally:
        changes.create_triggers(connection)
    SummaryChange.objects.filter(clinic=clinic).delete()  # the timing writes left the data as they were
    print(
        f"  median of {full_runs} / {runs}: full {f'{statistics.median(full):.2f} s' if full else 'not run'}; "
        f"a day's changes {statistics.median(incremental):.3f} s "
        f"({len(episodes):,} episodes, {day_visits:,} visits), cells caught up {statistics.median(catch_ups):.3f} s "
        f"(report {statistics.median(first_reports):.3f} s before that, {statistics.median(reports):.3f} s after); "
        "one score written and deleted "
        f"{with_triggers * 1000:.2f} ms with the triggers, {without * 1000:.2f} ms without ({_load()})",
        flush=True,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="18200", help="episodes per clinic, comma-separated")
    parser.add_argument("--runs", type=int, default=3, help="timed runs (median printed)")
    parser.add_argument("--full-runs", type=int, help="timed full refreshes (default: --runs; 0 needs a summary)")
    parser.add_argument("--data-dir", help="SQLite data folder (default: a temporary one); ignored with DATABASE_URL")
    args = parser.parse_args()
    data_dir = args.data_dir
    if not os.environ.get("DATABASE_URL") and not data_dir:
        import tempfile

        data_dir = tempfile.mkdtemp(prefix="np-refresh-bench-")
    _setup(data_dir)
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    print(f"{connection.vendor}; {_load()}", flush=True)
    for size in (int(s) for s in args.sizes.split(",")):
        measure(_ensure(size), args.runs, args.runs if args.full_runs is None else args.full_runs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
