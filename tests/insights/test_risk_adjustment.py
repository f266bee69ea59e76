"""The risk-adjusted comparison of clinicians: hand-built episodes written to the real database, the figures checked
against an independent per-episode computation in numpy, the minimum sizes, the calibration arithmetic, and the
page's roles and query budget."""

from __future__ import annotations

import itertools
import math
import random
from datetime import timedelta

import numpy as np
import pytest
from django.db import connection
from scipy import stats

from needlepoint.accounts.models import AuditEntry
from needlepoint.insights import risk_adjustment as ra
from needlepoint.insights.clinician_comparison import clinician_comparison
from needlepoint.insights.filters import ReportFilters
from needlepoint.patients.models import Episode, Patient
from tests.conftest import audit_lock_queries, client_for
from tests.insights.evidence_data import moment, observation

_numbers = itertools.count(1)


def episode_for(
    clinic,
    clinician,
    *,
    age: int,
    sex: str,
    onset_days: int,
    baseline: float,
    final: float | None,
    patient=None,
    condition: str = "neck_pain",
    opened: int = 0,
):
    """An episode opened ``opened`` days after the start, with a baseline and (unless None) a discharge NPRS."""
    opened_at = moment(opened)
    if patient is None:
        number = next(_numbers)
        born = opened_at.date().replace(year=opened_at.date().year - age) - timedelta(days=30)  # birthday passed
        patient = Patient.objects.create(
            clinic=clinic,
            mrn=f"R-{number:05d}",
            given_name="Test",
            family_name=f"Risk {number}",
            date_of_birth=born,
            sex=sex,
        )
    ep = Episode.objects.create(
        clinic=clinic,
        patient=patient,
        condition=condition,
        icd10_code="M54.2",
        side="central",
        onset_date=opened_at.date() - timedelta(days=onset_days),
        opened_by=clinician,
        opened_at=opened_at,
        status="discharged",
        discharge_date=moment(opened + 40).date(),
        discharge_reason="goals_met",
    )
    observation(ep, clinician, "NPRS", baseline, opened, "baseline")
    if final is not None:
        observation(ep, clinician, "NPRS", final, opened + 40, "discharge")
    return ep


def true_change(baseline: float, chronic: bool, age: int) -> float:
    """How pain changes in this made-up clinic, whoever treats: more pain falls further, chronic pain falls less."""
    return -0.6 * baseline + (1.5 if chronic else 0.0) + 0.01 * (age - 45)


def build_unfair(clinic, sicker, healthier, per_clinician: int = 45, seed: int = 7):
    """``sicker`` mostly sees chronic pain, ``healthier`` mostly acute; neither changes the outcome.

    Returns the per-episode rows (clinician, patient, covariates, change) for the independent computation.
    """
    rng = random.Random(seed)
    rows = []
    for clinician, chronic_share in ((sicker, 0.85), (healthier, 0.15)):
        for index in range(per_clinician):
            chronic = rng.random() < chronic_share
            onset = rng.randint(100, 400) if chronic else rng.randint(3, 60)
            age = rng.randint(25, 70)
            sex = rng.choice(("female", "male", "female", "other"))
            baseline = round(rng.uniform(4, 8), 1)
            change = true_change(baseline, chronic, age) + rng.gauss(0, 0.6)
            final = round(min(10.0, max(0.0, baseline + change)), 1)
            ep = episode_for(
                clinic, clinician, age=age, sex=sex, onset_days=onset, baseline=baseline, final=final, opened=index
            )
            rows.append((clinician.pk, ep.patient_id, baseline, age, sex, onset, final - baseline))
    return rows


def design(rows):
    """The per-episode design matrix [1, baseline, age, male, other, subacute, chronic] and the outcome."""
    x = np.array(
        [
            [1, b, age, sex == "male", sex in ("other", "unknown"), 28 <= onset <= 84, onset > 84]
            for _, _, b, age, sex, onset, _ in rows
        ],
        dtype=float,
    )
    return x, np.array([row[-1] for row in rows])


@pytest.fixture
def unfair(clinic, clinician, colleague):
    return build_unfair(clinic, clinician, colleague)


def all_rows(report):
    return {row.clinician_id: row for row in report.blocks[0].rows}


def test_the_raw_comparison_is_unfair_and_the_adjusted_one_is_not(unfair, clinic, clinician, colleague):
    report = clinician_comparison(clinic, ReportFilters(clinic.pk))
    rows = all_rows(report)
    sicker, healthier = rows[clinician.pk].comparison, rows[colleague.pk].comparison
    # Raw: the clinician with the chronic patients looks about a point worse, far outside chance.
    raw_gap = sicker.observed - healthier.observed
    assert raw_gap > 0.8
    raw = stats.ttest_ind(
        [r[-1] for r in unfair if r[0] == clinician.pk], [r[-1] for r in unfair if r[0] == colleague.pk]
    )
    assert raw.pvalue < 0.001
    # Adjusted: both within a few tenths of expected, and both intervals include zero.
    for comparison in (sicker, healthier):
        assert abs(comparison.difference) < 0.25
        assert comparison.low < 0 < comparison.high
        assert comparison.finding == "no difference from expected shown"
    assert report.models[0].fitted and report.models[0].n == 90


def test_the_figures_match_an_independent_least_squares_fit(unfair, clinic, clinician, colleague):
    report = clinician_comparison(clinic, ReportFilters(clinic.pk))
    x, y = design(unfair)
    coefficients, *_ = np.linalg.lstsq(x, y, rcond=None)
    model = report.models[0]
    assert model.intercepts["neck_pain"] == pytest.approx(coefficients[0], abs=1e-6)
    assert [model.slopes[name] for name in ra.COVARIATES] == pytest.approx(list(coefficients[1:]), abs=1e-6)
    residuals = y - x @ coefficients
    for member in (clinician, colleague):
        mine = np.array([row[0] == member.pk for row in unfair])
        comparison = all_rows(report)[member.pk].comparison
        r = residuals[mine]
        half = stats.t.ppf(0.975, len(r) - 1) * r.std(ddof=1) / math.sqrt(len(r))  # one episode per patient
        assert comparison.difference == pytest.approx(r.mean(), abs=1e-9)
        assert (comparison.low, comparison.high) == pytest.approx((r.mean() - half, r.mean() + half), abs=1e-9)
    assert model.r_squared == pytest.approx(1 - residuals.var() / y.var(), abs=1e-9)


def test_the_interval_treats_a_patient_with_several_episodes_as_one_cluster(unfair, clinic, clinician):
    repeat = Patient.objects.get(
        pk=Episode.objects.filter(clinic=clinic, opened_by=clinician).earliest("pk").patient_id
    )
    extra = [
        (clinician.pk, repeat.pk, 6.0, 50, repeat.sex, 200, -1.0),
        (clinician.pk, repeat.pk, 7.0, 50, repeat.sex, 10, -4.5),
    ]
    for opened, (_, _, baseline, _, _, onset, change) in zip((60, 120), extra, strict=True):
        episode_for(
            clinic,
            clinician,
            age=50,
            sex=repeat.sex,
            onset_days=onset,
            baseline=baseline,
            final=baseline + change,
            patient=repeat,
            opened=opened,
        )
    report = clinician_comparison(clinic, ReportFilters(clinic.pk))
    rows = unfair + [
        (c, p, b, _age_at(repeat, opened), s, o, ch)
        for (c, p, b, _, s, o, ch), opened in zip(extra, (60, 120), strict=True)
    ]
    x, y = design(rows)
    coefficients, *_ = np.linalg.lstsq(x, y, rcond=None)
    residuals = y - x @ coefficients
    mine = [index for index, row in enumerate(rows) if row[0] == clinician.pk]
    clusters: dict[int, list[float]] = {}
    for index in mine:
        clusters.setdefault(rows[index][1], []).append(residuals[index])
    n, g = len(mine), len(clusters)
    mean = residuals[mine].mean()
    variance = g / (g - 1) * sum((sum(values) - len(values) * mean) ** 2 for values in clusters.values()) / n**2
    comparison = all_rows(report)[clinician.pk].comparison
    assert (comparison.episodes, comparison.patients) == (47, 45)
    assert comparison.difference == pytest.approx(mean, abs=1e-9)
    assert comparison.high - comparison.difference == pytest.approx(
        stats.t.ppf(0.975, g - 1) * math.sqrt(variance), abs=1e-9
    )


def _age_at(patient, opened: int) -> int:
    day = moment(opened).date()
    born = patient.date_of_birth
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def test_a_history_too_small_to_fit_shows_no_figure_and_no_calibration(clinic, clinician, colleague, clinic_admin):
    build_unfair(clinic, clinician, colleague, per_clinician=30)  # 60 episodes, 7 parameters need 70
    report = clinician_comparison(clinic, ReportFilters(clinic.pk))
    assert not report.enough_data and report.blocks == () and report.calibration == {}
    assert "60 episodes" in report.models[0].reason and "70 needed" in report.models[0].reason
    html = client_for(clinic_admin).get("/insights/clinicians/").content.decode()
    assert "Not enough data: the clinic's history is too small" in html
    assert 'class="calibration"' not in html and "No calibration is shown" in html


def test_small_conditions_share_a_pooled_model_and_tiny_ones_none(unfair, clinic, clinician):
    rng = random.Random(3)
    for index in range(12):
        baseline = round(rng.uniform(4, 8), 1)
        episode_for(
            clinic,
            clinician,
            age=40 + index,
            sex="female",
            onset_days=10,
            baseline=baseline,
            final=round(baseline - 2 + rng.gauss(0, 0.5), 1),
            condition="low_back_pain",
            opened=index,
        )
    report = clinician_comparison(clinic, ReportFilters(clinic.pk))
    keys = {model.key: model for model in report.models}
    assert keys["neck_pain"].fitted
    # 12 low-back episodes alone cannot carry 7 parameters (nor, with only one condition small, a pooled model).
    assert not keys["low_back_pain"].fitted and "12 episodes" in keys["low_back_pain"].reason
    # Pooled from sums: two small conditions together carry one intercept each plus shared slopes.
    neck = next(item for item in _sums(clinic) if item.condition == "neck_pain")
    back = next(item for item in _sums(clinic) if item.condition == "low_back_pain")
    pooled = ra.fit_models([neck, back], per_parameter=1000)[0]
    assert pooled.key == "pooled" and pooled.conditions == ("low_back_pain", "neck_pain")
    assert "needed (1000 per parameter, 8 parameters)" in pooled.reason  # 2 intercepts + 6 slopes
    fitted = ra.fit_models([neck, back], per_parameter=1)
    assert [model.key for model in fitted] == ["low_back_pain", "neck_pain"]


def _sums(clinic):
    from needlepoint.insights.clinician_comparison import comparison_scope, condition_sums

    with comparison_scope(ReportFilters(clinic.pk)) as table:
        return condition_sums(table)


def test_pooled_fit_equals_a_per_episode_fit_with_condition_intercepts() -> None:
    rng = np.random.default_rng(5)
    sums, rows = [], []
    for condition, shift in (("a", 0.0), ("b", -1.0)):
        x = np.column_stack(
            [
                np.ones(20),
                rng.uniform(2, 9, 20),
                rng.integers(20, 80, 20),
                rng.integers(0, 2, 20),
                np.zeros(20),
                rng.integers(0, 2, 20),
                np.zeros(20),
            ]
        )
        y = -0.5 * x[:, 1] + shift + rng.normal(0, 0.5, 20)
        full = np.column_stack([x, y])
        products = full.T @ full
        sums.append(ra.ConditionSums(condition, tuple(products[i, j] for i, j in ra.product_pairs())))
        rows.append((condition, x, y))
    model = ra.fit_models(sums, per_parameter=1)
    assert [m.key for m in model] == ["a", "b"]  # each alone is big enough at 1 per parameter
    pooled = ra._fit(sums, "pooled", 1)
    design_rows = np.vstack(
        [np.column_stack([np.full(20, c == "a"), np.full(20, c == "b"), x[:, 1:]]) for c, x, _ in rows]
    )
    outcome = np.concatenate([y for _, _, y in rows])
    expected = np.linalg.lstsq(design_rows, outcome, rcond=None)[0]
    got = pooled.intercepts["a"], pooled.intercepts["b"], pooled.slopes["baseline"], pooled.slopes["age"]
    assert got == pytest.approx((expected[0], expected[1], expected[2], expected[3]), abs=1e-8)
    # Columns with no spread (no 'other' sex, no chronic onset) are dropped, not fitted on noise.
    assert pooled.slopes["other_sex"] is None and pooled.slopes["chronic"] is None and pooled.parameters == 6


def test_calibration_deciles_follow_ntile_and_their_means(unfair, clinic):
    report = clinician_comparison(clinic, ReportFilters(clinic.pk))
    x, y = design(unfair)
    coefficients, *_ = np.linalg.lstsq(x, y, rcond=None)
    expected = x @ coefficients
    episode_ids = list(Episode.objects.filter(clinic=clinic).order_by("pk").values_list("pk", flat=True))
    order = sorted(range(len(y)), key=lambda index: (expected[index], episode_ids[index]))
    # NTILE(10) over 90 rows: ten groups of 9.
    rows = report.calibration["neck_pain"]
    assert [row.n for row in rows] == [9] * 10
    for decile, row in enumerate(rows):
        members = order[decile * 9 : (decile + 1) * 9]
        assert row.expected == pytest.approx(expected[members].mean(), abs=1e-9)
        assert row.observed.value == pytest.approx(y[members].mean(), abs=1e-9)
    # In-sample, the deciles' observed and expected means balance overall.
    assert sum(row.n * (row.observed.value - row.expected) for row in rows) == pytest.approx(0, abs=1e-8)


def test_calibration_arithmetic_from_sums() -> None:
    rows = ra.calibration(
        [
            ra.DecileSums("m", 2, 3, expected_sum=-6.0, observed_sum=-7.5, observed_sum_sq=19.25),
            ra.DecileSums("m", 1, 2, expected_sum=-2.0, observed_sum=-1.0, observed_sum_sq=1.0),
        ]
    )["m"]
    assert [row.decile for row in rows] == [1, 2]
    assert rows[1].expected == -2.0 and rows[1].observed.value == -2.5 and rows[1].gap == pytest.approx(-0.5)
    # Values -2, -2.5, -3: SD 0.5, t(2) interval.
    half = stats.t.ppf(0.975, 2) * 0.5 / math.sqrt(3)
    assert (rows[1].observed.low, rows[1].observed.high) == pytest.approx((-2.5 - half, -2.5 + half))


def test_a_clinician_with_few_patients_shows_no_figure_and_the_next_smallest_is_withheld() -> None:
    small = ra.observed_minus_expected(ra.ResidualSums("", 1, 19, 19, 1.0, 5.0, 1.0, 19.0, -30.0, -31.0))
    assert not small.enough_data and "fewer than 20 patients" in small.reason and small.text == "not enough data"
    enough = ra.observed_minus_expected(ra.ResidualSums("", 2, 20, 20, -4.0, 10.0, -4.0, 20.0, -40.0, -36.0))
    assert enough.difference == -0.2 and enough.observed == -2.0 and enough.expected == -1.8
    assert enough.text.startswith("-0.2 points (95% CI") and "20 episodes, 20 patients" in enough.text


def test_episodes_without_a_follow_up_are_left_out_and_counted(unfair, clinic, clinician):
    episode_for(clinic, clinician, age=50, sex="female", onset_days=10, baseline=6, final=None, opened=70)
    report = clinician_comparison(clinic, ReportFilters(clinic.pk))
    assert (report.with_baseline, report.with_follow_up, report.adjusted) == (91, 90, 90)
    assert all_rows(report)[clinician.pk].left_out == 1


# ---------------------------------------------------------------------------------------------------- the page


def test_front_desk_may_not_open_the_comparison(front_desk):
    assert client_for(front_desk).get("/insights/clinicians/").status_code == 403


def test_the_admin_sees_every_clinician_within_a_query_budget(unfair, clinic_admin, django_assert_max_num_queries):
    client = client_for(clinic_admin)
    client.get("/insights/clinicians/")  # warm the session and caches
    # On PostgreSQL the comparison runs in a savepoint with two settings of its own (jit, work_mem): 4 more.
    settings = 4 if connection.vendor == "postgresql" else 0
    with django_assert_max_num_queries(21 + audit_lock_queries() + settings):
        response = client.get("/insights/clinicians/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Alice" in html and "Bob" in html and "This adjusts only for what is recorded" in html
    assert html.count('class="calibration"') == 1 and "no difference from expected shown" in html
    assert AuditEntry.objects.filter(object_type="insights.ClinicianComparison", action="read").exists()


def test_a_clinician_sees_only_their_own_row(unfair, clinician):
    html = client_for(clinician).get("/insights/clinicians/").content.decode()
    assert f'data-clinician="{clinician.pk}"' in html and "Alice" in html
    assert "Bob" not in html and "1 other clinician is compared" in html
    assert 'class="calibration"' in html  # the model and its calibration name no clinician


def test_bad_filters_change_nothing_and_say_why(unfair, clinic_admin):
    response = client_for(clinic_admin).get("/insights/clinicians/?condition=knees&date_from=soon")
    assert response.status_code == 400
    html = response.content.decode()
    assert "Unknown condition" in html and "is not a date" in html and "data-clinician" not in html


def test_the_command_prints_json(unfair, clinic, capsys):
    from needlepoint.cli import main

    assert main(["report", "clinicians", "--clinic", clinic.slug, "--json"]) == 0
    import json

    data = json.loads(capsys.readouterr().out)
    assert data["models"][0]["n"] == 90 and data["models"][0]["fitted"] is True
    assert {row["name"] for row in data["blocks"][0]["rows"]} == {"Alice", "Bob"}
    assert data["blocks"][0]["rows"][0]["comparison"]["low"] < data["blocks"][0]["rows"][0]["comparison"]["high"]
    assert len(data["calibration"]["neck_pain"]) == 10
