"""A clinic admin's first sign-in in a real browser: password, setting up an authenticator app from the QR
page, the recovery codes, then the next sign-in with a code from the app."""

from __future__ import annotations

import pyotp
import pytest

from needlepoint.accounts.models import TotpDevice
from tests.browser.conftest import sign_in
from tests.conftest import PASSWORD, make_member


@pytest.fixture
def admin(clinic):
    return make_member(clinic, "adam", "clinic_admin")


def test_an_admin_sets_up_an_app_and_then_signs_in_with_its_code(page, admin) -> None:
    sign_in(page, "adam", PASSWORD)

    assert page.url.endswith("/login/enrol/")
    assert page.locator("[data-testid=totp-qr] svg").is_visible()
    secret = page.locator("[data-testid=totp-secret]").inner_text()
    page.fill("#code", pyotp.TOTP(secret).now())
    page.click("button[type=submit]")
    assert page.locator("[data-testid=recovery-codes] li").count() == 10
    page.click("text=I have kept them: continue")
    page.wait_for_load_state("networkidle")
    assert page.locator("text=Sign out").is_visible()

    page.click("text=Sign out")
    page.wait_for_load_state("networkidle")
    # A fresh step, so the code used to confirm the app is not taken as a replay.
    TotpDevice.objects.filter(user=admin.user).update(last_used_step=0)
    sign_in(page, "adam", PASSWORD)
    assert page.url.endswith("/login/code/")
    page.fill("#code", pyotp.TOTP(secret).now())
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")

    assert page.locator("text=Sign out").is_visible()
    assert "Staff" in page.locator("header").inner_text()
