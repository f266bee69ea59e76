"""The after-care sheet, its e-mail and its text message in the patient's language: Spanish for a patient whose
record says Spanish, with every warning sign of the English sheet; English unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core import mail

from needlepoint.accounts.models import Clinic
from needlepoint.patients.models import Patient
from needlepoint.visits import aftercare
from tests.conftest import client_for
from tests.visits.visit_helpers import signed_visit


@pytest.fixture
def sms_folder(settings, tmp_path) -> Path:
    settings.SMS_BACKEND = "needlepoint.sms.FileBackend"
    settings.SMS_FILE_PATH = str(tmp_path / "sms")
    settings.SMS_DEFAULT_COUNTRY_CODE = ""
    return tmp_path / "sms"


@pytest.fixture
def spanish(cleared_patient):
    Patient.objects.filter(pk=cleared_patient.pk).update(
        email="juana@example.org", phone="+1 (555) 201-3344", preferred_language="es"
    )
    Clinic.objects.filter(pk=cleared_patient.clinic_id).update(phone="+1 555 100 2000")
    cleared_patient.refresh_from_db()
    return cleared_patient


def test_every_after_care_item_has_its_spanish_text() -> None:
    for section in aftercare.after_care_sections():
        assert section["heading_es"].strip()
        for item in section["items"]:
            assert item["text_es"].strip() and item["text_es"] != item["text"]


def test_the_sheet_email_and_text_are_in_spanish_for_a_spanish_speaking_patient(
    clinician, spanish, visit, sms_folder
) -> None:
    signed = signed_visit(clinician, visit)
    sheet = client_for(clinician).get(f"/visits/{signed.pk}/after-care/").content.decode()
    assert '<html lang="es">' in sheet and "Después de su punción seca" in sheet
    assert "Falta de aire, dolor en el pecho" in sheet and "hasta dos días después" in sheet
    assert "llame a Test Clinic al +1 555 100 2000" in sheet
    assert "Breathlessness" not in sheet

    client_for(clinician).post(f"/visits/{signed.pk}/after-care/send/", {"channel": "email"})
    message = mail.outbox[-1]
    assert "después de su punción seca del" in message.subject
    assert "Estimado/a" in message.body and "neumotórax" in message.body and "A QUIÉN LLAMAR" in message.body
    assert "+1 555 100 2000" in message.body and "Breathlessness" not in message.body

    client_for(clinician).post(f"/visits/{signed.pk}/after-care/send/", {"channel": "sms"})
    text = sorted(sms_folder.glob("*.txt"))[-1].read_text(encoding="utf-8")
    assert "falta el aire o tiene dolor en el pecho, incluso uno o dos días después" in text
    assert "Preguntas: llámenos al +1 555 100 2000." in text


def test_the_english_sheet_is_unchanged(clinician, cleared_patient, visit) -> None:
    signed = signed_visit(clinician, visit)
    sheet = client_for(clinician).get(f"/visits/{signed.pk}/after-care/").content.decode()
    assert "After your dry needling" in sheet and "Breathlessness, chest pain" in sheet
    subject, body, text = aftercare.after_care_message(signed)
    assert subject.startswith("Test Clinic: after your dry needling on ") and "WHO TO CALL" in body
    assert "get urgent help (emergency number) for breathlessness or chest pain" in text
