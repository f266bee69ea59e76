"""The clinic owner opens the benefit-claims report in a real browser, filters it by condition and downloads
the PDF."""

from __future__ import annotations

from datetime import date

import pytest

from needlepoint.accounts.models import Clinic, Membership
from needlepoint.insights.synthetic import SYNTHETIC_ADMIN_PASSWORD, generate
from tests.browser.conftest import sign_in


@pytest.fixture
def synthetic_admin(db) -> Membership:
    generate(1, 300, seed=23, end_date=date(2026, 6, 30))
    return Membership.objects.get(clinic=Clinic.objects.get(slug="synth-s23-1"), role="clinic_admin")


def test_the_owner_filters_the_claims_report_by_condition_and_downloads_the_pdf(page, synthetic_admin) -> None:
    sign_in(page, synthetic_admin.user.username, SYNTHETIC_ADMIN_PASSWORD)
    page.click("nav >> text=Evidence")
    page.wait_for_url("**/insights/")
    assert "Evidence: what this clinic's data show" in page.inner_text("h1")
    all_conditions = page.locator("section.verdicts").count()
    assert all_conditions > 1
    assert page.locator("svg[role=img]").count() >= 3

    page.select_option("#condition", "low_back_pain")
    page.select_option("#missing", "completers")
    page.click("button:has-text('Show report')")
    page.wait_for_url("**/insights/?*condition=low_back_pain*")
    sections = page.locator("section.verdicts")
    assert sections.count() == 1
    assert sections.first.get_attribute("data-condition") == "low_back_pain"
    summary = page.inner_text("#summary")
    assert "Condition Low back pain" in summary and "left out (completers only)" in summary
    for claim in ("relief", "rom", "recovery"):
        verdict = sections.first.locator(f"[data-claim={claim}]")
        assert verdict.get_attribute("data-status") in ("consistent", "not_consistent", "not_enough_data")
        assert "95% CI" in verdict.inner_text() or "Not enough data" in verdict.inner_text()
    assert "were not randomised" in page.inner_text("main")

    # The PDF of a whole synthetic clinic is drawn on request; on a loaded machine it takes longer than a click's wait.
    with page.expect_download(timeout=60_000) as download_info:
        page.click("#pdf-link", no_wait_after=True)
    download = download_info.value
    assert download.suggested_filename.startswith("claims-report-") and download.suggested_filename.endswith(".pdf")
    path = download.path()
    assert path is not None
    with open(path, "rb") as handle:
        content = handle.read()
    assert content.startswith(b"%PDF") and len(content) > 10_000
