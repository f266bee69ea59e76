"""Per-episode summary tables for the evidence report, rebuilt by ``needlepoint insights refresh``.

Like Zulip's analytics tables: the expensive per-episode steps (an episode's cohort, fixed at its first visit; its first
three visits' pain; each instrument's baseline and final score; each range-of-motion series' first and last
measurement) are computed once per refresh with set-based ``INSERT ... SELECT`` statements, using the same SQL as the
live report (``queries.py``), and the report only filters and adds up the stored rows. A refresh deletes and rebuilds
one clinic's rows in one transaction and records itself in ``SummaryRefresh``; the report says which path it used
and, from the summary, the time its figures are as of. Each summarised episode and needled visit keeps the
muscles and techniques needled (``,muscle/technique,``), so every filter reads the summary; a clinic that was
never refreshed is read live.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone

from needlepoint.accounts.models import Clinic
from needlepoint.insights import cells, queries
from needlepoint.insights.filters import ReportFilters, ReportOptions, Row, day_start, episode_rows
from needlepoint.insights.models import (
    EpisodeCohort,
    EpisodeMeasureSummary,
    EpisodeMovementSummary,
    EpisodeRomSummary,
    EpisodeSummary,
    SummaryCell,
    SummaryChange,
    SummaryRefresh,
    SummaryStaleMonth,
    VisitEventSummary,
    VisitSummary,
)
from needlepoint.patients.models import Episode
from needlepoint.visits.models import AdverseEvent, NeedlingEntry, Visit


def latest_refresh(clinic_id: int) -> SummaryRefresh | None:
    """The clinic's last finished refresh, or None if its summary was never built."""
    return (
        SummaryRefresh.objects.filter(clinic_id=clinic_id, finished_at__isnull=False).order_by("-finished_at").first()
    )


def needled_pair(filters: ReportFilters) -> str:
    """What the ``needling`` column of a summary row contains when a needling entry of the row matches the muscle
    and technique filters ('' without either): ``,muscle/``, ``/technique,`` or ``,muscle/technique,``."""
    if not filters.needling_filter:
        return ""
    return f"{',' + filters.muscle if filters.muscle else ''}/{filters.technique + ',' if filters.technique else ''}"


@dataclass(frozen=True)
class Reading:
    """How a report reads a clinic's summary: the cells it adds (None: every row) and whether its times in care
    count from the days opened the refresh kept (it read them on the report's clock)."""

    cells: queries.CellPlan | None
    days_kept: bool


def reading(run: SummaryRefresh | None, filters: ReportFilters, options: ReportOptions, as_of: date) -> Reading:
    """How a report with these filters and options reads the summary the refresh ``run`` left (None: none)."""
    if run is None:
        return Reading(cells=None, days_kept=False)
    return Reading(
        cells=cells.plan(filters, options, as_of, run.cells_key),
        days_kept=run.time_zone == _clock(),
    )


def catch_up_cells(clinic_id: int, *, wait: bool = True) -> int | None:
    """Add up again the summary cells of the months an incremental refresh gave differences
    (``SummaryStaleMonth``), as a full refresh would, in one transaction under the refresh's lock; the months
    caught up, or None when another refresh or catch-up of the clinic was running and ``wait`` is False. Run after
    a refresh: by the command at once, after a report's own refresh in the background."""
    with queries.unprepared(), transaction.atomic(), connection.cursor() as cursor:
        if not _lock(cursor, clinic_id, wait):
            return None
        if not _current(latest_refresh(clinic_id)):
            return 0  # the summary's months are another clock's (or definitions'): its next refresh rebuilds it all
        stale = list(SummaryStaleMonth.objects.filter(clinic_id=clinic_id).values_list("kind", "month"))
        if not stale:
            return 0
        queries.for_aggregates(cursor)
        episode_months = {month for kind, month in stale if kind == "episodes"}
        visit_months = {month for kind, month in stale if kind == "visits"}
        cells.rebuild(cursor, clinic_id, episode_months, visit_months)
        SummaryStaleMonth.objects.filter(clinic_id=clinic_id).delete()
        return len(stale)


def summary_episodes(filters: ReportFilters) -> QuerySet[EpisodeSummary]:
    """The summarised episodes the report covers: the same filters as ``filters.episodes`` on the stored rows
    (an episode matches the muscle and technique filters when one needling entry at any of its visits does)."""
    found = episode_rows(EpisodeSummary.objects.all(), filters, clinician="clinician_id", cohort="cohort_label")
    if filters.needling_filter:
        found = found.filter(needling__contains=needled_pair(filters))
    return found


def summary_visits(filters: ReportFilters) -> QuerySet[VisitSummary]:
    """The summarised needled visits the report covers: the same filters as ``filters.needled_visits``."""
    return _visit_rows(VisitSummary.objects.all(), filters)


def summary_events(filters: ReportFilters) -> QuerySet[VisitEventSummary]:
    """The adverse events (by visit, type and severity) of the summarised needled visits the report covers."""
    return _visit_rows(VisitEventSummary.objects.all(), filters)


def cell_rows(rows: QuerySet[Row], filters: ReportFilters, *, visits: bool) -> QuerySet[Row]:
    """Summary cells ``rows`` narrowed by the filters a cell has columns for: the clinic, condition, clinician
    and cohort, as the episode (or visit) filters narrow the rows the cells add up; the caller picks the months
    and the cells' needling key (the muscle or technique filtered on, ``cells.needling_key``)."""
    undated = replace(filters, date_from=None, date_to=None, muscle="", technique="")
    if visits:
        return _visit_rows(rows, undated)
    return episode_rows(rows, undated, clinician="clinician_id", cohort="cohort_label")


def _visit_rows(rows: QuerySet[Row], filters: ReportFilters) -> QuerySet[Row]:
    """``rows`` (summary rows of needled visits) narrowed by the visit filters, as ``filters.needled_visits``."""
    found = rows.filter(clinic_id=filters.clinic_id)
    if filters.needling_filter:
        found = found.filter(needling__contains=needled_pair(filters))
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


# A refresh rebuilds every episode when this share of the clinic's summarised episodes (or more) has changed: one
# pass over the clinic is then cheaper than deleting and re-inserting that many episodes by their ids.
FULL_SHARE = 0.25
CHANGED_TABLE = "np_changed_episodes"
PATIENTS_TABLE = "np_changed_patients"
FLIPPED_TABLE = "np_episodes_in_or_out_of_cells"
# Two refreshes of one clinic never run at once: PostgreSQL's advisory lock (this key, the clinic's id) is held
# for the refresh's transaction; SQLite lets one writer at a time anyway.
LOCK_KEY = 7_316_501
_SUMMARY_TABLES = (
    queries.SUMMARY_ROM,
    queries.SUMMARY_MOVEMENTS,
    queries.SUMMARY_MEASURES,
    queries.SUMMARY_EPISODES,
    queries.SUMMARY_VISITS,
    queries.SUMMARY_EVENTS,
)
# Every derived table, for fresh statistics after a full rebuild.
_ANALYSED_TABLES = (*_SUMMARY_TABLES, SummaryCell._meta.db_table)
# Tables whose index leads with the clinic, so that a change's rows are deleted by clinic and episode.
_BY_CLINIC = (queries.SUMMARY_ROM, queries.SUMMARY_MOVEMENTS)


def refresh(clinic: Clinic, *, full: bool | None = None, wait: bool = True) -> SummaryRefresh | None:
    """Bring the clinic's summary rows up to date in one transaction and record the run.

    ``full`` True rebuilds every episode; False only the episodes the change log names; None (the default) picks:
    full when the clinic was never refreshed or a large share of it changed, else the changes. A summary made under
    other definitions of the cells or on another clock (its months and days opened are the clinic's) is rebuilt
    whole, whatever ``full`` says. With ``wait`` False
    the call gives up at once (returns None) if another refresh of the clinic is running. When nothing changed
    since the last refresh, nothing is rebuilt: the last run's ``checked_at`` moves to now and it is returned.
    The run's ``seconds`` is the true wall time, COMMIT and fresh statistics included.
    """
    clock = time.perf_counter()
    started = timezone.now()
    with queries.unprepared(), transaction.atomic(), connection.cursor() as cursor:
        if not _lock(cursor, clinic.pk, wait):
            return None
        queries.for_aggregates(cursor)
        last = latest_refresh(clinic.pk)
        changed = _claim_changes(cursor, clinic.pk)
        current = _current(last)
        if full is None or not current:  # an incremental refresh needs a summary of today's definitions to start from
            full = not current or len(changed) >= FULL_SHARE * max(last.episodes if last else 1, 1)
        if not full and not changed and last is not None:
            last.checked_at = started
            last.save(update_fields=["checked_at"])
            return last
        run = SummaryRefresh(clinic=clinic, started_at=started, kind="full" if full else "changes")
        run.cells_key, run.time_zone = cells.definitions_key(), _clock()
        written = _rebuild(cursor, clinic.pk, None if full else changed)
        run.episodes, run.measures, run.rom_series, _, run.visits, _, removed = written
        if not full:
            assert last is not None  # an incremental refresh starts from a summary (full is forced without one)
            # The run's episode count describes the whole summary, as a full refresh's does.
            run.episodes = last.episodes - removed + run.episodes
        run.changed_episodes = written[0] if full else len(changed)
        run.finished_at = timezone.now()
        run.save()
    if full:
        # Fresh statistics after a full rebuild: without them PostgreSQL plans the report's joins for a few hundred
        # rows, not a million. VACUUM too, where it may run (outside a transaction): each rebuild leaves the old
        # rows behind as dead versions that every later insert and read would wade through. A day's changes leave
        # the statistics as they were (autovacuum sees to their few dead rows).
        clean = "VACUUM ANALYZE" if connection.vendor == "postgresql" and not connection.in_atomic_block else "ANALYZE"
        with connection.cursor() as cursor:
            for table in _ANALYSED_TABLES:
                cursor.execute(f"{clean} {table}")
    run.seconds = time.perf_counter() - clock
    SummaryRefresh.objects.filter(pk=run.pk).update(seconds=run.seconds)
    return run


def _clock() -> str:
    """The clinic's clock: the active time zone's name (TIME_ZONE), which the summary's days and months are on."""
    return timezone.get_current_timezone_name()


def _current(run: SummaryRefresh | None) -> bool:
    """Whether the refresh ``run`` left a summary of today's definitions of the cells on today's clock, from which
    an incremental refresh or a catch-up may go on (else the next refresh rebuilds it whole)."""
    return run is not None and (run.cells_key, run.time_zone) == (cells.definitions_key(), _clock())


def pending_changes(clinic_id: int, limit: int) -> int:
    """How many change notes await the clinic's next refresh, counted up to ``limit`` (a cheap look)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT COUNT(*) FROM (SELECT 1 FROM {SummaryChange._meta.db_table} WHERE clinic_id = %s LIMIT %s) x",
            [clinic_id, limit],
        )
        return int(cursor.fetchone()[0])


def _lock(cursor: Any, clinic_id: int, wait: bool) -> bool:
    if connection.vendor != "postgresql":
        return True
    if wait:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [LOCK_KEY, clinic_id])
        return True
    cursor.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", [LOCK_KEY, clinic_id])
    return bool(cursor.fetchone()[0])


def _claim_changes(cursor: Any, clinic_id: int) -> set[int]:
    """Take the clinic's change notes out of the log (given back if the refresh fails: same transaction).

    Only the notes this DELETE removes are claimed: a note committed a moment later stays for the next refresh.
    """
    cursor.execute(f"DELETE FROM {SummaryChange._meta.db_table} WHERE clinic_id = %s RETURNING episode_id", [clinic_id])
    return {row[0] for row in cursor.fetchall()}


def _rebuild(cursor: Any, clinic_id: int, changed: set[int] | None) -> list[int]:
    """Delete and re-insert the summary rows of the clinic (``changed`` None) or of the changed episodes only,
    then bring the summary cells up to date: all of them added up again, or the differences the changed rows make
    added to them (``cells.apply_changes``). Returns the rows written per table (episodes, measures, ROM series,
    movements, needled visits, their events), then the episode rows removed."""
    if changed is None:
        written = _write_rows(cursor, clinic_id, "")
        if connection.vendor == "postgresql":
            for table in _SUMMARY_TABLES:  # the cells' statements join the rows just written: plan them as such
                cursor.execute(f"ANALYZE {table}")
        cells.rebuild(cursor, clinic_id)
        return written
    _id_table(cursor, CHANGED_TABLE, changed)
    before = _touched_patients(cursor, clinic_id)
    # The episode cells of the rows about to go, taken away; their visit rows kept, to compare.
    cells.start_changes(cursor)
    cells.stage_episodes(cursor, clinic_id, _rows_of(clinic_id, CHANGED_TABLE).filter(in_cells=True), -1)
    _keep_visit_rows(cursor)
    written = _write_rows(cursor, clinic_id, f" AND {{column}} IN (SELECT id FROM {CHANGED_TABLE})")
    # The cells of the rows written, added; and of the other episodes that joined or left the cells.
    joined, left = _mark_in_cells(cursor, clinic_id, changed, before)
    cells.stage_episodes(cursor, clinic_id, _rows_of(clinic_id, CHANGED_TABLE).filter(in_cells=True), 1)
    for episodes, weight in ((joined, 1), (left, -1)):
        if episodes:  # by a table of ids: a bulk import may move thousands (SQLite binds at most 32,766 values)
            _id_table(cursor, FLIPPED_TABLE, set(episodes))
            cells.stage_episodes(cursor, clinic_id, _rows_of(clinic_id, FLIPPED_TABLE), weight)
            cursor.execute(f"DROP TABLE {FLIPPED_TABLE}")
    _stage_visits_changed(cursor, clinic_id)
    # The months given differences are added up again afterwards (``catch_up_cells``), as a full refresh would.
    cells.mark_stale(cursor, clinic_id, *cells.apply_changes(cursor, clinic_id))
    cursor.execute(f"DROP TABLE {CHANGED_TABLE}")
    return written


def _write_rows(cursor: Any, clinic_id: int, only: str) -> list[int]:
    """Delete and insert again the clinic's summary rows (of the episodes ``only`` keeps: SQL with ``{column}``
    for the episode id); the rows written per table, then the episode rows removed."""
    removed = 0
    for table in _SUMMARY_TABLES:
        if not only or table in _BY_CLINIC:
            cursor.execute(f"DELETE FROM {table} WHERE clinic_id = %s{only.format(column='episode_id')}", [clinic_id])
        else:
            # By episode alone (ids are unique across clinics), so that the episode index is the one used.
            cursor.execute(f"DELETE FROM {table} WHERE {_of_changed()}")
        if table == queries.SUMMARY_EPISODES:
            removed = max(cursor.rowcount, 0)
    written = []
    for build in (_episodes_sql, _measures_sql, _rom_sql, _movements_sql, _visits_sql, _events_sql):
        sql = build(only)
        cursor.execute(sql, [clinic_id] * sql.replace("%%", "").count("%s"))
        written.append(queries.rows_written(cursor))
    return [*written, removed]


def _rows_of(clinic_id: int, ids_table: str) -> QuerySet[EpisodeSummary]:
    """The clinic's summary rows of the episodes in the temporary table ``ids_table`` (``_id_table``)."""
    return EpisodeSummary.objects.filter(clinic_id=clinic_id, episode_id__in=RawSQL(f"SELECT id FROM {ids_table}", []))


def _touched_patients(cursor: Any, clinic_id: int) -> set[int]:
    """The changed episodes' patients, as the summary holds them now."""
    cursor.execute(
        f"SELECT DISTINCT patient_id FROM {queries.SUMMARY_EPISODES}"
        f" WHERE clinic_id = %s AND episode_id IN (SELECT id FROM {CHANGED_TABLE}) AND patient_id IS NOT NULL",
        [clinic_id],
    )
    return {row[0] for row in cursor.fetchall()}


def _mark_in_cells(cursor: Any, clinic_id: int, changed: set[int], before: set[int]) -> tuple[list[int], list[int]]:
    """After a change's rebuild: mark again which episodes of the patients touched (``before`` and now) are their
    patient's only one (a second episode takes the first out of the cells); returns the episodes not ``changed``
    themselves that joined the cells and that left them."""
    _id_table(cursor, PATIENTS_TABLE, before | _touched_patients(cursor, clinic_id))
    summary = queries.SUMMARY_EPISODES
    cursor.execute(
        # Only the rows whose mark is wrong are written (in_cells must be NOT EXISTS: it is wrong where it equals
        # EXISTS): rewriting every row of the patients touched rewrote each of its indexes too. The rows written
        # are the episodes that joined or left the cells, with their new mark.
        f"""UPDATE {summary} SET in_cells = NOT in_cells
            WHERE clinic_id = %s AND patient_id IN (SELECT id FROM {PATIENTS_TABLE}) AND in_cells = EXISTS (
                SELECT 1 FROM {summary} o WHERE o.clinic_id = {summary}.clinic_id
                AND o.patient_id = {summary}.patient_id AND o.episode_id <> {summary}.episode_id)
            RETURNING episode_id, in_cells""",
        [clinic_id],
    )
    flipped = [(episode, bool(single)) for episode, single in cursor.fetchall() if episode not in changed]
    cursor.execute(f"DROP TABLE {PATIENTS_TABLE}")
    joined = sorted(episode for episode, single in flipped if single)
    left = sorted(episode for episode, single in flipped if not single)
    return joined, left


# The visit cells add up the visit summary rows alone (``cells._visit_sql``, ``cells._events_sql``): an episode whose
# rows are the same after the rebuild as before (a new pain score, a discharge) changes no visit cell.
_VISIT_MODELS = {model._meta.db_table: model for model in (VisitSummary, VisitEventSummary)}
VISITS_CHANGED_TABLE = "np_changed_visit_episodes"


def _of_changed() -> str:
    """SQL: the changed episodes' rows, by episode alone (ids are unique across clinics), so that the episode index
    is used: on PostgreSQL as an array, which it looks up in the index (an IN over the table of ids it may join by
    reading the whole table)."""
    if connection.vendor == "postgresql":
        return f"episode_id = ANY(ARRAY(SELECT id FROM {CHANGED_TABLE}))"
    return f"episode_id IN (SELECT id FROM {CHANGED_TABLE})"


def _kept(table: str) -> str:
    return f"np_kept_{table}"


def _visit_columns(table: str) -> str:
    return ", ".join(f.column for f in _VISIT_MODELS[table]._meta.concrete_fields if not f.primary_key)


def _keep_visit_rows(cursor: Any) -> None:
    """Before a change's rebuild: a copy of the changed episodes' visit rows (``_stage_visits_changed``)."""
    for table in cells.VISIT_TABLES:
        cursor.execute(f"DROP TABLE IF EXISTS {_kept(table)}")
        cursor.execute(
            f"CREATE TEMPORARY TABLE {_kept(table)} AS SELECT {_visit_columns(table)} FROM {table}"
            f" WHERE {_of_changed()}"
        )


def _stage_visits_changed(cursor: Any, clinic_id: int) -> None:
    """After a change's rebuild: stage the visit cells of the changed episodes whose visit rows are not the same as
    before (a row gone, added or different, in either table): those of the copy taken away, the new ones added."""
    episodes: set[int] = set()
    for table in cells.VISIT_TABLES:
        columns = _visit_columns(table)
        now = f"SELECT {columns} FROM {table} WHERE {_of_changed()}"
        kept = f"SELECT {columns} FROM {_kept(table)}"
        cursor.execute(
            f"SELECT episode_id FROM ({kept} EXCEPT {now}) gone"
            f" UNION SELECT episode_id FROM ({now} EXCEPT {kept}) added"
        )
        episodes |= {row[0] for row in cursor.fetchall()}
    if episodes:
        _id_table(cursor, VISITS_CHANGED_TABLE, episodes)
        of_episodes = f"SELECT id FROM {VISITS_CHANGED_TABLE}"
        kept_tables = (_kept(cells.VISIT_TABLES[0]), _kept(cells.VISIT_TABLES[1]))
        cells.stage_visits(cursor, clinic_id, of_episodes, -1, kept_tables)
        cells.stage_visits(cursor, clinic_id, of_episodes, 1)
        cursor.execute(f"DROP TABLE {VISITS_CHANGED_TABLE}")
    for table in cells.VISIT_TABLES:
        cursor.execute(f"DROP TABLE {_kept(table)}")


def _id_table(cursor: Any, table: str, ids: set[int]) -> None:
    """Ids (the changed episodes, their patients) in a temporary table, for the rebuild's statements to join."""
    cursor.execute(f"DROP TABLE IF EXISTS {table}")
    cursor.execute(f"CREATE TEMPORARY TABLE {table} (id bigint PRIMARY KEY)")
    ordered = sorted(ids)
    for start in range(0, len(ordered), 500):
        chunk = ordered[start : start + 500]
        cursor.execute(f"INSERT INTO {table} (id) VALUES {', '.join(['(%s)'] * len(chunk))}", chunk)
    cursor.execute(f"ANALYZE {table}")  # a temporary table has no statistics until analysed


def _clinic_episodes(only: str) -> str:
    """The clinic's episodes (or its changed ones), to follow ``SELECT id FROM`` in the shared per-episode SQL."""
    return f"{Episode._meta.db_table} WHERE clinic_id = %s{only.format(column='id')}"


def _episodes_sql(only: str) -> str:
    opened_on = cells.day_sql("e.opened_at")  # the clinic's day, as the report's times in care count it
    if connection.vendor == "postgresql":
        days = f"(e.discharge_date - {opened_on})"
    else:
        days = f"CAST(julianday(e.discharge_date) - julianday({opened_on}) AS INTEGER)"
    firsts = queries.FIRST_VISITS_SQL.format(episodes=_clinic_episodes(only), where="")
    columns = (
        "clinic_id, episode_id, patient_id, condition, side, clinician_id, cohort_label, opened_at, discharge_date, "
        "status, discharge_reason, goals_met, days_to_discharge, needled, visits, visit1_pain_before, "
        "visit1_pain_after, visit2_pain_before, visit3_pain_before, needling, opened_month, in_cells, opened_on"
    )
    # Every needling entry of any visit of the episode, as the live filter finds them (filters.episodes).
    needling = f"""needling AS (
            SELECT v.episode_id, {_pairs_sql("n")} AS pairs
            FROM {NeedlingEntry._meta.db_table} n JOIN {Visit._meta.db_table} v ON v.id = n.visit_id
            WHERE n.clinic_id = %s AND v.clinic_id = %s AND v.episode_id IN (SELECT id FROM {_clinic_episodes(only)})
            GROUP BY v.episode_id
        )"""
    return f"""
        WITH {firsts}, {needling}
        INSERT INTO {EpisodeSummary._meta.db_table} ({columns})
        SELECT e.clinic_id, e.id, e.patient_id, e.condition, e.side, e.opened_by_id, c.label, e.opened_at,
               e.discharge_date, e.status, e.discharge_reason,
               CASE WHEN e.status = 'discharged' AND e.discharge_reason = 'goals_met' THEN 1 = 1 ELSE 1 = 0 END,
               {days},
               CASE WHEN firsts.first_needled = 1 THEN 1 = 1 ELSE 1 = 0 END,
               COALESCE(firsts.visits, 0), firsts.base, firsts.after_1, firsts.before_2, firsts.before_3,
               COALESCE(needling.pairs, ''), {cells.month_sql("e.opened_at")},
               e.patient_id IS NOT NULL AND NOT EXISTS (
                   SELECT 1 FROM {Episode._meta.db_table} o
                   WHERE o.clinic_id = e.clinic_id AND o.patient_id = e.patient_id AND o.id <> e.id),
               {cells.day_sql("e.opened_at")}
        FROM {Episode._meta.db_table} e
        LEFT JOIN {EpisodeCohort._meta.db_table} c ON c.episode_id = e.id
        LEFT JOIN firsts ON firsts.episode_id = e.id
        LEFT JOIN needling ON needling.episode_id = e.id
        WHERE e.clinic_id = %s{only.format(column="e.id")}
    """


def _measures_sql(only: str) -> str:
    obs = queries.EPISODE_MEASURES_SQL.replace("o.instrument IN ({marks}) AND ", "").format(
        episodes=_clinic_episodes(only)
    )
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


def _rom_sql(only: str) -> str:
    series = queries.ROM_SERIES_SQL.format(episodes=_clinic_episodes(only))
    columns = "episode_id, joint, movement, side, method, first_degrees, last_degrees, first_percent, last_percent"
    return f"""
        WITH {series}
        INSERT INTO {EpisodeRomSummary._meta.db_table} (clinic_id, {columns})
        SELECT %s, {columns} FROM s
    """


def _movements_sql(only: str) -> str:
    """Each episode's value per movement and method, from the series just written (``_rom_sql``)."""
    return f"""
        INSERT INTO {EpisodeMovementSummary._meta.db_table}
            (clinic_id, episode_id, joint, movement, method, gain, percent_gain)
        SELECT s.clinic_id, s.episode_id, s.joint, s.movement, s.method, {queries.EPISODE_MOVEMENT_VALUES}
        FROM {EpisodeRomSummary._meta.db_table} s JOIN {Episode._meta.db_table} ep ON ep.id = s.episode_id
        WHERE s.clinic_id = %s{only.format(column="s.episode_id")}
        GROUP BY s.clinic_id, s.episode_id, s.joint, s.movement, s.method
    """


def _events_sql(only: str) -> str:
    """Each needled visit's adverse events by type and severity, with the visit's facts from the visit rows just
    written (``_visits_sql``)."""
    of_visits = ""
    if only:
        changed_visits = (
            f"SELECT vs.visit_id FROM {VisitSummary._meta.db_table} vs "
            f"WHERE vs.clinic_id = %s{only.format(column='vs.episode_id')}"
        )
        of_visits = f" AND visit_id IN ({changed_visits})"
    columns = "visit_id, episode_id, clinician_id, started_at, condition, cohort_label, needling, month"
    return f"""
        WITH e AS (
            SELECT visit_id, event_type, severity, COUNT(*) AS events
            FROM {AdverseEvent._meta.db_table} WHERE clinic_id = %s{of_visits}
            GROUP BY visit_id, event_type, severity
        )
        INSERT INTO {VisitEventSummary._meta.db_table} (clinic_id, {columns}, event_type, severity, events)
        SELECT v.clinic_id, {", ".join(f"v.{column}" for column in columns.split(", "))}, e.event_type, e.severity,
               e.events
        FROM {VisitSummary._meta.db_table} v JOIN e ON e.visit_id = v.visit_id
        WHERE v.clinic_id = %s{only.format(column="v.episode_id")}
    """


def _pairs_sql(entry: str) -> str:
    """The distinct ``muscle/technique`` of a group of needling entries as ``,muscle/technique,...,``."""
    return queries.distinct_set_sql(f"{entry}.muscle_id || '/' || {entry}.technique")


def _visits_sql(only: str) -> str:
    joined = queries.distinct_set_sql("technique")
    columns = (
        "clinic_id, visit_id, episode_id, clinician_id, started_at, condition, cohort_label, pain_before, "
        "pain_after, mild, significant, serious, techniques, needling, month"
    )
    # A change rebuilds its episodes' visits only; their entries and events are found through the visits.
    of_visits = ""
    if only:
        changed_visits = (
            f"SELECT w.id FROM {Visit._meta.db_table} w WHERE w.episode_id IN (SELECT id FROM {CHANGED_TABLE})"
        )
        of_visits = f" AND visit_id IN ({changed_visits})"
    return f"""
        WITH e AS (
            SELECT visit_id,
                   SUM(CASE WHEN severity = 'mild' THEN 1 ELSE 0 END) AS mild,
                   SUM(CASE WHEN severity = 'significant' THEN 1 ELSE 0 END) AS significant,
                   SUM(CASE WHEN severity = 'serious' THEN 1 ELSE 0 END) AS serious
            FROM {AdverseEvent._meta.db_table} WHERE clinic_id = %s{of_visits} GROUP BY visit_id
        ),
        t AS (
            SELECT visit_id, {joined} AS techniques, {_pairs_sql(NeedlingEntry._meta.db_table)} AS needling
            FROM {NeedlingEntry._meta.db_table} WHERE clinic_id = %s{of_visits} GROUP BY visit_id
        )
        INSERT INTO {VisitSummary._meta.db_table} ({columns})
        SELECT v.clinic_id, v.id, v.episode_id, v.clinician_id, v.started_at, ep.condition, c.label, v.pain_before,
               v.pain_after,
               COALESCE(e.mild, 0), COALESCE(e.significant, 0), COALESCE(e.serious, 0), COALESCE(t.techniques, ''),
               COALESCE(t.needling, ''), {cells.month_sql("v.started_at")}
        FROM {Visit._meta.db_table} v
        LEFT JOIN {Episode._meta.db_table} ep ON ep.id = v.episode_id
        LEFT JOIN {EpisodeCohort._meta.db_table} c ON c.episode_id = v.episode_id
        LEFT JOIN e ON e.visit_id = v.id
        LEFT JOIN t ON t.visit_id = v.id
        WHERE v.clinic_id = %s AND v.needles_inserted > 0{only.format(column="v.episode_id")}
    """


# ---------------------------------------------------------------------------------------------------- freshness
#
# The summary keeps itself current on read, with no schedule to install: before the report reads a clinic's
# summary it adds the changes noted since the last refresh (a day's changes take about a second at a million
# visits, a few moments' changes far less). Writes never wait for it: a trigger appends a row to the change log,
# nothing more. A backlog too large to add while someone waits for the page (a bulk import, the first summary of
# a large clinic) is added by a background thread of the serving process while the page shows the figures it has
# and says so; the advisory lock (PostgreSQL) or the single writer (SQLite) keeps two refreshes of one clinic
# from running at once, and a process never starts a second background refresh of the same clinic.

# Change notes the report adds itself before reading (more go to the background); settings can override both.
INLINE_NOTES = 50_000
# A clinic never summarised is read live up to this many episodes; above it, its first summary is built in the
# background (the live report costs about a second per 100,000 visits on PostgreSQL).
BACKGROUND_FIRST_BUILD_EPISODES = 20_000

_background: set[int] = set()
_background_guard = threading.Lock()
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Freshness:
    """What the report may read for a clinic: the refresh (None: read live), the time its figures are current to,
    and the changes noted after that time and not yet in the summary (0, or at least that many)."""

    refresh: SummaryRefresh | None
    as_of: Any
    pending: int = 0
    background: bool = False


def bring_up_to_date(clinic_id: int) -> Freshness:
    """Add the clinic's noted changes to its summary before a report reads it (or start doing so in the
    background when there are too many to wait for), and say how current the summary is."""
    inline = int(getattr(settings, "INSIGHTS_INLINE_REFRESH_NOTES", INLINE_NOTES))
    last = latest_refresh(clinic_id)
    if last is None:
        first_build = int(
            getattr(settings, "INSIGHTS_BACKGROUND_FIRST_BUILD_EPISODES", BACKGROUND_FIRST_BUILD_EPISODES)
        )
        if Episode.objects.filter(clinic_id=clinic_id)[first_build : first_build + 1].exists():
            return Freshness(None, None, background=_start_background(clinic_id))
        return Freshness(None, None)
    checked = timezone.now()
    if not _current(last):
        # Made under other definitions or on another clock: rebuilt whole, too long to wait for (the report reads
        # the summary's rows meanwhile, not its cells: ``cells.plan``).
        return Freshness(last, _current_to(last), background=_start_background(clinic_id))
    pending = pending_changes(clinic_id, inline + 1)
    if pending == 0:
        return Freshness(last, max(checked, last.checked_at or last.started_at))
    if pending > inline:
        return Freshness(last, _current_to(last), pending, background=_start_background(clinic_id))
    run = refresh(Clinic.objects.get(pk=clinic_id), wait=False)
    if run is None:  # another refresh of the clinic is running: read what is there
        return Freshness(last, _current_to(last), pending)
    _catch_up_after(clinic_id)
    return Freshness(run, run.started_at)


def _catch_up_after(clinic_id: int) -> None:
    """Add up again the cells a refresh gave differences: in the background (the default), so that the report
    waiting now does not wait for them (it reads the cells as they are, differences included), or at once where the
    settings say so."""
    if getattr(settings, "INSIGHTS_CELLS_CATCH_UP", "background") == "inline":
        catch_up_cells(clinic_id, wait=False)
    else:
        _start_background(clinic_id)


def _current_to(run: SummaryRefresh) -> Any:
    return max(run.started_at, run.checked_at or run.started_at)


def _start_background(clinic_id: int) -> bool:
    """Refresh the clinic and catch its cells up in a thread of this process, unless this process is already
    doing so."""
    with _background_guard:
        if clinic_id in _background:
            return True
        _background.add(clinic_id)
    thread = threading.Thread(target=_refresh_apart, args=(clinic_id,), name=f"summary-refresh-{clinic_id}")
    thread.daemon = True
    thread.start()
    return True


def _refresh_apart(clinic_id: int) -> None:
    try:
        if refresh(Clinic.objects.get(pk=clinic_id), wait=False) is not None:
            catch_up_cells(clinic_id, wait=False)
    except Exception:  # a failed refresh rolls back and leaves the change log as it was; the next read retries
        logger.exception("background summary refresh of clinic %s failed", clinic_id)
    finally:
        connection.close()  # the thread's own connection
        with _background_guard:
            _background.discard(clinic_id)
