"""Fixtures for the robustness tests: an open low back pain episode, opened through the real action."""

from __future__ import annotations

import pytest

from tests.outcomes.conftest import open_episode


@pytest.fixture
def lbp_episode(clinician, patient):
    return open_episode(clinician, patient, "low_back_pain", "M54.50", "central")
