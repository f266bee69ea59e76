"""An episode's progress, read in a fixed number of queries: questionnaire series with change from baseline and
responder status, pain before and after each visit, and range of motion against normal.

Read-only. Baseline is the first observation taken at the baseline time point; the current value is the
latest observation after it. Change and responder status come from the pure ``change`` and ``rom`` modules.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.utils import timezone

from needlepoint.outcomes.actions import plan_or_default
from needlepoint.outcomes.change import Change, change_from_baseline
from needlepoint.outcomes.models import ClinicInstrumentPlan, Observation, RomMeasurement, SelfReportLink, TimePoint
from needlepoint.outcomes.plans import PAIN_INSTRUMENT
from needlepoint.outcomes.rom import RomChange, movements, rom_change
from needlepoint.outcomes.scoring import Instrument, Threshold, instrument
from needlepoint.outcomes.timeline import same_day_counts
from needlepoint.patients.models import Episode
from needlepoint.visits.models import Visit

RECENT_LINKS = 5

# The models whose rows the progress page shows besides its patient's, episode's and staff's: its stored body is kept
# until one of the patient's rows of these (or the clinic's instrument plans) is written (patients.page).
PROGRESS_PAGE_ROWS = (
    "outcomes.Observation", "visits.Visit", "outcomes.RomMeasurement", "outcomes.SelfReportLink",
    "outcomes.HeadacheDiaryEntry",
)  # fmt: skip
PROGRESS_PAGE_CLINIC_ROWS = ("outcomes.ClinicInstrumentPlan",)


def short(value: float) -> str:
    """A score as shown: at most one decimal, no trailing zero (8.666… → 8.7, 40.0 → 40)."""
    text = f"{value:.1f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def signed(value: float) -> str:
    """A change as shown: signed, at most one decimal (+2.7, -30, 0)."""
    text = short(value)
    return text if text.startswith("-") or text == "0" else "+" + text


@dataclass(frozen=True)
class Point:
    """One observation as the progress page shows it."""

    pk: int
    instrument: str
    value: float
    observed_at: datetime  # local time
    observed_on: date
    time_point: str
    time_point_label: str
    source: str
    source_label: str
    recorded_by: str
    subscales: dict[str, float]
    answers: dict[str, Any]
    item_notes: dict[str, str]


@dataclass
class Series:
    """All observations on one instrument in an episode, with change from baseline to the latest."""

    defn: Instrument
    points: list[Point]
    baseline: Point | None = None
    latest: Point | None = None
    change: Change | None = None
    note: str = ""

    @property
    def code(self) -> str:
        """The instrument code."""
        return self.defn.code

    @property
    def mcid(self) -> Threshold | None:
        """The instrument's MCID (the responder rule)."""
        return self.defn.mcid

    @property
    def change_text(self) -> str:
        """The change from baseline in points, signed, as shown."""
        return signed(self.change.points) if self.change else ""

    @property
    def same_day(self) -> dict[date, int]:
        """Days with more than one observation on this instrument, and how many."""
        return same_day_counts([p.observed_at for p in self.points])

    def band(self) -> tuple[float, float] | None:
        """The MCID band from baseline: the values between baseline and a clinically important improvement."""
        if self.baseline is None or self.mcid is None:
            return None
        base = self.baseline.value
        size = self.mcid.value if self.mcid.unit == "points" else abs(base) * self.mcid.value / 100
        if self.defn.mdc is not None:
            size = max(size, self.defn.mdc.value)  # inside the MDC a change is never clinically important
        target = base - size if self.defn.direction == "higher_is_worse" else base + size
        low, high = self.defn.scale_range
        target = min(max(target, low), high)
        return (min(base, target), max(base, target))


@dataclass(frozen=True)
class VisitPain:
    """Pain before and after one visit, from the visit record."""

    number: int
    pk: int
    started_at: datetime  # local time
    before: int | None
    after: int | None
    signed: bool

    @property
    def relief(self) -> int | None:
        """Points of pain relief within the visit (before − after)."""
        if self.before is None or self.after is None:
            return None
        return self.before - self.after


@dataclass
class PainSummary:
    """Pain across visits: change in pain before treatment from the first visit, and relief within visits."""

    visits: list[VisitPain]
    change: Change | None = None
    first_relief_visit: int | None = None  # first visit whose relief reached the NPRS MCID
    mean_relief: float | None = None
    mcid: Threshold | None = None

    @property
    def change_text(self) -> str:
        """The change in pain before treatment, signed, as shown."""
        return signed(self.change.points) if self.change else ""


@dataclass
class RomRow:
    """One joint movement (side, method) over time: first and latest measurement and their change."""

    joint: str
    movement: str
    label: str
    side: str
    method: str
    normal: float
    measurements: list[RomMeasurement]
    change: RomChange | None = None

    @property
    def change_text(self) -> str:
        """The change in degrees, signed, as shown."""
        return signed(self.change.degrees) + "°" if self.change else ""

    @property
    def first(self) -> RomMeasurement:
        """The first measurement of the series."""
        return self.measurements[0]

    @property
    def latest(self) -> RomMeasurement:
        """The latest measurement of the series."""
        return self.measurements[-1]


@dataclass
class Progress:
    """Everything the progress page, the API summary and the PDF report show for one episode."""

    episode: Episode
    planned: tuple[str, ...]
    series: list[Series]
    pain_points: Series
    pain: PainSummary
    rom: list[RomRow]
    links: list[SelfReportLink] = field(default_factory=list)

    @property
    def observation_count(self) -> int:
        """Observations on every instrument, pain ratings included."""
        return sum(len(s.points) for s in self.series) + len(self.pain_points.points)


def _point(obs: Observation) -> Point:
    recorded = obs.recorded_by.display_name if obs.recorded_by is not None else "Patient (self-report link)"
    return Point(
        pk=obs.pk,
        instrument=obs.instrument,
        value=obs.value,
        observed_at=timezone.localtime(obs.observed_at),
        observed_on=obs.observed_on,
        time_point=obs.time_point,
        time_point_label=obs.get_time_point_display(),
        source=obs.source,
        source_label=obs.get_source_display(),
        recorded_by=recorded,
        subscales=obs.subscales,
        answers=obs.answers,
        item_notes=obs.item_notes,
    )


def build_series(defn: Instrument, points: list[Point]) -> Series:
    """A series with its baseline (first at the baseline time point), latest, and change between them."""
    series = Series(defn=defn, points=points)
    baselines = [p for p in points if p.time_point == TimePoint.BASELINE]
    if not points:
        return series
    series.latest = points[-1]
    if not baselines:
        series.note = "No baseline recorded yet: change cannot be judged."
        return series
    series.baseline = baselines[0]
    later = [p for p in points if (p.observed_at, p.pk) > (series.baseline.observed_at, series.baseline.pk)]
    if defn.rates_change:
        series.note = f"{defn.code} rates change itself; it is not compared with a baseline."
        return series
    if not later:
        series.note = "Only the baseline so far."
        return series
    series.latest = later[-1]
    series.change = change_from_baseline(defn.code, series.baseline.value, series.latest.value)
    if defn.code == "PSFS":
        series.note = "PSFS change is meaningful only when the same activities are rated each time."
    return series


def _pain_summary(visits: list[Visit]) -> PainSummary:
    rows = [
        VisitPain(n, v.pk, timezone.localtime(v.started_at), v.pain_before, v.pain_after, v.signed_at is not None)
        for n, v in enumerate(visits, start=1)
    ]
    summary = PainSummary(visits=rows, mcid=instrument(PAIN_INSTRUMENT).mcid)
    befores = [r.before for r in rows if r.before is not None]
    if len(befores) >= 2:
        summary.change = change_from_baseline(PAIN_INSTRUMENT, befores[0], befores[-1])
    reliefs = [(r.number, r.relief) for r in rows if r.relief is not None]
    if reliefs:
        summary.mean_relief = sum(relief for _number, relief in reliefs) / len(reliefs)
        threshold = summary.mcid.value if summary.mcid else 2
        reached = [number for number, relief in reliefs if relief >= threshold]
        summary.first_relief_visit = reached[0] if reached else None
    return summary


def _rom_rows(measurements: list[RomMeasurement]) -> list[RomRow]:
    labels = {(m.joint, m.movement): m for m in movements()}
    grouped: dict[tuple[str, str, str, str], list[RomMeasurement]] = defaultdict(list)
    for m in measurements:
        grouped[(m.joint, m.movement, m.side, m.method)].append(m)
    rows = []
    for (joint, movement, side, method), group in grouped.items():
        move = labels.get((joint, movement))
        label = f"{joint.replace('_', ' ').capitalize()} {move.label.lower() if move else movement}"
        row = RomRow(joint, movement, label, side, method, group[0].normal_degrees, group)
        if len(group) >= 2:
            row.change = rom_change(joint, movement, method, group[0].degrees, group[-1].degrees, side=side or None)
        rows.append(row)
    rows.sort(key=lambda r: (r.joint, r.movement, r.side, r.method))
    return rows


def episode_progress(episode: Episode) -> Progress:
    """The episode's progress: five queries whatever the number of visits and observations."""
    observations = list(
        Observation.objects.filter(episode=episode).select_related("recorded_by__user").order_by("observed_at", "pk")
    )
    visits = list(
        Visit.objects.filter(episode=episode)
        .only("pk", "started_at", "pain_before", "pain_after", "signed_at", "episode_id")
        .order_by("started_at", "pk")
    )
    rom = list(RomMeasurement.objects.filter(episode=episode).order_by("observed_at", "pk"))
    plan = ClinicInstrumentPlan.objects.filter(clinic_id=episode.clinic_id, condition=episode.condition).first()
    links = list(
        SelfReportLink.objects.filter(episode=episode, kind=SelfReportLink.Kind.QUESTIONNAIRE).order_by("-created_at")[
            :RECENT_LINKS
        ]
    )
    planned = plan_or_default(plan, episode.condition)

    by_code: dict[str, list[Point]] = defaultdict(list)
    for obs in observations:
        by_code[obs.instrument].append(_point(obs))
    codes = list(planned) + sorted(c for c in by_code if c not in planned and c != PAIN_INSTRUMENT)
    series = [build_series(instrument(code), by_code.get(code, [])) for code in codes]
    return Progress(
        episode=episode,
        planned=planned,
        series=series,
        pain_points=build_series(instrument(PAIN_INSTRUMENT), by_code.get(PAIN_INSTRUMENT, [])),
        pain=_pain_summary(visits),
        rom=_rom_rows(rom),
        links=links,
    )


def earlier_notes(episode: Episode, code: str, *, patients_own_words: bool = False) -> dict[str, str]:
    """The item notes first given on ``code`` in the episode (the activities a PSFS rates), for re-use.

    ``patients_own_words`` keeps only notes the patient typed on an earlier self-report link: the patient's
    page never shows words a clinician wrote.
    """
    observations = Observation.objects.filter(episode=episode, instrument=code)
    if patients_own_words:
        observations = observations.filter(self_report_link__isnull=False)
    first = (
        observations.exclude(item_notes={}).order_by("observed_at", "pk").values_list("item_notes", flat=True).first()
    )
    return dict(first or {})


def links_expiring(progress: Progress, diary: Any) -> list[datetime]:
    """When each link the progress page shows as waiting (its self-report links, and the headache diary's when it
    keeps one: ``diary``, or None) expires: the page's link statuses change by the clock at those moments."""
    now = timezone.now()
    diary_links = diary.links if diary is not None else []
    return [link.expires_at for link in [*progress.links, *diary_links] if link.status(now) == "open"]
