"""Per-episode summary tables for the evidence report, rebuilt by ``needlepoint insights refresh``.

Like Zulip's analytics tables: the expensive per-episode steps (an episode's cohort, fixed at its first visit; its first
three visits' pain; each instrument's baseline and final score; each range-of-motion series' first and last
measurement) are computed once per refresh with set-based ``INSERT ... SELECT`` statements, using the same SQL as the
live report (``queries.py``), and the report only filters and adds up the stored rows. A refresh deletes and rebuilds
one clinic's rows in one transaction and records itself in ``SummaryRefresh``; the report says which path it used
and, from the summary, the time its figures are as of. Filters the summary cannot answer (muscle needled,
technique) fall back to the live path, as does a clinic that was never refreshed.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from needlepoint.accounts.models import Clinic
from needlepoint.insights import queries
from needlepoint.insights.filters import ReportFilters, day_start
from needlepoint.insights.models import (
    EpisodeCohort,
    EpisodeMeasureSummary,
    EpisodeRomSummary,
    EpisodeSummary,
    SummaryRefresh,
    VisitSummary,
)
from needlepoint.patients.models import Episode
from needlepoint.visits.models import AdverseEvent, NeedlingEntry, Visit


def answerable(filters: ReportFilters) -> bool:
    """Whether the summary tables can answer these filters (not a muscle or technique: those need the visits)."""
    return not filters.needling_filter


def latest_refresh(clinic_id: int) -> SummaryRefresh | None:
    """The clinic's last finished refresh, or None if its summary was never built."""
    return (
        SummaryRefresh.objects.filter(clinic_id=clinic_id, finished_at__isnull=False).order_by("-finished_at").first()
    )


def summary_episodes(filters: ReportFilters) -> QuerySet[EpisodeSummary]:
    """The summarised episodes the report covers: the same filters as ``filters.episodes`` on the stored rows."""
    found = EpisodeSummary.objects.filter(clinic_id=filters.clinic_id)
    if filters.condition:
        found = found.filter(condition=filters.condition)
    if filters.clinician_id is not None:
        found = found.filter(clinician_id=filters.clinician_id)
    if filters.date_from:
        found = found.filter(opened_at__gte=day_start(filters.date_from))
    if filters.date_to:
        found = found.filter(opened_at__lt=day_start(filters.date_to + timedelta(days=1)))
    if filters.cohort is not None:
        found = found.filter(cohort_label=filters.cohort)
    if filters.needling_filter:
        raise ValueError("The summary cannot answer a muscle or technique filter.")
    return found


def summary_visits(filters: ReportFilters) -> QuerySet[VisitSummary]:
    """The summarised needled visits the report covers: the same filters as ``filters.visit_q``."""
    if filters.needling_filter:
        raise ValueError("The summary cannot answer a muscle or technique filter.")
    found = VisitSummary.objects.filter(clinic_id=filters.clinic_id)
    if filters.date_from:
        found = found.filter(started_at__gte=day_start(filters.date_from))
    if filters.date_to:
        found = found.filter(started_at__lt=day_start(filters.date_to + timedelta(days=1)))
    if filters.clinician_id is not None:
        found = found.filter(clinician_id=filters.clinician_id)
    if filters.condition:
        found = found.filter(condition=filters.condition)
    if filters.cohort is not None:
        found = found.filter(cohort_label=filters.cohort)
    return found


def refresh(clinic: Clinic) -> SummaryRefresh:
    """Rebuild the clinic's summary rows in one transaction and record the run (started, finished, rows)."""
    run = SummaryRefresh.objects.create(clinic=clinic, started_at=timezone.now())
    with transaction.atomic(), connection.cursor() as cursor:
        for table in (queries.SUMMARY_ROM, queries.SUMMARY_MEASURES, queries.SUMMARY_EPISODES, queries.SUMMARY_VISITS):
            cursor.execute(f"DELETE FROM {table} WHERE clinic_id = %s", [clinic.pk])
        cursor.execute(_episodes_sql(), [clinic.pk, clinic.pk, clinic.pk])
        cursor.execute(_measures_sql(), [clinic.pk, clinic.pk, clinic.pk])
        cursor.execute(_rom_sql(), [clinic.pk, clinic.pk, clinic.pk])
        cursor.execute(_visits_sql(), [clinic.pk, clinic.pk, clinic.pk])
        run.visits = VisitSummary.objects.filter(clinic=clinic).count()
        run.episodes = EpisodeSummary.objects.filter(clinic=clinic).count()
        run.measures = EpisodeMeasureSummary.objects.filter(clinic=clinic).count()
        run.rom_series = EpisodeRomSummary.objects.filter(clinic=clinic).count()
        run.finished_at = timezone.now()
        run.save(update_fields=["finished_at", "episodes", "measures", "rom_series", "visits"])
    # Fresh statistics: without them PostgreSQL plans the report's joins for a few hundred rows, not a million.
    with connection.cursor() as cursor:
        for table in (queries.SUMMARY_EPISODES, queries.SUMMARY_MEASURES, queries.SUMMARY_ROM, queries.SUMMARY_VISITS):
            cursor.execute(f"ANALYZE {table}")
    return run


def _clinic_episodes() -> str:
    """The clinic's episodes, to follow ``SELECT id FROM`` in the shared per-episode SQL."""
    return f"{Episode._meta.db_table} WHERE clinic_id = %s"


def _episodes_sql() -> str:
    if connection.vendor == "postgresql":
        days = "(e.discharge_date - CAST(e.opened_at AS date))"
    else:
        days = "CAST(julianday(e.discharge_date) - julianday(date(e.opened_at)) AS INTEGER)"
    firsts = queries.FIRST_VISITS_SQL.format(episodes=_clinic_episodes(), where="")
    columns = (
        "clinic_id, episode_id, patient_id, condition, side, clinician_id, cohort_label, opened_at, discharge_date, "
        "status, discharge_reason, goals_met, days_to_discharge, needled, visits, visit1_pain_before, "
        "visit1_pain_after, visit2_pain_before, visit3_pain_before"
    )
    return f"""
        WITH {firsts}
        INSERT INTO {EpisodeSummary._meta.db_table} ({columns})
        SELECT e.clinic_id, e.id, e.patient_id, e.condition, e.side, e.opened_by_id, c.label, e.opened_at,
               e.discharge_date, e.status, e.discharge_reason,
               CASE WHEN e.status = 'discharged' AND e.discharge_reason = 'goals_met' THEN 1 = 1 ELSE 1 = 0 END,
               {days},
               CASE WHEN firsts.first_needled = 1 THEN 1 = 1 ELSE 1 = 0 END,
               COALESCE(firsts.visits, 0), firsts.base, firsts.after_1, firsts.before_2, firsts.before_3
        FROM {Episode._meta.db_table} e
        LEFT JOIN {EpisodeCohort._meta.db_table} c ON c.episode_id = e.id
        LEFT JOIN firsts ON firsts.episode_id = e.id
        WHERE e.clinic_id = %s
    """


def _measures_sql() -> str:
    obs = queries.EPISODE_MEASURES_SQL.replace("o.instrument IN ({marks}) AND ", "").format(episodes=_clinic_episodes())
    return f"""
        WITH {obs}
        INSERT INTO {EpisodeMeasureSummary._meta.db_table}
            (clinic_id, episode_id, instrument, baseline, final, has_follow_up)
        SELECT %s, obs.episode_id, obs.instrument,
               CASE WHEN obs.first_time_point = 'baseline' THEN obs.first_value END,
               CASE WHEN obs.time_point <> 'baseline' THEN obs.value END,
               obs.time_point <> 'baseline'
        FROM obs
        WHERE obs.next_id IS NULL
    """


def _rom_sql() -> str:
    series = queries.ROM_SERIES_SQL.format(episodes=_clinic_episodes())
    columns = "episode_id, joint, movement, side, method, first_degrees, last_degrees, first_percent, last_percent"
    return f"""
        WITH {series}
        INSERT INTO {EpisodeRomSummary._meta.db_table} (clinic_id, {columns})
        SELECT %s, {columns} FROM s
    """


def _visits_sql() -> str:
    if connection.vendor == "postgresql":
        joined = "',' || STRING_AGG(DISTINCT technique, ',' ORDER BY technique) || ','"
    else:
        joined = "',' || GROUP_CONCAT(DISTINCT technique) || ','"
    columns = (
        "clinic_id, visit_id, clinician_id, started_at, condition, cohort_label, pain_before, pain_after, mild, "
        "significant, serious, techniques"
    )
    return f"""
        WITH e AS (
            SELECT visit_id,
                   SUM(CASE WHEN severity = 'mild' THEN 1 ELSE 0 END) AS mild,
                   SUM(CASE WHEN severity = 'significant' THEN 1 ELSE 0 END) AS significant,
                   SUM(CASE WHEN severity = 'serious' THEN 1 ELSE 0 END) AS serious
            FROM {AdverseEvent._meta.db_table} WHERE clinic_id = %s GROUP BY visit_id
        ),
        t AS (
            SELECT visit_id, {joined} AS techniques
            FROM {NeedlingEntry._meta.db_table} WHERE clinic_id = %s GROUP BY visit_id
        )
        INSERT INTO {VisitSummary._meta.db_table} ({columns})
        SELECT v.clinic_id, v.id, v.clinician_id, v.started_at, ep.condition, c.label, v.pain_before, v.pain_after,
               COALESCE(e.mild, 0), COALESCE(e.significant, 0), COALESCE(e.serious, 0), COALESCE(t.techniques, '')
        FROM {Visit._meta.db_table} v
        LEFT JOIN {Episode._meta.db_table} ep ON ep.id = v.episode_id
        LEFT JOIN {EpisodeCohort._meta.db_table} c ON c.episode_id = v.episode_id
        LEFT JOIN e ON e.visit_id = v.id
        LEFT JOIN t ON t.visit_id = v.id
        WHERE v.clinic_id = %s AND v.needles_inserted > 0
    """
