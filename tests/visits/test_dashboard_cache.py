"""The dashboard's lists are kept in the shared cache: a second showing reads none of the tables the lists come
from, shows what a freshly worked-out dashboard shows (with the request's own CSRF token in its forms), records
the same rows in the audit trail, and a write through each kind of action shows on the next dashboard at once.

These tests commit (``transaction=True``): lists are stored, and the clinic's generation ended, only outside a
transaction, as in production, where each request commits its own.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from django.apps import apps
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.utils import timezone

from needlepoint.accounts.models import AuditEntry
from needlepoint.outcomes import board_cache
from needlepoint.patients import actions as patient_actions
from needlepoint.patients.models import Consent, Patient
from needlepoint.scheduling.models import Appointment
from needlepoint.visits import actions
from needlepoint.visits.dashboard import LISTS_READ, LISTS_SECONDS
from tests.conftest import client_for, make_member
from tests.scheduling.conftest import appointment_at
from tests.stored_parts import get_reading
from tests.visits.visit_helpers import date_episode_back, open_neck_episode, signed_visit

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("empty_cache")]

# The tables a dashboard reads besides its lists' rows: the session, the cache and the audit trail; and those the
# request itself reads (the user, the membership and its clinic), which the stored lists show too.
BOOKKEEPING = {"django_session", "needlepoint_cache", "accounts_auditentry"}
REQUEST = BOOKKEEPING | {"accounts_user", "accounts_membership", "accounts_clinic"}
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@pytest.fixture
def episode(clinician, cleared_patient):
    return date_episode_back(open_neck_episode(clinician, cleared_patient), 20)


def _lists(html: str) -> str:
    """The page's lists (its main element), with the CSRF tokens, which differ by request, taken out."""
    main = html[html.index("<h1>") : html.rindex("</main>")]
    return CSRF_INPUT.sub('name="csrfmiddlewaretoken" value=""', main)


def _dashboard(client: Client) -> tuple[str, set[str]]:
    page, tables = get_reading(client, "/")
    return page.content.decode(), tables


def _stored(client: Client) -> str:
    """The dashboard, read from the stored lists: fails if they were worked out."""
    html, tables = _dashboard(client)
    assert tables <= REQUEST, f"the lists were worked out: {tables - REQUEST}"
    return html


def _fresh(client: Client) -> str:
    """The dashboard after a write: fails if the stored lists were shown."""
    html, tables = _dashboard(client)
    assert "visits_visit" in tables, "the stored lists were shown after a write"
    return html


def _today_appointment(clinician, patient) -> Appointment:
    return appointment_at(clinician, patient, timezone.now().replace(second=0, microsecond=0))


def test_a_second_showing_reads_the_stored_lists_and_shows_what_a_worked_out_one_shows(clinician, episode) -> None:
    actions.start_visit(clinician, episode, {"started_at": timezone.now() - timedelta(days=3)})
    _today_appointment(clinician, episode.patient)
    client = client_for(clinician)
    worked_out = _fresh(client)
    stored = _stored(client)
    assert "Jane Doe" in stored and "1 overdue" in stored and "Start visit" in stored
    assert _lists(stored) == _lists(worked_out)
    cache.clear()
    assert _lists(_fresh(client)) == _lists(stored)


def test_the_stored_lists_carry_the_request_s_own_csrf_token(clinician, episode) -> None:
    appointment = _today_appointment(clinician, episode.patient)
    client = Client(enforce_csrf_checks=True)
    client.force_login(clinician.user)
    client.get("/")
    stored = _stored(client)
    token = CSRF_INPUT.search(stored[stored.index('data-testid="today"') :]).group(1)
    assert "csrfPlaceholder" not in stored
    answer = client.post(f"/appointments/{appointment.pk}/start-visit/", {"csrfmiddlewaretoken": token})
    assert answer.status_code == 302 and answer["Location"].startswith("/visits/")


def _entries(membership) -> list[dict]:
    """The membership's dashboard entries, each with every column but its id, time and hashes."""
    rows = AuditEntry.objects.filter(user_id=membership.user_id, summary__startswith="dashboard").order_by("pk")
    return list(rows.values(*(f.name for f in AuditEntry._meta.concrete_fields if f.name not in UNCOMPARED)))


UNCOMPARED = {"id", "at", "previous_hash", "entry_hash"}


@pytest.mark.parametrize("who", ["clinician", "clinic_admin"])
def test_each_showing_records_what_a_worked_out_showing_records(who, clinician, clinic_admin, episode) -> None:
    actions.start_visit(clinician, episode, {"started_at": timezone.now() - timedelta(days=3)})
    viewer = clinician if who == "clinician" else clinic_admin
    client = client_for(viewer)
    _fresh(client)
    _stored(client)
    worked_out, stored = _entries(viewer)
    assert stored == worked_out
    assert f"dashboard: unsigned visits: 1 shown, patients {episode.patient_id}" in stored["summary"]
    assert stored["clinic"] == clinician.clinic_id and stored["via"] == "web" and stored["action"] == "read"


def test_each_membership_and_role_reads_lists_of_its_own(clinician, colleague, clinic_admin, episode) -> None:
    actions.start_visit(clinician, episode, {"started_at": timezone.now() - timedelta(days=3)})
    for who, rows in ((clinician, 1), (colleague, 0), (clinic_admin, 1), (clinician, 1)):
        client = client_for(who)
        client.get("/")
        assert _stored(client).count('data-testid="unsigned-visit"') == rows
    # A role changed behind the product's back (no save) still reads lists of its own role.
    type(colleague).objects.filter(pk=colleague.pk).update(role="clinic_admin")
    assert _fresh(client_for(colleague)).count('data-testid="unsigned-visit"') == 1


@pytest.mark.parametrize(
    "write, shown",
    [
        ("sign", lambda html: "Every visit is signed." in html),
        ("adverse_event", lambda html: "Bruising</a> (mild)" in html),
        ("rename", lambda html: "Janet Doe" in html),
        ("withdraw_consent", lambda html: "withdrawn" in html),
        ("board", lambda html: True),
    ],
)
def test_a_write_shows_on_the_next_dashboard_at_once(clinician, episode, write, shown) -> None:
    visit = actions.start_visit(clinician, episode, {"started_at": timezone.now() - timedelta(hours=2)})
    client = client_for(clinician)
    client.get("/")
    before = _stored(client)
    assert not shown(before) or write == "board"
    if write == "sign":
        signed_visit(clinician, visit)
    elif write == "adverse_event":
        actions.record_adverse_event(
            clinician,
            visit.pk,
            {
                "event_type": "bruising",
                "severity": "mild",
                "description": "Small bruise over infraspinatus",
                "onset_at": timezone.now() - timedelta(hours=1),
                "action_taken": "Pressure applied for one minute",
                "outcome": "ongoing",
                "follow_up_due": timezone.localdate(),
            },
        )
    elif write == "rename":
        patient = Patient.objects.get(pk=episode.patient_id)
        patient_actions.update_patient(clinician, patient.pk, {"given_name": "Janet"}, patient.version)
    elif write == "withdraw_consent":
        consent = Consent.objects.filter(patient_id=episode.patient_id).latest("signed_at")
        patient_actions.withdraw_consent(clinician, consent, "Changed their mind")
    else:
        board_cache.clinic_changed(clinician.clinic_id)  # as a bulk import or the demo builder announce theirs
    assert shown(_fresh(client))


def test_what_the_lists_do_not_show_leaves_them(clinician, episode) -> None:
    """A draft's autosave and a sign-in write rows the lists read, but nothing they show: the lists stay stored."""
    visit = actions.start_visit(clinician, episode, {"started_at": timezone.now() - timedelta(hours=2)})
    client = client_for(clinician)
    client.get("/")
    actions.save_draft_text(clinician, visit.pk, {"subjective": "Neck stiff on waking"}, visit.version)
    Client().login(username=clinician.user.username, password="x")  # a failed sign-in writes nothing shown either
    clinician.user.save(update_fields=["last_login"])
    _stored(client)


def test_a_renamed_clinician_shows_at_once(clinician, clinic_admin, episode) -> None:
    actions.start_visit(clinician, episode, {"started_at": timezone.now() - timedelta(hours=2)})
    client = client_for(clinic_admin)
    client.get("/")
    assert "Rosa Quill" not in _stored(client)
    clinician.user.first_name, clinician.user.last_name = "Rosa", "Quill"
    clinician.user.save()
    assert "Rosa Quill" in _fresh(client)


def test_storing_lists_removes_the_expired_ones(clinician, colleague, episode) -> None:
    """Django's database cache keeps an expired value until its key is read again: the stored lists name patients,
    so each value stored removes those whose minute has passed."""
    client_for(clinician).get("/")
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE needlepoint_cache SET expires = %s WHERE cache_key LIKE %s",
            [timezone.now() - timedelta(minutes=1), "%dashboard-lists%"],
        )
    client_for(colleague).get("/")
    with connection.cursor() as cursor:
        cursor.execute("SELECT cache_key FROM needlepoint_cache WHERE cache_key LIKE %s", ["%dashboard-lists%"])
        left = [key for (key,) in cursor.fetchall()]
    assert len(left) == 1 and f":{colleague.pk}:" in left[0]


def test_another_clinic_s_write_leaves_the_stored_lists(clinician, other_clinic, episode) -> None:
    client = client_for(clinician)
    client.get("/")
    elsewhere = make_member(other_clinic, "elsewhere", "clinician")
    patient_actions.register_patient(
        elsewhere, {"given_name": "Ann", "family_name": "Other", "date_of_birth": date(1970, 1, 1), "sex": "female"}
    )
    _stored(client)


def test_the_stored_lists_live_a_minute_at_most(clinician, episode) -> None:
    client = client_for(clinician)
    client.get("/")
    with connection.cursor() as cursor:
        cursor.execute("SELECT expires FROM needlepoint_cache WHERE cache_key LIKE %s", ["%dashboard-lists%"])
        (expires,) = cursor.fetchone()
    if isinstance(expires, str):  # SQLite returns the text it stored
        from datetime import datetime

        expires = datetime.fromisoformat(expires)
    left = (expires.replace(tzinfo=None) - timezone.now().replace(tzinfo=None)).total_seconds()
    assert LISTS_SECONDS - 5 < left <= LISTS_SECONDS


def test_a_worked_out_dashboard_reads_only_rows_whose_writes_end_its_generation(clinician, clinic_admin, episode):
    """A list added to the dashboard from another table must add that table's model to LISTS_READ (or to the
    re-assessment board's receivers), else a write to it would not show until the stored lists expire."""
    visit = actions.start_visit(clinician, episode, {"started_at": timezone.now() - timedelta(hours=2)})
    signed_visit(clinician, visit)
    _today_appointment(clinician, episode.patient)
    announced = set(LISTS_READ) | set(board_cache._READ_FIELDS) | set(board_cache._ALWAYS)
    tables = {model._meta.db_table: model._meta.label for model in apps.get_models()}
    for who in (clinician, clinic_admin):
        _, read = _dashboard(client_for(who))
        unannounced = {tables[t] for t in read - BOOKKEEPING if t in tables} - announced
        assert not unannounced, f"the dashboard reads {unannounced}, whose writes do not end its generation"
