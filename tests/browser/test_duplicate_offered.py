"""Front desk registers a patient who is already registered, in a real browser: the existing record is offered
and opens; registering anyway needs the explicit confirmation. And "/" finds a patient from the header."""

from __future__ import annotations

import re
from datetime import date

from needlepoint.patients import actions
from needlepoint.patients.models import Patient
from tests.browser.conftest import sign_in
from tests.conftest import PASSWORD


def signed_in(page, membership) -> None:
    """Sign in; the first page a fresh live server serves may take longer than the default wait on a busy
    machine (templates and URL patterns load then), so it gets a minute."""
    page.goto("/login/", timeout=60_000)
    sign_in(page, membership.user.username, PASSWORD)


def fill_rosa(page) -> None:
    page.fill("#id_given_name", "Rosa")
    page.fill("#id_family_name", "Márquez")
    page.fill("#id_date_of_birth", "1975-03-14")
    page.fill("#id_phone", "(555) 201-3344")


def test_duplicate_offered(page, front_desk) -> None:
    existing = actions.register_patient(
        front_desk,
        {
            "given_name": "Rosa",
            "family_name": "Marquez",
            "date_of_birth": date(1975, 3, 14),
            "phone": "+1 555 201 3344",
        },
    )
    signed_in(page, front_desk)

    page.goto("/patients/new/")
    fill_rosa(page)
    page.click("main button:has-text('Save')")
    offered = page.locator("#possible-duplicates")
    offered.wait_for()
    assert "This patient may already be registered" in offered.inner_text()
    assert existing.mrn in offered.inner_text()
    assert Patient.objects.count() == 1
    assert page.input_value("#id_family_name") == "Márquez"  # nothing typed is lost

    # Saving again without the confirmation is refused again.
    page.click("main button:has-text('Save')")
    page.locator("#possible-duplicates").wait_for()
    assert Patient.objects.count() == 1

    # The existing record opens from the offer.
    page.click("#possible-duplicates a:has-text('Marquez, Rosa')")
    page.wait_for_url(re.compile(rf"/patients/{existing.pk}/$"))
    assert "Rosa Marquez" in page.inner_text("main")

    # Registering anyway: tick the confirmation.
    page.goto("/patients/new/")
    fill_rosa(page)
    page.click("main button:has-text('Save')")
    page.check("#id_confirm_duplicate")
    page.click("main button:has-text('Save')")
    page.wait_for_url(re.compile(r"/patients/\d+/$"))
    assert "registered with MRN" in page.inner_text("main")
    assert Patient.objects.count() == 2


def test_slash_finds_a_patient_from_the_header(page, front_desk) -> None:
    rosa = actions.register_patient(
        front_desk,
        {
            "given_name": "Rosa",
            "family_name": "O’Brien",
            "date_of_birth": date(1975, 3, 14),
            "phone": "+1 555 201 3344",
        },
    )
    signed_in(page, front_desk)
    page.goto("/schedule/")

    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "header-q"
    page.keyboard.type("O'Brien, R")
    option = page.locator("#header-results a:has-text('O’Brien, Rosa')")
    option.wait_for()
    option.click()
    page.wait_for_url(re.compile(rf"/patients/{rosa.pk}/$"))

    # In a field, "/" is a character, not the shortcut.
    page.goto("/patients/new/")
    page.click("#id_address")
    page.keyboard.type("12/3 Harbour St")
    assert page.input_value("#id_address") == "12/3 Harbour St"
    assert page.input_value("#header-q") == ""
