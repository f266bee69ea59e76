"""The registration and edit forms, with the address in parts and race, ethnicity and birth sex, and the patient page
with identifiers from other systems fit a 390 px phone, a 768 px tablet and a 1280 px desktop without sideways
scrolling; the forms can be filled and saved on a phone, and the page shows a Social Security number only masked."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from needlepoint.demo import DEMO_PASSWORD, build_demo
from needlepoint.patients.models import Patient, PatientIdentifier
from tests.browser.conftest import sign_in
from tests.browser.test_page_widths import SETTLED_WIDTH, WIDE_ELEMENTS

WIDTHS = [390, 768, 1280]


@pytest.fixture
def demo_patient(db) -> Patient:
    build_demo(6, seed=1)
    return PatientIdentifier.objects.get(system="http://hl7.org/fhir/sid/us-ssn").patient


@pytest.mark.parametrize("width", WIDTHS)
def test_the_forms_and_the_page_fit_the_screen(browser, live_server, demo_patient, width: int) -> None:
    context = browser.new_context(
        viewport={"width": width, "height": 900}, is_mobile=width < 500, has_touch=True, base_url=live_server.url
    )
    context.set_default_navigation_timeout(30_000)
    page = context.new_page()
    sign_in(page, "desk", DEMO_PASSWORD)
    too_wide = []
    for path in ("/patients/new/", f"/patients/{demo_patient.pk}/edit/", f"/patients/{demo_patient.pk}/"):
        page.goto(path)
        if page.evaluate(SETTLED_WIDTH) > width:
            too_wide.append((path, page.evaluate(WIDE_ELEMENTS, width)))
    context.close()
    assert too_wide == []


def test_a_phone_registers_a_patient_with_the_new_demographics(phone_page) -> None:
    build_demo(6, seed=1)
    page = phone_page
    sign_in(page, "desk", DEMO_PASSWORD)
    page.goto("/patients/new/")
    page.fill("#id_name_prefix", "Mx.")
    page.fill("#id_given_name", "Robin")
    page.fill("#id_family_name", "Quigley")
    page.fill("#id_date_of_birth", "1975-06-30")
    page.fill("#id_address", "12 Elm Road\nFlat 4")
    page.fill("#id_address_city", "Portland")
    page.fill("#id_address_state", "ME")
    page.fill("#id_address_postal_code", "04102")
    page.select_option("#id_marital_status", "T")
    page.get_by_label("Black or African American").check()
    page.get_by_label("White").check()
    page.select_option("#id_ethnicity_code", "ASKU")
    page.select_option("#id_birth_sex", "UNK")
    page.get_by_role("button", name="Save").click()

    expect(page.get_by_test_id("race")).to_have_text("Black or African American, White")
    expect(page.get_by_test_id("marital-status")).to_have_text("Domestic partner")
    expect(page.get_by_test_id("ethnicity")).to_have_text("Asked, no answer (declined)")
    patient = Patient.objects.get(family_name="Quigley")
    assert (patient.name_prefix, patient.address, patient.address_postal_code) == (
        "Mx.",
        "12 Elm Road\nFlat 4",
        "04102",
    )


def test_the_page_shows_the_ssn_masked(page, demo_patient) -> None:
    sign_in(page, "desk", DEMO_PASSWORD)
    page.goto(f"/patients/{demo_patient.pk}/")

    identifiers = page.get_by_test_id("identifiers")
    expect(identifiers).to_contain_text("US Social Security number")
    expect(identifiers).to_contain_text("•••-••-1234")
    expect(identifiers).to_contain_text("Medical record number")
    assert "999-40-1234" not in page.content()
