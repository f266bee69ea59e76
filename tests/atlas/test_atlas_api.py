"""The atlas API (/api/v1/atlas): catalogue, matcher, assessments, findings and suggested needling, with the
same rules as the pages: bad input 400 and nothing changed, another clinic's records 404, front desk 403."""

from __future__ import annotations

import pytest

from needlepoint.atlas import actions
from needlepoint.atlas.catalogue import body_map, muscles
from needlepoint.atlas.models import Assessment, PalpationFinding
from tests.atlas.conftest import HEADACHE_DRAWING, api_call, api_client, snapshot

API = "/api/v1/atlas"
FINDING = {"muscle_id": "upper-trapezius", "side": "right", "status": "active", "reproduces_familiar_pain": True}


def test_regions_lists_code_name_view_and_side(clinician) -> None:
    body = api_client(clinician).get(f"{API}/regions").json()
    assert len(body) == len(body_map().regions)
    assert body[2] == {
        "code": "temple-r",
        "name": "Temple (right)",
        "view": "front",
        "side": "right",
        "choir": list(body_map().regions["temple-r"].choir),
    }


def test_muscles_and_one_muscle(clinician) -> None:
    client = api_client(clinician)
    listed = client.get(f"{API}/muscles").json()
    assert [m["id"] for m in listed] == list(muscles())
    detail = client.get(f"{API}/muscles/upper-trapezius").json()
    assert detail["referral"]["primary"] == ["posterolateral-neck", "mastoid", "temple"]
    assert detail["hazard"]["kinds"] == ["pneumothorax"] and detail["hazard"]["safe_depth_mm"] == 25.0
    assert detail["trigger_point_details"][0]["code"] == "TP1"
    assert detail["trigger_point_details"][0]["site"] == "top-of-shoulder"
    assert {s["key"] for s in detail["sources"]} >= {"T1a", "S14"}
    assert client.get(f"{API}/muscles/nope").status_code == 404


def test_suggest_ranks_a_drawing(clinician) -> None:
    response = api_call(api_client(clinician), f"{API}/suggest", {"drawing": HEADACHE_DRAWING, "limit": 3})
    assert response.status_code == 200
    body = response.json()
    assert len(body) == 3
    assert body[0]["muscle_id"] == "upper-trapezius" and body[0]["side"] == "right"
    assert body[0]["reason"] == "Temple and posterolateral neck are in its primary zone."
    assert body[0]["hazard_kinds"] == ["pneumothorax"]
    assert body[0]["matched_local"] == []


def test_suggest_names_pain_drawn_at_a_trigger_point(clinician) -> None:
    drawing = HEADACHE_DRAWING | {"top-of-shoulder-r": 5}
    body = api_call(api_client(clinician), f"{API}/suggest", {"drawing": drawing, "limit": 1}).json()
    assert body[0]["muscle_id"] == "upper-trapezius"
    assert body[0]["matched_local"] == ["top-of-shoulder-r"] and body[0]["unexplained"] == []


@pytest.mark.parametrize(
    ("body", "text"),
    [
        ({"drawing": {"temple": 5}}, "Unknown body region 'temple'"),
        ({"drawing": {"temple-r": 11}}, "from 0 to 10"),
        ({"drawing": {"temple-r": 5}, "condition": "flu"}, "Unknown condition"),
    ],
)
def test_suggest_refuses_bad_input_with_400(clinician, body, text) -> None:
    response = api_call(api_client(clinician), f"{API}/suggest", body)
    assert response.status_code == 400
    assert text in response.json()["detail"]


def test_front_desk_is_refused_the_atlas_api(front_desk, assessment) -> None:
    client = api_client(front_desk)
    assert client.get(f"{API}/regions").status_code == 403
    assert client.get(f"{API}/episodes/{assessment.episode_id}/assessments").status_code == 403
    before = snapshot()
    assert api_call(client, f"{API}/assessments/{assessment.pk}/findings", FINDING).status_code == 403
    assert snapshot() == before


def test_create_and_list_assessments(clinician, episode) -> None:
    client = api_client(clinician)
    created = api_call(client, f"{API}/episodes/{episode.pk}/assessments", {"drawing": HEADACHE_DRAWING, "notes": "x"})
    assert created.status_code == 201
    body = created.json()
    assert body["kind"] == "initial" and body["drawing"] == {"temple-r": 6, "posterolateral-neck-r": None}
    assert body["version"] == 1 and body["findings"] == []
    second = api_call(client, f"{API}/episodes/{episode.pk}/assessments", {"drawing": {"temple-r": 2}})
    assert second.json()["kind"] == "reassessment"
    listed = client.get(f"{API}/episodes/{episode.pk}/assessments").json()
    assert [a["kind"] for a in listed] == ["initial", "reassessment"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"drawing": {"knee": 3}}, "drawing"),
        ({"drawing": {"temple-r": -1}}, "drawing"),
        ({"drawing": {"temple-r": 4}, "kind": "reassessment"}, "kind"),
    ],
)
def test_creating_a_bad_assessment_is_400_and_changes_nothing(clinician, episode, body, field) -> None:
    before = snapshot()
    response = api_call(api_client(clinician), f"{API}/episodes/{episode.pk}/assessments", body)
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert snapshot() == before


def test_update_an_assessment_with_its_version(clinician, assessment) -> None:
    client = api_client(clinician)
    url = f"{API}/assessments/{assessment.pk}"
    ok = api_call(client, url, {"version": 1, "drawing": {"occiput-l": 3}}, "PATCH")
    assert ok.status_code == 200 and ok.json()["drawing"] == {"occiput-l": 3} and ok.json()["version"] == 2
    stale = api_call(client, url, {"version": 1, "notes": "late"}, "PATCH")
    assert stale.status_code == 400 and "Someone else changed" in stale.json()["detail"]


def test_record_a_finding_and_get_the_suggested_needling(clinician, assessment) -> None:
    client = api_client(clinician)
    response = api_call(client, f"{API}/assessments/{assessment.pk}/findings", FINDING)
    assert response.status_code == 201
    assert response.json()["trigger_point"] == "TP1"
    latent = FINDING | {"muscle_id": "temporalis", "trigger_point": "posterior", "status": "latent"}
    assert api_call(client, f"{API}/assessments/{assessment.pk}/findings", latent).status_code == 201
    detail = client.get(f"{API}/assessments/{assessment.pk}").json()
    assert [f["muscle_id"] for f in detail["findings"]] == ["upper-trapezius", "temporalis"]
    suggested = client.get(f"{API}/episodes/{assessment.episode_id}/suggested-needling").json()
    assert [(s["muscle_id"], s["side"], s["trigger_point"]) for s in suggested] == [
        ("upper-trapezius", "right", "TP1"),
        ("temporalis", "right", "posterior"),
    ]
    ranking = client.get(f"{API}/assessments/{assessment.pk}/ranking?limit=2").json()
    assert ranking[0]["muscle_id"] == "upper-trapezius" and len(ranking) == 2


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"muscle_id": "gluteus-giganticus"}, "muscle_id"),
        ({"side": "centre"}, "side"),
        ({"muscle_id": "temporalis"}, "trigger_point"),
        ({"status": "sleeping"}, "status"),
    ],
)
def test_a_bad_finding_is_400_and_changes_nothing(clinician, assessment, change, field) -> None:
    before = snapshot()
    response = api_call(api_client(clinician), f"{API}/assessments/{assessment.pk}/findings", FINDING | change)
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert snapshot() == before


def test_another_clinics_records_are_not_found(clinician, other_assessment) -> None:
    client = api_client(clinician)
    before = snapshot()
    assert api_call(client, f"{API}/assessments/{other_assessment.pk}/findings", FINDING).status_code == 404
    assert client.get(f"{API}/assessments/{other_assessment.pk}").status_code == 404
    assert client.get(f"{API}/episodes/{other_assessment.episode_id}/assessments").status_code == 404
    create = api_call(client, f"{API}/episodes/{other_assessment.episode_id}/assessments", {"drawing": {}})
    assert create.status_code == 404
    assert snapshot() == before


def test_list_query_count_does_not_grow_with_assessments(clinician, assessment, django_assert_max_num_queries) -> None:
    for _ in range(5):
        later = actions.create_assessment(clinician, assessment.episode, {"drawing": {"temple-r": 2}})
        actions.record_finding(clinician, later.pk, FINDING)
    client = api_client(clinician)
    client.get(f"{API}/regions")  # authenticate once outside the count
    with django_assert_max_num_queries(8):
        body = client.get(f"{API}/episodes/{assessment.episode_id}/assessments").json()
    assert len(body) == 6
    assert Assessment.objects.count() == 6 and PalpationFinding.objects.count() == 5
