"""The consent text in the patient's language: the newest default edition carries a Spanish translation of
every risk (the same codes, the English sources), shown beside the version the patient signs when their record
says Spanish; a clinic's own edited text is shown as written."""

from __future__ import annotations

from needlepoint.patients.consent import (
    consent_text_in,
    current_consent_text,
    default_consent_text,
    patient_consent_wording,
)
from needlepoint.patients.models import ConsentText, Patient
from tests.conftest import client_for


def test_the_spanish_edition_translates_every_risk_and_keeps_the_sources() -> None:
    english = default_consent_text()
    spanish = consent_text_in(english, "es")
    assert [r["code"] for r in spanish["material_risks"]] == [r["code"] for r in english["material_risks"]]
    assert [r["source"] for r in spanish["material_risks"]] == [r["source"] for r in english["material_risks"]]
    pneumothorax = spanish["material_risks"][0]["text"]
    for sign in ("dolor en el pecho", "dolor al tomar aire", "tos seca", "falta de aire", "hasta dos días después"):
        assert sign in pneumothorax
    assert "retirar este consentimiento en cualquier momento" in spanish["body"]
    assert consent_text_in(english, "en") is english


def test_a_spanish_speaking_patient_sees_the_consent_in_spanish_beside_the_version_signed(clinician, patient) -> None:
    Patient.objects.filter(pk=patient.pk).update(preferred_language="es")
    page = client_for(clinician).get(f"/patients/{patient.pk}/consent/new/").content.decode()
    assert 'data-testid="consent-translated"' in page and "Consentimiento para la punción seca" in page
    assert "Neumotórax (colapso de un pulmón)" in page


def test_a_clinics_own_text_is_not_replaced_by_a_translation(clinician, patient) -> None:
    text = current_consent_text(patient.clinic)
    ConsentText.objects.filter(pk=text.pk).update(body=text.body + "\n\nOur own paragraph.")
    text.refresh_from_db()
    assert patient_consent_wording(text, "es") is None
    assert patient_consent_wording(current_consent_text(patient.clinic), "en") is None
