"""The visit page's position and clean-technique panel, the refusal of a seated first session after
fainting through the page, and the fainting event form with its after-care, through the test client."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from needlepoint.visits import actions
from needlepoint.visits.models import AdverseEvent, NeedlingEntry
from tests.conftest import client_for
from tests.visits.test_in_clinic_actions import screen_with_fainting_history
from tests.visits.visit_helpers import add, entry, fresh, open_neck_episode, reconcile

HX = {"HTTP_HX_REQUEST": "true"}


def test_the_visit_page_shows_the_panel_and_records_position_and_checklist_with_htmx(clinician, visit) -> None:
    client = client_for(clinician)
    page = client.get(f"/visits/{visit.pk}/").content.decode()
    assert 'data-testid="must-lie"' not in page
    assert 'data-testid="in-clinic"' in page and 'Patient position:</strong> <span class="muted">not recorded' in page

    saved = client.post(
        f"/visits/{visit.pk}/position/", {"patient_positions": ["prone", "supine"], "version": visit.version}, **HX
    )
    assert saved.status_code == 200
    assert "Lying on the back (supine), Lying face down (prone)" in saved.content.decode()
    assert fresh(visit).patient_positions == ["supine", "prone"]

    done = client.post(
        f"/visits/{visit.pk}/clean-technique/", {"gloves_worn": "no", "version": fresh(visit).version}, **HX
    )
    body = done.content.decode()
    assert done.status_code == 200 and "Clean-technique checklist recorded." in body
    assert "hand hygiene before needling; skin at the needling sites clean; no gloves used;" in body
    assert fresh(visit).clean_technique["gloves_worn"] is False


def test_a_partial_checklist_and_a_stale_version_through_the_page(clinician, visit) -> None:
    client = client_for(clinician)
    stale = client.post(f"/visits/{visit.pk}/clean-technique/", {"gloves_worn": "yes", "version": 0}, **HX)
    assert "Someone else changed this visit" in stale.content.decode() and fresh(visit).clean_technique == {}

    partial = client.post(
        f"/visits/{visit.pk}/clean-technique/",
        {"gloves_worn": "yes", "partial": "on", "items": ["hand_hygiene"], "version": visit.version},
    )
    assert partial.status_code == 302
    assert fresh(visit).clean_technique == {"items": ["hand_hygiene"], "gloves_worn": True}
    page = client.get(f"/visits/{visit.pk}/").content.decode()
    assert "NOT CONFIRMED: used needles straight into the sharps container" in page


def test_a_seated_first_session_after_fainting_is_refused_on_the_page_with_the_reason(clinician, patient) -> None:
    screen_with_fainting_history(clinician, patient)
    visit = actions.start_visit(clinician, open_neck_episode(clinician, patient), {})
    client = client_for(clinician)
    assert 'data-testid="must-lie"' in client.get(f"/visits/{visit.pk}/").content.decode()
    client.post(f"/visits/{visit.pk}/position/", {"patient_positions": ["seated"], "version": visit.version}, **HX)

    data = {k: ("" if v is None else v) for k, v in entry().items()} | {"version": str(fresh(visit).version)}
    response = client.post(f"/visits/{visit.pk}/needling/", data, **HX)

    assert response.status_code == 200
    assert "has fainted before and this is their first needling session" in response.content.decode()
    assert not NeedlingEntry.objects.exists()


def test_no_panel_changes_after_signing_and_the_signed_note_prints_both(clinician, visit) -> None:
    stored = add(clinician, visit)
    actions.record_patient_position(clinician, visit.pk, ["side_lying"], stored.version)
    actions.record_clean_technique(clinician, visit.pk, gloves_worn=True, expected_version=fresh(visit).version)
    signed = actions.sign_visit(clinician, visit.pk, reconcile(clinician, visit).version)
    client = client_for(clinician)

    page = client.get(f"/visits/{visit.pk}/").content.decode()
    late = client.post(f"/visits/{visit.pk}/clean-technique/", {"gloves_worn": "no", "version": signed.version})

    assert "Patient position: lying on the side (side-lying)." in page and "Clean technique: hand hygiene" in page
    assert 'data-testid="clean-technique-form"' not in page
    assert late.status_code == 302 and fresh(visit).clean_technique["gloves_worn"] is True


def test_the_fainting_event_form_asks_for_the_observation_and_the_advice(clinician, visit) -> None:
    client = client_for(clinician)
    form = {
        "event_type": "vasovagal",
        "severity": "mild",
        "description": "Light-headed and pale",
        "onset_at": (timezone.localtime() - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M"),
        "action_taken": "Lay flat, legs raised",
        "outcome": "resolved",
    }
    refused = client.post(f"/visits/{visit.pk}/adverse-events/new/", form)
    assert refused.status_code == 200
    assert "minutes the patient was observed" in refused.content.decode()
    assert "No driving until fully recovered" in refused.content.decode()
    assert not AdverseEvent.objects.exists()

    saved = client.post(
        f"/visits/{visit.pk}/adverse-events/new/", form | {"observed_minutes": "25", "driving_advice_given": "on"}
    )
    event = AdverseEvent.objects.get()
    assert saved.status_code == 302 and event.observed_minutes == 25
    detail = client.get(f"/adverse-events/{event.pk}/").content.decode()
    assert "Observed 25 min after recovery. Advised: No driving until fully recovered." in detail


def test_the_panel_forms_carry_the_csrf_token(clinician, visit) -> None:
    import re

    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(clinician.user)
    page = client.get(f"/visits/{visit.pk}/").content.decode()
    panel = page[page.index('data-testid="position-form"') :]
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', panel).group(1)

    saved = client.post(
        f"/visits/{visit.pk}/position/",
        {"csrfmiddlewaretoken": token, "patient_positions": "prone", "version": visit.version},
    )

    assert saved.status_code == 302 and fresh(visit).patient_positions == ["prone"]
