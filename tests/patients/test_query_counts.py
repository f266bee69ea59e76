"""Patient search and the patient page cost a bounded number of queries, however long the history."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from needlepoint.accounts.actions import create_api_token
from needlepoint.patients import actions
from needlepoint.patients.consent import current_consent_text
from needlepoint.patients.received_records import ReceivedRecordData
from tests.conftest import all_no, audit_lock_queries, client_for

CONDITIONS = [
    ("neck_pain", "M54.2", "central"),
    ("low_back_pain", "M54.50", "central"),
    ("migraine", "G43.909", "bilateral"),
    ("lateral_epicondylalgia", "M77.12", "left"),
    ("sciatica", "M54.41", "right"),
]
PAGE_BUDGET = 28  # the clinician's patient page; panels from other apps included (one query each for reported
# conditions and for identifiers from other systems, two for records kept as received: their counts by type and the
# newest few, however many there are); the audit chain's lock is added
SEARCH_BUDGET = 12


def add_history(clinician, patient, visits: int) -> None:
    """``visits`` rounds of care: a screening with acknowledged precautions, a consent, an episode opened and closed."""
    version = current_consent_text(patient.clinic).version
    for n in range(visits):
        screening = actions.record_screening(clinician, patient, all_no() | {"diabetes": "yes"})
        actions.acknowledge_precautions(clinician, screening, "Check glucose before needling.")
        consent = actions.record_consent(clinician, patient, patient.full_name, version)
        if n % 3 == 0:
            actions.withdraw_consent(clinician, consent, "Paused treatment")
        condition, code, side = CONDITIONS[n % len(CONDITIONS)]
        onset = date(2024, 1, 1) + timedelta(days=n)
        episode = actions.open_episode(
            clinician, patient, {"condition": condition, "icd10_code": code, "side": side, "onset_date": onset}
        )
        if n < visits - 1:
            actions.discharge_episode(clinician, episode, timezone.localdate(), "goals_met")
        # Another clinic's record, kept as received (a FHIR import): the chart lists them with one query.
        procedure = {"resourceType": "Procedure", "status": "completed", "code": {"text": f"Procedure {n}"}}
        received = ReceivedRecordData("Procedure", f"{patient.pk}-{n}", procedure)
        actions.keep_received_records(clinician, patient, [received], "Elsewhere Clinic")
    actions.record_consent(clinician, patient, patient.full_name, version)


def queries_for(client, url: str, **extra) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, **extra)
    assert response.status_code == 200
    return len(captured)


def register(clinician, given: str, family: str = "Doe"):
    return actions.register_patient(
        clinician, {"given_name": given, "family_name": family, "date_of_birth": date(1980, 5, 17)}
    )


@pytest.mark.parametrize("role", ["clinician", "front_desk", "clinic_admin"])
def test_the_patient_page_costs_the_same_with_a_long_history(request, clinician, role) -> None:
    short, long = register(clinician, "Short"), register(clinician, "Long")
    add_history(clinician, short, 1)
    add_history(clinician, long, 30)
    client = client_for(request.getfixturevalue(role))
    queries_for(client, f"/patients/{short.pk}/")  # warm caches (session, consent text)

    short_cost = queries_for(client, f"/patients/{short.pk}/")
    long_cost = queries_for(client, f"/patients/{long.pk}/")

    assert long_cost == short_cost


def test_the_patient_page_stays_within_its_query_budget(clinician, django_assert_max_num_queries) -> None:
    patient = register(clinician, "Long")
    add_history(clinician, patient, 30)
    client = client_for(clinician)

    with django_assert_max_num_queries(PAGE_BUDGET + audit_lock_queries()):
        page = client.get(f"/patients/{patient.pk}/")

    assert page.status_code == 200
    assert "Cleared for needling" in page.content.decode()


def test_search_costs_the_same_for_one_match_or_a_full_page(clinician) -> None:
    register(clinician, "Solo", "Quist")
    for n in range(60):
        patient = register(clinician, f"Given{n:02d}")
        if n < 5:
            add_history(clinician, patient, 2)
    client = client_for(clinician)
    queries_for(client, "/patients/?q=quist")

    one = queries_for(client, "/patients/?q=quist")
    fifty = queries_for(client, "/patients/?q=doe")
    by_birth_date = queries_for(client, "/patients/?q=1980-05-17")
    by_mrn = queries_for(client, "/patients/?q=TC-00000")

    assert one == fifty
    assert by_birth_date == by_mrn <= one


def test_search_stays_within_its_query_budget(clinician, django_assert_max_num_queries) -> None:
    for n in range(60):
        register(clinician, f"Given{n:02d}")
    client = client_for(clinician)

    with django_assert_max_num_queries(SEARCH_BUDGET):
        page = client.get("/patients/?q=doe")
    with django_assert_max_num_queries(SEARCH_BUDGET):
        fragment = client.get("/patients/?q=doe", headers={"HX-Request": "true"})

    assert page.content.decode().count("/patients/") >= 50
    assert "Showing the first 50 matches" in fragment.content.decode()


def test_the_api_search_and_lists_cost_the_same_with_a_long_history(clinician) -> None:
    from django.test import Client

    short, long = register(clinician, "Short"), register(clinician, "Long")
    add_history(clinician, short, 1)
    add_history(clinician, long, 30)
    for n in range(60):
        register(clinician, f"Given{n:02d}")
    _, raw = create_api_token(clinician, "sync")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    # The token's first use records it (then once a minute): every request measured below reads alike.
    queries_for(client, "/api/v1/me")

    for suffix in ("", "/screenings", "/episodes", "/needling-clearance"):
        assert queries_for(client, f"/api/v1/patients/{short.pk}{suffix}") == queries_for(
            client, f"/api/v1/patients/{long.pk}{suffix}"
        ), suffix
    assert queries_for(client, "/api/v1/patients?q=short") == queries_for(client, "/api/v1/patients?q=doe")
    assert len(json.loads(client.get("/api/v1/patients?q=doe").content)) == 50


def test_a_name_search_finds_either_word_order_in_name_order_at_the_same_cost(clinician) -> None:
    for given, family in (("Maria", "Lopez"), ("Lopez", "Mariano"), ("Marek", "Lopata"), ("Ann", "Lopez")):
        register(clinician, given, family)
    client = client_for(clinician)
    queries_for(client, "/patients/?q=lopez")

    one_word = queries_for(client, "/patients/?q=lopez")
    two_words = queries_for(client, "/patients/?q=lopez+mar")
    family_first = client.get("/patients/?q=lopez+mar").content.decode()
    given_first = client.get("/patients/?q=maria+lop").content.decode()
    given_only = client.get("/patients/?q=mar").content.decode()

    assert two_words == one_word
    assert "Lopez, Maria" in family_first and "Mariano, Lopez" in family_first
    assert "Lopata" not in family_first and "Lopez, Ann" not in family_first
    assert "Lopez, Maria" in given_first and "Mariano" not in given_first
    assert given_only.index("Lopata, Marek") < given_only.index("Lopez, Maria") < given_only.index("Mariano, Lopez")
