"""Migration 0005 turns stored option positions into the values the form prints, and back, leaving scores alone."""

from __future__ import annotations

import importlib

from django.apps import apps

from needlepoint.outcomes.models import Observation

migration = importlib.import_module("needlepoint.outcomes.migrations.0005_answers_as_printed")


def _stored(episode, clinician, code: str, answers: dict, value: float) -> Observation:
    return Observation.objects.create(
        clinic_id=episode.clinic_id, patient_id=episode.patient_id, episode=episode, instrument=code, value=value,
        unit="points", answers=answers, observed_on=episode.opened_at.date(), observed_at=episode.opened_at,
        time_point="baseline", source="clinician", recorded_by=clinician,
    )  # fmt: skip


def test_positions_become_printed_values_and_back(clinician, lbp_episode) -> None:
    groc = _stored(lbp_episode, clinician, "GROC", {"global_change": 10}, 3)  # position 10 was +3
    hit6 = _stored(lbp_episode, clinician, "HIT6", {"severe_pain": 0, "concentration": 4, "too_tired": None}, 61)
    dash = _stored(lbp_episode, clinician, "QUICKDASH", {"open_jar": 0, "sleep": 4}, 0)
    odi = _stored(lbp_episode, clinician, "ODI", {"lifting": 3}, 60)
    migration.to_printed(apps, None)
    for row in (groc, hit6, dash, odi):
        row.refresh_from_db()
    assert groc.answers == {"global_change": 3} and groc.value == 3
    assert hit6.answers == {"severe_pain": 6, "concentration": 13, "too_tired": None}
    assert dash.answers == {"open_jar": 1, "sleep": 5}
    assert odi.answers == {"lifting": 3}  # NDI and ODI print 0-5: nothing to change
    migration.to_positions(apps, None)
    groc.refresh_from_db()
    hit6.refresh_from_db()
    assert groc.answers == {"global_change": 10} and hit6.answers["concentration"] == 4
