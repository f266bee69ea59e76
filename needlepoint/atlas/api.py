"""API for the atlas (/api/v1/atlas): regions, muscles, the matcher, assessments with their pain drawing,
palpation findings and the suggested needling. The same actions and access rules as the pages."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Prefetch, QuerySet
from django.http import Http404
from ninja import Field, Router, Schema, Status

from needlepoint.accounts.access import get_record, require
from needlepoint.accounts.requests import ClinicRequest, member
from needlepoint.accounts.roles import Capability
from needlepoint.atlas import actions
from needlepoint.atlas.catalogue import (
    CONDITION_CODES,
    DEPTH_FIGURE_LABEL,
    Muscle,
    ReferralPattern,
    body_map,
    muscles,
)
from needlepoint.atlas.matcher import MuscleMatch, rank_muscles
from needlepoint.atlas.models import Assessment, PalpationFinding
from needlepoint.atlas.suggestions import suggested_needling
from needlepoint.patients.models import Episode

router = Router(tags=["atlas"])
MAX_LIMIT = 100


def _clinical(request: ClinicRequest) -> Any:
    return require(request.membership, Capability.VIEW_CLINICAL)


# --- the catalogue -----------------------------------------------------------------------------------


class RegionOut(Schema):
    """A body region of the pain drawing."""

    code: str
    name: str
    view: str
    side: str
    choir: list[str] = Field(description="CHOIR body-map regions this region lies in")


@router.get("/regions", response=list[RegionOut])
def list_regions(request: ClinicRequest) -> list[RegionOut]:
    """Every body region of the pain drawing (code, name, view, side). Shapes derive from the CHOIR body map."""
    _clinical(request)
    return [
        RegionOut(code=r.code, name=r.name, view=r.view, side=r.side, choir=list(r.choir))
        for r in body_map().regions.values()
    ]


class TriggerPointOut(Schema):
    """A trigger point of a muscle, with its usual location and source key."""

    code: str
    location: str
    site: str = Field(description="The body region holding it, written for one side: a region code without -l/-r")
    source: str
    unverified: bool
    has_own_pattern: bool
    members: list[str] = Field(description="For a group entry, the member muscle(s) this trigger point lies in")


class ZonesOut(Schema):
    """A referral pattern as written for one side of the body."""

    primary: list[str] = Field(
        description="Zones as written for one side: a region code without -l/-r; contra: = opposite side"
    )
    spillover: list[str]
    unverified: list[str]
    note: str


class HazardOut(Schema):
    """What needling the muscle can injure, with a depth limit where one is sourced."""

    kinds: list[str]
    note: str
    structures: list[str]
    over_thorax: bool
    pleura_access: str | None = Field(
        description="For a pneumothorax hazard, how the needle can reach the pleura: lung_apex, intercostal or "
        "below_12th_rib; null otherwise"
    )
    safe_depth_mm: float | None = Field(description=f"Depth figure in mm: a {DEPTH_FIGURE_LABEL}")
    safe_depth_source: str | None
    unverified: bool
    sources: list[str]


class SourceOut(Schema):
    """A reference behind an atlas entry."""

    key: str
    citation: str


class MuscleSummaryOut(Schema):
    """A muscle in the list of the atlas."""

    id: str
    name: str
    also_known_as: list[str] = Field(description="Common names and abbreviations (SCM, QL, TFL ...)")
    body_area: str
    conditions: list[str]
    hazard_kinds: list[str]
    trigger_points: list[str]
    unverified: bool


class MuscleOut(MuscleSummaryOut):
    """A muscle with its trigger points, referral zones, hazard and sources."""

    referral: ZonesOut
    trigger_point_details: list[TriggerPointOut]
    hazard: HazardOut
    tags: list[str]
    presentations: list[str]
    sources: list[SourceOut]
    anatomical_muscle: str = Field(description="The anatomical muscle the entry belongs to; CPT counts these")
    members: list[str] = Field(description="For a group entry (scalenes, hamstrings), the muscles in it")


def _zones(pattern: ReferralPattern) -> ZonesOut:
    return ZonesOut(
        primary=[str(z) for z in pattern.primary],
        spillover=[str(z) for z in pattern.spillover],
        unverified=[str(z) for z in pattern.unverified],
        note=pattern.note,
    )


def _summary(m: Muscle) -> dict[str, Any]:
    return {
        "id": m.id,
        "name": m.name,
        "also_known_as": list(m.also_known_as),
        "body_area": m.body_area,
        "conditions": list(m.conditions),
        "hazard_kinds": list(m.hazard.kinds),
        "trigger_points": [tp.code for tp in m.trigger_points],
        "unverified": m.unverified,
    }


@router.get("/muscles", response=list[MuscleSummaryOut])
def list_muscles(request: ClinicRequest) -> list[MuscleSummaryOut]:
    """Every muscle of the atlas with its conditions, hazard kinds and trigger-point codes."""
    _clinical(request)
    return [MuscleSummaryOut(**_summary(m)) for m in muscles().values()]


@router.get("/muscles/{muscle_id}", response=MuscleOut)
def get_muscle(request: ClinicRequest, muscle_id: str) -> MuscleOut:
    """One muscle: trigger points, referral zones (primary and spill-over), hazard, conditions and sources."""
    _clinical(request)
    m = muscles().get(muscle_id)
    if m is None:
        raise Http404("No such muscle")
    h = m.hazard
    return MuscleOut(
        **_summary(m),
        referral=_zones(m.referral),
        trigger_point_details=[
            TriggerPointOut(
                code=tp.code,
                location=tp.location,
                site=str(tp.site),
                source=tp.source.key,
                unverified=tp.unverified,
                has_own_pattern=tp.referral is not None,
                members=list(tp.members),
            )
            for tp in m.trigger_points
        ],
        hazard=HazardOut(
            kinds=list(h.kinds),
            note=h.note,
            structures=list(h.structures),
            over_thorax=h.over_thorax,
            pleura_access=h.pleura_access,
            safe_depth_mm=h.safe_depth_mm,
            safe_depth_source=h.safe_depth_source,
            unverified=h.unverified,
            sources=[s.key for s in h.sources],
        ),
        tags=list(m.tags),
        presentations=list(m.presentations),
        sources=[SourceOut(key=s.key, citation=s.citation) for s in m.sources],
        anatomical_muscle=m.anatomical_muscle,
        members=list(m.members),
    )


# --- the matcher -------------------------------------------------------------------------------------


class SuggestIn(Schema):
    """A pain drawing to rank, with the episode condition if known."""

    drawing: dict[str, Any] = Field(description="Region code -> pain 0-10, or null when marked without a rating")
    condition: str | None = Field(None, description="Episode condition code, e.g. neck_pain")
    limit: int = Field(10, ge=1, le=MAX_LIMIT)


class MatchOut(Schema):
    """A ranked muscle: score, side, the reason in words and the needling hazard."""

    muscle_id: str
    muscle_name: str
    score: float
    side: str = Field(description="left, right, or both when the drawing does not tell")
    reason: str
    trigger_point: str | None
    matched_primary: list[str]
    matched_spillover: list[str]
    matched_local: list[str] = Field(description="Drawn regions that hold one of the muscle's trigger points")
    unexplained: list[str]
    hazard_kinds: list[str]
    hazard_note: str
    over_thorax: bool
    safe_depth_mm: float | None = Field(description=f"Depth figure in mm: a {DEPTH_FIGURE_LABEL}")
    unverified: bool


def _match_out(m: MuscleMatch) -> MatchOut:
    return MatchOut(
        muscle_id=m.muscle_id,
        muscle_name=m.muscle_name,
        score=m.score,
        side=m.side,
        reason=m.reason,
        trigger_point=m.trigger_point,
        matched_primary=list(m.matched_primary),
        matched_spillover=list(m.matched_spillover),
        matched_local=list(m.matched_local),
        unexplained=list(m.unexplained),
        hazard_kinds=list(m.hazard_kinds),
        hazard_note=m.hazard_note,
        over_thorax=m.over_thorax,
        safe_depth_mm=m.safe_depth_mm,
        unverified=m.unverified,
    )


@router.post("/suggest", response=list[MatchOut])
def suggest(request: ClinicRequest, body: SuggestIn) -> list[MatchOut]:
    """Rank the muscles whose referral patterns explain a pain drawing (nothing is stored)."""
    _clinical(request)
    drawing = actions.clean_drawing(body.drawing)
    if body.condition is not None and body.condition not in CONDITION_CODES:
        raise ValidationError(
            {"condition": f"Unknown condition {body.condition!r}; use one of {list(CONDITION_CODES)}."}
        )
    return [_match_out(m) for m in rank_muscles(drawing, body.condition, limit=body.limit)]


# --- assessments and findings ------------------------------------------------------------------------


class FindingIn(Schema):
    """A trigger point found on palpation."""

    muscle_id: str
    side: str = Field(description="left or right")
    trigger_point: str = Field("", description="Required where the muscle has several trigger points")
    status: str = Field(description="active or latent")
    twitch_response: str = Field("none", description="none, single or several")
    reproduces_familiar_pain: bool = False


class FindingOut(Schema):
    """A recorded palpation finding."""

    id: int
    assessment_id: int
    muscle_id: str
    side: str
    trigger_point: str
    status: str
    twitch_response: str
    reproduces_familiar_pain: bool
    recorded_at: datetime
    recorded_by: str


class AssessmentIn(Schema):
    """A new assessment with its pain drawing."""

    kind: str | None = Field(None, description="initial, reassessment or discharge; chosen for you when omitted")
    assessed_at: datetime | None = Field(None, description="Now when omitted")
    drawing: dict[str, Any] = Field(default_factory=dict, description="Region code -> pain 0-10, or null")
    notes: str = ""


class AssessmentUpdate(Schema):
    """A changed drawing or notes, with the version they were made on."""

    version: int = Field(description="The version you read; a stale version is refused")
    drawing: dict[str, Any] | None = None
    notes: str | None = None


class AssessmentOut(Schema):
    """An assessment with its pain drawing and palpation findings."""

    id: int
    episode_id: int
    patient_id: int
    kind: str
    assessed_at: datetime
    clinician: str
    drawing: dict[str, int | None]
    notes: str
    version: int
    findings: list[FindingOut]


class SuggestedOut(Schema):
    """A trigger point to consider needling at the next visit, and why."""

    muscle_id: str
    muscle_name: str
    side: str
    trigger_point: str
    reason: str


def _finding_out(f: PalpationFinding) -> FindingOut:
    return FindingOut(
        id=f.pk,
        assessment_id=f.assessment_id,
        muscle_id=f.muscle_id,
        side=f.side,
        trigger_point=f.trigger_point,
        status=f.status,
        twitch_response=f.twitch_response,
        reproduces_familiar_pain=f.reproduces_familiar_pain,
        recorded_at=f.recorded_at,
        recorded_by=f.recorded_by.display_name,
    )


def _assessment_out(a: Assessment, findings: list[PalpationFinding]) -> AssessmentOut:
    return AssessmentOut(
        id=a.pk,
        episode_id=a.episode_id,
        patient_id=a.patient_id,
        kind=a.kind,
        assessed_at=a.assessed_at,
        clinician=a.clinician.display_name,
        drawing=a.drawing,
        notes=a.notes,
        version=a.version,
        findings=[_finding_out(f) for f in findings],
    )


def _live_findings() -> Prefetch[str, QuerySet[PalpationFinding], str]:
    return Prefetch(
        "findings",
        queryset=PalpationFinding.objects.filter(removed_at__isnull=True)
        .select_related("recorded_by__user")
        .order_by("recorded_at", "pk"),
        to_attr="live_findings",
    )


def _episode(request: ClinicRequest, episode_id: int, capability: Capability) -> Episode:
    return get_record(member(request), Episode.objects.all(), episode_id, capability)


def _assessment(request: ClinicRequest, assessment_id: int) -> Assessment:
    return get_record(
        member(request),
        Assessment.objects.select_related("clinician__user").prefetch_related(_live_findings()),
        assessment_id,
    )


@router.get("/episodes/{episode_id}/assessments", response=list[AssessmentOut])
def list_assessments(request: ClinicRequest, episode_id: int) -> list[AssessmentOut]:
    """An episode's assessments, oldest first, each with its drawing and palpation findings."""
    episode = _episode(request, episode_id, Capability.VIEW_CLINICAL)
    assessments = (
        Assessment.objects.filter(episode=episode)
        .select_related("clinician__user")
        .prefetch_related(_live_findings())
        .order_by("assessed_at", "pk")
    )
    return [_assessment_out(a, a.live_findings) for a in assessments]


@router.post("/episodes/{episode_id}/assessments", response={201: AssessmentOut})
def create_assessment(request: ClinicRequest, episode_id: int, body: AssessmentIn) -> Status[AssessmentOut]:
    """Record an assessment with its pain drawing (validated against the region vocabulary)."""
    episode = _episode(request, episode_id, Capability.EDIT_CLINICAL)
    assessment = actions.create_assessment(member(request), episode, body.model_dump())
    return Status(201, _assessment_out(assessment, []))


@router.get("/assessments/{assessment_id}", response=AssessmentOut)
def get_assessment(request: ClinicRequest, assessment_id: int) -> AssessmentOut:
    """One assessment with its drawing and palpation findings."""
    a = _assessment(request, assessment_id)
    return _assessment_out(a, a.live_findings)


@router.patch("/assessments/{assessment_id}", response=AssessmentOut)
def update_assessment(request: ClinicRequest, assessment_id: int, body: AssessmentUpdate) -> AssessmentOut:
    """Change the drawing or notes; send the version you read (a stale version gets 400 and changes nothing)."""
    data = {k: v for k, v in body.model_dump().items() if k != "version" and v is not None}
    actions.update_assessment(member(request), assessment_id, data, body.version)
    a = _assessment(request, assessment_id)
    return _assessment_out(a, a.live_findings)


@router.get("/assessments/{assessment_id}/ranking", response=list[MatchOut])
def assessment_ranking(request: ClinicRequest, assessment_id: int, limit: int = 10) -> list[MatchOut]:
    """The muscles that best explain the assessment's drawing, with the episode's condition applied."""
    a = get_record(member(request), Assessment.objects.select_related("episode"), assessment_id)
    condition = a.episode.condition if a.episode.condition in CONDITION_CODES else None
    limit = max(1, min(int(limit), MAX_LIMIT))
    return [_match_out(m) for m in rank_muscles(a.drawing, condition, limit=limit)]


@router.post("/assessments/{assessment_id}/findings", response={201: FindingOut})
def create_finding(request: ClinicRequest, assessment_id: int, body: FindingIn) -> Status[FindingOut]:
    """Record a trigger point found on palpation; the same point and side again replaces the earlier record."""
    finding = actions.record_finding(member(request), assessment_id, body.model_dump())
    return Status(201, _finding_out(finding))


@router.get("/episodes/{episode_id}/suggested-needling", response=list[SuggestedOut])
def episode_suggested_needling(request: ClinicRequest, episode_id: int) -> list[SuggestedOut]:
    """The trigger points to consider at the next visit, from the latest palpation findings."""
    episode = _episode(request, episode_id, Capability.VIEW_CLINICAL)
    return [SuggestedOut(**s.__dict__) for s in suggested_needling(episode)]
