"""Trigger points found on palpation at the assessment are offered on the next visit's needling form."""

from __future__ import annotations

from needlepoint.atlas import actions as atlas_actions
from tests.conftest import client_for


def test_palpation_findings_are_offered_on_the_visit_until_entered(clinician, episode, visit) -> None:
    assessment = atlas_actions.create_assessment(clinician, episode, {"drawing": {"temple-l": 6}})
    atlas_actions.record_finding(
        clinician,
        assessment.pk,
        {
            "muscle_id": "upper-trapezius",
            "side": "left",
            "status": "active",
            "twitch_response": "single",
            "reproduces_familiar_pain": True,
        },
    )
    page = client_for(clinician).get(f"/visits/{visit.pk}/")
    assert page.status_code == 200
    body = page.content.decode()
    assert 'data-testid="suggestions"' in body
    assert 'data-suggest-muscle="upper-trapezius"' in body
    assert 'data-suggest-side="left"' in body


def test_a_visit_without_an_assessment_offers_no_suggestions(clinician, visit) -> None:
    page = client_for(clinician).get(f"/visits/{visit.pk}/")
    assert 'data-testid="suggestions"' not in page.content.decode()
