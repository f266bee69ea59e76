"""Every figure of the claims report, computed in the database, against the same definitions worked out in plain
Python from every row of a small synthetic clinic (missing values, open episodes, both cohorts, adverse events).
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import date

import pytest
from scipy import stats as scipy_stats

from needlepoint.accounts.models import Clinic
from needlepoint.insights.filters import parse_filters
from needlepoint.insights.queries import movement_mdcs
from needlepoint.insights.report import claims_report
from needlepoint.insights.responders import MissingPolicy, is_responder, parse_rule
from needlepoint.insights.stats import wilson_interval
from needlepoint.insights.synthetic import generate
from needlepoint.outcomes.scoring import instrument
from needlepoint.patients.conditions import condition_label
from needlepoint.patients.models import Episode
from needlepoint.visits.models import AdverseEvent, NeedlingEntry, Visit
from tests.insights.evidence_data import facts
from tests.insights.lifelines_survival import hazard_ratio, kaplan_meier

END = date(2026, 6, 30)
AS_OF = date(2026, 7, 1)


@pytest.fixture
def synthetic_clinic(db) -> Clinic:
    generate(1, 240, seed=41, end_date=END)
    return Clinic.objects.get(slug="synth-s41-1")


def report_for(clinic: Clinic, **params: str):
    filters, options = parse_filters(clinic.pk, params)
    return claims_report(clinic, filters, options, as_of=AS_OF)


def t_interval(values: list[float]) -> tuple[float, float, float]:
    mean = statistics.fmean(values)
    if statistics.stdev(values) == 0:
        return mean, mean, mean  # identical values: the t formula's half-width is zero (scipy answers nan)
    low, high = scipy_stats.t.interval(
        0.95, len(values) - 1, loc=mean, scale=statistics.stdev(values) / len(values) ** 0.5
    )
    return mean, low, high


def assert_estimate(estimate, values: list[float]) -> None:
    assert estimate.n == len(values)
    if len(values) < 2:
        assert not estimate.enough_data
        return
    mean, low, high = t_interval(values)
    assert estimate.value == pytest.approx(mean, abs=1e-9)
    assert (estimate.low, estimate.high) == pytest.approx((low, high), abs=1e-9)


@pytest.mark.parametrize("policy", ["itt", "completers"])
@pytest.mark.parametrize("rule_text", ["mcid", "percent:30"])
def test_outcomes_per_condition_and_measure_match_python(synthetic_clinic, policy, rule_text):
    report = report_for(synthetic_clinic, rule=rule_text, missing=policy)
    rule = parse_rule(rule_text)
    expected: dict[tuple[str, str, str], list] = defaultdict(list)
    for episode in facts(synthetic_clinic, AS_OF):
        for code, (baseline, final) in episode.pairs.items():
            if baseline is not None and not instrument(code).rates_change:
                cohort = "needled" if episode.needled else "not needled"
                expected[(condition_label(episode.condition), cohort, code)].append((baseline, final))
    found = {(row.group, row.cohort, row.instrument): row for row in report.measures}
    assert set(found) == set(expected)
    for key, pairs in expected.items():
        row = found[key]
        defn = instrument(key[2])
        completed = [(b, f) for b, f in pairs if f is not None]
        assert (row.with_baseline, row.completers) == (len(pairs), len(completed))
        assert_estimate(row.baseline, [b for b, _ in pairs])
        assert_estimate(row.final, [f for _, f in completed])
        assert_estimate(row.change, [f - b for b, f in completed])
        mcid = defn.mcid.value if defn.mcid else None
        try:
            responders = sum(is_responder(rule, b, f, mcid, defn.direction) for b, f in pairs)
        except ValueError:
            assert row.responders is None
            continue
        denominator = len(pairs) if policy == "itt" else len(completed)
        assert (row.responders.successes, row.responders.n) == (responders, denominator)


def relieved(base: int | None, later: int | None) -> bool:
    """The relief responder rule, written out: a fall of at least 2 points or at least 30% of the baseline."""
    if base is None or later is None:
        return False
    return base - later >= 2 or (base > 0 and base - later >= 0.3 * base - 1e-9)


@pytest.mark.parametrize("policy", ["itt", "completers"])
def test_relief_before_visits_2_and_3_and_immediate_match_python(synthetic_clinic, policy):
    report = report_for(synthetic_clinic, missing=policy)
    tallies: dict[tuple[str, str], dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0, 0]))
    for episode in facts(synthetic_clinic, AS_OF):
        if episode.base_pain is None:
            continue
        points = tallies[(episode.condition, "needled" if episode.needled else "not needled")]
        for name, later in (
            ("immediate", episode.after_1),
            ("before_visit_2", episode.before_2),
            ("before_visit_3", episode.before_3),
        ):
            points[name][0] += 1
            points[name][1] += later is not None
            points[name][2] += relieved(episode.base_pain, later)
    found = {(row.condition, row.cohort): row for row in report.relief}
    assert set(found) == set(tallies)
    for key, points in tallies.items():
        for name, (with_baseline, known, successes) in points.items():
            share = getattr(found[key], name)
            assert found[key].with_baseline == with_baseline
            assert (share.successes, share.n) == (successes, with_baseline if policy == "itt" else known)
            if share.n and share.enough_data:
                # One episode per patient in the synthetic clinic: the clustered interval is the plain Wilson one.
                assert (share.low, share.high) == pytest.approx(wilson_interval(successes, share.n), abs=1e-12)


def test_range_of_motion_gains_match_python(synthetic_clinic):
    report = report_for(synthetic_clinic)
    mdcs = movement_mdcs()
    episodes: dict[tuple, list] = defaultdict(list)
    for episode in facts(synthetic_clinic, AS_OF):
        for (joint, movement, method), values in episode.rom_per_episode().items():
            cohort = "needled" if episode.needled else "not needled"
            episodes[(episode.condition, cohort, joint, movement, method)].append(values)
    found = {(row.condition, row.cohort, row.joint, row.movement, row.method): row for row in report.rom}
    assert set(found) == set(episodes)
    for key, rows in episodes.items():
        row = found[key]
        gains = [gain for gain, _ in rows if gain is not None]
        assert (row.episodes, row.completers) == (len(rows), len(gains))
        assert_estimate(row.degrees, gains)
        assert_estimate(row.percent_of_normal, [percent for _, percent in rows if percent is not None])
        mdc = mdcs.get(key[2:])
        if mdc is None:
            assert row.beyond_mdc is None
        else:
            assert row.beyond_mdc.successes == sum(gain >= mdc for gain in gains)
            assert row.beyond_mdc.n == len(rows)  # intention to treat: unmeasured episodes are not beyond it


def test_time_to_discharge_matches_lifelines_on_every_episode(synthetic_clinic):
    report = report_for(synthetic_clinic)
    episodes: dict[tuple[str, bool], list[tuple[int, bool]]] = defaultdict(list)
    for episode in facts(synthetic_clinic, AS_OF):
        episodes[(episode.condition, episode.needled)].append((episode.days, episode.goals_met))
    for result in report.recovery:
        needled, other = episodes[(result.condition, True)], episodes[(result.condition, False)]
        for curve, expected in ((result.comparison.needled, needled), (result.comparison.comparison, other)):
            reference = kaplan_meier(expected)
            assert (curve.n, curve.events) == (reference.n, reference.events)
            assert (curve.median_low, curve.median_high) == (reference.median_low, reference.median_high)
        ratio, reference = result.comparison.hazard_ratio, hazard_ratio(needled, other)
        assert ratio.enough_data == reference.enough_data
        if ratio.enough_data:
            # lifelines stops short of the exact maximum (see test_grouped_survival): it agrees to about 1e-3.
            assert ratio.value == pytest.approx(reference.value, rel=1e-3)


def test_adverse_event_rates_per_1000_needled_visits_match_python(synthetic_clinic):
    report = report_for(synthetic_clinic)
    needled = [visit for visit in Visit.objects.filter(clinic=synthetic_clinic) if visit.needles_inserted > 0]
    ids = {visit.pk for visit in needled}
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for event in AdverseEvent.objects.filter(clinic=synthetic_clinic):
        if event.visit_id in ids:
            counts[(event.event_type, event.severity)] += 1
            counts[("any", event.severity)] += 1
    assert report.needled_visits == len(needled)
    rates = {(row.event_type, row.severity): row.rate for row in report.event_rates}
    for key, count in counts.items():
        assert rates[key].events == count
        assert rates[key].per_1000 == pytest.approx(count / len(needled) * 1000)
    brady_mild = next(row for row in report.event_rates if row.event_type == "any" and row.severity == "mild")
    assert {rate.study for rate in brady_mild.published} == {"brady2014", "boyce2020"}


def test_per_clinician_and_per_technique_breakdowns_match_python(synthetic_clinic):
    report = report_for(synthetic_clinic, min_n="1")
    pain = instrument("NPRS")
    per_clinician: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for episode in facts(synthetic_clinic, AS_OF):
        baseline, final = episode.pairs.get("NPRS", (None, None))
        if baseline is not None:
            per_clinician[episode.clinician_id][0] += 1
            per_clinician[episode.clinician_id][1] += is_responder(
                parse_rule("mcid"), baseline, final, pain.mcid.value, pain.direction
            )
    rows = {int(row.key): row for row in report.clinicians}
    for clinician_id, (n, responders) in per_clinician.items():
        assert (rows[clinician_id].responders.successes, rows[clinician_id].responders.n) == (responders, n)

    visits = {visit.pk: visit for visit in Visit.objects.filter(clinic=synthetic_clinic, needles_inserted__gt=0)}
    by_technique: dict[str, set[int]] = defaultdict(set)
    for entry in NeedlingEntry.objects.filter(clinic=synthetic_clinic):
        by_technique[entry.technique].add(entry.visit_id)
    events_by_visit: dict[int, int] = defaultdict(int)
    for event in AdverseEvent.objects.filter(clinic=synthetic_clinic):
        events_by_visit[event.visit_id] += 1
    techniques = {row.key: row for row in report.techniques}
    assert set(techniques) == set(by_technique)
    for technique, visit_ids in by_technique.items():
        row = techniques[technique]
        assert row.visits == len(visit_ids)
        assert row.events_per_1000.events == sum(events_by_visit[v] for v in visit_ids)
        measured = [
            visits[v] for v in visit_ids if visits[v].pain_before is not None and visits[v].pain_after is not None
        ]
        relieved = sum(v.pain_before - v.pain_after >= 2 for v in measured)
        assert (row.session_relief.successes, row.session_relief.n) == (relieved, len(measured))


def test_filters_narrow_every_figure_to_the_matching_episodes(synthetic_clinic):
    everything = report_for(synthetic_clinic)
    neck = report_for(synthetic_clinic, condition="neck_pain")
    assert {row.group for row in neck.measures} == {"Neck pain"}
    assert [verdicts.condition for verdicts in neck.verdicts] == ["neck_pain"]
    whole = {(row.group, row.cohort, row.instrument): row.with_baseline for row in everything.measures}
    for row in neck.measures:
        assert row.with_baseline == whole[(row.group, row.cohort, row.instrument)]

    technique = report_for(synthetic_clinic, technique="static")
    static_visits = set(
        NeedlingEntry.objects.filter(clinic=synthetic_clinic, technique="static").values_list("visit_id", flat=True)
    )
    assert technique.needled_visits == len(static_visits)
    # A technique filter keeps episodes with the technique at some visit; the cohort is still the first visit's.
    assert 0 < technique.needled_episodes <= technique.episodes

    muscle = NeedlingEntry.objects.filter(clinic=synthetic_clinic).values_list("muscle_id", flat=True).first()
    by_muscle = report_for(synthetic_clinic, muscle=muscle)
    episodes = set(Visit.objects.filter(needling_entries__muscle_id=muscle).values_list("episode_id", flat=True))
    assert by_muscle.episodes == len(episodes)

    later = report_for(synthetic_clinic, date_from="2026-01-01", date_to="2026-03-31")
    opened = [e.opened_at.date() for e in Episode.objects.filter(clinic=synthetic_clinic)]
    assert later.episodes == sum(date(2026, 1, 1) <= day <= date(2026, 3, 31) for day in opened)
    assert 0 < later.episodes < everything.episodes


def test_a_clinic_sees_only_its_own_episodes(synthetic_clinic, clinic, clinician):
    from tests.insights.evidence_data import episode, observation

    own = episode(clinic, clinician)
    observation(own, clinician, "NPRS", 7, 0, "baseline")
    observation(own, clinician, "NPRS", 2, 20, "discharge")
    report = report_for(clinic)
    assert report.episodes == 1
    assert [(row.instrument, row.with_baseline) for row in report.measures] == [("NPRS", 1)]
    assert report.options.missing == MissingPolicy.ITT
