"""Re-assessment on schedule against the database: ``needlepoint outcomes send-due`` sends what is due once,
lists what it skipped (opted out, no contact, not sendable), obeys --dry-run and --json; a clinician's answer
counts as done; plan schedules are checked; the dashboard lists what is overdue with completion rates under a
query budget that does not grow with the number of episodes."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone

from needlepoint.accounts.models import AuditEntry
from needlepoint.cli import main
from needlepoint.outcomes import actions, schedule
from needlepoint.outcomes.models import ClinicInstrumentPlan, LinkMessage, SelfReportLink
from needlepoint.patients.models import Patient
from needlepoint.scheduling import actions as scheduling_actions
from needlepoint.visits.dashboard import QUEUE_PAGE_ROWS
from needlepoint.visits.models import Visit
from tests.conftest import audit_lock_queries, client_for, make_member
from tests.outcomes.conftest import open_episode, overdue_episodes

HOST = "https://np.test"
PSFS = {"activity_1": 4, "activity_2": 5, "activity_3": 6}


@pytest.fixture(autouse=True)
def short_links(settings):
    settings.SHORT_LINK_BASE = HOST
    settings.SMS_BACKEND = "needlepoint.sms.FileBackend"
    settings.SMS_DEFAULT_COUNTRY_CODE = ""


@pytest.fixture
def reachable(patient):
    Patient.objects.filter(pk=patient.pk).update(email="jane@example.org", phone="")
    patient.refresh_from_db()
    return patient


def run(capsys, *args: str) -> tuple[int, str]:
    code = main(["outcomes", "send-due", *args])
    return code, capsys.readouterr().out


def _board(clinician) -> dict:
    """The re-assessment board as its own page shows it."""
    return schedule.overdue_board(clinician, limit=QUEUE_PAGE_ROWS, what="re-assessments overdue")


def test_send_due_sends_once_and_lists_the_instrument_it_cannot_send(clinician, reachable, capsys) -> None:
    # Neck pain collects NDI (wording not shipped, none entered) and PSFS; opened 20 days ago, day 14 is due.
    episode = open_episode(clinician, reachable, "neck_pain", "M54.2", "central", days_ago=20)
    code, out = run(capsys)
    assert code == 0
    assert "PSFS (reassessment): sent, by email to jane@example.org" in out
    assert "NDI (reassessment): skipped, not sendable" in out
    link = SelfReportLink.objects.get(episode=episode)
    assert link.instruments == ["PSFS"] and link.time_point == "reassessment" and link.created_by == clinician
    assert len(mail.outbox) == 1 and HOST + "/r/" in mail.outbox[0].body
    message = LinkMessage.objects.get(link=link)
    assert message.sent_by is None and message.sent_to == "jane@example.org"
    entry = AuditEntry.objects.filter(summary__contains="sent on schedule").get()
    assert entry.via == "cli"

    # Run twice, it sends once: the open link counts as sent.
    code, out = run(capsys)
    assert code == 0 and "PSFS (reassessment): already sent" in out and "0 sent" in out
    assert SelfReportLink.objects.filter(episode=episode).count() == 1 and len(mail.outbox) == 1


def test_a_clinician_s_answer_in_the_window_counts_as_done(clinician, reachable, capsys) -> None:
    episode = open_episode(clinician, reachable, "neck_pain", "M54.2", "central", days_ago=20)
    actions.record_questionnaire(
        clinician, episode, "PSFS", PSFS, time_point="reassessment", observed_at=timezone.now() - timedelta(days=5)
    )
    code, out = run(capsys, "--json")
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and [(r["instruments"], r["status"]) for r in rows] == [(["NDI"], "skipped")]
    assert not SelfReportLink.objects.exists()


def test_dry_run_lists_and_stores_nothing(clinician, reachable, capsys) -> None:
    open_episode(clinician, reachable, "neck_pain", "M54.2", "central", days_ago=20)
    before = AuditEntry.objects.count()
    code, out = run(capsys, "--dry-run", "--json")
    rows = [json.loads(line) for line in out.splitlines()]
    assert (
        code == 0
        and {"instruments": ["PSFS"], "status": "would send", "detail": "by email"}.items()
        <= next(r for r in rows if r["instruments"] == ["PSFS"]).items()
    )
    assert not SelfReportLink.objects.exists() and not mail.outbox and AuditEntry.objects.count() == before


def test_opted_out_and_unreachable_patients_are_skipped_with_the_reason(clinician, front_desk, patient, capsys) -> None:
    open_episode(clinician, patient, "neck_pain", "M54.2", "central", days_ago=20)
    code, out = run(capsys)
    assert "PSFS (reassessment): skipped, no contact: no e-mail or mobile number on record" in out
    Patient.objects.filter(pk=patient.pk).update(email="jane@example.org")
    scheduling_actions.set_contact_preference(front_desk, patient.pk, True, "none")
    code, out = run(capsys)
    assert code == 0 and "skipped, opted out of questionnaire links" in out
    assert not SelfReportLink.objects.exists() and not mail.outbox


def test_a_clinic_schedule_every_fourth_visit_replaces_the_default(clinician, clinic_admin, reachable, capsys) -> None:
    actions.set_instrument_plan(clinic_admin, "neck_pain", ["PSFS"], {"PSFS": {"baseline": False, "every_visits": 4}})
    episode = open_episode(clinician, reachable, "neck_pain", "M54.2", "central", days_ago=20)
    assert "0 sent" in run(capsys)[1]  # no visits yet: nothing due
    for n in range(4):
        visit_day = timezone.now() - timedelta(days=10 - n)
        Visit.objects.create(
            clinic_id=episode.clinic_id,
            patient_id=episode.patient_id,
            episode=episode,
            clinician=clinician,
            started_at=visit_day,
        )
    assert "PSFS (reassessment): sent" in run(capsys)[1]


def test_a_malformed_schedule_is_refused_and_changes_nothing(clinic_admin) -> None:
    with pytest.raises(ValidationError) as refused:
        actions.set_instrument_plan(clinic_admin, "neck_pain", ["PSFS"], {"NDI": {"every_days": 14}})
    assert "NDI" in str(refused.value) and not ClinicInstrumentPlan.objects.exists()
    with pytest.raises(ValidationError, match="every_days"):
        actions.set_instrument_plan(clinic_admin, "neck_pain", ["PSFS"], {"*": {"every_days": "often"}})


def test_send_due_without_an_address_for_links_stops_with_a_message(settings, capsys) -> None:
    settings.SHORT_LINK_BASE = ""
    assert main(["outcomes", "send-due"]) == 2
    assert "--base-url" in capsys.readouterr().err


@pytest.mark.parametrize("episodes", [1, 6])
def test_the_dashboard_lists_overdue_re_assessments_within_a_fixed_query_budget(
    clinician, episodes, django_assert_max_num_queries
) -> None:
    overdue_episodes(clinician, episodes)
    client = client_for(clinician)
    # The dashboard's 22 (tests/visits/test_visit_pages.py, the board worked out: a test runs in a transaction) and
    # the overdue rows' patients: the same for 1 or 6.
    with django_assert_max_num_queries(23 + audit_lock_queries()):
        page = client.get("/")
    assert page.status_code == 200
    html = page.content.decode()
    assert html.count('data-testid="reassessment-overdue"') == episodes
    assert "NDI, PSFS" in html and "not sent" in html
    # Each episode: the baseline and day 14 missed for NDI and PSFS = 4 settled occasions; below 10 the rate
    # is withheld.
    board = _board(clinician)
    [rate] = board["completion"]
    assert (rate.n, rate.done) == (4 * episodes, 0)
    assert rate.percent == ("not enough data" if 4 * episodes < schedule.MIN_OCCASIONS else "0%")
    assert ("<td>not enough data</td>" in html) == (4 * episodes < schedule.MIN_OCCASIONS)


def test_a_clinician_sees_only_their_own_patients_and_an_answer_clears_the_row(clinic, clinician, reachable) -> None:
    second_clinician = make_member(clinic, "bob", "clinician", profession="physical_therapist", licence_number="PT-2")
    episode = open_episode(clinician, reachable, "neck_pain", "M54.2", "central", days_ago=25)
    assert len(_board(clinician)["reassessments_overdue"]) == 1
    assert _board(second_clinician)["reassessments_overdue"] == []
    for code, answers in (("PSFS", PSFS),):
        actions.record_questionnaire(clinician, episode, code, answers, time_point="reassessment")
    [row] = _board(clinician)["reassessments_overdue"]
    assert row["instruments"] == "NDI"


def test_the_board_follows_the_clinician_of_the_latest_visit_not_who_opened_the_episode(
    clinic, clinician, reachable
) -> None:
    # The clinician's board is chosen in SQL (latest visit's clinician, else who opened it) before the schedule is
    # computed; it must agree with the rule the rows are attributed by.
    second_clinician = make_member(clinic, "bob", "clinician", profession="physical_therapist", licence_number="PT-2")
    episode = open_episode(clinician, reachable, "neck_pain", "M54.2", "central", days_ago=25)
    at = timezone.now() - timedelta(days=20)
    for who, days_later in ((clinician, 0), (second_clinician, 2)):
        Visit.objects.create(
            clinic=clinic, patient=reachable, episode=episode, clinician=who, started_at=at + timedelta(days=days_later)
        )
    assert _board(clinician)["reassessments_overdue"] == []
    [row] = _board(second_clinician)["reassessments_overdue"]
    assert row["episode_id"] == episode.pk
    [rate] = _board(second_clinician)["completion"]
    assert rate.name and rate.n > 0


def test_the_plans_page_says_when_each_questionnaire_is_due_and_changes_it(clinic_admin) -> None:
    client = client_for(clinic_admin)
    page = client.get("/outcomes/instruments/").content.decode()
    assert "NDI: at baseline, every 14 days and at discharge" in page
    actions.set_instrument_plan(clinic_admin, "neck_pain", ["NDI", "PSFS"], {"NDI": {"every_visits": 4}})
    form = {"condition": "neck_pain", "instruments": "NDI, PSFS", "schedule_given": "1", "baseline": "on"}
    saved = client.post("/outcomes/instruments/", form | {"every_days": "28"})
    assert saved.status_code == 302
    plan = ClinicInstrumentPlan.objects.get(condition="neck_pain")
    # The form's rule applies to every questionnaire; the rule set for NDI alone is kept.
    assert plan.schedule == {
        "NDI": {"every_visits": 4},
        "*": {"baseline": True, "every_days": 28, "every_visits": None, "discharge": False},
    }
    page = client.get("/outcomes/instruments/").content.decode()
    assert (
        "NDI: at baseline, every 4th visit and at discharge" in page and "PSFS: at baseline and every 28 days" in page
    )
    refused = client.post(
        "/outcomes/instruments/", {"condition": "neck_pain", "instruments": "PSFS", "schedule_given": "1"}
    )
    assert refused.status_code == 200 and "at least once" in refused.content.decode()
    assert ClinicInstrumentPlan.objects.get(condition="neck_pain").schedule == plan.schedule
