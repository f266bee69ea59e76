"""Fixtures of the visit tests: an open episode for a cleared patient, and a visit in it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from needlepoint.visits import actions
from tests.visits.visit_helpers import open_neck_episode


@pytest.fixture
def episode(clinician, cleared_patient):
    return open_neck_episode(clinician, cleared_patient)


@pytest.fixture
def visit(clinician, episode):
    return actions.start_visit(clinician, episode, {"started_at": timezone.now() - timedelta(minutes=5)})
