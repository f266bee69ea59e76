"""Summary cells: the evidence report's sums kept per month and group, so that a report adds up a few thousand cells
instead of a row per episode and visit (docs/scaling.md, "Analytics at 100 million visits").

The refresh (``summaries.refresh``) adds the cells up with the report's own queries (``queries.py``), grouped by
everything a report filters or breaks its figures down by: the month an episode opened (or a visit was given),
its condition, clinician and imported cohort, and the needled flag. A report then reads the cells of the whole
months its date range covers and the rows of the rest (the months cut by the range, the current month), and adds
the two (``queries.CellPlan``), so both give the same figures as reading every row.

Two things keep the sums exact when added across cells:

- the intervals' sums by patient (``queries._clustered_columns``) add up only over separate patients, so an
  episode enters the cells only when its patient has no other episode in the clinic (``EpisodeSummary.in_cells``);
  the episodes of patients with several are read row by row, as before;
- the responder rule, the relief bounds and the MDCs are part of a cell's sums, so the cells are kept for the
  report's default rule only, and ``definitions_key`` fingerprints the statements that made them: a change of
  definition makes the next refresh add every cell up again, and until then the report reads the rows.

A report filtered on a muscle or on a technique reads the cells of that muscle or technique
(``SummaryCell.needling``): the refresh adds the same figures up once more with each episode (and needled visit)
counted under every muscle and every technique it was needled with. A report filtered on both reads every row:
cells per pair would multiply the cells for the rarest question.

An incremental refresh keeps every cell current in its own transaction by adding the differences its changed rows
make (``apply_changes``), so a report never waits for cells to be added up again, nor reads a month's rows instead;
the months given differences are added up again afterwards, in the background (``summaries.catch_up_cells``), so
that the cells end as a full refresh leaves them.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from datetime import date
from functools import cache
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import QuerySet
from django.db.models.functions import TruncDate
from django.db.models.sql import Query
from django.utils import timezone

from needlepoint.insights import queries
from needlepoint.insights.claims import RELIEF_PERCENT, RELIEF_POINTS
from needlepoint.insights.filters import ReportFilters, ReportOptions
from needlepoint.insights.models import CELL_VALUES, EpisodeSummary, SummaryCell, SummaryStaleMonth
from needlepoint.insights.months import month_ranges, whole_months
from needlepoint.insights.responders import MissingPolicy

CELLS = SummaryCell._meta.db_table
# The episode cells' groupings, in the order of the cell's columns (``models.SummaryCell``).
EPISODE_GROUPS = ("condition", "clinician", "cohort", "month")
EPISODE_FIGURES = ("measures", *(f"{kind}:{policy.value}" for kind in ("relief", "rom") for policy in MissingPolicy))
VISIT_FIGURES = ("visits", "events")
# The summary tables the visit cells add up: the needled visits, and their adverse events.
VISIT_TABLES = (queries.SUMMARY_VISITS, queries.SUMMARY_EVENTS)


# ---------------------------------------------------------------------------------------------------- reading


def plan(filters: ReportFilters, options: ReportOptions, as_of: date, cells_key: str) -> queries.CellPlan | None:
    """The cells a report may add to its rows (None: read every row): the whole months inside its date range, for a
    report whose filters and rule the cells were kept for, from cells of the current definitions. The cells of
    every month are current: an incremental refresh adds its differences to them in its transaction
    (``stage_episodes``, ``stage_visits``, ``apply_changes``)."""
    needling = needling_key(filters)
    if needling is None or options.rule != ReportOptions().rule or cells_key != definitions_key():
        return None
    if needling and options.missing not in KEYED_POLICIES:
        return None
    # An episode is counted when opened by the end of ``as_of``; a visit has no such bound (``filters.py``).
    opened_by = min(filters.date_to, as_of) if filters.date_to else as_of
    return queries.CellPlan(
        episode_months=whole_months(filters.date_from, opened_by),
        visit_months=whole_months(filters.date_from, filters.date_to),
        needling=needling,
    )


def needling_key(filters: ReportFilters) -> str | None:
    """The cells' needling key for the report's muscle or technique filter (``SummaryCell.needling``): '' without
    either, ``m:<muscle>`` or ``t:<technique>``; None for both at once, which no cell is kept for."""
    if filters.muscle and filters.technique:
        return None
    if filters.muscle:
        return f"m:{filters.muscle}"
    return f"t:{filters.technique}" if filters.technique else ""


# ---------------------------------------------------------------------------------------------------- building


def definitions_key() -> str:
    """A fingerprint of the statements that add the cells up (rules, bounds, MDCs and layout included) and of the
    months they group by (the clinic's clock, ``month_sql``)."""
    return _definitions_key(connection.vendor, timezone.get_current_timezone_name())


@cache
def _definitions_key(vendor: str, zone: str) -> str:
    scope = queries.Scope(ReportFilters(clinic_id=0), date(2000, 1, 1), summary=True, one_episode_per_patient=True)
    statements = [*_episode_statements(scope, EPISODE_GROUPS), *_episode_statements(scope, KEYED_EPISODE_GROUPS)]
    text = "\n".join(f"{sql} {params!r}" for _, sql, params in statements)
    text += "".join(visit_sql("", keyed) for visit_sql in (_visit_sql, _events_sql) for keyed in (False, True))
    text += _visit_keys_sql("")
    text += queries.episode_needling_keys_sql("") + month_sql("x")
    return hashlib.sha256(f"{vendor}\n{zone}\n{text}".encode()).hexdigest()


def day_sql(column: str) -> str:
    """SQL: the day of the timestamp ``column`` on the clinic's clock (the active time zone), by the expression the
    live report uses (Django's ``TruncDate``: on SQLite, which has no time zones, the function Django registers on
    every connection), with the zone's name written into the statement."""
    query = Query(EpisodeSummary)
    compiler = query.get_compiler(connection=connection)
    sql, params = TruncDate("opened_at").resolve_expression(query).as_sql(compiler, connection)
    opened_at = f"{connection.ops.quote_name(queries.SUMMARY_EPISODES)}.{connection.ops.quote_name('opened_at')}"
    if sql.count(opened_at) != 1 or not all(re.fullmatch(r"[A-Za-z0-9_+\-/]+", str(value)) for value in params):
        raise ValueError(f"Unexpected SQL for the clinic's day: {sql} {params}")
    return sql.replace(opened_at, column) % tuple(f"'{value}'" for value in params)


def month_sql(column: str) -> str:
    """SQL: the year and month of the timestamp ``column`` on the clinic's clock, as 202606 (``day_sql``'s day), so
    that a report's whole months are the clinic's calendar months (``filters.day_start``)."""
    if connection.vendor == "postgresql":
        return f"CAST(TO_CHAR({day_sql(column)}, 'YYYYMM') AS integer)"
    return f"CAST(strftime('%%Y%%m', {day_sql(column)}) AS integer)"


def rebuild(
    cursor: Any,
    clinic_id: int,
    episode_months: Collection[int] | None = None,
    visit_months: Collection[int] | None = None,
) -> int:
    """Delete and add up again the clinic's cells: every month (both None), or the episode cells of
    ``episode_months`` and the visit cells of ``visit_months``. Runs inside the refresh's transaction; returns
    the cells written."""
    every = episode_months is None and visit_months is None
    written = 0
    # The cells by muscle and technique group millions of rows at a million visits: in memory, not on disk (the
    # setting INSIGHTS_CELL_WORK_MEM; a hash may take twice it; one refresh or catch-up runs at a time per clinic).
    memory = settings.INSIGHTS_CELL_WORK_MEM
    queries.for_aggregates(cursor, memory=memory)
    if every:
        SummaryStaleMonth.objects.filter(clinic_id=clinic_id).delete()
    if every or episode_months:
        _delete(cursor, clinic_id, EPISODE_FIGURES, episode_months)
        rows = EpisodeSummary.objects.filter(clinic_id=clinic_id, in_cells=True)
        if not every:
            rows = rows.filter(opened_month__in=sorted(episode_months or ()))
        written += _add_up_episodes(cursor, clinic_id, rows, memory=memory)
    if every or visit_months:
        _delete(cursor, clinic_id, VISIT_FIGURES, visit_months)
        only, given = "", []
        if not every:  # the visits given in those months, as ranges of the index by clinic and time
            ranges = month_ranges(visit_months or (), timezone.get_current_timezone())
            only = " AND (" + " OR ".join("(v.started_at >= %s AND v.started_at < %s)" for _ in ranges) + ")"
            # Adapted as the ORM stores them (on SQLite, UTC text without an offset), so that text compares as time.
            given = [connection.ops.adapt_datetimefield_value(moment) for span in ranges for moment in span]
        written += _add_up_visits(cursor, clinic_id, only, tuple(given))
    return written


def mark_stale(cursor: Any, clinic_id: int, episode_months: Collection[int], visit_months: Collection[int]) -> None:
    """Note the months whose cells hold an incremental refresh's differences (inside the refresh's transaction), for
    ``summaries.catch_up_cells`` to add up again as a full refresh would; reports read them as they are."""
    known = set(SummaryStaleMonth.objects.filter(clinic_id=clinic_id).values_list("kind", "month"))
    wanted = {("episodes", month) for month in episode_months} | {("visits", month) for month in visit_months}
    SummaryStaleMonth.objects.bulk_create(
        SummaryStaleMonth(clinic_id=clinic_id, kind=kind, month=month) for kind, month in sorted(wanted - known)
    )


# ---------------------------------------------------------------------------------------------------- changes
# An incremental refresh keeps every cell current in its own transaction: it stages the cells of the rows it is
# about to replace with weight -1 (``stage_episodes``, ``stage_visits`` before the rows are deleted), the cells of
# the rows it wrote with weight +1, and adds the two to the cells as one row per group whose sums changed
# (``apply_changes``). Every figure of a cell is a count or a sum, so a group's figures are the sums of its rows;
# a group whose count falls to nothing is left out where the cells are read (``queries._cell_rows``).

CHANGES = "np_cell_changes"
_CHANGE_KEYS = (
    "clinic_id", "figure", "month", "condition", "clinician_id", "cohort_label", "needled", "needling", "k1", "k2",
    "k3",
)  # fmt: skip
_CHANGE_SUMS = tuple(f"v{index}" for index in range(1, CELL_VALUES + 1))


def start_changes(cursor: Any) -> None:
    """An empty temporary table for the differences an incremental refresh stages (the cells' columns, and the
    weight, +1 or -1, of each row)."""
    cursor.execute(f"DROP TABLE IF EXISTS {CHANGES}")
    sums = ", ".join(f"{name} double precision" for name in _CHANGE_SUMS)
    cursor.execute(
        f"""CREATE TEMPORARY TABLE {CHANGES} (
            weight integer NOT NULL, clinic_id bigint NOT NULL, figure varchar(24) NOT NULL, month integer,
            condition varchar(40), clinician_id bigint, cohort_label varchar(100),
            needled smallint NOT NULL DEFAULT 0, needling varchar(120) NOT NULL DEFAULT '',
            k1 varchar(200) NOT NULL DEFAULT '', k2 varchar(40) NOT NULL DEFAULT '',
            k3 varchar(40) NOT NULL DEFAULT '', {sums})"""
    )


def stage_episodes(cursor: Any, clinic_id: int, rows: QuerySet[EpisodeSummary], weight: int) -> None:
    """Stage the episode cells of the summarised episodes ``rows`` (those the cells add up), with ``weight``."""
    _add_up_episodes(cursor, clinic_id, rows, weight=weight)


def stage_visits(
    cursor: Any, clinic_id: int, episodes_sql: str, weight: int, tables: tuple[str, str] = VISIT_TABLES
) -> None:
    """Stage the visit cells of the summarised visits of the episodes ``episodes_sql`` (a SELECT of ids), read from
    ``tables`` (the visits' and their events', or copies of them), with ``weight``."""
    _add_up_visits(cursor, clinic_id, f" AND v.episode_id IN ({episodes_sql})", (), weight=weight, tables=tables)


def apply_changes(cursor: Any, clinic_id: int) -> tuple[set[int], set[int]]:
    """Add the staged differences to the clinic's cells, one row per group whose sums changed, and drop the staging
    table; returns the months (of episode cells, of visit cells) that got a row."""
    keys = ", ".join(_CHANGE_KEYS)
    sums = [f"SUM(weight * {name})" for name in _CHANGE_SUMS]
    changed = " OR ".join(f"{total} <> 0" for total in sums)
    # The staging table has no statistics: PostgreSQL would guess a few rows and sort the tens of thousands of
    # groups (a third of a second at a million visits); hashed in memory, they take a tenth of that.
    with _grouped_by_hashing(cursor):
        cursor.execute(
            f"INSERT INTO {CELLS} ({keys}, {', '.join(_CHANGE_SUMS)})"
            f" SELECT {keys}, {', '.join(sums)} FROM {CHANGES} WHERE clinic_id = %s GROUP BY {keys} HAVING {changed}"
            " RETURNING figure, month",
            [clinic_id],
        )
        written = cursor.fetchall()
    episode_months: set[int] = set()
    visit_months: set[int] = set()
    for figure, month in written:
        (visit_months if figure in VISIT_FIGURES else episode_months).add(month)
    cursor.execute(f"DROP TABLE {CHANGES}")
    return episode_months, visit_months


def _delete(cursor: Any, clinic_id: int, figures: tuple[str, ...], months: Collection[int] | None) -> None:
    marks = ", ".join(["%s"] * len(figures))
    sql = f"DELETE FROM {CELLS} WHERE clinic_id = %s AND figure IN ({marks})"
    params: list[Any] = [clinic_id, *figures]
    if months is not None:
        sql += f" AND month IN ({', '.join(['%s'] * len(months))})"
        params += sorted(months)
    cursor.execute(sql, params)


KEYED_EPISODE_GROUPS = (*EPISODE_GROUPS, "needling")
# The missing follow-up policies the cells by muscle and technique are kept for (``plan`` and ``rebuild``): the
# default only, as they are the refresh's largest part and the other policy is a rarer question.
KEYED_POLICIES = (ReportOptions().missing,)
# The visit cells' groupings, in the order their statements return them (``_visit_sql``, ``_events_sql``).
VISIT_GROUPS = ("clinician", "condition", "cohort", "month")
KEYED_VISIT_GROUPS = (*VISIT_GROUPS, "needling")


def _episode_statements(scope: queries.Scope, groups: tuple[str, ...]) -> list[tuple[str, str, tuple[Any, ...]]]:
    """(figure, SQL, parameters) of each episode figure the cells keep, grouped by ``groups`` (by needling key:
    for ``KEYED_POLICIES`` only)."""
    codes = tuple(defn.code for defn in queries.report_instruments())
    sql, params, _ = queries.measure_sql(scope, ReportOptions().rule, groups, codes)
    statements = [("measures", sql, params)]
    for policy in KEYED_POLICIES if "needling" in groups else MissingPolicy:
        sql, params = queries.relief_sql(scope, policy, groups, points=RELIEF_POINTS, percent=RELIEF_PERCENT)
        statements.append((f"relief:{policy.value}", sql, params))
        sql, params = queries.rom_sql(scope, policy, groups)
        statements.append((f"rom:{policy.value}", sql, params))
    return statements


def _add_up_episodes(
    cursor: Any,
    clinic_id: int,
    rows: QuerySet[EpisodeSummary],
    *,
    weight: int | None = None,
    memory: str = queries.AGGREGATE_MEMORY,
) -> int:
    """Add up the episode cells of the summarised episodes ``rows``: into the cells, or with ``weight`` into the
    staged changes (``CHANGES``); returns the rows written."""
    filters, today = ReportFilters(clinic_id=clinic_id), timezone.localdate()
    written = 0
    for groups, by_needling in ((EPISODE_GROUPS, False), (KEYED_EPISODE_GROUPS, True)):
        with queries.summary_scope(rows, filters, today, by_needling=by_needling, memory=memory) as scope:
            for figure, sql, params in _episode_statements(scope, groups):
                written += _insert(cursor, clinic_id, figure, groups, sql, params, weight=weight)
    return written


def _add_up_visits(
    cursor: Any,
    clinic_id: int,
    only: str,
    given: tuple[Any, ...],
    *,
    weight: int | None = None,
    tables: tuple[str, str] = VISIT_TABLES,
) -> int:
    """Add up the visit cells of the clinic's summarised visits ``v`` that ``only`` (SQL after a WHERE, with the
    parameters ``given``) keeps, from ``tables`` (of the visits and of their events, or copies of them): into the
    cells, or with ``weight`` into the staged changes; returns the rows written."""
    visits, events = tables
    params = (clinic_id, *given)
    written = 0
    for figure, sql in (("visits", _visit_sql(only, table=visits)), ("events", _events_sql(only, table=events))):
        written += _insert(cursor, clinic_id, figure, VISIT_GROUPS, sql, params, weight=weight)
    cursor.execute(f"DROP TABLE IF EXISTS {VISIT_KEYS}")
    cursor.execute(f"CREATE TEMPORARY TABLE {VISIT_KEYS} AS {_visit_keys_sql(only, visits)}", params)
    try:
        cursor.execute(f"ANALYZE {VISIT_KEYS}")
        for figure, sql in (("visits", _visit_sql(only, True, visits)), ("events", _events_sql(only, True, events))):
            written += _insert(cursor, clinic_id, figure, KEYED_VISIT_GROUPS, sql, params, weight=weight)
    finally:
        cursor.execute(f"DROP TABLE IF EXISTS {VISIT_KEYS}")
    return written


def _insert(
    cursor: Any,
    clinic_id: int,
    figure: str,
    groups: tuple[str, ...],
    sql: str,
    params: tuple[Any, ...],
    *,
    weight: int | None = None,
) -> int:
    """Store the rows of a figure's statement, grouped by ``groups`` (then, for episode figures, the needled flag),
    as cells, or with ``weight`` as staged changes (``CHANGES``); returns how many."""
    keys, values = queries.cell_layout(figure)
    needled = [] if figure in VISIT_FIGURES else ["needled"]
    columns = [*(queries.CELL_COLUMNS[name] for name in groups), *needled, *("k1", "k2", "k3")[:keys]]
    columns += [f"v{index}" for index in range(1, values + 1)]
    given: dict[str, Any] = {} if weight is None else {"weight": weight}
    given |= {"clinic_id": clinic_id, "figure": figure}
    # PostgreSQL guesses the groups by needling key as the product of the columns' (millions, where there are a
    # few hundred thousand) and would sort them on disk; hashing them took half the time at a million visits.
    with _grouped_by_hashing(cursor, "needling" in groups):
        cursor.execute(
            f"INSERT INTO {CELLS if weight is None else CHANGES} ({', '.join([*given, *columns])})"
            f" SELECT {', '.join(['%s'] * len(given))}, x.* FROM ({sql}) x",
            (*given.values(), *params),
        )
        written = queries.rows_written(cursor)
    return written


@contextmanager
def _grouped_by_hashing(cursor: Any, wanted: bool = True) -> Iterator[None]:
    """Where ``wanted``, on PostgreSQL: the statements inside group their rows by hashing them in memory, not by
    sorting them (``enable_sort`` off for the transaction, set back after; a failure rolls the setting back)."""
    hashed = wanted and connection.vendor == "postgresql"
    if hashed:
        cursor.execute("SET LOCAL enable_sort = off")
    yield
    if hashed:
        cursor.execute("SET LOCAL enable_sort TO DEFAULT")


def _visit_sql(only: str, keyed: bool = False, table: str = queries.SUMMARY_VISITS) -> str:
    """Needled visits per clinician, condition, cohort, month and set of techniques: ``queries.visit_breakdowns``'
    figures (the relief bound is the NPRS's MCID, as the report's). ``keyed``: per muscle and per technique needled
    too (``SummaryCell.needling``); in a muscle's cells the set of techniques is those used on the muscle, as the
    report's muscle filter counts them."""
    techniques = "k.needling_key, COALESCE(k.techniques, v.techniques)" if keyed else "v.techniques"
    groups = f"v.clinician_id, v.condition, v.cohort_label, v.month, {techniques}"
    figures = queries.summary_visit_figures_sql(queries.session_relief_points())
    return _by_visit(table, groups, figures, only, keyed)


VISIT_KEYS = "insights_cell_visit_keys"


def _visit_keys_sql(only: str, table: str = queries.SUMMARY_VISITS) -> str:
    """SQL: (visit_id, needling_key, techniques) for each muscle in the needling pairs of the clinic's summarised
    visits (or of ``only``'s months): ``m:<muscle>`` with the techniques used on it; and each technique:
    ``t:<technique>``, techniques NULL (the visit's own). Parameters: the clinic and ``only``'s."""
    visits = f"(SELECT v.visit_id, v.needling FROM {table} v WHERE v.clinic_id = %s{only})"
    pairs = queries.needling_pairs_sql(visits, "visit_id")
    # The same visits twice would need their parameters twice: the pairs are read once, as a CTE.
    return f"""
        WITH x AS ({pairs})
        SELECT x.id AS visit_id, 'm:' || x.muscle AS needling_key, {queries.distinct_set_sql("x.technique")}
               AS techniques
        FROM x GROUP BY x.id, x.muscle
        UNION ALL
        SELECT DISTINCT x.id, 't:' || x.technique, NULL FROM x
    """


def _events_sql(only: str, keyed: bool = False, table: str = queries.SUMMARY_EVENTS) -> str:
    """Adverse events per clinician, condition, cohort, month of the visit, type and severity (``keyed``: per
    muscle and per technique needled at the visit too)."""
    key = "k.needling_key, " if keyed else ""
    groups = f"v.clinician_id, v.condition, v.cohort_label, v.month, {key}v.event_type, v.severity"
    return _by_visit(table, groups, "SUM(v.events)", only, keyed)


def _by_visit(table: str, groups: str, figures: str, only: str, keyed: bool) -> str:
    """SQL: ``figures`` per ``groups`` over the clinic's rows ``v`` of a visit summary ``table`` (of ``only``'s
    months), joined to the visits' needling keys (``VISIT_KEYS``) when ``keyed``."""
    join = f" JOIN {VISIT_KEYS} k ON k.visit_id = v.visit_id" if keyed else ""
    return f"""
        SELECT {groups}, {figures}
        FROM {table} v{join} WHERE v.clinic_id = %s{only}
        GROUP BY {groups}
    """
