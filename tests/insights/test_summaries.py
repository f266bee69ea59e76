"""The summary tables (``needlepoint insights refresh``) give every figure of the claims report exactly as the
live path does on the same data, and the report says which path it used and how old the summary figures are."""

from __future__ import annotations

from datetime import date

import pytest

from needlepoint.accounts.models import Clinic, Membership
from needlepoint.insights.cli_report import claims_json, claims_text
from needlepoint.insights.filters import parse_filters
from needlepoint.insights.formatting import plain
from needlepoint.insights.models import (
    EpisodeCohort,
    EpisodeMeasureSummary,
    EpisodeSummary,
    OutcomeImport,
    SummaryRefresh,
    VisitSummary,
)
from needlepoint.insights.report import claims_report
from needlepoint.insights.summaries import refresh
from needlepoint.insights.synthetic import generate
from needlepoint.patients.models import Episode

END = date(2026, 6, 30)
AS_OF = date(2026, 7, 1)
PATH_FIELDS = ("generated_at", "source", "summary_as_of", "source_note")


@pytest.fixture
def clinic(db) -> Clinic:
    generate(2, 400, seed=43, end_date=END)
    clinic = Clinic.objects.get(slug="synth-s43-1")
    _label_cohorts(clinic)
    return clinic


def _label_cohorts(clinic: Clinic) -> None:
    """Give every third episode an imported cohort label (the generator makes none), as an outcome import does."""
    admin = Membership.objects.filter(clinic=clinic, role="clinic_admin").first()
    run = OutcomeImport.objects.create(
        clinic=clinic, imported_by=admin, file_name="cohorts.csv", file_sha256="0" * 64, condition=""
    )
    episodes = Episode.objects.filter(clinic=clinic).order_by("pk")[::3]
    EpisodeCohort.objects.bulk_create(
        EpisodeCohort(clinic=clinic, episode=episode, outcome_import=run, label="arm-a") for episode in episodes
    )


def figures(report) -> dict:
    data = plain(report)
    for name in PATH_FIELDS:
        data.pop(name)
    return data


def assert_same(live, summary, path: str = "report") -> None:
    """Every count, label, verdict and sentence identical; every float identical but for the last bits that the
    order of a floating-point SUM can change (PostgreSQL adds rows in whatever order its plan reads them)."""
    if isinstance(live, dict):
        assert live.keys() == summary.keys(), path
        for key in live:
            assert_same(live[key], summary[key], f"{path}.{key}")
    elif isinstance(live, list):
        assert len(live) == len(summary), path
        for index, (first, second) in enumerate(zip(live, summary, strict=True)):
            assert_same(first, second, f"{path}[{index}]")
    elif isinstance(live, float) and not isinstance(summary, bool):
        assert summary == pytest.approx(live, rel=1e-12, abs=1e-12), path
    else:
        assert type(live) is type(summary) and live == summary, path


def both(clinic: Clinic, **params: str):
    filters, options = parse_filters(clinic.pk, params)
    live = claims_report(clinic, filters, options, as_of=AS_OF, source="live", clinician_names={})
    summary = claims_report(clinic, filters, options, as_of=AS_OF, source="summary", clinician_names={})
    return live, summary


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"missing": "completers"},
        {"rule": "percent:30"},
        {"min_n": "3"},
        {"date_from": "2025-01-01", "date_to": "2026-03-31"},
        {"condition": "neck_pain"},
        {"condition": "low_back_pain", "missing": "completers", "min_n": "2"},
        {"muscle": "upper-trapezius"},
        {"technique": "static"},
        {"muscle": "upper-trapezius", "technique": "pistoning", "min_n": "1"},
        {"condition": "neck_pain", "technique": "electrical_stimulation", "missing": "completers"},
        {"cohort": "arm-a"},
        {"cohort": "arm-a", "technique": "static", "missing": "completers"},
    ],
)
def test_every_figure_is_the_same_from_the_summary(clinic: Clinic, params: dict[str, str]) -> None:
    run = refresh(clinic)
    assert run.episodes == Episode.objects.filter(clinic=clinic).count()
    assert run.measures == EpisodeMeasureSummary.objects.filter(clinic=clinic).count() > 0
    assert run.visits == VisitSummary.objects.filter(clinic=clinic).count() > 0
    live, summary = both(clinic, **params)
    assert (live.source, summary.source) == ("live", "summary")
    assert (live.episodes > 0 and live.techniques and live.clinicians and live.rom and live.event_rates) or params
    assert_same(figures(live), figures(summary))


def test_clinician_filter_and_other_clinic_untouched(clinic: Clinic) -> None:
    other = Clinic.objects.get(slug="synth-s43-2")
    refresh(clinic)
    assert not EpisodeSummary.objects.filter(clinic=other).exists()
    clinician = Episode.objects.filter(clinic=clinic).values_list("opened_by_id", flat=True).first()
    live, summary = both(clinic, clinician=str(clinician))
    assert live.episodes > 0
    assert_same(figures(live), figures(summary))


def test_refresh_rebuilds_and_the_report_says_how_old(clinic: Clinic) -> None:
    filters, options = parse_filters(clinic.pk, {})
    before = claims_report(clinic, filters, options, as_of=AS_OF)
    assert before.source == "live" and "no summary refresh" in before.source_note
    first = refresh(clinic)
    again = refresh(clinic, full=True)
    assert first.episodes == again.episodes == EpisodeSummary.objects.filter(clinic=clinic).count()
    assert (first.kind, again.kind) == ("full", "full") and again.seconds > 0
    assert SummaryRefresh.objects.filter(clinic=clinic, finished_at__isnull=False).count() == 2
    unchanged = refresh(clinic)  # nothing changed: nothing rebuilt, the last run is current to now
    assert unchanged.pk == again.pk and unchanged.checked_at >= again.finished_at
    report = claims_report(clinic, filters, options, as_of=AS_OF)
    assert report.source == "summary" and report.summary_as_of >= unchanged.checked_at
    assert report.source_note.startswith("Figures as of ")
    assert "every change recorded until then is counted" in report.source_note
    assert claims_json(report)["source_note"] == report.source_note
    assert any("Figures as of" in line for line in claims_text(report))


def test_muscle_and_technique_filters_read_the_summary(clinic: Clinic) -> None:
    refresh(clinic)
    filters, options = parse_filters(clinic.pk, {"technique": "pistoning"})
    report = claims_report(clinic, filters, options, as_of=AS_OF)
    assert report.source == "summary" and report.episodes > 0
    assert [row.key for row in report.techniques] == ["pistoning"]


def test_the_page_says_figures_as_of(clinic: Clinic, client) -> None:
    from needlepoint.accounts.models import Membership

    refresh(clinic)
    admin = Membership.objects.filter(clinic=clinic, role="clinic_admin").select_related("user").first()
    client.force_login(admin.user)
    page = client.get("/insights/").content.decode()
    assert "Figures as of" in page
    assert "Figures as of" in client.get("/insights/?technique=pistoning").content.decode()


def test_refresh_command(clinic: Clinic) -> None:
    import io
    from contextlib import redirect_stdout

    from needlepoint.cli import main

    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["insights", "refresh", "--clinic", clinic.slug]) == 0
    assert "figures as of" in out.getvalue()
    assert SummaryRefresh.objects.filter(clinic=clinic).count() == 1
    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["report", "claims", "--clinic", clinic.slug]) == 0
    assert "Figures as of" in out.getvalue()


def test_the_cohort_filter_covers_the_labelled_episodes_only(clinic: Clinic) -> None:
    refresh(clinic)
    everyone, _ = both(clinic)
    live, summary = both(clinic, cohort="arm-a")
    assert 0 < live.episodes < everyone.episodes
    assert live.episodes == summary.episodes
