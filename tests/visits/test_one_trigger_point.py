"""One muscle/side/trigger-point rule (atlas/catalogue.py) for palpation findings and needling entries.

The rule for a muscle with one trigger point: left blank, the record names that trigger point. The visits used to
store a blank and the atlas the code, so a finding at a one-point muscle was offered on the visit again after it
had been needled."""

from __future__ import annotations

import pytest

from needlepoint.atlas import actions as atlas_actions
from needlepoint.atlas.catalogue import MuscleSiteError, muscle_site, muscles, trigger_point_of
from needlepoint.atlas.models import PalpationFinding
from needlepoint.visits.models import NeedlingEntry
from tests.conftest import client_for
from tests.visits.visit_helpers import add


def test_a_blank_trigger_point_of_a_one_point_muscle_is_that_point() -> None:
    teres_minor = muscles()["teres-minor"]
    assert [tp.code for tp in teres_minor.trigger_points] == ["TP"]
    assert trigger_point_of(teres_minor, "") == "TP"
    assert trigger_point_of(teres_minor, " TP ") == "TP"
    with pytest.raises(MuscleSiteError) as caught:
        trigger_point_of(teres_minor, "TP2")
    assert caught.value.problems == {"trigger_point": "Teres minor has no trigger point 'TP2'; choose one of TP."}


def test_a_muscle_with_several_points_needs_the_choice() -> None:
    with pytest.raises(MuscleSiteError) as caught:
        trigger_point_of(muscles()["infraspinatus"], "")
    assert "several trigger points" in caught.value.problems["trigger_point"]


def test_every_problem_of_a_site_is_reported_at_once() -> None:
    with pytest.raises(MuscleSiteError) as caught:
        muscle_site("nope", "up", "")
    assert set(caught.value.problems) == {"muscle_id", "side"}
    site = muscle_site("teres-minor", "left", None)
    assert (site.muscle.id, site.side, site.trigger_point) == ("teres-minor", "left", "TP")


def test_the_finding_and_the_entry_name_the_same_point(clinician, episode, visit) -> None:
    assessment = atlas_actions.create_assessment(clinician, episode, {"drawing": {"temple-l": 6}})
    finding = {"muscle_id": "teres-minor", "side": "right", "status": "active", "reproduces_familiar_pain": True}
    atlas_actions.record_finding(clinician, assessment.pk, finding)
    page = client_for(clinician).get(f"/visits/{visit.pk}/").content.decode()
    assert 'data-suggest-muscle="teres-minor"' in page
    add(clinician, visit, muscle="teres-minor", trigger_point="")
    stored = PalpationFinding.objects.get()
    entry = NeedlingEntry.objects.get()
    assert (entry.muscle_id, entry.side, entry.trigger_point) == (stored.muscle_id, stored.side, "TP")
    assert stored.trigger_point == "TP"
    # Needled as found: no longer offered on the visit.
    assert 'data-suggest-muscle="teres-minor"' not in client_for(clinician).get(f"/visits/{visit.pk}/").content.decode()
