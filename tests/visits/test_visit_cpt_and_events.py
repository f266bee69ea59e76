"""CPT at its boundaries on real visits (never both codes), and adverse events recorded during a visit or
days later, open until a follow-up closes them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from needlepoint.visits import actions
from needlepoint.visits.models import AdverseEvent
from tests.visits.visit_helpers import add, fresh, reconcile

MUSCLES = [("infraspinatus", "TP1"), ("deltoid", "middle"), ("teres-minor", ""), ("gluteus-medius", "")]


@pytest.mark.parametrize(
    ("needled", "code"),
    [
        ([], ""),
        ([("infraspinatus", "TP1", "right")], "20560"),
        ([("infraspinatus", "TP1", "right"), ("infraspinatus", "TP2", "right")], "20560"),
        ([("infraspinatus", "TP1", "right"), ("deltoid", "middle", "right")], "20560"),
        ([("infraspinatus", "TP1", "right"), ("infraspinatus", "TP1", "left")], "20560"),
        ([("infraspinatus", "TP1", "right"), ("deltoid", "middle", "right"), ("teres-minor", "", "right")], "20561"),
        ([(m, p, "right") for m, p in MUSCLES], "20561"),
    ],
)
def test_the_cpt_code_follows_the_muscles_needled(clinician, visit, needled, code) -> None:
    for muscle, point, side in needled:
        add(clinician, visit, muscle=muscle, trigger_point=point, side=side)
    stored = reconcile(clinician, visit) if needled else fresh(visit)
    signed = actions.sign_visit(clinician, visit.pk, stored.version)
    assert signed.cpt_code == code
    assert not ("20560" in signed.note_text and "20561" in signed.note_text)


def event(**change):
    return {
        "event_type": "bruising",
        "severity": "mild",
        "description": "",
        "onset_at": timezone.now(),
        "action_taken": "Pressure applied for one minute",
        "outcome": "ongoing",
        "follow_up_due": timezone.localdate() + timedelta(days=1),
    } | change


def test_an_adverse_event_recorded_days_later_on_a_signed_visit(clinician, visit) -> None:
    stored = reconcile(clinician, add(clinician, visit))
    actions.sign_visit(clinician, visit.pk, stored.version)
    phoned = actions.record_adverse_event(
        clinician, visit.pk, event(event_type="pain_after_24h", onset_at=timezone.now() - timedelta(minutes=1))
    )
    assert phoned.is_open and phoned.visit_id == visit.pk


def test_an_event_resolved_when_recorded_is_closed_at_once(clinician, visit) -> None:
    closed = actions.record_adverse_event(clinician, visit.pk, event(outcome="resolved", follow_up_due=None))
    assert closed.closed_at is not None and closed.follow_up_due is None


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"event_type": "sneezing"}, "event_type"),
        ({"severity": "moderate"}, "severity"),
        ({"event_type": "suspected_pneumothorax", "severity": "mild"}, "severity"),
        ({"event_type": "other", "description": ""}, "description"),
        ({"onset_at": timezone.now() - timedelta(days=400)}, "onset_at"),
        ({"action_taken": " "}, "action_taken"),
        ({"outcome": "better"}, "outcome"),
        ({"follow_up_due": None}, "follow_up_due"),
    ],
)
def test_bad_adverse_events_are_refused(clinician, visit, change, field) -> None:
    with pytest.raises(ValidationError) as caught:
        actions.record_adverse_event(clinician, visit.pk, event(**change))
    assert field in caught.value.error_dict
    assert not AdverseEvent.objects.exists()


def test_open_events_stay_listed_until_a_follow_up_closes_them(clinician, colleague, visit) -> None:
    from needlepoint.visits.dashboard import open_adverse_events

    ae = actions.record_adverse_event(
        clinician,
        visit.pk,
        event(severity="significant", event_type="vasovagal", observed_minutes=20, driving_advice_given=True),
    )
    actions.record_follow_up(
        clinician,
        ae.pk,
        note="Still light-headed",
        outcome="recovering",
        next_follow_up_due=timezone.localdate() + timedelta(days=2),
        close=False,
        expected_version=1,
    )
    assert [e.pk for e in open_adverse_events(colleague)] == [ae.pk]
    with pytest.raises(ValidationError, match="closed only once resolved"):
        actions.record_follow_up(
            clinician, ae.pk, note="x y z", outcome="ongoing", next_follow_up_due=None, close=True, expected_version=2
        )
    with pytest.raises(ValidationError, match="Someone else"):
        actions.record_follow_up(
            clinician, ae.pk, note="Well", outcome="resolved", next_follow_up_due=None, close=True, expected_version=1
        )
    actions.record_follow_up(
        colleague, ae.pk, note="Well", outcome="resolved", next_follow_up_due=None, close=True, expected_version=2
    )
    assert open_adverse_events(colleague) == []
    assert AdverseEvent.objects.get(pk=ae.pk).follow_ups.count() == 2
