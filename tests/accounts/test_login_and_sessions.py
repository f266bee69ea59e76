"""Signing in and out, throttling repeated failures, and sessions that end after inactivity."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone

from needlepoint.accounts.models import AuditEntry, Membership, SignInCounter
from tests.conftest import PASSWORD, client_for

WRONG = "not-the-password"


def sign_in(client: Client, username: str, password: str, address: str = "198.51.100.7"):
    return client.post("/login/", {"username": username, "password": password}, REMOTE_ADDR=address)


def signed_in(client: Client) -> bool:
    return client.get("/patients/").status_code == 200


def test_a_clinician_signs_in_and_the_sign_in_is_audited(clinician) -> None:
    client = Client()

    response = sign_in(client, "alice", PASSWORD)

    assert response.status_code == 302
    assert signed_in(client)
    entry = AuditEntry.objects.get(action="login")
    assert entry.user == clinician.user
    assert entry.client_address == "198.51.100.7"
    assert entry.summary == "signed in as alice"


def test_a_wrong_password_is_refused_recorded_and_audited(clinician) -> None:
    client = Client()

    response = sign_in(client, "alice", WRONG)

    assert response.status_code == 401
    assert "That username and password do not match an active account." in response.content.decode()
    assert not signed_in(client)
    assert SignInCounter.objects.get(key="user:alice").checks == 1
    assert SignInCounter.objects.get(key="address:198.51.100.7").checks == 1
    failed = AuditEntry.objects.get(action="login_failed")
    assert failed.summary == "failed sign-in: alice"
    assert failed.client_address == "198.51.100.7"


def test_someone_without_an_active_membership_cannot_sign_in(clinician) -> None:
    Membership.objects.filter(pk=clinician.pk).update(is_active=False)
    client = Client()

    response = sign_in(client, "alice", PASSWORD)

    assert response.status_code == 401
    assert "That username and password do not match an active account." in response.content.decode()
    assert not signed_in(client)


def test_a_deactivated_user_cannot_sign_in(clinician) -> None:
    clinician.user.is_active = False
    clinician.user.save()

    assert sign_in(Client(), "alice", PASSWORD).status_code == 401


def test_sign_in_never_redirects_to_another_site(clinician) -> None:
    response = Client().post(
        "/login/", {"username": "alice", "password": PASSWORD, "next": "https://evil.example/steal"}
    )

    assert response.status_code == 302
    assert response["Location"] == "/"


def test_sign_in_returns_to_the_page_asked_for(clinician) -> None:
    response = Client().post("/login/", {"username": "alice", "password": PASSWORD, "next": "/patients/new/"})

    assert response["Location"] == "/patients/new/"


def test_signing_out_needs_a_post_and_is_audited(clinician) -> None:
    client = client_for(clinician)

    assert client.get("/logout/").status_code == 405
    assert signed_in(client)
    response = client.post("/logout/")

    assert response["Location"] == "/login/"
    assert not signed_in(client)
    assert AuditEntry.objects.get(action="logout").user == clinician.user


# Sessions


def session_row(client: Client) -> Session:
    return Session.objects.get(session_key=client.session.session_key)


def test_sessions_end_after_fifteen_idle_minutes_by_default() -> None:
    assert settings.SESSION_IDLE_MINUTES == 15
    assert settings.SESSION_COOKIE_AGE == 15 * 60
    assert settings.SESSION_SAVE_EVERY_REQUEST


def test_each_request_renews_the_idle_clock(clinician) -> None:
    client = client_for(clinician)
    Session.objects.filter(session_key=client.session.session_key).update(
        expire_date=timezone.now() + timedelta(minutes=1)
    )

    client.get("/patients/")

    remaining = session_row(client).expire_date - timezone.now()
    assert timedelta(minutes=14) < remaining <= timedelta(minutes=15)


def test_an_idle_session_is_over_and_the_sign_in_page_says_so(clinician) -> None:
    client = client_for(clinician)
    client.get("/patients/")
    Session.objects.filter(session_key=client.session.session_key).update(
        expire_date=timezone.now() - timedelta(seconds=1)
    )

    response = client.get("/patients/?q=doe")

    assert response.status_code == 302
    assert response["Location"] == "/login/?next=%2Fpatients%2F%3Fq%3Ddoe&expired=1"
    assert "Your session expired." in client.get(response["Location"]).content.decode()


def test_a_first_visit_without_a_session_is_not_told_it_expired() -> None:
    response = Client().get("/patients/")

    assert response["Location"] == "/login/?next=%2Fpatients%2F"


def test_the_session_cookie_is_http_only_and_ends_with_the_browser(clinician) -> None:
    client = Client()

    response = sign_in(client, "alice", PASSWORD)

    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["httponly"]
    assert cookie["expires"] == ""
    assert cookie["max-age"] == ""


def test_a_form_with_a_stale_security_token_saves_nothing_and_says_so(clinician) -> None:
    from needlepoint.patients.models import Patient

    client = Client(enforce_csrf_checks=True)
    client.force_login(clinician.user)

    response = client.post(
        "/patients/new/", {"given_name": "Sam", "family_name": "Lee", "date_of_birth": "1990-02-03", "sex": "male"}
    )

    assert response.status_code == 403
    assert "nothing was saved" in response.content.decode()
    assert not Patient.objects.exists()
