"""The clinic evidence report: every figure of the claims page, PDF, API and command line, built in one place.

The database returns aggregates (``queries.py``); this module turns them into estimates with confidence
intervals (``stats.py``), survival curves (``grouped_survival.py``), verdicts on the three benefit claims
(``claims.py``) and suppressed breakdowns (``suppression.py``). The page, the PDF and the commands only lay the
result out, so they always show the same numbers.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from django.utils import timezone

from needlepoint.accounts.models import Clinic, Membership
from needlepoint.grammar import plural
from needlepoint.insights import queries, summaries
from needlepoint.insights.claims import (
    DEFINITIONS,
    RELIEF_PERCENT,
    RELIEF_POINTS,
    PublishedRate,
    Verdict,
    minimum_for,
    published_adverse_event_rates,
    verdict_recovery,
    verdict_relief,
    verdict_rom,
)
from needlepoint.insights.filters import ReportFilters, ReportOptions
from needlepoint.insights.grouped_survival import DayCount, compare_needled_counts
from needlepoint.insights.responders import (
    MissingPolicy,
    ResponderRule,
    RuleKind,
    describe_missing_policy,
    describe_rule,
    responder_count,
)
from needlepoint.insights.stats import (
    Estimate,
    Proportion,
    Rate,
    clustered_mean_ci,
    clustered_proportion,
    mean_ci,
    proportion,
    rate_per_1000,
)
from needlepoint.insights.suppression import SHOWN, Suppression, check_small_number, suppress_breakdown
from needlepoint.insights.survival import SurvivalComparison
from needlepoint.outcomes.scoring import instrument
from needlepoint.patients.conditions import condition_label, conditions
from needlepoint.visits.adverse_events import adverse_event_types
from needlepoint.visits.summary import technique_label

PAIN = queries.PAIN_INSTRUMENT
SEVERITIES = ("mild", "significant", "serious")


# ---------------------------------------------------------------------------------------------------- results


@dataclass(frozen=True)
class MeasureResult:
    """One measure in one group: baseline, final and change with 95% intervals, and the responder rate."""

    group: str
    cohort: str  # "needled", "not needled" or "all"
    instrument: str
    instrument_name: str
    unit: str
    direction: str
    with_baseline: int
    completers: int
    baseline: Estimate
    final: Estimate
    change: Estimate
    responders: Proportion | None
    responder_note: str
    missing_note: str


@dataclass(frozen=True)
class ReliefResult:
    """Relief for one condition's cohort at three fixed time points, each on its own: before visit 3 (the
    pre-specified figure), before visit 2, and the immediate change at the end of visit 1 (clinician-recorded)."""

    condition: str
    cohort: str
    episodes: int
    with_baseline: int
    before_visit_3: Proportion
    before_visit_2: Proportion
    immediate: Proportion
    missing_note: str

    @property
    def condition_label(self) -> str:
        """The condition in words."""
        return condition_label(self.condition)


@dataclass(frozen=True)
class RomResult:
    """Range of motion gained in one movement (by one method), one value per episode: degrees, percent of
    normal and the share beyond the MDC, with intervals that allow for patients with several episodes."""

    condition: str
    cohort: str
    joint: str
    movement: str
    method: str
    episodes: int
    patients: int
    completers: int
    degrees: Estimate
    percent_of_normal: Estimate
    beyond_mdc: Proportion | None
    mdc: float | None
    missing_note: str

    @property
    def label(self) -> str:
        """The movement in words, e.g. 'Cervical spine rotation (crom)'."""
        return f"{self.joint.replace('_', ' ').capitalize()} {self.movement.replace('_', ' ')} ({self.method})"

    @property
    def condition_label(self) -> str:
        """The condition in words."""
        return condition_label(self.condition)


@dataclass(frozen=True)
class RecoveryResult:
    """Time to discharge with goals met for one condition: needled against not-needled episodes."""

    condition: str
    comparison: SurvivalComparison

    @property
    def condition_label(self) -> str:
        """The condition in words."""
        return condition_label(self.condition)


@dataclass(frozen=True)
class EventRate:
    """The clinic's rate of one adverse-event type and severity per 1,000 needled visits, beside published rates."""

    event_type: str
    severity: str
    rate: Rate
    published: tuple[PublishedRate, ...]


@dataclass(frozen=True)
class BreakdownRow:
    """One clinician or technique: its figures, or the marker and reason when the group is too small to show."""

    key: str
    label: str
    episodes: int | None
    responders: Proportion | None
    change: Estimate | None
    episode_suppression: Suppression
    visits: int
    events_per_1000: Rate | None
    serious_per_1000: Rate | None
    session_relief: Proportion | None
    visit_suppression: Suppression


@dataclass(frozen=True)
class ConditionVerdicts:
    """The three claims' verdicts for one condition."""

    condition: str
    label: str
    relief: Verdict
    rom: Verdict
    recovery: Verdict

    @property
    def verdicts(self) -> tuple[Verdict, Verdict, Verdict]:
        """Relief, range of motion and recovery, in that order."""
        return (self.relief, self.rom, self.recovery)


@dataclass(frozen=True)
class ClaimsReport:
    """The whole evidence report for one clinic and set of filters."""

    clinic_name: str
    filters: ReportFilters
    options: ReportOptions
    as_of: date
    generated_at: Any
    episodes: int
    needled_episodes: int
    rule_note: str
    verdicts: tuple[ConditionVerdicts, ...]
    measures: tuple[MeasureResult, ...]
    relief: tuple[ReliefResult, ...]
    rom: tuple[RomResult, ...]
    recovery: tuple[RecoveryResult, ...]
    needled_visits: int
    event_rates: tuple[EventRate, ...]
    published_only: tuple[PublishedRate, ...]
    clinicians: tuple[BreakdownRow, ...]
    techniques: tuple[BreakdownRow, ...]
    method: tuple[str, ...] = field(default_factory=tuple)
    limits: tuple[str, ...] = field(default_factory=tuple)
    definitions: dict[str, str] = field(default_factory=dict)  # each claim's definition, as on the page
    claims_minimum_n: int = 0  # the fewest episodes per group before a claim is judged
    source: str = "live"  # "summary" (the tables of the last refresh) or "live" (the records as they are now)
    summary_as_of: Any = None  # the time the summary figures are current to (every change before it counted)
    source_note: str = "Live figures, computed from the records now."

    @property
    def enough_episodes(self) -> bool:
        """Whether the filters left any episode at all."""
        return self.episodes > 0


@dataclass(frozen=True)
class ResponderReport:
    """Responder rates for one instrument, rule and missing follow-up policy, by group."""

    clinic_name: str
    filters: ReportFilters
    instrument: str
    instrument_name: str
    rule_text: str
    rule_note: str
    policy: MissingPolicy
    by: str
    rows: tuple[MeasureResult, ...]


# ---------------------------------------------------------------------------------------------------- building


def claims_report(
    clinic: Clinic,
    filters: ReportFilters,
    options: ReportOptions,
    *,
    as_of: date | None = None,
    clinician_names: dict[int, str] | None = None,
    source: str = "auto",
) -> ClaimsReport:
    """Compute every figure of the claims report for ``filters`` (all inside the database, a few queries).

    ``source`` 'auto' reads the episode figures from the summary tables of the last ``needlepoint insights
    refresh`` when the clinic has them, else from the records ('live'); 'summary' insists on the summary.
    """
    as_of = as_of or timezone.localdate()
    pain = instrument(PAIN)
    refresh, as_of_time, source_note = _choose_source(filters, source)
    read = summaries.reading(refresh, filters, options, as_of)
    summary = refresh is not None
    with queries.report_scope(filters, as_of, summary=summary, cells=read.cells, days_kept=read.days_kept) as scope:
        survival = queries.survival_rows(scope)
        counts = queries.counts_of(survival)
        measures = queries.measure_sums(scope, options.rule, by=("condition", "clinician"))
        relief = queries.relief_counts(scope, options.missing, points=RELIEF_POINTS, percent=RELIEF_PERCENT)
        rom = queries.rom_sums(scope, options.missing)
        clinician_visits, technique_visits = queries.visit_breakdowns(scope, queries.session_relief_points())
        events = queries.event_counts(scope)
    names = clinician_names if clinician_names is not None else _clinician_names(filters.clinic_id)
    episodes = sum(counts.values())
    needled = sum(n for (_, was_needled), n in counts.items() if was_needled)
    present = sorted({group[0] for group, _ in counts}, key=lambda code: condition_label(code))
    measure_results = _measures(measures, options, present)
    relief_results = _relief(relief, options.missing)
    rom_results = _rom(rom, options.missing)
    recovery_results = _recovery(survival, present)
    verdicts = tuple(
        _verdicts(code, relief_results, rom_results, recovery_results, options.minimum_n) for code in present
    )
    needled_visits = sum(row.visits for row in clinician_visits)
    rates, published_only = _event_rates(events, needled_visits)
    return ClaimsReport(
        clinic_name=clinic.name,
        filters=filters,
        options=options,
        as_of=as_of,
        generated_at=timezone.now(),
        episodes=episodes,
        needled_episodes=needled,
        rule_note=_rule_note(options.rule, pain),
        verdicts=verdicts,
        measures=measure_results,
        relief=relief_results,
        rom=rom_results,
        recovery=recovery_results,
        needled_visits=needled_visits,
        event_rates=rates,
        published_only=published_only,
        clinicians=_clinician_rows(measures, clinician_visits, options, names),
        techniques=_technique_rows(technique_visits, options),
        method=METHOD,
        limits=LIMITS,
        definitions=dict(DEFINITIONS),
        claims_minimum_n=minimum_for(options.minimum_n),
        source="summary" if refresh is not None else "live",
        summary_as_of=as_of_time,
        source_note=source_note,
    )


def _choose_source(filters: ReportFilters, source: str) -> tuple[Any, Any, str]:
    """(the refresh whose summary the report reads, or None for the live path; the time its figures are current
    to; the sentence saying which path and how current). Reading the summary first adds the changes noted since
    the last refresh (``summaries.bring_up_to_date``)."""
    if source not in ("auto", "summary", "live"):
        raise ValueError("The source is auto, summary or live.")
    live = "Live figures, computed from the records now"
    if source == "live":
        return None, None, live + "."
    fresh = summaries.bring_up_to_date(filters.clinic_id)
    if fresh.refresh is None:
        if source == "summary":
            raise ValueError("The clinic's summary tables were never refreshed.")
        if fresh.background:
            return None, None, live + " (the summary tables are being built; later views will read them)."
        return (
            None,
            None,
            live
            + " (no summary refresh has run yet: a small clinic is read live; needlepoint insights refresh builds it).",
        )
    stamp = timezone.localtime(fresh.as_of).strftime("%Y-%m-%d %H:%M %Z")
    if fresh.pending:
        since = (
            f"{fresh.pending:,}{'+' if fresh.background else ''} changes recorded since are being added"
            + (" in the background" if fresh.background else " by a refresh running now")
            + " and will be counted on a later view."
        )
    else:
        since = "every change recorded until then is counted (the summary adds new changes before each view)."
    return fresh.refresh, fresh.as_of, f"Figures as of {stamp}, from the summary tables: {since}"


def responder_report(
    clinic: Clinic, filters: ReportFilters, options: ReportOptions, instrument_code: str, *, by: str = "all"
) -> ResponderReport:
    """Responder rates for one instrument under the chosen rule and missing follow-up policy, by group.

    ``by`` is 'all', 'condition', 'cohort' (the groups of an outcome import) or 'clinician'.
    """
    defn = instrument(instrument_code)
    if by not in ("all", "condition", "cohort", "clinician"):
        raise ValueError("Group by all, condition, cohort or clinician.")
    grouping = () if by == "all" else (by,)
    with queries.report_scope(filters, timezone.localdate()) as scope:
        sums = queries.measure_sums(scope, options.rule, by=grouping, instrument_codes=[defn.code])
    names = _clinician_names(filters.clinic_id) if by == "clinician" else {}
    grouped: dict[Any, list[queries.MeasureSums]] = defaultdict(list)
    for row in sums:
        grouped[row.group[0] if row.group else "all"].append(row)
    rows = []
    for key in sorted(grouped, key=lambda value: str(value)):
        label = _group_label(by, key, names)
        rows.append(_measure_result(label, "all", _add_sums(grouped[key]), options))
    return ResponderReport(
        clinic_name=clinic.name,
        filters=filters,
        instrument=defn.code,
        instrument_name=defn.name,
        rule_text=options.rule_text,
        rule_note=_rule_note(options.rule, defn),
        policy=options.missing,
        by=by,
        rows=tuple(rows),
    )


def _group_label(by: str, key: Any, names: dict[int, str]) -> str:
    if by == "condition":
        return condition_label(key)
    if by == "clinician":
        return names.get(key, f"clinician #{key}")
    if by == "cohort":
        return "(not imported)" if key is None else key or "(no group recorded)"
    return "All episodes"


def _clinician_names(clinic_id: int) -> dict[int, str]:
    rows = Membership.objects.filter(clinic_id=clinic_id).select_related("user")
    return {row.pk: row.user.get_full_name() or row.user.username for row in rows}


def _rule_note(rule: ResponderRule, defn: Any) -> str:
    try:
        threshold = defn.responder_points if defn.mcid is not None and defn.mcid.unit == "points" else None
        note = describe_rule(rule, threshold, defn.direction)
        if rule.kind is RuleKind.MCID and threshold is not None and threshold != defn.mcid.value:
            note += (
                f" The published MCID ({defn.mcid.value:g}) lies below the minimal detectable change, so the bar is"
                f" raised to the MDC ({threshold:g}): a smaller change is within measurement error."
            )
        return note
    except ValueError as exc:
        return f"The chosen rule cannot be applied to {defn.code}: {exc}"


def _add_sums(rows: Iterable[queries.MeasureSums]) -> queries.MeasureSums:
    rows = list(rows)
    first = rows[0]
    counts = [row.responders for row in rows]
    responders = None if None in counts else sum(count or 0 for count in counts)
    return queries.MeasureSums(
        group=first.group,
        needled=first.needled,
        instrument=first.instrument,
        with_baseline=sum(row.with_baseline for row in rows),
        baseline_sum=sum(row.baseline_sum for row in rows),
        baseline_sum_sq=sum(row.baseline_sum_sq for row in rows),
        completers=sum(row.completers for row in rows),
        final_sum=sum(row.final_sum for row in rows),
        final_sum_sq=sum(row.final_sum_sq for row in rows),
        change_sum=sum(row.change_sum for row in rows),
        change_sum_sq=sum(row.change_sum_sq for row in rows),
        responders=responders,
    )


def _measure_result(group: str, cohort: str, sums: queries.MeasureSums, options: ReportOptions) -> MeasureResult:
    defn = instrument(sums.instrument)
    missing_note = describe_missing_policy(options.missing, sums.completers, sums.with_baseline)
    if sums.responders is None:
        responders, note = None, _rule_note(options.rule, defn)
    else:
        successes, n = responder_count(options.missing, sums.responders, sums.completers, sums.with_baseline)
        responders, note = proportion(successes, n), _rule_note(options.rule, defn)
    return MeasureResult(
        group=group,
        cohort=cohort,
        instrument=defn.code,
        instrument_name=defn.name,
        unit=defn.unit,
        direction=defn.direction,
        with_baseline=sums.with_baseline,
        completers=sums.completers,
        baseline=mean_ci(sums.with_baseline, sums.baseline_sum, sums.baseline_sum_sq),
        final=mean_ci(sums.completers, sums.final_sum, sums.final_sum_sq),
        change=mean_ci(sums.completers, sums.change_sum, sums.change_sum_sq),
        responders=responders,
        responder_note=note,
        missing_note=missing_note,
    )


def _cohort(needled: bool) -> str:
    return "needled" if needled else "not needled"


def _measures(
    rows: Sequence[queries.MeasureSums], options: ReportOptions, present: Sequence[str]
) -> tuple[MeasureResult, ...]:
    grouped: dict[tuple[str, bool, str], list[queries.MeasureSums]] = defaultdict(list)
    for row in rows:
        grouped[(row.group[0], row.needled, row.instrument)].append(row)
    order = {code: position for position, code in enumerate(present)}
    keys = sorted(grouped, key=lambda key: (order.get(key[0], 99), key[2] != PAIN, key[2], not key[1]))
    return tuple(
        _measure_result(condition_label(key[0]), _cohort(key[1]), _add_sums(grouped[key]), options) for key in keys
    )


def _relief(rows: Sequence[queries.ReliefCounts], policy: MissingPolicy) -> tuple[ReliefResult, ...]:
    results = []
    for row in sorted(rows, key=lambda item: (condition_label(item.group[0]), not item.needled)):
        results.append(
            ReliefResult(
                condition=row.group[0],
                cohort=_cohort(row.needled),
                episodes=row.episodes,
                with_baseline=row.with_baseline,
                before_visit_3=_relief_share(row.before_visit_3, row.with_baseline, policy),
                before_visit_2=_relief_share(row.before_visit_2, row.with_baseline, policy),
                immediate=_relief_share(row.immediate, row.with_baseline, policy),
                missing_note=_relief_missing_note(policy, row),
            )
        )
    return tuple(results)


def _relief_share(point: queries.PainPoint, with_baseline: int, policy: MissingPolicy) -> Proportion:
    successes, n = responder_count(policy, point.relieved, point.known, with_baseline)
    return clustered_proportion(successes, n, point.clustered)


def _relief_missing_note(policy: MissingPolicy, row: queries.ReliefCounts) -> str:
    unrecorded = row.episodes - row.with_baseline
    note = describe_missing_policy(policy, row.before_visit_3.known, row.with_baseline).replace(
        "a follow-up value", "pain recorded before visit 3"
    )
    if unrecorded:
        note += f" {plural(unrecorded, 'episode')} had no pain recorded before visit 1 and cannot be judged."
    return note


def _rom(rows: Sequence[queries.RomSums], policy: MissingPolicy) -> tuple[RomResult, ...]:
    results = []
    for row in sorted(
        rows,
        key=lambda item: (condition_label(item.group[0]), item.joint, item.movement, item.method, not item.needled),
    ):
        beyond = None
        if row.beyond is not None and row.beyond_mdc is not None:
            successes, n = responder_count(policy, row.beyond_mdc, row.completers, row.episodes)
            beyond = clustered_proportion(successes, n, row.beyond)
        results.append(
            RomResult(
                condition=row.group[0],
                cohort=_cohort(row.needled),
                joint=row.joint,
                movement=row.movement,
                method=row.method,
                episodes=row.episodes,
                patients=row.patients,
                completers=row.completers,
                degrees=clustered_mean_ci(row.gain),
                percent_of_normal=clustered_mean_ci(row.percent_gain),
                beyond_mdc=beyond,
                mdc=row.mdc,
                missing_note=describe_missing_policy(policy, row.completers, row.episodes),
            )
        )
    return tuple(results)


def _recovery(rows: Sequence[queries.SurvivalRow], present: Sequence[str]) -> tuple[RecoveryResult, ...]:
    days: dict[tuple[str, bool], dict[int, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for row in rows:
        days[(row.group[0], row.needled)][row.days][0 if row.goals_met else 1] += row.count
    results = []
    for code in present:
        needled = [DayCount(day, e, c) for day, (e, c) in sorted(days[(code, True)].items())]
        other = [DayCount(day, e, c) for day, (e, c) in sorted(days[(code, False)].items())]
        results.append(RecoveryResult(code, compare_needled_counts(needled, other)))
    return tuple(results)


def _verdicts(
    code: str,
    relief: Sequence[ReliefResult],
    rom: Sequence[RomResult],
    recovery: Sequence[RecoveryResult],
    minimum_n: int,
) -> ConditionVerdicts:
    label = condition_label(code)
    minimum = minimum_for(minimum_n)  # the claims' own minimum; the privacy setting can only raise it
    needled_relief = next((row for row in relief if row.condition == code and row.cohort == "needled"), None)
    if needled_relief is None:
        empty = proportion(0, 0)
        relief_verdict = verdict_relief(
            label, empty, empty, empty, "No episode needled at its first visit had pain recorded.", minimum_n=minimum
        )
    else:
        relief_verdict = verdict_relief(
            label,
            needled_relief.before_visit_3,
            needled_relief.before_visit_2,
            needled_relief.immediate,
            needled_relief.missing_note,
            minimum_n=minimum,
        )
    candidates = [row for row in rom if row.condition == code and row.cohort == "needled"]
    main = max(candidates, key=lambda row: (row.beyond_mdc is not None, row.episodes), default=None)
    if main is None:
        empty = proportion(0, 0)
        rom_verdict = verdict_rom(label, empty, mean_ci(0, 0, 0), "No range of motion was measured.", minimum_n=minimum)
    else:
        note = (
            f"{main.missing_note} Movement judged: {main.label}, the one measured in most episodes; "
            f"{plural(main.episodes, 'episode')} of {plural(main.patients, 'patient')}."
        )
        rom_verdict = verdict_rom(
            label,
            main.beyond_mdc or proportion(0, 0),
            main.degrees,
            note,
            percent_of_normal_gained=main.percent_of_normal,
            minimum_n=minimum,
        )
        if main.beyond_mdc is None:
            rom_verdict = replace(
                rom_verdict,
                status="not_enough_data",
                headline=(
                    f"Not enough data for {label}: range of motion was measured ({main.label}, "
                    f"{plural(main.episodes, 'episode')}), but no minimal detectable change is sourced for this "
                    "movement and method, so a gain cannot be told apart from measurement error."
                ),
            )
    comparison = next(row.comparison for row in recovery if row.condition == code)
    return ConditionVerdicts(
        condition=code,
        label=label,
        relief=relief_verdict,
        rom=rom_verdict,
        recovery=verdict_recovery(label, comparison, minimum_n=minimum),
    )


def _event_rates(
    events: Sequence[queries.EventCount], visits: int
) -> tuple[tuple[EventRate, ...], tuple[PublishedRate, ...]]:
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for row in events:
        counts[(row.event_type, row.severity)] += row.count
        counts[("any", row.severity)] += row.count
    published = published_adverse_event_rates()
    by_key: dict[tuple[str, str], list[PublishedRate]] = defaultdict(list)
    for rate in published:
        severity = "significant" if rate.severity == "major" else rate.severity
        by_key[(rate.type, severity)].append(rate)
    keys = set(counts) | {("any", severity) for severity in SEVERITIES} | set(by_key)
    clinic_keys = {key for key in keys if key in counts or key[0] == "any" or _recorded_type(key[0])}
    ordered = sorted(
        clinic_keys, key=lambda key: (key[0] != "any", _severity_rank(key[1]), -counts.get(key, 0), key[0])
    )
    rates = tuple(
        EventRate(key[0], key[1], rate_per_1000(counts.get(key, 0), visits), tuple(by_key.get(key, ())))
        for key in ordered
    )
    shown = {id(rate) for row in rates for rate in row.published}
    return rates, tuple(rate for rate in published if id(rate) not in shown)


def _severity_rank(severity: str) -> int:
    return SEVERITIES.index(severity) if severity in SEVERITIES else len(SEVERITIES)


def _recorded_type(event_type: str) -> bool:
    """Whether the clinic's adverse-event catalogue records this type (others are only published)."""
    return event_type in {kind.code for kind in adverse_event_types()}


def _clinician_rows(
    measures: Sequence[queries.MeasureSums],
    visits: Sequence[queries.VisitEvents],
    options: ReportOptions,
    names: dict[int, str],
) -> tuple[BreakdownRow, ...]:
    pain: dict[int, list[queries.MeasureSums]] = defaultdict(list)
    for row in measures:
        if row.instrument == PAIN:
            pain[row.group[1]].append(row)
    visit_rows = {row.key: row for row in visits}
    keys = sorted(set(pain) | set(visit_rows), key=lambda key: names.get(key, str(key)))
    episode_counts = {key: sum(row.with_baseline for row in pain.get(key, [])) for key in keys}
    episode_suppression = suppress_breakdown(episode_counts, options.minimum_n)
    visit_suppression = suppress_breakdown(
        {key: visit_rows[key].visits if key in visit_rows else 0 for key in keys}, options.minimum_n
    )
    rows = []
    for key in keys:
        result = _measure_result("", "all", _add_sums(pain[key]), options) if pain.get(key) else None
        rows.append(
            _breakdown(
                str(key),
                names.get(key, f"clinician #{key}"),
                result,
                episode_suppression[key],
                visit_rows.get(key),
                visit_suppression[key],
            )
        )
    return tuple(rows)


def _technique_rows(visits: Sequence[queries.VisitEvents], options: ReportOptions) -> tuple[BreakdownRow, ...]:
    visit_rows = {row.key: row for row in visits}
    # Techniques overlap (a visit may use two), so no total is published and no complementary suppression is needed.
    suppression = {key: check_small_number(row.visits, options.minimum_n) for key, row in visit_rows.items()}
    return tuple(
        _breakdown(key, technique_label(key), None, SHOWN, visit_rows[key], suppression[key])
        for key in sorted(visit_rows, key=technique_label)
    )


def _breakdown(
    key: str,
    label: str,
    result: MeasureResult | None,
    episode_suppression: Suppression,
    visits: queries.VisitEvents | None,
    visit_suppression: Suppression,
) -> BreakdownRow:
    shown = None if episode_suppression.suppressed else result
    seen = None if visit_suppression.suppressed else visits
    return BreakdownRow(
        key=key,
        label=label,
        episodes=shown.with_baseline if shown else None,
        responders=shown.responders if shown else None,
        change=shown.change if shown else None,
        episode_suppression=episode_suppression,
        visits=seen.visits if seen else 0,
        events_per_1000=rate_per_1000(seen.mild + seen.significant + seen.serious, seen.visits) if seen else None,
        serious_per_1000=rate_per_1000(seen.significant + seen.serious, seen.visits) if seen else None,
        session_relief=proportion(seen.relieved, seen.pain_measured) if seen else None,
        visit_suppression=visit_suppression,
    )


METHOD = (
    "Every figure is computed inside the database from the clinic's own records; the report reads counts, sums and "
    "sums of squares per group (and per patient within a group), never one row per episode into the application.",
    "Means come with 95% Student-t intervals; shares with 95% Wilson intervals; adverse-event rates per 1,000 needled "
    "visits with exact (Garwood) Poisson intervals; times to discharge with Kaplan-Meier curves, medians with 95% "
    "intervals, and a Cox hazard ratio (Efron ties) for needled against not-needled episodes.",
    "Episodes are the unit. Where a patient has several episodes in a group, the intervals of relief and range of "
    "motion are cluster-robust by patient (CR1 sandwich variance, t with patients - 1 degrees of freedom; for "
    "shares, the Wilson interval at the effective size n / design effect) [S233], never narrower than treating "
    "episodes as independent, and identical to it when every patient has one episode.",
    "Baseline is an episode's first score on a measure when it was taken as a baseline; the final value is its last "
    "score when taken later (re-assessment or discharge). Change is final minus baseline.",
    (
        "Relief within the first treatment or two: pain (0-10) before visit 3 against before visit 1, responder by "
        "the MCID (a fall of at least 2 points or 30%) [S34, S36]; one pre-specified time point, never the better "
        "of two. Before visit 2 is reported beside it; the change at the end of visit 1 is reported apart as the "
        "immediate, clinician-recorded change."
    ),
    "Range of motion: one value per episode (the treated side when the episode names one, else the mean of the "
    "sides measured), from its first to its last measurement of a movement by one method; beyond the MDC means a "
    "gain of at least the method's minimal detectable change [S73–S79].",
    "Cohorts are fixed at the first visit: an episode is needled when needles were inserted at its first visit; the "
    "others form the comparison cohort, even if needled later. Classing episodes by needling at any visit would "
    "credit the needled cohort with the time it had to stay in care to be needled (immortal time) [S234].",
    "A claim is judged only with at least the claims' own minimum of episodes per group (20; a larger smallest "
    "group shown raises it), whatever the privacy setting for breakdowns.",
)

LIMITS = (
    "These are observational data from routine care, not a trial: nobody was randomised, so the verdicts say "
    "whether the records are consistent with a claim, never that needling caused what they show.",
    "Improvement after treatment can also come from natural recovery, regression to the mean or expectation.",
    "Pain and range of motion were recorded by the clinic, which knew who was needled.",
    "Missing follow-up is handled as stated beside each figure; the choice can move the figures either way.",
    "Time-to-discharge intervals treat episodes as independent; patients with several episodes make them slightly "
    "too narrow.",
    "Groups smaller than the chosen minimum are withheld, not shown as zero.",
    "Published rates and effects come from other clinics and trials (data/published_evidence.json, citing the "
    "project's references) and are shown for context.",
)


def condition_choices() -> list[tuple[str, str]]:
    """(code, label) of every condition, for the filter form."""
    return [(code, condition.label) for code, condition in conditions().items()]
