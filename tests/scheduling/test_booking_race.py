"""Two people book the same clinician's slot at the same moment: exactly one booking is stored."""

from __future__ import annotations

import threading
import time
from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction

from needlepoint.patients import actions as patient_actions
from needlepoint.scheduling import actions
from needlepoint.scheduling.models import Appointment
from tests.scheduling.conftest import at, booking


@pytest.mark.django_db(transaction=True)
def test_only_one_of_two_simultaneous_bookings_of_a_slot_is_stored(front_desk, clinician, patient) -> None:
    if connection.vendor == "sqlite" and "memory" in str(connection.settings_dict["TEST"]["NAME"] or ":memory:"):
        # Shared-cache in-memory SQLite reports "table is locked" at once instead of waiting; a clinic's SQLite
        # file (WAL, immediate transactions, busy timeout) serialises the two writers as PostgreSQL does.
        pytest.skip("needs PostgreSQL or an SQLite file: the in-memory test database cannot wait for a lock")
    ken = patient_actions.register_patient(
        front_desk, {"given_name": "Ken", "family_name": "Ito", "date_of_birth": date(1970, 1, 1), "sex": "male"}
    )
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def book(patient_id: int) -> None:
        try:
            start.wait()
            actions.book_appointment(front_desk, patient_id, booking(clinician, at(1, 10)))
            outcomes.append("booked")
        except ValidationError as exc:
            outcomes.append("refused" if "already booked" in " ".join(exc.messages) else str(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=book, args=(p,)) for p in (patient.pk, ken.pk)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["booked", "refused"]
    assert Appointment.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_booking_made_while_a_death_is_being_recorded_is_refused(front_desk, clinician, patient) -> None:
    if connection.vendor == "sqlite" and "memory" in str(connection.settings_dict["TEST"]["NAME"] or ":memory:"):
        pytest.skip("needs PostgreSQL or an SQLite file: the in-memory test database cannot wait for a lock")
    recorded, outcomes = threading.Event(), []

    def record_death() -> None:
        try:
            with transaction.atomic():
                patient_actions.record_death(front_desk, patient.pk, None, 1)
                recorded.set()
                time.sleep(0.5)  # the booking reads the patient now, before the death commits
        finally:
            recorded.set()
            connection.close()

    def book() -> None:
        try:
            recorded.wait()
            actions.book_appointment(front_desk, patient.pk, booking(clinician, at(1, 10)))
            outcomes.append("booked")
        except ValidationError as exc:
            outcomes.append(" ".join(exc.messages))
        finally:
            connection.close()

    threads = [threading.Thread(target=record_death), threading.Thread(target=book)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes == ["Jane Doe is recorded as deceased: no appointment can be booked."]
    assert not Appointment.objects.exists()
