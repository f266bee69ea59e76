"""Giving the after-care sheet of a needling visit: by e-mail or text message through the link sender (the
patient's contact preference and opt-out apply), or printed and handed over; recorded on the visit (how, when,
by whom), shown on the visit page and the printed note, and listed on the day's dashboard until it is given."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core import mail

from needlepoint.accounts.models import AuditEntry, Clinic
from needlepoint.patients.models import Patient
from needlepoint.scheduling import actions as scheduling_actions
from needlepoint.visits.models import AfterCareGiven
from tests.conftest import client_for
from tests.visits.visit_helpers import add, signed_visit


@pytest.fixture
def sms_folder(settings, tmp_path) -> Path:
    settings.SMS_BACKEND = "needlepoint.sms.FileBackend"
    settings.SMS_FILE_PATH = str(tmp_path / "sms")
    settings.SMS_DEFAULT_COUNTRY_CODE = ""
    return tmp_path / "sms"


@pytest.fixture
def reachable(cleared_patient):
    """The patient with an e-mail address and a mobile number, at a clinic with a phone number."""
    Patient.objects.filter(pk=cleared_patient.pk).update(email="jane@example.org", phone="+1 (555) 201-3344")
    Clinic.objects.filter(pk=cleared_patient.clinic_id).update(phone="+1 555 100 2000")
    cleared_patient.refresh_from_db()
    return cleared_patient


def give(membership, visit, channel: str):
    return client_for(membership).post(f"/visits/{visit.pk}/after-care/send/", {"channel": channel}, follow=True)


def texts(folder: Path) -> list[str]:
    return [p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.txt"))] if folder.exists() else []


def test_signing_offers_the_sheet_and_an_email_sends_the_whole_sheet_and_records_it(
    clinician, reachable, visit, sms_folder
) -> None:
    signed = signed_visit(clinician, visit)
    page = client_for(clinician).get(f"/visits/{signed.pk}/").content.decode()
    assert 'data-testid="after-care-email"' in page and "No after-care sheet given yet" in page

    page = give(clinician, signed, "email").content.decode()

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["jane@example.org"] and "Test Clinic" in message.subject
    assert "Breathlessness, chest pain" in message.body and "up to two days later" in message.body
    assert "+1 555 100 2000" in message.body
    # Nothing from the clinical record goes out.
    assert "Infraspinatus" not in message.body and "infraspinatus" not in message.body
    given = AfterCareGiven.objects.get()
    assert (given.how, given.sent_to, given.given_by_id) == ("email", "jane@example.org", clinician.pk)
    assert "After-care sheet given" in page and 'data-testid="after-care-given"' in page
    assert AuditEntry.objects.filter(action="create", summary__startswith="after-care sheet given").count() == 1


def test_a_text_message_names_the_warning_signs_and_the_clinics_number(
    front_desk, clinician, reachable, visit, sms_folder
) -> None:
    add(clinician, visit)

    give(front_desk, visit, "sms")

    (text,) = texts(sms_folder)
    assert text.startswith("+15552013344\n")
    assert "breathlessness or chest pain" in text and "a day or two later" in text and "+1 555 100 2000" in text
    assert AfterCareGiven.objects.get().sent_to == "+15552013344"


def test_an_opted_out_patient_gets_no_message_but_may_be_handed_the_sheet(
    front_desk, clinician, reachable, visit, sms_folder
) -> None:
    add(clinician, visit)
    scheduling_actions.set_contact_preference(front_desk, reachable.pk, True, "none")

    for channel in ("email", "sms"):
        page = give(clinician, visit, channel).content.decode()
        assert "has asked not to receive after-care advice; nothing was sent" in page
    assert mail.outbox == [] and texts(sms_folder) == [] and not AfterCareGiven.objects.exists()

    page = give(clinician, visit, "printed").content.decode()

    given = AfterCareGiven.objects.get()
    assert given.how == "printed" and given.sent_to == ""
    assert "printed and handed over" in page


def test_the_patients_channel_is_respected_and_a_missing_address_is_refused(
    front_desk, clinician, cleared_patient, visit, sms_folder
) -> None:
    add(clinician, visit)
    assert "has no e-mail address on record" in give(front_desk, visit, "email").content.decode()
    Patient.objects.filter(pk=cleared_patient.pk).update(email="jane@example.org", phone="12")
    assert "is not a phone number a text message can go to" in give(front_desk, visit, "sms").content.decode()
    assert texts(sms_folder) == []
    scheduling_actions.set_contact_preference(front_desk, cleared_patient.pk, True, "sms")
    assert "wants after-care advice by text message only" in give(front_desk, visit, "email").content.decode()
    assert "Choose how the after-care sheet is given" in give(front_desk, visit, "pigeon").content.decode()
    assert mail.outbox == [] and not AfterCareGiven.objects.exists()


def test_a_visit_without_needling_has_nothing_to_give(clinician, reachable, visit, sms_folder) -> None:
    page = give(clinician, visit, "printed").content.decode()

    assert "No needling is recorded in this visit" in page
    assert not AfterCareGiven.objects.exists()


def test_another_clinic_cannot_give_it(outsider, clinician, reachable, visit, sms_folder) -> None:
    add(clinician, visit)

    page = client_for(outsider).post(f"/visits/{visit.pk}/after-care/send/", {"channel": "email"})

    assert page.status_code == 404 and mail.outbox == [] and not AfterCareGiven.objects.exists()


def test_a_record_of_after_care_cannot_be_changed(clinician, reachable, visit, sms_folder) -> None:
    add(clinician, visit)
    give(clinician, visit, "printed")
    given = AfterCareGiven.objects.get()

    with pytest.raises(Exception, match="cannot be changed"):
        given.save()
    with pytest.raises(Exception, match="cannot be"):
        AfterCareGiven.objects.all().delete()


def test_the_printed_note_says_how_and_by_whom_it_was_given(clinician, reachable, visit, sms_folder) -> None:
    signed = signed_visit(clinician, visit)
    give(clinician, signed, "printed")

    note = client_for(clinician).get(f"/visits/{signed.pk}/note/").content.decode()
    page = client_for(clinician).get(f"/visits/{signed.pk}/").content.decode()

    assert 'data-testid="note-after-care"' in note and "Printed and handed over" in note and "PT-1" in note
    assert "printed and handed over" in page


def test_the_dashboard_lists_todays_needled_visits_without_after_care(
    clinician, reachable, visit, sms_folder, django_assert_max_num_queries
) -> None:
    add(clinician, visit)
    client = client_for(clinician)
    with django_assert_max_num_queries(40):
        page = client.get("/").content.decode()
    section = page.split('data-testid="no-after-care"')[1].split("</section>")[0]
    assert "Jane Doe" in section

    give(clinician, visit, "printed")

    section = client.get("/").content.decode().split('data-testid="no-after-care"')[1].split("</section>")[0]
    assert "Jane Doe" not in section and "Every patient needled today has had the sheet" in section
