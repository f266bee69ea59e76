"""The honest floor of the claims report: the same figures as the report's summary path, computed the fastest ways
found, and a check that they agree with the report's.

The report (``needlepoint/insights/report.py``) reads the per-episode summary tables (``summaries.py``) through a
temporary scope table, the summary cells of its whole months (``cells.py``) and the queries of ``queries.py``. For
a report's filters (``ReportFilters``: the whole clinic, or a clinician, condition, date range, imported cohort,
muscle or technique; default options) this module computes the same figures, per condition and needled flag
(measures also per clinician, as the report asks for them):

- episodes, and survival rows (time in care and outcome);
- per instrument the measure sums: with a baseline, baseline sum and sum of squares, completers, final and change
  sums and sums of squares, responders by the default rule;
- relief at the end of visit 1, before visit 2 and before visit 3, with its sums by patient;
- range-of-motion gain per movement and method, with its sums by patient and the gains beyond the MDC;
- the needled visits by clinician and by technique, and the adverse events by type and severity;

in two ways, with one hand-written aggregate statement per figure group over the summary rows (no scope table, no
cells):

- one pass: those statements on the product's database (PostgreSQL or SQLite), with the report's own session
  settings (no JIT, 64 MB of sort memory);
- DuckDB: the same statements in DuckDB, an embedded columnar engine, over the clinic's summary rows copied into
  it (the columns the figures and the filters read); the copy is timed apart from the queries.

The filters restrict the summary rows as the product's do (``filters.episode_rows``, ``summaries.summary_episodes``
and ``summaries._visit_rows``): the episodes by condition, the clinician who opened them, the day they opened (the
clinic's midnights, ``filters.day_start``) and the cohort label the refresh copied from ``EpisodeCohort``; the needled
visits and their adverse events by the clinician who gave them, the day given, the episode's condition and cohort
label; both by the muscle or technique in their ``needling`` column (``summaries.needled_pair``). Under a technique
filter the technique rows hold that technique alone, and under a muscle filter a visit counts under a technique
only where it used that technique on the muscle, as in ``queries.visit_breakdowns``.

The statements reuse the product's SQL fragments (the groupings, the responder rule, the clustered sums, the
visit figures, the needling pattern), so a definition the product changes moves the floor with it; the relief and
MDC conditions and the filters' conditions are restated here, and ``compare`` (run by the benchmark, and by
tests/insights/test_claims_floor.py on a small clinic under each filter kind) fails when they drift.

``FILTER_KINDS`` names the filters the benchmarks and the test use (``kind_filters`` turns one into a clinic's
``ReportFilters``; ``label_cohorts`` gives a synthetic clinic the cohort labels the cohort kind needs).

Run by ``claims_report.py`` (``--filters`` for every filter kind), which imports it with this folder on its path;
the test imports it as ``benchmarks.claims_floor``.
"""

from __future__ import annotations

import math
import re
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from needlepoint.insights.filters import ReportFilters

# Figures: for each figure group, its rows by key, each a tuple of numbers (None where the report has no value).
Figures = dict[str, dict[tuple[Any, ...], tuple[Any, ...]]]
GROUPS = ("survival", "measures", "relief", "rom", "visits", "events")  # one statement each
# The figures, by name: "visits" gives the clinicians' and the techniques' rows.
NAMES = ("episodes", "survival", "measures", "relief", "rom", "clinicians", "techniques", "events")
# Sums may differ in their last bits with the order of addition; counts may not differ at all. A sum that cancels
# to about zero (a change sum) has no relative precision, hence the absolute floor.
RELATIVE = 1e-9
ABSOLUTE = 1e-9

# The report's filters the benchmarks and the test measure, as a page's GET parameters ("{clinician}": the clinic's
# first clinician). Each but "clinic" covers some episodes and visits of a synthetic clinic, but not all (the cohort
# once ``label_cohorts`` has labelled a third of the episodes).
COHORT = "arm-a"
FILTER_KINDS: dict[str, dict[str, str]] = {
    "clinic": {},
    "clinician": {"clinician": "{clinician}"},
    "condition": {"condition": "neck_pain"},
    "dates": {"date_from": "2025-01-01", "date_to": "2025-12-31"},
    "cohort": {"cohort": COHORT},
    "muscle": {"muscle": "upper-trapezius"},
    "technique": {"technique": "static"},
}


def kind_params(clinic_id: int, kind: str) -> dict[str, str]:
    """The GET parameters of one filter kind for the clinic."""
    from needlepoint.accounts.models import Membership

    first = Membership.objects.filter(clinic_id=clinic_id, role="clinician").order_by("pk").values_list("pk", flat=True)
    return {key: value.format(clinician=first.first()) for key, value in FILTER_KINDS[kind].items()}


def kind_filters(clinic_id: int, kind: str) -> ReportFilters:
    """One filter kind's ``ReportFilters`` for the clinic, parsed as the page parses its parameters."""
    from needlepoint.insights.filters import parse_filters

    return parse_filters(clinic_id, kind_params(clinic_id, kind))[0]


def label_cohorts(clinic: Any) -> None:
    """Give every third episode of the clinic the imported cohort label ``COHORT``, once (the generator makes none),
    in one statement, as an outcome import would; the clinic's summary needs a refresh afterwards."""
    from django.db import connection, transaction

    from needlepoint.accounts.models import Membership
    from needlepoint.insights.models import EpisodeCohort, OutcomeImport
    from needlepoint.patients.models import Episode

    if EpisodeCohort.objects.filter(clinic=clinic).exists():
        return
    admin = Membership.objects.filter(clinic=clinic, role="clinic_admin").first()
    with transaction.atomic():
        run = OutcomeImport.objects.create(
            clinic=clinic, imported_by=admin, file_name="benchmark-cohorts.csv", file_sha256="0" * 64, condition=""
        )
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {EpisodeCohort._meta.db_table} (clinic_id, episode_id, outcome_import_id, label) "
                f"SELECT clinic_id, id, %s, %s FROM {Episode._meta.db_table} WHERE clinic_id = %s AND id %% 3 = 0",
                [run.pk, COHORT, clinic.pk],
            )


# ---------------------------------------------------------------------------------------------------- the report


def report_figures(filters: ReportFilters, as_of: date) -> Timed:
    """The figures as the report's summary path computes them (the queries ``claims_report`` runs, with the
    arguments it gives them for these filters and the default options, the summary cells of the whole months
    included), and the seconds each query took."""
    from needlepoint.insights import queries, summaries
    from needlepoint.insights.claims import RELIEF_PERCENT, RELIEF_POINTS
    from needlepoint.insights.filters import ReportOptions
    from needlepoint.insights.summaries import latest_refresh

    options = ReportOptions()
    seconds: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        seconds[name] = seconds.get(name, 0.0) + now - clock
        clock = now

    refresh = latest_refresh(filters.clinic_id)
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
        text = value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
        if self.name == "sqlite":
            return f"'{text}'"  # Django stores SQLite date-times as UTC text
        return f"CAST('{text}+00' AS TIMESTAMP WITH TIME ZONE)"

    def contains(self, column: str, text: str) -> str:
        """``column`` holds ``text`` as plain text (the filters' ``needling__contains``)."""
        return f"{'INSTR' if self.name == 'sqlite' else 'STRPOS'}({column}, {_literal(text)}) > 0"

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


SAFE_LITERAL = re.compile(r"^[A-Za-z0-9 ._:,/-]*$")


def _literal(text: str) -> str:
    """A filter value as an SQL string literal: the floor's statements run unchanged on three engines, so values are
    written into them, and only plain labels and ids are (a cohort label is free text in the product)."""
    if not SAFE_LITERAL.match(text):
        raise ValueError(f"the floor writes plain labels and ids into its SQL only; got {text!r}")
    return "'" + text + "'"


def rows_where(filters: ReportFilters, dialect: Dialect, alias: str, moment: str) -> str:
    """SQL: the summary rows ``alias`` the filters cover, as the product narrows them (``filters.episode_rows`` and
    ``summaries.summary_episodes`` for episode rows, ``summaries._visit_rows`` for the needled visits and their
    events): the clinic, the condition, the clinician (who opened an episode, who gave a visit: ``clinician_id``
    on both), the dates (``moment``: ``opened_at`` or ``started_at``, from the clinic's midnights), the imported
    cohort's label and the muscle or technique needled (in the ``needling`` column)."""
    from needlepoint.insights.filters import day_start
    from needlepoint.insights.summaries import needled_pair

    where = [f"{alias}.clinic_id = {int(filters.clinic_id)}"]
    if filters.condition:
        where.append(f"{alias}.condition = {_literal(filters.condition)}")
    if filters.clinician_id is not None:
        where.append(f"{alias}.clinician_id = {int(filters.clinician_id)}")
    if filters.date_from:
        where.append(f"{alias}.{moment} >= {dialect.moment(day_start(filters.date_from))}")
    if filters.date_to:
        where.append(f"{alias}.{moment} < {dialect.moment(day_start(filters.date_to + timedelta(days=1)))}")
    if filters.cohort is not None:
        where.append(f"{alias}.cohort_label = {_literal(filters.cohort)}")
    if filters.needling_filter:
        where.append(dialect.contains(f"{alias}.needling", needled_pair(filters)))
    return " AND ".join(where)


def scope_sql(filters: ReportFilters, as_of: date, dialect: Dialect, extra: str = "") -> str:
    """The report's scope (``report_scope``: the summarised episodes the filters cover, opened by ``as_of``) as a
    CTE ``ep`` with the scope table's columns, read straight from the summary instead of stored in a table first."""
    from needlepoint.insights import queries
    from needlepoint.insights.filters import day_start

    before = dialect.moment(day_start(as_of + timedelta(days=1)))  # opened by the end of as_of, as report_scope
    return f"""ep AS (
            SELECT e.episode_id AS id, e.patient_id, e.condition, e.clinician_id AS opened_by_id, e.needled,
                   e.visits, e.visit1_pain_before AS base, e.visit1_pain_after AS after_1,
                   e.visit2_pain_before AS before_2, e.visit3_pain_before AS before_3 {extra}
            FROM {queries.SUMMARY_EPISODES} e
            WHERE {rows_where(filters, dialect, "e", "opened_at")} AND e.opened_at < {before}
        )"""


def technique_codes(filters: ReportFilters) -> list[str]:
    """The techniques the report breaks the visits down by: the one filtered on, else every technique."""
    from needlepoint.visits.models import Technique

    return [filters.technique] if filters.technique else list(Technique.values)


def one_episode_per_patient_sql(filters: ReportFilters, as_of: date, dialect: Dialect) -> str:
    """Whether every patient has one episode in the scope (then the sums by patient are the episodes' own)."""
    return f"""
        WITH {scope_sql(filters, as_of, dialect)}
        SELECT CASE WHEN EXISTS (SELECT 1 FROM ep GROUP BY patient_id HAVING COUNT(*) > 1)
                      OR EXISTS (SELECT 1 FROM ep WHERE patient_id IS NULL) THEN 0 ELSE 1 END
    """


def statements(
    filters: ReportFilters, as_of: date, dialect: Dialect, *, one_episode_per_patient: bool
) -> dict[str, str]:
    """One aggregate statement per figure group, straight over the summary tables (the report's definitions),
    over the rows the filters cover.

    With ``one_episode_per_patient`` the sums by patient skip the grouping by patient, as the report's do."""
    from needlepoint.insights import queries
    from needlepoint.insights.claims import RELIEF_PERCENT, RELIEF_POINTS
    from needlepoint.insights.filters import ReportOptions
    from needlepoint.insights.responders import MissingPolicy

    options = ReportOptions()
    assert options.missing is MissingPolicy.ITT, "the floor states the default policy, intention to treat"
    clinic = int(filters.clinic_id)
    scope = scope_sql(filters, as_of, dialect)
    # OFFSET 0 keeps PostgreSQL from working out each value once per sum that reads it, as in the report.
    fence = "OFFSET 0" if dialect.name == "postgresql" else ""
    step = queries.PatientStep(grouped=not one_episode_per_patient, fence=fence)

    carried, keys = queries._carried(("condition",))
    survival = f"""
        WITH {scope_sql(filters, as_of, dialect, extra=f", {dialect.days(as_of)} AS days, e.goals_met")}
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
    # By clinician and the set of techniques each visit used (a handful of sets), added up per technique below;
    # under a muscle filter, by a flag per technique used on that muscle (``figures_from`` reads either).
    if filters.muscle:
        used = ", ".join(
            f"CASE WHEN {dialect.contains('v.needling', f',{filters.muscle}/{code},')} THEN 1 ELSE 0 END"
            for code in technique_codes(filters)
        )
    else:
        used = "v.techniques"
    visits = f"""
        SELECT v.clinician_id, {used}, {figures}
        FROM {queries.SUMMARY_VISITS} v WHERE {rows_where(filters, dialect, "v", "started_at")}
        GROUP BY v.clinician_id, {used}
    """
    events = f"""
        SELECT v.event_type, v.severity, SUM(v.events) FROM {queries.SUMMARY_EVENTS} v
        WHERE {rows_where(filters, dialect, "v", "started_at")} GROUP BY v.event_type, v.severity
    """
    return {"survival": survival, "measures": measures, "relief": relief, "rom": rom, "visits": visits,
            "events": events}  # fmt: skip


def figures_from(rows: Mapping[str, list[tuple[Any, ...]]], filters: ReportFilters) -> Figures:
    """The figures from the rows of ``statements`` over the filters, in the shape of ``report_figures``."""
    from needlepoint.insights.filters import ReportOptions
    from needlepoint.insights.queries import _responder_case, movement_mdcs, report_instruments

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
    codes = technique_codes(filters)
    width = len(codes) if filters.muscle else 1  # a flag per technique, or the set of techniques used
    for clinician, *keys_and_values in rows["visits"]:
        keys, values = keys_and_values[:width], keys_and_values[width:]
        counts = tuple(_count(value) for value in values)
        _add(figures["clinicians"], (clinician,), counts)
        for index, code in enumerate(codes):
            used = bool(keys[index]) if filters.muscle else f",{code}," in (keys[0] or "")
            if used:
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


def _collect(
    filters: ReportFilters, as_of: date, dialect: Dialect, run: Callable[[str], list[tuple[Any, ...]]]
) -> Timed:
    """Run the statements (after the check for patients with several episodes, timed as "patients")."""
    started = time.perf_counter()
    single = bool(run(one_episode_per_patient_sql(filters, as_of, dialect))[0][0])
    seconds = {"patients": time.perf_counter() - started}
    sql = statements(filters, as_of, dialect, one_episode_per_patient=single)
    rows = {}
    for name, statement in sql.items():
        started = time.perf_counter()
        rows[name] = run(statement)
        seconds[name] = time.perf_counter() - started
    return Timed(figures_from(rows, filters), seconds, single)


def one_pass(filters: ReportFilters, as_of: date) -> Timed:
    """The statements on the product's database over the filters, with the session settings the report uses."""
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

        return _collect(filters, as_of, dialect, run)


# The summary columns the figures and the filters read, with their DuckDB types.
COPIED = {
    "insights_episodesummary": {
        "clinic_id": "BIGINT", "episode_id": "BIGINT", "patient_id": "BIGINT", "condition": "VARCHAR",
        "clinician_id": "BIGINT", "cohort_label": "VARCHAR", "opened_at": "TIMESTAMP WITH TIME ZONE",
        "discharge_date": "DATE", "goals_met": "BOOLEAN", "needled": "BOOLEAN", "visits": "BIGINT",
        "visit1_pain_before": "BIGINT", "visit1_pain_after": "BIGINT", "visit2_pain_before": "BIGINT",
        "visit3_pain_before": "BIGINT", "needling": "VARCHAR",
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
        "clinic_id": "BIGINT", "clinician_id": "BIGINT", "started_at": "TIMESTAMP WITH TIME ZONE",
        "condition": "VARCHAR", "cohort_label": "VARCHAR", "pain_before": "BIGINT", "pain_after": "BIGINT",
        "mild": "BIGINT", "significant": "BIGINT", "serious": "BIGINT", "techniques": "VARCHAR", "needling": "VARCHAR",
    },
    "insights_visiteventsummary": {
        "clinic_id": "BIGINT", "clinician_id": "BIGINT", "started_at": "TIMESTAMP WITH TIME ZONE",
        "condition": "VARCHAR", "cohort_label": "VARCHAR", "needling": "VARCHAR", "event_type": "VARCHAR",
        "severity": "VARCHAR", "events": "BIGINT",
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


def on_duckdb(copy: DuckCopy, filters: ReportFilters, as_of: date) -> Timed:
    """The statements in DuckDB over the copied rows, under the filters (the copy holds the whole clinic's)."""
    from django.utils import timezone

    dialect = Dialect("duckdb", timezone.get_current_timezone_name())
    return _collect(filters, as_of, dialect, lambda statement: copy.connection.execute(statement).fetchall())
