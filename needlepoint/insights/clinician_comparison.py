"""The risk-adjusted comparison of clinicians, run inside the database: the page's and the command's one entry.

The filtered episodes with a baseline pain score go once into a temporary table (one row per episode: condition,
clinician who opened it, patient, covariates, baseline and change in pain). Three aggregate queries then read
it: the sums of products per condition that fit the models (``risk_adjustment.py``), the residual sums per
clinician and patient, and the calibration deciles. No query returns one row per episode, so the memory the
comparison needs does not grow with the clinic's history; the models are refitted on every run, from the
history the filters select.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Case, DurationField, ExpressionWrapper, F, IntegerField, Q, QuerySet, Value, When
from django.db.models.functions import ExtractDay, ExtractMonth, ExtractYear, TruncDate
from django.utils import timezone

from needlepoint.accounts.models import Membership
from needlepoint.insights import risk_adjustment as ra
from needlepoint.insights.filters import ReportFilters, episodes
from needlepoint.insights.queries import EPISODE_MEASURES_SQL, for_aggregates, unprepared
from needlepoint.insights.suppression import suppress_breakdown
from needlepoint.patients.conditions import condition_label

PAIN_INSTRUMENT = "NPRS"
SCOPE_TABLE = "insights_fair_scope"
EPISODES_TABLE = "insights_fair_episodes"
# The per-episode columns of the scope table in the order of ``risk_adjustment.COVARIATES``, then the outcome.
COLUMNS = (*ra.COVARIATES, "change")

METHOD = (
    "Outcome: change in pain (0-10) from the episode's baseline score to its last later score (re-assessment or "
    "discharge); negative is better. Episodes without both scores are left out and counted.",
    "Expected change: ordinary least squares on baseline pain, age, sex, chronicity (days from onset to the "
    "episode: under 4 weeks, 4 to 12, over 12) and condition, fitted on this clinic's own episodes as filtered, "
    "each time the page is opened. A condition with at least 10 episodes per parameter gets its own model; "
    "smaller conditions share one pooled model with a condition intercept each; smaller still, none.",
    "Observed minus expected: each clinician's mean over the episodes they opened. Each model's residuals average "
    "zero, so the comparison is with the clinic's own average for similar patients, not with a national norm.",
    "95% interval: treats each patient as a cluster (several episodes of one patient are not independent), t with "
    "patients - 1 degrees of freedom; it treats the expected values as known.",
    "Calibration: episodes ranked by expected change into ten equal groups per model; a model that fits follows "
    "the line observed = expected. It is checked on the episodes it was fitted on, so it shows the model's shape, "
    "not how it would do on new patients.",
)
LIMITS = (
    "This adjusts only for what is recorded: baseline pain, age, sex, chronicity and condition. Anything else that "
    "differs between clinicians' patients (other illnesses, work and compensation, expectations, psychological "
    "factors, how many visits they could attend) is not adjusted for and can still explain a difference.",
    "Patients were not randomised to clinicians; a difference is not proof that one clinician's care is better.",
    "Episodes without a follow-up score are left out; if one clinician's patients drop out more often, or for other "
    "reasons, the comparison can mislead. The count left out is shown for each clinician.",
)


@dataclass(frozen=True)
class ClinicianRow:
    """One clinician's comparison in one condition ('' for all conditions), with their name."""

    clinician_id: int
    name: str
    condition: str
    comparison: ra.Comparison | None  # None when withheld so that a smaller group cannot be worked out
    withheld_reason: str = ""
    left_out: int = 0  # episodes with a baseline but no follow-up score


@dataclass(frozen=True)
class ConditionBlock:
    """A condition's (or all conditions') clinician rows."""

    condition: str
    label: str
    rows: tuple[ClinicianRow, ...]


@dataclass(frozen=True)
class ModelSection:
    """One model as the page shows it: its name, its fit (or why none) and its calibration table."""

    label: str
    model: ra.Model
    calibration: tuple[ra.CalibrationRow, ...]

    @property
    def slopes(self) -> list[tuple[str, float | None]]:
        """(covariate in words, coefficient in pain points or None when the column had no spread)."""
        return [(ra.COVARIATE_LABELS[name], self.model.slopes.get(name)) for name in ra.COVARIATES]


@dataclass(frozen=True)
class ComparisonReport:
    """Everything the page, the command and ``--json`` show about the risk-adjusted comparison."""

    clinic_name: str
    as_of: date
    filters: ReportFilters
    with_baseline: int
    with_follow_up: int
    adjusted: int  # episodes in a fitted model
    models: tuple[ra.Model, ...]
    calibration: dict[str, list[ra.CalibrationRow]]
    blocks: tuple[ConditionBlock, ...]
    minimum_patients: int
    method: tuple[str, ...] = METHOD
    limits: tuple[str, ...] = LIMITS
    hidden_clinicians: int = 0  # rows of other clinicians not shown to this viewer
    notes: list[str] = field(default_factory=list)

    @property
    def enough_data(self) -> bool:
        """True when at least one model could be fitted."""
        return any(model.fitted for model in self.models)

    @property
    def sections(self) -> list[ModelSection]:
        """Each model with its name and calibration (none for a model that could not be fitted)."""
        return [
            ModelSection(
                ", ".join(condition_label(code) for code in model.conditions)
                + (" (pooled)" if len(model.conditions) > 1 else ""),
                model,
                tuple(self.calibration.get(model.key, ())) if model.fitted else (),
            )
            for model in self.models
        ]


# ---------------------------------------------------------------------------------------------------- queries


def _episode_select(filters: ReportFilters) -> tuple[str, Sequence[Any]]:
    """SQL of the filtered episodes with their covariates (age in whole years at opening, sex, chronicity)."""
    bands = ra.chronicity_bands()
    onset = ExpressionWrapper(TruncDate("opened_at") - F("onset_date"), output_field=DurationField())
    queryset = (
        episodes(filters)
        .annotate(
            onset_days=onset,
            opened_year=ExtractYear("opened_at"),
            opened_month=ExtractMonth("opened_at"),
            opened_day=ExtractDay("opened_at"),
            birth_year=ExtractYear("patient__date_of_birth"),
            birth_month=ExtractMonth("patient__date_of_birth"),
            birth_day=ExtractDay("patient__date_of_birth"),
        )
        .annotate(
            age=F("opened_year")
            - F("birth_year")
            - Case(
                When(
                    Q(opened_month__lt=F("birth_month"))
                    | Q(opened_month=F("birth_month"), opened_day__lt=F("birth_day")),
                    then=Value(1),
                ),
                default=Value(0),
                output_field=IntegerField(),
            ),
            male=Case(When(patient__sex="male", then=Value(1)), default=Value(0), output_field=IntegerField()),
            other_sex=Case(
                When(patient__sex__in=("other", "unknown"), then=Value(1)),
                default=Value(0),
                output_field=IntegerField(),
            ),
            subacute=_band(bands, 1),
            chronic=_band(bands, 2),
        )
    )
    columns = ("id", "condition", "opened_by_id", "patient_id", "age", "male", "other_sex", "subacute", "chronic")
    return queryset.values(*columns).query.sql_with_params()


def _band(bands: list[tuple[str, int | None]], index: int) -> Case:
    """1 when the days from onset to opening fall in band ``index`` (0 acute, 1 subacute, 2 chronic), else 0."""
    start = bands[index - 1][1] or 0  # every band but the last has an end
    end = bands[index][1]
    condition = Q(onset_days__gte=timedelta(days=start))
    if end is not None:
        condition &= Q(onset_days__lt=timedelta(days=end))
    return Case(When(condition, then=Value(1)), default=Value(0), output_field=IntegerField())


@contextmanager
def comparison_scope(filters: ReportFilters) -> Iterator[str]:
    """A temporary table of the filtered episodes that have a baseline pain score, dropped afterwards.

    Columns: id, condition, clinician_id, patient_id, the covariates, baseline, and change (NULL without a
    follow-up). The baseline and the last score follow the claims report's definition (``EPISODE_MEASURES_SQL``).
    The filtered episodes are stored first, indexed and analysed, so that the database plans the pass over the
    pain scores with an exact row count (as a CTE it guessed 200 rows and looked each episode up one by one).
    """
    select_sql, params = _episode_select(filters)
    table = connection.ops.quote_name(SCOPE_TABLE)
    episodes_table = connection.ops.quote_name(EPISODES_TABLE)
    sql = f"""
        CREATE TEMPORARY TABLE {table} AS
        WITH {EPISODE_MEASURES_SQL.format(marks="%s", episodes=episodes_table)},
        p AS (
            SELECT obs.episode_id,
                   CASE WHEN obs.first_time_point = 'baseline' THEN obs.first_value END AS baseline,
                   CASE WHEN obs.time_point <> 'baseline' THEN obs.value END AS final
            FROM obs WHERE obs.next_id IS NULL
        )
        SELECT ep.id, ep.condition, ep.opened_by_id AS clinician_id, ep.patient_id, ep.age, ep.male, ep.other_sex,
               ep.subacute, ep.chronic, p.baseline, p.final - p.baseline AS change
        FROM {episodes_table} ep JOIN p ON p.episode_id = ep.id
        WHERE p.baseline IS NOT NULL
    """
    postgres = connection.vendor == "postgresql"
    # As the claims report's scope: the settings for aggregates, for the length of the comparison only.
    with unprepared(), transaction.atomic() if postgres else nullcontext(), connection.cursor() as cursor:
        for_aggregates(cursor)
        cursor.execute(f"DROP TABLE IF EXISTS {table}")
        cursor.execute(f"DROP TABLE IF EXISTS {episodes_table}")
        cursor.execute(f"CREATE TEMPORARY TABLE {episodes_table} AS {select_sql}", params)
        cursor.execute(f"CREATE INDEX {connection.ops.quote_name(EPISODES_TABLE + '_id')} ON {episodes_table} (id)")
        cursor.execute(f"ANALYZE {episodes_table}")
        cursor.execute(sql, (filters.clinic_id, PAIN_INSTRUMENT))
        cursor.execute(f"DROP TABLE {episodes_table}")
        try:
            yield table
        finally:
            cursor.execute(f"DROP TABLE IF EXISTS {table}")


def _run(sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows: list[tuple[Any, ...]] = cursor.fetchall()
    return rows


def _column(index: int) -> str:
    return "1.0" if index == 0 else f"s.{COLUMNS[index - 1]}"


def condition_sums(table: str) -> list[ra.ConditionSums]:
    """Per condition, the sums of products of [1, *COVARIATES, change] over its episodes with a follow-up."""
    sums = ", ".join(
        "COUNT(*)" if (i, j) == (0, 0) else f"SUM({_column(i)} * {_column(j)})" for i, j in ra.product_pairs()
    )
    rows = _run(f"SELECT s.condition, {sums} FROM {table} s WHERE s.change IS NOT NULL GROUP BY s.condition")
    return [ra.ConditionSums(row[0], tuple(float(value or 0) for value in row[1:])) for row in rows]


def _expected_sql(models: Sequence[ra.Model]) -> tuple[str, str, list[Any]]:
    """SQL CASE expressions for each episode's expected change and its model's key, with their parameters."""
    expected: list[str] = []
    keys: list[str] = []
    expected_params: list[Any] = []
    key_params: list[Any] = []
    for model in models:
        if not model.fitted:
            continue
        slopes = " + ".join(f"{(model.slopes[name] or 0.0)!r} * s.{name}" for name in ra.COVARIATES)
        for condition in model.conditions:
            expected.append(f"WHEN %s THEN {model.intercepts[condition]!r} + {slopes}")
            expected_params.append(condition)
            keys.append("WHEN %s THEN %s")
            key_params.extend((condition, model.key))
    if not expected:
        return "NULL", "NULL", []
    return (
        f"CASE s.condition {' '.join(expected)} END",
        f"CASE s.condition {' '.join(keys)} END",
        [*expected_params, *key_params],
    )


def _fitted_cte(table: str, models: Sequence[ra.Model]) -> tuple[str, list[Any]]:
    expected, key, params = _expected_sql(models)
    sql = f"""f AS (
            SELECT * FROM (
                SELECT s.id, s.condition, s.clinician_id, s.patient_id, s.change AS y, {expected} AS x, {key} AS model
                FROM {table} s WHERE s.change IS NOT NULL
            ) e WHERE e.x IS NOT NULL
        )"""
    return sql, params


def residual_sums(table: str, models: Sequence[ra.Model]) -> list[ra.ResidualSums]:
    """Per clinician, per condition and over all conditions: patient-level sums of observed - expected change."""
    fitted, params = _fitted_cte(table, models)
    per_patient = "COUNT(*) AS n, SUM(y - x) AS r, SUM(y) AS sy, SUM(x) AS sx"
    totals = "COUNT(*), SUM(n), SUM(r), SUM(r * r), SUM(n * r), SUM(n * n), SUM(sy), SUM(sx)"
    sql = f"""
        WITH {fitted},
        g AS (SELECT condition, clinician_id, patient_id, {per_patient} FROM f
              GROUP BY condition, clinician_id, patient_id),
        h AS (SELECT clinician_id, patient_id, {per_patient} FROM f GROUP BY clinician_id, patient_id)
        SELECT condition, clinician_id, {totals} FROM g GROUP BY condition, clinician_id
        UNION ALL
        SELECT '', clinician_id, {totals} FROM h GROUP BY clinician_id
    """
    return [
        ra.ResidualSums(row[0], row[1], int(row[2]), int(row[3]), *(float(value) for value in row[4:]))
        for row in _run(sql, params)
    ]


def decile_sums(table: str, models: Sequence[ra.Model]) -> list[ra.DecileSums]:
    """Per fitted model, its episodes ranked by expected change into ten groups, with their sums."""
    fitted, params = _fitted_cte(table, models)
    sql = f"""
        WITH {fitted},
        d AS (SELECT model, x, y, NTILE({ra.DECILES}) OVER (PARTITION BY model ORDER BY x, id) AS decile FROM f)
        SELECT model, decile, COUNT(*), SUM(x), SUM(y), SUM(y * y) FROM d GROUP BY model, decile
    """
    return [
        ra.DecileSums(row[0], int(row[1]), int(row[2]), *(float(value) for value in row[3:]))
        for row in _run(sql, params)
    ]


def follow_up_counts(table: str) -> dict[tuple[str, int], tuple[int, int]]:
    """(condition, clinician) -> (episodes with a baseline, of which with a follow-up score)."""
    rows = _run(
        f"SELECT condition, clinician_id, COUNT(*), COUNT(change) FROM {table} GROUP BY condition, clinician_id"
    )
    return {(row[0], row[1]): (int(row[2]), int(row[3])) for row in rows}


# ---------------------------------------------------------------------------------------------------- the report


def clinician_comparison(clinic: Any, filters: ReportFilters, viewer: Membership | None = None) -> ComparisonReport:
    """The risk-adjusted comparison for ``clinic`` under ``filters``; a clinician viewer gets only their own rows.

    ``viewer`` None (the command line) or a clinic admin sees every clinician; a clinician sees their own rows
    and how many others were left out. Everything else (models, calibration) is the same for every viewer.
    """
    with comparison_scope(filters) as table:
        sums = condition_sums(table)
        models = ra.fit_models(sums)
        residuals = residual_sums(table, models) if any(model.fitted for model in models) else []
        deciles = decile_sums(table, models) if residuals else []
        counts = follow_up_counts(table)
    names = {row.pk: row.user.get_full_name() or row.user.username for row in _members(filters.clinic_id)}
    own_only = viewer is not None and viewer.role == "clinician"
    blocks, hidden = _blocks(residuals, counts, names, viewer.pk if own_only and viewer else None)
    return ComparisonReport(
        clinic_name=clinic.name,
        as_of=timezone.localdate(),
        filters=filters,
        with_baseline=sum(total for total, _ in counts.values()),
        with_follow_up=sum(done for _, done in counts.values()),
        adjusted=sum(model.n for model in models if model.fitted),
        models=tuple(models),
        calibration=ra.calibration(deciles),
        blocks=blocks,
        minimum_patients=ra.minimum_patients(),
        hidden_clinicians=hidden,
    )


def _members(clinic_id: int) -> QuerySet[Membership]:
    return Membership.objects.filter(clinic_id=clinic_id).select_related("user")


def _blocks(
    residuals: list[ra.ResidualSums],
    counts: dict[tuple[str, int], tuple[int, int]],
    names: dict[int, str],
    only: int | None,
) -> tuple[tuple[ConditionBlock, ...], int]:
    """Clinician rows per condition (all conditions first), small groups withheld, then limited to ``only``."""
    by_condition: dict[str, list[ra.ResidualSums]] = {}
    for item in residuals:
        by_condition.setdefault(item.condition, []).append(item)
    left_out: dict[tuple[str, int], int] = {}
    for (condition, clinician), (total, done) in counts.items():
        for key in ((condition, clinician), ("", clinician)):
            left_out[key] = left_out.get(key, 0) + total - done
    blocks, hidden = [], set()
    for condition in sorted(by_condition, key=lambda code: (code != "", condition_label(code) if code else "")):
        items = by_condition[condition]
        # The patients of each clinician add up to the model's total, so one small group alone would show.
        suppression = suppress_breakdown({item.clinician_id: item.patients for item in items}, ra.minimum_patients())
        rows = []
        for item in sorted(items, key=lambda item: names.get(item.clinician_id, "")):
            if only is not None and item.clinician_id != only:
                hidden.add(item.clinician_id)
                continue
            check = suppression[item.clinician_id]
            withheld = check.suppressed and item.patients >= ra.minimum_patients()
            rows.append(
                ClinicianRow(
                    item.clinician_id,
                    names.get(item.clinician_id, f"clinician #{item.clinician_id}"),
                    condition,
                    None if withheld else ra.observed_minus_expected(item),
                    check.reason if withheld else "",
                    left_out.get((condition, item.clinician_id), 0),
                )
            )
        label = "All conditions" if condition == "" else condition_label(condition)
        blocks.append(ConditionBlock(condition, label, tuple(rows)))
    return tuple(blocks), len(hidden)
