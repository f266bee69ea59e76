"""The honest floor of the claims report: the same figures as the report's summary path, computed the fastest ways
found, and a check that they agree with the report's.

The report (``needlepoint/insights/report.py``) reads the per-episode summary tables (``summaries.py``) through a
temporary scope table and the queries of ``queries.py``. For the whole clinic (no filter, default options) this
module computes the same figures, per condition and needled flag (measures also per clinician, as the report
asks for them):

- episodes, and survival rows (time in care and outcome);
- per instrument the measure sums: with a baseline, baseline sum and sum of squares, completers, final and change
  sums and sums of squares, responders by the default rule;
- relief at the end of visit 1, before visit 2 and before visit 3, with its sums by patient;
- range-of-motion gain per movement and method, with its sums by patient and the gains beyond the MDC;
- the needled visits by clinician and by technique, and the adverse events by type and severity;

in two ways, with one hand-written aggregate statement per figure group over the summary rows (no scope table):

- one pass: those statements on the product's database (PostgreSQL or SQLite), with the report's own session
  settings (no JIT, 64 MB of sort memory);
- DuckDB: the same statements in DuckDB, an embedded columnar engine, over the clinic's summary rows copied into
  it (the columns the figures read); the copy is timed apart from the queries.

The statements reuse the product's SQL fragments (the groupings, the responder rule, the clustered sums, the
visit figures), so a definition the product changes moves the floor with it; the relief and MDC conditions are
restated here, and ``compare`` (run by the benchmark, and by tests/insights/test_claims_floor.py on a small clinic)
fails when they drift.

Run by ``claims_report.py``, which imports it with this folder on its path; the test imports it as
``benchmarks.claims_floor``.
"""

from __future__ import annotations

import math
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

# Figures: for each figure group, its rows by key, each a tuple of numbers (None where the report has no value).
Figures = dict[str, dict[tuple[Any, ...], tuple[Any, ...]]]
GROUPS = ("survival", "measures", "relief", "rom", "visits", "events")  # one statement each
# The figures, by name: "visits" gives the clinicians' and the techniques' rows.
NAMES = ("episodes", "survival", "measures", "relief", "rom", "clinicians", "techniques", "events")
# Sums may differ in their last bits with the order of addition; counts may not differ at all. A sum that cancels
# to about zero (a change sum) has no relative precision, hence the absolute floor.
RELATIVE = 1e-9
ABSOLUTE = 1e-9


# ---------------------------------------------------------------------------------------------------- the report


def report_figures(clinic_id: int, as_of: date) -> Timed:
    """The figures as the report's summary path computes them (the queries ``claims_report`` runs, with the
    arguments it gives them for the whole clinic and the default options, the summary cells of the whole months
    included), and the seconds each query took."""
    from needlepoint.insights import queries, summaries
    from needlepoint.insights.claims import RELIEF_PERCENT, RELIEF_POINTS
    from needlepoint.insights.filters import ReportFilters, ReportOptions
    from needlepoint.insights.summaries import latest_refresh

    filters, options = ReportFilters(clinic_id=clinic_id), ReportOptions()
    seconds: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        seconds[name] = seconds.get(name, 0.0) + now - clock
        clock = now

    refresh = latest_refresh(clinic_id)
    read = summaries.reading(refresh, filters, options, as_of)
    with queries.report_scope(filters, as_of, summary=True, cells=read.cells, days_kept=read.days_kept) as scope:
        lap("scope")
        survival = queries.survival_rows(scope)
        counts = queries.counts_of(survival)  # as claims_report: one reading of the episodes for both
        lap("survival")
        measures = queries.measure_sums(scope, options.rule, by=("condition", "clinician"))
        lap("measures")
        relief = queries.relief_counts(scope, options.missing, points=RELIEF_POINTS, percent=RELIEF_PERCENT)
        lap("relief")
        rom = queries.rom_sums(scope, options.missing)
        lap("rom")
        clinicians, techniques = queries.visit_breakdowns(scope, queries.session_relief_points())
        lap("visits")
        events = queries.event_counts(scope)
        lap("events")
    lap("scope")  # the scope table's DROP counts with its making
    figures: Figures = {name: {} for name in NAMES}
    for (group, needled), n in counts.items():
        figures["episodes"][(*group, needled)] = (n,)
    for row in survival:
        _add(figures["survival"], (*row.group, row.needled, row.days, row.goals_met), (row.count,))
    for m in measures:
        figures["measures"][(*m.group, m.needled, m.instrument)] = (
            m.with_baseline, m.baseline_sum, m.baseline_sum_sq, m.completers, m.final_sum, m.final_sum_sq,
            m.change_sum, m.change_sum_sq, m.responders,
        )  # fmt: skip
    for r in relief:
        points = (r.immediate, r.before_visit_2, r.before_visit_3)
        figures["relief"][(*r.group, r.needled)] = (
            r.episodes,
            r.with_baseline,
            *(value for p in points for value in (p.known, p.relieved, *_clustered_tuple(p.clustered))),
        )
    for g in rom:
        figures["rom"][(*g.group, g.needled, g.joint, g.movement, g.method)] = (
            g.episodes,
            g.patients,
            g.completers,
            *_clustered_tuple(g.gain),
            *_clustered_tuple(g.percent_gain),
            *(_clustered_tuple(g.beyond) if g.beyond is not None else (None,) * 7),
        )
    for name, rows in (("clinicians", clinicians), ("techniques", techniques)):
        for v in rows:
            figures[name][(v.key,)] = (v.visits, v.mild, v.significant, v.serious, v.pain_measured, v.relieved)
    for e in events:
        _add(figures["events"], (e.event_type, e.severity), (e.count,))
    return Timed(figures, seconds)


def _clustered_tuple(sums: Any) -> tuple[Any, ...]:
    return (sums.n, sums.total, sums.total_sq, sums.clusters, sums.cluster_sq, sums.cross, sums.count_sq)


def _add(rows: dict[tuple[Any, ...], tuple[Any, ...]], key: tuple[Any, ...], values: tuple[Any, ...]) -> None:
    """Add ``values`` to the row ``key`` (two day counts that clamp to the same day become one row)."""
    found = rows.get(key)
    rows[key] = values if found is None else tuple(a + b for a, b in zip(found, values, strict=True))


# ---------------------------------------------------------------------------------------------------- statements


@dataclass(frozen=True)
class Dialect:
    """The few expressions the three engines write differently: a moment, and the days from an episode's local
    opening day (the report's time zone, as Django's TruncDate) to its discharge or ``as_of``."""

    name: str  # postgresql, sqlite or duckdb
    time_zone: str

    def moment(self, value: datetime) -> str:
        """A literal for a stored (UTC) date and time."""
        text = value.strftime("%Y-%m-%d %H:%M:%S")
        if self.name == "sqlite":
            return f"'{text}'"  # Django stores SQLite date-times as UTC text
        return f"CAST('{text}+00' AS TIMESTAMP WITH TIME ZONE)"

    def days(self, as_of: date) -> str:
        """Whole days in care (may be negative; the report clamps them to 0, as ``compare`` does)."""
        zone = self.time_zone.replace("'", "")
        if self.name == "postgresql":
            return f"(COALESCE(e.discharge_date, DATE '{as_of}') - CAST(e.opened_at AT TIME ZONE '{zone}' AS date))"
        if self.name == "duckdb":
            return f"(COALESCE(e.discharge_date, DATE '{as_of}') - CAST(timezone('{zone}', e.opened_at) AS DATE))"
        # django_datetime_cast_date: the function Django registers on its SQLite connections for TruncDate.
        local = f"django_datetime_cast_date(e.opened_at, '{zone}', 'UTC')"
        return f"CAST(julianday(COALESCE(e.discharge_date, '{as_of}')) - julianday({local}) AS INTEGER)"


def scope_sql(clinic_id: int, as_of: date, dialect: Dialect, extra: str = "") -> str:
    """The report's scope (``report_scope``: the clinic's summarised episodes opened by ``as_of``) as a CTE ``ep``
    with the scope table's columns, read straight from the summary instead of stored in a table first."""
    from needlepoint.insights import queries

    before = dialect.moment(datetime.combine(as_of + timedelta(days=1), datetime.min.time()))
    return f"""ep AS (
            SELECT e.episode_id AS id, e.patient_id, e.condition, e.clinician_id AS opened_by_id, e.needled,
                   e.visits, e.visit1_pain_before AS base, e.visit1_pain_after AS after_1,
                   e.visit2_pain_before AS before_2, e.visit3_pain_before AS before_3 {extra}
            FROM {queries.SUMMARY_EPISODES} e
            WHERE e.clinic_id = {int(clinic_id)} AND e.opened_at < {before}
        )"""


def one_episode_per_patient_sql(clinic_id: int, as_of: date, dialect: Dialect) -> str:
    """Whether every patient has one episode in the scope (then the sums by patient are the episodes' own)."""
    return f"""
        WITH {scope_sql(clinic_id, as_of, dialect)}
        SELECT CASE WHEN EXISTS (SELECT 1 FROM ep GROUP BY patient_id HAVING COUNT(*) > 1)
                      OR EXISTS (SELECT 1 FROM ep WHERE patient_id IS NULL) THEN 0 ELSE 1 END
    """


def statements(clinic_id: int, as_of: date, dialect: Dialect, *, one_episode_per_patient: bool) -> dict[str, str]:
    """One aggregate statement per figure group, straight over the summary tables (the report's definitions).

    With ``one_episode_per_patient`` the sums by patient skip the grouping by patient, as the report's do."""
    from needlepoint.insights import queries
    from needlepoint.insights.claims import RELIEF_PERCENT, RELIEF_POINTS
    from needlepoint.insights.filters import ReportOptions
    from needlepoint.insights.responders import MissingPolicy

    options = ReportOptions()
    assert options.missing is MissingPolicy.ITT, "the floor states the default policy, intention to treat"
    clinic = int(clinic_id)
    scope = scope_sql(clinic, as_of, dialect)
    # OFFSET 0 keeps PostgreSQL from working out each value once per sum that reads it, as in the report.
    fence = "OFFSET 0" if dialect.name == "postgresql" else ""
    step = queries.PatientStep(grouped=not one_episode_per_patient, fence=fence)

    carried, keys = queries._carried(("condition",))
    survival = f"""
        WITH {scope_sql(clinic, as_of, dialect, extra=f", {dialect.days(as_of)} AS days, e.goals_met")}
        SELECT {keys}, x.days, CASE WHEN x.goals_met THEN 1 ELSE 0 END, COUNT(*)
        FROM (SELECT {carried}, ep.days, ep.goals_met FROM ep) x
        GROUP BY {keys}, x.days, x.goals_met
    """

    codes = tuple(defn.code for defn in queries.report_instruments())
    case, _ = queries._responder_case(options.rule, codes)
    m_carried, m_keys = queries._carried(("condition", "clinician"))
    marks = ", ".join(f"'{code}'" for code in codes)
    measures = queries.measure_aggregate_sql(
        f"""{scope},
        p AS (
            SELECT {m_carried}, m.instrument, m.baseline, m.final
            FROM {queries.SUMMARY_MEASURES} m JOIN ep ON ep.id = m.episode_id
            WHERE m.clinic_id = {clinic} AND m.instrument IN ({marks})
        )""",
        m_keys,
        case,
    )
    relief = queries.relief_aggregate_sql(
        f"""{scope},
        x AS (
            SELECT {carried}, ep.patient_id, ep.base, ep.after_1, ep.before_2, ep.before_3 FROM ep WHERE ep.visits > 0
        )""",
        keys,
        step,
        options.missing,
        points=RELIEF_POINTS,
        percent=RELIEF_PERCENT,
    )
    rom = queries.rom_aggregate_sql(
        f"""{scope},
        g AS (
            SELECT {carried}, ep.patient_id, s.joint, s.movement, s.method, s.gain, s.percent_gain,
                   {queries.movement_mdc_case()} AS mdc
            FROM {queries.SUMMARY_MOVEMENTS} s JOIN ep ON ep.id = s.episode_id
            WHERE s.clinic_id = {clinic}
            {step.fence}
        )""",
        keys,
        step,
        options.missing,
    )

    bound = queries.session_relief_points() - queries.TOLERANCE
    figures = queries.VISIT_FIGURE_SQL.format(
        mild="v.mild", significant="v.significant", serious="v.serious", bound=repr(bound)
    )
    # By clinician and the set of techniques each visit used (a handful of sets), added up per technique below.
    visits = f"""
        SELECT v.clinician_id, v.techniques, {figures}
        FROM {queries.SUMMARY_VISITS} v WHERE v.clinic_id = {clinic}
        GROUP BY v.clinician_id, v.techniques
    """
    events = f"""
        SELECT event_type, severity, SUM(events) FROM {queries.SUMMARY_EVENTS}
        WHERE clinic_id = {clinic} GROUP BY event_type, severity
    """
    return {"survival": survival, "measures": measures, "relief": relief, "rom": rom, "visits": visits,
            "events": events}  # fmt: skip


def figures_from(rows: Mapping[str, list[tuple[Any, ...]]]) -> Figures:
    """The figures from the rows of ``statements``, in the shape of ``report_figures``."""
    from needlepoint.insights.filters import ReportOptions
    from needlepoint.insights.queries import _responder_case, movement_mdcs, report_instruments
    from needlepoint.visits.models import Technique

    _, unfit = _responder_case(ReportOptions().rule, tuple(defn.code for defn in report_instruments()))
    figures: Figures = {name: {} for name in NAMES}
    for condition, needled, days, goals_met, n in rows["survival"]:
        _add(figures["survival"], (condition, bool(needled), max(0, int(days)), bool(goals_met)), (n,))
        _add(figures["episodes"], (condition, bool(needled)), (n,))
    for row in rows["measures"]:
        condition, clinician, needled, code, *sums = row
        numbers = [_number(value) for value in sums]
        numbers[8] = None if code in unfit else _count(sums[8])
        figures["measures"][(condition, clinician, bool(needled), code)] = tuple(numbers)
    for row in rows["relief"]:
        condition, needled, episodes, with_baseline, *rest = row
        plain, sums = rest[:6], rest[6:]
        values: list[Any] = [_count(episodes), _count(with_baseline)]
        for index in range(3):
            values += [_count(plain[2 * index]), _count(plain[2 * index + 1]), *_seven(sums[7 * index : 7 * index + 7])]
        figures["relief"][(condition, bool(needled))] = tuple(values)
    mdcs = movement_mdcs()
    for row in rows["rom"]:
        condition, needled, joint, movement, method, episodes, patients, *sums = row
        gain = _seven(sums[0:7])
        beyond = _seven(sums[14:21]) if (joint, movement, method) in mdcs else (None,) * 7
        figures["rom"][(condition, bool(needled), joint, movement, method)] = (
            _count(episodes), _count(patients), gain[0], *gain, *_seven(sums[7:14]), *beyond,
        )  # fmt: skip
    for clinician, techniques, *values in rows["visits"]:
        counts = tuple(_count(value) for value in values)
        _add(figures["clinicians"], (clinician,), counts)
        for code in Technique.values:
            if f",{code}," in (techniques or ""):
                _add(figures["techniques"], (code,), counts)
    for event_type, severity, n in rows["events"]:
        _add(figures["events"], (event_type, severity), (_count(n),))
    return figures


def _number(value: Any) -> Any:
    return 0 if value is None else value


def _count(value: Any) -> int:
    return 0 if value is None else int(value)


def _seven(values: Any) -> tuple[Any, ...]:
    """Seven clustered sums, as the report keeps them (counts as integers, sums exact as returned)."""
    n, total, total_sq, clusters, cluster_sq, cross, count_sq = (_number(value) for value in values)
    return (int(n), total, total_sq, int(clusters), cluster_sq, cross, count_sq)


# ---------------------------------------------------------------------------------------------------- comparing


def compare(expected: Figures, found: Figures) -> list[str]:
    """Every difference between two sets of figures (empty when they agree): a row missing on either side, a
    count that differs at all, a sum that differs by more than 1e-9 relative (and 1e-9 absolute, near zero)."""
    problems = []
    for name in sorted(expected.keys() | found.keys()):
        mine, theirs = expected.get(name, {}), found.get(name, {})
        for key in sorted(mine.keys() - theirs.keys(), key=repr):
            problems.append(f"{name} {key}: missing from the floor")
        for key in sorted(theirs.keys() - mine.keys(), key=repr):
            problems.append(f"{name} {key}: only in the floor")
        for key in sorted(mine.keys() & theirs.keys(), key=repr):
            a, b = mine[key], theirs[key]
            if len(a) != len(b):
                problems.append(f"{name} {key}: {len(a)} figures against {len(b)}")
                continue
            for index, (x, y) in enumerate(zip(a, b, strict=True)):
                if not _same(x, y):
                    problems.append(f"{name} {key}[{index}]: report {x!r}, floor {y!r}")
    return problems


def _same(x: Any, y: Any) -> bool:
    if x is None or y is None:
        return x is None and y is None
    if _integral(x) and _integral(y):
        return int(x) == int(y)
    return math.isclose(float(x), float(y), rel_tol=RELATIVE, abs_tol=ABSOLUTE)


def _integral(value: Any) -> bool:
    """A count or an exact integer sum (int, or a Decimal of a whole number): compared exactly."""
    if isinstance(value, bool | int):
        return True
    return isinstance(value, Decimal) and value == value.to_integral_value()


# ---------------------------------------------------------------------------------------------------- running


@dataclass
class Timed:
    """Figures with the seconds each figure group's statement took."""

    figures: Figures
    seconds: dict[str, float] = field(default_factory=dict)
    single: bool | None = None  # whether each patient had one episode (the floors' sums by patient skip a step)

    @property
    def total(self) -> float:
        """Seconds for every statement."""
        return sum(self.seconds.values())


def _collect(clinic_id: int, as_of: date, dialect: Dialect, run: Callable[[str], list[tuple[Any, ...]]]) -> Timed:
    """Run the statements (after the check for patients with several episodes, timed as "patients")."""
    started = time.perf_counter()
    single = bool(run(one_episode_per_patient_sql(clinic_id, as_of, dialect))[0][0])
    seconds = {"patients": time.perf_counter() - started}
    sql = statements(clinic_id, as_of, dialect, one_episode_per_patient=single)
    rows = {}
    for name, statement in sql.items():
        started = time.perf_counter()
        rows[name] = run(statement)
        seconds[name] = time.perf_counter() - started
    return Timed(figures_from(rows), seconds, single)


def one_pass(clinic_id: int, as_of: date) -> Timed:
    """The statements on the product's database, with the session settings the report uses."""
    from django.db import connection, transaction
    from django.utils import timezone

    dialect = Dialect(connection.vendor, timezone.get_current_timezone_name())
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL jit = off")
            cursor.execute("SET LOCAL work_mem = '64MB'")

        def run(statement: str) -> list[tuple[Any, ...]]:
            cursor.execute(statement)
            return list(cursor.fetchall())

        return _collect(clinic_id, as_of, dialect, run)


# The summary columns the figures read, with their DuckDB types.
COPIED = {
    "insights_episodesummary": {
        "clinic_id": "BIGINT", "episode_id": "BIGINT", "patient_id": "BIGINT", "condition": "VARCHAR",
        "clinician_id": "BIGINT", "opened_at": "TIMESTAMP WITH TIME ZONE", "discharge_date": "DATE",
        "goals_met": "BOOLEAN", "needled": "BOOLEAN", "visits": "BIGINT", "visit1_pain_before": "BIGINT",
        "visit1_pain_after": "BIGINT", "visit2_pain_before": "BIGINT", "visit3_pain_before": "BIGINT",
    },
    "insights_episodemeasuresummary": {
        "clinic_id": "BIGINT", "episode_id": "BIGINT", "instrument": "VARCHAR", "baseline": "DOUBLE",
        "final": "DOUBLE",
    },
    "insights_episodemovementsummary": {
        "clinic_id": "BIGINT", "episode_id": "BIGINT", "joint": "VARCHAR", "movement": "VARCHAR", "method": "VARCHAR",
        "gain": "DOUBLE", "percent_gain": "DOUBLE",
    },
    "insights_visitsummary": {
        "clinic_id": "BIGINT", "clinician_id": "BIGINT", "pain_before": "BIGINT", "pain_after": "BIGINT",
        "mild": "BIGINT", "significant": "BIGINT", "serious": "BIGINT", "techniques": "VARCHAR",
    },
    "insights_visiteventsummary": {
        "clinic_id": "BIGINT", "event_type": "VARCHAR", "severity": "VARCHAR", "events": "BIGINT",
    },
}  # fmt: skip


@dataclass
class DuckCopy:
    """A DuckDB database holding one clinic's summary rows, and how long the copy took."""

    connection: Any
    export_seconds: float  # reading the rows out of the product's database into CSV files
    load_seconds: float  # DuckDB reading those files into its tables
    rows: int

    @property
    def copy_seconds(self) -> float:
        """The whole copy."""
        return self.export_seconds + self.load_seconds


def duckdb_copy(clinic_id: int) -> DuckCopy:
    """Copy the clinic's summary rows (the columns the figures read) into an in-memory DuckDB database."""
    import duckdb
    from django.db import connection

    duck = duckdb.connect()
    duck.execute("SET TimeZone = 'UTC'")  # the stored moments are UTC, as Django's connection reads them
    export_seconds = load_seconds = 0.0
    rows = 0
    with tempfile.TemporaryDirectory(prefix="np-floor-") as folder:
        for table, columns in COPIED.items():
            path = Path(folder) / f"{table}.csv"
            started = time.perf_counter()
            _export(table, list(columns), int(clinic_id), path, connection)
            export_seconds += time.perf_counter() - started
            started = time.perf_counter()
            types = ", ".join(f"'{name}': '{kind}'" for name, kind in columns.items())
            duck.execute(
                f"CREATE TABLE {table} AS SELECT * FROM read_csv('{path}', header = true, "
                f"allow_quoted_nulls = false, columns = {{{types}}})"
            )
            load_seconds += time.perf_counter() - started
            rows += duck.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
    return DuckCopy(duck, export_seconds, load_seconds, rows)


def _export(table: str, columns: list[str], clinic_id: int, path: Path, connection: Any) -> None:
    """The clinic's rows of ``table`` as CSV with a header: NULL as an empty field, text quoted (so '' stays '')."""
    select = f"SELECT {', '.join(columns)} FROM {table} WHERE clinic_id = {clinic_id}"
    with connection.cursor() as cursor, path.open("wb") as out:
        if connection.vendor == "postgresql":
            # PostgreSQL's CSV writes NULL as an empty field and '' quoted already.
            with cursor.cursor.copy(f"COPY ({select}) TO STDOUT (FORMAT csv, HEADER)") as copy:
                for block in copy:
                    out.write(block)
            return
        cursor.execute(select)
        out.write((",".join(columns) + "\n").encode())
        while chunk := cursor.fetchmany(10_000):
            out.write("".join(",".join(_csv_value(value) for value in row) + "\n" for row in chunk).encode())


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return '"' + value.replace('"', '""') + '"'
    if isinstance(value, float):
        return repr(value)
    return str(value)


def on_duckdb(copy: DuckCopy, clinic_id: int, as_of: date) -> Timed:
    """The statements in DuckDB over the copied rows."""
    from django.utils import timezone

    dialect = Dialect("duckdb", timezone.get_current_timezone_name())
    return _collect(clinic_id, as_of, dialect, lambda statement: copy.connection.execute(statement).fetchall())
