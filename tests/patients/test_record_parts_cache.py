"""Parts of a patient's pages kept in the shared cache besides the patient page's body (``patients.page``): a signed
visit's page, an episode's progress page and the patient's FHIR record (``Patient/$everything``). A second showing
reads none of the tables the part comes from and shows what a worked-out one shows, records the same reads in the
audit trail, and a write of each kind the part shows appears on the next showing at once.

These tests commit (``transaction=True``): parts are stored, and generations ended, only outside a transaction, as
in production, where each request commits its own.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.apps import apps
from django.test import Client
from django.utils import timezone

from needlepoint.accounts.models import AuditEntry
from needlepoint.outcomes import actions as outcome_actions
from needlepoint.outcomes.scoring import instrument
from needlepoint.patients import actions as patient_actions
from needlepoint.patients.models import Patient
from needlepoint.patients.page import rows_shown
from needlepoint.visits import actions as visit_actions
from needlepoint.visits import aftercare
from needlepoint.visits.models import Visit
from tests.conftest import client_for, response_json
from tests.fhir.conftest import token_client
from tests.outcomes.conftest import open_episode
from tests.stored_parts import get_reading, stored_expiry
from tests.visits.visit_helpers import open_neck_episode, signed_visit

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("empty_cache")]

# What a showing reads whether the part is stored or not: the session or the token, the user, the membership and its
# clinic, the record the access helper fetches (with its patient, episode and staff), the cache and the audit trail.
ANY_SHOWING = {
    "django_session", "accounts_apitoken", "accounts_user", "accounts_membership", "accounts_clinic",
    "needlepoint_cache", "accounts_auditentry",
}  # fmt: skip


@dataclass(frozen=True)
class Part:
    """A stored part: its page's address and the tables the access helper reads on every showing."""

    name: str
    key: str  # the first word of its key in the cache, as it declares the rows it shows (patients.page.rows_shown)
    url: Callable[[Any], str]
    every_showing: frozenset[str]
    by_token: bool = False


PARTS = {
    "visit": Part(
        "visit",
        "visit-page",
        lambda r: f"/visits/{r.visit.pk}/",
        frozenset({"visits_visit", "patients_patient", "patients_episode"}),
    ),
    "progress": Part(
        "progress",
        "progress-page",
        lambda r: f"/patients/{r.patient.pk}/episodes/{r.episode.pk}/outcomes/",
        frozenset({"patients_episode", "patients_patient"}),
    ),
    "diary": Part(
        "diary",
        "progress-page",
        lambda r: f"/patients/{r.patient.pk}/episodes/{r.migraine.pk}/outcomes/",
        frozenset({"patients_episode", "patients_patient"}),
    ),
    "fhir": Part(
        "fhir",
        "fhir-record",
        lambda r: f"/fhir/R4/Patient/{r.patient.pk}/$everything",
        frozenset({"patients_patient"}),
        by_token=True,
    ),
}


@dataclass
class Record:
    """A cleared patient with a neck-pain episode (a visit signed an hour ago, pain 6 to 3, and an NDI at baseline)
    and a migraine episode whose headache diary the patient keeps through a link (nothing recorded yet)."""

    clinician: Any
    patient: Patient
    episode: Any
    visit: Visit
    migraine: Any
    diary_token: str


@pytest.fixture
def record(clinician, cleared_patient) -> Record:
    episode = open_neck_episode(clinician, cleared_patient)
    started = max(timezone.now() - timedelta(hours=1), timezone.localtime().replace(hour=0, minute=0, second=0))
    visit = visit_actions.start_visit(clinician, episode, {"started_at": started, "pain_before": 6, "pain_after": 3})
    visit = signed_visit(clinician, visit)
    ndi = instrument("NDI")
    outcome_actions.record_questionnaire(clinician, episode, "NDI", {i.id: 1 for i in ndi.items}, time_point="baseline")
    migraine = open_episode(clinician, cleared_patient, "migraine", "G43.009", "bilateral")
    diary = outcome_actions.create_diary_link(clinician, migraine)
    return Record(clinician, cleared_patient, episode, visit, migraine, diary.token)


@pytest.fixture
def full_record(record) -> Record:
    """The record with a row in every table its parts show: an adverse event, an addendum and the after-care sheet
    given on the visit, a ROM measurement, a questionnaire link and a day of the headache diary."""
    for write in (_adverse_event, _addendum, _after_care, _rom, _link, _diary_day):
        write(record)
    return record


def _client(part: Part, membership) -> Client:
    return token_client(membership) if part.by_token else client_for(membership)


def _show(client: Client, part: Part, record: Record) -> tuple[str, set[str]]:
    response, tables = get_reading(client, part.url(record))
    return response.getvalue().decode(), tables


def _stored(client: Client, part: Part, record: Record) -> str:
    """The page, its part read from the cache: fails if the part was worked out."""
    shown, tables = _show(client, part, record)
    assert tables <= ANY_SHOWING | part.every_showing, f"the {part.name} part was worked out: {tables}"
    return _comparable(shown)


def _fresh(client: Client, part: Part, record: Record) -> str:
    """The page after a write: fails if the stored part was shown."""
    shown, tables = _show(client, part, record)
    assert tables - ANY_SHOWING - part.every_showing, f"the stored {part.name} part was shown after a write"
    return _comparable(shown)


def _comparable(shown: str) -> str:
    """The page's main element (or the FHIR JSON), without the CSRF tokens that differ by request."""
    if "</main>" in shown:
        shown = shown[shown.index("<main") : shown.rindex("</main>")]
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", shown)


@pytest.mark.parametrize("name", PARTS)
def test_a_second_showing_reads_the_stored_part_and_shows_what_a_worked_out_one_shows(clinician, record, name) -> None:
    part = PARTS[name]
    client = _client(part, clinician)
    worked_out = _fresh(client, part, record)
    assert _stored(client, part, record) == worked_out
    assert "Neck" in worked_out or "neck" in worked_out


@pytest.mark.parametrize("name", PARTS)
def test_each_showing_records_the_same_reads(clinician, record, name) -> None:
    part = PARTS[name]
    client = _client(part, clinician)
    before = AuditEntry.objects.count()
    _fresh(client, part, record)
    middle = AuditEntry.objects.count()
    _stored(client, part, record)
    uncompared = {"id", "at", "previous_hash", "entry_hash"}
    columns = [f.name for f in AuditEntry._meta.concrete_fields if f.name not in uncompared]
    entries = list(AuditEntry.objects.order_by("pk").values(*columns))
    worked_out, stored = entries[before:middle], entries[middle:]
    assert stored == worked_out and worked_out
    assert {e["patient_id"] for e in stored} == {record.patient.pk}


def test_the_stored_visit_page_s_forms_carry_the_request_s_own_csrf_token(clinician, record) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(clinician.user)
    part = PARTS["visit"]
    _fresh(client, part, record)
    shown, tables = _show(client, part, record)
    assert "visits_addendum" not in tables  # the stored page
    form = shown[shown.index(f'action="/visits/{record.visit.pk}/addenda/"') :]
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
    added = client.post(f"/visits/{record.visit.pk}/addenda/", {"csrfmiddlewaretoken": token, "text": "Seen again."})
    assert added.status_code == 302
    assert "Seen again." in _fresh(client, part, record)


def test_the_page_of_a_visit_still_unsigned_is_worked_out_each_time(clinician, record) -> None:
    unsigned = visit_actions.start_visit(clinician, record.episode, {"started_at": timezone.now()})
    client = client_for(clinician)
    for _ in range(2):
        _, tables = get_reading(client, f"/visits/{unsigned.pk}/")
        assert "visits_needlingentry" in tables


def test_each_role_reads_a_record_of_its_own(clinician, front_desk, record) -> None:
    part = PARTS["fhir"]
    desk = token_client(front_desk)
    at_the_desk = _fresh(desk, part, record)
    clinical = _fresh(token_client(clinician), part, record)
    assert _stored(desk, part, record) == at_the_desk
    assert '"Procedure"' in clinical and '"Procedure"' not in at_the_desk


def test_a_care_period_is_applied_to_the_stored_record(clinician, record) -> None:
    client = token_client(clinician)
    url = PARTS["fhir"].url(record)
    whole, _ = get_reading(client, url)
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    later, tables = get_reading(client, f"{url}?start={tomorrow}")
    assert "outcomes_observation" not in tables  # the stored record, narrowed
    kept = {e["resource"]["resourceType"] for e in response_json(later)["entry"]}
    assert (
        response_json(whole)["total"] > response_json(later)["total"] and "Procedure" not in kept and "Patient" in kept
    )


def _addendum(record: Record) -> None:
    visit_actions.add_addendum(record.clinician, record.visit.pk, "Patient called: soreness gone next day.")


def _adverse_event(record: Record) -> None:
    visit_actions.record_adverse_event(
        record.clinician,
        record.visit.pk,
        {
            "event_type": "bruising",
            "severity": "mild",
            "description": "Small bruise over infraspinatus",
            "onset_at": timezone.now() - timedelta(minutes=5),
            "action_taken": "Pressure applied for one minute",
            "outcome": "ongoing",
            "follow_up_due": timezone.localdate() + timedelta(days=3),
        },
    )


def _after_care(record: Record) -> None:
    aftercare.record_after_care_printed(record.clinician, record.visit.pk)


def _renamed_patient(record: Record) -> None:
    patient = Patient.objects.get(pk=record.patient.pk)
    patient_actions.update_patient(record.clinician, patient.pk, {"family_name": "Quillfeather"}, patient.version)


def _renamed_clinician(record: Record) -> None:
    user = record.clinician.user
    user.first_name, user.last_name = "Rosa", "Marchetti"
    user.save()


def _questionnaire(record: Record) -> None:
    ndi = instrument("NDI")
    outcome_actions.record_questionnaire(
        record.clinician, record.episode, "NDI", {i.id: 4 for i in ndi.items}, time_point="reassessment"
    )


def _rom(record: Record) -> None:
    outcome_actions.record_rom(
        record.clinician,
        record.episode,
        joint="cervical_spine",
        movement="rotation",
        side="left",
        degrees=55,
        method="crom",
        time_point="baseline",
    )


def _link(record: Record) -> None:
    outcome_actions.create_self_report_link(
        record.clinician, record.episode, time_point="reassessment", readable_only=True
    )


def _diary_day(record: Record) -> None:
    day = {"day": timezone.localdate().isoformat(), "headache": "yes", "worst_intensity": "6", "hours": "3"}
    answered = Client().post(f"/p/{record.diary_token}/", day | {"acute_medication": "yes"})
    assert answered.status_code == 200 and b"Saved for" in answered.content


def _plan(record: Record, clinic_admin) -> None:
    outcome_actions.set_instrument_plan(clinic_admin, record.episode.condition, ["NDI", "PSFS", "GROC"])


WRITES = [
    ("visit", _addendum, lambda shown: "soreness gone next day" in shown),
    ("visit", _adverse_event, lambda shown: "Bruising" in shown or "bruising" in shown),
    ("visit", _after_care, lambda shown: 'data-testid="after-care-given"' in shown),
    ("visit", _renamed_patient, lambda shown: "Quillfeather" in shown),
    ("visit", _renamed_clinician, lambda shown: "Rosa Marchetti" in shown),
    ("progress", _questionnaire, lambda shown: 'data-testid="change-NDI"' in shown),
    ("progress", _rom, lambda shown: "55" in shown and "Cervical" in shown),
    ("progress", _link, lambda shown: "waiting, until" in shown),
    ("progress", _renamed_patient, lambda shown: "Quillfeather" in shown),
    ("progress", _plan, lambda shown: 'id="series-GROC"' in shown),
    ("diary", _diary_day, lambda shown: 'data-testid="headache-days-1">1<' in shown),
    ("fhir", _questionnaire, lambda shown: shown.count('"QuestionnaireResponse"') == 2),
    ("fhir", _adverse_event, lambda shown: '"AdverseEvent"' in shown),
    ("fhir", _rom, lambda shown: '"55' in shown or ": 55" in shown),
    ("fhir", _renamed_patient, lambda shown: "Quillfeather" in shown),
    ("fhir", _renamed_clinician, lambda shown: "Rosa Marchetti" in shown),
]


@pytest.mark.parametrize(
    "name, write, shown", WRITES, ids=[f"{name}-{write.__name__.strip('_')}" for name, write, _ in WRITES]
)
def test_a_write_shows_on_the_next_showing_at_once(clinician, clinic_admin, record, name, write, shown) -> None:
    part = PARTS[name]
    client = _client(part, clinician)
    _fresh(client, part, record)
    assert not shown(_stored(client, part, record))
    if write is _plan:
        write(record, clinic_admin)
    else:
        write(record)
    assert shown(_fresh(client, part, record))


@pytest.mark.parametrize("name", PARTS)
def test_another_patient_s_write_leaves_the_stored_part(clinician, record, patient, name) -> None:
    part = PARTS[name]
    other = patient_actions.register_patient(
        clinician,
        {"given_name": "Ann", "family_name": "Other", "date_of_birth": patient.date_of_birth, "sex": "female"},
    )
    client = _client(part, clinician)
    _fresh(client, part, record)
    patient_actions.update_patient(clinician, other.pk, {"given_name": "Anna"}, other.version)
    _stored(client, part, record)


@pytest.mark.parametrize("name", PARTS)
def test_a_worked_out_part_reads_only_rows_whose_writes_end_its_generations(clinician, full_record, name) -> None:
    """A section added to a part from another table must name that table's model (``shows_patient_rows``,
    ``shows_clinic_rows``), else a write to it would not show until the stored part expires. The record has rows
    in every table, so that none is left unread for want of a row."""
    part = PARTS[name]
    tables = {model._meta.db_table: model._meta.label for model in apps.get_models()}
    _, read = _show(_client(part, clinician), part, full_record)
    infrastructure = {"django_session", "accounts_apitoken", "needlepoint_cache", "accounts_auditentry"}
    unannounced = {tables[t] for t in read - infrastructure if t in tables} - rows_shown(part.key)
    assert not unannounced, f"the {name} part reads {unannounced}, whose writes do not end its generations"


@pytest.mark.parametrize("name, issue", [("progress", _link), ("diary", None)])
@pytest.mark.parametrize("lapses_in", [30, 1.5])
def test_a_progress_page_that_shows_a_link_waiting_is_kept_no_longer_than_the_link_holds(
    clinician, record, name, issue, lapses_in
) -> None:
    """A link's status changes by the clock when it expires: a stored page never shows it waiting past that. (A
    link that expires before the page is worked out shows as expired, and that page is kept its minute.)"""
    from needlepoint.outcomes.models import SelfReportLink

    part = PARTS[name]
    if issue is not None:
        issue(record)
    episode = record.episode if name == "progress" else record.migraine
    expires = timezone.now() + timedelta(seconds=lapses_in)
    assert SelfReportLink.objects.filter(episode=episode).update(expires_at=expires) == 1
    shown = _fresh(client_for(clinician), part, record)
    expiry = stored_expiry(":progress-page:")
    left = None if expiry is None else (expiry - timezone.now()).total_seconds()
    waiting = "waiting, until" in shown or "open until" in shown
    assert waiting or lapses_in < 3  # the 30-second link is shown waiting
    if waiting:
        assert left is None or timezone.now() + timedelta(seconds=left) <= expires + timedelta(seconds=1)
    if lapses_in >= 3:
        assert left is not None  # kept, until the link expires
