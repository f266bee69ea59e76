"""A clinician draws the pain on the body chart in a real browser and sees the muscles that explain it.

Temple and posterolateral neck (right) put upper trapezius at the top with its reason and its pneumothorax
badge; the drawing is stored with the assessment; a palpation finding recorded from the list becomes the
suggested needling; the re-assessment shows the first drawing beside the new one; the keyboard, a drag and a
tap on a touch screen all paint; the print view leaves the controls out.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from needlepoint.atlas.models import Assessment, PalpationFinding
from needlepoint.patients import actions as patient_actions
from needlepoint.patients.models import Episode
from tests.browser.conftest import sign_in
from tests.conftest import PASSWORD

# A point inside a region's shape (not just its bounding box), in page coordinates.
POINT_IN_REGION = """(code) => {
  const path = document.querySelector(`#drawing [data-code="${code}"]`);
  path.scrollIntoView({block: "center"});
  const box = path.getBBox();
  const svg = path.ownerSVGElement;
  const matrix = path.getScreenCTM();
  for (let step = 0; step <= 12; step++) {
    for (let i = 0; i <= step; i++) {
      for (const [fx, fy] of [[i, step], [step, i]]) {
        for (const [sx, sy] of [[1, 1], [-1, 1], [1, -1], [-1, -1]]) {
          const pt = svg.createSVGPoint();
          pt.x = box.x + box.width / 2 + sx * fx * box.width / 26;
          pt.y = box.y + box.height / 2 + sy * fy * box.height / 26;
          if (path.isPointInFill(pt)) {
            const screen = pt.matrixTransform(matrix);
            if (document.elementFromPoint(screen.x, screen.y) === path) return [screen.x, screen.y];
          }
        }
      }
    }
  }
  return null;
}"""


@pytest.fixture
def neck_episode(clinician):
    patient = patient_actions.register_patient(
        clinician, {"given_name": "Rosa", "family_name": "Marquez", "date_of_birth": date(1975, 3, 14), "sex": "female"}
    )
    episode = patient_actions.open_episode(
        clinician,
        patient,
        {"condition": "neck_pain", "icd10_code": "M54.2", "side": "right", "onset_date": date(2025, 1, 10)},
    )
    Episode.objects.filter(pk=episode.pk).update(opened_at=timezone.now() - timedelta(days=30))
    return episode


@pytest.fixture
def tablet_page(browser, live_server):
    """A tablet in portrait (820 x 1180 CSS pixels) with a touch screen."""
    context = browser.new_context(
        viewport={"width": 820, "height": 1180}, is_mobile=True, has_touch=True, base_url=live_server.url
    )
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def _tap_region(page, code: str, *, touch: bool = False) -> None:
    point = page.evaluate(POINT_IN_REGION, code)
    assert point is not None, f"no visible point inside {code}"
    if touch:
        page.touchscreen.tap(point[0], point[1])
    else:
        page.mouse.click(point[0], point[1])


def _drawing(page) -> str:
    return page.input_value("#drawing-input")


def test_temple_and_posterolateral_neck_put_upper_trapezius_at_the_top(page, clinician, neck_episode) -> None:
    sign_in(page, clinician.user.username, PASSWORD)
    page.goto(f"/patients/{neck_episode.patient_id}/episodes/{neck_episode.pk}/")
    page.click("a.button:has-text('Initial assessment')")
    page.wait_for_url("**/assessments/new/")
    expect(page.locator("[data-testid=ranking-empty]")).to_be_visible()
    expect(page.locator("#drawing [data-testid=choir-attribution]")).to_contain_text("CHOIR")

    # The temple by mouse with pain 6, the posterolateral neck by keyboard with pain 8.
    page.click(".brush label.chip[data-i='6']")
    _tap_region(page, "temple-r")
    expect(page.locator('#drawing [data-code="temple-r"]')).to_have_attribute("data-i", "6")
    neck = page.locator('#drawing [data-code="posterolateral-neck-r"]')
    neck.focus()
    page.keyboard.press("Enter")
    page.keyboard.press("8")
    expect(neck).to_have_attribute("data-i", "8")
    expect(neck).to_have_attribute("aria-checked", "true")
    expect(neck).to_have_attribute("aria-label", "Posterolateral neck (right), back: pain 8 of 10")
    expect(page.locator("[data-marked-list=drawing] li")).to_have_count(2)

    first = page.locator("#ranking li.ranked").first
    expect(first).to_have_attribute("data-muscle", "upper-trapezius")
    expect(first.locator(".reason")).to_have_text("Posterolateral neck and temple are in its primary zone.")
    expect(first.locator(".badge.bad")).to_have_text("Pneumothorax risk")

    page.click("[data-testid=save-assessment]")
    page.wait_for_url("**/atlas/assessments/*/")
    assessment = Assessment.objects.get()
    assert assessment.drawing == {"temple-r": 6, "posterolateral-neck-r": 8}
    assert assessment.kind == "initial"

    # Palpate the top-ranked muscle and record what was found.
    first = page.locator("#ranking li.ranked").first
    first.locator("summary:has-text('Record a palpation finding')").click()
    first.locator("input[name=twitch_response][value=single]").check()
    first.locator("input[name=reproduces_familiar_pain]").check()
    first.locator("button:has-text('Record finding')").click()
    expect(page.locator("[data-testid=findings]")).to_contain_text("Upper trapezius")
    expect(page.locator("[data-testid=suggested]")).to_contain_text("Upper trapezius (right, TP1)")
    finding = PalpationFinding.objects.get()
    assert (finding.side, finding.status, finding.twitch_response, finding.reproduces_familiar_pain) == (
        "right",
        "active",
        "single",
        True,
    )

    # The re-assessment shows the first drawing beside the new one.
    page.click("a:has-text('New re-assessment')")
    page.wait_for_url("**/assessments/new/")
    expect(page.locator(".first-card h2")).to_contain_text("Initial assessment")
    expect(page.locator('#first-drawing [data-code="temple-r"]')).to_have_attribute("data-i", "6")
    first_box = page.locator("#first-drawing").bounding_box()
    new_box = page.locator("#drawing").bounding_box()
    assert first_box and new_box and first_box["x"] + first_box["width"] <= new_box["x"]
    assert abs(first_box["y"] - new_box["y"]) < 150  # side by side, not one under the other


def test_dragging_paints_every_region_crossed_and_clear_empties_the_drawing(page, clinician, neck_episode) -> None:
    sign_in(page, clinician.user.username, PASSWORD)
    page.goto(f"/atlas/episodes/{neck_episode.pk}/assessments/new/")
    start = page.evaluate(POINT_IN_REGION, "low-back-l")
    end = page.evaluate(POINT_IN_REGION, "low-back-r")
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(*end, steps=12)
    page.mouse.up()
    expect(page.locator('#drawing [data-code="low-back-l"]')).to_have_attribute("data-i", "u")
    expect(page.locator('#drawing [data-code="low-back-r"]')).to_have_attribute("data-i", "u")
    expect(page.locator("#ranking li.ranked").first).to_be_visible()
    painted = page.locator("[data-marked-list=drawing] li").count()
    assert painted >= 2  # and the midline regions crossed between them

    # Clicking a region marked with the current pain clears it; the list and the ranking follow.
    _tap_region(page, "low-back-r")
    expect(page.locator('#drawing [data-code="low-back-r"]')).not_to_have_attribute("data-i", "u")
    expect(page.locator("[data-marked-list=drawing] li")).to_have_count(painted - 1)
    page.click("button:has-text('Clear the drawing')")
    assert _drawing(page) == "{}"
    expect(page.locator("[data-testid=ranking-empty]")).to_be_visible()


def test_keyboard_sets_ten_and_the_list_changes_the_pain(page, clinician, neck_episode) -> None:
    sign_in(page, clinician.user.username, PASSWORD)
    page.goto(f"/atlas/episodes/{neck_episode.pk}/assessments/new/")
    temple = page.locator('#drawing [data-code="temple-l"]')
    temple.focus()
    page.keyboard.press("1")
    page.keyboard.press("0")
    expect(temple).to_have_attribute("data-i", "10")
    page.select_option("[data-marked-list=drawing] select", "3")
    expect(temple).to_have_attribute("data-i", "3")
    page.keyboard.press("Tab")  # move on, then back, and clear with Delete
    temple.focus()
    page.keyboard.press("Delete")
    assert _drawing(page) == "{}"


def test_a_tap_on_a_tablet_marks_a_region(tablet_page, clinician, neck_episode) -> None:
    page = tablet_page
    sign_in(page, clinician.user.username, PASSWORD)
    page.goto(f"/atlas/episodes/{neck_episode.pk}/assessments/new/")
    assert page.evaluate("window.innerWidth") == 820  # nothing overflows the tablet's width
    _tap_region(page, "posterolateral-neck-r", touch=True)
    expect(page.locator('#drawing [data-code="posterolateral-neck-r"]')).to_have_attribute("data-i", "u")
    assert _drawing(page) == '{"posterolateral-neck-r":null}'
    expect(page.locator("#ranking li.ranked").first).to_be_visible()


def test_the_print_view_shows_the_charts_without_controls(page, clinician, neck_episode) -> None:
    from needlepoint.atlas import actions

    assessment = actions.create_assessment(clinician, neck_episode, {"drawing": {"temple-r": 6}})
    sign_in(page, clinician.user.username, PASSWORD)
    page.goto(f"/atlas/assessments/{assessment.pk}/print/")
    page.emulate_media(media="print")
    expect(page.locator("header.top")).to_be_hidden()
    expect(page.locator("button[data-print]")).to_be_hidden()
    expect(page.locator('#drawing [data-code="temple-r"]')).to_have_attribute("data-i", "6")
    expect(page.locator("#drawing [data-testid=choir-attribution]")).to_be_visible()
    fill = page.evaluate("getComputedStyle(document.querySelector('#drawing [data-code=\"temple-r\"]')).fill")
    assert fill == "rgb(252, 78, 42)"
