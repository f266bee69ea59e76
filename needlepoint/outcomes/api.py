"""API for outcomes (/api/v1/outcomes): instruments, observations and range of motion per episode, progress
with change and responder status, self-report links, the clinic's instruments per condition, and the clinic's
licensed wording of instruments whose wording is not shipped.
The same actions and access rules as the pages."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.http import Http404
from django.urls import reverse
from ninja import Field, Router, Schema, Status

from needlepoint.accounts.access import get_record, require
from needlepoint.accounts.requests import ClinicRequest, member
from needlepoint.accounts.roles import Capability
from needlepoint.outcomes import actions, sending
from needlepoint.outcomes.models import ClinicInstrumentPlan, Observation, RomMeasurement
from needlepoint.outcomes.plans import default_plans
from needlepoint.outcomes.progress import Series, episode_progress
from needlepoint.outcomes.scoring import Instrument, ScoringError, instrument, instruments, printed_scale
from needlepoint.outcomes.wording import item_text, wording_shipped
from needlepoint.patients.conditions import conditions
from needlepoint.patients.models import Episode
from needlepoint.visits.models import Visit

router = Router(tags=["outcomes"])
LIST_LIMIT = 1000


def _episode(request: ClinicRequest, episode_id: int, capability: Capability) -> Episode:
    return get_record(member(request), Episode.objects.all(), episode_id, capability)


def _visit(request: ClinicRequest, episode: Episode, visit_id: int | None) -> Visit | None:
    if visit_id is None:
        return None
    return get_record(member(request), Visit.objects.all(), visit_id, Capability.EDIT_CLINICAL)


class ThresholdOut(Schema):
    """A change threshold (MCID or MDC) with its unit and source."""

    value: float
    unit: str
    source: str
    below_mdc: bool = Field(
        False, description="An MCID below the instrument's MDC: a change must pass the MDC as well to count"
    )


class OptionOut(Schema):
    """One option of a choice item: the value the form prints beside it (the answer to give) and its label."""

    value: float = Field(description="The value printed on the form beside this option; give it as the answer")
    label: str


class ItemOut(Schema):
    """One item of an instrument and what its answer is."""

    id: str
    label: str
    wording: str | None
    kind: str = Field(
        description="choice (answer = the value printed beside the option, or its label), numeric (answer = the "
        "number) or measurement"
    )
    options: list[OptionOut]
    scale: str = Field(description="The scale as the form prints it")
    minimum: float
    maximum: float


class InstrumentOut(Schema):
    """An instrument: scale, direction, MCID, MDC and items."""

    code: str
    name: str
    unit: str
    direction: str
    range: tuple[float, float]
    recall_period: str
    wording_shipped: bool
    mcid: ThresholdOut | None
    mdc: ThresholdOut | None
    items: list[ItemOut]


def _threshold(t: Any, defn: Instrument | None = None) -> ThresholdOut | None:
    if t is None:
        return None
    below = defn is not None and defn.below_mdc(t)
    return ThresholdOut(value=t.value, unit=t.unit, source=t.source, below_mdc=below)


def _instrument_out(d: Instrument) -> InstrumentOut:
    return InstrumentOut(
        code=d.code,
        name=d.name,
        unit=d.unit,
        direction=d.direction,
        range=d.scale_range,
        recall_period=d.recall_period,
        wording_shipped=bool(d.licence.get("wording_shipped")),
        mcid=_threshold(d.mcid, d),
        mdc=_threshold(d.mdc),
        items=[
            ItemOut(
                id=i.id,
                label=i.label,
                wording=i.wording,
                kind=i.kind,
                options=[OptionOut(value=float(o.printed), label=o.label) for o in i.options],
                scale=printed_scale(i),
                minimum=float(i.minimum),
                maximum=float(i.maximum),
            )
            for i in d.items
        ],
    )


@router.get("/instruments", response=list[InstrumentOut])
def list_instruments(request: ClinicRequest) -> list[InstrumentOut]:
    """Every instrument: items, answer kinds, scale, direction, MCID and MDC with sources."""
    require(request.membership, Capability.VIEW_CLINICAL)
    return [_instrument_out(d) for d in instruments().values()]


class ObservationIn(Schema):
    """A questionnaire or pain rating to score and store."""

    instrument: str = Field(description="Instrument code, e.g. ODI")
    answers: dict[str, Any] = Field(
        description="Item id -> the answer as the form prints it: the value printed beside the chosen option "
        "(GROC -7 to 7, QuickDASH 1 to 5, HIT-6 6/8/10/11/13, NDI and ODI 0 to 5) or its label, the number of a "
        "0-N item, or a measurement; null = unanswered. GET /instruments lists each item's printed values."
    )
    time_point: str = Field(description="baseline, reassessment, discharge or visit")
    observed_at: datetime | None = Field(None, description="When it was taken; now if omitted")
    item_notes: dict[str, str] = Field(default_factory=dict, description="e.g. the activity each PSFS line rates")
    source: str = Field("clinician", description="clinician, or patient for a paper form the patient filled in")
    visit_id: int | None = None


class ObservationOut(Schema):
    """A stored observation: the score, its item answers, when, time point and source."""

    id: int
    episode_id: int
    visit_id: int | None
    instrument: str
    value: float
    unit: str
    subscales: dict[str, float]
    answers: dict[str, Any] = Field(description="Item id -> the answer as the form prints it; null = unanswered")
    item_notes: dict[str, str]
    observed_on: date
    observed_at: datetime
    time_point: str
    source: str
    recorded_by: str | None


def _observation_out(o: Observation) -> ObservationOut:
    return ObservationOut(
        id=o.pk,
        episode_id=o.episode_id,
        visit_id=o.visit_id,
        instrument=o.instrument,
        value=o.value,
        unit=o.unit,
        subscales=o.subscales,
        answers=o.answers,
        item_notes=o.item_notes,
        observed_on=o.observed_on,
        observed_at=o.observed_at,
        time_point=o.time_point,
        source=o.source,
        recorded_by=o.recorded_by.display_name if o.recorded_by is not None else None,
    )


@router.get("/episodes/{episode_id}/observations", response=list[ObservationOut])
def list_observations(request: ClinicRequest, episode_id: int, instrument: str = "") -> list[ObservationOut]:
    """The episode's observations in the order taken, optionally of one instrument."""
    episode = _episode(request, episode_id, Capability.VIEW_CLINICAL)
    found = Observation.objects.filter(episode=episode).select_related("recorded_by__user")
    if instrument:
        found = found.filter(instrument=instrument.upper())
    return [_observation_out(o) for o in found.order_by("observed_at", "pk")[:LIST_LIMIT]]


@router.post("/episodes/{episode_id}/observations", response={201: ObservationOut})
def create_observation(request: ClinicRequest, episode_id: int, body: ObservationIn) -> Status[ObservationOut]:
    """Score and store a questionnaire or a 0-10 pain rating (NPRS, item 'pain'); 400 with a message per item."""
    episode = _episode(request, episode_id, Capability.EDIT_CLINICAL)
    observation = actions.record_questionnaire(
        member(request),
        episode,
        body.instrument,
        body.answers,
        time_point=body.time_point,
        observed_at=body.observed_at,
        item_notes=body.item_notes,
        visit=_visit(request, episode, body.visit_id),
        source=body.source,
    )
    return Status(201, _observation_out(observation))


class RomIn(Schema):
    """A range-of-motion measurement to store."""

    joint: str = Field(description="e.g. cervical_spine")
    movement: str = Field(description="e.g. rotation")
    side: str | None = Field(None, description="left or right; null for unsided movements")
    degrees: float
    method: str = Field(description="goniometer, inclinometer or crom")
    time_point: str
    observed_at: datetime | None = None
    visit_id: int | None = None


class RomOut(Schema):
    """A stored range-of-motion measurement with percent of normal."""

    id: int
    episode_id: int
    visit_id: int | None
    joint: str
    movement: str
    side: str
    degrees: float
    method: str
    normal_degrees: float
    percent_of_normal: float | None
    observed_on: date
    observed_at: datetime
    time_point: str


def _rom_out(r: RomMeasurement) -> RomOut:
    return RomOut(
        id=r.pk,
        episode_id=r.episode_id,
        visit_id=r.visit_id,
        joint=r.joint,
        movement=r.movement,
        side=r.side,
        degrees=r.degrees,
        method=r.method,
        normal_degrees=r.normal_degrees,
        percent_of_normal=r.percent_of_normal,
        observed_on=r.observed_on,
        observed_at=r.observed_at,
        time_point=r.time_point,
    )


@router.get("/episodes/{episode_id}/rom", response=list[RomOut])
def list_rom(request: ClinicRequest, episode_id: int) -> list[RomOut]:
    """The episode's range-of-motion measurements in the order taken."""
    episode = _episode(request, episode_id, Capability.VIEW_CLINICAL)
    found = RomMeasurement.objects.filter(episode=episode).order_by("observed_at", "pk")[:LIST_LIMIT]
    return [_rom_out(r) for r in found]


@router.post("/episodes/{episode_id}/rom", response={201: RomOut})
def create_rom(request: ClinicRequest, episode_id: int, body: RomIn) -> Status[RomOut]:
    """Store a range-of-motion measurement; values outside physiological bounds are refused with 400."""
    episode = _episode(request, episode_id, Capability.EDIT_CLINICAL)
    rom = actions.record_rom(
        member(request),
        episode,
        joint=body.joint,
        movement=body.movement,
        side=body.side,
        degrees=body.degrees,
        method=body.method,
        time_point=body.time_point,
        observed_at=body.observed_at,
        visit=_visit(request, episode, body.visit_id),
    )
    return Status(201, _rom_out(rom))


class MeasureOut(Schema):
    """One measure's baseline, latest, change and responder status."""

    instrument: str
    baseline: float | None
    baseline_on: date | None
    latest: float | None
    latest_on: date | None
    change_points: float | None
    change_percent: float | None
    is_responder: bool | None
    beyond_mdc: bool | None
    mcid: ThresholdOut | None
    note: str


class VisitPainOut(Schema):
    """Pain before and after one visit, from the visit record."""

    visit_id: int
    started_at: datetime
    pain_before: int | None
    pain_after: int | None


class ProgressOut(Schema):
    """An episode's progress: measures, visit pain and the change in pain."""

    episode_id: int
    planned: list[str]
    measures: list[MeasureOut]
    visit_pain: list[VisitPainOut]
    pain_change_points: float | None
    pain_is_responder: bool | None


def _measure(s: Series) -> MeasureOut:
    c = s.change
    return MeasureOut(
        instrument=s.code,
        baseline=s.baseline.value if s.baseline else None,
        baseline_on=s.baseline.observed_on if s.baseline else None,
        latest=s.latest.value if s.latest else None,
        latest_on=s.latest.observed_on if s.latest else None,
        change_points=c.points if c else None,
        change_percent=c.percent if c else None,
        is_responder=c.is_responder if c else None,
        beyond_mdc=c.beyond_mdc if c else None,
        mcid=_threshold(s.mcid, instrument(s.code)),
        note=s.note,
    )


@router.get("/episodes/{episode_id}/progress", response=ProgressOut)
def progress(request: ClinicRequest, episode_id: int) -> ProgressOut:
    """Change from baseline and responder status per measure, and pain before and after each visit."""
    episode = _episode(request, episode_id, Capability.VIEW_CLINICAL)
    data = episode_progress(episode)
    return ProgressOut(
        episode_id=episode.pk,
        planned=list(data.planned),
        measures=[_measure(s) for s in data.series],
        visit_pain=[
            VisitPainOut(visit_id=v.pk, started_at=v.started_at, pain_before=v.before, pain_after=v.after)
            for v in data.pain.visits
        ],
        pain_change_points=data.pain.change.points if data.pain.change else None,
        pain_is_responder=data.pain.change.is_responder if data.pain.change else None,
    )


class LinkIn(Schema):
    """A self-report link to create."""

    time_point: str | None = Field(None, description="baseline, reassessment or discharge; suggested if omitted")
    days: int | None = Field(None, description="How many days the link stays valid (1-30)")


class LinkOut(Schema):
    """A created self-report link; the URL is shown only here."""

    id: int
    url: str = Field(description="The one-time link to send to the patient; shown only in this response")
    short_url: str = Field(description="The same link in short form (/r/ and a 22-character token), for a text")
    expires_at: datetime
    time_point: str
    instruments: list[str]
    include_pain: bool


@router.post("/episodes/{episode_id}/self-report-links", response={201: LinkOut})
def create_link(request: ClinicRequest, episode_id: int, body: LinkIn) -> Status[LinkOut]:
    """Create a one-time, expiring self-report link for the episode's questionnaires and today's pain."""
    episode = _episode(request, episode_id, Capability.EDIT_DEMOGRAPHICS)
    issued = actions.create_self_report_link(
        member(request),
        episode,
        time_point=body.time_point,
        days=body.days,
    )
    link = issued.link
    return Status(
        201,
        LinkOut(
            id=link.pk,
            url=request.build_absolute_uri(reverse("self_report", args=[issued.token])),
            short_url=sending.short_url(issued.short, request.build_absolute_uri("/").rstrip("/")),
            expires_at=link.expires_at,
            time_point=link.time_point,
            instruments=link.instruments,
            include_pain=link.include_pain,
        ),
    )


class PlanOut(Schema):
    """The questionnaires one condition collects in the clinic."""

    condition: str
    instruments: list[str]
    clinic_choice: bool


class PlanIn(Schema):
    """The questionnaires a condition should collect, in order."""

    instruments: list[str]


@router.get("/plans", response=list[PlanOut])
def list_plans(request: ClinicRequest) -> list[PlanOut]:
    """The questionnaires each condition collects in this clinic (the clinic's choice, else the default)."""
    m = require(request.membership, Capability.VIEW_CLINICAL)
    own = {p.condition: p.instruments for p in ClinicInstrumentPlan.objects.filter(clinic_id=m.clinic_id)}
    return [
        PlanOut(condition=c, instruments=own.get(c, list(default_plans()[c])), clinic_choice=c in own)
        for c in conditions()
    ]


@router.put("/plans/{condition}", response=PlanOut)
def set_plan(request: ClinicRequest, condition: str, body: PlanIn) -> PlanOut:
    """Set the questionnaires a condition collects (clinic admins)."""
    plan = actions.set_instrument_plan(member(request), condition, body.instruments)
    return PlanOut(condition=plan.condition, instruments=plan.instruments, clinic_choice=True)


class ItemWordingIn(Schema):
    """One item's licensed wording: its question and its option texts in published order."""

    question: str
    options: list[str] = Field(default_factory=list, description="One text per option; none for 0-N items")


class WordingIn(Schema):
    """A clinic's licensed wording of an instrument: every item, keyed by item id, and the licence reference."""

    licence_reference: str = Field(description="e.g. the clinic's licence number")
    items: dict[str, ItemWordingIn]


class ItemWordingOut(Schema):
    """One item as shown on the forms: the clinic's wording, or its topic label when none was entered."""

    id: str
    question: str
    options: list[str]


class WordingOut(Schema):
    """The wording the clinic's forms show for an instrument; ``clinic_entered`` is false for topic labels."""

    instrument: str
    clinic_entered: bool
    version: int | None
    entered_at: datetime | None
    licence_reference: str | None
    items: list[ItemWordingOut]


def _licensed(code: str) -> Instrument:
    try:
        defn = instrument(code)
    except ScoringError as exc:
        raise Http404("Unknown instrument") from exc
    if wording_shipped(defn.code):
        raise Http404("This instrument's wording is shipped; there is no clinic wording.")
    return defn


def _wording_out(defn: Instrument, clinic_id: int) -> WordingOut:
    entry = actions.current_wording_entry(clinic_id, defn.code)
    entered = actions.current_wording(clinic_id, defn.code)
    return WordingOut(
        instrument=defn.code,
        clinic_entered=entry is not None,
        version=entry.version if entry else None,
        entered_at=entry.entered_at if entry else None,
        licence_reference=entry.licence_reference if entry else None,
        items=[
            ItemWordingOut(id=i.id, question=(t := item_text(defn, i, entered)).text, options=list(t.options))
            for i in defn.items
        ],
    )


@router.get("/instruments/{code}/wording", response=WordingOut)
def get_wording(request: ClinicRequest, code: str) -> WordingOut:
    """The clinic's current licensed wording of an instrument, or its topic labels when none was entered."""
    m = require(request.membership, Capability.VIEW_CLINICAL)
    return _wording_out(_licensed(code), m.clinic_id)


@router.put("/instruments/{code}/wording", response=WordingOut)
def put_wording(request: ClinicRequest, code: str, body: WordingIn) -> WordingOut:
    """Enter the clinic's licensed wording (clinic admins); it supersedes the previous version, which is kept."""
    require(request.membership, Capability.CONFIGURE_CLINIC)
    defn = _licensed(code)
    items = {k: v.model_dump() for k, v in body.items.items()}
    entry = actions.enter_instrument_wording(member(request), defn.code, items, body.licence_reference)
    return _wording_out(defn, entry.clinic_id)
