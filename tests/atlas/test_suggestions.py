"""suggested_needling(episode): the next visit's trigger points from the latest palpation findings."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from needlepoint.atlas import actions
from needlepoint.atlas.suggestions import SuggestedNeedling, suggested_needling


def _find(clinician, assessment, muscle: str, side: str = "right", **extra) -> None:
    actions.record_finding(clinician, assessment.pk, {"muscle_id": muscle, "side": side, "status": "active"} | extra)


def test_an_episode_without_findings_suggests_nothing(episode, assessment) -> None:
    assert suggested_needling(episode) == []


def test_active_before_latent_then_familiar_pain_then_twitch(clinician, assessment) -> None:
    _find(
        clinician, assessment, "levator-scapulae", status="latent", trigger_point="TP1", reproduces_familiar_pain=True
    )
    _find(clinician, assessment, "suboccipitals", twitch_response="several")
    _find(clinician, assessment, "splenius-capitis", twitch_response="none")
    _find(clinician, assessment, "upper-trapezius", side="left", reproduces_familiar_pain=True)

    result = suggested_needling(assessment.episode)

    assert [(s.muscle_id, s.side) for s in result] == [
        ("upper-trapezius", "left"),
        ("suboccipitals", "right"),
        ("splenius-capitis", "right"),
        ("levator-scapulae", "right"),
    ]
    day = f"{timezone.localtime(assessment.assessed_at):%Y-%m-%d}"
    assert result[0] == SuggestedNeedling(
        muscle_id="upper-trapezius",
        muscle_name="Upper trapezius",
        side="left",
        trigger_point="TP1",
        reason=f"Active trigger point on palpation at the initial assessment of {day}: reproduced the familiar pain.",
    )
    assert result[1].reason.endswith("several local twitch responses.")
    assert result[3].reason.startswith("Latent trigger point")
    assert result[3].trigger_point == "TP1"


def test_the_latest_assessment_with_findings_counts(clinician, assessment) -> None:
    _find(clinician, assessment, "upper-trapezius")
    later = actions.create_assessment(
        clinician, assessment.episode, {"drawing": {"temple-r": 2}, "assessed_at": timezone.now() - timedelta(days=2)}
    )
    assert [s.muscle_id for s in suggested_needling(assessment.episode)] == ["upper-trapezius"]

    _find(clinician, later, "temporalis", trigger_point="anterior")
    assert [(s.muscle_id, s.trigger_point) for s in suggested_needling(assessment.episode)] == [
        ("temporalis", "anterior")
    ]

    actions.create_assessment(clinician, assessment.episode, {"drawing": {}})  # newest, nothing palpated yet
    assert [s.muscle_id for s in suggested_needling(assessment.episode)] == ["temporalis"]


def test_removed_findings_are_not_suggested(clinician, assessment) -> None:
    _find(clinician, assessment, "upper-trapezius")
    finding = actions.record_finding(
        clinician,
        assessment.pk,
        {"muscle_id": "scalenes", "side": "right", "status": "active", "trigger_point": "anterior"},
    )
    actions.remove_finding(clinician, assessment.pk, finding.pk)
    assert [s.muscle_id for s in suggested_needling(assessment.episode)] == ["upper-trapezius"]


def test_suggestions_cost_two_queries(clinician, assessment, django_assert_num_queries) -> None:
    for muscle in ("upper-trapezius", "splenius-capitis", "suboccipitals"):
        _find(clinician, assessment, muscle)
    with django_assert_num_queries(2):
        suggested_needling(assessment.episode)
