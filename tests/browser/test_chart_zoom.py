"""On a 360 px phone the pain-drawing chart zooms (buttons, keyboard, a two-finger pinch) until every region is at
least 24 CSS px wide and tall under a finger, inside its own frame, and the regions already marked stay as they were.

What is measured: each region's on-screen bounding box (getBoundingClientRect of its SVG path) at the largest zoom
the chart offers; the smallest width and the smallest height over all regions of both views must be >= 24 px
(24 px is the minimum target size of WCAG 2.2 success criterion 2.5.8).
"""

from __future__ import annotations

from datetime import date

import pytest
from playwright.sync_api import expect

from needlepoint.patients import actions as patient_actions
from tests.browser.conftest import sign_in
from tests.browser.test_pain_drawing import POINT_IN_REGION
from tests.conftest import PASSWORD

SMALLEST_REGION = """() => {
  let width = Infinity, height = Infinity, code = null;
  for (const path of document.querySelectorAll('#drawing .region[data-code]')) {
    const box = path.getBoundingClientRect();
    if (Math.min(box.width, box.height) < Math.min(width, height)) code = path.dataset.code;
    width = Math.min(width, box.width);
    height = Math.min(height, box.height);
  }
  return {width, height, code};
}"""

# Two touch pointers on the chart, moved apart: the events a two-finger pinch sends.
PINCH = """([x, y, spread]) => {
  const chart = document.querySelector('#drawing');
  const target = document.elementFromPoint(x, y);
  const send = (type, id, px) => target.dispatchEvent(new PointerEvent(type, {
    bubbles: true, cancelable: true, composed: true, pointerId: id, pointerType: 'touch', isPrimary: id === 11,
    clientX: px, clientY: y,
  }));
  send('pointerdown', 11, x - 10);
  send('pointerdown', 12, x + 10);
  for (let step = 1; step <= 5; step++) {
    send('pointermove', 11, x - 10 - step * spread / 5);
    send('pointermove', 12, x + 10 + step * spread / 5);
  }
  send('pointerup', 11, x - 10 - spread);
  send('pointerup', 12, x + 10 + spread);
  return parseFloat(chart.dataset.zoom);
}"""


@pytest.fixture
def small_phone(browser, live_server):
    """The narrowest phone the pages are built for: 360 x 740 CSS pixels with a touch screen."""
    context = browser.new_context(
        viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True, base_url=live_server.url
    )
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


@pytest.fixture
def episode(clinician):
    patient = patient_actions.register_patient(
        clinician, {"given_name": "Ana", "family_name": "Lopez", "date_of_birth": date(1980, 5, 2), "sex": "female"}
    )
    return patient_actions.open_episode(
        clinician,
        patient,
        {"condition": "neck_pain", "icd10_code": "M54.2", "side": "right", "onset_date": date(2025, 2, 1)},
    )


def test_the_zoomed_chart_gives_every_region_24_px_and_keeps_the_drawing(small_phone, clinician, episode) -> None:
    page = small_phone
    sign_in(page, clinician.user.username, PASSWORD)
    page.goto(f"/atlas/episodes/{episode.pk}/assessments/new/")
    before = page.evaluate(SMALLEST_REGION)
    assert before["width"] < 24  # without zoom the smallest regions are far too small for a finger

    point = page.evaluate(POINT_IN_REGION, "temple-r")
    page.touchscreen.tap(point[0], point[1])
    drawing = page.input_value("#drawing-input")
    assert drawing == '{"temple-r":null}'

    zoom_in = page.locator("#drawing [data-zoom=in]")
    while zoom_in.is_enabled():
        zoom_in.click()
    smallest = page.evaluate(SMALLEST_REGION)
    assert smallest["width"] >= 24 and smallest["height"] >= 24, smallest
    # The chart scrolls inside its own frame; the page stays as wide as the phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert page.input_value("#drawing-input") == drawing
    expect(page.locator('#drawing [data-code="temple-r"]')).to_have_attribute("data-i", "u")

    # A region tapped at full zoom is marked like any other, and Fit brings the whole body back.
    point = page.evaluate(POINT_IN_REGION, "angle-of-jaw-r")
    page.touchscreen.tap(point[0], point[1])
    assert page.input_value("#drawing-input") == '{"temple-r":null,"angle-of-jaw-r":null}'
    page.click("#drawing [data-zoom=fit]")
    assert page.get_attribute("#drawing", "data-zoom") == "1"
    assert page.evaluate(SMALLEST_REGION)["width"] == pytest.approx(before["width"], abs=0.5)

    # Keyboard: "]" zooms in and "[" zooms out from a focused region, which keeps its pain.
    page.locator('#drawing [data-code="temple-r"]').focus()
    page.keyboard.press("]")
    assert float(page.get_attribute("#drawing", "data-zoom")) > 1
    page.keyboard.press("[")
    assert page.get_attribute("#drawing", "data-zoom") == "1"

    # A pinch starting on a marked region zooms without painting or clearing anything.
    marked = page.input_value("#drawing-input")
    point = page.evaluate(POINT_IN_REGION, "temple-r")
    level = page.evaluate(PINCH, [point[0], point[1], 120])
    assert level > 1.5
    assert page.input_value("#drawing-input") == marked
    expect(page.locator('#drawing [data-code="temple-r"]')).to_have_attribute("data-i", "u")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
