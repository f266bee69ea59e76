"""The patient's side in Spanish: the language on the patient's record chooses the words of the questionnaire
page, the headache diary, the refusals of unusable links, the messages and the handout; a questionnaire without
shipped Spanish wording is refused at send time and never shown (nor stored) on a Spanish page; English stays
as it was."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from needlepoint.outcomes import actions, sending
from needlepoint.outcomes.models import HeadacheDiaryEntry, Observation, SelfReportLink
from needlepoint.outcomes.scoring import instrument
from needlepoint.patients.models import Patient
from tests.conftest import client_for
from tests.outcomes.conftest import open_episode

# A clinic enters its licensed wording before a questionnaire can go to a patient (the product refuses otherwise).
pytestmark = pytest.mark.usefixtures("clinic_wording")

HOST = "https://np.test"


def speaks_spanish(patient: Patient) -> Patient:
    Patient.objects.filter(pk=patient.pk).update(preferred_language="es", email="juana@example.org")
    patient.refresh_from_db()
    return patient


@pytest.fixture
def spanish(patient):
    return speaks_spanish(patient)


@pytest.fixture
def spanish_lbp(clinician, spanish):
    return open_episode(clinician, spanish, "low_back_pain", "M54.50", "central")


def test_a_link_with_questionnaires_without_spanish_wording_is_refused_and_nothing_is_stored(
    front_desk, spanish_lbp, settings
) -> None:
    settings.SHORT_LINK_BASE = HOST
    with pytest.raises(ValidationError) as refused:
        sending.send_self_report_link(front_desk, spanish_lbp, "email", HOST)
    said = " ".join(refused.value.messages)
    assert "ODI" in said and "PSFS" in said and "Spanish" in said and "Nothing was sent" in said
    assert SelfReportLink.objects.count() == 0 and not mail.outbox


def test_the_send_page_refuses_with_the_message_and_sends_only_what_the_patient_can_read_when_asked(
    front_desk, spanish_lbp, settings
) -> None:
    settings.SHORT_LINK_BASE = HOST
    client = client_for(front_desk)
    form = {"episode": spanish_lbp.pk, "time_point": "baseline", "days": "7", "channel": "email"}
    page = client.post(f"/patients/{spanish_lbp.patient_id}/self-report-link/", form).content.decode()
    assert "no validated wording in that language" in page and SelfReportLink.objects.count() == 0

    page = client.post(
        f"/patients/{spanish_lbp.patient_id}/self-report-link/", form | {"readable_only": "on"}
    ).content.decode()
    link = SelfReportLink.objects.get()
    assert link.instruments == [] and link.include_pain
    message = mail.outbox[-1]
    assert message.subject == "Test Clinic: unas preguntas sobre cómo se encuentra"
    assert "Estimado/a Jane" in message.body and "El enlace funciona una sola vez, hasta el" in message.body
    assert HOST + "/r/" in message.body


def test_the_spanish_questionnaire_page_asks_in_spanish_and_stores_the_answers(clinician, spanish_lbp) -> None:
    issued = actions.create_self_report_link(clinician, spanish_lbp, readable_only=True)
    page = Client().get(f"/p/{issued.token}/")
    text = page.content.decode()
    assert page.status_code == 200 and '<html lang="es">' in text
    assert "Su cuestionario" in text and "¿Cuánto dolor tiene en este momento?" in text
    assert "0 = Ningún dolor · 10 = El peor dolor imaginable" in text and "¿Dónde le duele?" in text
    assert "Enviar mis respuestas" in text and "/about-dry-needling/?lang=es" in text
    # No English left where the patient reads: the item's topic label and the English anchors are absent.
    assert "Pain intensity" not in text and "Worst pain imaginable" not in text

    missing = Client().post(f"/p/{issued.token}/", {"NPRS-pain": ""})
    assert missing.status_code == 400 and "Algunas respuestas necesitan revisión" in missing.content.decode()

    thanks = Client().post(f"/p/{issued.token}/", {"NPRS-pain": "4"}).content.decode()
    assert "Sus respuestas llegaron a Test Clinic" in thanks
    pain = Observation.objects.get(episode=spanish_lbp, instrument="NPRS")
    assert pain.value == 4 and pain.source == "patient"


def test_a_spanish_page_for_a_questionnaire_without_spanish_wording_says_so_and_stores_nothing(
    clinician, patient
) -> None:
    episode = open_episode(clinician, patient, "low_back_pain", "M54.50", "central")
    issued = actions.create_self_report_link(clinician, episode)  # sent while the record said English
    speaks_spanish(patient)

    page = Client().get(f"/p/{issued.token}/")
    text = page.content.decode()
    assert page.status_code == 409 and "Cuestionario no disponible en su idioma" in text
    assert "ODI" not in text or "Oswestry" in text  # names the questionnaire, never its items
    odi = instrument("ODI")
    assert not any(item.label in text for item in odi.items)
    posted = Client().post(f"/p/{issued.token}/", {"NPRS-pain": "3", "ODI-pain_intensity": "1"})
    assert posted.status_code == 409
    assert not Observation.objects.filter(episode=episode).exists()
    issued.link.refresh_from_db()
    assert issued.link.used_at is None


def test_unusable_links_are_refused_in_spanish_and_an_invalid_one_in_both_languages(clinician, spanish_lbp) -> None:
    issued = actions.create_self_report_link(clinician, spanish_lbp, readable_only=True)
    SelfReportLink.objects.filter(pk=issued.link.pk).update(expires_at=timezone.now() - timedelta(days=1))
    text = Client().get(f"/p/{issued.token}/").content.decode()
    assert "Este enlace ha caducado" in text and "Este enlace caducó el" in text and " de 20" in text

    cancelled = actions.create_self_report_link(clinician, spanish_lbp, readable_only=True)
    actions.cancel_link(clinician, cancelled.link)
    assert "La clínica canceló este enlace el" in Client().get(f"/p/{cancelled.token}/").content.decode()

    invalid = Client().get("/p/not-a-token/")
    text = invalid.content.decode()
    assert invalid.status_code == 404
    assert "This link is not valid. It may have been copied" in text and "Este enlace no es válido." in text


def test_the_headache_diary_speaks_spanish_and_refuses_a_future_day_in_spanish(clinician, spanish) -> None:
    episode = open_episode(clinician, spanish, "migraine", "G43.009", "bilateral")
    issued = actions.create_diary_link(clinician, episode)
    page = Client().get(f"/p/{issued.token}/").content.decode()
    assert "Su diario de dolor de cabeza" in page and "¿Tuvo dolor de cabeza ese día?" in page
    assert "Hoy, " in page and "Guardar este día" in page

    today = timezone.localdate()
    answers = {"headache": "yes", "worst_intensity": "6", "hours": "3", "acute_medication": "no"}
    future = Client().post(f"/p/{issued.token}/", answers | {"day": (today + timedelta(days=1)).isoformat()})
    assert future.status_code == 400 and "No se guardó nada" in future.content.decode()
    assert not HeadacheDiaryEntry.objects.exists()

    saved = Client().post(f"/p/{issued.token}/", answers | {"day": today.isoformat()}).content.decode()
    assert "Guardado para el" in saved and "dolor de cabeza, máximo 6 de 10, 3 horas" in saved
    assert HeadacheDiaryEntry.objects.get().worst_intensity == 6

    late = today - timedelta(days=5)
    SelfReportLink.objects.filter(pk=issued.link.pk).update(created_at=timezone.now() - timedelta(days=10))
    refused = Client().post(f"/p/{issued.token}/", answers | {"day": late.isoformat()})
    assert refused.status_code == 400


def test_english_pages_and_messages_are_unchanged(front_desk, clinician, patient, settings) -> None:
    settings.SHORT_LINK_BASE = HOST
    Patient.objects.filter(pk=patient.pk).update(email="jane@example.org")
    episode = open_episode(clinician, patient, "low_back_pain", "M54.50", "central")
    sent = sending.send_self_report_link(front_desk, episode, "email", HOST)
    message = mail.outbox[-1]
    assert message.subject == "Test Clinic: a few questions about how you are doing"
    assert "The link works once, until" in message.body
    text = Client().get(f"/p/{sent.issued.token}/").content.decode()
    assert '<html lang="en' in text and "Your questionnaire" in text and "How much pain do you have right now?" in text


def test_the_handout_is_in_the_language_asked_for(db) -> None:
    spanish = Client().get("/about-dry-needling/?lang=es").content.decode()
    assert "Punción seca: qué es, qué esperar y cuidados posteriores" in spanish
    assert "Neumotórax (colapso de un pulmón)" in spanish and "hasta dos días después" in spanish
    assert "Pneumothorax (a collapsed lung)" not in spanish
    english = Client().get("/about-dry-needling/?lang=xx").content.decode()
    assert "Pneumothorax (a collapsed lung)" in english and "What dry needling is" in english


def test_the_language_is_recorded_on_registration_and_editable(clinician) -> None:
    client = client_for(clinician)
    client.post(
        "/patients/new/",
        {
            "given_name": "Lucía",
            "family_name": "Pérez",
            "date_of_birth": "1975-03-04",
            "sex": "female",
            "preferred_language": "es",
        },
    )
    patient = Patient.objects.get(family_name="Pérez")
    assert patient.preferred_language == "es"
    page = client.get(f"/patients/{patient.pk}/edit/").content.decode()
    assert 'name="preferred_language"' in page and 'value="es" selected' in page


def test_the_admins_checklist_shows_the_wording_per_instrument_and_language(clinic_admin) -> None:
    page = client_for(clinic_admin).get("/outcomes/instruments/").content.decode()
    assert 'data-testid="wording-checklist"' in page
    nprs = page.split('data-instrument="NPRS"')[1].split("</tr>")[0]
    ndi = page.split('data-instrument="NDI"')[1].split("</tr>")[0]
    assert "shipped (validated:" in nprs
    assert "missing: not sent to Spanish-speaking patients" in ndi and "licence does not allow it" in ndi


def test_send_due_skips_what_a_spanish_speaking_patient_cannot_read(clinician, spanish, capsys) -> None:
    from needlepoint.cli import main

    settings_base = ["--base-url", HOST]
    # Neck pain collects NDI and PSFS; neither has Spanish wording, so nothing goes to this patient.
    open_episode(clinician, spanish, "neck_pain", "M54.2", "central", days_ago=20)
    assert main(["outcomes", "send-due", *settings_base]) == 0
    out = capsys.readouterr().out
    assert "skipped, not sendable" in out and "PSFS" in out and "NDI" in out
    assert not SelfReportLink.objects.exists() and not mail.outbox
