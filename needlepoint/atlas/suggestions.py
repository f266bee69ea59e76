"""Suggested needling for the next visit, from the trigger points found on palpation.

``suggested_needling(episode)`` reads the database (two queries); ``suggestions_from_findings`` is the pure
rule it applies. The visit page calls the first to prefill a new visit: the caller has already fetched the
episode through the access helper, so no access check is repeated here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.utils import timezone

from needlepoint.atlas.catalogue import muscles
from needlepoint.atlas.models import Assessment, PalpationFinding
from needlepoint.patients.models import Episode

TWITCH_ORDER = {"several": 0, "single": 1, "none": 2}
TWITCH_WORDS = {"several": "several local twitch responses", "single": "a local twitch response"}


@dataclass(frozen=True)
class SuggestedNeedling:
    """One trigger point to consider needling next visit, and why (in words for the clinician)."""

    muscle_id: str
    muscle_name: str
    side: str
    trigger_point: str
    reason: str


def suggested_needling(episode: Episode) -> list[SuggestedNeedling]:
    """Queries the database: the trigger points of the episode's latest assessment with findings.

    Active trigger points come first, then latent ones; within each, those that reproduce the familiar
    pain, then by twitch response (several, single, none), then in atlas order. Removed findings are
    ignored. An episode without palpation findings gets an empty list.
    """
    assessment = (
        Assessment.objects.filter(episode=episode, findings__isnull=False, findings__removed_at__isnull=True)
        .order_by("-assessed_at", "-pk")
        .first()
    )
    if assessment is None:
        return []
    findings = PalpationFinding.objects.filter(assessment=assessment, removed_at__isnull=True)
    return suggestions_from_findings(assessment, findings)


def suggestions_from_findings(assessment: Assessment, findings: Iterable[PalpationFinding]) -> list[SuggestedNeedling]:
    """Pure: the suggestion list for one assessment's (not removed) findings, ordered as described above."""
    atlas = muscles()
    order = {mid: i for i, mid in enumerate(atlas)}
    kept = [f for f in findings if f.removed_at is None]
    kept.sort(
        key=lambda f: (
            f.status != PalpationFinding.Status.ACTIVE,
            not f.reproduces_familiar_pain,
            TWITCH_ORDER.get(f.twitch_response, 3),
            order.get(f.muscle_id, len(order)),
            f.side,
            f.trigger_point,
        )
    )
    when = f"{assessment.get_kind_display().lower()} of {timezone.localtime(assessment.assessed_at):%Y-%m-%d}"
    result = []
    for f in kept:
        muscle = atlas.get(f.muscle_id)
        result.append(
            SuggestedNeedling(
                muscle_id=f.muscle_id,
                muscle_name=muscle.name if muscle else f.muscle_id,
                side=f.side,
                trigger_point=f.trigger_point,
                reason=_reason(f, when),
            )
        )
    return result


def _reason(finding: PalpationFinding, when: str) -> str:
    text = f"{finding.get_status_display()} trigger point on palpation at the {when}"
    details = []
    if finding.reproduces_familiar_pain:
        details.append("reproduced the familiar pain")
    if finding.twitch_response in TWITCH_WORDS:
        details.append(TWITCH_WORDS[finding.twitch_response])
    return text + (f": {', '.join(details)}." if details else ".")
