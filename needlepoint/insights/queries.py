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
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from typing import Any

from django.db import connection, transaction
from django.db.models import Case, Count, DateField, DurationField, ExpressionWrapper, F, Value, When
from django.db.models.functions import Coalesce, TruncDate

from needlepoint.insights.filters import ReportFilters, day_start, episodes, needled_visits, needling_entries
from needlepoint.insights.responders import ResponderRule, responder_conditions
from needlepoint.outcomes.rom import movements, rom_change
from needlepoint.outcomes.scoring import Instrument, instrument, instruments
from needlepoint.visits.models import AdverseEvent, Technique

PAIN_INSTRUMENT = "NPRS"
# What a report can break its episode figures down by, as columns of the episode set ``ep``.
GROUPINGS = {
    "condition": "ep.condition",
    "clinician": "ep.opened_by_id",
    "cohort": "ep.cohort_label",
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
class ReliefCounts:
    """Relief within the first two visits in one group (pain 0-10 before visit 1 against the end of visit 1/2)."""

    group: tuple[Any, ...]
    needled: bool
    episodes: int
    with_baseline: int
    known_by_visit_1: int
    relieved_by_visit_1: int
    known_by_visit_2: int
    relieved_by_visit_2: int


@dataclass(frozen=True)
class RomSums:
    """Range-of-motion gain of one movement (by one method) in one group: first against last measurement."""

    group: tuple[Any, ...]
    needled: bool
    joint: str
    movement: str
    method: str
    series: int
    completers: int
    gain_sum: float
    gain_sum_sq: float
    percent_gain_n: int
    percent_gain_sum: float
    percent_gain_sum_sq: float
    beyond_mdc: int | None
    mdc: float | None


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


@dataclass(frozen=True)
class Scope:
    """One report's filtered episodes, stored once in a temporary table that every episode query joins."""

    filters: ReportFilters
    as_of: date
    table: str = SCOPE_TABLE
    summary: bool = False  # read the per-episode summary tables (``summaries.py``) instead of the records


@contextmanager
def report_scope(filters: ReportFilters, as_of: date, *, summary: bool = False) -> Iterator[Scope]:
    """Store the filtered episode set in a temporary table for the length of one report, then drop it.

    Columns: id, condition, opened_by_id, cohort_label (NULL unless imported), needled, days (time in care up
    to its discharge or ``as_of``) and goals_met. Computing the set once, with fresh statistics, spares every
    later query the same filtering and gives the database an exact row count to plan with. On PostgreSQL the
    report also runs with more sort memory and without JIT compilation, which costs more than it saves here.
    """
    ended = Coalesce(F("discharge_date"), Value(as_of, output_field=DateField()))
    days = ExpressionWrapper(ended - TruncDate("opened_at"), output_field=DurationField())
    if summary:
        from needlepoint.insights.summaries import summary_episodes

        queryset = summary_episodes(filters).filter(opened_at__lt=day_start(as_of + timedelta(days=1)))
        queryset = queryset.annotate(days=days)
        columns = ("episode_id", "condition", "clinician_id", "cohort_label", "needled", "days", "goals_met")
        inner_sql, params = queryset.values(*columns).query.sql_with_params()
        select_sql = (
            "SELECT x.episode_id AS id, x.condition, x.clinician_id AS opened_by_id, x.cohort_label, x.needled, "
            f"x.days, x.goals_met FROM ({inner_sql}) x"
        )
    else:
        queryset = episodes(filters).filter(opened_at__lt=day_start(as_of + timedelta(days=1)))
        queryset = queryset.annotate(
            cohort_label=F("cohort__label"),
            days=days,
            goals_met=Case(When(status="discharged", discharge_reason="goals_met", then=1), default=0),
        )
        columns = ("id", "condition", "opened_by_id", "cohort_label", "needled", "days", "goals_met")
        select_sql, params = queryset.values(*columns).query.sql_with_params()
    table = connection.ops.quote_name(SCOPE_TABLE)
    postgres = connection.vendor == "postgresql"
    with transaction.atomic() if postgres else nullcontext(), connection.cursor() as cursor:
        if postgres:
            cursor.execute("SET LOCAL jit = off")
            cursor.execute("SET LOCAL work_mem = '64MB'")
        cursor.execute(f"DROP TABLE IF EXISTS {table}")
        cursor.execute(f"CREATE TEMPORARY TABLE {table} AS {select_sql}", params)
        cursor.execute(f"CREATE INDEX {connection.ops.quote_name(SCOPE_TABLE + '_id')} ON {table} (id)")
        cursor.execute(f"ANALYZE {table}")
        try:
            yield Scope(filters, as_of, summary=summary)
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
            SELECT v.episode_id, v.pain_before, v.pain_after,
                   ROW_NUMBER() OVER (PARTITION BY v.episode_id ORDER BY v.started_at, v.id) AS position
            FROM visits_visit v
            WHERE v.clinic_id = %s AND v.episode_id IN (SELECT id FROM {episodes})
        ),
        firsts AS (
            SELECT episode_id, COUNT(*) AS visits,
                   MAX(CASE WHEN position = 1 THEN pain_before END) AS base,
                   MAX(CASE WHEN position = 1 THEN pain_after END) AS after_1,
                   MAX(CASE WHEN position = 2 THEN pain_after END) AS after_2
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


def _run(sql: str, params: Sequence[Any]) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _number(value: Any) -> float:
    return float(value) if value is not None else 0.0


def _count(value: Any) -> int:
    return int(value) if value is not None else 0


# ---------------------------------------------------------------------------------------------------- measures


def report_instruments() -> tuple[Instrument, ...]:
    """Instruments whose change from baseline the report can show (not those that rate change themselves)."""
    return tuple(defn for defn in instruments().values() if not defn.rates_change)


def responder_sql(rule: ResponderRule, defn: Instrument, baseline: str = "p.baseline", final: str = "p.final") -> str:
    """The responder rule for one instrument as a SQL condition; raises ValueError if the rule does not fit."""
    mcid = defn.mcid.value if defn.mcid is not None and defn.mcid.unit == "points" else None
    conditions = responder_conditions(rule, mcid, defn.direction)  # type: ignore[arg-type]
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
    sql = f"""
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
    width = len(by)
    result = []
    for row in _run(sql, (scope.filters.clinic_id, *codes)):
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


def episode_counts(scope: Scope, by: Sequence[str] = ("condition",)) -> dict[tuple[tuple, bool], int]:
    """Episodes per group and needled flag, including those with no measure at all."""
    carried, keys = _carried(by)
    rows = _run(f"SELECT {keys}, COUNT(*) FROM (SELECT {carried} FROM {scope.table} ep) x GROUP BY {keys}", ())
    return {(tuple(row[: len(by)]), bool(row[len(by)])): row[-1] for row in rows}


# ---------------------------------------------------------------------------------------------------- relief


def relief_counts(scope: Scope, mcid: float, *, by: Sequence[str] = ("condition",)) -> list[ReliefCounts]:
    """Per group: how many episodes' pain fell by at least ``mcid`` by the end of visit 1, and of visit 2.

    Baseline is the pain recorded before visit 1. "By the end of visit 2" counts a fall reached at the end of
    visit 1 or of visit 2. ``known_by_visit_k`` counts the episodes whose answer is known (the completers'
    denominator); under intention to treat the denominator is every episode with a baseline.
    """
    carried, keys = _carried(by)
    bound = repr(float(mcid) - TOLERANCE)
    fell_1 = f"(x.base - x.after_1 >= {bound})"
    fell_2 = f"(x.base - x.after_2 >= {bound})"
    if scope.summary:
        per_episode = f"""
        x AS (
            SELECT {carried}, s.visit1_pain_before AS base, s.visit1_pain_after AS after_1,
                   s.visit2_pain_after AS after_2
            FROM {SUMMARY_EPISODES} s JOIN {scope.table} ep ON ep.id = s.episode_id
            WHERE s.clinic_id = %s AND s.visits > 0
        )"""
    else:
        per_episode = f"""
        {FIRST_VISITS_SQL.format(episodes=scope.table, where="WHERE position <= 2")},
        x AS (
            SELECT {carried}, firsts.base, firsts.after_1, firsts.after_2
            FROM firsts JOIN {scope.table} ep ON ep.id = firsts.episode_id
        )"""
    sql = f"""
        WITH {per_episode}
        SELECT {keys},
               COUNT(*), COUNT(x.base),
               SUM(CASE WHEN x.base IS NOT NULL AND x.after_1 IS NOT NULL THEN 1 ELSE 0 END),
               SUM(CASE WHEN {fell_1} THEN 1 ELSE 0 END),
               SUM(CASE WHEN x.base IS NOT NULL AND ({fell_1} OR x.after_2 IS NOT NULL) THEN 1 ELSE 0 END),
               SUM(CASE WHEN {fell_1} OR {fell_2} THEN 1 ELSE 0 END)
        FROM x
        GROUP BY {keys}
    """
    width = len(by)
    return [
        ReliefCounts(tuple(row[:width]), bool(row[width]), *(_count(value) for value in row[width + 1 :]))
        for row in _run(sql, (scope.filters.clinic_id,))
    ]


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


def rom_sums(scope: Scope, *, by: Sequence[str] = ("condition",)) -> list[RomSums]:
    """Per group, movement and method: gain from the first to the last measurement of each measured series.

    A series is one episode's measurements of one movement, side and method. Beyond the MDC means a gain of at
    least the method's minimal detectable change for that movement; where none is sourced it stays unknown.
    """
    mdcs = movement_mdcs()
    branches = " ".join(
        f"WHEN s.joint = '{joint}' AND s.movement = '{movement}' AND s.method = '{method}' THEN {mdc!r}"
        for (joint, movement, method), mdc in sorted(mdcs.items())
    )
    mdc_case = f"CASE {branches} END" if branches else "NULL"
    carried, keys = _carried(by)
    if scope.summary:
        per_series = f"""
        s AS (
            SELECT episode_id, joint, movement, side, method, first_degrees, last_degrees, first_percent, last_percent
            FROM {SUMMARY_ROM} WHERE clinic_id = %s AND episode_id IN (SELECT id FROM {scope.table})
        )"""
    else:
        per_series = ROM_SERIES_SQL.format(episodes=scope.table)
    sql = f"""
        WITH {per_series},
        g AS (
            SELECT {carried}, s.joint, s.movement, s.method,
                   s.last_degrees - s.first_degrees AS gain, s.last_percent - s.first_percent AS percent_gain,
                   {mdc_case} AS mdc
            FROM s JOIN {scope.table} ep ON ep.id = s.episode_id
        )
        SELECT {keys}, g.joint, g.movement, g.method,
               COUNT(*), COUNT(g.gain), SUM(g.gain), SUM(g.gain * g.gain),
               COUNT(g.percent_gain), SUM(g.percent_gain), SUM(g.percent_gain * g.percent_gain),
               SUM(CASE WHEN g.gain >= g.mdc - {TOLERANCE!r} THEN 1 ELSE 0 END)
        FROM g
        GROUP BY {keys}, g.joint, g.movement, g.method
    """
    width = len(by)
    result = []
    for row in _run(sql, (scope.filters.clinic_id,)):
        joint, movement, method = row[width + 1 : width + 4]
        values = row[width + 4 :]
        mdc = mdcs.get((joint, movement, method))
        result.append(
            RomSums(
                group=tuple(row[:width]),
                needled=bool(row[width]),
                joint=joint,
                movement=movement,
                method=method,
                series=_count(values[0]),
                completers=_count(values[1]),
                gain_sum=_number(values[2]),
                gain_sum_sq=_number(values[3]),
                percent_gain_n=_count(values[4]),
                percent_gain_sum=_number(values[5]),
                percent_gain_sum_sq=_number(values[6]),
                beyond_mdc=_count(values[7]) if mdc is not None else None,
                mdc=mdc,
            )
        )
    return result


# ---------------------------------------------------------------------------------------------------- survival


def survival_rows(scope: Scope, *, by: Sequence[str] = ("condition",)) -> list[SurvivalRow]:
    """Episodes grouped by time in care and outcome: the input of the Kaplan-Meier curves, one row per day.

    Time runs from the day the episode opened to its discharge date; episodes still open are censored at the
    scope's ``as_of`` day, and episodes discharged for another reason than goals met at their discharge.
    At most one row per group, day and outcome, so the rows stay few however many episodes there are.
    """
    carried, keys = _carried(by)
    sql = f"""
        SELECT {keys}, x.days, x.goals_met, COUNT(*)
        FROM (SELECT {carried}, ep.days, ep.goals_met FROM {scope.table} ep) x
        GROUP BY {keys}, x.days, x.goals_met
    """
    width = len(by)
    return [
        SurvivalRow(tuple(row[:width]), bool(row[width]), _days(row[width + 1]), bool(row[width + 2]), row[-1])
        for row in _run(sql, ())
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


def _visit_events(rows: list[tuple]) -> list[VisitEvents]:
    return [VisitEvents(row[0], *(_count(value) for value in row[1:])) for row in rows]


_VISIT_FIGURES = """COUNT(*), SUM({mild}), SUM({significant}), SUM({serious}),
               SUM(CASE WHEN v.pain_before IS NOT NULL AND v.pain_after IS NOT NULL THEN 1 ELSE 0 END),
               SUM(CASE WHEN v.pain_before - v.pain_after >= {bound} THEN 1 ELSE 0 END)"""


def _summary_visits_sql(scope: Scope) -> tuple[str, tuple[Any, ...]]:
    from needlepoint.insights.summaries import summary_visits

    columns = ("clinician_id", "pain_before", "pain_after", "mild", "significant", "serious", "techniques")
    sql, params = summary_visits(scope.filters).values(*columns).query.sql_with_params()
    return sql, tuple(params)


def clinician_visits(scope: Scope, mcid: float) -> list[VisitEvents]:
    """Per clinician who gave them: needled visits, their adverse events by severity, and in-session relief."""
    if scope.summary:
        visits_sql, params = _summary_visits_sql(scope)
        figures = _VISIT_FIGURES.format(
            mild="v.mild", significant="v.significant", serious="v.serious", bound=repr(float(mcid) - TOLERANCE)
        )
        sql = f"SELECT v.clinician_id, {figures} FROM ({visits_sql}) v GROUP BY v.clinician_id"
        return _visit_events(_run(sql, params))
    ctes, params = _visit_events_sql(scope.filters)
    bound = repr(float(mcid) - TOLERANCE)
    sql = f"""
        WITH {ctes}
        SELECT v.clinician_id, COUNT(*), SUM(COALESCE(e.mild, 0)), SUM(COALESCE(e.significant, 0)),
               SUM(COALESCE(e.serious, 0)),
               SUM(CASE WHEN v.pain_before IS NOT NULL AND v.pain_after IS NOT NULL THEN 1 ELSE 0 END),
               SUM(CASE WHEN v.pain_before - v.pain_after >= {bound} THEN 1 ELSE 0 END)
        FROM v LEFT JOIN e ON e.visit_id = v.id
        GROUP BY v.clinician_id
    """
    return _visit_events(_run(sql, params))


def technique_visits(scope: Scope, mcid: float) -> list[VisitEvents]:
    """Per needling technique: the needled visits that used it, their adverse events and in-session relief.

    A visit that used two techniques counts under both, so the groups overlap and do not add up to the total.
    """
    if scope.summary:
        visits_sql, params = _summary_visits_sql(scope)
        figures = _VISIT_FIGURES.format(
            mild="v.mild", significant="v.significant", serious="v.serious", bound=repr(float(mcid) - TOLERANCE)
        )
        codes = " UNION ALL ".join(f"SELECT '{code}' AS technique" for code in Technique.values)
        sql = f"""
            SELECT t.technique, {figures}
            FROM ({visits_sql}) v JOIN ({codes}) t ON v.techniques LIKE '%%,' || t.technique || ',%%'
            GROUP BY t.technique
        """
        return _visit_events(_run(sql, params))
    ctes, params = _visit_events_sql(scope.filters)
    entries_sql, entry_params = (
        needling_entries(scope.filters).values("visit_id", "technique").distinct().query.sql_with_params()
    )
    bound = repr(float(mcid) - TOLERANCE)
    sql = f"""
        WITH {ctes}, t AS ({entries_sql})
        SELECT t.technique, COUNT(*), SUM(COALESCE(e.mild, 0)), SUM(COALESCE(e.significant, 0)),
               SUM(COALESCE(e.serious, 0)),
               SUM(CASE WHEN v.pain_before IS NOT NULL AND v.pain_after IS NOT NULL THEN 1 ELSE 0 END),
               SUM(CASE WHEN v.pain_before - v.pain_after >= {bound} THEN 1 ELSE 0 END)
        FROM t JOIN v ON v.id = t.visit_id LEFT JOIN e ON e.visit_id = v.id
        GROUP BY t.technique
    """
    return _visit_events(_run(sql, (*params, *entry_params)))


def event_counts(scope: Scope) -> list[EventCount]:
    """Adverse events recorded on the needled visits the report covers, by type and severity."""
    filters = scope.filters
    if scope.summary:
        from needlepoint.insights.summaries import summary_visits

        visits = summary_visits(filters).values("visit_id")
    else:
        visits = needled_visits(filters).values("pk")
    rows = (
        AdverseEvent.objects.filter(clinic_id=filters.clinic_id, visit__in=visits)
        .values("event_type", "severity")
        .annotate(n=Count("pk"))
        .values_list("event_type", "severity", "n")
    )
    return [EventCount(*row) for row in rows]
