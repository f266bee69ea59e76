"""Paging of FHIR searches over HTTP: ``_count`` with a total that counts every match and next/previous links
that walk them all, ``_summary=count``, comma lists of ``_id``, and ``$everything`` with ``_count``, ``start``
and ``end``."""

from __future__ import annotations

from datetime import date, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.utils import timezone

from needlepoint.accounts.models import AuditEntry
from needlepoint.fhir.paging import Page, PagingError, links, page_from
from needlepoint.patients import actions as patient_actions
from tests.conftest import client_for, response_json
from tests.fhir.conftest import Record

BASE = "/fhir/R4"


def get(client: Client, url: str):
    return client.get(url if url.startswith("http") else f"{BASE}/{url}", HTTP_ACCEPT="application/fhir+json")


def ids(bundle: dict) -> list[str]:
    return [e["resource"]["id"] for e in bundle.get("entry", [])]


def link(bundle: dict, relation: str) -> str | None:
    return next((item["url"] for item in bundle["link"] if item["relation"] == relation), None)


def walk(client: Client, first: str) -> tuple[list[str], list[dict]]:
    """Every id on every page, following next links from ``first``; and the pages."""
    found, pages, url = [], [], first
    while url:
        response = get(client, url)
        assert response.status_code == 200, response.getvalue()
        pages.append(response_json(response))
        found += ids(pages[-1])
        url = link(pages[-1], "next")
    return found, pages


@pytest.fixture
def many_adams(clinician) -> list[int]:
    """114 patients whose family name starts with A (the finding: 114 matches, total 100, no next link)."""
    return [
        patient_actions.register_patient(
            clinician,
            {"given_name": "Pat", "family_name": "Adams", "date_of_birth": born, "sex": "unknown"},
        ).pk
        for born in (date(1970, 1, 1) + timedelta(days=n) for n in range(114))
    ]


@pytest.mark.django_db
def test_name_a_with_114_matches_pages_through_all_of_them(clinician, patient, many_adams) -> None:
    client = client_for(clinician)
    found, pages = walk(client, "Patient?name=a&_count=50")
    assert sorted(map(int, found)) == sorted(many_adams)  # Jane Doe does not match, nobody twice, nobody missed
    assert [p["total"] for p in pages] == [114, 114, 114]
    assert [len(ids(p)) for p in pages] == [50, 50, 14]
    assert link(pages[0], "previous") is None and link(pages[2], "next") is None
    assert get(client, link(pages[2], "previous")).json() == pages[1]
    assert get(client, link(pages[1], "first")).json() == pages[0]
    assert get(client, link(pages[0], "last")).json() == pages[2]
    assert parse_qs(urlsplit(link(pages[0], "next")).query) == {"name": ["a"], "_count": ["50"], "_offset": ["50"]}
    default, _ = walk(client, "Patient?name=a")  # 50 a page unless asked
    assert default == found


@pytest.mark.django_db
def test_summary_count_and_count_zero_give_the_total_alone(clinician, patient, many_adams) -> None:
    client = client_for(clinician)
    for url in ("Patient?name=a&_summary=count", "Patient?name=a&_count=0"):
        bundle = get(client, url).json()
        assert bundle["total"] == 114 and "entry" not in bundle, url
        assert [item["relation"] for item in bundle["link"]] == ["self"]
    before = AuditEntry.objects.order_by("-pk").values_list("pk", flat=True).first()
    get(client, "Patient?name=a&_summary=count")
    assert list(AuditEntry.objects.filter(pk__gt=before).values_list("action", "summary")) == [
        ("search", "FHIR Patient search: 0 of 114 returned")
    ]


@pytest.mark.django_db
def test_a_post_search_pages_without_putting_its_terms_in_the_links(clinician, patient, many_adams) -> None:
    client = client_for(clinician)
    form = "application/x-www-form-urlencoded"
    first = client.post(f"{BASE}/Patient/_search", "name=a&_count=100", content_type=form).json()
    assert first["total"] == 114 and len(ids(first)) == 100
    following = link(first, "next")
    assert "name" not in following
    second = client.post(following, "name=a", content_type=form).json()
    assert sorted(map(int, ids(first) + ids(second))) == sorted(many_adams)


@pytest.mark.django_db
def test_id_takes_a_comma_list(clinician, patient, many_adams) -> None:
    client = client_for(clinician)
    wanted = f"{patient.pk},{many_adams[3]},999999,x"
    bundle = get(client, f"Patient?_id={wanted}").json()
    assert bundle["total"] == 2
    assert sorted(ids(bundle)) == sorted([str(patient.pk), str(many_adams[3])])


@pytest.mark.django_db
def test_clinical_searches_page_too(clinician, record: Record) -> None:
    client = client_for(clinician)
    whole = get(client, f"Observation?patient={record.patient.pk}").json()
    assert whole["total"] == len(ids(whole)) >= 4
    found, pages = walk(client, f"Observation?patient={record.patient.pk}&_count=2")
    assert found == ids(whole)
    assert all(p["total"] == whole["total"] for p in pages)


@pytest.mark.django_db
def test_everything_honours_count_start_and_end(clinician, record: Record) -> None:
    client = client_for(clinician)
    path = f"Patient/{record.patient.pk}/$everything"
    whole = response_json(get(client, path))
    assert whole["total"] == len(ids(whole)) == 14
    found, pages = walk(client, f"{path}?_count=5")
    assert found == ids(whole) and [len(ids(p)) for p in pages] == [5, 5, 4]

    today = timezone.localdate()
    future = response_json(get(client, f"{path}?start={today + timedelta(days=1)}"))
    # Nothing was cared for tomorrow but the open neck episode, which runs on; the Patient always comes.
    assert [(e["resource"]["resourceType"], e["resource"]["id"]) for e in future["entry"]] == [
        ("Patient", str(record.patient.pk)),
        ("Condition", str(record.neck.pk)),
    ]
    past = response_json(get(client, f"{path}?end={record.neck.onset_date - timedelta(days=1)}"))
    assert ids(past) == [str(record.patient.pk)]
    today_only = response_json(get(client, f"{path}?start={today}&end={today}"))
    assert today_only["total"] == whole["total"]


def test_the_paging_rules() -> None:
    assert page_from({}) == Page(50, 0, False)
    assert page_from({"_count": "10", "_offset": "20"}).window(25) == (20, 25)
    assert page_from({"_count": "10", "_offset": "40"}).window(25) == (25, 25)
    assert page_from({"_summary": "count"}).window(25) == (0, 0)
    for bad in ({"_count": "-1"}, {"_count": "1.5"}, {"_count": "٣"}, {"_offset": "x"}, {"_summary": "data"}):
        with pytest.raises(PagingError):
            page_from(bad)
    relations = [item["relation"] for item in links("u", [("name", "a")], Page(10, 10), 25)]
    assert relations == ["self", "first", "previous", "next", "last"]
    assert links("u", [], Page(10, 0), 10) == [{"relation": "self", "url": "u?_count=10&_offset=0"}]
    assert links("u", [], Page(10, 20), 25)[-1]["url"] == "u?_count=10&_offset=20"
