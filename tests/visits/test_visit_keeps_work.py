"""A visit page that never loses a word: signing saves what is typed, the free text's draft autosave, a
double-clicked sign, a colleague's take-over, an expired session, and a needling form that keeps (and
proposes) what was chosen. Real actions, a real database and the Django test client."""

from __future__ import annotations

import json
import re

import pytest
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from needlepoint.accounts.models import AuditEntry
from needlepoint.visits import actions, forms, safety
from needlepoint.visits.entry_defaults import length_proposal, length_proposals
from needlepoint.visits.models import Visit
from needlepoint.visits.muscles import hazards
from needlepoint.visits.needles import needle_stock
from tests.conftest import PASSWORD, client_for
from tests.visits.visit_helpers import add, entry, entry_input, fresh, open_neck_episode, reconcile

HX = {"HTTP_HX_REQUEST": "true"}
PLAN = "Review in one week; home stretching twice a day."


def post_entry(client, visit, version, **change):
    data = {k: ("" if v is None else v) for k, v in entry(**change).items()}
    return client.post(f"/visits/{visit.pk}/needling/", data | {"version": str(version)}, **HX)


def selected(body: str, name: str) -> list[str]:
    """The selected option values of the select ``name`` in an HTML fragment."""
    select = re.search(rf'<select name="{name}".*?</select>', body, re.S)
    assert select, f"no select {name}"
    return re.findall(r'<option value="([^"]*)" selected>', select.group(0))


# --- signing saves what is typed ---------------------------------------------------------------------


def test_signing_saves_the_typed_text_in_the_same_transaction(clinician, visit) -> None:
    stored = reconcile(clinician, add(clinician, visit))
    signed = actions.sign_visit(
        clinician, visit.pk, stored.version, text={"subjective": "Stiff neck.", "assessment": "Better.", "plan": PLAN}
    )
    assert signed.plan == PLAN and fresh(visit).subjective == "Stiff neck."
    assert PLAN in fresh(visit).note_text and "No plan recorded" not in fresh(visit).note_text


def test_a_refused_sign_saves_none_of_the_text(clinician, visit) -> None:
    stored = add(clinician, visit)  # needles not reconciled: signing is refused
    with pytest.raises(ValidationError):
        actions.sign_visit(clinician, visit.pk, stored.version, text={"plan": PLAN})
    assert fresh(visit).plan == "" and fresh(visit).signed_at is None and fresh(visit).version == stored.version


def test_signing_through_the_page_carries_the_text(clinician, visit) -> None:
    client = client_for(clinician)
    stored = reconcile(clinician, add(clinician, visit))
    response = client.post(f"/visits/{visit.pk}/sign/", {"version": str(stored.version), "plan": PLAN}, **HX)
    assert response.status_code == 204
    page = client.get(f"/visits/{visit.pk}/").content.decode()
    assert PLAN in page and "No plan recorded" not in page


def test_a_double_clicked_sign_answers_once_with_one_success_message(clinician, visit) -> None:
    client = client_for(clinician)
    stored = reconcile(clinician, add(clinician, visit))
    data = {"version": str(stored.version), "plan": PLAN}
    first = client.post(f"/visits/{visit.pk}/sign/", data, **HX)
    second = client.post(f"/visits/{visit.pk}/sign/", data, **HX)
    assert first.status_code == second.status_code == 204
    assert first["HX-Redirect"] == second["HX-Redirect"] == f"/visits/{visit.pk}/"
    page = client.get(f"/visits/{visit.pk}/").content.decode()
    assert page.count('class="alert success"') == 1 and 'class="alert error"' not in page
    # Without JavaScript the browser posts the form twice: the same single message.
    other = Client()
    other.force_login(clinician.user)
    assert other.post(f"/visits/{visit.pk}/sign/", data)["Location"] == f"/visits/{visit.pk}/"
    page = other.get(f"/visits/{visit.pk}/").content.decode()
    assert 'class="alert error"' not in page


def test_a_sign_from_a_stale_page_is_refused_and_says_the_text_is_kept(clinician, visit) -> None:
    client = client_for(clinician)
    stored = reconcile(clinician, add(clinician, visit))
    actions.update_visit(clinician, visit.pk, {"pain_after": 2}, stored.version)  # the other tab saved
    body = client.post(f"/visits/{visit.pk}/sign/", {"version": str(stored.version), "plan": PLAN}, **HX)
    text = body.content.decode()
    assert "Someone else changed this visit" in text and "still on this page" in text
    assert fresh(visit).signed_at is None and fresh(visit).plan == ""


def test_a_colleague_cannot_sign_through_the_page(clinician, colleague, visit) -> None:
    stored = reconcile(clinician, add(clinician, visit))
    body = client_for(colleague).post(f"/visits/{visit.pk}/sign/", {"version": str(stored.version)}, **HX)
    assert "belongs to Alice" in body.content.decode() and fresh(visit).signed_at is None


# --- the free text's draft ---------------------------------------------------------------------------


def test_the_draft_autosave_saves_the_text_and_answers_the_new_version(clinician, visit) -> None:
    client = client_for(clinician)
    body = client.post(
        f"/visits/{visit.pk}/draft/", {"version": str(visit.version), "plan": PLAN, "pain_after": "9"}, **HX
    ).content.decode()
    assert fresh(visit).plan == PLAN and fresh(visit).pain_after == 9  # the pain scores save with the text
    assert f'id="visit-version" value="{visit.version + 1}" hx-swap-oob="true"' in body
    assert 'data-state="saved"' in body and "Draft saved" in body
    preview = body[body.index('id="note-preview"') :]
    assert 'hx-swap-oob="true"' in preview and PLAN in preview  # the preview follows the text


def test_a_pain_score_chosen_is_saved_without_a_save_click_and_a_bad_one_is_refused(clinician, visit) -> None:
    client = client_for(clinician)
    body = client.post(f"/visits/{visit.pk}/draft/", {"version": str(visit.version), "pain_before": "6"}, **HX)
    assert 'data-state="saved"' in body.content.decode() and fresh(visit).pain_before == 6
    version = fresh(visit).version
    bad = client.post(f"/visits/{visit.pk}/draft/", {"version": str(version), "pain_after": "11", "plan": PLAN}, **HX)
    assert "Pain is a whole number from 0 to 10." in bad.content.decode()
    assert fresh(visit).pain_after is None and fresh(visit).plan == "" and fresh(visit).version == version


def test_signing_takes_the_pain_scores_on_the_page(clinician, visit) -> None:
    stored = reconcile(clinician, add(clinician, visit))
    actions.sign_visit(clinician, visit.pk, stored.version, text={"pain_before": "7", "pain_after": "3", "plan": PLAN})
    signed = fresh(visit)
    assert (signed.pain_before, signed.pain_after) == (7, 3) and signed.signed_at is not None


def test_a_stale_draft_is_not_saved_and_says_so(clinician, visit) -> None:
    actions.update_visit(clinician, visit.pk, {"plan": "Theirs"}, visit.version)
    body = (
        client_for(clinician)
        .post(f"/visits/{visit.pk}/draft/", {"version": str(visit.version), "plan": "Mine"}, **HX)
        .content.decode()
    )
    assert 'data-state="error"' in body and "Not saved" in body and "Someone else changed" in body
    assert f'id="visit-version" value="{visit.version}"' in body  # the page keeps conflicting until reload
    assert 'id="note-preview"' not in body
    assert fresh(visit).plan == "Theirs"


def test_the_draft_action_refuses_a_colleague_and_a_signed_visit(clinician, colleague, visit) -> None:
    with pytest.raises(ValidationError, match="belongs to Alice"):
        actions.save_draft_text(colleague, visit.pk, {"plan": "Not mine"}, visit.version)
    with pytest.raises(ValidationError, match="no report"):
        actions.save_draft_text(clinician, visit.pk, {}, visit.version)
    stored = reconcile(clinician, add(clinician, visit))
    actions.sign_visit(clinician, visit.pk, stored.version)
    with pytest.raises(ValidationError, match="locked"):
        actions.save_draft_text(clinician, visit.pk, {"plan": "Late"}, fresh(visit).version)


def test_the_visit_page_wires_the_autosave_and_the_sign_to_the_free_text(clinician, visit) -> None:
    page = client_for(clinician).get(f"/visits/{visit.pk}/").content.decode()
    for name in ("subjective", "assessment", "plan"):
        field = re.search(rf'<textarea name="{name}"[^>]*>', page).group(0)
        assert f'hx-post="/visits/{visit.pk}/draft/"' in field and "data-free-text" in field
    for name in ("pain_before", "pain_after"):
        field = re.search(rf'<select name="{name}"[^>]*>', page).group(0)
        assert f'hx-post="/visits/{visit.pk}/draft/"' in field and 'hx-trigger="change"' in field
        assert "data-free-text" in field
    assert 'hx-include="[data-free-text]"' in page and 'data-testid="draft-status"' in page


# --- take-over ---------------------------------------------------------------------------------------


def test_a_colleague_takes_over_explicitly_and_it_is_recorded_and_audited(clinician, colleague, visit) -> None:
    stored = add(clinician, visit)
    with pytest.raises(ValidationError, match="belongs to Alice"):
        actions.add_needling_entry(
            colleague, visit.pk, entry_input(muscle="deltoid", trigger_point="middle"), stored.version
        )
    with pytest.raises(ValidationError, match="belongs to Alice"):
        actions.update_visit(colleague, visit.pk, {"plan": "Mine"}, stored.version)
    with pytest.raises(ValidationError, match="already yours"):
        actions.take_over_visit(clinician, visit.pk, stored.version)
    taken = actions.take_over_visit(colleague, visit.pk, stored.version)
    assert taken.clinician == colleague and taken.taken_over_from == clinician and taken.taken_over_at
    assert AuditEntry.objects.filter(object_id=str(visit.pk), summary__contains="taken over from Alice").exists()
    with pytest.raises(ValidationError, match="belongs to Bob"):
        actions.update_visit(clinician, visit.pk, {"plan": "Too late"}, taken.version)
    visit = reconcile(colleague, fresh(visit))
    signed = actions.sign_visit(colleague, visit.pk, visit.version, text={"plan": PLAN})
    assert signed.signed_by == colleague
    with pytest.raises(ValidationError, match="signed"):
        actions.take_over_visit(clinician, visit.pk, signed.version)


def test_the_page_offers_the_take_over_and_hides_the_editing(clinician, colleague, visit) -> None:
    client = client_for(colleague)
    page = client.get(f"/visits/{visit.pk}/").content.decode()
    assert 'data-testid="take-over-button"' in page
    assert (
        'data-testid="entry-form"' not in page and 'data-testid="sign"' not in page and "Save visit details" not in page
    )
    response = client.post(f"/visits/{visit.pk}/take-over/", {"version": str(visit.version)})
    assert response["Location"] == f"/visits/{visit.pk}/"
    page = client.get(f"/visits/{visit.pk}/").content.decode()
    assert "You have taken this visit over from Alice" in page and 'data-testid="taken-over"' in page
    assert 'data-testid="entry-form"' in page and 'data-testid="sign"' in page
    assert 'data-testid="take-over-button"' in client_for(clinician).get(f"/visits/{visit.pk}/").content.decode()


# --- an expired session ------------------------------------------------------------------------------


def test_an_expired_session_gets_a_401_and_recovers_after_signing_in_again(clinician, visit) -> None:
    client = Client(enforce_csrf_checks=True)
    client.post("/login/", {"username": "alice", "password": PASSWORD, "csrfmiddlewaretoken": _token(client)})
    token = _token(client)
    Session.objects.update(expire_date=timezone.now() - timezone.timedelta(seconds=1))  # idle limit passed
    refused = client.post(
        f"/visits/{visit.pk}/draft/", {"version": "1", "plan": PLAN, "csrfmiddlewaretoken": token}, **HX
    )
    assert refused.status_code == 401 and "expired" in refused.json()["error"]
    assert fresh(visit).plan == ""
    status = client.get("/session/").json()
    assert status["authenticated"] is False and status["csrf_token"]
    signed_in = client.post(
        "/login/",
        {"username": "alice", "password": PASSWORD, "next": "/session/", "csrfmiddlewaretoken": status["csrf_token"]},
        follow=True,
    )
    after = signed_in.json()
    assert after["authenticated"] is True and after["username"] == "alice"
    again = client.post(
        f"/visits/{visit.pk}/draft/", {"version": "1", "plan": PLAN, "csrfmiddlewaretoken": after["csrf_token"]}, **HX
    )
    assert again.status_code == 200 and fresh(visit).plan == PLAN


def test_signed_in_pages_carry_the_idle_limit_for_the_warning(clinician, settings) -> None:
    page = client_for(clinician).get("/").content.decode()
    assert f'data-idle-seconds="{settings.SESSION_IDLE_MINUTES * 60}"' in page and 'data-username="alice"' in page
    assert "js/session.js" not in Client().get("/login/").content.decode()


def _token(client: Client) -> str:
    return client.get("/session/").json()["csrf_token"]


# --- the needling form keeps what was chosen ---------------------------------------------------------


@pytest.mark.parametrize(
    ("stored", "option"), [("30.0", "30"), ("30", "30"), ("12.5", "12.5"), ("13.0", "13"), (40, "40")]
)
def test_a_stored_length_matches_its_option(stored, option) -> None:
    from decimal import Decimal

    assert forms.length_value(Decimal(str(stored))) == option
    assert forms.length_value(float(stored)) == option


def test_after_an_entry_the_form_keeps_length_gauge_and_technique(clinician, visit) -> None:
    client = client_for(clinician)
    body = post_entry(
        client, visit, 1, length_mm="30", diameter_mm="0.30", technique="static", minutes_left_in=10
    ).content.decode()
    assert selected(body, "length_mm") == ["30"] and selected(body, "diameter_mm") == ["0.30"]
    assert selected(body, "technique") == ["static"]


def test_a_visit_needled_30_30_13_is_signed_as_30_30_13(clinician, visit) -> None:
    client = client_for(clinician)
    post_entry(client, visit, 1, muscle="infraspinatus", length_mm="30")
    post_entry(client, visit, 2, muscle="deltoid", trigger_point="middle", length_mm="30")
    post_entry(client, visit, 3, muscle="teres-minor", trigger_point="", length_mm="13")
    stored = reconcile(clinician, fresh(visit))
    client.post(f"/visits/{visit.pk}/sign/", {"version": str(stored.version)}, **HX)
    note = Visit.objects.get(pk=visit.pk).note_text
    sizes = re.findall(r"x (\d+(?:\.\d+)?) mm", note)
    assert sizes == ["30", "30", "13"], note


def test_the_first_side_comes_from_the_episode_never_a_silent_right(clinician, cleared_patient) -> None:
    client = client_for(clinician)
    for side, expected in (("left", ["left"]), ("central", [""]), ("bilateral", [""])):
        episode = open_neck_episode(clinician, cleared_patient, side=side)
        visit = actions.start_visit(clinician, episode, {})
        page = client.get(f"/visits/{visit.pk}/").content.decode()
        assert selected(page, "side") == expected, side


def test_an_entry_without_a_side_is_refused_with_a_message(clinician, visit) -> None:
    body = post_entry(client_for(clinician), visit, 1, side="").content.decode()
    assert "Choose the left or the right side." in body and not fresh(visit).needling_entries.exists()


# --- the proposed length -----------------------------------------------------------------------------


def _flags() -> safety.ScreeningFlags:
    return safety.screening_flags(None, consent_current=True)


def test_a_muscle_with_a_sourced_safe_depth_gets_the_longest_stock_length_not_above_it() -> None:
    lengths = [n.length_mm for n in needle_stock().lengths]
    for muscle in hazards().values():
        if muscle.safe_depth_mm is None:
            continue
        proposal = length_proposal(muscle, lengths, _flags())
        fitting = [length for length in lengths if length <= muscle.safe_depth_mm]
        assert proposal.from_safe_depth and proposal.longest_mm == max(fitting), muscle.muscle_id


def test_no_proposed_length_raises_a_warning_the_shortest_needle_does_not() -> None:
    lengths = [n.length_mm for n in needle_stock().lengths]
    muscles = hazards()
    for muscle_id, proposal in length_proposals(muscles, lengths, _flags()).items():

        def codes(length: float, muscle_id: str = muscle_id) -> set[str]:
            entry = safety.PlannedNeedling(muscle_id, "right", length)
            return {w.code for w in safety.needling_warnings([entry], {muscle_id: muscles[muscle_id]}, _flags())}

        assert codes(proposal.longest_mm) <= codes(min(lengths)), muscle_id


def test_the_proposal_for_a_depth_limited_muscle_is_shorter_than_its_warning_length() -> None:
    muscle = safety.MuscleHazard(
        muscle_id="test-thorax",
        name="Test thorax muscle",
        kinds=frozenset({"pneumothorax"}),
        over_thorax=True,
        safe_depth_mm=20.0,
        safe_depth_source="a test source",
    )
    proposal = length_proposal(muscle, [13, 15, 25, 30], _flags())
    assert proposal.longest_mm == 15 and proposal.from_safe_depth
    deep = safety.PlannedNeedling("test-thorax", "right", 25)
    assert "ptx_depth" in {w.code for w in safety.needling_warnings([deep], {"test-thorax": muscle}, _flags())}


def test_the_visit_page_hands_the_proposals_to_the_form(clinician, visit) -> None:
    page = client_for(clinician).get(f"/visits/{visit.pk}/").content.decode()
    data = json.loads(
        re.search(r'<script id="muscle-data" type="application/json">(.*?)</script>', page, re.S).group(1)
    )
    depth_limited = [m for m, h in hazards().items() if h.safe_depth_mm is not None]
    assert depth_limited
    for muscle_id in depth_limited:
        assert data[muscle_id]["from_depth"] is True
        assert float(data[muscle_id]["length"]) <= hazards()[muscle_id].safe_depth_mm


def test_the_api_refuses_a_colleague_until_they_take_the_visit_over(clinician, colleague, visit) -> None:
    from needlepoint.accounts.actions import create_api_token

    _token, raw = create_api_token(colleague, "test")
    api = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    url = f"/api/v1/visits/{visit.pk}"
    refused = api.post(f"{url}/needling", entry() | {"version": visit.version}, content_type="application/json")
    assert refused.status_code == 400 and "belongs to Alice" in refused.json()["detail"]
    taken = api.post(f"{url}/take-over", {"version": visit.version}, content_type="application/json")
    assert taken.status_code == 200, taken.content
    added = api.post(f"{url}/needling", entry() | {"version": taken.json()["version"]}, content_type="application/json")
    assert added.status_code in (200, 201), added.content
    assert fresh(visit).clinician == colleague and fresh(visit).needling_entries.count() == 1
