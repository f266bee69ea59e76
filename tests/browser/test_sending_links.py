"""Front desk e-mails a questionnaire link from the send page in a real browser, the patient opens its short
form on a 390 px phone, and a re-send by text message cancels the e-mailed link."""

from __future__ import annotations

import pytest
from django.core import mail
from playwright.sync_api import expect

from needlepoint.patients.models import Patient
from tests.browser.conftest import sign_in
from tests.conftest import PASSWORD
from tests.outcomes.conftest import open_episode

# A clinic enters its licensed wording before a questionnaire can go to a patient (the product refuses otherwise).
pytestmark = pytest.mark.usefixtures("clinic_wording")


def test_front_desk_emails_a_link_and_resends_it_by_text(
    page, phone_page, front_desk, clinician, patient, settings, tmp_path
) -> None:
    settings.SMS_BACKEND = "needlepoint.sms.FileBackend"
    settings.SMS_FILE_PATH = str(tmp_path)
    Patient.objects.filter(pk=patient.pk).update(email="jane@example.org", phone="+1 555 201 3344")
    open_episode(clinician, patient, "low_back_pain", "M54.50", "central", days_ago=30)

    sign_in(page, front_desk.user.username, PASSWORD)
    page.goto(f"/patients/{patient.pk}/self-report-link/")
    page.check("input[name=channel][value=email]")
    page.click("button:has-text('Send link')")
    expect(page.locator("[data-testid=link-sent]")).to_contain_text("Sent by e-mail to jane@example.org")
    assert "Low back pain" not in page.inner_text("main")

    [message] = mail.outbox
    short = next(word for word in message.body.split() if "/r/" in word)
    phone_page.goto(short)
    assert "Oswestry Disability Index" in phone_page.inner_text("main")
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= 390

    row = page.locator("[data-testid=links] tbody tr").first
    row.locator("select[name=channel]").select_option("sms")
    row.locator("button:has-text('Re-send')").click()
    expect(page.locator("body")).to_contain_text("A fresh link went by text message to +15552013344")
    assert len(list(tmp_path.glob("*.txt"))) == 1
    phone_page.goto(short)
    assert phone_page.get_attribute("[data-testid=link-refused]", "data-reason") == "cancelled"
