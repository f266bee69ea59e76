"""Visit actions: starting, details, needling entries, needle accountability, signing, addenda, conflicts.
Every invariant is tested at the action level, on the real database."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from needlepoint.accounts.models import AuditEntry
from needlepoint.patients import actions as patient_actions
from needlepoint.patients.models import Consent
from needlepoint.visits import actions
from needlepoint.visits.models import NeedlingEntry, Visit, VisitLocked
from tests.conftest import client_for
from tests.visits.visit_helpers import add, entry_input, fresh, open_neck_episode, reconcile, signed_visit


def test_a_visit_records_pain_report_interventions_and_plan(clinician, visit) -> None:
    actions.update_visit(
        clinician,
        visit.pk,
        {
            "pain_before": 7,
            "pain_after": 3,
            "subjective": "Neck stiff after long drive.",
            "interventions": ["therapeutic_exercise", "education", "other"],
            "interventions_other": "Taping",
            "plan": "Review in one week.",
        },
        visit.version,
    )
    stored = fresh(visit)
    assert (stored.pain_before, stored.pain_after, stored.version) == (7, 3, 2)
    assert stored.intervention_labels() == ["Therapeutic exercise", "Education", "Taping"]
    # Plain strings, not lazy translations: the note (a pure module) joins them.
    assert all(type(label) is str for label in stored.intervention_labels())
    from needlepoint.visits.summary import render_note

    note = render_note(stored, [], [], [])
    assert "Other interventions: Therapeutic exercise, Education, Taping." in note
    assert AuditEntry.objects.filter(object_type="visits.Visit", object_id=str(visit.pk), action="update").exists()


@pytest.mark.parametrize("value", [-1, 11, "seven", 2.5])
def test_pain_outside_0_to_10_is_refused(clinician, visit, value) -> None:
    with pytest.raises(ValidationError) as caught:
        actions.update_visit(clinician, visit.pk, {"pain_before": value}, visit.version)
    assert "0 to 10" in str(caught.value)
    assert fresh(visit).version == 1


def test_a_visit_dated_before_the_episode_began_is_refused(clinician, episode) -> None:
    before = episode.opened_at - timedelta(days=2)
    with pytest.raises(ValidationError) as caught:
        actions.start_visit(clinician, episode, {"started_at": before})
    assert "before the episode began" in str(caught.value)
    assert not Visit.objects.exists()


def test_a_needle_not_in_stock_is_refused_on_the_field_it_concerns(clinician, visit) -> None:
    """The field comes from the stock problem's code, not from its words (which the stock file holds)."""
    for change, fields in [
        ({"length_mm": "45"}, {"length_mm"}),
        ({"diameter_mm": "0.22"}, {"diameter_mm"}),
        ({"diameter_mm": "0.22", "length_mm": "45"}, {"diameter_mm", "length_mm"}),
    ]:
        with pytest.raises(ValidationError) as caught:
            actions.add_needling_entry(clinician, visit.pk, entry_input(**change), visit.version)
        assert set(caught.value.message_dict) == fields
        assert all("in stock" in caught.value.message_dict[f][0] for f in fields)
    assert not NeedlingEntry.objects.exists()


def test_a_visit_in_the_future_is_refused(clinician, episode) -> None:
    with pytest.raises(ValidationError, match="future"):
        actions.start_visit(clinician, episode, {"started_at": timezone.now() + timedelta(days=1)})


def test_moving_a_visit_before_the_episode_is_refused(clinician, visit, episode) -> None:
    with pytest.raises(ValidationError, match="before the episode began"):
        actions.update_visit(clinician, visit.pk, {"started_at": episode.opened_at - timedelta(days=3)}, 1)


def test_front_desk_cannot_start_or_edit_a_visit(front_desk, episode, visit) -> None:
    with pytest.raises(PermissionDenied):
        actions.start_visit(front_desk, episode, {})
    with pytest.raises(PermissionDenied):
        actions.update_visit(front_desk, visit.pk, {"pain_before": 2}, visit.version)


def test_another_clinics_clinician_cannot_reach_the_visit(outsider, visit) -> None:
    from django.http import Http404

    with pytest.raises(Http404):
        actions.update_visit(outsider, visit.pk, {"pain_before": 2}, visit.version)


# --- needling entries --------------------------------------------------------------------------------


def test_a_needling_entry_records_every_field_and_raises_the_counts(clinician, visit) -> None:
    stored = add(clinician, visit, needles=3, technique="static", minutes_left_in=10)
    row = NeedlingEntry.objects.get(visit=visit)
    assert (row.muscle_id, row.side, row.trigger_point, row.needles) == ("infraspinatus", "right", "TP1", 3)
    assert (str(row.diameter_mm), str(row.length_mm), row.technique, row.minutes_left_in) == (
        "0.25",
        "30.0",
        "static",
        10,
    )
    assert (stored.needles_inserted, stored.needles_opened, stored.version) == (3, 3, 2)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"muscle_id": "biceps-imaginarius"}, "muscle_id"),
        ({"side": "both"}, "side"),
        ({"side": "middle"}, "side"),
        ({"trigger_point": ""}, "trigger_point"),
        ({"trigger_point": "TP9"}, "trigger_point"),
        ({"needles": 0}, "needles"),
        ({"needles": -2}, "needles"),
        ({"needles": None}, "needles"),
        ({"diameter_mm": "0.22"}, "diameter_mm"),
        ({"length_mm": "33"}, "length_mm"),
        ({"technique": "wiggling"}, "technique"),
        ({"twitch_response": "lots"}, "twitch_response"),
        ({"technique": "static", "minutes_left_in": None}, "minutes_left_in"),
        ({"minutes_left_in": 0}, "minutes_left_in"),
    ],
)
def test_bad_needling_input_is_refused_and_changes_nothing(clinician, visit, change, field) -> None:
    with pytest.raises(ValidationError) as caught:
        actions.add_needling_entry(clinician, visit.pk, entry_input(**change), visit.version)
    assert field in caught.value.error_dict
    assert not NeedlingEntry.objects.exists()
    assert fresh(visit).version == 1


def test_needling_needs_the_gate(clinician, patient) -> None:
    ep = open_neck_episode(clinician, patient)
    visit = actions.start_visit(clinician, ep, {})
    with pytest.raises(ValidationError) as caught:
        actions.add_needling_entry(clinician, visit.pk, entry_input(), visit.version)
    assert "No safety screening is on record." in caught.value.messages
    assert not NeedlingEntry.objects.exists()


def test_withdrawn_consent_stops_needling(clinician, visit, cleared_patient) -> None:
    patient_actions.withdraw_consent(clinician, Consent.objects.get(patient=cleared_patient), "Changed mind")
    with pytest.raises(ValidationError, match="withdrew consent"):
        actions.add_needling_entry(clinician, visit.pk, entry_input(), visit.version)


def test_removing_an_entry_is_audited_and_lowers_the_count(clinician, visit) -> None:
    stored = add(clinician, visit)
    row = NeedlingEntry.objects.get(visit=visit)
    actions.remove_needling_entry(clinician, visit.pk, row.pk, stored.version)
    assert fresh(visit).needles_inserted == 0
    assert AuditEntry.objects.filter(summary__startswith="needling entry removed").exists()


# --- needle accountability ---------------------------------------------------------------------------


def test_more_needles_removed_than_inserted_is_refused(clinician, visit) -> None:
    stored = add(clinician, visit, needles=2)
    with pytest.raises(ValidationError, match=r"More needles removed \(3\) than inserted \(2\)"):
        actions.record_needle_counts(
            clinician, visit.pk, opened=2, removed=3, in_sharps=2, expected_version=stored.version
        )
    assert fresh(visit).needles_removed == 0


@pytest.mark.parametrize(("opened", "removed", "sharps"), [(-1, 0, 0), (2, -1, 0), (2, 0, -3), (1, 0, 0)])
def test_impossible_counts_are_refused(clinician, visit, opened, removed, sharps) -> None:
    stored = add(clinician, visit, needles=2)
    with pytest.raises(ValidationError):
        actions.record_needle_counts(
            clinician, visit.pk, opened=opened, removed=removed, in_sharps=sharps, expected_version=stored.version
        )


def test_a_visit_cannot_be_signed_while_needles_are_missing(clinician, visit) -> None:
    stored = add(clinician, visit, needles=3)
    actions.record_needle_counts(clinician, visit.pk, opened=3, removed=2, in_sharps=2, expected_version=stored.version)
    with pytest.raises(ValidationError, match="Cannot sign"):
        actions.sign_visit(clinician, visit.pk, fresh(visit).version)
    assert fresh(visit).signed_at is None


def test_a_needle_unaccounted_for_incident_lets_the_visit_be_signed(clinician, visit) -> None:
    stored = add(clinician, visit, needles=3)
    actions.record_needle_counts(clinician, visit.pk, opened=3, removed=2, in_sharps=2, expected_version=stored.version)
    tomorrow = timezone.localdate() + timedelta(days=1)
    with pytest.raises(ValidationError) as caught:
        actions.record_needle_incident(
            clinician,
            visit.pk,
            needles_unaccounted=1,
            search_made="",
            action_taken="",
            follow_up_due=tomorrow,
            expected_version=fresh(visit).version,
        )
    assert {"search_made", "action_taken"} <= set(caught.value.error_dict)
    event = actions.record_needle_incident(
        clinician,
        visit.pk,
        needles_unaccounted=1,
        search_made="Searched couch, floor, clothing and gown.",
        action_taken="Patient told to check clothing; incident reported to lead clinician.",
        follow_up_due=tomorrow,
        expected_version=fresh(visit).version,
    )
    assert event.is_open and event.is_needle_incident and event.event_type == "needle_left_in"
    page = client_for(clinician).get(f"/visits/{visit.pk}/").content.decode()
    assert "Needle unaccounted for recorded: 1 needle; search made:" in page  # one needle, not "needle(s)"
    signed = actions.sign_visit(clinician, visit.pk, fresh(visit).version)
    assert signed.signed_at is not None
    assert "Needle unaccounted for" in signed.note_text


def test_an_incident_must_cover_exactly_the_missing_needles(clinician, visit) -> None:
    stored = add(clinician, visit, needles=3)
    actions.record_needle_counts(clinician, visit.pk, opened=3, removed=1, in_sharps=1, expected_version=stored.version)
    with pytest.raises(ValidationError, match="leave 2 needle"):
        actions.record_needle_incident(
            clinician,
            visit.pk,
            needles_unaccounted=1,
            search_made="Searched",
            action_taken="Reported",
            follow_up_due=timezone.localdate() + timedelta(days=1),
            expected_version=fresh(visit).version,
        )


# --- signing, addenda, conflicts ---------------------------------------------------------------------


def test_signing_fixes_the_note_and_the_cpt_code(clinician, visit) -> None:
    signed = signed_visit(clinician, visit)
    assert signed.cpt_code == "20561" and signed.cpt_muscle_count == 3
    assert signed.signed_by == clinician
    assert "S: Pain before treatment" in signed.note_text and "CPT: 20561" in signed.note_text
    assert "nothing injected" in signed.note_text


def test_signing_twice_is_refused(clinician, visit) -> None:
    signed = signed_visit(clinician, visit)
    with pytest.raises(VisitLocked, match="already signed"):
        actions.sign_visit(clinician, visit.pk, signed.version)


def test_only_the_treating_clinician_signs(clinician, colleague, visit) -> None:
    stored = reconcile(clinician, add(clinician, visit))
    with pytest.raises(ValidationError, match="belongs to Alice"):
        actions.sign_visit(colleague, visit.pk, stored.version)
    assert fresh(visit).signed_at is None


def test_a_visit_without_needling_signs_without_a_cpt_code(clinician, visit) -> None:
    signed = actions.sign_visit(clinician, visit.pk, visit.version)
    assert signed.cpt_code == "" and "No dry needling." in signed.note_text


def test_every_action_refuses_a_signed_visit(clinician, visit) -> None:
    signed = signed_visit(clinician, visit)
    v = signed.version
    attempts = [
        lambda: actions.update_visit(clinician, visit.pk, {"pain_after": 1}, v),
        lambda: actions.add_needling_entry(clinician, visit.pk, entry_input(), v),
        lambda: actions.remove_needling_entry(clinician, visit.pk, signed.needling_entries.first().pk, v),
        lambda: actions.record_needle_counts(clinician, visit.pk, opened=9, removed=6, in_sharps=9, expected_version=v),
        lambda: actions.copy_previous_needling(clinician, visit.pk, v),
        lambda: actions.acknowledge_warnings(clinician, visit.pk, {"x": "y"}, v),
    ]
    for attempt in attempts:
        with pytest.raises(VisitLocked):
            attempt()
    assert fresh(visit).version == signed.version


def test_addenda_are_dated_and_by_the_signer_or_another_clinician(clinician, colleague, visit) -> None:
    with pytest.raises(ValidationError, match="not signed"):
        actions.add_addendum(clinician, visit.pk, "Too early")
    signed_visit(clinician, visit)
    first = actions.add_addendum(clinician, visit.pk, "Pain after was 2, not 3.")
    second = actions.add_addendum(colleague, visit.pk, "Reviewed: agree with plan.")
    assert first.written_at <= second.written_at and second.author == colleague
    with pytest.raises(ValidationError):
        actions.add_addendum(colleague, visit.pk, "  ")


def test_two_clinicians_editing_at_once_the_second_gets_a_conflict(clinician, colleague, visit) -> None:
    read_by_both = visit.version
    actions.update_visit(clinician, visit.pk, {"subjective": "First clinician's report"}, read_by_both)
    with pytest.raises(ValidationError) as caught:
        actions.take_over_visit(colleague, visit.pk, read_by_both)
    assert "Someone else changed this visit" in caught.value.messages[0]
    taken = actions.take_over_visit(colleague, visit.pk, fresh(visit).version)
    with pytest.raises(ValidationError, match="Someone else changed this visit"):
        actions.update_visit(colleague, visit.pk, {"subjective": "Second clinician's report"}, read_by_both)
    with pytest.raises(ValidationError, match="Someone else changed this visit"):
        actions.add_needling_entry(colleague, visit.pk, entry_input(), read_by_both)
    assert fresh(visit).subjective == "First clinician's report" and fresh(visit).version == taken.version
    assert not NeedlingEntry.objects.exists()


def test_copy_previous_needling_starts_from_the_last_visit(clinician, episode, visit) -> None:
    signed_visit(clinician, visit)
    second = actions.start_visit(clinician, episode, {})
    copies = actions.copy_previous_needling(clinician, second.pk, second.version)
    assert [c.muscle_id for c in copies] == ["infraspinatus", "deltoid", "teres-minor"]
    assert fresh(second).needles_inserted == 6
