"""Every main page fits a 360 px phone and a 768 px tablet without sideways scrolling.

The demo clinic supplies real records for each page (an unsigned visit with needling entries, a signed visit,
assessments with pain drawings, appointments, a needle-stick report); each page is opened by a role that may see it.
"""

from __future__ import annotations

from datetime import date

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from needlepoint.accounts.models import Membership
from needlepoint.demo import DEMO_PASSWORD, build_demo
from needlepoint.patients import actions as patient_actions
from tests.browser.conftest import CSP_VIOLATIONS, sign_in
from tests.visits.visit_helpers import add

# The outermost elements that reach past the right edge of the screen, outside any frame that scrolls on its own:
# named in a failure so that it says what to fix.
WIDE_ELEMENTS = """(limit) => {
  const inScrollingFrame = (node) => {
    for (let up = node.parentElement; up; up = up.parentElement) {
      if (getComputedStyle(up).overflowX !== 'visible') return true;
    }
    return false;
  };
  const found = [];
  for (const node of document.querySelectorAll('body *')) {
    const box = node.getBoundingClientRect();
    if (box.width > 0 && box.right > limit + 1 && !inScrollingFrame(node)
        && node.parentElement.getBoundingClientRect().right <= limit + 1) {
      found.push(`${node.tagName.toLowerCase()}.${node.className} ${Math.round(box.left)}-${Math.round(box.right)}`);
    }
  }
  return found.slice(0, 5);
}"""

# The page's width once fonts are in and two frames have been laid out.
SETTLED_WIDTH = """async () => {
  await document.fonts.ready;
  await new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)));
  return document.documentElement.scrollWidth;
}"""

PHONE = {"width": 360, "height": 740}
TABLET = {"width": 768, "height": 1024}
DESKTOP = {"width": 1280, "height": 800}


def main_pages() -> dict[str, list[str]]:
    """The main pages of each demo role, as paths built from the demo clinic's own records."""
    from needlepoint.atlas.models import Assessment
    from needlepoint.patients.models import Consent, Patient, Screening
    from needlepoint.scheduling.models import Appointment
    from needlepoint.visits.models import NeedleStickIncident, Visit

    unsigned = Visit.objects.filter(signed_at__isnull=True, needling_entries__isnull=False).distinct().first()
    signed = Visit.objects.filter(signed_at__isnull=False, needling_entries__isnull=False).distinct().first()
    assessment = Assessment.objects.order_by("pk").first()
    episode = signed.episode
    patient = episode.patient
    screening = Screening.objects.filter(patient=patient).first() or Screening.objects.first()
    consent_patient = Consent.objects.first().patient
    appointment = Appointment.objects.order_by("pk").first()
    incident = NeedleStickIncident.objects.order_by("pk").first()
    clinician = Membership.objects.get(user__username="pt")
    deceased = Patient.objects.filter(deceased=True).first()
    common_clinical = [
        "/",
        "/patients/",
        f"/patients/{patient.pk}/",
        f"/patients/{patient.pk}/screening/new/",
        f"/patients/{screening.patient_id}/screening/{screening.pk}/",
        f"/patients/{consent_patient.pk}/consent/new/",
        f"/patients/{patient.pk}/episodes/{episode.pk}/",
        f"/atlas/episodes/{assessment.episode_id}/assessments/new/",
        f"/atlas/assessments/{assessment.pk}/",
        f"/visits/{signed.pk}/",
        f"/visits/{signed.pk}/after-care/",
        f"/patients/{patient.pk}/episodes/{episode.pk}/outcomes/",
        "/atlas/",
        "/atlas/muscles/upper-trapezius/",
        "/references/",
        "/needle-sticks/",
        f"/needle-sticks/{incident.pk}/",
        "/visits/unsigned/",
        "/outcomes/reassessments-overdue/",
        "/schedule/",
        f"/schedule/clinicians/{clinician.pk}/",
        f"/schedule/clinicians/{clinician.pk}/?view=week",
        f"/appointments/{appointment.pk}/",
    ]
    return {
        unsigned.clinician.user.username: [f"/visits/{unsigned.pk}/"],
        "pt": common_clinical,
        "desk": [
            "/patients/",
            f"/patients/{patient.pk}/",
            f"/patients/{consent_patient.pk}/consent/new/",
            f"/patients/{patient.pk}/death/",
            f"/patients/{deceased.pk}/",
            f"/patients/{deceased.pk}/death/withdraw/",
            "/schedule/",
            f"/schedule/clinicians/{clinician.pk}/?view=week",
            f"/appointments/{appointment.pk}/",
            "/schedule/book/",
            f"/schedule/book/?patient={appointment.patient_id}",  # the proposal, quick choices and free times
        ],
        "admin": ["/", "/insights/", "/audit/", "/staff/", "/patients/"],
    }


def build_clinic() -> None:
    """The demo clinic the pages are walked over, with a patient recorded as deceased (the chart's notice and the
    withdrawal page)."""
    build_demo(30, seed=1)
    desk = Membership.objects.get(user__username="desk")
    data = {"given_name": "Maximiliana", "family_name": "Vandenberghe-Oyelaran", "date_of_birth": date(1941, 6, 30)}
    patient = patient_actions.register_patient(desk, data, confirm_duplicate=True)
    patient_actions.record_death(desk, patient.pk, date(2026, 1, 12), patient.version)


@pytest.fixture
def demo_clinic(db) -> None:
    build_clinic()


TooWide = list[tuple[str, str, int, list[str]]]  # (role, path, scrollWidth, the outermost wide elements)


def widths_at(browser, live_server, viewports: dict[str, dict[str, int]]) -> dict[str, TooWide]:
    """Open every main page at each of ``viewports``, side by side (one browser context per viewport, signed in as
    the page's role, each page opened afresh in each); returns, per viewport, (role, path, scrollWidth, wide
    elements) for each page wider than the screen."""
    too_wide: dict[str, TooWide] = {name: [] for name in viewports}
    for username, paths in main_pages().items():
        contexts, pages = [], {}
        for name, viewport in viewports.items():
            context = browser.new_context(
                viewport=viewport, is_mobile=viewport["width"] < 500, has_touch=True, base_url=live_server.url
            )
            context.set_default_timeout(15_000)
            context.set_default_navigation_timeout(30_000)  # the first page of a cold live server, on a loaded machine
            contexts.append(context)
            pages[name] = context.new_page()
            sign_in(pages[name], username, DEMO_PASSWORD)
        for path in paths:
            # The page is opened at every viewport before any is waited on: their half-second waits for a quiet
            # network overlap instead of following one another.
            for page in pages.values():
                response = page.goto(path)
                status = response and response.status
                assert response is not None and response.status == 200, f"{username} {path}: {status}"
            for name, page in pages.items():
                limit = viewports[name]["width"]
                page.wait_for_load_state("networkidle")
                width = page.evaluate(SETTLED_WIDTH)
                if width > limit:
                    # Under a loaded machine a phone's layout viewport has been seen wider than the screen for a
                    # moment while the page settles; a page that really overflows is still too wide a second later.
                    page.wait_for_timeout(1000)
                    width = page.evaluate(SETTLED_WIDTH)
                if width > limit:
                    too_wide[name].append((username, path, width, page.evaluate(WIDE_ELEMENTS, limit)))
        for context in contexts:
            context.close()
    return too_wide


@pytest.fixture(scope="module")
def walk(browser, live_server, requests_in_flight, django_db_setup, django_db_blocker):
    """One walk of every main page at the three widths, over one demo clinic built for it: per width, the pages
    too wide; and the Content-Security-Policy refusals seen. The width tests use the live server, so each is a
    transactional test whose flush would empty a clinic shared between them: the walk is done here, once, and the
    database emptied after it as such a test's flush empties it."""
    with django_db_blocker.unblock():
        try:
            build_clinic()
            too_wide = widths_at(browser, live_server, {"phone": PHONE, "tablet": TABLET, "desktop": DESKTOP})
        finally:
            requests_in_flight.wait_until_idle()  # the closed pages' last requests, before the flush
            call_command("flush", verbosity=0, interactive=False, reset_sequences=False)
    refusals = list(CSP_VIOLATIONS)  # taken before each test's own watch clears the list
    CSP_VIOLATIONS.clear()
    return too_wide, refusals


def too_wide_at(walk, width: str) -> TooWide:
    """The pages too wide at ``width``; a refusal the walk saw fails each width's test, as the browser tests'
    Content-Security-Policy watch fails the test that saw it."""
    too_wide, refusals = walk
    CSP_VIOLATIONS.extend(refusals)
    return too_wide[width]


def test_no_main_page_scrolls_sideways_on_a_360_px_phone(walk) -> None:
    assert too_wide_at(walk, "phone") == []


def test_no_main_page_scrolls_sideways_on_a_768_px_tablet(walk) -> None:
    assert too_wide_at(walk, "tablet") == []


def test_no_main_page_scrolls_sideways_on_a_1280_px_desktop(walk) -> None:
    # The atlas's list of muscles not yet in it once pushed the page to 1,424 px here while phones were fine.
    assert too_wide_at(walk, "desktop") == []


def test_on_a_phone_each_needling_entry_is_a_card_with_its_remove_button_in_reach(
    browser, live_server, demo_clinic
) -> None:
    from needlepoint.visits.models import Visit

    visit = Visit.objects.filter(signed_at__isnull=True, needling_entries__isnull=False).distinct().first()
    # One more entry, of a low-hazard muscle, that can be removed without unbalancing the recorded needle counts.
    add(visit.clinician, visit)
    entries = visit.needling_entries.count()
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, base_url=live_server.url)
    context.set_default_timeout(15_000)
    page = context.new_page()
    sign_in(page, visit.clinician.user.username, DEMO_PASSWORD)
    page.goto(f"/visits/{visit.pk}/")
    rows = page.locator("[data-testid=needling-row]")
    assert rows.count() == entries >= 2
    first, second = rows.nth(0).bounding_box(), rows.nth(1).bounding_box()
    assert first and second and second["y"] >= first["y"] + first["height"]  # one under the other
    assert first["x"] >= 0 and first["x"] + first["width"] <= PHONE["width"]
    assert "Muscle" in rows.first.evaluate("row => getComputedStyle(row.cells[0], '::before').content")
    remove = rows.last.locator("button:has-text('Remove')")
    box = remove.bounding_box()
    assert box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"] and box["height"] >= 44
    remove.tap()
    expect(page.locator("[data-testid=needling-row]")).to_have_count(entries - 1)
    assert visit.needling_entries.count() == entries - 1
    context.close()
