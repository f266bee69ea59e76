"""Shared helpers for the visit tests: an open episode, a visit, and needling entries made through the
real actions (no mocks, a real database)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.utils import timezone

from needlepoint.patients import actions as patient_actions
from needlepoint.patients.consent import current_consent_text
from needlepoint.patients.models import Episode
from needlepoint.visits import actions
from needlepoint.visits.inputs import NeedlingEntryInput, parse
from needlepoint.visits.models import Visit
from tests.conftest import all_no


def open_neck_episode(clinician: Any, patient: Any, side: str = "right", days_ago: int = 0) -> Any:
    """An open neck-pain episode, opened now or, for visits dated in the past, ``days_ago`` days back."""
    episode = patient_actions.open_episode(
        clinician,
        patient,
        {"condition": "neck_pain", "icd10_code": "M54.2", "side": side, "onset_date": date(2024, 1, 10)},
    )
    return date_episode_back(episode, days_ago) if days_ago else episode


def date_episode_back(episode: Any, days: int) -> Any:
    """The episode with its opening dated ``days`` back, so that visits in the past fall inside it."""
    Episode.objects.filter(pk=episode.pk).update(opened_at=timezone.now() - timedelta(days=days))
    episode.refresh_from_db()
    return episode


def entry(muscle: str = "infraspinatus", side: str = "right", **change: Any) -> dict[str, Any]:
    """The form data of one needling entry (a low-hazard muscle by default)."""
    data: dict[str, Any] = {
        "muscle_id": muscle,
        "side": side,
        "trigger_point": "",
        "needles": 2,
        "diameter_mm": "0.25",
        "length_mm": "30",
        "technique": "pistoning",
        "twitch_response": "single",
        "minutes_left_in": None,
        "patient_response": "Familiar pain reproduced",
    }
    if muscle == "infraspinatus" and "trigger_point" not in change:
        data["trigger_point"] = "TP1"
    return data | change


def entry_input(muscle: str = "infraspinatus", side: str = "right", **change: Any) -> NeedlingEntryInput:
    """One needling entry as the page and the API hand it to the action (read by ``NeedlingEntryInput``)."""
    return parse(NeedlingEntryInput, entry(muscle, side, **change))


def fresh(visit: Visit) -> Visit:
    """The visit as stored now."""
    return Visit.objects.get(pk=visit.pk)


def add(clinician: Any, visit: Visit, acknowledgements: dict[str, str] | None = None, **change: Any) -> Visit:
    """Add one entry at the visit's current version; returns the visit as stored."""
    actions.add_needling_entry(clinician, visit.pk, entry_input(**change), fresh(visit).version, acknowledgements)
    return fresh(visit)


def reconcile(clinician: Any, visit: Visit) -> Visit:
    """All needles removed and in sharps."""
    visit = fresh(visit)
    actions.record_needle_counts(
        clinician,
        visit.pk,
        opened=visit.needles_opened,
        removed=visit.needles_inserted,
        in_sharps=visit.needles_opened,
        expected_version=visit.version,
    )
    return fresh(visit)


def signed_visit(clinician: Any, visit: Visit) -> Visit:
    """The visit with three low-hazard muscles, reconciled and signed."""
    for muscle, point in (("infraspinatus", "TP1"), ("deltoid", "middle"), ("teres-minor", "")):
        add(clinician, visit, muscle=muscle, trigger_point=point)
    visit = reconcile(clinician, visit)
    actions.sign_visit(clinician, visit.pk, visit.version)
    return fresh(visit)


def clear_with(clinician: Any, patient: Any, **answers: str) -> None:
    """Screen the patient with some yes answers (precautions acknowledged) and record consent."""
    screening = patient_actions.record_screening(clinician, patient, all_no() | answers)
    if screening.needs_acknowledgement:
        patient_actions.acknowledge_precautions(clinician, screening, "Managed: superficial needling, caution.")
    text = current_consent_text(patient.clinic)
    patient_actions.record_consent(clinician, patient, patient.full_name, text.version)
