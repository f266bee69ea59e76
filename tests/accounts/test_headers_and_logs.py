"""Headers and logs: no browser or proxy keeps a copy of a page, PDF, CSV or JSON; HSTS and the HTTPS redirect
when configured; a proxy's HTTPS header trusted only when named; patient search terms out of addresses; and
``check --deploy`` clean under the production settings the README documents."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import override_settings

from needlepoint.accounts.models import AuditEntry
from tests.accounts.test_access_matrix import api_client
from tests.conftest import client_for

PROJECT = Path(__file__).resolve().parents[2]

# The production environment of README.md, "Running in production" (the secret is generated per run).
PRODUCTION = {
    "ALLOWED_HOSTS": "clinic.example.org",
    "CSRF_TRUSTED_ORIGINS": "https://clinic.example.org",
    "SECURE_SSL_REDIRECT": "true",
    "SECURE_HSTS_SECONDS": "31536000",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": "true",
    "SECURE_HSTS_PRELOAD": "true",
    "SECURE_PROXY_SSL_HEADER": "X-Forwarded-Proto",
}


def run_manage(tmp_path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    # The test run's own switches stay out too: the browser tests set DJANGO_ALLOW_ASYNC_UNSAFE for the live server.
    dropped = ("SECURE_", "DEBUG", "ALLOWED_", "CSRF_", "DJANGO_ALLOW_ASYNC_UNSAFE")
    clean = {k: v for k, v in os.environ.items() if not k.startswith(dropped)}
    clean |= {"SECRET_KEY": "k" + os.urandom(40).hex(), "NEEDLEPOINT_DATA_DIR": str(tmp_path)} | env
    clean.pop("DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=PROJECT, env=clean, capture_output=True, text=True, timeout=120
    )


def test_the_readme_documents_every_production_setting() -> None:
    readme = (PROJECT / "README.md").read_text()
    production = readme[readme.index("## Running in production") :]
    for name, value in PRODUCTION.items():
        assert f"{name}={value}" in production, name


def test_check_deploy_is_clean_under_the_documented_production_settings(tmp_path) -> None:
    result = run_manage(tmp_path, PRODUCTION, "check", "--deploy", "--fail-level", "WARNING")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_fails_without_hsts(tmp_path) -> None:
    result = run_manage(
        tmp_path, PRODUCTION | {"SECURE_HSTS_SECONDS": "0"}, "check", "--deploy", "--fail-level", "WARNING"
    )

    assert result.returncode != 0
    assert "security.W004" in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("configured", "expected"), [("", "None"), ("X-Forwarded-Proto", "('HTTP_X_FORWARDED_PROTO', 'https')")]
)
def test_the_proxy_https_header_is_trusted_only_when_configured(tmp_path, configured, expected) -> None:
    show = "from django.conf import settings; print(getattr(settings, 'SECURE_PROXY_SSL_HEADER', None))"
    result = run_manage(tmp_path, {"SECURE_PROXY_SSL_HEADER": configured}, "shell", "-c", show)

    assert result.stdout.strip().splitlines()[-1] == expected, result.stderr


@override_settings(SECURE_HSTS_SECONDS=31536000, SECURE_HSTS_INCLUDE_SUBDOMAINS=True, SECURE_SSL_REDIRECT=True)
def test_hsts_and_the_https_redirect_when_configured(clinician) -> None:
    client = client_for(clinician)

    plain = client.get("/patients/")
    secure = client.get("/patients/", secure=True)

    assert plain.status_code == 301 and plain["Location"].startswith("https://")
    assert secure["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


def test_pages_pdfs_csv_and_json_with_patient_data_are_never_stored(clinician, clinic_admin, cleared_patient) -> None:
    from tests.visits.visit_helpers import open_neck_episode

    episode = open_neck_episode(clinician, cleared_patient)
    pages, admin, api = client_for(clinician), client_for(clinic_admin), api_client(clinician)
    responses = {
        "page": pages.get(f"/patients/{cleared_patient.pk}/"),
        "pdf": pages.get(f"/patients/{cleared_patient.pk}/episodes/{episode.pk}/outcomes/report.pdf"),
        "csv": admin.get("/audit.csv"),
        "json": api.get(f"/api/v1/patients/{cleared_patient.pk}"),
        "fhir": pages.get(f"/fhir/R4/Patient/{cleared_patient.pk}"),
        "refusal": pages.get("/patients/999999/"),
    }

    assert {what: r["Cache-Control"] for what, r in responses.items()} == dict.fromkeys(responses, "no-store")
    assert responses["pdf"]["Content-Type"] == "application/pdf"


def test_the_site_icon_keeps_its_own_caching(db) -> None:
    from django.test import Client

    assert Client().get("/favicon.ico")["Cache-Control"] == "public, max-age=86400"


def test_the_patient_search_posts_its_terms_so_they_stay_out_of_addresses(clinician, patient) -> None:
    client = client_for(clinician)

    page = client.get("/patients/").content.decode()
    found = client.post("/patients/", {"q": "doe"}, headers={"HX-Request": "true"})

    assert 'method="post"' in page and 'hx-post="/patients/"' in page
    assert "hx-get" not in page and "hx-push-url" not in page
    assert "Doe" in found.content.decode()
    assert AuditEntry.objects.filter(action="search", summary="patient search (1 found)").count() == 1


def test_the_booking_search_posts_its_terms_and_keeps_the_chosen_slot(clinician, patient) -> None:
    client = client_for(clinician)
    slot = f"/schedule/book/?clinician={clinician.pk}&day=2030-01-07&time=10:30"

    page = client.get(slot).content.decode()
    found = client.post(slot, {"q": "doe"})  # one patient matches: the search chooses her at once

    assert 'method="post" class="search card"' in page
    assert found.status_code == 302 and "doe" not in found["Location"].lower()
    assert (
        found["Location"]
        == f"/schedule/book/?clinician={clinician.pk}&day=2030-01-07&time=10%3A30&patient={patient.pk}"
    )
    assert AuditEntry.objects.filter(action="search", summary="patient search for booking (1 found)").count() == 1
