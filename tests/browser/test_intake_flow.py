"""A clinician takes a new patient through intake in a real browser: register, screen, consent, open an episode."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from needlepoint.accounts.models import AuditEntry
from tests.browser.conftest import sign_in
from tests.conftest import PASSWORD


def test_a_clinician_registers_screens_consents_and_opens_an_episode(page, clinician) -> None:
    sign_in(page, clinician.user.username, PASSWORD)

    page.goto("/patients/")
    page.click("text=Register a patient")
    page.fill("#id_given_name", "Rosa")
    page.fill("#id_family_name", "Marquez")
    page.fill("#id_date_of_birth", "1975-03-14")
    page.select_option("#id_sex", "female")
    page.fill("#id_phone", "+1 555 201 3344")
    page.click("button:has-text('Save')")
    page.wait_for_url(re.compile(r"/patients/\d+/$"))
    assert "Rosa Marquez registered with MRN TC-0000001." in page.inner_text("main")
    assert page.inner_text("[data-testid=clearance]") == "Not cleared for needling"
    assert "No safety screening is on record." in page.inner_text("main")

    page.click("a.button:has-text('Screen')")
    page.fill("#id_height_cm", "165")
    page.fill("#id_weight_kg", "62")
    for none_apply in page.locator(".none-apply input[type=checkbox]").all():
        none_apply.check()
    questions = page.locator("[data-item]").count()
    assert page.locator("[data-item] input[type=radio][value=no]:checked").count() == questions
    page.click("button:has-text('Record screening')")
    page.wait_for_url(re.compile(r"/screening/\d+/$"))
    assert "Screening recorded: Cleared." in page.inner_text("main")

    page.click("a:has-text('Rosa Marquez')")
    page.click("a.button:has-text('Record consent')")
    assert "pneumothorax" in page.inner_text("main").lower()
    page.fill("#id_signed_name", "Rosa Marquez")
    page.locator("#signature-pad").scroll_into_view_if_needed()
    pad = page.locator("#signature-pad").bounding_box()
    page.mouse.move(pad["x"] + 20, pad["y"] + 40)
    page.mouse.down()
    page.mouse.move(pad["x"] + 120, pad["y"] + 60, steps=5)
    page.mouse.up()
    page.click("button:has-text('Record consent')")
    page.wait_for_url(re.compile(r"/patients/\d+/$"))
    assert "Consent recorded." in page.inner_text("main")
    assert page.locator("svg[aria-label='Drawn signature'] path").count() == 1
    assert page.inner_text("[data-testid=clearance]") == "Cleared for needling"

    page.click("text=Open an episode")
    # The form's script narrows the codes once the page has loaded; choosing before then must not race it.
    page.wait_for_url(re.compile(r"/episodes/new/$"))
    page.select_option("#id_condition", "neck_pain")
    # Only the chosen condition's codes are offered.
    offered = page.locator("#id_icd10_code optgroup:not([disabled])")
    expect(offered).to_have_count(1)
    expect(offered).to_have_attribute("label", "Neck pain")
    page.select_option("#id_icd10_code", "M54.2")
    page.select_option("#id_side", "central")
    page.fill("#id_onset_date", "2025-01-10")
    page.fill("#id_goals", "Turn head fully when driving.")
    page.click("button:has-text('Save')")
    page.wait_for_url(re.compile(r"/episodes/\d+/$"))
    assert "Episode opened: Neck pain." in page.inner_text("main")
    assert "Turn head fully when driving." in page.inner_text("main")

    page.click("a:has-text('Rosa Marquez')")
    episodes = page.inner_text("section[aria-labelledby=ep-h]")
    assert "Neck pain" in episodes
    assert "M54.2" in episodes
    assert "open" in episodes

    written = set(
        AuditEntry.objects.filter(user=clinician.user, action="create", via="web").values_list("object_type", flat=True)
    )
    assert {"patients.Patient", "patients.Screening", "patients.Consent", "patients.Episode"} <= written
    assert not AuditEntry.objects.filter(user=clinician.user, client_address__isnull=True).exists()
