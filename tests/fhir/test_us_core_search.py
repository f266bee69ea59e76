"""US Core 6.1.0 searches over HTTP: every parameter the CapabilityStatement lists is called (and a value that
matches nothing finds nothing, so no parameter is silently ignored), every US Core combination, the date prefixes
(through the database for Patient.birthdate and in memory for the clinical types, both against the same rules),
comma lists, system|code tokens, unknown parameters and ``Prefer: handling=lenient``, and ``_elements``."""

from __future__ import annotations

from datetime import UTC, date, datetime
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from django.test import Client
from django.utils import timezone

from needlepoint.fhir import codes, mapping, search
from needlepoint.fhir.search import SearchError, date_interval, date_test, token
from needlepoint.outcomes.models import Observation
from needlepoint.patients import actions as patient_actions
from tests.conftest import client_for, response_json
from tests.fhir.conftest import Record

BASE = "/fhir/R4"
ICD = codes.ICD10_CM
CPT = codes.CPT


def get(client: Client, url: str, **headers: str):
    return client.get(f"{BASE}/{url}", HTTP_ACCEPT="application/fhir+json", **headers)


def found(client: Client, url: str) -> list[str]:
    response = get(client, url)
    assert response.status_code == 200, (url, response.content[:300])
    bundle = response.json()
    assert bundle["total"] == len(bundle.get("entry", [])), url
    return [e["resource"]["id"] for e in bundle.get("entry", [])]


def cases(record: Record) -> dict[tuple[str, str], tuple[str, str, str]]:
    """For each (type, parameter): a value that finds the example, the example's id, and a value that finds
    nothing."""
    p = record.patient
    today = timezone.now().date().isoformat()
    ndi_url = mapping.questionnaire_url("NDI")
    ndi = f"outcome-{Observation.objects.get(patient=p, instrument='NDI').pk}"
    me = record.visit.clinician
    return {
        ("Patient", "_id"): (str(p.pk), str(p.pk), "999999"),
        ("Patient", "identifier"): (p.mrn, str(p.pk), "XX-404"),
        ("Patient", "name"): ("jan", str(p.pk), "smith"),
        ("Patient", "family"): ("doe", str(p.pk), "jane"),
        ("Patient", "gender"): ("female", str(p.pk), "male"),
        ("Patient", "birthdate"): ("1980-05-17", str(p.pk), "1980-05-18"),
        ("Condition", "patient"): (str(p.pk), str(record.neck.pk), "Patient/999999"),
        ("Condition", "_id"): (str(record.neck.pk), str(record.neck.pk), "999999"),
        ("Condition", "category"): ("encounter-diagnosis", str(record.neck.pk), "problem-list-item"),
        ("Condition", "clinical-status"): ("active", str(record.neck.pk), "remission"),
        ("Condition", "code"): (f"{ICD}|M54.2", str(record.neck.pk), f"{ICD}|M79.1"),
        ("Condition", "onset-date"): ("2024-01-10", str(record.neck.pk), "2024-01-11"),
        ("Condition", "abatement-date"): (today, str(record.back.pk), "2000"),
        ("Condition", "recorded-date"): (f"ge{today}", str(record.neck.pk), "lt2000"),
        ("Condition", "_lastUpdated"): ("ge2020", str(record.neck.pk), "lt2020"),
        ("Observation", "patient"): (str(p.pk), f"visit-{record.visit.pk}-pain-before", "999999"),
        ("Observation", "_id"): (f"visit-{record.visit.pk}-pain-before",) * 2 + ("rom-999999",),
        ("Observation", "category"): ("exam", "rom-", "laboratory"),
        ("Observation", "code"): (f"{codes.LOINC}|72514-3", f"visit-{record.visit.pk}-pain-before", "8867-4"),
        ("Observation", "date"): (f"ge{today}", f"visit-{record.visit.pk}-pain-before", "lt2000"),
        ("Observation", "status"): ("final", f"visit-{record.visit.pk}-pain-before", "preliminary"),
        ("Observation", "_lastUpdated"): ("ge2020", "rom-", "lt2020"),
        ("Procedure", "patient"): (str(p.pk), str(record.visit.pk), "999999"),
        ("Procedure", "_id"): (str(record.visit.pk), str(record.visit.pk), "999999"),
        ("Procedure", "date"): (f"ge{today}", str(record.visit.pk), "lt2000"),
        ("Procedure", "code"): (f"{CPT}|20561", str(record.visit.pk), f"{CPT}|20560"),
        ("Procedure", "status"): ("completed", str(record.visit.pk), "in-progress"),
        ("Procedure", "_lastUpdated"): ("ge2020", str(record.visit.pk), "lt2020"),
        ("AdverseEvent", "patient"): (str(p.pk), str(record.event.pk), "999999"),
        ("AdverseEvent", "_id"): (str(record.event.pk), str(record.event.pk), "999999"),
        ("AdverseEvent", "date"): (f"ge{today}", str(record.event.pk), "lt2000"),
        ("AdverseEvent", "seriousness"): ("Non-serious", str(record.event.pk), "Serious"),
        ("AdverseEvent", "severity"): ("mild", str(record.event.pk), "severe"),
        ("AdverseEvent", "event"): ("bruising", str(record.event.pk), "pneumothorax"),
        ("AdverseEvent", "_lastUpdated"): ("ge2020", str(record.event.pk), "lt2020"),
        ("Consent", "patient"): (str(p.pk), str(record.current.pk), "999999"),
        ("Consent", "_id"): (str(record.current.pk), str(record.current.pk), "999999"),
        ("Consent", "status"): ("active", str(record.current.pk), "rejected"),
        ("Consent", "date"): (f"ge{today}", str(record.current.pk), "lt2000"),
        ("Consent", "category"): (f"{codes.LOINC}|59284-0", str(record.current.pk), f"{codes.LOINC}|64292-6"),
        ("Consent", "_lastUpdated"): ("ge2020", str(record.current.pk), "lt2020"),
        ("QuestionnaireResponse", "patient"): (str(p.pk), ndi, "999999"),
        ("QuestionnaireResponse", "_id"): (ndi, ndi, "outcome-999999"),
        ("QuestionnaireResponse", "questionnaire"): (ndi_url, ndi, mapping.questionnaire_url("ODI")),
        ("QuestionnaireResponse", "authored"): (f"ge{today}", ndi, "lt2000"),
        ("QuestionnaireResponse", "status"): ("completed", ndi, "in-progress"),
        ("QuestionnaireResponse", "_lastUpdated"): ("ge2020", ndi, "lt2020"),
        ("Questionnaire", "_id"): ("ndi", "ndi", "sf36"),
        ("Questionnaire", "url"): (ndi_url, "ndi", "https://example.org/Questionnaire/x"),
        ("Questionnaire", "code"): (f"{codes.LOINC}|97908-8", "odi", f"{codes.LOINC}|44249-1"),
        ("Questionnaire", "status"): ("active", "ndi", "retired"),
        ("Practitioner", "_id"): (str(me.pk), str(me.pk), "999999"),
        ("Practitioner", "identifier"): (f"{codes.user_system()}|{me.user_id}", str(me.pk), "999999"),
        ("Practitioner", "name"): ("ali", str(me.pk), "zed"),
    }


def _url(resource_type: str, name: str, value: str, patient: int) -> str:
    terms = f"{name}={quote(value, safe='')}"
    if resource_type in search.PATIENT_SCOPED and name != "patient":
        terms = f"patient={patient}&{terms}"
    return f"{resource_type}?{terms}&_count=500"


def _first_id(record: Record, client: Client, resource_type: str, wanted: str) -> str:
    """An id prefix (outcome-, rom-) made whole from the patient's records."""
    if not wanted.endswith("-"):
        return wanted
    return next(i for i in found(client, f"{resource_type}?patient={record.patient.pk}") if i.startswith(wanted))


def test_every_listed_parameter_finds_its_match_and_nothing_else(clinician, record: Record) -> None:
    client = client_for(clinician)
    statement = Client().get(f"{BASE}/metadata").json()
    table = cases(record)
    listed = {
        (entry["type"], p["name"])
        for entry in statement["rest"][0]["resource"]
        for p in entry.get("searchParam", [])
        if entry["type"] != "Group"
    }
    # The CapabilityStatement lists exactly the parameters the search code defines, and every one is called here.
    assert listed == {(t, p.name) for t, params in search.PARAMS.items() for p in params} == set(table)
    for (resource_type, name), (value, wanted, nothing) in table.items():
        value = _first_id(record, client, resource_type, value) if name == "_id" else value
        wanted = _first_id(record, client, resource_type, wanted)
        assert wanted in found(client, _url(resource_type, name, value, record.patient.pk)), (resource_type, name)
        if name == "patient":
            assert get(client, _url(resource_type, name, nothing, record.patient.pk)).status_code == 404
        else:
            assert found(client, _url(resource_type, name, nothing, record.patient.pk)) == [], (resource_type, name)


def test_every_us_core_combination_answers(clinician, record: Record) -> None:
    client = client_for(clinician)
    table = cases(record)
    for resource_type, combinations in search.COMBINATIONS.items():
        for combination in combinations:
            terms = "&".join(f"{name}={quote(table[(resource_type, name)][0], safe='')}" for name in combination)
            wanted = {_first_id(record, client, resource_type, table[(resource_type, n)][1]) for n in combination}
            result = found(client, f"{resource_type}?{terms}")
            if len(wanted) == 1:  # the example of every parameter is the same resource: the AND finds it
                assert wanted <= set(result), (resource_type, combination)
            # Changing one term to a value that matches nothing empties the result: every term counts.
            for name in combination:
                if name == "patient":
                    continue
                other = terms.replace(
                    f"{name}={quote(table[(resource_type, name)][0], safe='')}",
                    f"{name}={quote(table[(resource_type, name)][2], safe='')}",
                )
                assert found(client, f"{resource_type}?{other}") == [], (resource_type, combination, name)


def test_observation_category_code_and_date_narrow_together(clinician, record: Record) -> None:
    client = client_for(clinician)
    p = record.patient.pk
    every = found(client, f"Observation?patient={p}")
    survey = found(client, f"Observation?patient={p}&category=survey")
    exam = found(client, f"Observation?patient={p}&category=exam")
    assert sorted(survey + exam) == sorted(every) and all(i.startswith("rom-") for i in exam)
    pain = found(client, f"Observation?patient={p}&code={codes.LOINC}|72514-3")
    assert len(pain) == 3  # two visit ratings and one recorded pain score
    assert found(client, f"Observation?patient={p}&category=survey&code={codes.LOINC}|72514-3&date=lt2000") == []
    today = timezone.now().date()
    both = found(client, f"Observation?patient={p}&code={codes.LOINC}|72514-3&date=ge{today}&date=le{today}")
    assert both == pain  # the same parameter twice is AND


def test_comma_lists_are_or_and_tokens_take_a_system(clinician, record: Record) -> None:
    client = client_for(clinician)
    p = record.patient.pk
    neck, back = str(record.neck.pk), str(record.back.pk)
    assert found(client, f"Condition?patient={p}&clinical-status=active") == [neck]
    assert sorted(found(client, f"Condition?patient={p}&clinical-status=active,resolved")) == sorted([neck, back])
    assert sorted(found(client, f"Condition?patient={p}&code={ICD}|M54.2,{ICD}|M54.50")) == sorted([neck, back])
    assert found(client, f"Condition?patient={p}&code=M54.2") == [neck]  # a code alone: any system
    assert found(client, f"Condition?patient={p}&code=|M54.2") == []  # |code: only codes without a system
    assert found(client, f"Condition?patient={p}&code=http://snomed.info/sct|M54.2") == []
    every_icd = found(client, f"Condition?patient={p}&code={ICD}|")  # system|: any code of the system
    assert sorted(every_icd) == sorted([neck, back])
    assert found(client, f"Condition?patient={p}&_id={neck},{back},999") == [neck, back]
    other = patient_actions.register_patient(
        clinician, {"given_name": "Sam", "family_name": "Doe", "date_of_birth": date(1990, 1, 2), "sex": "male"}
    )
    assert sorted(found(client, "Patient?gender=male,female&family=doe")) == sorted([str(p), str(other.pk)])
    assert found(client, "Patient?gender=http://hl7.org/fhir/administrative-gender|male&name=doe") == [str(other.pk)]
    assert found(client, "Patient?gender=male&name=jane") == []
    assert found(client, "Patient?birthdate=1990-01-02&name=sam") == [str(other.pk)]
    assert sorted(found(client, "Patient?name=sam,jane")) == sorted([str(p), str(other.pk)])


BIRTH = date(1980, 5, 17)
VALUES = ("1980", "1980-05", "1980-05-16", "1980-05-17", "1980-05-18", "1979", "1981-01")


@pytest.mark.parametrize("prefix", search.DATE_PREFIXES)
def test_birthdate_prefixes_in_the_database_follow_the_same_rules_as_in_memory(
    clinician, record: Record, prefix: str
) -> None:
    client = client_for(clinician)
    patient = str(record.patient.pk)
    day = date_interval(BIRTH.isoformat())
    for value in VALUES:
        expected = date_test(f"{prefix}{value}", timezone.now()).matches(day)
        assert (patient in found(client, f"Patient?birthdate={prefix}{value}")) is expected, f"{prefix}{value}"


def test_date_prefixes_against_ranges() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    day = date_interval("2024-01-10")

    def hit(text: str) -> bool:
        return date_test(text, now).matches(day)

    assert hit("2024-01-10") and hit("eq2024-01") and hit("2024") and not hit("2024-01-11")
    assert hit("ne2024-01-11") and not hit("ne2024")
    assert hit("lt2024-01-11") and not hit("lt2024-01-10")
    assert hit("le2024-01-10") and not hit("le2024-01-09")
    assert hit("gt2024-01-09") and not hit("gt2024-01-10")
    assert hit("ge2024-01-10") and not hit("ge2024-01-11")
    assert hit("sa2024-01-09") and not hit("sa2024-01-10")
    assert hit("eb2024-01-11") and not hit("eb2024-01-10")
    assert hit("ap2024-01-12") and not hit("ap2023-06-01")  # 10 % of two years is about 73 days
    assert date_interval("2024-02") == (datetime(2024, 2, 1, tzinfo=UTC), datetime(2024, 3, 1, tzinfo=UTC))
    moment = date_interval("2024-01-10T10:00:05+02:00")
    assert moment == (datetime(2024, 1, 10, 8, 0, 5, tzinfo=UTC), datetime(2024, 1, 10, 8, 0, 6, tzinfo=UTC))
    for bad in ("2024-13", "10/01/2024", "2024-02-30", "gt"):
        with pytest.raises(SearchError):
            date_test(bad, now)
    assert token("a|b") == search.Token("a", "b") and token("|b") == search.Token("", "b")
    assert token("a|") == search.Token("a", None) and token("b") == search.Token(None, "b")


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("Condition?patient={p}&severity=mild", "Unsupported search parameter(s): severity"),
        ("Patient?name:exact=Doe", "Unsupported search parameter(s): name:exact"),
        ("Observation?patient={p}&date=yesterday", "is not a date"),
        ("Observation?patient={p}&code=", "code has an empty value"),
        ("Observation?patient={p}&code=a,,b", "code has an empty value"),
        ("Condition?patient={p}&patient=999", "one patient at a time"),
        ("Condition?patient={p}&_elements=code;subject", "is not an element name"),
        ("Questionnaire?patient={p}", "Unsupported search parameter(s): patient"),
    ],
)
def test_bad_search_terms_are_refused_with_an_operation_outcome(
    clinician, record: Record, url: str, words: str
) -> None:
    response = get(client_for(clinician), url.format(p=record.patient.pk))
    assert response.status_code == 400
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome" and words in outcome["issue"][0]["diagnostics"]


def test_prefer_lenient_leaves_unknown_parameters_out_of_the_search_and_its_links(clinician, record: Record) -> None:
    client = client_for(clinician)
    url = f"Condition?patient={record.patient.pk}&clinical-status=active&colour=blue"
    assert get(client, url).status_code == 400
    response = get(client, url, HTTP_PREFER="handling=lenient")
    assert response.status_code == 200
    bundle = response.json()
    assert [e["resource"]["id"] for e in bundle["entry"]] == [str(record.neck.pk)]
    kept = parse_qs(urlsplit(bundle["link"][0]["url"]).query)
    assert "colour" not in kept and kept["clinical-status"] == ["active"]
    assert get(client, url, HTTP_PREFER="handling=strict").status_code == 400


def test_search_terms_are_in_the_audit_summary_and_paging_still_works(clinician, record: Record) -> None:
    from needlepoint.accounts.models import AuditEntry

    client = client_for(clinician)
    url = f"Observation?patient={record.patient.pk}&category=survey&_count=2"
    bundle = get(client, url).json()
    assert bundle["total"] == 4 and len(bundle["entry"]) == 2
    next_url = next(item["url"] for item in bundle["link"] if item["relation"] == "next")
    assert "category=survey" in next_url and "_count=2" in next_url and "_offset=2" in next_url
    entry = AuditEntry.objects.filter(object_type="fhir.Observation").latest("pk")
    assert entry.summary == f"FHIR Observation?patient={record.patient.pk}&category: 2 of 4 returned"
    counted = get(client, f"Observation?patient={record.patient.pk}&category=survey&_summary=count").json()
    assert counted["total"] == 4 and "entry" not in counted


def test_elements_subsets_searches_and_reads_and_tags_them(clinician, record: Record, validator) -> None:
    client = client_for(clinician)
    bundle = get(client, f"Observation?patient={record.patient.pk}&_elements=effective,value").json()
    for entry in bundle["entry"]:
        resource = entry["resource"]
        # The named elements, the mandatory ones (status, code), and resourceType, id and meta.
        assert set(resource) <= {"resourceType", "id", "meta", "status", "code", "effectiveDateTime", "valueQuantity"}
        assert "valueQuantity" in resource and "effectiveDateTime" in resource and "subject" not in resource
        assert search.SUBSETTED in resource["meta"]["tag"]
        assert validator.errors(resource) == []
    assert "_elements=effective%2Cvalue" in bundle["link"][0]["url"]
    read = get(client, f"Condition/{record.neck.pk}?_elements=code")
    assert read.status_code == 200 and read["ETag"]
    condition = read.json()
    assert set(condition) == {"resourceType", "id", "meta", "code", "subject"}
    assert condition["meta"]["tag"] == [search.SUBSETTED]
    whole = get(client, f"Condition/{record.neck.pk}").json()
    assert "tag" not in whole["meta"] and "clinicalStatus" in whole


def test_us_core_profiles_are_claimed_only_where_met(clinician, record: Record) -> None:
    client = client_for(clinician)
    every = [e["resource"] for e in response_json(get(client, f"Patient/{record.patient.pk}/$everything"))["entry"]]

    def profiles(resource: dict) -> list[str]:
        return resource["meta"].get("profile", [])

    by_type: dict[str, list[dict]] = {}
    for resource in every:
        by_type.setdefault(resource["resourceType"], []).append(resource)
    assert all(profiles(r) == [mapping.US_CORE_PROFILES["Patient"]] for r in by_type["Patient"])
    assert all(profiles(r) == [mapping.US_CORE_PROFILES["Condition"]] for r in by_type["Condition"])
    assert all(profiles(r) == [mapping.US_CORE_PROFILES["Procedure"]] for r in by_type["Procedure"])
    for observation in by_type["Observation"]:
        has_loinc = any(c["system"] == codes.LOINC for c in observation["code"]["coding"])
        assert (profiles(observation) == [mapping.US_CORE_PROFILES["Observation"]]) is has_loinc, observation["id"]
    assert any(not profiles(o) for o in by_type["Observation"])  # ROM and NDI claim none
    assert all(not profiles(r) for t in ("Consent", "AdverseEvent", "QuestionnaireResponse") for r in by_type[t])


def test_a_procedure_without_cpt_claims_no_profile() -> None:
    site = mapping.NeedledSite("deltoid", "Deltoid", "left", 1, "0.25", "40", "static", "Static", "none", "None")
    when = datetime(2025, 1, 1, tzinfo=UTC)
    data = mapping.ProcedureData("1", "2", "3", "M54.2", "Cervicalgia", when, "A", "", (site,), 1, 1, 1, 1)
    assert "profile" not in mapping.procedure_resource(data)["meta"]
    with_cpt = mapping.procedure_resource(mapping.ProcedureData(**{**data.__dict__, "cpt_code": "20560"}))
    assert with_cpt["meta"]["profile"] == [mapping.US_CORE_PROFILES["Procedure"]]


def test_the_capability_statement_names_us_core_and_the_combinations() -> None:
    statement = Client().get(f"{BASE}/metadata").json()
    assert statement["implementationGuide"] == [
        "http://hl7.org/fhir/us/core/ImplementationGuide/hl7.fhir.us.core|6.1.0"
    ]
    by_type = {r["type"]: r for r in statement["rest"][0]["resource"]}
    assert "patient+category+date" in by_type["Observation"]["documentation"]
    assert by_type["Patient"]["supportedProfile"] == [mapping.US_CORE_PROFILES["Patient"]]
    assert "supportedProfile" not in by_type["Consent"]
