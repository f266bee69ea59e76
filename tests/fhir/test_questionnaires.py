"""Questionnaires over HTTP: each instrument as a Questionnaire (wording only where it ships or the clinic entered
its licensed wording, LOINC only where verified), each answered questionnaire as a QuestionnaireResponse with the
printed values, the scored Observation derived from it; searches, $everything, reads; CORS on /fhir/."""

from __future__ import annotations

import pytest
from django.test import Client

from needlepoint.fhir import codes, mapping, records
from needlepoint.outcomes import actions as outcome_actions
from needlepoint.outcomes.models import Observation
from needlepoint.outcomes.scoring import instrument, instruments
from tests.conftest import client_for, response_json
from tests.fhir.conftest import Record

BASE = "/fhir/R4"


def get(client: Client, url: str, **headers: str):
    return client.get(f"{BASE}/{url}", HTTP_ACCEPT="application/fhir+json", **headers)


def test_every_instrument_is_a_valid_questionnaire(clinician, validator) -> None:
    client = client_for(clinician)
    bundle = get(client, "Questionnaire").json()
    assert bundle["total"] == len(instruments())
    by_id = {e["resource"]["id"]: e["resource"] for e in bundle["entry"]}
    assert set(by_id) == {code.lower() for code in instruments()}
    for code, defn in instruments().items():
        q = by_id[code.lower()]
        assert validator.errors(q) == [], code
        assert q["url"] == mapping.questionnaire_url(code) and q["version"] == defn.version
        assert q["title"] == defn.name and q["status"] == "active"
        assert [i["linkId"] for i in q["item"]] == [item.id for item in defn.items]
        # The LOINC panel only where one is verified: the ODI's (loinc.org/97908-8); none for the others.
        assert q.get("code", []) == (
            [{"system": codes.LOINC, "code": "97908-8", "display": "Oswestry Disability Index"}]
            if code == "ODI"
            else []
        ), code


def test_licensed_wording_appears_only_once_the_clinic_entered_it(clinician, clinic_admin) -> None:
    client = client_for(clinician)
    ndi = get(client, "Questionnaire/ndi").json()
    first = ndi["item"][0]
    # Not shipped and not entered: the topic is the item's code, and there is no text, no option wording.
    assert "text" not in first and first["code"][0]["display"] == "Pain intensity"
    assert [o["valueCoding"]["code"] for o in first["answerOption"]] == ["0", "1", "2", "3", "4", "5"]
    assert all("display" not in o["valueCoding"] for o in first["answerOption"])
    assert "licensed and not shipped" in ndi["description"]
    defn = instrument("NDI")
    wording = {
        item.id: {"question": f"Clinic question {n}", "options": [f"Statement {k}" for k in range(6)]}
        for n, item in enumerate(defn.items)
    }
    outcome_actions.enter_instrument_wording(clinic_admin, "NDI", wording, "LIC-42")
    worded = get(client, "Questionnaire/ndi")
    assert worded["ETag"] == 'W/"2"'
    q = worded.json()
    assert q["item"][0]["text"] == "Clinic question 0"
    assert q["item"][0]["answerOption"][5]["valueCoding"]["display"] == "Statement 5"
    assert q["version"].endswith("clinic wording v1")
    # Shipped wording (NPRS) is given as shipped, as an integer item with its range.
    nprs = get(client, "Questionnaire/nprs").json()["item"][0]
    assert nprs["text"] == instrument("NPRS").items[0].wording and nprs["type"] == "integer"
    assert [e["valueInteger"] for e in nprs["extension"]] == [0, 10]
    assert get(client, "Questionnaire/NDI").status_code == 404  # ids are the codes in lower case
    assert get(client, "Questionnaire/sf36").status_code == 404


def test_an_answered_questionnaire_is_a_response_and_the_score_is_derived_from_it(
    clinician, record: Record, validator
) -> None:
    client = client_for(clinician)
    score = Observation.objects.get(patient=record.patient, instrument="NDI")
    response = get(client, f"QuestionnaireResponse/outcome-{score.pk}")
    assert response.status_code == 200 and response["ETag"] == 'W/"1"'
    qr = response.json()
    assert validator.errors(qr) == []
    assert qr["questionnaire"] == mapping.questionnaire_url("NDI") and qr["status"] == "completed"
    assert qr["subject"] == {"reference": f"Patient/{record.patient.pk}"}
    answers = {i["linkId"]: i["answer"][0] for i in qr["item"]}
    assert set(answers) == {item.id for item in instrument("NDI").items}
    assert all(
        a == {"valueCoding": {"system": codes.local_system("instrument-answer"), "code": "1"}} for a in answers.values()
    )
    observation = get(client, f"Observation/outcome-{score.pk}").json()
    assert observation["derivedFrom"] == [{"reference": f"QuestionnaireResponse/outcome-{score.pk}"}]
    assert observation["valueQuantity"]["value"] == score.value
    pain = Observation.objects.get(patient=record.patient, instrument="NPRS")
    pain_items = get(client, f"QuestionnaireResponse/outcome-{pain.pk}").json()["item"]
    assert pain_items[0]["answer"] == [{"valueInteger": 5}]
    # A visit's pain ratings have no item answers kept apart: no response, no derivedFrom.
    visit_pain = get(client, f"Observation/visit-{record.visit.pk}-pain-before").json()
    assert "derivedFrom" not in visit_pain
    assert get(client, f"QuestionnaireResponse/rom-{score.pk}").status_code == 404
    searched = get(client, f"QuestionnaireResponse?patient={record.patient.pk}").json()
    assert sorted(e["resource"]["id"] for e in searched["entry"]) == sorted(
        [f"outcome-{score.pk}", f"outcome-{pain.pk}"]
    )
    everything = response_json(get(client, f"Patient/{record.patient.pk}/$everything"))
    assert {"QuestionnaireResponse"} <= {e["resource"]["resourceType"] for e in everything["entry"]}
    exported = records.export_resources(clinician, [record.patient], ("QuestionnaireResponse",))
    assert [r["id"] for r in exported["QuestionnaireResponse"]] == [e["resource"]["id"] for e in searched["entry"]]


def test_the_odi_total_carries_its_loinc_code(clinician, record: Record, validator) -> None:
    defn = instrument("ODI")
    outcome_actions.record_questionnaire(
        clinician, record.neck, "ODI", {i.id: 2 for i in defn.items}, time_point="baseline"
    )
    client = client_for(clinician)
    score = Observation.objects.get(patient=record.patient, instrument="ODI")
    observation = get(client, f"Observation/outcome-{score.pk}").json()
    assert observation["code"]["coding"][0] == {
        "system": codes.LOINC,
        "code": "97909-6",
        "display": "Oswestry disability index score ODI",
    }
    assert observation["code"]["coding"][1]["system"] == codes.local_system("instrument")
    assert observation["meta"]["profile"] == [mapping.US_CORE_PROFILES["Observation"]]
    assert validator.errors(observation) == []
    found = get(client, f"Observation?patient={record.patient.pk}&code={codes.LOINC}|97909-6").json()
    assert [e["resource"]["id"] for e in found["entry"]] == [f"outcome-{score.pk}"]


def test_front_desk_reads_questionnaires_but_no_responses(front_desk, record: Record) -> None:
    client = client_for(front_desk)
    assert get(client, "Questionnaire/odi").status_code == 200
    assert get(client, f"QuestionnaireResponse?patient={record.patient.pk}").status_code == 403


APP = "https://app.example.org"


@pytest.mark.parametrize("origins", [[], ["https://other.example.org"]])
def test_no_cross_origin_access_unless_the_origin_is_listed(settings, clinician, origins) -> None:
    settings.FHIR_CORS_ORIGINS = origins
    client = Client()
    answer = client.get(f"{BASE}/metadata", HTTP_ORIGIN=APP)
    assert answer.status_code == 200 and "Access-Control-Allow-Origin" not in answer
    preflight = client.options(f"{BASE}/Patient", HTTP_ORIGIN=APP, HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET")
    assert "Access-Control-Allow-Origin" not in preflight


def test_a_listed_origin_gets_its_preflight_and_the_headers_a_client_reads(settings, clinician, record: Record) -> None:
    settings.FHIR_CORS_ORIGINS = [APP]
    client = client_for(clinician)
    preflight = Client().options(
        f"{BASE}/Patient/{record.patient.pk}",
        HTTP_ORIGIN=APP,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization",
    )
    assert preflight.status_code == 204
    assert preflight["Access-Control-Allow-Origin"] == APP
    assert "GET" in preflight["Access-Control-Allow-Methods"]
    assert "Authorization" in preflight["Access-Control-Allow-Headers"]
    assert "Access-Control-Allow-Credentials" not in preflight
    read = get(client, f"Patient/{record.patient.pk}", HTTP_ORIGIN=APP)
    assert read.status_code == 200 and read["Access-Control-Allow-Origin"] == APP
    assert "ETag" in read["Access-Control-Expose-Headers"] and "Origin" in read["Vary"]
    # Without credentials the answer is still the server's refusal, now readable by the app.
    refused = Client().get(f"{BASE}/Patient/{record.patient.pk}", HTTP_ORIGIN=APP)
    assert refused.status_code == 401 and refused["Access-Control-Allow-Origin"] == APP
    # Only /fhir/ is opened.
    page = Client().options("/login/", HTTP_ORIGIN=APP, HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET")
    assert "Access-Control-Allow-Origin" not in page
