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

The cells are not used under a muscle or technique filter: an episode needles many muscles, and a cell per
muscle would hold about as many rows as the episodes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from datetime import date
from functools import cache
from typing import Any

from django.db import connection
from django.utils import timezone

from needlepoint.insights import queries
from needlepoint.insights.claims import RELIEF_PERCENT, RELIEF_POINTS
from needlepoint.insights.filters import ReportFilters, ReportOptions
from needlepoint.insights.models import EpisodeSummary, SummaryCell, SummaryStaleMonth
from needlepoint.insights.months import month_ranges, whole_months
from needlepoint.insights.responders import MissingPolicy

CELLS = SummaryCell._meta.db_table
# The episode cells' groupings, in the order of the cell's columns (``models.SummaryCell``).
EPISODE_GROUPS = ("condition", "clinician", "cohort", "month")
EPISODE_FIGURES = ("measures", *(f"{kind}:{policy.value}" for kind in ("relief", "rom") for policy in MissingPolicy))
VISIT_FIGURES = ("visits", "events")


# ---------------------------------------------------------------------------------------------------- reading


def plan(
    filters: ReportFilters,
    options: ReportOptions,
    as_of: date,
    cells_key: str,
    stale: Collection[tuple[str, int]] = (),
) -> queries.CellPlan | None:
    """The cells a report may add to its rows (None: read every row): the whole months inside its date range,
    less the ``stale`` ones ((kind, month) of ``SummaryStaleMonth``), for a report whose filters and rule the
    cells were kept for, from cells of the current definitions."""
    if filters.needling_filter or options.rule != ReportOptions().rule or cells_key != definitions_key():
        return None
    # An episode is counted when opened by the end of ``as_of``; a visit has no such bound (``filters.py``).
    opened_by = min(filters.date_to, as_of) if filters.date_to else as_of
    return queries.CellPlan(
        episode_months=whole_months(filters.date_from, opened_by),
        visit_months=whole_months(filters.date_from, filters.date_to),
        stale_episode_months=tuple(sorted({month for kind, month in stale if kind == "episodes"})),
        stale_visit_months=tuple(sorted({month for kind, month in stale if kind == "visits"})),
    )


# ---------------------------------------------------------------------------------------------------- building


def definitions_key() -> str:
    """A fingerprint of the statements that add the cells up (rules, bounds, MDCs and layout included)."""
    return _definitions_key(connection.vendor)


@cache
def _definitions_key(vendor: str) -> str:
    scope = queries.Scope(ReportFilters(clinic_id=0), date(2000, 1, 1), summary=True, one_episode_per_patient=True)
    statements = _episode_statements(scope)
    text = "\n".join(f"{sql} {params!r}" for _, sql, params in statements) + _visit_sql("") + _events_sql("")
    return hashlib.sha256(f"{vendor}\n{text}".encode()).hexdigest()


def month_sql(column: str) -> str:
    """SQL: the UTC year and month of the timestamp ``column``, as 202606 (the stored time zone is UTC)."""
    if connection.vendor == "postgresql":
        return f"CAST(TO_CHAR({column} AT TIME ZONE 'UTC', 'YYYYMM') AS integer)"
    return f"CAST(strftime('%%Y%%m', {column}) AS integer)"


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
    if every:
        SummaryStaleMonth.objects.filter(clinic_id=clinic_id).delete()
    if every or episode_months:
        _delete(cursor, clinic_id, EPISODE_FIGURES, episode_months)
        rows = EpisodeSummary.objects.filter(clinic_id=clinic_id, in_cells=True)
        if not every:
            rows = rows.filter(opened_month__in=sorted(episode_months or ()))
        with queries.summary_scope(rows, ReportFilters(clinic_id=clinic_id), timezone.localdate()) as scope:
            for figure, sql, params in _episode_statements(scope):
                written += _insert(cursor, clinic_id, figure, sql, params)
    if every or visit_months:
        _delete(cursor, clinic_id, VISIT_FIGURES, visit_months)
        only, given = "", []
        if not every:  # the visits given in those months, as ranges of the index by clinic and time
            ranges = month_ranges(visit_months or ())
            only = " AND (" + " OR ".join("(v.started_at >= %s AND v.started_at < %s)" for _ in ranges) + ")"
            # Adapted as the ORM stores them (on SQLite, UTC text without an offset), so that text compares as time.
            given = [connection.ops.adapt_datetimefield_value(moment) for span in ranges for moment in span]
        written += _insert(cursor, clinic_id, "visits", _visit_sql(only), (clinic_id, *given))
        written += _insert(cursor, clinic_id, "events", _events_sql(only), (clinic_id, *given))
    return written


def mark_stale(cursor: Any, clinic_id: int, episode_months: Collection[int], visit_months: Collection[int]) -> None:
    """Note the months whose cells a change made stale (inside the refresh's transaction): reports read their
    rows until ``summaries.catch_up_cells`` adds their cells up again."""
    known = set(SummaryStaleMonth.objects.filter(clinic_id=clinic_id).values_list("kind", "month"))
    wanted = {("episodes", month) for month in episode_months} | {("visits", month) for month in visit_months}
    SummaryStaleMonth.objects.bulk_create(
        SummaryStaleMonth(clinic_id=clinic_id, kind=kind, month=month) for kind, month in sorted(wanted - known)
    )


def _delete(cursor: Any, clinic_id: int, figures: tuple[str, ...], months: Collection[int] | None) -> None:
    marks = ", ".join(["%s"] * len(figures))
    sql = f"DELETE FROM {CELLS} WHERE clinic_id = %s AND figure IN ({marks})"
    params: list[Any] = [clinic_id, *figures]
    if months is not None:
        sql += f" AND month IN ({', '.join(['%s'] * len(months))})"
        params += sorted(months)
    cursor.execute(sql, params)


# The groupings' columns in the order the figures' statements return them, before the figure's keys and sums.
_EPISODE_COLUMNS = ("condition", "clinician_id", "cohort_label", "month", "needled")
_VISIT_COLUMNS = ("clinician_id", "condition", "cohort_label", "month")


def _episode_statements(scope: queries.Scope) -> list[tuple[str, str, tuple[Any, ...]]]:
    """(figure, SQL, parameters) of each episode figure the cells keep, grouped by ``EPISODE_GROUPS``."""
    codes = tuple(defn.code for defn in queries.report_instruments())
    sql, params, _ = queries.measure_sql(scope, ReportOptions().rule, EPISODE_GROUPS, codes)
    statements = [("measures", sql, params)]
    for policy in MissingPolicy:
        sql, params = queries.relief_sql(scope, policy, EPISODE_GROUPS, points=RELIEF_POINTS, percent=RELIEF_PERCENT)
        statements.append((f"relief:{policy.value}", sql, params))
        sql, params = queries.rom_sql(scope, policy, EPISODE_GROUPS)
        statements.append((f"rom:{policy.value}", sql, params))
    return statements


def _insert(cursor: Any, clinic_id: int, figure: str, sql: str, params: tuple[Any, ...]) -> int:
    """Store the rows of a figure's statement as cells; returns how many."""
    keys, values = queries.cell_layout(figure)
    columns = [*(_VISIT_COLUMNS if figure in VISIT_FIGURES else _EPISODE_COLUMNS), *("k1", "k2", "k3")[:keys]]
    columns += [f"v{index}" for index in range(1, values + 1)]
    cursor.execute(
        f"INSERT INTO {CELLS} (clinic_id, figure, {', '.join(columns)}) SELECT %s, %s, x.* FROM ({sql}) x",
        (clinic_id, figure, *params),
    )
    return queries.rows_written(cursor)


def _visit_sql(only: str) -> str:
    """Needled visits per clinician, condition, cohort, month and set of techniques: ``queries.visit_breakdowns``'
    figures (the relief bound is the NPRS's MCID, as the report's)."""
    bound = repr(queries.session_relief_points() - queries.TOLERANCE)
    figures = queries.VISIT_FIGURE_SQL.format(
        mild="v.mild", significant="v.significant", serious="v.serious", bound=bound
    )
    groups = "v.clinician_id, v.condition, v.cohort_label, v.month, v.techniques"
    return f"""
        SELECT {groups}, {figures}
        FROM {queries.SUMMARY_VISITS} v WHERE v.clinic_id = %s{only}
        GROUP BY {groups}
    """


def _events_sql(only: str) -> str:
    """Adverse events per clinician, condition, cohort, month of the visit, type and severity."""
    groups = "v.clinician_id, v.condition, v.cohort_label, v.month, v.event_type, v.severity"
    return f"""
        SELECT {groups}, SUM(v.events)
        FROM {queries.SUMMARY_EVENTS} v WHERE v.clinic_id = %s{only}
        GROUP BY {groups}
    """
