"""Fixtures of the assessment tests: an open neck-pain episode opened a month ago, and assessments in it,
made through the real actions (no mocks, a real database)."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from needlepoint.accounts.actions import create_api_token
from needlepoint.atlas import actions
from needlepoint.atlas.models import Assessment, PalpationFinding
from needlepoint.patients import actions as patient_actions
from needlepoint.patients.models import Episode

# Temple and posterolateral neck on the right: upper trapezius explains both (its primary zone).
HEADACHE_DRAWING = {"temple-r": 6, "posterolateral-neck-r": None}


def open_episode(
    clinician: Any,
    patient: Any,
    condition: str = "neck_pain",
    icd10: str = "M54.2",
    side: str = "right",
    days_ago: int = 30,
) -> Episode:
    """Open an episode through the real action, then date its opening ``days_ago`` days back."""
    episode = patient_actions.open_episode(
        clinician, patient, {"condition": condition, "icd10_code": icd10, "side": side, "onset_date": date(2024, 1, 2)}
    )
    Episode.objects.filter(pk=episode.pk).update(opened_at=timezone.now() - timedelta(days=days_ago))
    episode.refresh_from_db()
    return episode


def api_client(membership: Any) -> Client:
    """A client that authenticates with a personal API token, as another system would."""
    _, raw = create_api_token(membership, "atlas tests")
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


def api_call(client: Client, url: str, body: Any, method: str = "POST"):
    """A JSON request."""
    return client.generic(method, url, json.dumps(body), content_type="application/json")


def snapshot() -> dict[str, list[tuple[Any, ...]]]:
    """Every assessment and finding row: equal snapshots mean nothing changed."""
    return {
        "assessments": list(
            Assessment.objects.order_by("pk").values_list("pk", "episode_id", "kind", "drawing", "notes", "version")
        ),
        "findings": list(
            PalpationFinding.objects.order_by("pk").values_list(
                "pk",
                "assessment_id",
                "muscle_id",
                "side",
                "trigger_point",
                "status",
                "twitch_response",
                "reproduces_familiar_pain",
                "removed_at",
            )
        ),
    }


@pytest.fixture
def episode(clinician, patient) -> Episode:
    return open_episode(clinician, patient)


@pytest.fixture
def assessment(clinician, episode) -> Assessment:
    return actions.create_assessment(
        clinician,
        episode,
        {"drawing": HEADACHE_DRAWING, "assessed_at": timezone.now() - timedelta(days=20), "notes": "Worse at desk."},
    )


@pytest.fixture
def other_assessment(outsider) -> Assessment:
    """An assessment in another clinic."""
    other_patient = patient_actions.register_patient(
        outsider, {"given_name": "Olga", "family_name": "Berg", "date_of_birth": date(1970, 2, 3), "sex": "female"}
    )
    other_episode = open_episode(outsider, other_patient)
    return actions.create_assessment(outsider, other_episode, {"drawing": {"temple-l": 4}})
