"""Patient self-report links: one-time, expiring, signed and unguessable; answers arrive patient-reported;
used, expired or altered links are refused and cannot reach another patient."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta

import pytest
from django.core import signing
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from needlepoint.accounts.access import AccessDenied
from needlepoint.accounts.models import AuditEntry
from needlepoint.outcomes import actions
from needlepoint.outcomes.models import Observation, SelfReportLink
from needlepoint.patients import actions as patient_actions
from tests.conftest import client_for
from tests.outcomes.conftest import SECTION_SCALE, odi, open_episode

# A clinic enters its licensed wording before a questionnaire can go to a patient (the product refuses otherwise).
pytestmark = pytest.mark.usefixtures("clinic_wording")

PSFS = {"activity_1": 4, "activity_2": 5, "activity_3": 6}


def form_for(answers: dict[str, int], pain: int | None = 3, psfs: dict[str, int] | None = None) -> dict[str, str]:
    """What the phone form posts for an ODI + PSFS link."""
    data = {f"ODI-{k}": "" if v is None else str(v) for k, v in answers.items()}
    data |= {f"PSFS-{k}": str(v) for k, v in (psfs or PSFS).items()}
    data |= {"PSFS-activity_1__note": "Sitting at work"}
    if pain is not None:
        data["NPRS-pain"] = str(pain)
    return data


def path(token: str) -> str:
    return f"/p/{token}/"


@pytest.fixture
def issued(clinician, lbp_episode):
    return actions.create_self_report_link(clinician, lbp_episode, time_point="reassessment")


def test_a_link_stores_only_a_hash_and_asks_the_condition_questionnaires(issued) -> None:
    link = issued.link
    assert link.instruments == ["ODI", "PSFS"] and link.include_pain
    assert issued.token not in link.token_hash and len(link.token_hash) == 64
    payload = signing.loads(issued.token, salt=actions.LINK_SALT)
    assert payload["l"] == link.pk and link.token_hash == SelfReportLink.hash_token(payload["s"])
    assert len(payload["s"]) >= 43  # 32 random bytes
    assert (link.expires_at - timezone.now()).days in (6, 7)


def test_the_patient_answers_on_the_phone_page_without_signing_in(issued, lbp_episode) -> None:
    client = Client()
    page = client.get(path(issued.token))
    assert page.status_code == 200
    assert b"Oswestry Disability Index" in page.content and b"How much pain do you have right now?" in page.content
    assert page["Cache-Control"].startswith("max-age=0")
    before = AuditEntry.objects.count()
    done = client.post(path(issued.token), form_for(odi(2), pain=4))
    # The submission opens the link and stores the answers, under the link's actor: one request, one entry.
    assert AuditEntry.objects.count() == before + 1
    assert done.status_code == 200 and b"Thank you" in done.content
    found = {o.instrument: o for o in Observation.objects.filter(episode=lbp_episode)}
    assert set(found) == {"ODI", "PSFS", "NPRS"}
    assert found["ODI"].value == 40.0 and found["NPRS"].value == 4.0 and found["PSFS"].value == 5.0
    assert found["PSFS"].item_notes == {"activity_1": "Sitting at work"}
    for obs in found.values():
        assert obs.source == "patient" and obs.recorded_by_id is None
        assert obs.self_report_link_id == issued.link.pk and obs.time_point == "reassessment"
    link = SelfReportLink.objects.get()
    assert link.used_at is not None
    # One submission is one audit event: one entry, naming the patient.
    entries = AuditEntry.objects.filter(via="link", object_type="outcomes.Observation")
    assert entries.count() == 1 and entries.get().patient_id == lbp_episode.patient_id


def test_a_used_link_is_refused_and_the_second_submission_stores_nothing(issued) -> None:
    client = Client()
    assert client.post(path(issued.token), form_for(odi(2))).status_code == 200
    again = client.post(path(issued.token), form_for(odi(1)))
    assert again.status_code == 410 and b"already used" in again.content
    assert Observation.objects.count() == 3
    reopened = client.get(path(issued.token))
    assert reopened.status_code == 410 and b'data-reason="used"' in reopened.content
    with pytest.raises(actions.LinkRefused) as caught:
        actions.submit_self_report(issued.token, {"ODI": odi(1), "PSFS": PSFS}, pain=2)
    assert caught.value.reason == "used"


def test_an_expired_link_is_refused(issued) -> None:
    SelfReportLink.objects.filter(pk=issued.link.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    page = Client().get(path(issued.token))
    assert page.status_code == 410 and b"expired" in page.content
    assert Client().post(path(issued.token), form_for(odi(2))).status_code == 410
    assert not Observation.objects.exists()


def test_the_signed_expiry_holds_even_if_the_stored_one_were_extended(clinician, lbp_episode) -> None:
    issued = actions.create_self_report_link(clinician, lbp_episode, days=1)
    SelfReportLink.objects.filter(pk=issued.link.pk).update(expires_at=timezone.now() + timedelta(days=30))
    payload = signing.loads(issued.token, salt=actions.LINK_SALT)
    past = signing.dumps(
        payload | {"e": int((timezone.now() - timedelta(hours=1)).timestamp())}, salt=actions.LINK_SALT
    )
    with pytest.raises(actions.LinkRefused) as caught:
        actions.open_self_report_link(past)
    assert caught.value.reason == "expired"


def test_an_altered_link_is_refused(issued) -> None:
    token = issued.token
    for altered in (token[:-2] + ("AA" if not token.endswith("AA") else "BB"), token + "x", "x" + token, "nonsense"):
        page = Client().get(path(altered))
        assert page.status_code == 404 and b"not valid" in page.content
    assert (
        Client().post(path(token[:-1] + "Z" if token[-1] != "Z" else token[:-1] + "Y"), form_for(odi(2))).status_code
        == 404
    )
    assert not Observation.objects.exists()


def test_a_link_cannot_reach_another_patient(clinician, issued, lbp_episode) -> None:
    other_patient = patient_actions.register_patient(
        clinician, {"given_name": "Sam", "family_name": "Roe", "date_of_birth": date(1970, 3, 3)}
    )
    other = open_episode(clinician, other_patient, "low_back_pain", "M54.50", "central")
    other_link = actions.create_self_report_link(clinician, other, time_point="baseline")
    # Pointing the signed payload at the other patient's link needs the server's key: the signature breaks.
    payload = signing.loads(issued.token, salt=actions.LINK_SALT)
    _, _, signature = issued.token.partition(":")
    other_body = signing.b64_encode(json.dumps(payload | {"l": other_link.link.pk}, separators=(",", ":")).encode())
    forged = other_body.decode() + ":" + signature
    assert forged != issued.token
    assert Client().get(path(forged)).status_code == 404
    # Even correctly signed with the key, a link id with another link's secret is refused.
    swapped = signing.dumps(payload | {"l": other_link.link.pk}, salt=actions.LINK_SALT)
    assert Client().post(path(swapped), form_for(odi(2))).status_code == 404
    # A token signed for another purpose (another salt) is refused too.
    assert Client().get(path(signing.dumps(payload))).status_code == 404
    assert not Observation.objects.exists()
    # The real link writes only into its own episode.
    Client().post(path(issued.token), form_for(odi(2)))
    assert set(Observation.objects.values_list("episode_id", flat=True)) == {lbp_episode.pk}


def test_missing_or_bad_answers_store_nothing_and_leave_the_link_usable(issued) -> None:
    client = Client()
    two_missing = odi(2) | {"lifting": None, "walking": None}
    page = client.post(path(issued.token), form_for(two_missing, pain=None))
    assert page.status_code == 400
    assert b"Please answer the questions marked below (you may leave at most 1 blank)." in page.content
    assert page.content.count(b"Not answered yet.") == 2
    assert b"today&#x27;s pain" in page.content or b"today's pain" in page.content
    assert b'value="2" checked' in page.content or b"checked" in page.content  # answers kept on the page
    outside = client.post(path(issued.token), form_for(odi(2) | {"lifting": 9}))
    assert outside.status_code == 400 and f"not on the form&#x27;s scale ({SECTION_SCALE})".encode() in outside.content
    assert not Observation.objects.exists()
    assert SelfReportLink.objects.get().used_at is None
    assert client.post(path(issued.token), form_for(odi(2))).status_code == 200


def test_front_desk_sends_a_link_without_seeing_clinical_details(front_desk, lbp_episode) -> None:
    client = client_for(front_desk)
    url = f"/patients/{lbp_episode.patient_id}/self-report-link/"
    page = client.get(url)
    assert (
        page.status_code == 200 and b"Low back pain" not in page.content and b"Episode of care opened" in page.content
    )
    made = client.post(url, {"episode": lbp_episode.pk, "time_point": "baseline", "days": "5"})
    # The instrument's code as a word, not inside the random link or form token (which held "ODI" once in CI).
    assert made.status_code == 200 and b"/p/" in made.content
    assert not re.search(rb"(?<![A-Za-z0-9_-])ODI(?![A-Za-z0-9_-])", made.content)
    link = SelfReportLink.objects.get()
    assert (link.created_by_id, link.time_point) == (front_desk.pk, "baseline")
    assert 4 <= (link.expires_at - timezone.now()).days <= 5


def test_the_clinician_sees_what_the_link_asks(clinician, lbp_episode) -> None:
    made = client_for(clinician).post(
        f"/patients/{lbp_episode.patient_id}/self-report-link/",
        {"episode": lbp_episode.pk, "time_point": "reassessment", "days": "7"},
    )
    assert (
        b"Asks: Oswestry Disability Index; Patient-Specific Functional Scale; Today&#x27;s pain (0-10)" in made.content
    )


def test_link_rules(clinician, clinic_admin, outsider, lbp_episode) -> None:
    with pytest.raises(ValidationError) as days:
        actions.create_self_report_link(clinician, lbp_episode, days=31)
    assert "1 to 30 days" in days.value.message_dict["days"][0]
    with pytest.raises(ValidationError) as point:
        actions.create_self_report_link(clinician, lbp_episode, time_point="visit")
    assert "time_point" in point.value.message_dict
    with pytest.raises(ValidationError, match="another clinic"):
        actions.create_self_report_link(outsider, lbp_episode)
    assert actions.create_self_report_link(clinic_admin, lbp_episode).link.time_point == "baseline"
    actions.record_questionnaire(clinician, lbp_episode, "ODI", odi(3), time_point="baseline")
    assert actions.create_self_report_link(clinician, lbp_episode).link.time_point == "reassessment"


def test_a_role_without_contact_rights_cannot_send(lbp_episode) -> None:
    from needlepoint.accounts.models import Membership

    inactive = Membership.objects.filter(clinic_id=lbp_episode.clinic_id).first()
    inactive.is_active = False
    with pytest.raises(AccessDenied):
        actions.create_self_report_link(inactive, lbp_episode)


def test_the_api_creates_a_link_whose_url_opens_the_phone_page(clinician, lbp_episode) -> None:
    client = client_for(clinician)
    made = client.post(
        f"/api/v1/outcomes/episodes/{lbp_episode.pk}/self-report-links",
        {"time_point": "baseline", "days": 3},
        content_type="application/json",
    )
    assert made.status_code == 201
    body = made.json()
    assert body["instruments"] == ["ODI", "PSFS"] and body["include_pain"] is True
    assert Client().get(body["url"].removeprefix("http://testserver")).status_code == 200
