"""The incremental refresh: triggers note every change the summary depends on, a refresh rebuilds only those
episodes, and the summary it leaves is row for row the one a full rebuild gives, so the report's figures are too.
The report brings the summary up to date by itself before it reads it, and says how current it is."""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest
from django.db import connection
from django.test import override_settings

from needlepoint.accounts.models import Clinic
from needlepoint.insights import changes, summaries
from needlepoint.insights.filters import parse_filters
from needlepoint.insights.models import (
    EpisodeCohort,
    EpisodeMeasureSummary,
    EpisodeMovementSummary,
    EpisodeRomSummary,
    EpisodeSummary,
    OutcomeImport,
    SummaryCell,
    SummaryChange,
    SummaryRefresh,
    SummaryStaleMonth,
    VisitEventSummary,
    VisitSummary,
)
from needlepoint.insights.report import claims_report
from needlepoint.insights.summaries import catch_up_cells, refresh
from needlepoint.insights.synthetic import generate
from needlepoint.outcomes.models import Observation, RomMeasurement
from needlepoint.patients.models import Episode
from needlepoint.visits.models import AdverseEvent, NeedlingEntry, Visit
from tests.insights.test_summaries import assert_same, figures

END = date(2026, 6, 30)
AS_OF = date(2026, 7, 1)
FILTERS = (
    {},
    {"missing": "completers"},
    {"rule": "percent:30"},
    {"condition": "neck_pain", "min_n": "2"},
    {"date_from": "2025-01-01", "date_to": "2026-03-31"},
    {"muscle": "upper-trapezius", "min_n": "2"},
    {"technique": "pistoning"},
)


@pytest.fixture
def clinic(db) -> Clinic:
    generate(2, 150, seed=47, end_date=END)
    return Clinic.objects.get(slug="synth-s47-1")


def summary_rows(clinic: Clinic) -> dict[str, list[tuple]]:
    """Every summary row of the clinic, without its id, in a fixed order."""
    rows = {}
    episode_models = (EpisodeSummary, EpisodeMeasureSummary, EpisodeRomSummary, EpisodeMovementSummary)
    for model in (*episode_models, VisitSummary, VisitEventSummary):
        names = [f.attname for f in model._meta.concrete_fields if f.name != "id"]
        rows[model.__name__] = sorted(model.objects.filter(clinic=clinic).values_list(*names), key=repr)
    # The cells' sums to 12 significant digits: a month's cells added up alone or with every month may add the same
    # floats in another order.
    names = [f.attname for f in SummaryCell._meta.concrete_fields if f.name != "id"]
    found = SummaryCell.objects.filter(clinic=clinic).values_list(*names)
    rows["SummaryCell"] = sorted(
        (tuple(float(f"{value:.12g}") if isinstance(value, float) else value for value in row) for row in found),
        key=repr,
    )
    assert rows["SummaryCell"], "the refresh keeps cells"
    return rows


def noted(clinic: Clinic) -> set[int]:
    return set(SummaryChange.objects.filter(clinic=clinic).values_list("episode_id", flat=True))


def later_visit(visit: Visit, days: int, **fields) -> Visit:
    """A new, unsigned visit of the same episode ``days`` after ``visit``."""
    new = Visit.objects.get(pk=visit.pk)
    new.pk = None
    new.signed_at = new.signed_by = None
    new.started_at = visit.started_at + timedelta(days=days)
    for name, value in fields.items():
        setattr(new, name, value)
    new.save()
    return new


def make_changes_of_every_kind(clinic: Clinic) -> set[int]:
    """Change each kind of record the summary reads, each in a different episode; the episodes changed."""
    episodes = list(Episode.objects.filter(clinic=clinic).order_by("pk"))
    needled = list(Visit.objects.filter(clinic=clinic, needles_inserted__gt=0).order_by("pk"))
    touched: set[int] = set()

    # A new visit (needled, with pain) in an episode, then its pain corrected while it is unsigned.
    visit = later_visit(needled[0], 1, pain_before=9, pain_after=2)
    Visit.objects.filter(pk=visit.pk).update(pain_before=8)
    touched.add(visit.episode_id)
    # A needling entry with another technique and an adverse event on a new visit of another episode.
    other = later_visit(needled[10], 2)
    entry = NeedlingEntry.objects.filter(visit=needled[10]).first()
    entry.pk, entry.visit, entry.technique = None, other, "pistoning"
    entry.save()
    event = AdverseEvent.objects.filter(clinic=clinic).first() or pytest.fail("the synthetic clinic has events")
    event.pk, event.visit, event.severity = None, other, "significant"
    event.save()
    touched.add(other.episode_id)
    # An existing adverse event's severity changed (its visit's episode).
    first_event = AdverseEvent.objects.filter(clinic=clinic).exclude(visit=other).first()
    AdverseEvent.objects.filter(pk=first_event.pk).update(severity="serious")
    touched.add(first_event.visit.episode_id)
    # Another adverse event's type corrected, nothing else about it (the events' cells are by type).
    retyped = (
        AdverseEvent.objects.filter(clinic=clinic, event_type__in=("bruising", "bleeding"))
        .exclude(visit__episode_id__in=touched)
        .exclude(visit=other)
        .first()
    ) or pytest.fail("the synthetic clinic has bruising or bleeding")
    new_type = "bleeding" if retyped.event_type == "bruising" else "bruising"
    AdverseEvent.objects.filter(pk=retyped.pk).update(event_type=new_type)
    touched.add(retyped.visit.episode_id)
    # A follow-up score added and a baseline score corrected.
    observation = Observation.objects.filter(clinic=clinic, time_point="baseline").order_by("pk").first()
    follow_up = Observation.objects.get(pk=observation.pk)
    follow_up.pk, follow_up.time_point = None, "discharge"
    follow_up.observed_at += timedelta(days=40)
    follow_up.observed_on += timedelta(days=40)
    follow_up.value = 0
    follow_up.save()
    second = Observation.objects.filter(clinic=clinic, time_point="baseline").exclude(episode=observation.episode)
    second = second.order_by("-pk").first()
    Observation.objects.filter(pk=second.pk).update(value=max(second.value - 1, 0))
    touched |= {observation.episode_id, second.episode_id}
    # A range-of-motion measurement corrected.
    rom = RomMeasurement.objects.filter(clinic=clinic).order_by("-pk").first()
    RomMeasurement.objects.filter(pk=rom.pk).update(degrees=rom.degrees + 15)
    touched.add(rom.episode_id)
    # An episode discharged with its goals met, another moved to a different condition and clinician.
    open_episode = next(e for e in episodes if e.status != "discharged" and e.pk not in touched)
    Episode.objects.filter(pk=open_episode.pk).update(
        status="discharged", discharge_reason="goals_met", discharge_date=END
    )
    moved = next(e for e in episodes[40:] if e.condition != "neck_pain" and e.pk not in touched)
    clinician = Episode.objects.filter(clinic=clinic).exclude(opened_by=moved.opened_by).first().opened_by
    Episode.objects.filter(pk=moved.pk).update(condition="neck_pain", opened_by=clinician)
    touched |= {open_episode.pk, moved.pk}
    # An episode given an imported cohort label.
    labelled = episodes[-1]
    run = OutcomeImport.objects.create(
        clinic=clinic, imported_by=labelled.opened_by, file_name="t.csv", file_sha256="0" * 64, condition="neck_pain"
    )
    EpisodeCohort.objects.create(clinic=clinic, episode=labelled, outcome_import=run, label="arm A")
    touched.add(labelled.pk)
    # A new episode, opened today, with no visit yet.
    new_episode = Episode.objects.get(pk=episodes[5].pk)
    new_episode.pk, new_episode.status, new_episode.discharge_date, new_episode.discharge_reason = (
        None,
        "open",
        None,
        "",
    )
    new_episode.save()
    touched.add(new_episode.pk)
    return touched


def test_every_change_trigger_exists(db) -> None:
    """Created by the migration and again after every migrate (SQLite drops them when it rebuilds a table)."""
    assert changes.existing_triggers(connection) == set(changes.trigger_names())


def test_an_incremental_refresh_leaves_what_a_full_one_does(clinic: Clinic) -> None:
    other = Clinic.objects.get(slug="synth-s47-2")
    refresh(clinic)
    refresh(other)
    assert not noted(clinic)
    touched = make_changes_of_every_kind(clinic)
    assert noted(clinic) == touched  # each kind of change noted, for its episode only
    assert not noted(other)

    run = refresh(clinic)
    assert run.kind == "changes" and run.changed_episodes == len(touched)
    assert run.episodes == Episode.objects.filter(clinic=clinic).count()
    assert not noted(clinic)
    # The changes' differences are in the cells at once; their months are added up again afterwards.
    assert SummaryStaleMonth.objects.filter(clinic=clinic).exists()
    for params in FILTERS:
        filters, options = parse_filters(clinic.pk, params)
        with_differences = figures(claims_report(clinic, filters, options, as_of=AS_OF, source="summary"))
        assert_same(figures(claims_report(clinic, filters, options, as_of=AS_OF, source="live")), with_differences)
    assert catch_up_cells(clinic.pk) > 0 and not SummaryStaleMonth.objects.filter(clinic=clinic).exists()
    incremental_rows = summary_rows(clinic)
    incremental = {
        str(params): figures(claims_report(clinic, *parse_filters(clinic.pk, params), as_of=AS_OF, source="summary"))
        for params in FILTERS
    }

    full = refresh(clinic, full=True)
    assert full.kind == "full"
    assert summary_rows(clinic) == incremental_rows
    for params in FILTERS:
        filters, options = parse_filters(clinic.pk, params)
        after_full = figures(claims_report(clinic, filters, options, as_of=AS_OF, source="summary"))
        live = figures(claims_report(clinic, filters, options, as_of=AS_OF, source="live"))
        assert_same(incremental[str(params)], after_full)
        assert_same(live, after_full)


def test_a_deleted_episode_leaves_the_summary(clinic: Clinic) -> None:
    episode = Episode.objects.filter(clinic=clinic).first()
    empty = Episode.objects.get(pk=episode.pk)
    empty.pk = None
    empty.save()
    refresh(clinic)
    assert EpisodeSummary.objects.filter(episode_id=empty.pk).exists()
    Episode.objects.filter(pk=empty.pk).delete()
    assert noted(clinic) == {empty.pk}
    run = refresh(clinic)
    assert run.kind == "changes" and not EpisodeSummary.objects.filter(episode_id=empty.pk).exists()


def test_writes_the_summary_does_not_read_note_nothing(clinic: Clinic) -> None:
    visit = later_visit(Visit.objects.filter(clinic=clinic).first(), 1)  # unsigned: its note can change
    first = refresh(clinic)
    Visit.objects.filter(pk=visit.pk).update(subjective="Slept better.", assessment="Improving")
    Episode.objects.filter(pk=visit.episode_id).update(goals="Walk to work without pain")
    assert not noted(clinic)
    Visit.objects.filter(pk=visit.pk).update(pain_after=3)
    assert noted(clinic) == {visit.episode_id}
    SummaryChange.objects.filter(clinic=clinic).delete()
    run = refresh(clinic)
    assert run.pk == first.pk and run.checked_at is not None  # nothing rebuilt: the last run, found current


def test_a_needling_entry_moved_to_another_muscle_is_noted(clinic: Clinic) -> None:
    """The muscle filter reads each entry's muscle from the summary, so a change of muscle is a change to note."""
    from needlepoint.atlas.catalogue import muscles

    needled = Visit.objects.filter(clinic=clinic, needles_inserted__gt=0).order_by("pk")[5]
    visit = later_visit(needled, 3)  # unsigned: its entries can change
    entry = NeedlingEntry.objects.filter(visit=needled).first()
    entry.pk, entry.visit = None, visit
    entry.save()
    refresh(clinic)
    assert not noted(clinic)
    moved_to = next(code for code in muscles() if code != entry.muscle_id)
    NeedlingEntry.objects.filter(pk=entry.pk).update(muscle_id=moved_to)
    assert noted(clinic) == {visit.episode_id}
    filters, options = parse_filters(clinic.pk, {"muscle": moved_to, "min_n": "1"})
    summary = claims_report(clinic, filters, options, as_of=AS_OF, source="summary")  # adds the change first
    live = claims_report(clinic, filters, options, as_of=AS_OF, source="live")
    assert summary.episodes >= 1 and summary.needled_visits >= 1
    assert_same(figures(live), figures(summary))


def test_many_changes_rebuild_everything(clinic: Clinic) -> None:
    refresh(clinic)
    Episode.objects.filter(clinic=clinic).update(side="")
    run = refresh(clinic)
    assert run.kind == "full" and not noted(clinic)


def test_the_report_adds_changes_before_it_reads(clinic: Clinic) -> None:
    """No command, no schedule: the report's read brings the summary up to date and says so."""
    first = refresh(clinic)
    filters, options = parse_filters(clinic.pk, {})
    touched = make_changes_of_every_kind(clinic)
    report = claims_report(clinic, filters, options, as_of=AS_OF)
    latest = summaries.latest_refresh(clinic.pk)
    assert latest.pk != first.pk and latest.kind == "changes" and latest.changed_episodes == len(touched)
    assert report.source == "summary" and report.summary_as_of == latest.started_at
    assert "every change recorded until then is counted" in report.source_note
    live = claims_report(clinic, filters, options, as_of=AS_OF, source="live")
    assert_same(figures(live), figures(report))
    again = claims_report(clinic, filters, options, as_of=AS_OF)  # nothing new: nothing rebuilt
    assert summaries.latest_refresh(clinic.pk).pk == latest.pk and again.summary_as_of > latest.started_at


def test_the_command_prints_the_true_wall_time(clinic: Clinic) -> None:
    import io
    from contextlib import redirect_stdout

    from needlepoint.cli import main

    refresh(clinic)
    Visit.objects.filter(pk=Visit.objects.filter(clinic=clinic, signed_at__isnull=True).values("pk")[:1]).update(
        pain_after=0
    ) or later_visit(Visit.objects.filter(clinic=clinic).first(), 1, pain_before=4)
    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["insights", "refresh", "--clinic", clinic.slug]) == 0
        assert main(["insights", "refresh", "--clinic", clinic.slug]) == 0
        assert main(["insights", "refresh", "--clinic", clinic.slug, "--full"]) == 0
    lines = out.getvalue().splitlines()
    assert "1 changed episodes" in lines[0] and "(wall time, commit included)" in lines[0]
    # The change gave its months' summary cells differences: the command adds them up again at once.
    assert "months given differences added up again in" in lines[1]
    assert "no change since the last refresh" in lines[2]
    assert "full refresh" in lines[3] and len(lines) == 4
    assert SummaryRefresh.objects.filter(clinic=clinic, seconds__gt=0).count() == 3


# Committed transactions (a test's own transaction would keep holding the lock of its first refresh).
@pytest.mark.skipif("connection.vendor != 'postgresql'")
@pytest.mark.django_db(transaction=True)
def test_a_refresh_running_elsewhere_is_not_repeated() -> None:
    """The report does not wait for, or run beside, a refresh another process holds: it reads what is there."""
    import psycopg

    generate(1, 60, seed=49, end_date=END)
    clinic = Clinic.objects.get(slug="synth-s49-1")
    refresh(clinic)
    later_visit(Visit.objects.filter(clinic=clinic).first(), 1, pain_before=4)
    settings = connection.settings_dict
    with psycopg.connect(
        host=settings["HOST"], port=settings["PORT"] or 5432, user=settings["USER"], dbname=settings["NAME"]
    ) as other:
        other.execute("SELECT pg_advisory_lock(%s, %s)", [summaries.LOCK_KEY, clinic.pk])
        other.commit()
        assert refresh(clinic, wait=False) is None
        filters, options = parse_filters(clinic.pk, {})
        report = claims_report(clinic, filters, options, as_of=AS_OF)
        assert report.source == "summary" and "being added by a refresh running now" in report.source_note
    assert noted(clinic)  # still waiting for the next refresh
    assert refresh(clinic).kind == "changes"


# SQLite's in-memory test database shares one cache between connections and answers "table is locked" at once
# where the clinic's WAL database file waits (settings: a 20 s busy timeout), so this runs on PostgreSQL.
@pytest.mark.skipif("connection.vendor != 'postgresql'")
@pytest.mark.django_db(transaction=True)
def test_a_large_backlog_is_added_in_the_background() -> None:
    generate(1, 60, seed=48, end_date=END)
    clinic = Clinic.objects.get(slug="synth-s48-1")
    refresh(clinic)
    later_visit(Visit.objects.filter(clinic=clinic).first(), 1, pain_before=4)
    filters, options = parse_filters(clinic.pk, {})
    with override_settings(INSIGHTS_INLINE_REFRESH_NOTES=0):
        report = claims_report(clinic, filters, options, as_of=AS_OF)
    assert report.source == "summary" and "in the background" in report.source_note
    for thread in threading.enumerate():
        if thread.name == f"summary-refresh-{clinic.pk}":
            thread.join(timeout=60)
    assert not noted(clinic) and summaries.latest_refresh(clinic.pk).kind == "changes"
