"""Two-factor sign-in (issue 11, part 5): authenticator-app codes and recovery codes, required of clinic admins
and, by clinic policy, of everyone; enrolment, an admin's reset, and the audit trail."""

from __future__ import annotations

import re
import time

import pyotp
from django.test import Client
from django.utils import timezone

from needlepoint.accounts.models import AuditEntry, Clinic, RecoveryCode, TotpDevice
from needlepoint.accounts.two_factor import new_recovery_codes
from tests.conftest import PASSWORD, client_for


def password_step(client: Client, username: str, **extra):
    return client.post("/login/", {"username": username, "password": PASSWORD, **extra}, REMOTE_ADDR="198.51.100.7")


def signed_in(client: Client) -> bool:
    return client.get("/patients/").status_code == 200


def enrolled(membership) -> str:
    secret = pyotp.random_base32(32)
    TotpDevice.objects.create(user=membership.user, secret=secret, confirmed_at=timezone.now())
    return secret


def test_a_clinic_admin_without_an_app_must_set_one_up_before_signing_in(clinic_admin) -> None:
    client = Client()

    response = password_step(client, "adam")

    assert response["Location"] == "/login/enrol/"
    assert not signed_in(client)
    page = client.get("/login/enrol/").content.decode()
    assert "<svg" in page
    secret = re.search(r'data-testid="totp-secret">([A-Z2-7]+)<', page).group(1)

    wrong = client.post("/login/enrol/", {"code": "123456" if pyotp.TOTP(secret).now() != "123456" else "654321"})
    assert wrong.status_code == 401
    assert not signed_in(client)

    done = client.post("/login/enrol/", {"code": pyotp.TOTP(secret).now()})

    assert done.status_code == 200
    codes = re.findall(r"<li><code>([0-9a-f]{6}-[0-9a-f]{6})</code></li>", done.content.decode())
    assert len(codes) == 10
    assert signed_in(client)
    assert TotpDevice.objects.get(user=clinic_admin.user).confirmed_at is not None
    assert AuditEntry.objects.filter(action="create", summary="user adam set up an authenticator app").exists()
    assert AuditEntry.objects.get(action="login").summary == "signed in as adam with a newly set up authenticator app"


def test_a_clinician_signs_in_with_a_password_alone_when_only_admins_need_an_app(clinician) -> None:
    client = Client()

    assert password_step(client, "alice")["Location"] == "/"
    assert signed_in(client)


def test_a_clinic_requiring_it_of_everyone_sends_a_clinician_to_set_up_an_app(clinician) -> None:
    Clinic.objects.filter(pk=clinician.clinic_id).update(two_factor_policy="everyone")
    client = Client()

    assert password_step(client, "alice")["Location"] == "/login/enrol/"
    assert not signed_in(client)


def test_the_demo_clinic_asks_its_admin_for_no_second_factor(clinic_admin) -> None:
    Clinic.objects.filter(pk=clinic_admin.clinic_id).update(two_factor_policy="demo_not_required")
    client = Client()

    assert password_step(client, "adam")["Location"] == "/"
    assert signed_in(client)


def test_a_user_with_an_app_gives_its_code_after_the_password_and_a_code_works_once(clinician) -> None:
    secret = enrolled(clinician)
    client = Client()

    assert password_step(client, "alice")["Location"] == "/login/code/"
    assert not signed_in(client)
    wrong = client.post("/login/code/", {"code": "000000" if pyotp.TOTP(secret).now() != "000000" else "111111"})
    assert wrong.status_code == 401
    assert AuditEntry.objects.filter(action="login_failed", summary="wrong second-factor code: alice").exists()
    code = pyotp.TOTP(secret).now()

    assert client.post("/login/code/", {"code": code})["Location"] == "/"
    assert signed_in(client)

    # The same code, watched over a shoulder, does not sign anyone in again.
    other = Client()
    password_step(other, "alice")
    assert other.post("/login/code/", {"code": code}).status_code == 401
    assert not signed_in(other)


def test_a_recovery_code_signs_in_once(clinician) -> None:
    enrolled(clinician)
    code = new_recovery_codes(clinician.user)[0]
    first, second = Client(), Client()

    password_step(first, "alice")
    assert first.post("/login/code/", {"code": code.upper()})["Location"] == "/"
    password_step(second, "alice")
    assert second.post("/login/code/", {"code": code}).status_code == 401
    assert AuditEntry.objects.filter(action="login", summary="signed in as alice with recovery code").count() == 1


def test_the_second_step_expires(clinician) -> None:
    secret = enrolled(clinician)
    client = Client()
    password_step(client, "alice")
    session = client.session
    session["signin_pending"]["since"] = time.time() - 301
    session.save()

    response = client.post("/login/code/", {"code": pyotp.TOTP(secret).now()})

    assert response["Location"] == "/login/"
    assert not signed_in(client)


def test_the_code_step_alone_cannot_be_reached_without_the_password(clinician) -> None:
    secret = enrolled(clinician)
    client = Client()

    assert client.post("/login/code/", {"code": pyotp.TOTP(secret).now()})["Location"] == "/login/"
    assert not signed_in(client)


def test_a_user_sets_up_an_app_on_their_own_page_and_makes_new_recovery_codes(clinician) -> None:
    client = client_for(clinician)
    page = client.get("/account/security/").content.decode()
    secret = re.search(r'data-testid="totp-secret">([A-Z2-7]+)<', page).group(1)

    done = client.post("/account/security/", {"step": "confirm_app", "code": pyotp.TOTP(secret).now()})

    assert "Recovery codes." in done.content.decode()
    old_codes = list(RecoveryCode.objects.filter(user=clinician.user).values_list("code_hash", flat=True))
    TotpDevice.objects.filter(user=clinician.user).update(last_used_step=0)
    client.post("/account/security/", {"step": "new_codes", "code": pyotp.TOTP(secret).now()})
    assert RecoveryCode.objects.filter(user=clinician.user, used_at__isnull=True).count() == 10
    assert not RecoveryCode.objects.filter(code_hash__in=old_codes, used_at__isnull=True).exists()


def test_an_admin_resets_a_lost_app_and_the_user_sets_up_a_new_one(clinic_admin, clinician) -> None:
    enrolled(clinician)
    new_recovery_codes(clinician.user)
    Clinic.objects.filter(pk=clinician.clinic_id).update(two_factor_policy="everyone")

    client_for(clinic_admin).post("/staff/", {"do": "reset_two_factor", "member": clinician.pk})

    assert not TotpDevice.objects.filter(user=clinician.user).exists()
    assert not RecoveryCode.objects.filter(user=clinician.user, used_at__isnull=True).exists()
    assert AuditEntry.objects.filter(summary="two-factor sign-in of alice reset", user=clinic_admin.user).exists()
    assert password_step(Client(), "alice")["Location"] == "/login/enrol/"


def test_an_admin_cannot_reset_another_clinics_member(clinic_admin, outsider) -> None:
    enrolled(outsider)

    response = client_for(clinic_admin).post("/staff/", {"do": "reset_two_factor", "member": outsider.pk}, follow=True)

    assert "No such member of staff." in response.content.decode()
    assert TotpDevice.objects.filter(user=outsider.user).exists()


def test_only_a_clinic_admin_sets_the_policy_and_never_to_not_required(clinic_admin, clinician) -> None:
    admin = client_for(clinic_admin)

    admin.post("/staff/", {"policy": "everyone"})
    assert Clinic.objects.get(pk=clinic_admin.clinic_id).two_factor_policy == "everyone"
    admin.post("/staff/", {"policy": "demo_not_required"})
    assert Clinic.objects.get(pk=clinic_admin.clinic_id).two_factor_policy == "everyone"
    assert client_for(clinician).post("/staff/", {"policy": "admins"}).status_code == 403
    assert Clinic.objects.get(pk=clinic_admin.clinic_id).two_factor_policy == "everyone"


def test_the_codes_match_the_test_vectors_of_rfc_6238() -> None:
    """RFC 6238 Appendix B, SHA-1, 8 digits, secret "12345678901234567890" (the library we rely on)."""
    import base64

    totp = pyotp.TOTP(base64.b32encode(b"12345678901234567890").decode(), digits=8)

    assert [totp.at(t) for t in (59, 1111111109, 1111111111, 1234567890, 2000000000, 20000000000)] == [
        "94287082",
        "07081804",
        "14050471",
        "89005924",
        "69279037",
        "65353130",
    ]


def test_a_code_given_with_the_password_signs_in_in_one_step(clinician) -> None:
    """The in-place sign-in dialog of an expired session sends the code with the password."""
    secret = enrolled(clinician)
    client, wrong = Client(), Client()

    refused = password_step(wrong, "alice", code="000000" if pyotp.TOTP(secret).now() != "000000" else "111111")
    response = password_step(client, "alice", code=pyotp.TOTP(secret).now(), next="/session/")

    assert refused.status_code == 401 and not signed_in(wrong)
    assert response["Location"] == "/session/"
    assert client.get("/session/").json()["authenticated"]
