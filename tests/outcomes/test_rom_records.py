"""Range of motion: joint, movement, side, degrees and method stored with percent of normal; values outside
physiological bounds and wrong sides or methods refused with nothing stored."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from needlepoint.outcomes import actions
from needlepoint.outcomes.models import RomMeasurement
from needlepoint.outcomes.progress import episode_progress
from tests.conftest import client_for
from tests.outcomes.conftest import days_ago


def rom(clinician, episode, **extra):
    values = {
        "joint": "cervical_spine",
        "movement": "rotation",
        "side": "left",
        "degrees": 40,
        "method": "crom",
        "time_point": "baseline",
    } | extra
    return actions.record_rom(clinician, episode, **values)


def test_a_measurement_is_stored_with_percent_of_normal(clinician, neck_episode) -> None:
    found = rom(clinician, neck_episode, observed_at=days_ago(20))
    found.refresh_from_db()
    assert (found.joint, found.movement, found.side, found.degrees, found.method) == (
        "cervical_spine",
        "rotation",
        "left",
        40.0,
        "crom",
    )
    assert found.normal_degrees == 80.0 and found.percent_of_normal == 50.0


def test_a_movement_whose_normal_is_zero_has_no_percent(clinician, neck_episode) -> None:
    found = rom(
        clinician, neck_episode, joint="elbow", movement="extension", side="right", degrees=-10, method="goniometer"
    )
    assert found.percent_of_normal is None and found.degrees == -10.0


@pytest.mark.parametrize(
    ("extra", "field", "message"),
    [
        ({"degrees": 400}, "degrees", "outside the accepted range 0° to 120°"),
        ({"degrees": -5}, "degrees", "outside the accepted range"),
        ({"degrees": float("nan")}, "degrees", "not a number of degrees"),
        ({"side": None}, "side", "choose left or right"),
        ({"movement": "flexion", "side": "left"}, "side", "has no side"),
        ({"method": "tape"}, "method", "Use one of: crom, inclinometer, goniometer"),
        (
            {"joint": "shoulder", "movement": "flexion", "method": "crom"},
            "method",
            "Use one of: goniometer, inclinometer",
        ),
        ({"joint": "ankle"}, "movement", "Choose a joint and movement"),
        ({"time_point": "someday"}, "time_point", "Choose baseline"),
    ],
)
def test_bad_measurements_are_refused_and_nothing_is_stored(clinician, neck_episode, extra, field, message) -> None:
    with pytest.raises(ValidationError) as caught:
        rom(clinician, neck_episode, **extra)
    assert message in " ".join(caught.value.message_dict[field])
    assert not RomMeasurement.objects.exists()


def test_a_date_before_the_episode_is_refused(clinician, neck_episode) -> None:
    with pytest.raises(ValidationError) as caught:
        rom(clinician, neck_episode, observed_at=days_ago(90))
    assert "before this episode of care was opened" in caught.value.message_dict["observed_on"][0]
    assert not RomMeasurement.objects.exists()


def test_change_is_judged_against_the_methods_mdc(clinician, neck_episode) -> None:
    rom(clinician, neck_episode, degrees=40, observed_at=days_ago(20))
    rom(clinician, neck_episode, degrees=45, observed_at=days_ago(10), time_point="reassessment")
    rom(clinician, neck_episode, side="right", degrees=40, observed_at=days_ago(20))
    rom(clinician, neck_episode, side="right", degrees=62, observed_at=days_ago(2), time_point="discharge")
    rows = {r.side: r for r in episode_progress(neck_episode).rom}
    assert rows["left"].change.degrees == 5.0 and rows["left"].change.beyond_mdc is False
    assert rows["right"].change.degrees == 22.0 and rows["right"].change.beyond_mdc is True
    assert rows["right"].latest.percent_of_normal == pytest.approx(77.5)


def test_the_form_records_and_refuses(clinician, neck_episode) -> None:
    client = client_for(clinician)
    url = f"/patients/{neck_episode.patient_id}/episodes/{neck_episode.pk}/outcomes/record/rom/"
    assert client.get(url).status_code == 200
    form = {
        "movement": "cervical_spine:rotation",
        "side": "left",
        "degrees": "400",
        "method": "crom",
        "time_point": "baseline",
        "observed_on": timezone.localdate().isoformat(),
    }
    refused = client.post(url, form)
    assert refused.status_code == 200 and b"outside the accepted range" in refused.content
    assert not RomMeasurement.objects.exists()
    assert client.post(url, form | {"degrees": "55.5"}).status_code == 302
    assert RomMeasurement.objects.get().degrees == 55.5
