"""The evidence report's aggregations, run inside the database.

The ORM builds the filtered episode and visit sets (``filters.py``); the per-episode steps that need window
functions (an episode's first baseline and last follow-up, its first two visits, its first and last range of
motion) are plain SQL that SQLite and PostgreSQL both run, wrapped around the ORM's own SQL for the episode set.
Every query returns a few rows per group (COUNT, SUM, SUM of squares), never one row per episode or visit, so the
memory the report needs does not grow with the data. Each big table is read once per report: a query groups by
everything the report breaks its figures down by, and the report adds the groups up.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Context, Decimal
from functools import cache
from typing import Any

from django.db import connection, transaction
from django.db.models import (
    Case,
    Count,
    DateField,
    DurationField,
    ExpressionWrapper,
    F,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from needlepoint.insights.claims import RELIEF_POINTS
from needlepoint.insights.filters import ReportFilters, day_start, episodes, needled_visits, needling_entries
from needlepoint.insights.models import SummaryCell
from needlepoint.insights.months import NO_EARLIER, NO_LATER, MonthRange, month_start, next_month
from needlepoint.insights.responders import MissingPolicy, ResponderRule, responder_conditions
from needlepoint.insights.stats import ClusteredSums
from needlepoint.outcomes.rom import movements, rom_change
from needlepoint.outcomes.scoring import Instrument, instrument, instruments
from needlepoint.visits.models import AdverseEvent, Technique

PAIN_INSTRUMENT = "NPRS"
# What a report can break its episode figures down by, as columns of the episode set ``ep``.
GROUPINGS = {
    "condition": "ep.condition",
    "clinician": "ep.opened_by_id",
    "cohort": "ep.cohort_label",
    "month": "ep.month",  # the summary's month opened (the cells' grouping, ``cells.py``)
    "needling": "ep.needling_key",  # a muscle or technique the episode was needled with (``summary_scope``)
}
# The summary cells' column for each grouping (``models.SummaryCell``).
CELL_COLUMNS = {
    "condition": "condition",
    "clinician": "clinician_id",
    "cohort": "cohort_label",
    "month": "month",
    "needling": "needling",
}
# Float measures (0.1-point steps) may land a hair off a threshold; a fall equal to it must count.
TOLERANCE = 1e-9


@dataclass(frozen=True)
class MeasureSums:
    """Aggregates of one measure in one group: baseline over all with a baseline, the rest over completers.

    ``completers`` have a baseline and a later value; ``responders`` is None when the rule cannot judge the
    measure (e.g. no MCID, or a final-at-most rule on a measure where higher is better).
    """

    group: tuple[Any, ...]
    needled: bool
    instrument: str
    with_baseline: int
    baseline_sum: float
    baseline_sum_sq: float
    completers: int
    final_sum: float
    final_sum_sq: float
    change_sum: float
    change_sum_sq: float
    responders: int | None


@dataclass(frozen=True)
class PainPoint:
    """Relief at one time point in one group: episodes whose pain there is known, and the responders' sums.

    ``clustered`` are the sums of the 0/1 responder value by patient, over the denominator the missing follow-up
    policy uses (every episode with a baseline, or only those with the time point's pain known).
    """

    known: int
    relieved: int
    clustered: ClusteredSums


@dataclass(frozen=True)
class ReliefCounts:
    """Relief in one group: pain before visit 1 (baseline) against the end of visit 1 (immediate, clinician-
    recorded), before visit 2 and before visit 3 (the days after one and two treatments)."""

    group: tuple[Any, ...]
    needled: bool
    episodes: int
    with_baseline: int
    immediate: PainPoint
    before_visit_2: PainPoint
    before_visit_3: PainPoint


@dataclass(frozen=True)
class RomSums:
    """Range-of-motion gain of one movement (by one method) in one group, one value per episode.

    ``gain``, ``percent_gain`` and ``beyond`` are sums by patient (for intervals that allow for patients with
    several episodes); ``beyond`` counts gains of at least the MDC over the policy's denominator, and is None
    where no MDC is sourced.
    """

    group: tuple[Any, ...]
    needled: bool
    joint: str
    movement: str
    method: str
    episodes: int
    patients: int
    completers: int
    gain: ClusteredSums
    percent_gain: ClusteredSums
    beyond: ClusteredSums | None
    mdc: float | None

    @property
    def beyond_mdc(self) -> int | None:
        """Episodes whose gain reached the MDC (None when no MDC is sourced)."""
        return None if self.beyond is None else int(self.beyond.total)


@dataclass(frozen=True)
class SurvivalRow:
    """Episodes of one group with the same time in care (days) and outcome (discharged with goals met or not)."""

    group: tuple[Any, ...]
    needled: bool
    days: int
    goals_met: bool
    count: int


@dataclass(frozen=True)
class VisitEvents:
    """Needled visits of one clinician or technique, their adverse events by severity, and in-session relief."""

    key: Any
    visits: int
    mild: int
    significant: int
    serious: int
    pain_measured: int
    relieved: int


@dataclass(frozen=True)
class EventCount:
    """Adverse events of one type and severity on the needled visits the report covers."""

    event_type: str
    severity: str
    count: int


# ---------------------------------------------------------------------------------------------------- plumbing


def _carried(by: Sequence[str]) -> tuple[str, str]:
    """(columns to carry from the scope table ``ep``, their names) for grouping plus the needled flag."""
    columns = [f"{GROUPINGS[name]} AS g{index}" for index, name in enumerate(by)]
    columns.append("CASE WHEN ep.needled THEN 1 ELSE 0 END AS needled")
    names = [f"g{index}" for index in range(len(by))] + ["needled"]
    return ", ".join(columns), ", ".join(names)


SCOPE_TABLE = "insights_report_scope"
AGGREGATE_MEMORY = "64MB"  # PostgreSQL's work_mem for the report's aggregates (``for_aggregates``)


def for_aggregates(cursor: Any, memory: str = AGGREGATE_MEMORY) -> None:
    """On PostgreSQL, for the rest of the transaction: no JIT compilation (it costs more than it saves on these
    one-off aggregates) and more sort memory (``memory`` per sort or hash). For the report's scope, the refresh
    and the clinician comparison."""
    if connection.vendor == "postgresql":
        cursor.execute("SET LOCAL jit = off")
        cursor.execute(f"SET LOCAL work_mem = '{memory}'")


@contextmanager
def unprepared() -> Iterator[None]:
    """The statements inside run unprepared (PostgreSQL; the settings have psycopg prepare a page's statements).

    The report's scope, the refresh and the comparison drop temporary tables and make them again, in another
    shape for other filters: a statement prepared on the old shape would fail ("cached plan must not change
    result type"). And their one-off aggregates want a plan made for their own parameters."""
    if connection.vendor != "postgresql":
        yield
        return
    # The connection this block's statements will run on: a dead one is replaced first, as a cursor would.
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    driver = connection.connection
    before = driver.prepare_threshold
    driver.prepare_threshold = None
    try:
        yield
    finally:
        driver.prepare_threshold = before


def rows_written(cursor: Any) -> int:
    """Rows the last INSERT wrote (Python's sqlite3 reports no row count for a statement opening with WITH)."""
    if connection.vendor == "sqlite":
        cursor.execute("SELECT changes()")
        return int(cursor.fetchone()[0])
    return max(int(cursor.rowcount), 0)


def session_relief_points() -> float:
    """The fall in pain over one session that counts as relief in the visit figures: the NPRS's MCID from its
    data file, else the report's relief points."""
    pain = instrument(PAIN_INSTRUMENT)
    return float(pain.mcid.value) if pain.mcid else RELIEF_POINTS


@dataclass(frozen=True)
class CellPlan:
    """The summary cells a report adds to its scope's rows: the episode cells of the whole months
    ``episode_months`` and the visit cells of ``visit_months`` (None: no whole month). The scope then holds only
    the episodes the cells leave out (``report_scope``), and the visit queries only the visits of other months,
    so that every episode and visit is counted once."""

    episode_months: MonthRange | None
    visit_months: MonthRange | None
    # The cells' needling key (``SummaryCell.needling``): '' for every episode, else the muscle or technique
    # filtered on (``cells.needling_key``).
    needling: str = ""


@dataclass(frozen=True)
class Scope:
    """One report's filtered episodes, stored once in a temporary table that every episode query joins."""

    filters: ReportFilters
    as_of: date
    table: str = SCOPE_TABLE
    summary: bool = False  # read the per-episode summary tables (``summaries.py``) instead of the records
    # Each patient has at most one episode in the scope (most clinics' usual case; in a scope by needling key,
    # one per key): the per-patient step of the clustered sums is then the episodes themselves, added up without
    # sorting them by patient.
    one_episode_per_patient: bool = False
    cells: CellPlan | None = None
    # With cells: every filtered episode (the scope table holds those the cells leave out), for the figures
    # the cells do not keep (episode counts and times in care), as SQL and its parameters.
    every_episode: tuple[str, tuple[Any, ...]] | None = None

    def episode_source(self) -> tuple[str, tuple[Any, ...]]:
        """(SQL, parameters) of every episode the report covers, to follow FROM, aliased ``ep``."""
        if self.every_episode is None:
            return f"{self.table} ep", ()
        sql, params = self.every_episode
        return f"({sql}) ep", params


@contextmanager
def report_scope(
    filters: ReportFilters,
    as_of: date,
    *,
    summary: bool = False,
    cells: CellPlan | None = None,
    days_kept: bool = False,
) -> Iterator[Scope]:
    """Store the filtered episode set in a temporary table for the length of one report, then drop it.

    Columns: id, patient_id, condition, side, opened_by_id, cohort_label (NULL unless imported), needled
    (needles inserted at the first visit: the cohort is fixed at baseline), days (time in care up to its
    discharge or ``as_of``) and goals_met; from the summary also visits and the first visits' pain (base,
    after_1, before_2, before_3). Computing the set once, with fresh statistics, spares every
    later query the same filtering and gives the database an exact row count to plan with. On PostgreSQL the
    report also runs with more sort memory and without JIT compilation, which costs more than it saves here.

    With ``cells`` (summary only), the table leaves out the episodes the summary cells of its whole months add
    up; the scope still names every episode for the figures the cells do not keep (``Scope.every_episode``).
    With ``days_kept`` (summary only: the refresh read the days opened on the report's clock) the times in care
    count from the day each summary row keeps, else from its time opened on the report's clock.
    """
    if summary:
        from needlepoint.insights.summaries import summary_episodes

        everything = summary_episodes(filters).filter(opened_at__lt=day_start(as_of + timedelta(days=1)))
        every_episode = None
        if cells is not None and cells.episode_months is not None:
            every_episode = _summary_select(everything, as_of, days_kept)
            first, last = cells.episode_months
            everything = everything.exclude(in_cells=True, opened_month__gte=first, opened_month__lte=last)
        select_sql, params = _summary_select(everything, as_of, days_kept)
        with _stored_scope(select_sql, params) as single:
            yield Scope(
                filters,
                as_of,
                summary=True,
                one_episode_per_patient=single,
                cells=cells,
                every_episode=every_episode,
            )
        return
    queryset = episodes(filters).filter(opened_at__lt=day_start(as_of + timedelta(days=1)))
    queryset = queryset.annotate(
        cohort_label=F("cohort__label"),
        days=_days_in_care(as_of),
        goals_met=Case(When(status="discharged", discharge_reason="goals_met", then=1), default=0),
    )
    columns = ("id", "patient_id", "condition", "side", "opened_by_id", "cohort_label", "needled", "days", "goals_met")
    select_sql, params = queryset.values(*columns).query.sql_with_params()
    with _stored_scope(select_sql, tuple(params)) as single:
        yield Scope(filters, as_of, one_episode_per_patient=single)


@contextmanager
def summary_scope(
    rows: QuerySet[Any, Any],
    filters: ReportFilters,
    as_of: date,
    *,
    by_needling: bool = False,
    memory: str = AGGREGATE_MEMORY,
) -> Iterator[Scope]:
    """A scope of the summarised episodes ``rows`` (a queryset of ``EpisodeSummary``), for the refresh that adds
    up the summary cells with the report's own queries (``cells.py``).

    With ``by_needling`` the scope holds an episode once per muscle and once per technique it was needled with
    (a needling entry at any of its visits, as the report's filters find them), named in the column
    ``needling_key`` (``m:<muscle>``, ``t:<technique>``; ``episode_needling_keys_sql``), so that the queries
    grouped by ``needling`` give each muscle's and technique's figures in one pass. Its episodes then repeat,
    so the per-patient step groups by patient and key, unless each patient has one episode (the cells' case).
    ``memory``: PostgreSQL's memory per sort or hash for the scope's queries (``for_aggregates``)."""
    select_sql, params = _summary_select(rows, as_of, days_kept=False)
    patient = "patient_id"
    if by_needling:
        pairs_sql, pairs_params = rows.values("episode_id", "needling").query.sql_with_params()
        keys_sql = episode_needling_keys_sql(f"({pairs_sql})")
        select_sql = f"SELECT s.*, k.needling_key FROM ({select_sql}) s JOIN ({keys_sql}) k ON k.episode_id = s.id"
        params = (*params, *pairs_params)
        patient = "patient_id, needling_key"  # every query of the scope groups by the key (``GROUPINGS``)
    with _stored_scope(select_sql, params, patient=patient, memory=memory) as single:
        yield Scope(filters, as_of, summary=True, one_episode_per_patient=single)


def distinct_set_sql(expression: str) -> str:
    """SQL: the distinct values of ``expression`` over a group, as ``,a,b,`` (the summary's sets of techniques and
    of needling pairs, and the cells' techniques used on a muscle)."""
    if connection.vendor == "postgresql":
        return f"',' || STRING_AGG(DISTINCT {expression}, ',' ORDER BY {expression}) || ','"
    return f"',' || GROUP_CONCAT(DISTINCT {expression}) || ','"


def needling_pairs_sql(rows: str, id_column: str) -> str:
    """SQL: (id, muscle, technique) for each pair in the ``needling`` column (``,muscle/technique,...,``, as the
    refresh writes it) of the summary rows ``rows`` (a table, or a SELECT in parentheses), whose id is
    ``id_column``. The pairs are read from the summary, not from the needling entries, so that the cells by
    muscle and technique find the same episodes and visits as the report's filters on that column."""
    if connection.vendor == "postgresql":
        return f"""SELECT r.{id_column} AS id, SPLIT_PART(p.pair, '/', 1) AS muscle,
                   SPLIT_PART(p.pair, '/', 2) AS technique
            FROM {rows} r CROSS JOIN LATERAL UNNEST(STRING_TO_ARRAY(TRIM(BOTH ',' FROM r.needling), ',')) AS p(pair)
            WHERE r.needling <> ''"""
    # SQLite has no array to unnest: the pairs become a JSON array. A muscle id outside the catalogue may hold a
    # quote or a backslash (the records keep what was entered), so both are escaped first.
    escaped = "REPLACE(REPLACE(TRIM(r.needling, ','), '\\', '\\\\'), '\"', '\\\"')"
    return f"""SELECT r.{id_column} AS id, SUBSTR(p.value, 1, INSTR(p.value, '/') - 1) AS muscle,
                   SUBSTR(p.value, INSTR(p.value, '/') + 1) AS technique
            FROM {rows} r, JSON_EACH('["' || REPLACE({escaped}, ',', '","') || '"]') p
            WHERE r.needling <> ''"""


def episode_needling_keys_sql(rows: str) -> str:
    """SQL: (episode_id, needling_key) for each muscle (``m:<muscle>``) and each technique (``t:<technique>``) in
    the needling pairs of the summarised episodes ``rows`` (a SELECT in parentheses of episode_id and needling)."""
    return (
        f"WITH x AS ({needling_pairs_sql(rows, 'episode_id')})"
        " SELECT DISTINCT x.id AS episode_id, 'm:' || x.muscle AS needling_key FROM x"
        " UNION ALL SELECT DISTINCT x.id, 't:' || x.technique FROM x"
    )


def _days_in_care(as_of: date, opened: Any = None) -> ExpressionWrapper[Any]:
    """Days from the day an episode opened (``opened``, by default the day of ``opened_at`` on the clinic's clock)
    to its discharge, or to ``as_of`` while it is open."""
    ended = Coalesce(F("discharge_date"), Value(as_of, output_field=DateField()))
    return ExpressionWrapper(ended - (opened or TruncDate("opened_at")), output_field=DurationField())


def _summary_select(rows: QuerySet[Any, Any], as_of: date, days_kept: bool) -> tuple[str, tuple[Any, ...]]:
    """SELECT of the scope's columns from summarised episodes (``EpisodeSummary`` rows); ``days_kept``: count the
    times in care from the day opened each row keeps (a subtraction, not a time zone conversion per row)."""
    columns = (
        "episode_id", "patient_id", "condition", "side", "clinician_id", "cohort_label", "needled", "days",
        "goals_met", "visits", "visit1_pain_before", "visit1_pain_after", "visit2_pain_before",
        "visit3_pain_before", "opened_month",
    )  # fmt: skip
    days = _days_in_care(as_of, F("opened_on") if days_kept else None)
    inner_sql, params = rows.annotate(days=days).values(*columns).query.sql_with_params()
    # The first visits' pain comes along, so that the relief figures read the scope alone (no second join).
    select_sql = (
        "SELECT x.episode_id AS id, x.patient_id, x.condition, x.side, x.clinician_id AS opened_by_id, "
        "x.cohort_label, x.needled, x.days, x.goals_met, x.visits, x.visit1_pain_before AS base, "
        "x.visit1_pain_after AS after_1, x.visit2_pain_before AS before_2, x.visit3_pain_before AS before_3, "
        f"x.opened_month AS month FROM ({inner_sql}) x"
    )
    return select_sql, tuple(params)


@contextmanager
def _one_snapshot() -> Iterator[None]:
    """A transaction whose statements all read one snapshot, when the caller has none open (inside a caller's
    transaction, such as the refresh's, the statements are the caller's). PostgreSQL: repeatable read. SQLite (WAL
    mode): a deferred transaction, whose first read fixes the snapshot and which takes no write lock, so that
    writers go on while a report runs (``transaction.atomic`` would begin IMMEDIATE, the settings' mode for writes,
    and hold every writer back)."""
    if connection.in_atomic_block:
        with transaction.atomic():
            yield
        return
    if connection.vendor == "postgresql":
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            yield
        return
    with connection.cursor() as cursor:
        cursor.execute("BEGIN DEFERRED")
        try:
            yield
        except BaseException:
            cursor.execute("ROLLBACK")
            raise
        cursor.execute("COMMIT")


@contextmanager
def _stored_scope(
    select_sql: str, params: Sequence[Any], *, patient: str = "patient_id", memory: str = AGGREGATE_MEMORY
) -> Iterator[bool]:
    """Store ``select_sql`` in the scope's temporary table, then drop it; yields whether it holds at most one
    row per patient (per the columns ``patient``, which name the patient).

    The report's statements read one snapshot of the database (``_one_snapshot``): a refresh that commits while
    the report runs cannot move an episode between the summary cells and the rows after one of them was read,
    counting it twice or not at all."""
    table = connection.ops.quote_name(SCOPE_TABLE)
    postgres = connection.vendor == "postgresql"
    with unprepared(), _one_snapshot(), connection.cursor() as cursor:
        for_aggregates(cursor, memory)
        cursor.execute(f"DROP TABLE IF EXISTS {table}")
        cursor.execute(f"CREATE TEMPORARY TABLE {table} AS {select_sql}", params)
        cursor.execute(f"CREATE INDEX {connection.ops.quote_name(SCOPE_TABLE + '_id')} ON {table} (id)")
        # On PostgreSQL, statistics of the columns the report's queries join and group on only: the others (the
        # pain, the days) are only added up, and sorting each of them for a histogram was a good part of the
        # scope's cost. SQLite takes no column list.
        keys = " (id, patient_id, condition, opened_by_id, cohort_label, needled)" if postgres else ""
        cursor.execute(f"ANALYZE {table}{keys}")
        cursor.execute(
            f"SELECT NOT EXISTS (SELECT 1 FROM {table} GROUP BY {patient} HAVING COUNT(*) > 1)"
            f" AND NOT EXISTS (SELECT 1 FROM {table} WHERE patient_id IS NULL)"
        )
        single = bool(cursor.fetchone()[0])
        try:
            yield single
        finally:
            cursor.execute(f"DROP TABLE IF EXISTS {table}")


# ---------------------------------------------------------------------------------------------------- per episode
#
# The per-episode steps, shared by the live report (``{episodes}`` is the scope table) and by the refresh that
# fills the summary tables (``{episodes}`` is the clinic's episodes), so both paths use the same definitions.

SUMMARY_EPISODES = "insights_episodesummary"
SUMMARY_MEASURES = "insights_episodemeasuresummary"
SUMMARY_ROM = "insights_episoderomsummary"
SUMMARY_VISITS = "insights_visitsummary"
SUMMARY_MOVEMENTS = "insights_episodemovementsummary"
SUMMARY_EVENTS = "insights_visiteventsummary"

EPISODE_MEASURES_SQL = """obs AS (
            SELECT o.episode_id, o.instrument, o.value, o.time_point,
                   FIRST_VALUE(o.value) OVER w AS first_value,
                   FIRST_VALUE(o.time_point) OVER w AS first_time_point,
                   LEAD(o.id) OVER w AS next_id
            FROM outcomes_observation o
            WHERE o.clinic_id = %s AND o.instrument IN ({marks}) AND o.episode_id IN (SELECT id FROM {episodes})
            WINDOW w AS (PARTITION BY o.episode_id, o.instrument ORDER BY o.observed_at, o.id)
        )"""

FIRST_VISITS_SQL = """ranked AS (
            SELECT v.episode_id, v.pain_before, v.pain_after, v.needles_inserted,
                   ROW_NUMBER() OVER (PARTITION BY v.episode_id ORDER BY v.started_at, v.id) AS position
            FROM visits_visit v
            WHERE v.clinic_id = %s AND v.episode_id IN (SELECT id FROM {episodes})
        ),
        firsts AS (
            SELECT episode_id, COUNT(*) AS visits,
                   MAX(CASE WHEN position = 1 THEN pain_before END) AS base,
                   MAX(CASE WHEN position = 1 THEN pain_after END) AS after_1,
                   MAX(CASE WHEN position = 2 THEN pain_before END) AS before_2,
                   MAX(CASE WHEN position = 3 THEN pain_before END) AS before_3,
                   MAX(CASE WHEN position = 1 AND needles_inserted > 0 THEN 1 ELSE 0 END) AS first_needled
            FROM ranked {where}
            GROUP BY episode_id
        )"""

ROM_SERIES_SQL = """ranked AS (
            SELECT r.episode_id, r.joint, r.movement, r.side, r.method, r.degrees, r.percent_of_normal,
                   ROW_NUMBER() OVER (PARTITION BY r.episode_id, r.joint, r.movement, r.side, r.method
                                      ORDER BY r.observed_at, r.id) AS first_position,
                   ROW_NUMBER() OVER (PARTITION BY r.episode_id, r.joint, r.movement, r.side, r.method
                                      ORDER BY r.observed_at DESC, r.id DESC) AS last_position
            FROM outcomes_rommeasurement r
            WHERE r.clinic_id = %s AND r.episode_id IN (SELECT id FROM {episodes})
        ),
        s AS (
            SELECT episode_id, joint, movement, side, method,
                   MAX(CASE WHEN first_position = 1 THEN degrees END) AS first_degrees,
                   MAX(CASE WHEN last_position = 1 AND first_position > 1 THEN degrees END) AS last_degrees,
                   MAX(CASE WHEN first_position = 1 THEN percent_of_normal END) AS first_percent,
                   MAX(CASE WHEN last_position = 1 AND first_position > 1 THEN percent_of_normal END) AS last_percent
            FROM ranked WHERE first_position = 1 OR last_position = 1
            GROUP BY episode_id, joint, movement, side, method
        )"""


# One value per episode, movement and method from the series ``s`` of the episodes ``ep``: the treated side's series
# when the episode names a side and that side was measured, else the mean of the sides measured.
_TREATED = "(CASE WHEN s.side = ep.side THEN 1 ELSE 0 END)"
_GAIN, _PERCENT = "(s.last_degrees - s.first_degrees)", "(s.last_percent - s.first_percent)"
EPISODE_MOVEMENT_VALUES = f"""CASE WHEN MAX({_TREATED}) = 1 THEN AVG(CASE WHEN {_TREATED} = 1 THEN {_GAIN} END)
                        ELSE AVG({_GAIN}) END AS gain,
                   CASE WHEN MAX({_TREATED}) = 1 THEN AVG(CASE WHEN {_TREATED} = 1 THEN {_PERCENT} END)
                        ELSE AVG({_PERCENT}) END AS percent_gain"""


def _run(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows: list[tuple[Any, ...]] = cursor.fetchall()
    return rows


def _with_cells(rows: list[tuple[Any, ...]], cells: list[tuple[Any, ...]], width: int) -> list[tuple[Any, ...]]:
    """``rows`` and the summary cells' rows of the same layout added up by their first ``width`` columns (the
    keys): every other column is a count or a sum, so a group's figures are the sums of its rows'."""
    if not cells:
        return rows
    totals: dict[tuple[Any, ...], list[Any]] = {}
    for row in [*rows, *cells]:
        key = tuple(row[:width])
        found = totals.get(key)
        if found is None:
            totals[key] = list(row[width:])
        else:
            totals[key] = [_plus(left, right) for left, right in zip(found, row[width:], strict=True)]
    return [(*key, *values) for key, values in totals.items()]


def _plus(left: Any, right: Any) -> Any:
    """The sum of two aggregates, either of which may be NULL (no value) or come as a decimal from the database."""
    if left is None or right is None:
        return right if left is None else left
    if isinstance(left, Decimal) != isinstance(right, Decimal):
        return float(left) + float(right)
    return left + right


def cell_layout(figure: str) -> tuple[int, int]:
    """(keys, sums) of a figure's summary cells, in the order its query returns them: ``measures`` (the
    instrument), ``relief:<policy>``, ``rom:<policy>`` (joint, movement, method), ``visits`` (the techniques) and
    ``events`` (type, severity)."""
    return {
        "measures": (1, MEASURE_VALUES),
        "relief": (0, RELIEF_VALUES),
        "rom": (3, ROM_VALUES),
        "visits": (1, VISIT_VALUES),
        "events": (2, 1),
    }[figure.split(":")[0]]


def _cell_rows(scope: Scope, figure: str, by: Sequence[str], *, visits: bool = False) -> list[tuple[Any, ...]]:
    """The summary cells of one figure (``cells.py``) in the layout of the figure's own query: the groupings
    ``by`` (then the needled flag, for episode figures), the figure's keys and the sums of its values
    (``cell_layout``), over the whole months of the scope's cell plan and the report's other filters. Empty
    without a plan."""
    plan = scope.cells
    if plan is None:
        return []
    months = plan.visit_months if visits else plan.episode_months
    if months is None:
        return []
    from needlepoint.insights.summaries import cell_rows

    found = cell_rows(SummaryCell.objects.filter(figure=figure, needling=plan.needling), scope.filters, visits=visits)
    found = found.filter(month__gte=months[0], month__lte=months[1])
    keys, values = cell_layout(figure)
    columns = [CELL_COLUMNS[name] for name in by] + ([] if visits else ["needled"])
    columns += ["k1", "k2", "k3"][:keys]
    sums = {f"s{index}": Sum(f"v{index}") for index in range(1, values + 1)}
    # Every figure's first sum counts the group's episodes, visits or events; an incremental refresh's differences
    # (``cells.apply_changes``) may bring it to nothing, and a group of nothing is no group.
    grouped = found.values(*columns).annotate(**sums).filter(s1__gt=0.5)
    return list(grouped.values_list(*columns, *sums))


def _number(value: Any) -> float:
    return float(value) if value is not None else 0.0


def _count(value: Any) -> int:
    return int(value) if value is not None else 0


@dataclass(frozen=True)
class PatientStep:
    """How the per-patient step of the clustered sums adds up each patient's episodes: grouped by patient, or,
    when the scope holds one episode per patient, row by row. Both give the same sums (a patient's sums are then
    the episode's own values); the second spares the database a sort of every episode by patient."""

    grouped: bool
    # Row by row, PostgreSQL would fold the step into the outer query and work out each value's expression once
    # per sum that uses it; OFFSET 0 keeps the step a subquery of its own, each value worked out once.
    fence: str = ""

    @classmethod
    def of(cls, scope: Scope) -> PatientStep:
        """The step a report's scope needs."""
        fence = "OFFSET 0" if connection.vendor == "postgresql" else ""
        return cls(grouped=not scope.one_episode_per_patient, fence=fence)

    def count(self, expr: str) -> str:
        """How many of the patient's episodes have ``expr`` (not NULL)."""
        return f"COUNT({expr})" if self.grouped else f"CASE WHEN ({expr}) IS NULL THEN 0 ELSE 1 END"

    def total(self, expr: str) -> str:
        """The sum of ``expr`` over the patient's episodes (NULL when none has it)."""
        return f"SUM({expr})" if self.grouped else f"({expr})"

    def episodes(self) -> str:
        """How many episodes the patient has in the scope."""
        return "COUNT(*)" if self.grouped else "1"

    def group_by(self, columns: str) -> str:
        """The GROUP BY clause of the per-patient step (none when it goes row by row)."""
        return f"GROUP BY {columns}" if self.grouped else self.fence


def _clustered_columns(values: dict[str, str], step: PatientStep, indicators: Iterable[str] = ()) -> tuple[str, str]:
    """(per-patient columns, per-group columns) giving ``ClusteredSums`` of each named per-episode value.

    The inner query adds up each patient's episodes (``step``); the outer adds the patients up, so the database
    returns seven numbers per value and group, never one row per episode. A NULL value is outside the
    denominator. The values named in ``indicators`` are 0 or 1, so their sum of squares is their sum: the
    database neither evaluates nor adds up the squares (the same figures with fewer evaluations of the value's
    expression per episode).
    """
    indicators = set(indicators)
    per_patient = ", ".join(
        f"{step.count(expr)} AS {name}_n, {step.total(expr)} AS {name}_s"
        + ("" if name in indicators else f", {step.total(f'({expr}) * ({expr})')} AS {name}_q")
        for name, expr in values.items()
    )
    per_group = ", ".join(
        f"SUM({name}_n), SUM({name}_s), SUM({name}_{'s' if name in indicators else 'q'}), "
        f"SUM(CASE WHEN {name}_n > 0 THEN 1 ELSE 0 END), "
        f"SUM({name}_s * {name}_s), SUM({name}_n * {name}_s), SUM({name}_n * {name}_n)"
        for name in values
    )
    return per_patient, per_group


# A float sum depends, in its last bits, on the order the database added the rows, and the live rows and the
# stored cells add the same values in different orders. Rounded to 1e-9, far below any figure the report prints,
# every path hands the statistics the same sums: a mean that falls on a printed rounding boundary (a total of
# 508.75 over 25 episodes, 20.35) then prints the same whichever path computed it.
SUM_PLACES = Decimal("1e-9")


def _settled(value: Any) -> Any:
    """A float aggregate as a decimal rounded to ``SUM_PLACES``; integers and decimals (exact sums) unchanged."""
    # Enough digits for any sum of squares (the default context's 28 would refuse one beyond 1e19).
    return Decimal(repr(value)).quantize(SUM_PLACES, context=Context(prec=60)) if isinstance(value, float) else value


def _clustered(values: Sequence[Any]) -> ClusteredSums:
    """Seven aggregates from ``_clustered_columns``, kept exact (integers and decimals stay as they are; float
    sums are settled to ``SUM_PLACES``)."""
    n, total, total_sq, clusters, cluster_sq, cross, count_sq = (
        0 if value is None else _settled(value) for value in values
    )
    return ClusteredSums(int(n), total, total_sq, int(clusters), cluster_sq, cross, count_sq)


# ---------------------------------------------------------------------------------------------------- measures


def report_instruments() -> tuple[Instrument, ...]:
    """Instruments whose change from baseline the report can show (not those that rate change themselves)."""
    return tuple(defn for defn in instruments().values() if not defn.rates_change)


def responder_sql(rule: ResponderRule, defn: Instrument, baseline: str = "p.baseline", final: str = "p.final") -> str:
    """The responder rule for one instrument as a SQL condition; raises ValueError if the rule does not fit."""
    # The MCID, raised to the MDC where it lies below it: a change inside measurement error is no response.
    conditions = responder_conditions(rule, defn.responder_points, defn.direction)
    return " AND ".join(f"({condition.as_sql(baseline, final)})" for condition in conditions)


def _responder_case(rule: ResponderRule, codes: Iterable[str]) -> tuple[str, set[str]]:
    """CASE expression counting responders per instrument, and the instruments the rule cannot judge."""
    branches, unfit = [], set()
    for code in codes:
        try:
            condition = responder_sql(rule, instrument(code))
        except ValueError:
            unfit.add(code)
            continue
        branches.append(f"WHEN p.instrument = '{code}' AND {condition} THEN 1")
    if not branches:
        return "0", unfit
    return "CASE " + " ".join(branches) + " ELSE 0 END", unfit


def measure_sums(
    scope: Scope,
    rule: ResponderRule,
    *,
    by: Sequence[str] = ("condition",),
    instrument_codes: Sequence[str] | None = None,
) -> list[MeasureSums]:
    """Baseline, final and change aggregates and responder counts per group, needled flag and instrument.

    An episode's baseline is its first score on the instrument, when that score was taken as a baseline; its
    final value is its last score, when that one was taken later (re-assessment or discharge). One window pass
    in time order finds both. Episodes without a baseline are left out: they cannot be judged.
    """
    codes = tuple(instrument_codes) if instrument_codes else tuple(defn.code for defn in report_instruments())
    sql, params, unfit = measure_sql(scope, rule, by, codes)
    width = len(by)
    rows = _with_cells(_run(sql, params), _cell_rows(scope, "measures", by), width + 2)
    result = []
    for row in rows:
        code = row[width + 1]
        values = row[width + 2 :]
        result.append(
            MeasureSums(
                group=tuple(row[:width]),
                needled=bool(row[width]),
                instrument=code,
                with_baseline=_count(values[0]),
                baseline_sum=_number(values[1]),
                baseline_sum_sq=_number(values[2]),
                completers=_count(values[3]),
                final_sum=_number(values[4]),
                final_sum_sq=_number(values[5]),
                change_sum=_number(values[6]),
                change_sum_sq=_number(values[7]),
                responders=None if code in unfit else _count(values[8]),
            )
        )
    return result


MEASURE_VALUES = 9  # the sums ``measure_aggregate_sql`` returns per group


def measure_sql(
    scope: Scope, rule: ResponderRule, by: Sequence[str], codes: Sequence[str]
) -> tuple[str, tuple[Any, ...], set[str]]:
    """(SQL, parameters, instruments the rule cannot judge) of ``measure_sums`` over the scope's episodes."""
    case, unfit = _responder_case(rule, codes)
    carried, keys = _carried(by)
    marks = ", ".join(["%s"] * len(codes))
    if scope.summary:
        per_episode = f"""
        p AS (
            SELECT {carried}, m.instrument, m.baseline, m.final
            FROM {SUMMARY_MEASURES} m JOIN {scope.table} ep ON ep.id = m.episode_id
            WHERE m.clinic_id = %s AND m.instrument IN ({marks})
        )"""
    else:
        per_episode = f"""
        {EPISODE_MEASURES_SQL.format(marks=marks, episodes=scope.table)},
        p AS (
            SELECT {carried}, obs.instrument,
                   CASE WHEN obs.first_time_point = 'baseline' THEN obs.first_value END AS baseline,
                   CASE WHEN obs.time_point <> 'baseline' THEN obs.value END AS final
            FROM obs JOIN {scope.table} ep ON ep.id = obs.episode_id
            WHERE obs.next_id IS NULL
        )"""
    return measure_aggregate_sql(per_episode, keys, case), (scope.filters.clinic_id, *codes), unfit


def measure_aggregate_sql(per_episode: str, keys: str, case: str) -> str:
    """The measure sums per group (``keys``), needled flag and instrument over the per-episode rows ``p``
    (instrument, baseline, final) that the CTEs ``per_episode`` define; ``case`` counts the responders. One
    statement for the report and the benchmark's floor, so that both add up the same way."""
    return f"""
        WITH {per_episode}
        SELECT {keys}, p.instrument,
               COUNT(*), SUM(p.baseline), SUM(p.baseline * p.baseline),
               COUNT(p.final), SUM(p.final), SUM(p.final * p.final),
               SUM(p.final - p.baseline), SUM((p.final - p.baseline) * (p.final - p.baseline)),
               SUM({case})
        FROM p
        WHERE p.baseline IS NOT NULL
        GROUP BY {keys}, p.instrument
    """


# ---------------------------------------------------------------------------------------------------- relief


RELIEF_TIME_POINTS = (("immediate", "x.after_1"), ("before_visit_2", "x.before_2"), ("before_visit_3", "x.before_3"))


def relief_counts(
    scope: Scope,
    policy: MissingPolicy,
    *,
    points: float,
    percent: float,
    by: Sequence[str] = ("condition",),
) -> list[ReliefCounts]:
    """Per group and time point: episodes whose pain fell from before visit 1 by at least ``points`` or
    ``percent`` % of the baseline score.

    The time points are the end of visit 1 (the immediate change, recorded by the clinician), and the pain
    recorded before visit 2 and before visit 3 (the days after one and two treatments); each is counted on its
    own, never the better of two. ``known`` counts the episodes whose pain at the time point is known (the
    completers' denominator); under intention to treat the denominator is every episode with a baseline.
    """
    sql, params = relief_sql(scope, policy, by, points=points, percent=percent)
    width, counted = len(by), len(RELIEF_TIME_POINTS)
    cells = _cell_rows(scope, f"relief:{policy.value}", by)
    result = []
    for row in _with_cells(_run(sql, params), cells, width + 1):
        plain = [_count(value) for value in row[width + 1 : width + 3 + 2 * counted]]
        sums = row[width + 3 + 2 * counted :]
        points_found = [
            PainPoint(plain[2 + 2 * index], plain[3 + 2 * index], _clustered(sums[7 * index : 7 * index + 7]))
            for index in range(len(RELIEF_TIME_POINTS))
        ]
        result.append(ReliefCounts(tuple(row[:width]), bool(row[width]), plain[0], plain[1], *points_found))
    return result


RELIEF_VALUES = 2 + 9 * len(RELIEF_TIME_POINTS)  # the sums ``relief_aggregate_sql`` returns per group


def relief_sql(
    scope: Scope, policy: MissingPolicy, by: Sequence[str], *, points: float, percent: float
) -> tuple[str, tuple[Any, ...]]:
    """(SQL, parameters) of ``relief_counts`` over the scope's episodes."""
    carried, keys = _carried(by)
    step = PatientStep.of(scope)
    params: tuple[Any, ...] = ()
    if scope.summary:  # the scope holds the summary's first visits' pain (``report_scope``)
        per_episode = f"""
        x AS (
            SELECT {carried}, ep.patient_id, ep.base, ep.after_1, ep.before_2, ep.before_3
            FROM {scope.table} ep
            WHERE ep.visits > 0
        )"""
    else:
        params = (scope.filters.clinic_id,)
        per_episode = f"""
        {FIRST_VISITS_SQL.format(episodes=scope.table, where="WHERE position <= 3")},
        x AS (
            SELECT {carried}, ep.patient_id, firsts.base, firsts.after_1, firsts.before_2, firsts.before_3
            FROM firsts JOIN {scope.table} ep ON ep.id = firsts.episode_id
        )"""
    return relief_aggregate_sql(per_episode, keys, step, policy, points=points, percent=percent), params


def relief_aggregate_sql(
    per_episode: str, keys: str, step: PatientStep, policy: MissingPolicy, *, points: float, percent: float
) -> str:
    """Relief per group (``keys``) over the per-episode rows ``x`` (patient, base, after_1, before_2, before_3)
    that the CTEs ``per_episode`` define: episodes, those with a baseline, and per time point the known count and
    the clustered sums of the relieved indicator. One statement for the report and the benchmark's floor."""
    values = {}
    counts = []
    for index, (name, column) in enumerate(RELIEF_TIME_POINTS):
        fell = (
            f"(x.base - {column} >= {float(points) - TOLERANCE!r} OR "
            f"(x.base > 0 AND x.base - {column} >= {float(percent) / 100!r} * x.base - {TOLERANCE!r}))"
        )
        known = f"x.base IS NOT NULL AND {column} IS NOT NULL"
        counts.append(f"{step.total(f'CASE WHEN {known} THEN 1 ELSE 0 END')} AS known_{index}")
        if policy is MissingPolicy.ITT:
            values[name] = f"CASE WHEN x.base IS NULL THEN NULL WHEN {fell} THEN 1 ELSE 0 END"
        else:
            values[name] = f"CASE WHEN NOT ({known}) THEN NULL WHEN {fell} THEN 1 ELSE 0 END"
    # The relieved count is the indicator's sum: its value is NULL only where the pain cannot have fallen.
    per_patient, per_group = _clustered_columns(values, step, indicators=values)
    return f"""
        WITH {per_episode},
        c AS (
            SELECT {keys}, {step.episodes()} AS episodes, {step.count("x.base")} AS with_baseline,
                   {", ".join(counts)}, {per_patient}
            FROM x
            {step.group_by(f"{keys}, x.patient_id")}
        )
        SELECT {keys}, SUM(episodes), SUM(with_baseline),
               {", ".join(f"SUM(c.known_{index}), SUM(c.{name}_s)" for index, name in enumerate(values))},
               {per_group}
        FROM c
        GROUP BY {keys}
    """


# ---------------------------------------------------------------------------------------------------- ROM


@cache
def movement_mdcs() -> dict[tuple[str, str, str], float]:
    """MDC in degrees for every (joint, movement, method) the outcomes app's ROM data sources one for."""
    found = {}
    for move in movements():
        side = "left" if move.sided else None
        for method in move.methods:
            mdc = rom_change(move.joint, move.movement, method, move.normal, move.normal, side).mdc
            if mdc is not None:
                found[(move.joint, move.movement, method)] = mdc
    return found


def movement_mdc_case() -> str:
    """SQL: the MDC of a series ``s`` (joint, movement, method) where one is sourced, else NULL."""
    branches = " ".join(
        f"WHEN s.joint = '{joint}' AND s.movement = '{movement}' AND s.method = '{method}' THEN {mdc!r}"
        for (joint, movement, method), mdc in sorted(movement_mdcs().items())
    )
    return f"CASE {branches} END" if branches else "NULL"


def rom_aggregate_sql(per_episode: str, keys: str, step: PatientStep, policy: MissingPolicy) -> str:
    """Range of motion per group (``keys``), movement and method over the per-episode rows ``g`` (patient, joint,
    movement, method, gain, percent gain, mdc) that the CTEs ``per_episode`` define: episodes, patients and the
    clustered sums of the gain, the percent gain and the beyond-the-MDC indicator. One statement for the report
    and the benchmark's floor."""
    reached = f"g.gain >= g.mdc - {TOLERANCE!r}"
    if policy is MissingPolicy.ITT:
        beyond = f"CASE WHEN g.mdc IS NULL THEN NULL WHEN {reached} THEN 1 ELSE 0 END"
    else:
        beyond = f"CASE WHEN g.mdc IS NULL OR g.gain IS NULL THEN NULL WHEN {reached} THEN 1 ELSE 0 END"
    per_patient, per_group = _clustered_columns(
        {"gain": "g.gain", "pct": "g.percent_gain", "beyond": beyond}, step, indicators=("beyond",)
    )
    return f"""
        WITH {per_episode},
        c AS (
            SELECT {keys}, g.joint, g.movement, g.method, {step.episodes()} AS episodes, {per_patient}
            FROM g
            {step.group_by(f"{keys}, g.patient_id, g.joint, g.movement, g.method")}
        )
        SELECT {keys}, c.joint, c.movement, c.method, SUM(c.episodes), COUNT(*), {per_group}
        FROM c
        GROUP BY {keys}, c.joint, c.movement, c.method
    """


def rom_sums(scope: Scope, policy: MissingPolicy, *, by: Sequence[str] = ("condition",)) -> list[RomSums]:
    """Per group, movement and method: the gain from the first to the last measurement, one value per episode.

    A series is one episode's measurements of one movement, side and method. An episode's value is its treated
    side's series when the episode names a side (left or right) and that side was measured, else the mean of
    the sides measured, so a patient measured on both sides counts once. Beyond the MDC means a gain of at
    least the method's minimal detectable change; where none is sourced it stays unknown. The sums come by
    patient, for intervals that allow for patients with several episodes.
    """
    mdcs = movement_mdcs()
    width = len(by)
    cells = _cell_rows(scope, f"rom:{policy.value}", by)
    result = []
    for row in _with_cells(_run(*rom_sql(scope, policy, by)), cells, width + 4):
        joint, movement, method = row[width + 1 : width + 4]
        sums = row[width + 6 :]
        mdc = mdcs.get((joint, movement, method))
        gained = _clustered(sums[0:7])
        result.append(
            RomSums(
                group=tuple(row[:width]),
                needled=bool(row[width]),
                joint=joint,
                movement=movement,
                method=method,
                episodes=_count(row[width + 4]),
                patients=_count(row[width + 5]),
                completers=gained.n,
                gain=gained,
                percent_gain=_clustered(sums[7:14]),
                beyond=_clustered(sums[14:21]) if mdc is not None else None,
                mdc=mdc,
            )
        )
    return result


ROM_VALUES = 2 + 7 * 3  # the sums ``rom_aggregate_sql`` returns per group and movement


def rom_sql(scope: Scope, policy: MissingPolicy, by: Sequence[str]) -> tuple[str, tuple[Any, ...]]:
    """(SQL, parameters) of ``rom_sums`` over the scope's episodes."""
    mdc_case = movement_mdc_case()
    carried, keys = _carried(by)
    step = PatientStep.of(scope)
    if scope.summary:
        # Each episode's value per movement and method was worked out by the refresh (``SUMMARY_MOVEMENTS``).
        per_episode = f"""
        g AS (
            SELECT {carried}, ep.patient_id, s.joint, s.movement, s.method, s.gain, s.percent_gain,
                   {mdc_case} AS mdc
            FROM {SUMMARY_MOVEMENTS} s JOIN {scope.table} ep ON ep.id = s.episode_id
            WHERE s.clinic_id = %s
            {step.fence}
        )"""  # the fence (PostgreSQL): each row's MDC worked out once, not once per sum that reads it
    else:
        # The episode's group and patient come with its series in the same pass (one join of the scope, not two).
        episode_columns = ", ".join([*(GROUPINGS[name] for name in by), "ep.needled", "ep.patient_id"])
        per_episode = f"""
        {ROM_SERIES_SQL.format(episodes=scope.table)},
        g AS (
            SELECT {carried}, ep.patient_id, s.joint, s.movement, s.method, {EPISODE_MOVEMENT_VALUES},
                   {mdc_case} AS mdc
            FROM s JOIN {scope.table} ep ON ep.id = s.episode_id
            GROUP BY s.episode_id, s.joint, s.movement, s.method, {episode_columns}
        )"""
    return rom_aggregate_sql(per_episode, keys, step, policy), (scope.filters.clinic_id,)


# ---------------------------------------------------------------------------------------------------- survival


def counts_of(rows: Iterable[SurvivalRow]) -> dict[tuple[tuple[Any, ...], bool], int]:
    """Episodes per group and needled flag added up from the survival rows of the same
    scope and groups, which count every episode once: one reading of the episodes serves both."""
    counts: dict[tuple[tuple[Any, ...], bool], int] = {}
    for row in rows:
        counts[(row.group, row.needled)] = counts.get((row.group, row.needled), 0) + row.count
    return counts


def survival_rows(scope: Scope, *, by: Sequence[str] = ("condition",)) -> list[SurvivalRow]:
    """Episodes grouped by time in care and outcome: the input of the Kaplan-Meier curves, one row per day.

    Time runs from the day the episode opened to its discharge date; episodes still open are censored at the
    scope's ``as_of`` day, and episodes discharged for another reason than goals met at their discharge.
    At most one row per group, day and outcome, so the rows stay few however many episodes there are.
    """
    carried, keys = _carried(by)
    source, params = scope.episode_source()
    sql = f"""
        SELECT {keys}, x.days, x.goals_met, COUNT(*)
        FROM (SELECT {carried}, ep.days, ep.goals_met FROM {source}) x
        GROUP BY {keys}, x.days, x.goals_met
    """
    width = len(by)
    return [
        SurvivalRow(tuple(row[:width]), bool(row[width]), _days(row[width + 1]), bool(row[width + 2]), row[-1])
        for row in _run(sql, params)
    ]


def _days(value: Any) -> int:
    """Whole days from a stored date difference (an interval on PostgreSQL, microseconds on SQLite)."""
    if isinstance(value, timedelta):
        return max(0, value.days)
    return max(0, int(value) // 86_400_000_000)


# ---------------------------------------------------------------------------------------------------- visits


def _visit_events_sql(filters: ReportFilters) -> tuple[str, tuple[Any, ...]]:
    visits_sql, visit_params = (
        needled_visits(filters).values("id", "clinician_id", "pain_before", "pain_after").query.sql_with_params()
    )
    events = f"""
        SELECT visit_id,
               SUM(CASE WHEN severity = 'mild' THEN 1 ELSE 0 END) AS mild,
               SUM(CASE WHEN severity = 'significant' THEN 1 ELSE 0 END) AS significant,
               SUM(CASE WHEN severity = 'serious' THEN 1 ELSE 0 END) AS serious
        FROM {AdverseEvent._meta.db_table} WHERE clinic_id = %s GROUP BY visit_id
    """
    return f"v AS ({visits_sql}), e AS ({events})", (*visit_params, filters.clinic_id)


VISIT_FIGURE_SQL = """COUNT(*), SUM({mild}), SUM({significant}), SUM({serious}),
               SUM(CASE WHEN v.pain_before IS NOT NULL AND v.pain_after IS NOT NULL THEN 1 ELSE 0 END),
               SUM(CASE WHEN v.pain_before - v.pain_after >= {bound} THEN 1 ELSE 0 END)"""


def _summary_visits_sql(scope: Scope) -> tuple[str, tuple[Any, ...]]:
    from needlepoint.insights.summaries import summary_visits

    columns = ("clinician_id", "pain_before", "pain_after", "mild", "significant", "serious", "techniques", "needling")
    sql, params = _outside_cells(summary_visits(scope.filters), scope).values(*columns).query.sql_with_params()
    return sql, tuple(params)


def _outside_cells(rows: QuerySet[Any, Any], scope: Scope) -> QuerySet[Any, Any]:
    """Summarised visits (or their events) ``rows`` less those of the months the scope's visit cells add up: the
    visits given before the first whole month or after the last, as ranges of the index by clinic and time."""
    plan = scope.cells
    if plan is None or plan.visit_months is None:
        return rows
    first, last = plan.visit_months
    zone = timezone.get_current_timezone()  # the months the cells were added up in (``cells.month_sql``)
    before = month_start(first, zone) if first != NO_EARLIER else datetime(1, 1, 1, tzinfo=UTC)
    after = month_start(next_month(last), zone) if last != NO_LATER else datetime(9999, 1, 1, tzinfo=UTC)
    return rows.filter(Q(started_at__lt=before) | Q(started_at__gte=after))


VISIT_VALUES = 6  # the figures ``VISIT_FIGURE_SQL`` returns per group


def summary_visit_figures_sql(mcid: float) -> str:
    """SQL: ``VISIT_FIGURE_SQL`` over visit summary rows ``v``, a visit relieved when its pain fell by ``mcid``."""
    bound = repr(float(mcid) - TOLERANCE)
    return VISIT_FIGURE_SQL.format(mild="v.mild", significant="v.significant", serious="v.serious", bound=bound)


def visit_breakdowns(scope: Scope, mcid: float) -> tuple[list[VisitEvents], list[VisitEvents]]:
    """Per clinician who gave them, and per needling technique: the needled visits, their adverse events by
    severity and in-session relief. A visit that used two techniques counts under both, so the technique groups
    overlap and do not add up to the total.

    Both breakdowns come from one pass over the needled visits, grouped by clinician and by the set of techniques
    each visit used (a handful of combinations), and are added up here: a clinician's figures over the
    combinations, a technique's over the combinations that hold it."""
    codes = [scope.filters.technique] if scope.filters.technique else list(Technique.values)
    if scope.summary:
        rows, width = _summary_breakdown_rows(scope, mcid, codes)
        cells = _cell_rows(scope, "visits", ["clinician"], visits=True)
        if scope.filters.muscle:  # the techniques used on the muscle, as the rows' flags (one per code)
            cells = [(row[0], *(int(f",{code}," in row[1]) for code in codes), *row[2:]) for row in cells]
        rows = _with_cells(rows, cells, width)
    else:
        rows, width = _live_breakdown_rows(scope, mcid), 2
    clinicians: dict[Any, list[int]] = {}
    techniques: dict[str, list[int]] = {}
    for row in rows:
        figures_of_row = [_count(value) for value in row[width:]]
        _add_to(clinicians.setdefault(row[0], [0] * 6), figures_of_row)
        for code in _techniques_used(row[1:width], codes, scope):
            _add_to(techniques.setdefault(code, [0] * 6), figures_of_row)
    return (
        [VisitEvents(key, *values) for key, values in clinicians.items()],
        [VisitEvents(code, *techniques[code]) for code in codes if code in techniques],
    )


def _techniques_used(keys: Sequence[Any], codes: Sequence[str], scope: Scope) -> list[str]:
    """The techniques of ``codes`` a row of ``visit_breakdowns`` stands for, from its grouping keys."""
    if not scope.summary:  # a bit per technique, in the order of Technique.values (None: no needling entry)
        mask = keys[0] or 0
        return [code for index, code in enumerate(Technique.values) if mask & (1 << index) and code in codes]
    if scope.filters.muscle:  # one flag per code
        return [code for index, code in enumerate(codes) if keys[index]]
    return [code for code in codes if f",{code}," in (keys[0] or "")]


def _summary_breakdown_rows(scope: Scope, mcid: float, codes: list[str]) -> tuple[list[tuple[Any, ...]], int]:
    """Rows (clinician, technique keys..., figures) from the visit summary, and the width of their keys."""
    visits_sql, params = _summary_visits_sql(scope)
    figures = summary_visit_figures_sql(mcid)
    patterns: list[str] = []
    if scope.filters.muscle:
        # A technique counts only where it was used on the muscle filtered on (as the live entries count it): one
        # flag per technique, each worked out once per visit (OFFSET 0 keeps the flags a subquery on PostgreSQL).
        flags = []
        for index, code in enumerate(codes):
            flags.append(f"CASE WHEN {_contains('v.needling')} THEN 1 ELSE 0 END AS t{index}")
            patterns.append(f",{scope.filters.muscle}/{code},")
        keys = ", ".join(f"t{index}" for index in range(len(codes)))
        fence = "OFFSET 0" if connection.vendor == "postgresql" else ""
        source = f"(SELECT v.*, {', '.join(flags)} FROM ({visits_sql}) v {fence}) v"
    else:
        keys, source = "v.techniques", f"({visits_sql}) v"  # ',static,pistoning,': at most 16 combinations
    sql = f"SELECT v.clinician_id, {keys}, {figures} FROM {source} GROUP BY v.clinician_id, {keys}"
    width = 1 + (len(codes) if scope.filters.muscle else 1)
    return _run(sql, (*patterns, *params)), width


def _live_breakdown_rows(scope: Scope, mcid: float) -> list[tuple[Any, ...]]:
    """Rows (clinician, technique bits, figures) from the records. Each visit's techniques are folded into one
    number (a bit per technique) by one grouping of its needling entries, those on the muscle and of the
    technique filtered on: cheaper than listing each visit's distinct techniques and joining them, and the
    clinician's figures come from the same pass."""
    ctes, params = _visit_events_sql(scope.filters)
    entries_sql, entry_params = needling_entries(scope.filters).values("visit_id", "technique").query.sql_with_params()
    bits = " + ".join(
        f"MAX(CASE WHEN n.technique = '{code}' THEN {1 << index} ELSE 0 END)"
        for index, code in enumerate(Technique.values)
    )
    figures = VISIT_FIGURE_SQL.format(
        mild="COALESCE(e.mild, 0)",
        significant="COALESCE(e.significant, 0)",
        serious="COALESCE(e.serious, 0)",
        bound=repr(float(mcid) - TOLERANCE),
    )
    sql = f"""
        WITH {ctes}, t AS (SELECT n.visit_id, {bits} AS techniques FROM ({entries_sql}) n GROUP BY n.visit_id)
        SELECT v.clinician_id, t.techniques, {figures}
        FROM v LEFT JOIN t ON t.visit_id = v.id LEFT JOIN e ON e.visit_id = v.id
        GROUP BY v.clinician_id, t.techniques
    """
    return _run(sql, (*params, *entry_params))


def _add_to(totals: list[int], values: Sequence[int]) -> None:
    for index, value in enumerate(values):
        totals[index] += value


def _contains(column: str) -> str:
    """SQL: ``column`` contains the (next) parameter as plain text (no LIKE wildcards to escape)."""
    if connection.vendor == "postgresql":
        return f"STRPOS({column}, %s) > 0"
    return f"INSTR({column}, %s) > 0"


def event_counts(scope: Scope) -> list[EventCount]:
    """Adverse events recorded on the needled visits the report covers, by type and severity."""
    filters = scope.filters
    if scope.summary:
        from needlepoint.insights.summaries import summary_events

        found = _outside_cells(summary_events(filters), scope).values("event_type", "severity")
        summed = list(found.annotate(n=Sum("events")).values_list("event_type", "severity", "n"))
        cells = _cell_rows(scope, "events", [], visits=True)
        return [EventCount(kind, severity, _count(n)) for kind, severity, n in _with_cells(summed, cells, 2)]
    visits = needled_visits(filters).values("pk")
    rows = (
        AdverseEvent.objects.filter(clinic_id=filters.clinic_id, visit__in=visits)
        .values("event_type", "severity")
        .annotate(n=Count("pk"))
        .values_list("event_type", "severity", "n")
    )
    return [EventCount(*row) for row in rows]
