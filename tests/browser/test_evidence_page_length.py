"""The evidence page opens on its summary: one line per condition with its three verdicts, every table and plot
folded below, everything unfolded on paper.

The bound on its height: the fixed part of the page (header, filters, the scope summary, the caveat and nine folded
sections of figures) measured 1,700 px at 1280 x 900 and each folded condition about 120 px, so the page must be at
most 1,800 + 130 px per condition, about three screens for the nine conditions of the synthetic clinic. Before the
folding the same page measured 22,447 px (the issue reports 16,000 px for the demo clinic).
"""

from __future__ import annotations

from datetime import date

import pytest

from needlepoint.accounts.models import Clinic, Membership
from needlepoint.insights.synthetic import SYNTHETIC_ADMIN_PASSWORD, generate
from tests.browser.conftest import sign_in

FIXED_PART_PX = 1800
PER_CONDITION_PX = 130


@pytest.fixture
def synthetic_admin(db) -> Membership:
    generate(1, 300, seed=23, end_date=date(2026, 6, 30))
    return Membership.objects.get(clinic=Clinic.objects.get(slug="synth-s23-1"), role="clinic_admin")


def test_the_evidence_page_is_a_summary_with_folded_details_that_print_unfolded(page, synthetic_admin) -> None:
    sign_in(page, synthetic_admin.user.username, SYNTHETIC_ADMIN_PASSWORD)
    page.goto("/insights/")
    conditions = page.locator("section.verdicts").count()
    assert conditions >= 5
    height = page.evaluate("document.documentElement.scrollHeight")
    assert height <= FIXED_PART_PX + PER_CONDITION_PX * conditions, height

    # Each condition's summary line shows its three verdicts while the figures stay folded.
    first = page.locator("section.verdicts").first
    assert first.locator("summary .badge").count() == 3
    assert not first.locator("details.fold").evaluate("node => node.open")
    assert not first.locator("[data-claim=relief]").is_visible()
    first.locator("summary").first.click()
    assert first.locator("[data-claim=relief]").is_visible()

    # Printing opens every fold, and the screen folds them again afterwards.
    closed = page.evaluate("document.querySelectorAll('main details:not([open])').length")
    assert closed > 10
    page.evaluate("window.dispatchEvent(new Event('beforeprint'))")
    assert page.evaluate("document.querySelectorAll('main details:not([open])').length") == 0
    assert page.locator("#measures").is_visible() and page.locator("#method li").first.is_visible()
    page.evaluate("window.dispatchEvent(new Event('afterprint'))")
    assert page.evaluate("document.querySelectorAll('main details:not([open])').length") == closed
    assert first.locator("[data-claim=relief]").is_visible()  # opened by hand before printing, still open


def test_one_condition_opens_its_verdicts(page, synthetic_admin) -> None:
    sign_in(page, synthetic_admin.user.username, SYNTHETIC_ADMIN_PASSWORD)
    page.goto("/insights/?condition=low_back_pain")
    section = page.locator("section.verdicts")
    assert section.count() == 1
    assert section.locator("[data-claim=relief]").is_visible()
