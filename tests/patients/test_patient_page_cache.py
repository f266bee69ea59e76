"""The patient page's body is kept in the shared cache: a second showing reads none of the tables the body comes
from, shows what a freshly worked-out page shows, records the same read in the audit trail, and a write of each
kind the body shows appears on the next showing at once.

These tests commit (``transaction=True``): bodies are stored, and generations ended, only outside a transaction,
as in production, where each request commits its own.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from django.apps import apps
from django.test import Client
from django.utils import timezone

from needlepoint.accounts.models import AuditEntry
from needlepoint.patients import actions as patient_actions
from needlepoint.patients.models import Consent, ConsentText, Patient, Screening
from needlepoint.patients.page import rows_shown
from needlepoint.visits import actions as visit_actions
from tests.conftest import client_for
from tests.scheduling.conftest import appointment_at
from tests.stored_parts import get_reading, stored_expiry
from tests.visits.visit_helpers import open_neck_episode

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("empty_cache")]

# What every showing reads, whether the body is stored or not: the session, the user, the membership and its clinic,
# the patient (the access helper), the recent patients, the apps to launch (the page's head), the cache and the
# audit trail.
EVERY_SHOWING = {
    "django_session", "accounts_user", "accounts_membership", "accounts_clinic", "patients_patient",
    "patients_recentpatient", "fhir_smartapp", "oauth2_provider_application", "needlepoint_cache",
    "accounts_auditentry",
}  # fmt: skip


def _page(client: Client, patient_id: int) -> tuple[str, set[str]]:
    page, tables = get_reading(client, f"/patients/{patient_id}/")
    return page.content.decode(), tables


def _stored(client: Client, patient_id: int) -> str:
    """The page, its body read from the cache: fails if the body was worked out."""
    html, tables = _page(client, patient_id)
    assert tables <= EVERY_SHOWING, f"the body was worked out: {tables - EVERY_SHOWING}"
    return html


def _fresh(client: Client, patient_id: int) -> str:
    """The page after a write: fails if the stored body was shown."""
    html, tables = _page(client, patient_id)
    assert tables - EVERY_SHOWING, "the stored body was shown after a write"
    return html


def _main(html: str) -> str:
    """The page's main element, with the CSRF tokens (which differ by request) taken out."""
    main = html[html.index("<h1>") : html.rindex("</main>")]
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", main)


@pytest.fixture
def episode(clinician, cleared_patient):
    """An open episode with one visit, two hours ago."""
    episode = open_neck_episode(clinician, cleared_patient)
    visit_actions.start_visit(clinician, episode, {"started_at": timezone.now() - timedelta(hours=2)})
    return episode


def test_a_second_showing_reads_the_stored_body_and_shows_what_a_worked_out_one_shows(clinician, episode) -> None:
    client = client_for(clinician)
    worked_out = _fresh(client, episode.patient_id)
    stored = _stored(client, episode.patient_id)
    assert "Cleared for needling" in stored and "Neck pain" in stored and 'href="/visits/' in stored
    assert _main(stored) == _main(worked_out)


def test_each_showing_records_the_same_read(clinician, episode) -> None:
    client = client_for(clinician)
    _fresh(client, episode.patient_id)
    _stored(client, episode.patient_id)
    uncompared = {"id", "at", "previous_hash", "entry_hash"}
    columns = [f.name for f in AuditEntry._meta.concrete_fields if f.name not in uncompared]
    rows = AuditEntry.objects.filter(user_id=clinician.user_id, action="read", patient_id=episode.patient_id)
    worked_out, stored = list(rows.order_by("pk").values(*columns))[-2:]
    assert stored == worked_out and stored["object_type"] == "patients.Patient"


def test_each_role_reads_a_body_of_its_own(clinician, front_desk, episode) -> None:
    desk = client_for(front_desk)
    _fresh(desk, episode.patient_id)
    clinical = _fresh(client_for(clinician), episode.patient_id)
    at_the_desk = _stored(desk, episode.patient_id)
    assert "Episodes of care" in clinical and "Episodes of care" not in at_the_desk


def _write(kind: str, clinician, episode) -> None:
    patient = Patient.objects.get(pk=episode.patient_id)
    if kind == "visit":
        visit_actions.start_visit(clinician, episode, {"started_at": timezone.now() - timedelta(minutes=5)})
    elif kind == "email":
        patient_actions.update_patient(clinician, patient.pk, {"email": "jane.new@example.org"}, patient.version)
    elif kind == "withdraw_consent":
        consent = Consent.objects.filter(patient_id=patient.pk).latest("signed_at")
        patient_actions.withdraw_consent(clinician, consent, "Changed their mind")
    elif kind == "episode":
        patient_actions.open_episode(
            clinician,
            patient,
            {"condition": "low_back_pain", "icd10_code": "M54.50", "side": "central", "onset_date": date(2024, 2, 1)},
        )
    elif kind == "appointment":
        appointment_at(clinician, patient, timezone.now() + timedelta(days=2))
    elif kind == "new_consent_text":
        ConsentText.objects.filter(clinic=clinician.clinic).update(is_current=False)
        ConsentText.objects.create(clinic=clinician.clinic, version=9, title="Consent v9", body="New wording.")
    elif kind == "clinician_renamed":
        clinician.user.first_name, clinician.user.last_name = "Rosa", "Quill"
        clinician.user.save()


@pytest.mark.parametrize(
    "kind, shown",
    [
        ("visit", lambda html: html.count('href="/visits/') >= 2),
        ("email", lambda html: "jane.new@example.org" in html),
        ("withdraw_consent", lambda html: "Not cleared for needling" in html),
        ("episode", lambda html: "Low back pain" in html),
        ("appointment", lambda html: "Follow-up" in html),
        ("new_consent_text", lambda html: "older text version" in html),
        ("clinician_renamed", lambda html: "Rosa Quill" in html),
    ],
)
def test_a_write_shows_on_the_next_showing_at_once(clinician, episode, kind, shown) -> None:
    client = client_for(clinician)
    _fresh(client, episode.patient_id)
    assert not shown(_main(_stored(client, episode.patient_id)))
    _write(kind, clinician, episode)
    assert shown(_main(_fresh(client, episode.patient_id)))


def test_another_patient_s_write_leaves_the_stored_body(clinician, episode, patient) -> None:
    other = patient_actions.register_patient(
        clinician,
        {"given_name": "Ann", "family_name": "Other", "date_of_birth": patient.date_of_birth, "sex": "female"},
    )
    client = client_for(clinician)
    _fresh(client, episode.patient_id)
    patient_actions.update_patient(clinician, other.pk, {"given_name": "Anna"}, other.version)
    _stored(client, episode.patient_id)


def test_a_worked_out_body_reads_only_rows_whose_writes_end_its_generations(clinician, episode) -> None:
    """A section added to the body from another table must name that table's model (PATIENT_ROWS, CLINIC_ROWS or
    the panel's ``reads``: ``patients.page.rows_shown``), else a write to it would not show until the stored
    body expires."""
    announced = rows_shown("patient-page")
    tables = {model._meta.db_table: model._meta.label for model in apps.get_models()}
    _, read = _page(client_for(clinician), episode.patient_id)
    unannounced = {tables[t] for t in read - EVERY_SHOWING if t in tables} - announced
    assert not unannounced, f"the patient page reads {unannounced}, whose writes do not end its generations"


@pytest.mark.parametrize("lapses_in, kept", [(30, True), (0.5, False)])
def test_a_body_that_shows_cleared_is_kept_no_longer_than_the_screening_holds(
    clinician, episode, settings, lapses_in, kept
) -> None:
    """The clearance changes by the clock when the screening lapses: a stored body never shows "Cleared for
    needling" past that moment (the needling actions refuse from then on, whatever a page shows)."""
    lapses_at = timezone.now() + timedelta(seconds=lapses_in)
    Screening.objects.filter(patient_id=episode.patient_id).update(
        screened_at=lapses_at - timedelta(days=settings.SCREENING_VALID_DAYS)
    )
    client = client_for(clinician)
    assert "Cleared for needling" in _fresh(client, episode.patient_id)
    expires = stored_expiry(f"patient-page:1:{episode.patient_id}:")
    if not kept:
        assert expires is None
        return
    assert expires.replace(tzinfo=None) <= lapses_at.replace(tzinfo=None)
    assert expires.replace(tzinfo=None) > lapses_at.replace(tzinfo=None) - timedelta(seconds=5)


def test_rows_are_still_deleted_in_bulk() -> None:
    """The receivers listen to the models the body shows only: Django still deletes other rows (expired sessions,
    the recent patients beyond the kept ones) in one statement, without loading them."""
    from django.contrib.sessions.models import Session
    from django.db.models.deletion import Collector

    from needlepoint.patients.models import RecentPatient

    collector = Collector(using="default", origin=None)
    assert collector.can_fast_delete(Session.objects.all())
    assert collector.can_fast_delete(RecentPatient.objects.all())
