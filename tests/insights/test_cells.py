"""The summary cells (``insights/cells.py``): a report that adds up the cells of its whole months and reads the
rows of the rest gives every figure the live path gives, patients with several episodes and date ranges that cut
months included; the cells are really read; and they are used only where their sums hold."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.db.models import F
from django.utils import timezone

from needlepoint.accounts.models import Clinic
from needlepoint.insights import cells, queries, summaries
from needlepoint.insights.filters import ReportFilters, ReportOptions, needled_visits, parse_filters
from needlepoint.insights.models import (
    EpisodeMeasureSummary,
    EpisodeSummary,
    SummaryCell,
    SummaryRefresh,
    SummaryStaleMonth,
    VisitSummary,
)
from needlepoint.insights.months import month_of, month_ranges, whole_months
from needlepoint.insights.report import claims_report
from needlepoint.insights.responders import MissingPolicy, parse_rule
from needlepoint.insights.summaries import catch_up_cells, latest_refresh, refresh
from needlepoint.insights.synthetic import generate
from needlepoint.patients.models import Episode
from needlepoint.visits.models import AdverseEvent, NeedlingEntry, Technique, Visit
from tests.insights.test_refresh import later_visit, summary_rows
from tests.insights.test_summaries import _label_cohorts, assert_same, figures

END = date(2026, 6, 30)
AS_OF = date(2026, 7, 1)


@pytest.fixture
def clinic(db) -> Clinic:
    """A synthetic clinic of three years in which about one patient in four has two or three episodes."""
    generate(2, 300, seed=53, end_date=END)
    clinic = Clinic.objects.get(slug="synth-s53-1")
    _label_cohorts(clinic)
    episodes = list(Episode.objects.filter(clinic=clinic).order_by("pk"))
    for index in range(1, len(episodes), 4):
        Episode.objects.filter(pk=episodes[index].pk).update(patient_id=episodes[index - 1].patient_id)
    for index in range(3, len(episodes), 20):
        Episode.objects.filter(pk=episodes[index].pk).update(patient_id=episodes[index - 3].patient_id)
    refresh(clinic, full=True)
    return clinic


def both(clinic: Clinic, params: dict[str, str], as_of: date = AS_OF):
    filters, options = parse_filters(clinic.pk, params)
    live = claims_report(clinic, filters, options, as_of=as_of, source="live", clinician_names={})
    summary = claims_report(clinic, filters, options, as_of=as_of, source="summary", clinician_names={})
    return live, summary


def test_the_refresh_keeps_cells_and_marks_the_episodes_they_add_up(clinic: Clinic) -> None:
    run = latest_refresh(clinic.pk)
    assert run is not None and run.cells_key == cells.definitions_key()
    kept = set(SummaryCell.objects.filter(clinic=clinic).values_list("figure", flat=True))
    assert kept == {*cells.EPISODE_FIGURES, *cells.VISIT_FIGURES}
    single = EpisodeSummary.objects.filter(clinic=clinic, in_cells=True)
    several = EpisodeSummary.objects.filter(clinic=clinic, in_cells=False)
    assert single.exists() and several.exists()
    for row in several:
        assert EpisodeSummary.objects.filter(clinic=clinic, patient_id=row.patient_id).count() > 1
    other = Clinic.objects.get(slug="synth-s53-2")
    refresh(other)
    assert SummaryCell.objects.filter(clinic=other).exists()  # each clinic's own cells, from its own rows
    mine = SummaryCell.objects.filter(clinic=clinic).values_list("clinician_id", flat=True).distinct()
    assert set(mine) <= set(Episode.objects.filter(clinic=clinic).values_list("opened_by_id", flat=True))


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"missing": "completers"},
        {"date_from": "2024-03-15", "date_to": "2026-02-10"},
        {"date_from": "2025-01-01", "date_to": "2025-12-31", "missing": "completers"},
        {"date_to": "2025-06-30"},
        {"date_from": "2026-02-01"},
        {"date_from": "2025-05-05", "date_to": "2025-05-20"},  # inside one month: no whole month, no cell
        {"condition": "neck_pain", "min_n": "2"},
        {"cohort": "arm-a", "date_from": "2024-11-11"},
        {"muscle": "upper-trapezius"},
        {"muscle": "levator-scapulae", "date_from": "2024-03-15", "date_to": "2026-02-10"},
        {"muscle": "levator-scapulae", "missing": "completers"},
        {"technique": "static"},
        {"technique": "pistoning", "condition": "neck_pain", "min_n": "2"},
    ],
)
def test_every_figure_from_cells_and_rows_is_the_live_figure(clinic: Clinic, params: dict[str, str]) -> None:
    live, summary = both(clinic, params)
    assert summary.source == "summary" and live.episodes > 0
    assert_same(figures(live), figures(summary))
    filters, options = parse_filters(clinic.pk, params)
    plan = summaries.reading(latest_refresh(clinic.pk), filters, options, AS_OF).cells
    if filters.needling_filter and params.get("missing") == "completers":
        assert plan is None  # the cells by muscle and technique are kept for the default policy only
        return
    assert plan is not None
    # The cells are read wherever a whole month lies in the range (``test_the_report_reads_the_cells`` shows they
    # count); a range inside one month is all rows.
    assert (plan.episode_months is None) == (params.get("date_from") == "2025-05-05")


def test_a_clinician_and_an_as_of_day_inside_a_month(clinic: Clinic) -> None:
    clinician = Episode.objects.filter(clinic=clinic).values_list("opened_by_id", flat=True).first()
    for params, as_of in (({"clinician": str(clinician)}, AS_OF), ({}, date(2025, 9, 17))):
        live, summary = both(clinic, params, as_of)
        assert live.episodes > 0
        assert_same(figures(live), figures(summary))


def test_the_report_reads_the_cells(clinic: Clinic) -> None:
    """Spoil one cell of each kind: the report's figures move. Under other definitions the cells are left alone
    and the figures are the live ones again."""
    live, _ = both(clinic, {})
    for figure in ("relief:itt", "visits"):
        cell = SummaryCell.objects.filter(clinic=clinic, figure=figure).order_by("pk").first()
        SummaryCell.objects.filter(pk=cell.pk).update(v1=cell.v1 + 1000)
    _, spoiled = both(clinic, {})
    assert spoiled.needled_visits == live.needled_visits + 1000
    assert sum(row.episodes for row in spoiled.relief) == sum(row.episodes for row in live.relief) + 1000
    SummaryRefresh.objects.filter(clinic=clinic).update(cells_key="other definitions")
    _, unspoiled = both(clinic, {})
    # The verdicts' sentences round the figures compared here (a mean of 20.35 may print as 20.3 or 20.4 as the
    # database adds the same floats in another order); the figures themselves are compared to the last bits.
    expected, found = figures(live), figures(unspoiled)
    expected.pop("verdicts"), found.pop("verdicts")
    assert_same(expected, found)


def test_a_muscle_or_technique_filter_reads_that_keys_cells(clinic: Clinic) -> None:
    """Spoil one cell of a muscle's and one of a technique's: each report filtered on the key moves by the spoil,
    and the other key's report does not."""
    spoils = {"muscle": ("upper-trapezius", "m:upper-trapezius", 1000), "technique": ("static", "t:static", 500)}
    before = {kind: both(clinic, {kind: value})[0] for kind, (value, _, _) in spoils.items()}
    for _, key, amount in spoils.values():
        for figure in ("relief:itt", "visits"):
            cell = SummaryCell.objects.filter(clinic=clinic, figure=figure, needling=key).order_by("pk").first()
            SummaryCell.objects.filter(pk=cell.pk).update(v1=cell.v1 + amount)
    for kind, (value, _, amount) in spoils.items():
        _, spoiled = both(clinic, {kind: value})
        assert spoiled.needled_visits == before[kind].needled_visits + amount
        relief = sum(row.episodes for row in spoiled.relief)
        assert relief == sum(row.episodes for row in before[kind].relief) + amount


def _same_as_live(clinic: Clinic, params: dict[str, str]) -> None:
    live, summary = both(clinic, params)
    assert summary.source == "summary"
    assert_same(figures(live), figures(summary))


def test_muscles_and_techniques_with_other_filters(clinic: Clinic) -> None:
    """Several muscles and every technique, each beside another filter (dates cutting months, a clinician, a
    cohort, a condition), from their cells and rows, give the live figures."""
    clinician = Episode.objects.filter(clinic=clinic).values_list("opened_by_id", flat=True).first()
    others = [
        {"date_from": "2024-03-15", "date_to": "2026-02-10"},
        {"clinician": str(clinician), "date_from": "2025-01-09"},
        {"cohort": "arm-a"},
        {"condition": "low_back_pain", "date_to": "2025-08-20"},
    ]
    used = sorted(set(NeedlingEntry.objects.filter(clinic=clinic).values_list("muscle_id", flat=True)))
    keys = [{"muscle": muscle} for muscle in used[:4]] + [{"technique": code} for code in Technique.values]
    for index, key in enumerate(keys):
        _same_as_live(clinic, {**key, **others[index % len(others)]})


def test_a_visit_with_a_new_muscle_and_two_techniques_on_it(clinic: Clinic) -> None:
    """A later visit of an episode in the cells, in another month, needles a muscle the episode never had with two
    techniques, and another with a third, and has an adverse event: the muscle and technique reports equal the live
    ones with the refresh's differences in the cells and after the catch-up, and the cells equal a full refresh's.
    The muscle's visit cell holds both techniques used on it."""
    row = EpisodeSummary.objects.filter(clinic=clinic, in_cells=True, needling__gt="").order_by("episode_id")[4]
    first = Visit.objects.filter(episode_id=row.episode_id, needles_inserted__gt=0).order_by("started_at").first()
    visit = later_visit(first, 75)
    used = sorted(set(NeedlingEntry.objects.filter(clinic=clinic).values_list("muscle_id", flat=True)))
    had = set(NeedlingEntry.objects.filter(visit__episode_id=row.episode_id).values_list("muscle_id", flat=True))
    new = next(muscle for muscle in used if muscle not in had)
    template = NeedlingEntry.objects.filter(visit=first).order_by("pk").first()
    entries = []
    for muscle, side, technique in (
        (new, "left", "rotation"),
        (new, "right", "pistoning"),
        (template.muscle_id, "left", "static"),
    ):
        entry = NeedlingEntry.objects.get(pk=template.pk)
        entry.pk, entry.visit, entry.muscle_id, entry.side, entry.technique = None, visit, muscle, side, technique
        entries.append(entry)
    NeedlingEntry.objects.bulk_create(entries)
    event = AdverseEvent.objects.filter(clinic=clinic).order_by("pk").first()
    event.pk, event.visit = None, visit
    event.save()
    assert refresh(clinic).kind == "changes"
    assert SummaryStaleMonth.objects.filter(clinic=clinic).exists()
    reports = ({"muscle": new}, {"muscle": template.muscle_id}, {"technique": "rotation"},
               {"technique": "pistoning", "date_from": "2024-02-11"})  # fmt: skip
    for params in reports:
        _same_as_live(clinic, params)
    catch_up_cells(clinic.pk)
    for params in reports:
        _same_as_live(clinic, params)
    incremental = summary_rows(clinic)
    refresh(clinic, full=True)
    assert summary_rows(clinic) == incremental
    techniques = SummaryCell.objects.filter(clinic=clinic, needling=f"m:{new}", figure="visits").values_list(
        "k1", flat=True
    )
    assert any("rotation" in used and "pistoning" in used for used in techniques)


def test_a_muscle_id_outside_the_catalogue_is_summarised(clinic: Clinic) -> None:
    """A muscle id the catalogue does not hold (a retired or imported one) with a quote and a backslash: the
    refresh still builds and keeps the muscle's cells, and the reports beside it equal the live ones (the report's
    filter takes only the catalogue's muscles)."""
    template = NeedlingEntry.objects.filter(clinic=clinic).order_by("pk").first()
    odd = NeedlingEntry.objects.get(pk=template.pk)
    odd.pk, odd.visit, odd.muscle_id = None, later_visit(template.visit, 3), 'old"id\\x'
    NeedlingEntry.objects.bulk_create([odd])
    refresh(clinic, full=True)
    assert SummaryCell.objects.filter(clinic=clinic, needling='m:old"id\\x').exists()
    _same_as_live(clinic, {"muscle": template.muscle_id})
    _same_as_live(clinic, {"technique": template.technique})


def test_cells_are_left_out_where_their_sums_would_not_hold() -> None:
    key = cells.definitions_key()
    plain = ReportOptions()
    assert cells.plan(ReportFilters(1), plain, AS_OF, key) is not None
    assert cells.plan(ReportFilters(1, muscle="upper-trapezius"), plain, AS_OF, key).needling == "m:upper-trapezius"
    assert cells.plan(ReportFilters(1, technique="static"), plain, AS_OF, key).needling == "t:static"
    assert cells.plan(ReportFilters(1, muscle="upper-trapezius", technique="static"), plain, AS_OF, key) is None
    completers = ReportOptions(missing=MissingPolicy.COMPLETERS)
    assert cells.plan(ReportFilters(1), completers, AS_OF, key) is not None
    assert cells.plan(ReportFilters(1, technique="static"), completers, AS_OF, key) is None
    assert cells.plan(ReportFilters(1), ReportOptions(rule=parse_rule("percent:30")), AS_OF, key) is None
    assert cells.plan(ReportFilters(1), plain, AS_OF, "") is None


@pytest.mark.parametrize(
    ("first", "last", "months"),
    [
        (None, None, (0, 999_999)),
        (date(2025, 1, 15), date(2025, 3, 31), (202502, 202503)),
        (date(2025, 1, 1), date(2025, 3, 30), (202501, 202502)),
        (None, date(2026, 1, 5), (0, 202512)),
        (date(2025, 12, 2), None, (202601, 999_999)),
        (date(2024, 2, 1), date(2024, 2, 29), (202402, 202402)),
        (date(2025, 5, 5), date(2025, 5, 31), None),
        (date(2025, 5, 1), date(2025, 5, 30), None),
    ],
)
def test_whole_months(first: date | None, last: date | None, months: tuple[int, int] | None) -> None:
    assert whole_months(first, last) == months


@pytest.mark.django_db(transaction=True)
def test_the_report_reads_one_snapshot() -> None:
    """A refresh committing while a report runs changes nothing the report reads after its scope was stored: the
    cells and the rows come from one snapshot, so no episode or visit is counted twice or missed."""
    if connection.vendor != "postgresql":
        pytest.skip("a second connection writing while a report reads needs a database server")
    generate(1, 60, seed=59, end_date=END)
    clinic = Clinic.objects.get(slug="synth-s59-1")
    refresh(clinic, full=True)
    plan = queries.CellPlan(episode_months=(0, 999_999), visit_months=(0, 999_999))

    def visits_counted(scope: queries.Scope) -> int:
        return sum(row.visits for row in queries.visit_breakdowns(scope, 2.0)[0])

    def committed_elsewhere() -> None:
        try:
            SummaryCell.objects.filter(clinic=clinic, figure="visits").update(v1=F("v1") + 1000)
        finally:
            connection.close()

    with queries.report_scope(ReportFilters(clinic.pk), AS_OF, summary=True, cells=plan) as scope:
        before = visits_counted(scope)
        writer = threading.Thread(target=committed_elsewhere)
        writer.start()
        writer.join()
        assert visits_counted(scope) == before
    with queries.report_scope(ReportFilters(clinic.pk), AS_OF, summary=True, cells=plan) as scope:
        assert visits_counted(scope) > before


def test_a_new_clock_reads_every_day_and_month_again(clinic: Clinic, settings) -> None:
    """The summary keeps each episode's day and month opened, and each visit's month, on the clinic's clock; a
    refresh on another clock (TIME_ZONE) rebuilds the whole summary, and the times in care stay the live ones."""
    settings.TIME_ZONE = "UTC"  # then New York, below, whatever zone the suite runs in
    late = Episode.objects.filter(clinic=clinic, status="discharged").order_by("pk").first()
    # 01:30 UTC on 1 April is still 31 March in New York.
    Episode.objects.filter(pk=late.pk).update(opened_at=datetime(2025, 4, 1, 1, 30, tzinfo=UTC))
    refresh(clinic)
    row = EpisodeSummary.objects.get(episode_id=late.pk)
    assert (row.opened_on, row.opened_month) == (date(2025, 4, 1), 202504)
    settings.TIME_ZONE = "America/New_York"
    other = Episode.objects.filter(clinic=clinic, status="open").exclude(pk=late.pk).first()
    Episode.objects.filter(pk=other.pk).update(status="discharged", discharge_reason="goals_met", discharge_date=END)
    run = refresh(clinic)
    assert run.kind == "full" and run.time_zone == "America/New_York"
    row = EpisodeSummary.objects.get(episode_id=late.pk)
    assert (row.opened_on, row.opened_month) == (date(2025, 3, 31), 202503)
    live, summary = both(clinic, {})
    expected, found = figures(live), figures(summary)
    assert expected["recovery"] == found["recovery"]


@pytest.mark.parametrize(
    "params",
    [
        {"date_to": "2025-03-31"},
        {"date_from": "2025-04-01"},
        {"date_from": "2025-04-01", "date_to": "2025-04-30"},
        {"date_from": "2025-03-31", "date_to": "2025-03-31"},
    ],
)
def test_a_report_s_days_and_months_are_the_clinic_s(clinic: Clinic, settings, params: dict[str, str]) -> None:
    """On a clinic's clock west of UTC, an episode opened and a visit given in the evening of 31 March (1 April
    in UTC) fall on 31 March: in the date filters, the summary's months and the cells, and every path agrees."""
    settings.TIME_ZONE = "America/New_York"
    evening = datetime(2025, 4, 1, 1, 30, tzinfo=UTC)
    episode = Episode.objects.filter(clinic=clinic, status="discharged").order_by("pk")[1]
    Episode.objects.filter(pk=episode.pk).update(opened_at=evening - timedelta(days=1))
    needled = Visit.objects.filter(episode=episode, needles_inserted__gt=0).order_by("started_at").first()
    visit = later_visit(needled, 1)
    Visit.objects.filter(pk=visit.pk).update(started_at=evening)
    assert refresh(clinic, full=True).time_zone == "America/New_York"
    assert VisitSummary.objects.get(visit_id=visit.pk).month == 202503
    assert EpisodeSummary.objects.get(episode_id=episode.pk).opened_month == 202503
    live, summary = both(clinic, params)
    assert_same(figures(live), figures(summary))
    counted = needled_visits(parse_filters(clinic.pk, params)[0]).filter(pk=visit.pk)  # the live path's own visits
    assert counted.exists() == (params.get("date_from", "") <= "2025-03-31" <= params.get("date_to", "9999"))


def test_a_catch_up_on_another_clock_leaves_the_months_to_a_refresh_on_the_summary_s(clinic: Clinic, settings) -> None:
    """A process on another clock (TIME_ZONE) would add months up on its own month ranges over rows written on the
    summary's: it leaves them; the next refresh on its clock rebuilds the summary whole."""
    settings.TIME_ZONE = "UTC"
    refresh(clinic, full=True)  # on UTC's clock, whatever zone the suite runs in
    later_visit(Visit.objects.filter(clinic=clinic, needles_inserted__gt=0).order_by("pk")[9], 1)
    assert refresh(clinic).kind == "changes"
    given = set(SummaryStaleMonth.objects.filter(clinic=clinic).values_list("kind", "month"))
    assert given
    settings.TIME_ZONE = "America/New_York"
    assert catch_up_cells(clinic.pk) == 0
    assert set(SummaryStaleMonth.objects.filter(clinic=clinic).values_list("kind", "month")) == given
    settings.TIME_ZONE = "UTC"
    assert catch_up_cells(clinic.pk) == len(given)


def test_month_ranges() -> None:
    assert month_ranges([202601, 202512, 202603], UTC) == [
        (datetime(2025, 12, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC)),
        (datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC)),
    ]
    new_york = ZoneInfo("America/New_York")
    # A month on the clinic's clock starts at its midnight: 05:00 UTC in winter, 04:00 in summer.
    assert month_ranges([202603], new_york) == [
        (datetime(2026, 3, 1, tzinfo=new_york), datetime(2026, 4, 1, tzinfo=new_york))
    ]
    assert month_ranges([202603], new_york)[0][1].astimezone(UTC) == datetime(2026, 4, 1, 4, tzinfo=UTC)
    assert month_ranges([], UTC) == []


# ---------------------------------------------------------------------------------------------------- changes
# An incremental refresh adds its differences to the cells in its transaction: each group's cells then add up to
# what a full refresh gives, and the report (which reads every month's cells) gives the live figures. Once the
# months given differences are added up again, the summary is what a full refresh leaves, cells and ``in_cells``
# included.

_CELL_KEYS = ("figure", "month", "condition", "clinician_id", "cohort_label", "needled", "needling", "k1", "k2", "k3")


def cell_totals(clinic: Clinic) -> dict[tuple, list[float]]:
    """The clinic's cells added up by group, a group whose count is nothing left out (as the report reads them)."""
    totals: dict[tuple, list[float]] = {}
    for cell in SummaryCell.objects.filter(clinic=clinic).values():
        sums = [cell[f"v{index}"] or 0.0 for index in range(1, 30)]
        found = totals.setdefault(tuple(cell[key] for key in _CELL_KEYS), [0.0] * len(sums))
        found[:] = [left + right for left, right in zip(found, sums, strict=True)]
    return {key: sums for key, sums in totals.items() if sums[0] > 0.5}


def changed_as_a_full_refresh_would(clinic: Clinic) -> None:
    run = refresh(clinic)
    assert run.kind == "changes", run.kind
    for params in ({}, {"technique": "static"}):  # the cells of every episode, and those keyed by a technique
        live, summary = both(clinic, params)
        assert_same(figures(live), figures(summary))
    with_differences = cell_totals(clinic)
    catch_up_cells(clinic.pk)
    assert not SummaryStaleMonth.objects.filter(clinic=clinic).exists()
    incremental = summary_rows(clinic)
    added_up_again = cell_totals(clinic)
    assert with_differences.keys() == added_up_again.keys()
    for key, sums in added_up_again.items():
        assert with_differences[key] == pytest.approx(sums, rel=1e-12, abs=1e-9), key
    refresh(clinic, full=True)
    assert summary_rows(clinic) == incremental


def test_an_episode_joining_another_patient(clinic: Clinic) -> None:
    first, second = EpisodeSummary.objects.filter(clinic=clinic, in_cells=True).order_by("episode_id")[:2]
    Episode.objects.filter(pk=first.episode_id).update(patient_id=second.patient_id)
    changed_as_a_full_refresh_would(clinic)
    assert not EpisodeSummary.objects.get(episode_id=second.episode_id).in_cells


def test_an_episode_leaving_its_patient_makes_the_other_one_single(clinic: Clinic) -> None:
    pair = next(
        row
        for row in EpisodeSummary.objects.filter(clinic=clinic, in_cells=False).order_by("episode_id")
        if EpisodeSummary.objects.filter(clinic=clinic, patient_id=row.patient_id).count() == 2
    )
    lonely = EpisodeSummary.objects.filter(clinic=clinic, in_cells=True).order_by("-episode_id").first()
    Episode.objects.filter(pk=pair.episode_id).update(patient_id=lonely.patient_id)
    changed_as_a_full_refresh_would(clinic)
    other = EpisodeSummary.objects.filter(clinic=clinic, patient_id=pair.patient_id).get()
    assert other.in_cells


def test_an_episode_and_a_visit_moved_to_other_months(clinic: Clinic) -> None:
    row = EpisodeSummary.objects.filter(clinic=clinic, in_cells=True).order_by("episode_id")[3]
    opened = Episode.objects.get(pk=row.episode_id).opened_at
    Episode.objects.filter(pk=row.episode_id).update(opened_at=opened - timedelta(days=62))
    visit = later_visit(Visit.objects.filter(clinic=clinic, needles_inserted__gt=0).order_by("pk")[7], 1)
    Visit.objects.filter(pk=visit.pk).update(started_at=visit.started_at + timedelta(days=45))
    changed_as_a_full_refresh_would(clinic)


def test_a_visit_at_midnight_on_the_first_stays_in_its_month(clinic: Clinic) -> None:
    """Raw SQL compares times as the ORM stores them: a visit at 00:00 UTC on the 1st is its month's, once."""
    needled = Visit.objects.filter(clinic=clinic, needles_inserted__gt=0).order_by("pk")
    visit = later_visit(needled[11], 1)
    Visit.objects.filter(pk=visit.pk).update(started_at=datetime(2025, 3, 1, tzinfo=UTC))
    changed_as_a_full_refresh_would(clinic)
    later_visit(needled[12], 1)  # another change, this time in February's neighbour months
    changed_as_a_full_refresh_would(clinic)


def test_a_new_score_leaves_the_visit_cells_of_its_episode_s_months(clinic: Clinic) -> None:
    """A pain score changes its episode's figures, not its visits': only the episode's month gets differences (and
    is added up again later), and the figures and cells end as a full refresh leaves them. A visit moved to another
    month gives both its months differences."""
    from needlepoint.outcomes.models import Observation

    row = EpisodeSummary.objects.filter(clinic=clinic, in_cells=True, needled=True).order_by("episode_id")[2]
    episode = Episode.objects.get(pk=row.episode_id)
    assert Visit.objects.filter(episode=episode, needles_inserted__gt=0).exists()
    final = EpisodeMeasureSummary.objects.get(episode_id=episode.pk, instrument="NPRS").final
    Observation.objects.create(
        clinic_id=clinic.pk,
        patient_id=episode.patient_id,
        episode=episode,
        instrument="NPRS",
        value=8 if final != 8 else 2,
        unit="points",
        # The episode's last score, so that its final value (a figure of the measures' cells) changes.
        observed_on=(episode.opened_at + timedelta(days=400)).date(),
        observed_at=episode.opened_at + timedelta(days=400),
        time_point="reassessment",
        source="clinician",
        recorded_by_id=episode.opened_by_id,
    )
    assert refresh(clinic).kind == "changes"
    stale = set(SummaryStaleMonth.objects.filter(clinic=clinic).values_list("kind", "month"))
    assert stale and {kind for kind, _ in stale} == {"episodes"}, stale
    changed_as_a_full_refresh_would(clinic)
    visit = Visit.objects.filter(episode=episode, needles_inserted__gt=0).order_by("started_at").first()
    later_visit(visit, 40)
    assert refresh(clinic).kind == "changes"
    stale = set(SummaryStaleMonth.objects.filter(clinic=clinic).values_list("kind", "month"))
    assert ("visits", month_of(timezone.localdate(visit.started_at + timedelta(days=40)))) in stale, stale
    changed_as_a_full_refresh_would(clinic)


def test_a_summarised_visit_moved_to_another_month_gives_both_months_differences(clinic: Clinic) -> None:
    """The month a visit's row leaves gets differences as well as the month it enters."""
    visit = later_visit(Visit.objects.filter(clinic=clinic, needles_inserted__gt=0).order_by("pk")[9], 1)
    changed_as_a_full_refresh_would(clinic)
    Visit.objects.filter(pk=visit.pk).update(started_at=visit.started_at + timedelta(days=45))
    assert refresh(clinic).kind == "changes"
    moved = {month for kind, month in SummaryStaleMonth.objects.filter(clinic=clinic).values_list("kind", "month")}
    assert {month_of(timezone.localdate(visit.started_at))} < moved, moved
    changed_as_a_full_refresh_would(clinic)


def test_a_deleted_copy_gives_the_episode_back_to_the_cells(clinic: Clinic) -> None:
    row = EpisodeSummary.objects.filter(clinic=clinic, in_cells=True).order_by("episode_id")[5]
    copy = Episode.objects.get(pk=row.episode_id)
    copy.pk = None
    copy.status, copy.discharge_date, copy.discharge_reason = "discharged", copy.opened_at.date(), "plateau"
    copy.opened_at = datetime(2024, 1, 15, 12, tzinfo=UTC)
    copy.save()
    changed_as_a_full_refresh_would(clinic)
    assert not EpisodeSummary.objects.get(episode_id=row.episode_id).in_cells
    Episode.objects.filter(pk=copy.pk).delete()
    changed_as_a_full_refresh_would(clinic)
    assert EpisodeSummary.objects.get(episode_id=row.episode_id).in_cells


@pytest.mark.django_db(transaction=True)
def test_a_report_opens_a_read_transaction_that_holds_no_writer_back() -> None:
    """Outside a caller's transaction the report's statements share one snapshot: repeatable read on PostgreSQL;
    on SQLite a deferred transaction (Django's own would begin IMMEDIATE, the settings' mode for writes, and keep
    every writer waiting while a report runs)."""
    generate(1, 20, seed=61, end_date=END)
    clinic = Clinic.objects.get(slug="synth-s61-1")
    refresh(clinic, full=True)
    with queries.report_scope(ReportFilters(clinic.pk), AS_OF, summary=True) as scope:
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("SHOW transaction_isolation")
                assert cursor.fetchone()[0] == "repeatable read"
            else:
                assert not connection.in_atomic_block and connection.connection.in_transaction
                cursor.execute("PRAGMA main.journal_mode")  # a read: the transaction has not written
        assert queries.survival_rows(scope)
    assert not connection.in_atomic_block and not (
        connection.vendor == "sqlite" and connection.connection.in_transaction
    )


def test_float_sums_added_in_another_order_reach_the_statistics_alike() -> None:
    from needlepoint.insights.queries import _clustered

    # The database adds a float column in whatever order its plan reads the rows: the same three values come out
    # 0.6000000000000001 one way and 0.6 the other.
    one_way, other_way = 0.1 + 0.2 + 0.3, 0.3 + 0.2 + 0.1
    assert one_way != other_way
    first = _clustered([3, one_way, one_way * one_way, 3, one_way, one_way, 3])
    second = _clustered([3, other_way, other_way * other_way, 3, other_way, other_way, 3])
    assert first == second
    assert first.n == 3 and first.clusters == 3  # counts stay integers
