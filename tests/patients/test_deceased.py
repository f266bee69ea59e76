"""A patient's death: recorded on the chart (date optional) and withdrawn when recorded in error, each audited and
nothing deleted; the chart and the patient lists say "Deceased"; and nothing reaches the patient afterwards, each
refusal tried through the route a user takes: booking, questionnaire and diary links (new and already sent),
after-care by message, reminders (also the reminder job), the scheduled send-due job and new visits. A visit
started before the death can still be signed."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from needlepoint.accounts.models import AuditEntry
from needlepoint.cli import main
from needlepoint.outcomes import actions as outcome_actions
from needlepoint.outcomes.models import HeadacheDiaryEntry, Observation, SelfReportLink
from needlepoint.patients import actions
from needlepoint.patients.models import Patient, WithdrawnDeath
from needlepoint.scheduling import actions as scheduling_actions
from needlepoint.scheduling.models import Appointment, ReminderSent
from needlepoint.visits import actions as visit_actions
from needlepoint.visits.dashboard import QUEUE_PAGE_ROWS
from needlepoint.visits.models import Visit
from tests.conftest import client_for
from tests.outcomes.conftest import open_episode
from tests.scheduling.conftest import at, booking
from tests.visits.visit_helpers import open_neck_episode, signed_visit

YESTERDAY = timezone.localdate() - timedelta(days=1)


def record_on_page(client: Client, patient: Patient, day: str = "", **change: str):
    """Post the chart's "Record death" form, as a user does."""
    data = {"deceased_date": day, "right_chart": "on", "version": str(Patient.objects.get(pk=patient.pk).version)}
    return client.post(f"/patients/{patient.pk}/death/", data | change, follow=True)


def died(membership, patient: Patient, day: date | None = YESTERDAY) -> Patient:
    """Record the death through the action (for tests about what it stops)."""
    version = Patient.objects.get(pk=patient.pk).version
    return actions.record_death(membership, patient.pk, day, version).patient


def reachable(patient: Patient) -> Patient:
    Patient.objects.filter(pk=patient.pk).update(email="jane@example.org", phone="")
    return Patient.objects.get(pk=patient.pk)


# ---------------------------------------------------------------------------------------------- recording


def test_front_desk_records_a_death_which_cancels_future_appointments_and_shows_on_the_chart(
    front_desk, clinician, patient
) -> None:
    first = scheduling_actions.book_appointment(front_desk, patient.pk, booking(clinician, at(1, 10)))
    second = scheduling_actions.book_appointment(front_desk, patient.pk, booking(clinician, at(8, 11)))
    client = client_for(front_desk)
    assert "Record death" in client.get(f"/patients/{patient.pk}/").content.decode()

    page = record_on_page(client, patient, YESTERDAY.isoformat()).content.decode()

    stored = Patient.objects.get(pk=patient.pk)
    assert (stored.deceased, stored.deceased_date, stored.death_recorded_by) == (True, YESTERDAY, front_desk)
    assert stored.death_recorded_at is not None and stored.version == 2
    assert f"Deceased {YESTERDAY:%Y-%m-%d}" in page
    assert f"Cancelled the appointment of {scheduling_actions.when(first.starts_at)} with Alice" in page
    assert f"Cancelled the appointment of {scheduling_actions.when(second.starts_at)} with Alice" in page
    assert 'data-testid="deceased"' in page and "Record death" not in page
    assert "Send questionnaire link" not in page
    for appointment in Appointment.objects.all():
        assert (appointment.status, appointment.cancel_reason) == ("cancelled", "Patient recorded as deceased")
    entry = AuditEntry.objects.filter(action="update", patient_id=patient.pk).latest("pk")
    assert (entry.summary, entry.user_id) == (f"death recorded ({YESTERDAY:%Y-%m-%d})", front_desk.user_id)


def test_a_death_with_no_date_known_and_no_appointments(clinician, patient) -> None:
    page = record_on_page(client_for(clinician), patient).content.decode()

    assert "Deceased (date not known)" in page and "There were no future appointments to cancel." in page
    stored = Patient.objects.get(pk=patient.pk)
    assert stored.deceased and stored.deceased_date is None


def test_the_patient_search_and_recent_patients_say_deceased(front_desk, patient) -> None:
    living = actions.register_patient(
        front_desk, {"given_name": "John", "family_name": "Doe", "date_of_birth": date(1975, 2, 3)}
    )
    died(front_desk, patient)
    client = client_for(front_desk)
    client.get(f"/patients/{patient.pk}/")

    found = client.post("/patients/", {"q": "Doe"}).content.decode()
    recent = client.get("/patients/").content.decode()
    header = client.post("/patients/", {"q": "Doe", "from": "header"}, HTTP_HX_REQUEST="true").content.decode()

    assert found.count(f"Deceased {YESTERDAY:%Y-%m-%d}") == 1
    assert f"Deceased {YESTERDAY:%Y-%m-%d}" in recent
    assert f"Deceased {YESTERDAY:%Y-%m-%d}" in header
    assert living.full_name.split()[0] in found


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"deceased_date": (timezone.localdate() + timedelta(days=1)).isoformat()}, "cannot be in the future"),
        ({"deceased_date": "1980-05-16"}, "before the date of birth (1980-05-17)"),
        ({"right_chart": ""}, "This field is required"),
        ({"version": "7"}, "Someone else changed this patient"),
    ],
    ids=["future", "before birth", "chart not checked", "stale version"],
)
def test_a_refused_record_says_why_and_changes_nothing(clinician, front_desk, patient, change, words) -> None:
    appointment = scheduling_actions.book_appointment(front_desk, patient.pk, booking(clinician, at(1, 10)))

    page = record_on_page(client_for(front_desk), patient, YESTERDAY.isoformat(), **change)

    assert page.status_code == 200 and words in page.content.decode()
    stored = Patient.objects.get(pk=patient.pk)
    assert not stored.deceased and stored.version == 1
    assert Appointment.objects.get(pk=appointment.pk).status == "booked"


def test_a_death_already_recorded_is_not_recorded_twice(clinician, patient) -> None:
    died(clinician, patient)
    with pytest.raises(ValidationError, match="already recorded as deceased"):
        died(clinician, patient, date(2026, 1, 1))
    page = client_for(clinician).get(f"/patients/{patient.pk}/death/").content.decode()
    assert "Recorded in error? Withdraw it" in page and 'name="right_chart"' not in page
    assert Patient.objects.get(pk=patient.pk).deceased_date == YESTERDAY


def test_another_clinic_cannot_open_or_record(outsider, patient) -> None:
    client = client_for(outsider)
    assert client.get(f"/patients/{patient.pk}/death/").status_code == 404
    assert record_on_page(client, patient).status_code == 404
    assert (
        client.post(f"/patients/{patient.pk}/death/withdraw/", {"reason": "wrong", "version": "1"}).status_code == 404
    )
    assert not Patient.objects.get(pk=patient.pk).deceased


# ---------------------------------------------------------------------------------------------- withdrawal


def test_a_death_recorded_on_the_wrong_chart_is_withdrawn_and_what_was_recorded_is_kept(
    front_desk, clinician, patient
) -> None:
    appointment = scheduling_actions.book_appointment(front_desk, patient.pk, booking(clinician, at(1, 10)))
    died(front_desk, patient)
    client = client_for(clinician)
    url = f"/patients/{patient.pk}/death/withdraw/"

    refused = client.post(url, {"reason": "oops", "version": "2"})
    assert "Say why the record of death is withdrawn" in refused.content.decode()
    assert Patient.objects.get(pk=patient.pk).deceased

    page = client.post(url, {"reason": "Recorded on the wrong chart", "version": "2"}, follow=True).content.decode()

    assert "The record of death of Jane Doe was withdrawn" in page and "stay cancelled" in page
    assert 'data-testid="deceased"' not in page and "Record death" in page
    stored = Patient.objects.get(pk=patient.pk)
    assert (stored.deceased, stored.deceased_date, stored.death_recorded_by, stored.version) == (False, None, None, 3)
    kept = WithdrawnDeath.objects.get(patient=patient)
    assert (kept.deceased_date, kept.recorded_by, kept.withdrawn_by) == (YESTERDAY, front_desk, clinician)
    assert kept.recorded_at is not None and kept.reason == "Recorded on the wrong chart"
    entry = AuditEntry.objects.filter(patient_id=patient.pk, object_type="patients.WithdrawnDeath").get()
    assert entry.summary == "death record withdrawn: Recorded on the wrong chart"
    assert Appointment.objects.get(pk=appointment.pk).status == "cancelled"
    # Living again: a booking goes through, and the death can be recorded anew.
    scheduling_actions.book_appointment(front_desk, patient.pk, booking(clinician, at(2, 10)))
    assert died(clinician, patient, None).deceased


def test_withdrawing_needs_a_recorded_death_and_the_current_version(clinician, patient) -> None:
    with pytest.raises(ValidationError, match="not recorded as deceased"):
        actions.withdraw_death(clinician, patient.pk, "Recorded on the wrong chart", 1)
    assert (
        "there is nothing to withdraw"
        in client_for(clinician).get(f"/patients/{patient.pk}/death/withdraw/").content.decode()
    )
    died(clinician, patient)
    with pytest.raises(ValidationError, match="Someone else changed"):
        actions.withdraw_death(clinician, patient.pk, "Recorded on the wrong chart", 1)
    assert Patient.objects.get(pk=patient.pk).deceased and not WithdrawnDeath.objects.exists()


# ---------------------------------------------------------------------------------------------- what stops


def test_no_appointment_can_be_booked(front_desk, clinician, patient) -> None:
    died(front_desk, patient)
    tomorrow = timezone.localdate() + timedelta(days=1)
    form = {
        "clinician": str(clinician.pk),
        "kind": "follow_up",
        "day": tomorrow.isoformat(),
        "start": "10:00",
        "minutes": "30",
        "repeat": "1",
        "every_weeks": "1",
        "patient": str(patient.pk),
    }

    page = client_for(front_desk).post("/schedule/book/", form)

    assert page.status_code == 200
    assert f"Jane Doe is recorded as deceased (died {YESTERDAY:%Y-%m-%d}): no appointment can be booked." in (
        page.content.decode()
    )
    assert not Appointment.objects.exists()


def test_the_booking_page_offers_no_time_for_a_deceased_patient(front_desk, patient) -> None:
    client = client_for(front_desk)
    assert ">Book</button>" in client.get(f"/schedule/book/?patient={patient.pk}").content.decode()
    died(front_desk, patient)

    page = client.get(f"/schedule/book/?patient={patient.pk}").content.decode()

    assert "No appointment can be booked for this patient." in page
    assert 'data-testid="free-times"' not in page and ">Book</button>" not in page


def test_no_questionnaire_link_is_sent(front_desk, clinician, patient, clinic_wording) -> None:
    episode = open_episode(clinician, reachable(patient), "low_back_pain", "M54.50", "central")
    died(front_desk, patient)

    page = client_for(front_desk).post(
        f"/patients/{patient.pk}/self-report-link/",
        {"episode": episode.pk, "time_point": "baseline", "days": "7", "channel": "email"},
    )

    assert "no questionnaire link is sent" in page.content.decode()
    assert mail.outbox == [] and not SelfReportLink.objects.exists()


def test_a_link_sent_before_the_death_no_longer_takes_answers_and_does_not_say_why(clinician, patient) -> None:
    episode = open_episode(clinician, patient, "low_back_pain", "M54.50", "central")
    issued = outcome_actions.create_self_report_link(clinician, episode, readable_only=True)
    phone = Client()
    assert phone.get(f"/p/{issued.token}/").status_code == 200
    died(clinician, patient)

    opened = phone.get(f"/p/{issued.token}/")
    short = phone.get(f"/r/{issued.short}")
    answered = phone.post(f"/p/{issued.token}/", {"NPRS-pain": "3"})

    for response in (opened, short, answered):
        text = response.content.decode()
        assert response.status_code == 410 and "This link is no longer active." in text
        assert not any(word in text.lower() for word in ("deceased", "death", "died"))
    assert not Observation.objects.exists()
    assert SelfReportLink.objects.get().used_at is None


def test_a_headache_diary_stops_and_no_new_diary_link_is_made(front_desk, clinician, patient) -> None:
    episode = open_episode(clinician, patient, "migraine", "G43.909", "bilateral")
    diary = outcome_actions.create_diary_link(front_desk, episode)
    died(front_desk, patient)

    opened = Client().get(f"/p/{diary.token}/")
    written = Client().post(f"/p/{diary.token}/", {"day": timezone.localdate().isoformat(), "headache": "no"})
    page = client_for(front_desk).post(
        f"/patients/{patient.pk}/episodes/{episode.pk}/outcomes/diary-link/", follow=True
    )

    assert opened.status_code == written.status_code == 410
    assert "This link is no longer active." in opened.content.decode()
    assert not HeadacheDiaryEntry.objects.exists()
    assert "no diary link is sent" in page.content.decode()
    assert SelfReportLink.objects.count() == 1


def test_no_new_visit_starts_but_one_started_before_the_death_is_signed(clinician, cleared_patient) -> None:
    episode = open_neck_episode(clinician, cleared_patient)
    started = visit_actions.start_visit(clinician, episode, {})
    died(clinician, cleared_patient)

    page = client_for(clinician).post(f"/episodes/{episode.pk}/visits/new/", follow=True).content.decode()

    assert "no new visit can be started" in page
    assert Visit.objects.count() == 1
    assert signed_visit(clinician, started).signed_at is not None


def test_the_episode_page_offers_no_new_visit_after_the_death(clinician, cleared_patient) -> None:
    episode = open_neck_episode(clinician, cleared_patient)
    url = f"/patients/{cleared_patient.pk}/episodes/{episode.pk}/"
    assert "Start a visit now" in client_for(clinician).get(url).content.decode()
    died(clinician, cleared_patient)

    page = client_for(clinician).get(url).content.decode()

    assert "Start a visit now" not in page and "Start from the previous visit" not in page
    assert "no new visit" in page


def test_no_after_care_sheet_is_sent_by_message(clinician, cleared_patient) -> None:
    episode = open_neck_episode(clinician, cleared_patient)
    visit = signed_visit(clinician, visit_actions.start_visit(clinician, episode, {}))
    died(clinician, reachable(cleared_patient))

    page = client_for(clinician).post(f"/visits/{visit.pk}/after-care/send/", {"channel": "email"}, follow=True)

    assert "no after-care sheet is sent" in page.content.decode()
    assert mail.outbox == []


RUN = at(1, 7)  # the reminder job's run: three hours before a 10:00 appointment tomorrow


def test_the_reminder_job_sends_nothing_after_the_death(front_desk, clinician, patient) -> None:
    scheduling_actions.book_appointment(front_desk, reachable(patient).pk, booking(clinician, at(1, 10)))
    assert [a.pk for a in scheduling_actions.due_for_reminder(RUN)] != []
    died(front_desk, patient)

    assert scheduling_actions.send_due_reminders(RUN) == []
    assert mail.outbox == [] and not ReminderSent.objects.exists()


def test_the_reminder_job_and_a_manual_reminder_skip_a_deceased_patient_still_booked(
    front_desk, clinician, patient
) -> None:
    """Defence in depth: a booked appointment of a patient marked deceased by other means (a data correction) is
    still never reminded."""
    soon = scheduling_actions.book_appointment(front_desk, reachable(patient).pk, booking(clinician, at(1, 10)))
    Patient.objects.filter(pk=patient.pk).update(deceased=True)

    outcomes = scheduling_actions.send_due_reminders(RUN)
    refused = client_for(front_desk).post(f"/appointments/{soon.pk}/reminder/", follow=True)

    assert [(o.sent, o.detail) for o in outcomes] == [(False, "Jane Doe is recorded as deceased; nothing was sent.")]
    assert "Jane Doe is recorded as deceased; nothing was sent." in refused.content.decode()
    assert mail.outbox == [] and not ReminderSent.objects.exists()


def test_the_scheduled_questionnaire_job_skips_a_deceased_patient(clinician, patient, settings, capsys) -> None:
    settings.SHORT_LINK_BASE = "https://np.test"
    open_episode(clinician, reachable(patient), "neck_pain", "M54.2", "central", days_ago=20)
    assert main(["outcomes", "send-due", "--dry-run"]) == 0
    assert "would send" in capsys.readouterr().out
    died(clinician, patient)

    assert main(["outcomes", "send-due"]) == 0

    out = capsys.readouterr().out
    assert "skipped, patient recorded as deceased" in out and "sent," not in out
    assert mail.outbox == [] and not SelfReportLink.objects.exists()


# ---------------------------------------------------------------------------------------------- chart cost


def test_the_chart_of_a_deceased_patient_costs_what_a_living_patients_does(clinician, patient) -> None:
    living = actions.register_patient(
        clinician, {"given_name": "John", "family_name": "Roe", "date_of_birth": date(1975, 2, 3)}
    )
    died(clinician, patient)
    client = client_for(clinician)
    client.get(f"/patients/{living.pk}/")  # warm the session and the consent text

    costs = []
    for someone in (living, patient):
        with CaptureQueriesContext(connection) as captured:
            assert client.get(f"/patients/{someone.pk}/").status_code == 200
        costs.append(len(captured))

    assert costs[0] == costs[1]


def test_the_api_reads_the_death_but_cannot_write_it(clinician, patient) -> None:
    from needlepoint.accounts.actions import create_api_token

    _, raw = create_api_token(clinician, "test")
    api = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert api.get(f"/api/v1/patients/{patient.pk}").json()["deceased"] is False
    died(clinician, patient)

    read = api.get(f"/api/v1/patients/{patient.pk}").json()
    changed = api.patch(
        f"/api/v1/patients/{patient.pk}",
        '{"deceased": false, "version": 2, "phone": "+1 555 201 3344"}',
        content_type="application/json",
    )

    assert (read["deceased"], read["deceased_date"]) == (True, YESTERDAY.isoformat())
    assert changed.status_code == 200 and changed.json()["deceased"] is True
    stored = Patient.objects.get(pk=patient.pk)
    assert stored.deceased and stored.phone == "+1 555 201 3344"


def test_the_dashboard_no_longer_lists_a_deceased_patients_overdue_questionnaires(clinician, patient) -> None:
    from needlepoint.outcomes import schedule

    open_episode(clinician, patient, "neck_pain", "M54.2", "central", days_ago=25)  # day 14 is overdue
    client = client_for(clinician)
    assert client.get("/").content.decode().count('data-testid="reassessment-overdue"') == 1
    died(clinician, patient)

    page = client.get("/").content.decode()

    assert 'data-testid="reassessment-overdue"' not in page
    [rate] = schedule.overdue_board(clinician, limit=QUEUE_PAGE_ROWS, what="re-assessments overdue")["completion"]
    assert rate.n == 4  # the occasions missed before the death still count in the clinician's completion rate
