"""The browser suite runs under the Content-Security-Policy and fails on any refusal (conftest.py); this proves the
watch can fail, and that pages with scripts, plots and the API docs work under the policy."""

from __future__ import annotations

from tests.browser import conftest
from tests.browser.conftest import sign_in
from tests.conftest import PASSWORD


def test_a_refused_inline_style_is_caught(page, clinician) -> None:
    sign_in(page, "alice", PASSWORD)
    page.goto("/patients/")

    page.evaluate("document.body.setAttribute('style', 'color: red')")
    page.wait_for_timeout(200)

    assert any("inline style" in v for v in conftest.CSP_VIOLATIONS), conftest.CSP_VIOLATIONS
    conftest.CSP_VIOLATIONS.clear()  # caught as it should be: this test passes


def test_the_api_docs_work_under_the_policy(page, clinician) -> None:
    sign_in(page, "alice", PASSWORD)

    page.goto("/api/v1/docs")

    page.wait_for_selector(".swagger-ui .opblock", timeout=20_000)
    assert page.locator(".swagger-ui .opblock").count() > 10
