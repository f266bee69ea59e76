"""A fair comparison of clinicians: each episode's expected change in pain from the clinic's own history, and per
clinician the observed minus expected change with its interval (what outcome vendors sell as risk adjustment).

The model is ordinary least squares of the change in pain (0-10, last follow-up minus baseline) on the baseline
pain, the patient's age, sex and the chronicity band (days from onset to the episode's opening), with one
intercept per condition. Why OLS: the outcome is continuous and roughly symmetric, every coefficient reads in
pain points, and the fit needs only the sums of products of the design columns (X'X, X'y, y'y), which the
database returns in one aggregate query however many episodes there are. Each condition with enough episodes
gets its own model (its own slopes); the conditions too small for that share one pooled model with a condition
intercept each; conditions too small even for the pooled model are not adjusted and say so.

An OLS fit with an intercept per condition has residuals that average zero in each condition, so a clinician's
observed minus expected change compares them with the clinic's average for similar patients, not with a
published norm. The interval treats each patient as a cluster (a patient may have several episodes with one
clinician) and uses t with patients - 1 degrees of freedom (the CR1 estimator of Cameron and Miller 2015); it
treats the expected values as known, which is fair when the history is much larger than one clinician's share.

Pure module (numpy and scipy only, no Django): the sums come in as plain numbers, results go out as dataclasses.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats as _scipy_stats

from needlepoint.insights.stats import Estimate, Result, mean_ci

_DATA = Path(__file__).parent / "data" / "risk_adjustment.json"

# The design columns after the condition intercepts, in the order the sums arrive. Sex: female is the reference;
# "other" and "unknown" share a column. Chronicity: acute is the reference.
COVARIATES = ("baseline", "age", "male", "other_sex", "subacute", "chronic")
COVARIATE_LABELS = {
    "baseline": "baseline pain (per point)",
    "age": "age (per year)",
    "male": "male (against female)",
    "other_sex": "sex other or not recorded (against female)",
    "subacute": "onset 4 to 12 weeks before (against under 4 weeks)",
    "chronic": "onset over 12 weeks before (against under 4 weeks)",
}
# Sums of products over [1, *COVARIATES, change]: index 0 counts, the last column is the outcome.
WIDTH = len(COVARIATES) + 2
# Eigenvalues of the scaled X'X below this share of the largest are taken as zero: a column with no spread
# (no male patient in a condition) or one that repeats another is dropped rather than fitted on rounding noise.
_RANK_TOLERANCE = 1e-9
DECILES = 10


@cache
def settings() -> dict[str, Any]:
    """The bands and minimum sizes from the data file (each with its source or argument)."""
    loaded: dict[str, Any] = json.loads(_DATA.read_text(encoding="utf-8"))
    return loaded


def episodes_per_parameter() -> int:
    """How many episodes each fitted parameter needs before the model is fitted (10; sources in the data file)."""
    return int(settings()["episodes_per_parameter"]["value"])


def minimum_patients() -> int:
    """How many patients a clinician needs before their observed minus expected change is shown (20)."""
    return int(settings()["minimum_patients_per_clinician"]["value"])


def chronicity_bands() -> list[tuple[str, int | None]]:
    """(band, first day not in it) in order; the last band has no end."""
    return [(band["band"], band["below_days"]) for band in settings()["chronicity_bands"]]


def product_pairs() -> list[tuple[int, int]]:
    """The (i, j) index pairs, i <= j, of the sums of products the database returns, in order."""
    return [(i, j) for i in range(WIDTH) for j in range(i, WIDTH)]


# ---------------------------------------------------------------------------------------------------- the fit


@dataclass(frozen=True)
class ConditionSums:
    """One condition's sums of products of [1, *COVARIATES, change] over its episodes: all the fit needs.

    ``products`` holds the upper triangle in ``product_pairs()`` order; ``products[0]`` is the episode count.
    """

    condition: str
    products: tuple[float, ...]

    @property
    def n(self) -> int:
        """Episodes of the condition with a baseline and a follow-up."""
        return round(self.products[0])

    def matrix(self) -> np.ndarray:
        """The full symmetric WIDTH x WIDTH matrix of sums of products."""
        full = np.zeros((WIDTH, WIDTH))
        for (i, j), value in zip(product_pairs(), self.products, strict=True):
            full[i, j] = full[j, i] = float(value)
        return full


@dataclass(frozen=True)
class Model:
    """One fitted model (a condition alone, or several pooled), or the reason none could be fitted.

    ``intercepts`` maps each condition to its intercept, ``slopes`` each covariate to its coefficient (None for a
    column dropped because it had no value). ``parameters`` counts the design columns with any value.
    """

    key: str
    conditions: tuple[str, ...]
    n: int
    parameters: int
    needed: int
    intercepts: dict[str, float] = field(default_factory=dict)
    slopes: dict[str, float | None] = field(default_factory=dict)
    r_squared: float | None = None
    residual_sd: float | None = None
    reason: str = ""

    @property
    def fitted(self) -> bool:
        """True when the model has coefficients."""
        return not self.reason

    def expected(self, condition: str, covariates: Sequence[float]) -> float:
        """The expected change for one episode of ``condition`` with ``covariates`` in COVARIATES order."""
        value = self.intercepts[condition]
        for name, x in zip(COVARIATES, covariates, strict=True):
            value += (self.slopes[name] or 0.0) * x
        return value


def fit_models(sums: Iterable[ConditionSums], per_parameter: int | None = None) -> list[Model]:
    """One model per condition with at least ``per_parameter`` episodes per parameter; the rest pooled.

    A condition alone has 1 + len(COVARIATES) parameters; the pooled model one intercept per condition plus the
    shared slopes. Conditions too small to be fitted alone and too few together for the pooled model come back
    as one model with the reason instead of coefficients.
    """
    per_parameter = per_parameter or episodes_per_parameter()
    groups = sorted((item for item in sums if item.n > 0), key=lambda item: item.condition)
    alone: list[Model] = []
    small: list[ConditionSums] = []
    for item in groups:
        model = _fit([item], item.condition, per_parameter)
        if model.fitted:
            alone.append(model)
        else:
            small.append(item)
    models = list(alone)
    if small:
        pooled = _fit(small, "pooled" if len(small) > 1 else small[0].condition, per_parameter)
        models.append(pooled)
    return models


def _fit(group: Sequence[ConditionSums], key: str, per_parameter: int) -> Model:
    conditions = tuple(item.condition for item in group)
    n = sum(item.n for item in group)
    xtx, xty, yty = _pooled_normal_equations(group)
    coefficients, rank = _solve(xtx, xty)
    # Parameters are counted as the columns with any non-zero value, not the rank: with fewer episodes than
    # columns the rank is capped by the episodes and would let a tiny history pass its own minimum.
    columns = int((np.diag(xtx) > 0).sum())
    needed = per_parameter * columns
    if n < needed:
        return Model(
            key,
            conditions,
            n,
            columns,
            needed,
            reason=(
                f"Not enough data to fit the model: {n} episodes with a baseline and a follow-up, fewer than the "
                f"{needed} needed ({per_parameter} per parameter, {columns} parameters)."
            ),
        )
    m = len(group)
    total = float(sum(item.matrix()[0, -1] for item in group))
    sse = max(0.0, yty - float(coefficients @ xty))
    sst = yty - total * total / n
    dropped = np.abs(coefficients) == 0
    return Model(
        key,
        conditions,
        n,
        columns,
        needed,
        intercepts={condition: float(coefficients[index]) for index, condition in enumerate(conditions)},
        slopes={
            name: None if dropped[m + index] else float(coefficients[m + index])
            for index, name in enumerate(COVARIATES)
        },
        r_squared=1 - sse / sst if sst > 0 else None,
        residual_sd=math.sqrt(sse / (n - rank)) if n > rank else None,
    )


def _pooled_normal_equations(group: Sequence[ConditionSums]) -> tuple[np.ndarray, np.ndarray, float]:
    """X'X, X'y and y'y of the design [one intercept per condition, *COVARIATES] from each condition's sums."""
    m, k = len(group), len(COVARIATES)
    xtx = np.zeros((m + k, m + k))
    xty = np.zeros(m + k)
    yty = 0.0
    for index, item in enumerate(group):
        full = item.matrix()
        covariates = full[1:-1, 1:-1]
        xtx[index, index] = full[0, 0]
        xtx[index, m:] = xtx[m:, index] = full[0, 1:-1]
        xtx[m:, m:] += covariates
        xty[index] = full[0, -1]
        xty[m:] += full[1:-1, -1]
        yty += full[-1, -1]
    return xtx, xty, yty


def _solve(xtx: np.ndarray, xty: np.ndarray) -> tuple[np.ndarray, int]:
    """A least-squares solution of the normal equations and their rank; columns without spread get 0.

    The equations are scaled to a unit diagonal first (so years and 0/1 columns weigh alike in the rank test);
    any solution of the normal equations gives the same fitted values, so dropping a redundant column changes
    no expected value.
    """
    diagonal = np.diag(xtx).copy()
    keep = diagonal > 0
    solution = np.zeros(len(xty))
    if not keep.any():
        return solution, 0
    scale = 1 / np.sqrt(diagonal[keep])
    scaled = xtx[np.ix_(keep, keep)] * np.outer(scale, scale)
    values, vectors = np.linalg.eigh(scaled)
    kept = values > _RANK_TOLERANCE * values.max()
    inverse = (vectors[:, kept] / values[kept]) @ vectors[:, kept].T
    solution[keep] = scale * (inverse @ (scale * xty[keep]))
    return solution, int(kept.sum())


# ---------------------------------------------------------------------------------------------------- clinicians


@dataclass(frozen=True)
class ResidualSums:
    """One clinician's episodes (in one condition, or all): sums over patients of their residuals.

    For each patient g with n_g episodes and residual sum E_g (observed - expected): ``patients`` = G,
    ``episodes`` = sum n_g, ``residual_sum`` = sum E_g, ``residual_sq`` = sum E_g^2, ``cross`` = sum n_g E_g,
    ``count_sq`` = sum n_g^2; plus the sums of observed and of expected change.
    """

    condition: str  # "" for all conditions together
    clinician_id: int
    patients: int
    episodes: int
    residual_sum: float
    residual_sq: float
    cross: float
    count_sq: float
    observed_sum: float
    expected_sum: float


@dataclass(frozen=True)
class Comparison(Result):
    """A clinician's observed, expected and observed minus expected mean change, or why none is shown."""

    condition: str
    clinician_id: int
    patients: int
    episodes: int
    observed: float | None
    expected: float | None
    difference: float | None
    low: float | None
    high: float | None
    confidence: float
    reason: str = ""

    @property
    def finding(self) -> str:
        """The difference in words: pain fell more or less than expected, or no difference shown."""
        if not self.enough_data:
            return "not enough data"
        if self.high is not None and self.high < 0:
            return "pain fell more than expected"
        if self.low is not None and self.low > 0:
            return "pain fell less than expected"
        return "no difference from expected shown"

    @property
    def text(self) -> str:
        """'-0.8 points (95% CI -1.3 to -0.3; 34 episodes, 30 patients)', or why there is no figure."""
        if not self.enough_data:
            return "not enough data"
        return (
            f"{self.difference:+.1f} points (95% CI {self.low:+.1f} to {self.high:+.1f}; "
            f"{self.episodes} episodes, {self.patients} patients)"
        )


def observed_minus_expected(sums: ResidualSums, minimum: int | None = None, confidence: float = 0.95) -> Comparison:
    """The mean of (observed - expected) change with a cluster-robust (by patient) t interval.

    Variance of the mean: G / (G - 1) x sum_g (E_g - n_g m)^2 / n^2, with m the mean residual, and the sum
    expanded as sum E_g^2 - 2 m sum n_g E_g + m^2 sum n_g^2 so that it comes from the aggregates. With one
    episode per patient this is exactly the usual s^2 / n. Fewer than ``minimum`` patients: no figure.
    """
    minimum = minimum or minimum_patients()
    base = (sums.condition, sums.clinician_id, sums.patients, sums.episodes)
    if sums.patients < max(2, minimum):
        reason = (
            f"Not enough data: fewer than {max(2, minimum)} patients with a baseline and a follow-up; a comparison "
            "this small changes a lot by chance and could point to single patients."
        )
        return Comparison(*base, None, None, None, None, None, confidence, reason)
    n, g = sums.episodes, sums.patients
    mean = sums.residual_sum / n
    spread = max(0.0, sums.residual_sq - 2 * mean * sums.cross + mean * mean * sums.count_sq)
    half = _scipy_stats.t.ppf((1 + confidence) / 2, g - 1) * math.sqrt(g / (g - 1) * spread) / n
    return Comparison(*base, sums.observed_sum / n, sums.expected_sum / n, mean, mean - half, mean + half, confidence)


# ---------------------------------------------------------------------------------------------------- calibration


@dataclass(frozen=True)
class DecileSums:
    """One decile of expected change within one model: count, sum of expected, sum and sum of squares observed."""

    model: str
    decile: int
    n: int
    expected_sum: float
    observed_sum: float
    observed_sum_sq: float


@dataclass(frozen=True)
class CalibrationRow:
    """Mean expected against mean observed change (with its interval) in one decile of expected change."""

    decile: int
    n: int
    expected: float
    observed: Estimate

    @property
    def gap(self) -> float | None:
        """Observed minus expected mean; None without an observed mean."""
        return None if self.observed.value is None else self.observed.value - self.expected


def calibration(rows: Iterable[DecileSums]) -> dict[str, list[CalibrationRow]]:
    """Per model, its deciles in order: a well-calibrated model's observed means follow its expected means.

    The intervals are the plain t intervals of each decile's observed mean (episodes as units): they show the
    scatter around the line, not a test. In the history the model was fitted on, the mean residual of each
    model is zero by construction, so the table shows the shape of the fit (straight or bent), not its transfer
    to new patients.
    """
    found: dict[str, list[CalibrationRow]] = {}
    for row in sorted(rows, key=lambda item: (item.model, item.decile)):
        observed = mean_ci(row.n, row.observed_sum, row.observed_sum_sq)
        found.setdefault(row.model, []).append(CalibrationRow(row.decile, row.n, row.expected_sum / row.n, observed))
    return found
