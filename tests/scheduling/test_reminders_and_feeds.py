"""Reminders (each once, opt-out respected, no clinical content), the ``needlepoint reminders send`` command,
and the clinician's private iCalendar feed (hashed token, revocable, least patient detail)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.utils import timezone

from needlepoint.accounts.models import AuditEntry
from needlepoint.patients.models import Patient
from needlepoint.scheduling import actions
from needlepoint.scheduling.models import CalendarFeed, ReminderSent
from tests.conftest import client_for
from tests.scheduling.conftest import appointment_at, at, booking

RUN = at(1, 7)  # the cron run: three hours before a 10:00 appointment tomorrow


@pytest.fixture
def with_email(patient):
    Patient.objects.filter(pk=patient.pk).update(email="jane@example.org")
    return Patient.objects.get(pk=patient.pk)


def test_a_due_reminder_is_sent_once_with_time_place_and_clinician_only(front_desk, clinician, with_email):
    soon = actions.book_appointment(front_desk, with_email.pk, booking(clinician, at(1, 10)))
    actions.book_appointment(front_desk, with_email.pk, booking(clinician, at(3, 10)))  # outside the 24 h window

    first = actions.send_due_reminders(RUN)
    again = actions.send_due_reminders(RUN)

    assert [(o.appointment_id, o.sent) for o in first] == [(soon.pk, True)]
    assert again == []
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["jane@example.org"]
    assert "Test Clinic" in message.subject
    assert "Dear Jane" in message.body and "follow-up appointment with Alice" in message.body
    assert "30 minutes" in message.body
    assert ReminderSent.objects.get().appointment_id == soon.pk


def test_a_patient_who_opted_out_gets_no_reminder_and_nothing_is_stored(front_desk, clinician, with_email):
    actions.set_contact_preference(front_desk, with_email.pk, False)
    soon = actions.book_appointment(front_desk, with_email.pk, booking(clinician, at(1, 10)))

    outcomes = actions.send_due_reminders(RUN)
    assert [(o.sent, o.detail) for o in outcomes] == [
        (False, "Jane Doe has asked for no appointment reminders; nothing was sent.")
    ]
    with pytest.raises(ValidationError, match="has asked for no appointment reminders"):
        actions.send_reminder(front_desk, soon.pk)
    assert mail.outbox == [] and not ReminderSent.objects.exists()

    actions.set_contact_preference(front_desk, with_email.pk, True)
    actions.send_reminder(front_desk, soon.pk)
    assert len(mail.outbox) == 1
    with pytest.raises(ValidationError, match="already sent"):
        actions.send_reminder(front_desk, soon.pk)
    assert ReminderSent.objects.count() == 1


def test_no_address_and_cancelled_appointments_get_no_reminder(front_desk, clinician, patient):
    soon = actions.book_appointment(front_desk, patient.pk, booking(clinician, at(1, 10)))
    assert actions.send_due_reminders(RUN)[0].detail == "Jane Doe has no e-mail address on record; nothing was sent."
    Patient.objects.filter(pk=patient.pk).update(email="jane@example.org")
    actions.change_status(front_desk, soon.pk, "cancelled", reason="patient unwell")
    assert actions.send_due_reminders(RUN) == []
    assert mail.outbox == [] and not ReminderSent.objects.exists()


def test_a_failed_send_records_nothing_so_the_next_run_retries(front_desk, clinician, with_email):
    actions.book_appointment(front_desk, with_email.pk, booking(clinician, at(1, 10)))

    class RefusingServer:
        """A mail connection whose server refuses every message (a real failure path, no mock of our code)."""

        def send_messages(self, messages):
            raise ConnectionRefusedError("mail server refused")

    outcomes = actions.send_due_reminders(RUN, connection=RefusingServer())
    assert outcomes[0].sent is False and "sending failed: mail server refused" in outcomes[0].detail
    assert not ReminderSent.objects.exists()
    assert actions.send_due_reminders(RUN)[0].sent is True


def test_the_reminders_command_sends_and_reports(front_desk, clinician, with_email, capsys):
    from needlepoint.cli import main

    # In two hours whatever the time of day the test runs (so not through the opening-hours check).
    appointment_at(clinician, with_email, timezone.now() + timedelta(hours=2), booked_by=front_desk)

    assert main(["reminders", "send"]) == 0
    out = capsys.readouterr().out
    assert "sent to jane@example.org" in out and "1 reminder sent, 0 skipped, 0 failed." in out
    assert main(["reminders", "send"]) == 0
    assert "0 reminders sent" in capsys.readouterr().out
    assert len(mail.outbox) == 1
    assert AuditEntry.objects.filter(object_type="scheduling.ReminderSent", via="cli").count() == 1


# --- the calendar feed -------------------------------------------------------------------------------


def test_a_feed_shows_the_clinicians_appointments_with_given_name_and_type_only(front_desk, clinician, patient):
    booked = actions.book_appointment(front_desk, patient.pk, booking(clinician, at(1, 10)))
    cancelled = actions.book_appointment(front_desk, patient.pk, booking(clinician, at(1, 11)))
    actions.change_status(front_desk, cancelled.pk, "cancelled", reason="patient unwell")
    _, raw = actions.create_calendar_feed(clinician)

    response = Client().get(f"/calendar-feed/{raw}.ics")

    assert response.status_code == 200 and response["Content-Type"].startswith("text/calendar")
    text = response.content.decode()
    assert text.count("BEGIN:VEVENT") == 2 and "STATUS:CANCELLED" in text
    assert f"UID:appointment-{booked.pk}@test.needlepoint" in text
    assert "SUMMARY:Jane · Follow-up" in text
    for private in ("Doe", patient.mrn, "1980", "unwell"):
        assert private not in text
    assert CalendarFeed.objects.get().token_hash == CalendarFeed.hash_token(raw) != raw
    assert raw not in str(list(CalendarFeed.objects.values_list()))
    assert AuditEntry.objects.filter(summary="calendar feed fetched", user=clinician.user, via="feed").count() == 1


def test_a_new_feed_address_revokes_the_old_one_and_revoking_stops_it(clinician):
    _, old = actions.create_calendar_feed(clinician)
    feed, new = actions.create_calendar_feed(clinician)
    assert Client().get(f"/calendar-feed/{old}.ics").status_code == 404
    assert Client().get(f"/calendar-feed/{new}.ics").status_code == 200

    actions.revoke_calendar_feed(clinician, feed.pk)
    assert Client().get(f"/calendar-feed/{new}.ics").status_code == 404
    assert Client().get("/calendar-feed/npc_guessed.ics").status_code == 404


def test_only_clinicians_have_feeds_and_only_their_own_can_be_revoked(clinician, colleague, front_desk):
    with pytest.raises(PermissionDenied):
        actions.create_calendar_feed(front_desk)
    feed, raw = actions.create_calendar_feed(clinician)
    with pytest.raises(ValidationError, match="No such calendar feed"):
        actions.revoke_calendar_feed(colleague, feed.pk)
    assert Client().get(f"/calendar-feed/{raw}.ics").status_code == 200


def test_the_feed_page_shows_a_new_address_once(clinician):
    client = client_for(clinician)
    page = client.post("/schedule/calendar-feed/").content.decode()
    assert "/calendar-feed/npc_" in page
    assert "/calendar-feed/npc_" not in client.get("/schedule/calendar-feed/").content.decode()
