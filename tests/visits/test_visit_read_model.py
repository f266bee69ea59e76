"""The visit page and the API show one visit state (``read_model.visit_state``): the same needling, warnings,
needle count, CPT code and note, read over real HTTP from both."""

from __future__ import annotations

import html
import re

from django.test import Client

from needlepoint.accounts.actions import create_api_token
from needlepoint.visits import actions
from tests.conftest import audit_lock_queries, client_for
from tests.visits.visit_helpers import add, fresh

PIRIFORMIS_ACK = {"nerve_vessel:piriformis:right": {"precautions": ["directed_away"]}}


def _texts(page: str, testid: str) -> list[str]:
    """The text of every element marked ``data-testid=testid`` (tags inside removed, entities decoded)."""
    found = re.findall(rf'<(\w+)[^>]*data-testid="{testid}"[^>]*>(.*?)</\1>', page, re.S)
    return [html.unescape(re.sub(r"<[^>]+>", "", inner)).strip() for _tag, inner in found]


def _one(page: str, testid: str) -> str:
    texts = _texts(page, testid)
    assert len(texts) == 1, (testid, texts)
    return texts[0]


def test_the_page_and_the_api_show_the_same_visit(clinician, episode, django_assert_max_num_queries) -> None:
    visit = actions.start_visit(clinician, episode, {})
    add(clinician, visit, muscle="piriformis", trigger_point="lateral", acknowledgements=PIRIFORMIS_ACK)
    add(clinician, visit, muscle="deltoid", trigger_point="middle")
    visit = add(clinician, visit)
    # Counted out with one needle neither removed nor in sharps: the count does not balance.
    actions.record_needle_counts(
        clinician,
        visit.pk,
        opened=visit.needles_inserted + 1,
        removed=visit.needles_inserted - 1,
        in_sharps=visit.needles_inserted - 1,
        expected_version=fresh(visit).version,
    )
    page = client_for(clinician).get(f"/visits/{visit.pk}/").content.decode()
    _token, raw = create_api_token(clinician, "read model")
    api = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    # The count the API read had before the read model: 12, and the audit chain's lock on PostgreSQL.
    with django_assert_max_num_queries(12 + audit_lock_queries()):
        body = api.get(f"/api/v1/visits/{visit.pk}").json()

    assert len(body["needling"]) == 3 and len(_texts(page, "needling-row")) == 3
    for row, entry in zip(_texts(page, "needling-row"), body["needling"], strict=True):
        assert row.startswith(entry["muscle"])
    count = body["needle_count"]
    assert count["balanced"] is False and count["missing"] >= 0
    shown = [_one(page, f"count-{name}") for name in ("opened", "inserted", "removed", "sharps")]
    assert shown == [str(count[name]) for name in ("opened", "inserted", "removed", "in_sharps")]
    assert _one(page, "count-status") == "not reconciled"
    assert body["cpt"] is not None and _one(page, "cpt") == body["cpt"]["code"]
    assert body["warnings"], "the piriformis entry has a warning"
    listed = _texts(page, "warning") + _texts(page, "reminder") + _texts(page, "refusal")
    assert len(listed) == len(body["warnings"])
    for warning in body["warnings"]:
        assert any(html.unescape(warning["message"])[:40] in text for text in listed), warning["message"]
    acknowledged = [w for w in body["warnings"] if w["acknowledgement"]]
    assert acknowledged and all("Acknowledged" in text for text in _texts(page, "warning"))
    assert _one(page, "note-preview") == body["note"].strip()


def _signed_piriformis_visit(clinician, episode):
    from tests.visits.visit_helpers import reconcile

    visit = actions.start_visit(clinician, episode, {})
    add(clinician, visit, muscle="piriformis", trigger_point="lateral", acknowledgements=PIRIFORMIS_ACK)
    visit = reconcile(clinician, visit)
    actions.sign_visit(clinician, visit.pk, visit.version)


def test_starting_from_the_previous_visit_is_one_action_for_the_page_and_the_api(clinician, episode) -> None:
    from needlepoint.visits.models import Visit

    _signed_piriformis_visit(clinician, episode)
    with_warnings = {"copy_previous_needling": True, "episode_id": episode.pk}
    _token, raw = create_api_token(clinician, "start")
    api = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    # The API asked for both: the copy's warnings need acknowledging, so no visit starts.
    assert api.post("/api/v1/visits", with_warnings, content_type="application/json").status_code == 400
    assert Visit.objects.count() == 1
    # The page's one-click start keeps the visit and says why the needling was not copied.
    client = client_for(clinician)
    response = client.post(f"/episodes/{episode.pk}/visits/new/", {"copy_previous": "1"}, follow=True)
    started = Visit.objects.order_by("-pk").first()
    assert Visit.objects.count() == 2 and not started.needling_entries.exists()
    assert b"Acknowledge the warnings to start from the previous" in response.content
