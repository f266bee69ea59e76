"""The demo clinic's pain drawings and palpation findings: valid by the actions' rules, deterministic for a
seed, and not added twice."""

from __future__ import annotations

import pytest

from needlepoint.atlas.actions import clean_drawing
from needlepoint.atlas.catalogue import muscles
from needlepoint.atlas.models import Assessment, PalpationFinding
from needlepoint.demo import build_demo
from needlepoint.patients.models import Episode
from tests.conftest import built_once

PATIENTS = 40


def fingerprint() -> list[tuple[object, ...]]:
    """The demo's assessments and findings, without ids or clock times."""
    rows = Assessment.objects.order_by("patient__mrn", "episode__condition", "kind").values_list(
        "patient__mrn", "episode__condition", "kind", "drawing"
    )
    findings = PalpationFinding.objects.order_by("patient__mrn", "assessment__kind", "muscle_id", "side").values_list(
        "patient__mrn", "muscle_id", "side", "trigger_point", "status", "twitch_response"
    )
    return [*rows, *findings]


@pytest.fixture(scope="module")
def built_demo(django_db_setup, django_db_blocker):
    """The demo clinic, built once for this module's tests (each undoes what it writes)."""
    yield from built_once(django_db_blocker, lambda: build_demo(patients=PATIENTS, seed=3))


@pytest.fixture
def demo(built_demo, db):
    return built_demo


def test_every_demo_episode_has_an_initial_assessment_and_valid_findings(demo) -> None:
    episodes = Episode.objects.filter(clinic=demo.clinic)
    initial = Assessment.objects.filter(kind="initial")
    assert initial.count() == episodes.count() > 0
    assert Assessment.objects.filter(kind="reassessment").exists()
    for assessment in Assessment.objects.select_related("episode"):
        assert clean_drawing(assessment.drawing) == assessment.drawing
        assert assessment.assessed_at >= assessment.episode.opened_at
        assert assessment.clinic_id == assessment.episode.clinic_id
    atlas = muscles()
    for finding in PalpationFinding.objects.all():
        codes = [tp.code for tp in atlas[finding.muscle_id].trigger_points]
        assert finding.trigger_point in codes and finding.side in ("left", "right")
    assert demo.summary["assessments"] == Assessment.objects.count()
    assert demo.summary["palpation_findings"] == PalpationFinding.objects.count() > 0


def test_the_demo_is_deterministic_and_a_second_run_adds_nothing(demo) -> None:
    first = fingerprint()
    count = Assessment.objects.count()
    build_demo(patients=PATIENTS, seed=3)
    assert Assessment.objects.count() == count
    assert fingerprint() == first
