"""What a newcomer meets first: the clinic's clock, `dev.py test` on both cores, a site icon, and tables whose
every column has a header a screen reader can read."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, time
from html.parser import HTMLParser
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.contrib.staticfiles import finders
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.test import Client, override_settings
from django.utils import timezone

import dev
from needlepoint.accounts.models import Membership
from needlepoint.demo import DEMO_PASSWORD, build_demo
from needlepoint.env import env_timezone
from needlepoint.patients.demo import _in_clinic_hours
from needlepoint.patients.models import Episode, Patient
from needlepoint.visits.actions import start_visit
from needlepoint.visits.models import Visit

PROJECT = Path(__file__).resolve().parents[2]


# The clinic's clock


def test_the_time_zone_is_read_from_the_environment_and_checked(monkeypatch) -> None:
    monkeypatch.delenv("NP_TEST_ZONE", raising=False)
    assert env_timezone("NP_TEST_ZONE", "America/New_York") == "America/New_York"

    monkeypatch.setenv("NP_TEST_ZONE", "Europe/London")
    assert env_timezone("NP_TEST_ZONE", "America/New_York") == "Europe/London"

    monkeypatch.setenv("NP_TEST_ZONE", "Mars/Olympus_Mons")
    with pytest.raises(ImproperlyConfigured, match=r"NP_TEST_ZONE='Mars/Olympus_Mons'.*time-zone name"):
        env_timezone("NP_TEST_ZONE", "UTC")

    # A fixed offset reads backwards (Etc/GMT+10 is UTC-10), and the databases' date functions read it otherwise.
    for backwards in ("Etc/GMT+10", "Etc/GMT-12", "Etc/GMT+3"):
        monkeypatch.setenv("NP_TEST_ZONE", backwards)
        with pytest.raises(ImproperlyConfigured, match=r"sign reads backwards.*Pacific/Honolulu"):
            env_timezone("NP_TEST_ZONE", "UTC")
    monkeypatch.setenv("NP_TEST_ZONE", "Etc/UTC")
    assert env_timezone("NP_TEST_ZONE", "UTC") == "Etc/UTC"


def settings_in_a_fresh_process(**variables: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "TIME_ZONE"} | {"SECRET_KEY": "x"} | variables
    code = "from django.conf import settings; print(settings.TIME_ZONE)"
    env["DJANGO_SETTINGS_MODULE"] = "needlepoint.settings"
    return subprocess.run([sys.executable, "-c", code], cwd=PROJECT, env=env, capture_output=True, text=True)


def test_the_product_runs_on_the_documented_default_clock_and_refuses_a_zone_that_does_not_exist() -> None:
    default = settings_in_a_fresh_process()
    chosen = settings_in_a_fresh_process(TIME_ZONE="Australia/Sydney")
    wrong = settings_in_a_fresh_process(TIME_ZONE="Europe/Atlantis")

    assert default.stdout.strip() == "America/New_York"
    assert "| `TIME_ZONE` | `America/New_York` |" in (PROJECT / "README.md").read_text(encoding="utf-8")
    assert chosen.stdout.strip() == "Australia/Sydney"
    assert wrong.returncode != 0 and "TIME_ZONE='Europe/Atlantis'" in wrong.stderr


@pytest.mark.parametrize("zone", ["America/New_York", "Europe/London", "Australia/Sydney"])
def test_demo_patients_are_first_seen_in_clinic_hours_on_the_clinics_clock(zone: str) -> None:
    now = datetime(2026, 3, 9, 6, 30, tzinfo=ZoneInfo("UTC"))
    with override_settings(TIME_ZONE=zone):
        moments = [_in_clinic_hours(now, days_ago, quarter) for days_ago in (0, 1, 40) for quarter in (0, 14, 28)]

        local = [timezone.localtime(m) for m in moments]
    assert all(m <= now for m in moments)
    assert all(time(9, 0) <= m.time() <= time(16, 0) for m in local), local


@override_settings(TIME_ZONE="America/New_York")
def test_the_demo_clinics_first_visits_show_at_clinic_hours(db) -> None:
    build_demo(patients=12, seed=5)

    opened = [timezone.localtime(e.opened_at).time() for e in Episode.objects.all()]
    first_visits = [
        timezone.localtime(v.started_at).time()
        for v in Visit.objects.order_by("episode_id", "started_at").distinct()
        if v.started_at == Visit.objects.filter(episode_id=v.episode_id).order_by("started_at")[0].started_at
    ]
    assert opened and all(time(9, 0) <= t <= time(16, 0) for t in opened)
    assert first_visits and all(time(9, 0) <= t <= time(16, 15) for t in first_visits)


# dev.py test on both cores


@pytest.mark.parametrize(
    ("given", "passed"),
    [
        ([], ["-n", "2"]),
        (["tests/visits", "-x"], ["-n", "2", "tests/visits", "-x"]),
        (["-n", "0"], ["-n", "0"]),
        (["-nauto"], ["-nauto"]),
        (["--numprocesses=4"], ["--numprocesses=4"]),
        (["-p", "no:xdist"], ["-p", "no:xdist"]),
    ],
)
def test_dev_py_test_runs_on_both_cores_unless_told_otherwise(given: list[str], passed: list[str]) -> None:
    assert dev.pytest_arguments(given) == passed


def test_ci_still_asks_for_two_workers_itself() -> None:
    ci = (PROJECT / ".ci" / "run").read_text(encoding="utf-8")

    assert "python3 dev.py test -n 2\n" in ci
    assert dev.pytest_arguments(["-n", "2"]) == ["-n", "2"]


# The site icon


def test_the_site_icon_is_linked_on_every_page_and_served_at_favicon_ico(client) -> None:
    icon = client.get("/favicon.ico")
    login = client.get("/login/").content.decode()

    assert icon.status_code == 200
    assert icon["Content-Type"] == "image/x-icon"
    assert icon.content[:4] == b"\x00\x00\x01\x00"  # the ICO file signature
    assert 'rel="icon" href="/static/favicon.svg" type="image/svg+xml"' in login
    assert finders.find("favicon.svg") and "<svg" in Path(finders.find("favicon.svg")).read_text(encoding="utf-8")


# Column headers a screen reader can read


class _Headers(HTMLParser):
    """The text of every <th> of a page, visually hidden text included."""

    def __init__(self) -> None:
        super().__init__()
        self.headers: list[str] = []
        self._open = False

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag == "th":
            self._open = True
            self.headers.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "th":
            self._open = False

    def handle_data(self, data: str) -> None:
        if self._open:
            self.headers[-1] += data


def headers_of(html: str) -> list[str]:
    parser = _Headers()
    parser.feed(html)
    return [h.strip() for h in parser.headers]


def signed_in(username: str) -> Client:
    client = Client()
    assert client.login(username=username, password=DEMO_PASSWORD)
    return client


def an_unsigned_visit_of(username: str) -> Visit:
    """A visit started now by ``username`` in the first open episode whose patient may be needled."""
    membership = Membership.objects.get(user__username=username, clinic__slug="demo")
    for episode in Episode.objects.filter(clinic=membership.clinic, status="open").order_by("pk"):
        try:
            return start_visit(membership, episode, {})
        except ValidationError:
            continue
    raise AssertionError("the demo clinic has no open episode to start a visit in")


def test_no_main_page_has_an_empty_column_header(db) -> None:
    build_demo(patients=12, seed=5)
    visit = an_unsigned_visit_of("pt")
    episode = visit.episode
    patient = Patient.objects.get(pk=episode.patient_id)
    pages = {
        "pt": [
            "/",
            "/patients/",
            f"/patients/{patient.pk}/",
            f"/patients/{patient.pk}/episodes/{episode.pk}/",
            f"/visits/{visit.pk}/",
            "/atlas/",
            "/adverse-events/",
            "/account/tokens/",
        ],
        "admin": ["/audit/", "/staff/", "/insights/"],
        "desk": ["/patients/", f"/patients/{patient.pk}/"],
    }

    seen = 0
    for username, urls in pages.items():
        client = signed_in(username)
        for url in urls:
            response = client.get(url, follow=True)
            assert response.status_code == 200, url
            headers = headers_of(response.content.decode())
            assert all(headers), (url, headers)
            assert "Muscle" in headers or url != f"/visits/{visit.pk}/"
            seen += len(headers)
    assert seen > 40
