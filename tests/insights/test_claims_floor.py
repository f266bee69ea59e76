"""The claims report's floor (benchmarks/claims_floor.py) computes the very figures of the report's summary path:
every count equal and every sum equal to 1e-9, on this database and in DuckDB over the copied rows, for the whole
clinic and under each filter kind the benchmark measures (clinician, condition, dates, cohort, muscle, technique).
The benchmark checks the same at a million visits; here a small synthetic clinic, with a few patients given a
second episode (so that the sums by patient differ from the sums by episode), an episode opened late in the evening
in New York (so that its local opening day, which the time in care counts from, is not its UTC day) and a third of
its episodes given an imported cohort label. The clinic is built once for the module."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from benchmarks.claims_floor import (
    FILTER_KINDS,
    compare,
    duckdb_copy,
    kind_filters,
    label_cohorts,
    on_duckdb,
    one_pass,
    report_figures,
)
from needlepoint.accounts.models import Clinic
from needlepoint.insights.filters import ReportFilters
from needlepoint.insights.models import EpisodeMeasureSummary, EpisodeSummary, VisitSummary
from needlepoint.insights.summaries import refresh
from needlepoint.insights.synthetic import generate
from needlepoint.patients.models import Episode
from tests.conftest import built_once
from tests.insights.evidence_data import observation, rom, visit

END = date(2026, 6, 30)
AS_OF = date(2026, 7, 1)


def second_episode(first: Episode, day: int, visits: int = 2) -> Episode:
    """Another episode of the same patient, with ``visits`` visits (0-2), a measure and a range of motion."""
    clinician = first.opened_by
    ep = Episode.objects.create(
        clinic=first.clinic, patient=first.patient, condition="neck_pain", icd10_code="M54.2", side="left",
        onset_date=date(2025, 1, 1), opened_by=clinician, opened_at=datetime(2025, 3, 3, 9, tzinfo=UTC),
        status="discharged", discharge_date=date(2025, 3, 3 + day), discharge_reason="goals_met",
    )  # fmt: skip
    if visits > 0:
        visit(ep, clinician, 0, 7, 4, [("upper-trapezius", "static")], [("bruising", "mild")])
    if visits > 1:
        visit(ep, clinician, 5, 5, 3, [("upper-trapezius", "pistoning")])
    observation(ep, clinician, "NPRS", 7, 0, "baseline")
    observation(ep, clinician, "NPRS", 3, 10, "discharge")
    rom(ep, clinician, 50, 0, "baseline")
    rom(ep, clinician, 50 + day, 10, "discharge")
    return ep


@pytest.fixture(scope="module")
def built(django_db_setup, django_db_blocker):
    yield from built_once(django_db_blocker, build)


@pytest.fixture
def clinic(built, db) -> Clinic:
    return Clinic.objects.get(pk=built)


def build() -> int:
    generate(2, 300, seed=47, end_date=END)
    clinic = Clinic.objects.get(slug="synth-s47-1")
    last = Episode.objects.filter(clinic=clinic).order_by("-pk").first()
    for day, first in enumerate(Episode.objects.filter(clinic=clinic, condition="neck_pain").order_by("pk")[:4]):
        second_episode(first, 8 + day)
    late = second_episode(last, 12)
    # Relief counts the episodes with a visit: one with a single visit and one with none test where that line runs.
    first, other = Episode.objects.filter(clinic=clinic, condition="low_back_pain").order_by("pk")[:2]
    second_episode(first, 9, visits=1)
    second_episode(other, 9, visits=0)
    # 01:30 UTC on 4 March is still 3 March in New York: 12 days in care there, 11 in UTC.
    Episode.objects.filter(pk=late.pk).update(opened_at=datetime(2025, 3, 4, 1, 30, tzinfo=UTC))
    label_cohorts(clinic)
    refresh(clinic)
    second = Clinic.objects.get(slug="synth-s47-2")  # another clinic's rows, which no floor may count
    label_cohorts(second)
    refresh(second)
    return clinic.pk


def whole(clinic_id: int) -> ReportFilters:
    return ReportFilters(clinic_id=clinic_id)


def test_both_floors_give_every_figure_of_the_report(clinic: Clinic, settings) -> None:
    settings.TIME_ZONE = "UTC"  # then New York, below, whatever zone the suite runs in
    report = report_figures(whole(clinic.pk), AS_OF).figures
    assert all(report[name] for name in report), [name for name in report if not report[name]]
    # The second episodes make some patients count once for two episodes in the sums by patient.
    assert any(row[1] < row[0] for row in report["rom"].values())
    one = one_pass(whole(clinic.pk), AS_OF)
    assert one.single is False
    assert compare(report, one.figures) == []
    copy = duckdb_copy(clinic.pk)
    summary_rows = (
        EpisodeSummary.objects.filter(clinic=clinic).count()
        + EpisodeMeasureSummary.objects.filter(clinic=clinic).count()
        + VisitSummary.objects.filter(clinic=clinic).count()
    )
    assert copy.rows > summary_rows  # the ROM and event rows too, and only this clinic's
    assert copy.connection.execute("SELECT COUNT(DISTINCT clinic_id) FROM insights_episodesummary").fetchone() == (1,)
    assert compare(report, on_duckdb(copy, whole(clinic.pk), AS_OF).figures) == []

    # In New York the late episode opened on 3 March, a day earlier than in UTC (the suite's zone).
    settings.TIME_ZONE = "America/New_York"
    in_new_york = report_figures(whole(clinic.pk), AS_OF).figures
    assert compare(report, in_new_york) != []
    assert compare(in_new_york, one_pass(whole(clinic.pk), AS_OF).figures) == []
    assert compare(in_new_york, on_duckdb(copy, whole(clinic.pk), AS_OF).figures) == []


def test_where_each_patient_has_one_episode_the_floors_skip_the_grouping_by_patient(clinic: Clinic) -> None:
    other = Clinic.objects.get(slug="synth-s47-2")  # the generator's patients have one episode each
    report = report_figures(whole(other.pk), AS_OF).figures
    assert all(row[1] == row[0] for row in report["rom"].values())
    one = one_pass(whole(other.pk), AS_OF)
    assert compare(report, one.figures) == []
    assert compare(report, on_duckdb(duckdb_copy(other.pk), whole(other.pk), AS_OF).figures) == []
    assert one.single is True  # the floor's sums by patient went row by row (grouped by patient on the first clinic)


def test_a_floor_on_another_definition_disagrees(clinic: Clinic) -> None:
    # A day later, every open episode has been in care a day longer: the survival rows must differ.
    report = report_figures(whole(clinic.pk), AS_OF).figures
    problems = compare(report, one_pass(whole(clinic.pk), date(2026, 7, 2)).figures)
    assert problems and all(problem.startswith("survival") for problem in problems)


def test_compare_names_each_difference(clinic: Clinic) -> None:
    report = report_figures(whole(clinic.pk), AS_OF).figures
    assert compare(report, report) == []
    key, row = max(report["measures"].items(), key=lambda item: item[1][1])  # the largest baseline sum
    changed = {name: dict(rows) for name, rows in report.items()}
    changed["measures"][key] = (row[0] + 1, *row[1:])
    assert compare(report, changed) == [f"measures {key}[0]: report {row[0]!r}, floor {row[0] + 1!r}"]
    changed["measures"][key] = (*row[:1], row[1] * (1 + 1e-12), *row[2:])
    assert compare(report, changed) == []  # the order of a floating-point SUM may move its last bits
    changed["measures"][key] = (*row[:1], row[1] * (1 + 1e-7), *row[2:])
    assert len(compare(report, changed)) == 1
    del changed["measures"][key]
    assert compare(report, changed) == [f"measures {key}: missing from the floor"]


def covered(figures: dict) -> tuple[int, int, int]:
    """Episodes, needled visits and adverse events the figures count."""
    return (
        sum(row[0] for row in figures["episodes"].values()),
        sum(row[0] for row in figures["clinicians"].values()),
        sum(row[0] for row in figures["events"].values()),
    )


@pytest.mark.parametrize("kind", [kind for kind in FILTER_KINDS if kind != "clinic"])
def test_both_floors_give_every_figure_of_the_report_under_each_filter(clinic: Clinic, kind: str) -> None:
    filters = kind_filters(clinic.pk, kind)
    assert filters != whole(clinic.pk)
    everything = report_figures(whole(clinic.pk), AS_OF).figures
    report = report_figures(filters, AS_OF).figures
    # The filter covers some of the clinic's episodes, needled visits and adverse events, not all: a floor that
    # ignored it, or that found nothing, would disagree.
    for part, of_all in zip(covered(report), covered(everything), strict=True):
        assert 0 < part < of_all, (kind, covered(report), covered(everything))
    assert report["measures"] and report["relief"] and report["rom"] and report["techniques"]
    assert compare(report, one_pass(filters, AS_OF).figures) == []
    assert compare(report, on_duckdb(duckdb_copy(clinic.pk), filters, AS_OF).figures) == []


def test_both_floors_give_every_figure_of_the_report_over_dates_that_cut_months(clinic: Clinic) -> None:
    """A range whose ends fall inside months: the report adds the cells of its whole months and reads the rows of
    the two months it cuts, and the floors read rows throughout."""
    from needlepoint.insights.filters import parse_filters

    filters = parse_filters(clinic.pk, {"date_from": "2025-01-15", "date_to": "2025-11-20"})[0]
    everything = report_figures(whole(clinic.pk), AS_OF).figures
    report = report_figures(filters, AS_OF).figures
    for part, of_all in zip(covered(report), covered(everything), strict=True):
        assert 0 < part < of_all, covered(report)
    assert compare(report, one_pass(filters, AS_OF).figures) == []
    assert compare(report, on_duckdb(duckdb_copy(clinic.pk), filters, AS_OF).figures) == []
