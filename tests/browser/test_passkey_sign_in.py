"""A passkey in a real browser: added on "Password & sign-in" with Chromium's virtual authenticator (the
DevTools WebAuthn domain, a real CTAP2 authenticator in software), then used as the second sign-in step."""

from __future__ import annotations

from playwright.sync_api import expect

from needlepoint.accounts.models import AuditEntry, Passkey
from tests.browser.conftest import sign_in
from tests.conftest import PASSWORD


def test_a_clinician_adds_a_passkey_and_signs_in_with_it(page, clinician) -> None:
    sign_in(page, "alice", PASSWORD)
    devtools = page.context.new_cdp_session(page)
    devtools.send("WebAuthn.enable")
    devtools.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
            }
        },
    )
    page.goto("/account/security/")
    page.fill("#passkey-name", "clinic laptop")
    page.click("text=Add a passkey")
    # The page is already at /account/security/: waiting for the URL returned before the script had reloaded it.
    expect(page.locator("text=Passkey clinic laptop added.")).to_be_visible()
    assert Passkey.objects.get(user=clinician.user).name == "clinic laptop"

    page.click("text=Sign out")
    page.wait_for_load_state("networkidle")
    sign_in(page, "alice", PASSWORD)
    assert page.url.endswith("/login/code/")
    page.click("text=Use a passkey")
    page.wait_for_url(lambda url: not url.endswith("/login/code/"))
    expect(page.locator("text=Sign out")).to_be_visible()
    assert AuditEntry.objects.filter(action="login", summary="signed in as alice with passkey").exists()
