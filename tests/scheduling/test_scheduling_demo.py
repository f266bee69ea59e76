"""The demo clinic's appointment book: today and the coming two weeks, no double booking, built once."""

from __future__ import annotations

from itertools import pairwise

import pytest
from django.utils import timezone

from needlepoint.demo import build_demo
from needlepoint.scheduling.config import book_settings
from needlepoint.scheduling.models import Appointment
from tests.conftest import built_once


@pytest.fixture(scope="module")
def built_demo(django_db_setup, django_db_blocker):
    """The demo clinic, built once for this module's tests (each undoes what it writes)."""
    yield from built_once(django_db_blocker, lambda: build_demo(patients=60, seed=3))


@pytest.fixture
def demo(built_demo, db):
    return built_demo


def test_the_demo_books_today_for_each_clinician_without_double_booking(demo) -> None:
    today = timezone.localdate()
    booked = list(Appointment.objects.filter(clinic=demo.clinic).order_by("clinician_id", "starts_at"))
    todays = [a for a in booked if timezone.localtime(a.starts_at).date() == today]
    if today.weekday() < 5:
        assert {a.clinician_id for a in todays} == {demo.memberships["pt"].pk, demo.memberships["chiro"].pk}
    assert demo.summary["appointments"] == len(booked) > 20
    offered = book_settings(demo.clinic.slug)
    for a in booked:
        kind = offered.type_named(a.kind)
        assert kind is not None and a.minutes in kind.lengths
    for earlier, later in pairwise(booked):
        if earlier.clinician_id == later.clinician_id:
            assert earlier.ends_at <= later.starts_at
    by_patient = sorted(booked, key=lambda a: (a.patient_id, a.starts_at))
    for earlier, later in pairwise(by_patient):
        if earlier.patient_id == later.patient_id:
            assert earlier.ends_at <= later.starts_at


def test_extending_the_demo_keeps_the_book_it_has(demo) -> None:
    before = Appointment.objects.count()
    build_demo(patients=70, seed=3)
    assert Appointment.objects.count() == before
