"""Account life-cycle (issue 11, finding 8 and part 6): deactivation that takes effect at once and keeps the
history, password change, an admin's one-time reset link, a password policy that refuses common and contextual
passwords, and API tokens with an expiry that an admin can revoke."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from needlepoint.accounts.actions import create_api_token, create_user
from needlepoint.accounts.models import ApiToken, AuditEntry, Membership, User
from tests.conftest import PASSWORD, client_for

NEW_PASSWORD = "plum-orchard-lantern-47"


def signed_in(client: Client) -> bool:
    return client.get("/patients/").status_code == 200


def bearer(raw: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


# Deactivation


def test_deactivating_ends_the_persons_sessions_and_tokens_at_once_and_keeps_their_history(
    clinic_admin, clinician
) -> None:
    their_browser = client_for(clinician)
    _, raw = create_api_token(clinician, "scanner")
    assert signed_in(their_browser) and bearer(raw).get("/api/v1/me").status_code == 200

    client_for(clinic_admin).post("/staff/", {"do": "deactivate", "member": clinician.pk})

    assert not signed_in(their_browser)
    assert bearer(raw).get("/api/v1/me").status_code == 401
    assert Client().post("/login/", {"username": "alice", "password": PASSWORD}).status_code == 401
    clinician.refresh_from_db()
    assert not clinician.is_active and not clinician.user.is_active
    assert User.objects.filter(username="alice").exists()
    assert AuditEntry.objects.filter(summary="user alice deactivated", user=clinic_admin.user).exists()


def test_reactivating_gives_the_role_back(clinic_admin, clinician) -> None:
    admin = client_for(clinic_admin)
    admin.post("/staff/", {"do": "deactivate", "member": clinician.pk})

    admin.post("/staff/", {"do": "reactivate", "member": clinician.pk})

    assert Client().post("/login/", {"username": "alice", "password": PASSWORD}).status_code == 302
    assert AuditEntry.objects.filter(summary="user alice reactivated").exists()


def test_an_admin_cannot_deactivate_themselves_or_another_clinics_member(clinic_admin, outsider) -> None:
    admin = client_for(clinic_admin)

    itself = admin.post("/staff/", {"do": "deactivate", "member": clinic_admin.pk}, follow=True)
    other = admin.post("/staff/", {"do": "deactivate", "member": outsider.pk}, follow=True)

    assert "You cannot deactivate yourself" in itself.content.decode()
    assert "No such member of staff." in other.content.decode()
    assert Membership.objects.filter(pk__in=[clinic_admin.pk, outsider.pk], is_active=True).count() == 2


def test_someone_in_two_clinics_keeps_the_other_clinic(clinic_admin, clinician, other_clinic) -> None:
    Membership.objects.create(user=clinician.user, clinic=other_clinic, role="clinician", profession="chiropractor")
    their_browser = client_for(clinician)

    client_for(clinic_admin).post("/staff/", {"do": "deactivate", "member": clinician.pk})

    assert signed_in(their_browser)
    assert "Other Clinic" in their_browser.get("/patients/").content.decode()


def test_front_desk_cannot_deactivate_anyone(front_desk, clinician) -> None:
    assert client_for(front_desk).post("/staff/", {"do": "deactivate", "member": clinician.pk}).status_code == 403
    assert Membership.objects.get(pk=clinician.pk).is_active


# Passwords


def test_a_user_changes_their_password_and_their_other_sessions_end(clinician) -> None:
    here, elsewhere = client_for(clinician), Client()
    elsewhere.post("/login/", {"username": "alice", "password": PASSWORD})
    assert signed_in(elsewhere)

    wrong_old = here.post(
        "/account/security/",
        {"step": "password", "old_password": "nope", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert "The current password is not right." in wrong_old.content.decode()
    here.post(
        "/account/security/",
        {"step": "password", "old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )

    assert signed_in(here)
    assert not signed_in(elsewhere)
    assert User.objects.get(username="alice").check_password(NEW_PASSWORD)
    assert AuditEntry.objects.filter(summary="user alice changed their password").exists()


def reset_link(admin_client: Client, member: Membership) -> str:
    page = admin_client.post("/staff/", {"do": "reset_link", "member": member.pk}, follow=True).content.decode()
    return re.search(r"http://testserver(/password-reset/[^/]+/[^/]+/)", page).group(1)


def test_an_admins_reset_link_sets_a_password_once(clinic_admin, clinician) -> None:
    path = reset_link(client_for(clinic_admin), clinician)
    stranger = Client()
    assert stranger.get(path).status_code == 200

    weak = stranger.post(path, {"new_password1": "needlepoint", "new_password2": "needlepoint"})
    assert weak.status_code == 400
    done = stranger.post(path, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})

    assert done["Location"] == "/login/"
    assert Client().post("/login/", {"username": "alice", "password": NEW_PASSWORD}).status_code == 302
    assert Client().post("/login/", {"username": "alice", "password": PASSWORD}).status_code == 401
    assert stranger.get(path).status_code == 404
    again = stranger.post(path, {"new_password1": "another-fine-phrase-9", "new_password2": "another-fine-phrase-9"})
    assert again.status_code == 404
    assert AuditEntry.objects.filter(summary="password reset link made for alice", user=clinic_admin.user).exists()
    assert AuditEntry.objects.filter(summary="user alice set a password by reset link").exists()


def test_a_made_up_reset_link_is_refused(clinician) -> None:
    assert Client().get("/password-reset/MQ/abc-123/").status_code == 404
    assert Client().get("/password-reset/%FF%FE/abc/").status_code == 404


@pytest.mark.parametrize(
    "password",
    [
        "needlepoint",
        "Summer2026!",
        "zzzzzzzzzzzz",
        "Needlepoint2026!",
        "TestClinic2026",
        "alice-2026-alice",
        "winter-2027#",
    ],
)
def test_the_password_policy_refuses_common_and_contextual_passwords(clinic, password) -> None:
    with pytest.raises(ValidationError):
        create_user(clinic, "alice", password, "front_desk", first_name="Alice", last_name="Moreau")
    assert not User.objects.filter(username="alice").exists()


def test_the_password_policy_accepts_a_long_unrelated_passphrase(clinic) -> None:
    validate_password(NEW_PASSWORD, User(username="alice", first_name="Alice"))
    create_user(clinic, "alice", NEW_PASSWORD, "front_desk")


def test_the_staff_api_refuses_a_weak_password_with_a_clear_message(clinic_admin) -> None:
    response = client_for(clinic_admin).post(
        "/api/v1/staff",
        {"username": "newdesk", "password": "Summer2026!", "role": "front_desk"},
        content_type="application/json",
    )

    assert response.status_code in (400, 422)
    assert "season" in response.content.decode()
    assert not User.objects.filter(username="newdesk").exists()


# API tokens


def test_a_token_expires_after_the_default_lifetime(clinician, settings) -> None:
    token, raw = create_api_token(clinician, "scanner")

    assert timedelta(days=settings.API_TOKEN_DEFAULT_DAYS - 1) < token.expires_at - timezone.now()
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert bearer(raw).get("/api/v1/me").status_code == 401


def test_a_token_lifetime_beyond_the_maximum_is_refused(clinician, settings) -> None:
    client = client_for(clinician)

    too_long = client.post(
        "/api/v1/tokens", {"name": "forever", "days": settings.API_TOKEN_MAX_DAYS + 1}, content_type="application/json"
    )
    one_week = client.post("/api/v1/tokens", {"name": "a week", "days": 7}, content_type="application/json")

    assert too_long.status_code in (400, 422)
    assert f"between 1 and {settings.API_TOKEN_MAX_DAYS} days" in too_long.content.decode()
    assert one_week.status_code == 201
    assert ApiToken.objects.get().name == "a week"


def test_an_admin_revokes_a_staff_members_token(clinic_admin, clinician) -> None:
    token, raw = create_api_token(clinician, "scanner")
    admin = client_for(clinic_admin)
    assert "scanner" in admin.get("/staff/").content.decode()

    admin.post("/staff/", {"revoke_token": token.pk})

    assert bearer(raw).get("/api/v1/me").status_code == 401
    token.refresh_from_db()
    assert token.revoked_by == clinic_admin.user
    assert AuditEntry.objects.filter(summary="API token scanner of alice revoked", user=clinic_admin.user).exists()


def test_an_admin_revokes_through_the_api_but_a_colleague_cannot(clinic_admin, clinician, colleague) -> None:
    token, _ = create_api_token(clinician, "scanner")

    refused = client_for(colleague).post(f"/api/v1/tokens/{token.pk}/revoke")
    assert refused.status_code in (400, 404)
    assert ApiToken.objects.get(pk=token.pk).revoked_at is None

    assert client_for(clinic_admin).post(f"/api/v1/tokens/{token.pk}/revoke").status_code == 200
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None


def test_an_admin_cannot_revoke_another_clinics_token(clinic_admin, outsider) -> None:
    token, _ = create_api_token(outsider, "theirs")

    client_for(clinic_admin).post("/staff/", {"revoke_token": token.pk})

    assert ApiToken.objects.get(pk=token.pk).revoked_at is None
