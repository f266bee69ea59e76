"""Fixtures for the outcome records: episodes opened weeks ago (so a series can span days) and visits with pain."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from django.utils import timezone

from needlepoint.patients import actions as patient_actions
from needlepoint.patients.models import Episode
from needlepoint.visits.models import Visit

ODI_16_OF_45 = {  # the published worked example: 16 points over 9 answered sections = 35.5 %
    "pain_intensity": 2,
    "personal_care": 1,
    "lifting": 3,
    "walking": 1,
    "sitting": 2,
    "standing": 2,
    "sleeping": 1,
    "sex_life": None,
    "social_life": 2,
    "travelling": 2,
}

# How a refusal prints the NDI's and ODI's scale: the scores themselves, never a placeholder statement.
SECTION_SCALE = "0 (no disability) to 5 (greatest disability), whole numbers"


def odi(level: int) -> dict[str, int]:
    """ODI answers with every section at statement ``level`` (0-5): total = level × 20 %."""
    return dict.fromkeys(ODI_16_OF_45, level)


def open_episode(clinician, patient, condition: str, icd10: str, side: str, days_ago: int = 60) -> Episode:
    """Open an episode through the real action, then date its opening ``days_ago`` days back."""
    episode = patient_actions.open_episode(
        clinician,
        patient,
        {"condition": condition, "icd10_code": icd10, "side": side, "onset_date": date(2024, 1, 2)},
    )
    Episode.objects.filter(pk=episode.pk).update(opened_at=timezone.now() - timedelta(days=days_ago))
    episode.refresh_from_db()
    return episode


def overdue_episodes(clinician, count: int) -> None:
    """``count`` new patients of ``clinician``, each with a neck-pain episode opened 25 days ago: the baseline
    missed and day 14 overdue (its week of grace ended on day 21)."""
    for n in range(count):
        patient = patient_actions.register_patient(
            clinician,
            {"given_name": f"P{n}", "family_name": "Late", "date_of_birth": date(1970, 1, 1), "sex": "female"},
        )
        open_episode(clinician, patient, "neck_pain", "M54.2", "central", days_ago=25)


@pytest.fixture
def lbp_episode(clinician, patient) -> Episode:
    return open_episode(clinician, patient, "low_back_pain", "M54.50", "central")


@pytest.fixture
def neck_episode(clinician, patient) -> Episode:
    return open_episode(clinician, patient, "neck_pain", "M79.12", "bilateral")


def days_ago(days: float, hour: int = 10, minute: int = 0) -> datetime:
    """An aware datetime ``days`` days back at a given local time."""
    local = timezone.localtime() - timedelta(days=days)
    return local.replace(hour=hour, minute=minute, second=0, microsecond=0)


def add_visits(episode: Episode, clinician, pains: list[tuple[int | None, int | None]], first: datetime) -> list[Visit]:
    """One visit per (pain before, pain after), a day apart from ``first``."""
    visits = [
        Visit(
            clinic_id=episode.clinic_id,
            patient_id=episode.patient_id,
            episode=episode,
            clinician=clinician,
            started_at=first + timedelta(hours=12 * n),
            pain_before=before,
            pain_after=after,
        )
        for n, (before, after) in enumerate(pains)
    ]
    return Visit.objects.bulk_create(visits)
