"""The patient's side in Spanish on a 390 px phone: the clinic e-mails a link to a Spanish-speaking patient
(refused first, because the headache questionnaires have no Spanish wording, then sent with only what the
patient can read), the patient answers the pain scale in Spanish and draws their pain, keeps the headache diary
in Spanish for several days, and the clinician sees the answers, the drawing and the monthly headache days with
the responder status."""

from __future__ import annotations

import re
from datetime import timedelta

from django.core import mail
from django.utils import timezone
from playwright.sync_api import expect

from needlepoint.atlas import actions as atlas_actions
from needlepoint.outcomes import actions
from needlepoint.outcomes.models import HeadacheDiaryEntry, Observation, SelfReportLink
from needlepoint.patients.models import Patient
from tests.browser.conftest import sign_in
from tests.browser.test_headache_diary import _earlier_months
from tests.browser.test_patient_drawing import _tap
from tests.conftest import PASSWORD
from tests.outcomes.conftest import open_episode


def _diary_day(page, index: int, *, headache: bool, worst: int = 0, hours: str = "", medication: bool) -> None:
    page.locator(f'label[for="id_day_{index}"]').tap()
    page.locator(f'label[for="id_headache_{0 if headache else 1}"]').tap()
    if headache:
        page.locator(f'label[for="id_worst_intensity_{worst}"]').tap()
        page.fill("#id_hours", hours)
    page.locator(f'label[for="id_acute_medication_{0 if medication else 1}"]').tap()
    page.click("button:has-text('Guardar este día')")


def test_a_spanish_speaking_patient_answers_draws_and_keeps_a_diary_on_a_phone(
    phone_page, page, clinician, patient, settings
) -> None:
    settings.SHORT_LINK_BASE = ""  # the link is built on the live server's own host
    Patient.objects.filter(pk=patient.pk).update(email="juana@example.org", preferred_language="es")
    episode = open_episode(clinician, patient, "migraine", "G43.009", "bilateral", days_ago=60)
    assessment = atlas_actions.create_assessment(clinician, episode, {"drawing": {"forehead-r": 4}})

    # The clinic sends the link by e-mail: refused while it would carry questionnaires without Spanish wording.
    sign_in(page, clinician.user.username, PASSWORD)
    page.goto(f"/patients/{patient.pk}/self-report-link/")
    page.check("input[name=channel][value=email]")
    page.click("button:has-text('Send link')")
    expect(page.locator("main")).to_contain_text("no validated wording in that language")
    assert not mail.outbox and not SelfReportLink.objects.exists()
    page.check("input[name=channel][value=email]")
    page.check("input[name=readable_only]")
    page.click("button:has-text('Send link')")
    expect(page.locator("[data-testid=link-sent]")).to_contain_text("Sent by e-mail to juana@example.org")
    [message] = mail.outbox
    assert "unas preguntas sobre cómo se encuentra" in message.subject
    short = re.search(r"https?://\S+/r/[A-Za-z0-9_-]{22}", message.body).group(0)

    # On the phone, in Spanish: today's pain and the drawing.
    phone_page.goto(short)
    main = phone_page.inner_text("main")
    assert "Su cuestionario" in main and "¿Cuánto dolor tiene en este momento?" in main
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= 390
    phone_page.locator('label[for="id_NPRS-pain_6"]').tap()
    phone_page.locator('[data-brush-for="patient-drawing"] label[data-i="7"]').tap()
    _tap(phone_page, "low-back-l")
    phone_page.click("button:has-text('Enviar mis respuestas')")
    assert "Sus respuestas llegaron a Test Clinic" in phone_page.inner_text("[data-testid=thanks]")
    assert Observation.objects.get(episode=episode, instrument="NPRS").value == 6

    # The headache diary, in Spanish, for three days through one reusable link.
    issued = actions.create_diary_link(clinician, episode)
    SelfReportLink.objects.filter(pk=issued.link.pk).update(created_at=timezone.now() - timedelta(days=58))
    _earlier_months(issued.link)
    phone_page.goto(f"/p/{issued.token}/")
    assert "Su diario de dolor de cabeza" in phone_page.inner_text("main")
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= 390
    _diary_day(phone_page, 2, headache=True, worst=7, hours="5", medication=True)
    assert "Guardado para el" in phone_page.inner_text("[data-testid=diary-saved]")
    _diary_day(phone_page, 1, headache=False, medication=False)
    _diary_day(phone_page, 0, headache=True, worst=4, hours="1,5", medication=False)
    recent = phone_page.inner_text("[data-testid=diary-recent]")
    assert "máximo 4/10, 1.5 h" in recent or "máximo 4/10, 1,5 h" in recent
    assert HeadacheDiaryEntry.objects.filter(day__gte=timezone.localdate() - timedelta(days=2)).count() == 3

    # The clinician sees it all: the pain answer, the patient's drawing, and the diary's months and responder.
    page.goto(f"/patients/{patient.pk}/episodes/{episode.pk}/outcomes/")
    assert page.inner_text("[data-testid=headache-days-1]") == "14"
    assert page.inner_text("[data-testid=headache-days-2]") == "7"
    assert "Responder" in page.inner_text("[data-testid=diary-responder]")
    page.goto(f"/atlas/assessments/{assessment.pk}/")
    theirs = page.locator("[data-testid=patients-own-drawing]")
    assert theirs.locator('[data-code="low-back-l"]').get_attribute("data-i") == "7"
