"""Assessment and palpation actions: what they store, the invariants they keep, and bad input refused with a
clear message and nothing changed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.http import Http404
from django.utils import timezone

from needlepoint.accounts.access import AccessDenied
from needlepoint.accounts.models import AuditEntry
from needlepoint.atlas import actions
from needlepoint.atlas.models import Assessment, PalpationFinding
from tests.atlas.conftest import HEADACHE_DRAWING, open_episode, snapshot

ACTIVE_TRAPEZIUS = {
    "muscle_id": "upper-trapezius",
    "side": "right",
    "status": "active",
    "twitch_response": "single",
    "reproduces_familiar_pain": True,
}


def _refused(call, field: str | None = None) -> ValidationError:
    before = snapshot()
    with pytest.raises(ValidationError) as caught:
        call()
    assert snapshot() == before
    if field is not None:
        assert field in caught.value.message_dict, caught.value
    return caught.value


# --- assessments -------------------------------------------------------------------------------------


def test_the_first_assessment_is_initial_and_stores_the_drawing_in_chart_order(clinician, episode) -> None:
    assessment = actions.create_assessment(
        clinician, episode, {"drawing": {"posterolateral-neck-r": None, "temple-r": 6.0}, "notes": " Desk work "}
    )

    assessment.refresh_from_db()
    assert assessment.kind == Assessment.Kind.INITIAL
    assert list(assessment.drawing.items()) == [("temple-r", 6), ("posterolateral-neck-r", None)]
    assert assessment.notes == "Desk work"
    assert (assessment.clinic_id, assessment.patient_id, assessment.clinician_id) == (
        episode.clinic_id,
        episode.patient_id,
        clinician.pk,
    )
    entry = AuditEntry.objects.get(object_type="atlas.Assessment", action="create")
    assert entry.patient_id == episode.patient_id
    assert "initial" in entry.summary


def test_later_assessments_default_to_reassessment_and_a_second_initial_is_refused(clinician, assessment) -> None:
    later = actions.create_assessment(clinician, assessment.episode, {"drawing": {"temple-r": 3}})
    assert later.kind == Assessment.Kind.REASSESSMENT

    error = _refused(
        lambda: actions.create_assessment(clinician, assessment.episode, {"kind": "initial", "drawing": {}}), "kind"
    )
    assert "already has its initial assessment" in error.message_dict["kind"][0]


def test_a_reassessment_before_any_initial_assessment_is_refused(clinician, episode) -> None:
    error = _refused(lambda: actions.create_assessment(clinician, episode, {"kind": "reassessment"}), "kind")
    assert "first assessment of an episode is its initial" in error.message_dict["kind"][0]


def test_a_reassessment_dated_before_the_initial_one_is_refused(clinician, assessment) -> None:
    earlier = assessment.assessed_at - timedelta(days=1)
    _refused(lambda: actions.create_assessment(clinician, assessment.episode, {"assessed_at": earlier}), "assessed_at")


def test_only_one_discharge_assessment(clinician, assessment) -> None:
    actions.create_assessment(clinician, assessment.episode, {"kind": "discharge"})
    _refused(lambda: actions.create_assessment(clinician, assessment.episode, {"kind": "discharge"}), "kind")


@pytest.mark.parametrize(
    ("when", "message"),
    [
        (timedelta(days=1), "future"),
        (-timedelta(days=40), "before the episode began"),
    ],
)
def test_an_assessment_dated_in_the_future_or_before_the_episode_is_refused(clinician, episode, when, message) -> None:
    error = _refused(
        lambda: actions.create_assessment(clinician, episode, {"assessed_at": timezone.now() + when}), "assessed_at"
    )
    assert message in error.message_dict["assessed_at"][0]


def test_an_unknown_region_is_refused_with_the_closest_codes(clinician, episode) -> None:
    error = _refused(lambda: actions.create_assessment(clinician, episode, {"drawing": {"temple": 5}}), "drawing")
    message = error.message_dict["drawing"][0]
    assert "Unknown body region 'temple'" in message
    assert "temple-r" in message
    assert not Assessment.objects.exists()


@pytest.mark.parametrize("value", [11, -1, 6.5, "5", True, float("nan")])
def test_an_intensity_outside_0_to_10_or_not_whole_is_refused(clinician, episode, value) -> None:
    error = _refused(lambda: actions.create_assessment(clinician, episode, {"drawing": {"temple-r": value}}), "drawing")
    assert "Temple (right) must be a whole number from 0 to 10" in error.message_dict["drawing"][0]


def test_a_drawing_that_is_not_a_mapping_is_refused(clinician, episode) -> None:
    _refused(lambda: actions.create_assessment(clinician, episode, {"drawing": ["temple-r"]}), "drawing")


def test_every_problem_is_reported_at_once(clinician, episode) -> None:
    data = {"drawing": {"nowhere": 1, "temple-r": 12}, "notes": "x" * 5001, "assessed_at": "yesterday"}
    error = _refused(lambda: actions.create_assessment(clinician, episode, data))
    assert set(error.message_dict) == {"drawing", "notes", "assessed_at"}
    assert len(error.message_dict["drawing"]) == 2


def test_front_desk_cannot_record_an_assessment(front_desk, episode) -> None:
    before = snapshot()
    with pytest.raises(AccessDenied):
        actions.create_assessment(front_desk, episode, {"drawing": HEADACHE_DRAWING})
    assert snapshot() == before


def test_an_episode_of_another_clinic_is_refused(outsider, episode) -> None:
    _refused(lambda: actions.create_assessment(outsider, episode, {"drawing": HEADACHE_DRAWING}))


def test_an_assessment_after_discharge_is_refused(clinician, patient) -> None:
    from needlepoint.patients import actions as patient_actions

    episode = open_episode(clinician, patient, days_ago=40)
    patient_actions.discharge_episode(clinician, episode, timezone.localdate() - timedelta(days=10), "goals_met")
    episode.refresh_from_db()
    error = _refused(lambda: actions.create_assessment(clinician, episode, {"drawing": {}}), "assessed_at")
    assert "discharged" in error.message_dict["assessed_at"][0]


def test_update_changes_the_drawing_and_raises_the_version(clinician, assessment) -> None:
    updated = actions.update_assessment(clinician, assessment.pk, {"drawing": {"occiput-r": 2}}, 1)
    assert (updated.drawing, updated.version, updated.notes) == ({"occiput-r": 2}, 2, "Worse at desk.")
    assert AuditEntry.objects.filter(object_type="atlas.Assessment", action="update").count() == 1


def test_update_with_a_stale_version_is_a_conflict(clinician, colleague, assessment) -> None:
    actions.update_assessment(colleague, assessment.pk, {"notes": "Theirs"}, 1)
    error = _refused(lambda: actions.update_assessment(clinician, assessment.pk, {"notes": "Mine"}, 1))
    assert "Someone else changed this assessment" in error.messages[0]
    assessment.refresh_from_db()
    assert assessment.notes == "Theirs"


def test_update_with_a_bad_drawing_changes_nothing(clinician, assessment) -> None:
    _refused(lambda: actions.update_assessment(clinician, assessment.pk, {"drawing": {"temple-r": 99}}, 1), "drawing")


def test_update_of_another_clinics_assessment_is_not_found(clinician, other_assessment) -> None:
    with pytest.raises(Http404):
        actions.update_assessment(clinician, other_assessment.pk, {"notes": "x"}, 1)


# --- palpation findings ------------------------------------------------------------------------------


def test_a_finding_is_recorded_with_the_only_trigger_point_filled_in(clinician, assessment) -> None:
    finding = actions.record_finding(clinician, assessment.pk, ACTIVE_TRAPEZIUS)
    finding.refresh_from_db()
    assert (finding.muscle_id, finding.side, finding.trigger_point, finding.status) == (
        "upper-trapezius",
        "right",
        "TP1",
        "active",
    )
    assert finding.twitch_response == "single" and finding.reproduces_familiar_pain
    assert (finding.clinic_id, finding.patient_id, finding.recorded_by_id) == (
        assessment.clinic_id,
        assessment.patient_id,
        clinician.pk,
    )
    assert AuditEntry.objects.filter(object_type="atlas.PalpationFinding", action="create").count() == 1


def test_the_same_trigger_point_again_replaces_what_was_recorded(clinician, assessment) -> None:
    first = actions.record_finding(clinician, assessment.pk, ACTIVE_TRAPEZIUS)
    again = actions.record_finding(clinician, assessment.pk, ACTIVE_TRAPEZIUS | {"status": "latent"})
    assert again.pk == first.pk
    assert PalpationFinding.objects.get().status == "latent"
    other_side = actions.record_finding(clinician, assessment.pk, ACTIVE_TRAPEZIUS | {"side": "left"})
    assert other_side.pk != first.pk


def test_a_muscle_with_several_trigger_points_needs_one_named(clinician, assessment) -> None:
    data = ACTIVE_TRAPEZIUS | {"muscle_id": "temporalis"}
    error = _refused(lambda: actions.record_finding(clinician, assessment.pk, data), "trigger_point")
    assert "anterior, middle, posterior" in error.message_dict["trigger_point"][0]
    _refused(lambda: actions.record_finding(clinician, assessment.pk, data | {"trigger_point": "TP9"}), "trigger_point")
    finding = actions.record_finding(clinician, assessment.pk, data | {"trigger_point": "posterior"})
    assert finding.trigger_point == "posterior"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"muscle_id": "biceps-femoris-long"}, "muscle_id"),
        ({"muscle_id": ""}, "muscle_id"),
        ({"side": "middle"}, "side"),
        ({"side": "both"}, "side"),
        ({"status": "dormant"}, "status"),
        ({"twitch_response": "many"}, "twitch_response"),
        ({"reproduces_familiar_pain": "yes"}, "reproduces_familiar_pain"),
    ],
)
def test_a_bad_finding_is_refused_and_changes_nothing(clinician, assessment, change, field) -> None:
    error = _refused(lambda: actions.record_finding(clinician, assessment.pk, ACTIVE_TRAPEZIUS | change), field)
    if field == "muscle_id":
        assert "choose a muscle of the atlas" in error.message_dict[field][0].lower()


def test_a_finding_on_another_clinics_assessment_is_not_found(clinician, other_assessment) -> None:
    before = snapshot()
    with pytest.raises(Http404):
        actions.record_finding(clinician, other_assessment.pk, ACTIVE_TRAPEZIUS)
    assert snapshot() == before


def test_front_desk_cannot_record_a_finding(front_desk, assessment) -> None:
    before = snapshot()
    with pytest.raises(AccessDenied):
        actions.record_finding(front_desk, assessment.pk, ACTIVE_TRAPEZIUS)
    assert snapshot() == before


def test_a_removed_finding_stays_as_removed_and_can_be_recorded_again(clinician, assessment) -> None:
    finding = actions.record_finding(clinician, assessment.pk, ACTIVE_TRAPEZIUS)
    actions.remove_finding(clinician, assessment.pk, finding.pk)
    finding.refresh_from_db()
    assert finding.removed_at is not None and finding.removed_by_id == clinician.pk
    _refused(lambda: actions.remove_finding(clinician, assessment.pk, finding.pk))
    again = actions.record_finding(clinician, assessment.pk, ACTIVE_TRAPEZIUS)
    assert again.pk != finding.pk
    assert PalpationFinding.objects.count() == 2


def test_a_finding_cannot_be_removed_through_another_assessment(clinician, assessment) -> None:
    finding = actions.record_finding(clinician, assessment.pk, ACTIVE_TRAPEZIUS)
    later = actions.create_assessment(clinician, assessment.episode, {"drawing": {}})
    _refused(lambda: actions.remove_finding(clinician, later.pk, finding.pk))
