"""The outcomes API: observations, ROM, progress and plans, under the same actions and access rules as the pages."""

from __future__ import annotations

import pytest

from needlepoint.outcomes.models import Observation, RomMeasurement
from tests.conftest import client_for
from tests.outcomes.conftest import add_visits, days_ago, odi

JSON = "application/json"


def api(episode, tail: str) -> str:
    return f"/api/v1/outcomes/episodes/{episode.pk}/{tail}"


def test_create_and_list_observations(clinician, lbp_episode) -> None:
    client = client_for(clinician)
    (visit,) = add_visits(lbp_episode, clinician, [(6, 3)], days_ago(3))
    made = client.post(
        api(lbp_episode, "observations"),
        {"instrument": "odi", "answers": odi(3), "time_point": "baseline", "observed_at": days_ago(3).isoformat(),
         "visit_id": visit.pk},
        content_type=JSON,
    )  # fmt: skip
    assert made.status_code == 201, made.content
    body = made.json()
    assert (body["instrument"], body["value"], body["unit"], body["visit_id"]) == ("ODI", 60.0, "percent", visit.pk)
    assert body["answers"]["lifting"] == 3 and body["source"] == "clinician" and body["recorded_by"].startswith("Alice")
    client.post(
        api(lbp_episode, "observations"),
        {"instrument": "NPRS", "answers": {"pain": 5}, "time_point": "visit"},
        content_type=JSON,
    )
    listed = client.get(api(lbp_episode, "observations")).json()
    assert [o["instrument"] for o in listed] == ["ODI", "NPRS"]
    assert [o["instrument"] for o in client.get(api(lbp_episode, "observations?instrument=nprs")).json()] == ["NPRS"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"instrument": "ODI", "answers": odi(3) | {"lifting": 6}, "time_point": "baseline"}, "lifting"),
        ({"instrument": "ODI", "answers": odi(3) | {"lifting": None, "walking": None}, "time_point": "baseline"},
         "answers"),
        ({"instrument": "ODI", "answers": odi(3), "time_point": "baseline", "observed_at": "2001-01-01T10:00:00Z"},
         "observed_on"),
    ],
)  # fmt: skip
def test_bad_observations_get_a_400_naming_the_field(clinician, lbp_episode, body, field) -> None:
    response = client_for(clinician).post(api(lbp_episode, "observations"), body, content_type=JSON)
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert not Observation.objects.exists()


def test_rom_through_the_api(clinician, neck_episode) -> None:
    client = client_for(clinician)
    body = {"joint": "cervical_spine", "movement": "rotation", "side": "right", "degrees": 60, "method": "crom",
            "time_point": "baseline"}  # fmt: skip
    made = client.post(api(neck_episode, "rom"), body, content_type=JSON)
    assert made.status_code == 201 and made.json()["percent_of_normal"] == 75.0
    refused = client.post(api(neck_episode, "rom"), body | {"degrees": 300}, content_type=JSON)
    assert refused.status_code == 400 and "outside the accepted range" in refused.json()["errors"]["degrees"][0]
    assert [r["degrees"] for r in client.get(api(neck_episode, "rom")).json()] == [60.0]
    assert RomMeasurement.objects.count() == 1


def test_progress_summary(clinician, lbp_episode) -> None:
    client = client_for(clinician)
    for level, point, day in ((3, "baseline", 20), (1, "reassessment", 2)):
        client.post(
            api(lbp_episode, "observations"),
            {"instrument": "ODI", "answers": odi(level), "time_point": point, "observed_at": days_ago(day).isoformat()},
            content_type=JSON,
        )
    add_visits(lbp_episode, clinician, [(8, 5), (4, 2)], days_ago(19))
    body = client.get(api(lbp_episode, "progress")).json()
    odi_row = body["measures"][0]
    assert (odi_row["instrument"], odi_row["baseline"], odi_row["latest"], odi_row["change_points"]) == (
        "ODI",
        60.0,
        20.0,
        -40.0,
    )
    assert odi_row["is_responder"] is True and odi_row["mcid"]["value"] == 10
    assert [v["pain_before"] for v in body["visit_pain"]] == [8, 4]
    assert body["pain_change_points"] == -4.0 and body["pain_is_responder"] is True


def test_front_desk_and_other_clinics_are_refused(front_desk, outsider, lbp_episode) -> None:
    assert client_for(front_desk).get(api(lbp_episode, "observations")).status_code == 403
    assert client_for(front_desk).get(api(lbp_episode, "progress")).status_code == 403
    refused = client_for(front_desk).post(
        api(lbp_episode, "observations"),
        {"instrument": "ODI", "answers": odi(1), "time_point": "baseline"},
        content_type=JSON,
    )
    assert refused.status_code == 403
    assert client_for(outsider).get(api(lbp_episode, "observations")).status_code == 404
    assert client_for(outsider).post(api(lbp_episode, "self-report-links"), {}, content_type=JSON).status_code == 404
    assert client_for(front_desk).get("/api/v1/outcomes/instruments").status_code == 403


def test_instruments_and_plans(clinician, clinic_admin) -> None:
    found = {i["code"]: i for i in client_for(clinician).get("/api/v1/outcomes/instruments").json()}
    assert found["ODI"]["mcid"]["value"] == 10 and found["ODI"]["wording_shipped"] is False
    assert found["ODI"]["items"][0]["kind"] == "choice" and len(found["ODI"]["items"][0]["options"]) == 6
    plans = {p["condition"]: p for p in client_for(clinician).get("/api/v1/outcomes/plans").json()}
    assert plans["neck_pain"]["instruments"] == ["NDI", "PSFS"] and not plans["neck_pain"]["clinic_choice"]
    changed = client_for(clinic_admin).put(
        "/api/v1/outcomes/plans/neck_pain", {"instruments": ["NDI"]}, content_type=JSON
    )
    assert changed.status_code == 200 and changed.json()["clinic_choice"] is True
    assert (
        client_for(clinician)
        .put("/api/v1/outcomes/plans/neck_pain", {"instruments": ["NDI"]}, content_type=JSON)
        .status_code
        == 403
    )
    bad = client_for(clinic_admin).put("/api/v1/outcomes/plans/neck_pain", {"instruments": ["NOPE"]}, content_type=JSON)
    assert bad.status_code == 400 and "NOPE is not a known instrument" in bad.json()["detail"]


def test_the_outcome_endpoints_are_documented(clinician) -> None:
    schema = client_for(clinician).get("/api/v1/openapi.json").json()
    paths = set(schema["paths"])
    for path in (
        "/api/v1/outcomes/instruments",
        "/api/v1/outcomes/episodes/{episode_id}/observations",
        "/api/v1/outcomes/episodes/{episode_id}/rom",
        "/api/v1/outcomes/episodes/{episode_id}/progress",
        "/api/v1/outcomes/episodes/{episode_id}/self-report-links",
        "/api/v1/outcomes/plans",
        "/api/v1/outcomes/plans/{condition}",
    ):
        assert path in paths


def test_the_api_takes_the_values_the_form_prints(clinician, lbp_episode, patient) -> None:
    from tests.outcomes.conftest import open_episode

    client = client_for(clinician)
    groc = client.post(
        api(lbp_episode, "observations"),
        {"instrument": "GROC", "answers": {"global_change": 3}, "time_point": "reassessment"},
        content_type=JSON,
    )
    assert groc.status_code == 201 and groc.json()["value"] == 3 and groc.json()["answers"] == {"global_change": 3}
    labelled = client.post(
        api(lbp_episode, "observations"),
        {"instrument": "GROC", "answers": {"global_change": "Somewhat better"}, "time_point": "reassessment"},
        content_type=JSON,
    )
    assert labelled.status_code == 201 and labelled.json()["value"] == 3
    headache = open_episode(clinician, patient, "tension_type_headache", "G44.209", "central")
    hit6 = dict(zip(["severe_pain", "limits_daily_activities", "wish_to_lie_down", "too_tired", "fed_up_irritated",
                     "concentration"], [6, 8, 10, 11, 13, 13], strict=True))  # fmt: skip
    made = client.post(api(headache, "observations"), {"instrument": "HIT6", "answers": hit6, "time_point": "baseline"},
                       content_type=JSON)  # fmt: skip
    assert made.status_code == 201 and made.json()["value"] == 61 and made.json()["answers"] == hit6


@pytest.mark.parametrize(
    ("code", "answers", "shown"),
    [
        ("GROC", {"global_change": 14}, "-7 = A very great deal worse"),
        ("QUICKDASH", {"open_jar": 0}, "1 = No difficulty, 2 = Mild difficulty"),
        ("QUICKDASH", {"open_jar": "no trouble"}, "1 = No difficulty"),
    ],
)
def test_the_api_refuses_positions_with_the_printed_scale(clinician, lbp_episode, code, answers, shown) -> None:
    from needlepoint.outcomes.scoring import instrument

    full = {i.id: 1 for i in instrument(code).core_items} | answers if code == "QUICKDASH" else answers
    response = client_for(clinician).post(
        api(lbp_episode, "observations"), {"instrument": code, "answers": full, "time_point": "baseline"},
        content_type=JSON,
    )  # fmt: skip
    assert response.status_code == 400
    (message,) = response.json()["errors"][next(iter(answers))]
    assert shown in message
    assert not Observation.objects.exists()


def test_the_schema_and_the_instruments_show_printed_values_not_positions(clinician) -> None:
    client = client_for(clinician)
    schema = client.get("/api/v1/openapi.json").content.decode()
    assert "option index" not in schema and "0-based" not in schema and "printed" in schema
    found = {i["code"]: i for i in client.get("/api/v1/outcomes/instruments").json()}
    assert [o["value"] for o in found["HIT6"]["items"][0]["options"]] == [6, 8, 10, 11, 13]
    assert found["GROC"]["items"][0]["options"][0] == {"value": -7, "label": "A very great deal worse"}
    assert found["QUICKDASH"]["items"][0]["scale"].startswith("1 = No difficulty, 2 = Mild difficulty")
