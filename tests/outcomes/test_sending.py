"""Sending self-report links: by e-mail (Django's outbox) and by text message (the file backend), the short
link and its landing, cancel and re-send, the patient's link preference and opt-out, numbers that are not
phone numbers, front desk seeing no clinical content, roles, and one audit entry per send."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.test import Client

from needlepoint import phones
from needlepoint.accounts.models import AuditEntry
from needlepoint.outcomes import actions, sending
from needlepoint.outcomes.models import LinkMessage, Observation, SelfReportLink
from needlepoint.patients.models import Patient
from needlepoint.scheduling import actions as scheduling_actions
from tests.conftest import client_for
from tests.outcomes.conftest import odi

# A clinic enters its licensed wording before a questionnaire can go to a patient (the product refuses otherwise).
pytestmark = pytest.mark.usefixtures("clinic_wording")

HOST = "https://np.test"  # 15 characters: the longest base that keeps a short link within 40


@pytest.fixture
def sms_folder(settings, tmp_path) -> Path:
    settings.SMS_BACKEND = "needlepoint.sms.FileBackend"
    settings.SMS_FILE_PATH = str(tmp_path / "sms")
    settings.SMS_DEFAULT_COUNTRY_CODE = ""
    settings.SHORT_LINK_BASE = HOST
    return tmp_path / "sms"


@pytest.fixture
def reachable(patient):
    """The patient with an e-mail address and a mobile number on record."""
    Patient.objects.filter(pk=patient.pk).update(email="jane@example.org", phone="+1 (555) 201-3344")
    patient.refresh_from_db()
    return patient


def texts(folder: Path) -> list[tuple[str, str]]:
    """(number, words) of every text message the file backend wrote."""
    found = []
    for path in sorted(folder.glob("*.txt")) if folder.exists() else []:
        number, body = path.read_text(encoding="utf-8").split("\n", 1)
        found.append((number, body))
    return found


def send_page(membership, patient_id: int) -> str:
    return f"/patients/{patient_id}/self-report-link/"


def post_send(client: Client, episode, channel: str):
    return client.post(
        send_page(None, episode.patient_id),
        {"episode": episode.pk, "time_point": "baseline", "days": "7", "channel": channel},
    )


def short_of(text: str) -> str:
    """The short link inside a message."""
    return next(word.rstrip(".,)") for word in text.split() if word.startswith(HOST + "/r/"))


def test_phone_numbers_are_normalised_or_refused_with_the_rule() -> None:
    assert phones.normalise("+1 (555) 201-3344") == "+15552013344"
    assert phones.normalise("0034 612 345 678") == "+34612345678"
    assert phones.normalise("0612 345 678", "+34") == "+34612345678"
    assert phones.normalise("612.345.678", "+34") == "+34612345678"
    for bad in ("", "call me", "+1 555", "12345678", "+0 555 201 3344", "+1 555 201 3344 5678 90", "+1 555 CALL"):
        with pytest.raises(phones.PhoneError) as refused:
            phones.normalise(bad)
        assert "international form" in str(refused.value)


def test_front_desk_emails_a_link_with_a_short_address_that_opens_the_questionnaires(
    front_desk, reachable, lbp_episode, sms_folder
) -> None:
    client = client_for(front_desk)
    page = post_send(client, lbp_episode, "email")
    assert page.status_code == 200 and b"Sent by e-mail to jane@example.org" in page.content
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["jane@example.org"] and "a few questions" in message.subject
    url = short_of(message.body)
    assert len(url) <= sending.SHORT_LINK_MAX and len(url.rsplit("/", 1)[1]) == 22
    # The message names the clinic, not the questionnaires or the condition.
    assert "Oswestry" not in message.body and "back" not in message.body.lower()
    sent = LinkMessage.objects.get()
    assert (sent.channel, sent.sent_to, sent.sent_by_id) == ("email", "jane@example.org", front_desk.pk)
    # One audit entry for the send, naming how and where it went.
    entry = AuditEntry.objects.filter(object_type="outcomes.SelfReportLink", action="create").get()
    assert entry.summary == "self-report link sent by e-mail to jane@example.org"
    # The patient opens the short link (no sign-in) and answers there.
    patient_phone = Client()
    path = url.removeprefix(HOST)
    landing = patient_phone.get(path)
    assert landing.status_code == 200 and b"Oswestry Disability Index" in landing.content
    done = patient_phone.post(path, {**{f"ODI-{k}": str(v) for k, v in odi(2).items()}, **PSFS_AND_PAIN})
    assert done.status_code == 200 and b"Thank you" in done.content
    assert Observation.objects.filter(self_report_link=sent.link, source="patient").count() == 3
    assert patient_phone.get(path).status_code == 410


PSFS_AND_PAIN = {"PSFS-activity_1": "4", "PSFS-activity_2": "5", "PSFS-activity_3": "6", "NPRS-pain": "3"}


def test_a_text_message_goes_to_the_number_in_international_form(
    front_desk, reachable, lbp_episode, sms_folder
) -> None:
    page = post_send(client_for(front_desk), lbp_episode, "sms")
    assert page.status_code == 200 and b"Sent by text message to +15552013344" in page.content
    [(number, body)] = texts(sms_folder)
    assert number == "+15552013344" and reachable.clinic.name in body
    url = short_of(body)
    assert len(url) <= 40
    assert Client().get(url.removeprefix(HOST)).status_code == 200
    assert mail.outbox == []


def test_a_number_that_is_not_a_phone_number_is_refused_and_nothing_is_stored(
    front_desk, reachable, lbp_episode, sms_folder
) -> None:
    Patient.objects.filter(pk=reachable.pk).update(phone="555-CALL-NOW")
    page = post_send(client_for(front_desk), lbp_episode, "sms")
    assert page.status_code == 200 and b"is not a phone number a text message can go to" in page.content
    assert b"international form" in page.content
    assert not SelfReportLink.objects.exists() and not LinkMessage.objects.exists() and texts(sms_folder) == []


def test_an_opted_out_patient_gets_no_message_and_nothing_is_stored(
    front_desk, reachable, lbp_episode, sms_folder
) -> None:
    scheduling_actions.set_contact_preference(front_desk, reachable.pk, True, "none")
    client = client_for(front_desk)
    for channel in ("email", "sms"):
        page = post_send(client, lbp_episode, channel)
        assert b"has asked not to receive questionnaire links; nothing was sent" in page.content
    assert mail.outbox == [] and texts(sms_folder) == []
    assert not SelfReportLink.objects.exists() and not LinkMessage.objects.exists()
    # The link can still be handed over in the clinic.
    assert b"Link ready to hand over" in post_send(client, lbp_episode, "copy").content


def test_the_patients_channel_is_respected(front_desk, reachable, lbp_episode, sms_folder) -> None:
    scheduling_actions.set_contact_preference(front_desk, reachable.pk, True, "sms")
    with pytest.raises(ValidationError) as refused:
        sending.send_self_report_link(front_desk, lbp_episode, "email", "http://testserver")
    assert "wants questionnaire links by text message only" in str(refused.value)
    assert not SelfReportLink.objects.exists() and mail.outbox == []
    # The send page offers the patient's channel first.
    page = client_for(front_desk).get(send_page(None, reachable.pk))
    [checked] = re.findall(rb'<input type="radio" name="channel" value="(\w+)"[^>]*checked', page.content)
    assert checked == b"sms"
    with pytest.raises(ValidationError):
        scheduling_actions.set_contact_preference(front_desk, reachable.pk, True, "pigeon")


def test_no_email_address_is_refused(front_desk, patient, lbp_episode, sms_folder) -> None:
    with pytest.raises(ValidationError) as refused:
        sending.send_self_report_link(front_desk, lbp_episode, "email", "http://testserver")
    assert "has no e-mail address on record; nothing was sent" in str(refused.value)
    assert not SelfReportLink.objects.exists()


def test_a_cancelled_link_stops_working_in_both_forms(front_desk, reachable, lbp_episode, sms_folder) -> None:
    sent = sending.send_self_report_link(front_desk, lbp_episode, "email", HOST)
    client = client_for(front_desk)
    done = client.post(f"/patients/{reachable.pk}/self-report-links/{sent.issued.link.pk}/cancel/", follow=True)
    assert b"cancelled: it no longer works" in done.content
    for path in (f"/p/{sent.issued.token}/", sent.short_url.removeprefix(HOST)):
        refused = Client().get(path)
        assert refused.status_code == 410 and b"cancelled this link" in refused.content
    assert SelfReportLink.objects.get().status() == "cancelled"


def test_a_resend_issues_fresh_tokens_and_cancels_the_old(front_desk, reachable, lbp_episode, sms_folder) -> None:
    first = sending.send_self_report_link(front_desk, lbp_episode, "email", HOST)
    client = client_for(front_desk)
    before = AuditEntry.objects.order_by("-pk").values_list("pk", flat=True).first()
    answer = client.post(
        f"/patients/{reachable.pk}/self-report-links/{first.issued.link.pk}/resend/", {"channel": "sms"}
    )
    # One event, one entry: cancelling the old link, the new link and its message are one re-send.
    [entry] = AuditEntry.objects.filter(pk__gt=before)
    assert entry.summary == (
        f"self-report link re-sent (in place of link {first.issued.link.pk}) by text message to {reachable.phone}"
    )
    page = client.get(answer["Location"])
    assert b"A fresh link went by text message to +15552013344" in page.content
    assert page.content.count(b'<span class="muted">re-sent</span>') == 1  # the old link offers no second re-send
    old, new = SelfReportLink.objects.order_by("pk")
    assert old.cancelled_by_id == front_desk.pk and new.replaces_id == old.pk and new.status() == "open"
    assert (new.instruments, new.time_point) == (old.instruments, old.time_point)
    [(_, body)] = texts(sms_folder)
    assert Client().get(first.short_url.removeprefix(HOST)).status_code == 410
    assert Client().get(short_of(body).removeprefix(HOST)).status_code == 200


def test_an_answered_link_cannot_be_cancelled_or_resent(front_desk, reachable, lbp_episode, sms_folder) -> None:
    sent = sending.send_self_report_link(front_desk, lbp_episode, "copy", HOST)
    Client().post(sent.short_url.removeprefix(HOST), {**{f"ODI-{k}": "1" for k in odi(1)}, **PSFS_AND_PAIN})
    assert SelfReportLink.objects.get().used_at is not None
    with pytest.raises(ValidationError, match="This link is already used; there is nothing to cancel"):
        sending.cancel_self_report_link(front_desk, reachable.pk, sent.issued.link.pk)
    with pytest.raises(ValidationError, match="an answered link cannot be cancelled or re-sent"):
        sending.resend_self_report_link(front_desk, reachable.pk, sent.issued.link.pk, "email", HOST)
    assert SelfReportLink.objects.count() == 1 and mail.outbox == []


def test_front_desk_sees_titles_only_never_clinical_content(
    front_desk, clinician, reachable, lbp_episode, sms_folder, django_assert_max_num_queries
) -> None:
    actions.record_questionnaire(clinician, lbp_episode, "ODI", odi(3), time_point="baseline")
    for _ in range(3):
        sending.send_self_report_link(front_desk, lbp_episode, "email", HOST)
    client = client_for(front_desk)
    with django_assert_max_num_queries(20):
        page = client.get(send_page(None, reachable.pk))
    content = page.content.decode()
    assert page.status_code == 200 and "Oswestry Disability Index" in content
    for clinical in ("Low back pain", "low_back_pain", "M54.50", "ODI", "60.0", "60 %"):
        assert clinical not in content, clinical
    assert content.count("E-mail to jane@example.org") == 3


def test_roles_and_clinics(outsider, clinic_admin, reachable, lbp_episode, sms_folder) -> None:
    sent = sending.send_self_report_link(clinic_admin, lbp_episode, "email", HOST)
    with pytest.raises(Exception) as foreign:
        sending.cancel_self_report_link(outsider, reachable.pk, sent.issued.link.pk)
    assert foreign.type.__name__ in ("Http404", "AccessDenied")
    assert client_for(outsider).post(
        f"/patients/{reachable.pk}/self-report-links/{sent.issued.link.pk}/cancel/"
    ).status_code in (403, 404)
    assert SelfReportLink.objects.get().cancelled_at is None
    # A signed-in member of staff cannot open a patient's short link (answers through a link are the patient's).
    assert client_for(clinic_admin).get(sent.short_url.removeprefix(HOST)).status_code == 403
    with pytest.raises(ValidationError, match="belongs to another clinic"):
        sending.send_self_report_link(outsider, lbp_episode, "email", HOST)


def test_an_unknown_or_altered_short_token_is_refused(db) -> None:
    for token in ("A" * 22, "A" * 21, "not-a-token"):
        refused = Client().get(f"/r/{token}")
        assert refused.status_code == 404 and b"This link is not valid" in refused.content


def test_a_provider_failure_stores_nothing(front_desk, reachable, lbp_episode, sms_folder, settings) -> None:
    settings.SMS_BACKEND = "needlepoint.sms.HttpBackend"
    settings.SMS_HTTP_URL = "http://127.0.0.1:9/send"  # the discard port: nothing listens, the connection is refused
    page = post_send(client_for(front_desk), lbp_episode, "sms")
    assert page.status_code == 200 and b"The text message could not be sent" in page.content
    assert not SelfReportLink.objects.exists() and not LinkMessage.objects.exists()


def test_the_api_returns_the_short_link_too(front_desk, lbp_episode, sms_folder) -> None:
    made = client_for(front_desk).post(
        f"/api/v1/outcomes/episodes/{lbp_episode.pk}/self-report-links", {}, content_type="application/json"
    )
    assert made.status_code == 201
    short = made.json()["short_url"]
    assert short.startswith(HOST + "/r/") and len(short) <= 40
    assert Client().get(short.removeprefix(HOST)).status_code == 200


def test_a_link_is_resent_once(front_desk, reachable, lbp_episode, sms_folder) -> None:
    first = sending.send_self_report_link(front_desk, lbp_episode, "email", HOST)
    sending.resend_self_report_link(front_desk, reachable.pk, first.issued.link.pk, "email", HOST)
    with pytest.raises(ValidationError, match="already re-sent"):
        sending.resend_self_report_link(front_desk, reachable.pk, first.issued.link.pk, "email", HOST)
    assert SelfReportLink.objects.count() == 2 and len(mail.outbox) == 2


def test_the_preference_page_records_an_opt_out_that_the_api_keeps(front_desk, reachable, sms_folder) -> None:
    client = client_for(front_desk)
    page = f"/schedule/patients/{reachable.pk}/reminders/"
    saved = client.post(page, {"email_reminders": "yes", "links_by": "none"}, follow=True)
    assert b"questionnaire links: no links (opted out)" in saved.content
    assert scheduling_actions.links_by(reachable) == "none"
    # Changing the reminders through the API leaves the link preference as the patient gave it.
    api = f"/api/v1/scheduling/patients/{reachable.pk}/contact-preference"
    assert client.put(api, {"email_reminders": False}, content_type="application/json").status_code == 200
    assert scheduling_actions.links_by(reachable) == "none"
    refused = client.post(page, {"email_reminders": "yes", "links_by": "carrier pigeon"}, follow=True)
    assert b"Choose how the patient wants questionnaire links" in refused.content
    assert scheduling_actions.links_by(reachable) == "none"


def test_a_send_outside_a_request_is_one_audit_entry(front_desk, reachable, lbp_episode, sms_folder) -> None:
    """As a command or cron job would call it: the link and its message are one event."""
    before = AuditEntry.objects.count()
    first = sending.send_self_report_link(front_desk, lbp_episode, "sms", HOST)
    assert AuditEntry.objects.count() - before == 1
    sending.resend_self_report_link(front_desk, reachable.pk, first.issued.link.pk, "email", HOST)
    assert AuditEntry.objects.count() - before == 2
