"""On a 390 px phone a clinician marks the outer knee and the outer thigh and sees the outer knee in the ranked
muscle's explanation; at the chart's largest zoom the new lateral regions are at least 24 px under a finger."""

from __future__ import annotations

from datetime import date

import pytest
from playwright.sync_api import expect

from needlepoint.patients import actions as patient_actions
from tests.browser.conftest import sign_in
from tests.browser.test_pain_drawing import POINT_IN_REGION
from tests.conftest import PASSWORD

LATERAL_CODES = ["lateral-knee-r", "lateral-knee-l", "lateral-ankle-r", "lateral-ankle-l", "flank-r", "flank-l"]
BOXES = """(codes) => codes.map((code) => {
  const box = document.querySelector(`#drawing [data-code="${code}"]`).getBoundingClientRect();
  return [code, box.width, box.height];
})"""


@pytest.fixture
def phone(browser, live_server):
    """A 390 x 844 CSS-pixel phone with a touch screen."""
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, base_url=live_server.url
    )
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


@pytest.fixture
def knee_episode(clinician):
    patient = patient_actions.register_patient(
        clinician, {"given_name": "Ines", "family_name": "Soto", "date_of_birth": date(1982, 7, 9), "sex": "female"}
    )
    return patient_actions.open_episode(
        clinician,
        patient,
        {"condition": "other", "icd10_code": "M79.10", "side": "right", "onset_date": date(2025, 3, 1)},
    )


def test_the_outer_knee_drawn_on_a_phone_shows_in_the_ranked_muscles_reason(phone, clinician, knee_episode) -> None:
    page = phone
    sign_in(page, clinician.user.username, PASSWORD)
    page.goto(f"/atlas/episodes/{knee_episode.pk}/assessments/new/")

    zoom_in = page.locator("#drawing [data-zoom=in]")
    while zoom_in.is_enabled():
        zoom_in.click()
    for code, width, height in page.evaluate(BOXES, LATERAL_CODES):
        assert width >= 24 and height >= 24, (code, width, height)

    page.click(".brush label.chip[data-i='6']")
    for code in ("lateral-thigh-r", "lateral-knee-r"):
        point = page.evaluate(POINT_IN_REGION, code)
        assert point is not None, f"no visible point inside {code}"
        page.touchscreen.tap(point[0], point[1])
    assert page.input_value("#drawing-input") == '{"lateral-thigh-r":6,"lateral-knee-r":6}'
    expect(page.locator('#drawing [data-code="lateral-knee-r"]')).to_have_attribute(
        "aria-label", "Outer knee (right), front: pain 6 of 10"
    )

    first = page.locator("#ranking li.ranked").first
    expect(first).to_have_attribute("data-muscle", "vastus-lateralis")
    expect(first.locator(".reason")).to_contain_text("outer knee is in its spill-over zone")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
