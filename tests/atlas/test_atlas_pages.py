"""Atlas pages: search, the muscle page, the assessment with its drawing, ranking, findings and print view,
who may see them, and their query counts."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from needlepoint.atlas import actions
from needlepoint.atlas.catalogue import body_map, muscles, not_yet_in_atlas
from needlepoint.atlas.models import Assessment, PalpationFinding
from tests.atlas.conftest import HEADACHE_DRAWING, snapshot
from tests.conftest import audit_lock_queries, client_for

HTMX = {"HTTP_HX_REQUEST": "true"}
CHOIR = "CHOIR Body Map"


def _text(response) -> str:
    return response.content.decode()


# --- search and muscle pages -------------------------------------------------------------------------


def test_the_atlas_lists_every_muscle_and_condition(clinician) -> None:
    page = _text(client_for(clinician).get("/atlas/"))
    for muscle in muscles().values():
        assert f'href="/atlas/muscles/{muscle.id}/"' in page
    assert "Tension-type headache" in page


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("trapez", ["Upper trapezius", "Middle trapezius", "Lower trapezius"]),
        ("temple", ["Body regions", "Temple", "Primary zone of", "Temporalis"]),
        ("sciatica", ["Conditions", "Sciatica", "Piriformis"]),
        ("whiplash", ["Upper trapezius"]),
        ("QL", ["Quadratus lumborum", "(QL)"]),
    ],
)
def test_search_finds_muscles_regions_and_conditions(clinician, query, expected) -> None:
    client = client_for(clinician)
    for response in (client.get("/atlas/", {"q": query}), client.get("/atlas/", {"q": query}, **HTMX)):
        assert response.status_code == 200
        for text in expected:
            assert text in _text(response), text
    fragment = _text(client.get("/atlas/", {"q": query}, **HTMX))
    assert "<html" not in fragment


def test_the_atlas_page_lists_the_muscles_not_yet_in_it_with_the_reason(clinician) -> None:
    page = _text(client_for(clinician).get("/atlas/"))
    section = page.split('data-testid="not-yet"')[1]
    for missing in not_yet_in_atlas():
        assert missing.name in section
    assert "the body chart has that region now (outer ankle" in section


def test_searching_for_a_muscle_not_yet_in_the_atlas_says_so(clinician) -> None:
    for response in (
        client_for(clinician).get("/atlas/", {"q": "popliteus"}),
        client_for(clinician).get("/atlas/", {"q": "popliteus"}, **HTMX),
    ):
        page = _text(response)
        assert "Nothing in the atlas matches" not in page
        assert 'data-testid="not-yet-results"' in page and "Popliteus" in page
        assert "A pain drawing cannot rank these muscles." in page


def test_search_says_when_nothing_matches(clinician) -> None:
    assert "Nothing in the atlas matches" in _text(client_for(clinician).get("/atlas/", {"q": "zzzz"}))


def test_the_muscle_page_draws_zones_trigger_points_hazard_and_sources(clinician) -> None:
    page = _text(client_for(clinician).get("/atlas/muscles/upper-trapezius/"))
    primary = re.findall(r'class="region primary[^"]*" d="[^"]+" data-code="([^"]+)"', page)
    spill = re.findall(r'class="region spillover[^"]*" d="[^"]+" data-code="([^"]+)"', page)
    assert set(primary) == {"posterolateral-neck-r", "mastoid-r", "temple-r"}
    assert set(spill) == {"behind-eye-r", "angle-of-jaw-r"}
    assert 'aria-label="Trigger point 1 (TP1): Free upper border' in page
    assert "Pneumothorax risk" in page and "lung apex" in page
    assert "25 mm" in page
    assert "Also known as upper trap, UT, UFT" in page
    assert "Neck pain" in page and "Tension-type headache" in page
    assert "T1a" in page and "S20" in page
    assert CHOIR in page


def test_a_trigger_points_own_pattern_can_be_shown(clinician) -> None:
    muscle = next(m for m in muscles().values() if any(tp.referral for tp in m.trigger_points))
    tp = next(tp for tp in muscle.trigger_points if tp.referral)
    page = _text(client_for(clinician).get(f"/atlas/muscles/{muscle.id}/", {"tp": tp.code}))
    assert f"Referred pain from trigger point {tp.code}" in page
    shown = set(re.findall(r'class="region (?:primary|spillover)[^"]*" d="[^"]+" data-code="([^"]+)"', page))
    assert len(shown) == len(set(tp.referral.zones))


def test_an_unknown_muscle_is_not_found(clinician) -> None:
    assert client_for(clinician).get("/atlas/muscles/no-such-muscle/").status_code == 404


def test_front_desk_does_not_see_the_atlas(front_desk, assessment) -> None:
    client = client_for(front_desk)
    for url in ("/atlas/", "/atlas/muscles/upper-trapezius/", f"/atlas/assessments/{assessment.pk}/"):
        assert client.get(url).status_code == 403, url


# --- the assessment pages ----------------------------------------------------------------------------


def test_the_new_assessment_page_draws_both_views_with_focusable_regions(clinician, episode) -> None:
    response = client_for(clinician).get(f"/atlas/episodes/{episode.pk}/assessments/new/")
    page = _text(response)
    assert response.status_code == 200
    assert page.count('tabindex="0" role="checkbox"') == len(body_map().regions)
    assert 'aria-label="Temple (right), front: not marked"' in page
    assert 'data-view="front"' in page and 'data-view="back"' in page
    assert CHOIR in page
    assert "js/bodychart.js" in page and "css/bodychart.css" in page
    assert "Initial assessment" in page


def test_saving_the_new_assessment_stores_the_drawing(clinician, episode) -> None:
    response = client_for(clinician).post(
        f"/atlas/episodes/{episode.pk}/assessments/new/",
        {"kind": "initial", "drawing": json.dumps(HEADACHE_DRAWING), "notes": "Desk"},
    )
    assessment = Assessment.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/atlas/assessments/{assessment.pk}/"
    assert assessment.drawing == {"temple-r": 6, "posterolateral-neck-r": None}


@pytest.mark.parametrize(
    ("drawing", "message"),
    [
        ('{"elbow-x": 3}', "Unknown body region &#x27;elbow-x&#x27;"),
        ('{"temple-r": 14}', "must be a whole number from 0 to 10"),
        ("not json", "could not be read"),
    ],
)
def test_a_bad_drawing_is_refused_on_the_page_and_nothing_is_saved(clinician, episode, drawing, message) -> None:
    before = snapshot()
    response = client_for(clinician).post(
        f"/atlas/episodes/{episode.pk}/assessments/new/", {"kind": "initial", "drawing": drawing}
    )
    assert response.status_code == 200
    assert message in _text(response)
    assert "Nothing was saved." in _text(response)
    assert snapshot() == before


def test_a_refused_form_keeps_the_valid_regions_painted(clinician, episode) -> None:
    drawing = json.dumps({"temple-r": 6, "nowhere": 2})
    page = _text(client_for(clinician).post(f"/atlas/episodes/{episode.pk}/assessments/new/", {"drawing": drawing}))
    assert 'data-code="temple-r" data-name="Temple (right)" data-i="6"' in page
    assert "Upper trapezius" in page


def test_the_ranking_fragment_follows_the_drawing(clinician, episode) -> None:
    response = client_for(clinician).post(
        f"/atlas/episodes/{episode.pk}/ranking/", {"drawing": json.dumps(HEADACHE_DRAWING)}, **HTMX
    )
    page = _text(response)
    assert "<html" not in page
    first = re.search(r'<li class="ranked" data-muscle="([^"]+)"', page)
    assert first and first.group(1) == "upper-trapezius"
    assert "Temple and posterolateral neck are in its primary zone." in page
    assert '<span class="badge bad">Pneumothorax risk</span>' in page
    assert "Record a palpation finding" not in page  # not saved yet
    assert re.search(r'id="ranking-status"[^>]*hx-swap-oob="true">\d+ muscles ranked; first Upper trapezius', page)


def test_the_ranking_fragment_reports_a_bad_drawing(clinician, episode) -> None:
    page = _text(client_for(clinician).post(f"/atlas/episodes/{episode.pk}/ranking/", {"drawing": '{"x": 1}'}, **HTMX))
    assert "Unknown body region" in page


def test_the_assessment_page_shows_drawing_ranking_and_finding_forms(clinician, assessment) -> None:
    page = _text(client_for(clinician).get(f"/atlas/assessments/{assessment.pk}/"))
    assert 'data-code="temple-r" data-name="Temple (right)" data-i="6"' in page
    assert 'data-code="posterolateral-neck-r" data-name="Posterolateral neck (right)" data-i="u"' in page
    assert 'aria-label="Temple (right), front: pain 6 of 10"' in page
    assert "Record a palpation finding" in page
    assert 'name="muscle_id" value="upper-trapezius"' in page
    assert "Palpation findings" in page
    assert CHOIR in page


def test_saving_a_changed_drawing_and_a_stale_one(clinician, assessment) -> None:
    client = client_for(clinician)
    url = f"/atlas/assessments/{assessment.pk}/"
    response = client.post(url, {"drawing": json.dumps({"occiput-r": 4}), "notes": "Better", "version": 1})
    assert response.status_code == 302
    assessment.refresh_from_db()
    assert (assessment.drawing, assessment.notes, assessment.version) == ({"occiput-r": 4}, "Better", 2)
    stale = client.post(url, {"drawing": json.dumps({"occiput-r": 9}), "version": 1})
    assert "Someone else changed this assessment" in _text(stale)
    assessment.refresh_from_db()
    assert assessment.drawing == {"occiput-r": 4}


def test_a_clinic_admin_sees_the_assessment_read_only(clinic_admin, assessment) -> None:
    page = _text(client_for(clinic_admin).get(f"/atlas/assessments/{assessment.pk}/"))
    assert 'role="checkbox"' not in page
    assert "Record a palpation finding" not in page
    assert "Temple (right)" in page and "pain 6 of 10" in page
    before = snapshot()
    assert client_for(clinic_admin).post(f"/atlas/assessments/{assessment.pk}/", {"version": 1}).status_code == 403
    assert snapshot() == before


def test_recording_a_finding_from_the_ranked_list_with_htmx(clinician, assessment) -> None:
    response = client_for(clinician).post(
        f"/atlas/assessments/{assessment.pk}/findings/",
        {
            "muscle_id": "upper-trapezius",
            "trigger_point": "TP1",
            "side": "right",
            "status": "active",
            "twitch_response": "several",
            "reproduces_familiar_pain": "on",
        },
        **HTMX,
    )
    page = _text(response)
    assert 'id="findings"' in page and "<html" not in page
    assert "Finding recorded: Upper trapezius (right, TP1, active)." in page
    assert "Suggested needling for the next visit" in page
    finding = PalpationFinding.objects.get()
    assert finding.twitch_response == "several" and finding.reproduces_familiar_pain


def test_recording_a_finding_in_any_muscle_without_htmx(clinician, assessment) -> None:
    response = client_for(clinician).post(
        f"/atlas/assessments/{assessment.pk}/findings/",
        {"point": "temporalis|middle", "side": "left", "status": "latent", "twitch_response": "none"},
    )
    assert response.status_code == 302
    finding = PalpationFinding.objects.get()
    assert (finding.muscle_id, finding.trigger_point, finding.side, finding.status) == (
        "temporalis",
        "middle",
        "left",
        "latent",
    )


def test_a_bad_finding_is_shown_and_nothing_is_saved(clinician, assessment) -> None:
    before = snapshot()
    response = client_for(clinician).post(
        f"/atlas/assessments/{assessment.pk}/findings/",
        {"muscle_id": "upper-trapezius", "side": "", "status": "active"},
        **HTMX,
    )
    assert "Nothing was recorded." in _text(response)
    assert "Choose the left or the right side." in _text(response)
    assert snapshot() == before


def test_removing_a_finding(clinician, assessment) -> None:
    finding = actions.record_finding(
        clinician, assessment.pk, {"muscle_id": "upper-trapezius", "side": "right", "status": "active"}
    )
    page = _text(
        client_for(clinician).post(f"/atlas/assessments/{assessment.pk}/findings/{finding.pk}/remove/", **HTMX)
    )
    assert "No trigger points recorded yet." in page
    finding.refresh_from_db()
    assert finding.removed_at is not None


def test_another_clinics_assessment_and_episode_are_not_found(clinician, other_assessment) -> None:
    client = client_for(clinician)
    before = snapshot()
    for method, url in (
        ("get", f"/atlas/assessments/{other_assessment.pk}/"),
        ("get", f"/atlas/assessments/{other_assessment.pk}/print/"),
        ("get", f"/atlas/episodes/{other_assessment.episode_id}/assessments/new/"),
        ("post", f"/atlas/episodes/{other_assessment.episode_id}/ranking/"),
        ("post", f"/atlas/assessments/{other_assessment.pk}/findings/"),
    ):
        assert getattr(client, method)(url).status_code == 404, url
    assert snapshot() == before


def test_a_reassessment_shows_the_first_drawing_beside_it(clinician, assessment) -> None:
    later = actions.create_assessment(clinician, assessment.episode, {"drawing": {"temple-r": 2}})
    client = client_for(clinician)
    for url in (
        f"/atlas/episodes/{assessment.episode_id}/assessments/new/",
        f"/atlas/assessments/{later.pk}/",
        f"/atlas/assessments/{later.pk}/print/",
    ):
        page = _text(client.get(url))
        assert f"Initial assessment, {timezone.localtime(assessment.assessed_at):%Y-%m-%d}" in page, url
        assert 'id="first-drawing"' in page and 'id="drawing"' in page, url
        assert page.count(CHOIR) >= 2, url


def test_the_print_view_lists_regions_findings_and_ranking(clinician, assessment) -> None:
    actions.record_finding(
        clinician, assessment.pk, {"muscle_id": "upper-trapezius", "side": "right", "status": "active"}
    )
    later = actions.create_assessment(clinician, assessment.episode, {"drawing": {"temple-r": 2}})
    page = _text(client_for(clinician).get(f"/atlas/assessments/{assessment.pk}/print/"))
    assert "data-print" in page and "Temple (right)" in page and "pain 6 of 10" in page
    assert "Upper trapezius" in page and "Temple and posterolateral neck are in its primary zone." in page
    compared = _text(client_for(clinician).get(f"/atlas/assessments/{later.pk}/print/"))
    assert re.search(r"<td>Temple \(right\)</td><td>front</td><td>pain 6 of 10</td><td>pain 2 of 10</td>", compared)
    assert re.search(
        r"<td>Posterolateral neck \(right\)</td><td>back</td><td>marked, not rated</td><td>—</td>", compared
    )


def test_the_episode_page_lists_assessments_and_suggested_needling(clinician, assessment) -> None:
    actions.record_finding(
        clinician, assessment.pk, {"muscle_id": "upper-trapezius", "side": "right", "status": "active"}
    )
    page = _text(client_for(clinician).get(f"/patients/{assessment.patient_id}/episodes/{assessment.episode_id}/"))
    assert "Pain drawings and palpation" in page
    assert f'href="/atlas/assessments/{assessment.pk}/"' in page
    assert "New re-assessment" in page
    assert "Upper trapezius</strong> (right, TP1)" in page


# --- query counts ------------------------------------------------------------------------------------


def _findings(clinician, assessment, count: int) -> None:
    for muscle in list(muscles().values())[:count]:
        tp = muscle.trigger_points[0].code
        actions.record_finding(
            clinician, assessment.pk, {"muscle_id": muscle.id, "side": "left", "trigger_point": tp, "status": "latent"}
        )


@pytest.mark.parametrize("findings", [1, 12])
def test_the_assessment_page_query_count_does_not_grow_with_findings(
    clinician, assessment, django_assert_max_num_queries, findings
) -> None:
    actions.create_assessment(clinician, assessment.episode, {"drawing": {"temple-r": 2}})
    _findings(clinician, assessment, findings)
    client = client_for(clinician)
    # 12 with the patient's own drawing beside the clinician's, and the audit chain's lock on PostgreSQL.
    with django_assert_max_num_queries(12 + audit_lock_queries()):
        assert client.get(f"/atlas/assessments/{assessment.pk}/").status_code == 200
    with django_assert_max_num_queries(10 + audit_lock_queries()):
        assert client.get(f"/atlas/assessments/{assessment.pk}/print/").status_code == 200


def test_the_ranking_fragment_and_search_are_cheap(clinician, assessment, django_assert_max_num_queries) -> None:
    client = client_for(clinician)
    drawing = {"drawing": json.dumps(HEADACHE_DRAWING)}
    # Every signed-in request reads the session, user and membership and saves the session (six queries);
    # the ranking adds the assessment and its audit entry (with the chain's last hash), the search nothing.
    with django_assert_max_num_queries(9 + audit_lock_queries()):
        client.post(f"/atlas/assessments/{assessment.pk}/ranking/", drawing, **HTMX)
    with django_assert_max_num_queries(6):
        client.get("/atlas/", {"q": "neck"})


def test_the_episode_panel_query_count_is_bounded(clinician, assessment, django_assert_max_num_queries) -> None:
    for days in (10, 5, 1):
        actions.create_assessment(
            clinician,
            assessment.episode,
            {"drawing": {"temple-r": 2}, "assessed_at": timezone.now() - timedelta(days=days)},
        )
    _findings(clinician, assessment, 5)
    from needlepoint.atlas.panels import assessments_panel

    with django_assert_max_num_queries(3):
        panel = assessments_panel(assessment.episode)
    assert len(panel.context["assessments"]) == 4
    assert len(panel.context["suggested"]) == 5
