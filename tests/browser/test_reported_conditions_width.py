"""The conditions another record reported fit the chart and the screening pages on a phone, a tablet and a
desktop, and so does the page of the records the import kept as received (the demo clinic has none, so a Synthea
patient is imported into it)."""

from __future__ import annotations

import pytest

from needlepoint.accounts.models import Membership
from needlepoint.demo import DEMO_PASSWORD, build_demo
from needlepoint.fhir.importer import import_bundle
from needlepoint.patients.models import Screening
from tests.browser.conftest import sign_in
from tests.browser.test_page_widths import DESKTOP, PHONE, SETTLED_WIDTH, TABLET, WIDE_ELEMENTS
from tests.conftest import clear_for_needling
from tests.fhir.conftest import synthea_bundle, synthea_files

pytestmark = pytest.mark.browser


@pytest.mark.django_db(transaction=True)
def test_reported_conditions_fit_every_width(browser, live_server) -> None:
    build_demo(3, seed=1)
    clinician = Membership.objects.get(user__username="pt")
    [path] = [p for p in synthea_files() if p.name.startswith("Renea_Quigley")]  # 16 Conditions
    patient = import_bundle(clinician, synthea_bundle(path)).patient
    clear_for_needling(clinician, patient)
    screening = Screening.objects.get(patient=patient)
    paths = [
        f"/patients/{patient.pk}/",
        f"/patients/{patient.pk}/screening/new/",
        f"/patients/{patient.pk}/screening/{screening.pk}/",
    ]
    received = f"/patients/{patient.pk}/received-records/"  # the records the import kept, 50 a page
    too_wide = []
    for viewport in (PHONE, TABLET, DESKTOP):
        context = browser.new_context(viewport=viewport, is_mobile=viewport["width"] < 500, base_url=live_server.url)
        context.set_default_navigation_timeout(30_000)
        page = context.new_page()
        sign_in(page, "pt", DEMO_PASSWORD)
        for url in [*paths, received]:
            response = page.goto(url)
            assert response is not None and response.status == 200, url
            if url == received:
                assert page.locator("[data-testid=received-record]").count() > 0, url
            else:
                assert page.locator("[data-testid=reported-conditions]").count() == 1, url
            width = page.evaluate(SETTLED_WIDTH)
            if width > viewport["width"]:
                too_wide.append((viewport["width"], url, width, page.evaluate(WIDE_ELEMENTS, viewport["width"])))
        context.close()
    assert too_wide == []
