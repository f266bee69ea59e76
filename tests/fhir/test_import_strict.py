"""The transaction import's stricter rules: conditional create (ifNoneExist), a POST's url naming its entry's type,
pain ratings dated after the death, and Social Security numbers kept only where the clinic chose to keep them.
Each refusal is checked to have written nothing (patients, episodes, observations, audit entries)."""

from __future__ import annotations

import copy
import importlib
import uuid
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings
from django.utils import timezone

from needlepoint.accounts.models import AuditEntry, Clinic
from needlepoint.fhir import patient_in
from needlepoint.fhir.transaction_bundle import if_none_exist
from needlepoint.outcomes import actions as outcome_actions
from needlepoint.outcomes.models import Observation
from needlepoint.patients import actions as patient_actions
from needlepoint.patients.demographics import identifier_not_kept, shown_value
from needlepoint.patients.models import Episode, Patient, PatientIdentifier
from tests.conftest import client_for, make_member
from tests.fhir.conftest import import_messages, post_bundle, synthea_bundle, synthea_files
from tests.visits.visit_helpers import open_neck_episode

pytestmark = pytest.mark.django_db
SENDER = "https://sender.example/mrn"
SSN_SYSTEM = "http://hl7.org/fhir/sid/us-ssn"
PATIENT_URL = "urn:uuid:11111111-1111-4111-8111-111111111111"


def counts() -> tuple[int, ...]:
    """What an import writes: patients, episodes, observations, identifiers, and the audit entries of writes."""
    written = AuditEntry.objects.filter(action__in=["create", "update"]).count()
    return (
        Patient.objects.count(),
        Episode.objects.count(),
        Observation.objects.count(),
        PatientIdentifier.objects.count(),
        written,
    )


def pain(at: str, value: int = 5) -> dict[str, Any]:
    return {
        "fullUrl": f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'{at}/{value}')}",
        "resource": {
            "resourceType": "Observation",
            "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "72514-3"}]},
            "subject": {"reference": PATIENT_URL},
            "effectiveDateTime": at,
            "valueQuantity": {"value": value, "unit": "{score}"},
        },
        "request": {"method": "POST", "url": "Observation"},
    }


def bundle(*others: dict[str, Any], family: str = "Okafor", number: str = "A-100", **patient: Any) -> dict[str, Any]:
    """A transaction Bundle: a Patient with the sender's number (and ``patient``'s elements), then ``others``."""
    resource = {
        "resourceType": "Patient",
        "identifier": [{"system": SENDER, "value": number}],
        "name": [{"family": family, "given": ["Ada"]}],
        "birthDate": "1970-04-02",
        "gender": "female",
        **patient,
    }
    entry = {"fullUrl": PATIENT_URL, "resource": resource, "request": {"method": "POST", "url": "Patient"}}
    return {"resourceType": "Bundle", "type": "transaction", "entry": [entry, *others]}


def conditional(sent: dict[str, Any], search: str) -> dict[str, Any]:
    sent["entry"][0]["request"]["ifNoneExist"] = search
    return sent


ENCOUNTER = {
    "fullUrl": "urn:uuid:33333333-3333-4333-8333-333333333333",
    "resource": {"resourceType": "Encounter", "status": "finished", "subject": {"reference": PATIENT_URL}},
    "request": {"method": "POST", "url": "Encounter"},
}


def errors(response: Any) -> list[str]:
    return [text for severity, text in import_messages(response) if severity == "error"]


def refused(response: Any, status: int, words: str, before: tuple[int, ...]) -> None:
    """The bundle was refused with ``status`` and a message holding ``words``, and nothing was written."""
    assert response.status_code == status, response.content
    assert response.json()["resourceType"] == "OperationOutcome"
    assert any(words in text for text in errors(response)), errors(response)
    assert counts() == before


# ---------------------------------------------------------------------------------------------- conditional create


def test_if_none_exist_reads_only_identifier_system_and_value() -> None:
    assert if_none_exist("identifier=https://a.example|1") == (("https://a.example", "1"),)
    assert if_none_exist("identifier=https%3A%2F%2Fa.example%7C1") == (("https://a.example", "1"),)
    assert if_none_exist("identifier=https://a.example|1&identifier=urn:x|2") == (
        ("https://a.example", "1"),
        ("urn:x", "2"),
    )
    for unsupported in (
        "identifier=1",  # no system
        "identifier=https://a.example|",  # no value
        "identifier=https://a.example|1,2",  # either of two
        "identifier:exact=https://a.example|1",
        "name=Okafor",
        "Patient?identifier=https://a.example|1",
        "",
        None,
        42,
    ):
        assert if_none_exist(unsupported) is None, unsupported


def test_without_a_match_the_patient_is_created_and_the_answer_says_so(clinician) -> None:
    sent = conditional(bundle(pain("2024-03-01T10:00:00+00:00")), f"identifier={SENDER}|A-100")

    response = post_bundle(client_for(clinician), sent)

    assert response.status_code == 200, response.content
    patient = Patient.objects.get()
    assert response.json()["entry"][0]["response"]["status"] == "201 Created"
    messages = [text for _, text in import_messages(response)]
    assert "No patient of this clinic has the identifier ifNoneExist names, so the Patient was created." in messages
    assert PatientIdentifier.objects.get(patient=patient).value == "A-100"
    assert Observation.objects.filter(patient=patient).count() == 1


def test_one_match_and_nothing_else_to_write_answers_200_with_the_existing_patient_and_writes_nothing(
    clinician,
) -> None:
    client = client_for(clinician)
    assert post_bundle(client, bundle()).status_code == 200
    existing = Patient.objects.get()
    before = counts()
    searches = AuditEntry.objects.filter(action="search").count()
    # Another system's record of the same person, under a different name: matched by the identifier alone.
    again = conditional(bundle(ENCOUNTER, family="Okafor-Smith"), f"identifier={SENDER}|A-100")

    response = post_bundle(client, again)

    assert response.status_code == 200, response.content
    answer = response.json()
    assert answer["type"] == "transaction-response" and len(answer["entry"]) == 2
    found = answer["entry"][0]["response"]
    assert found["status"] == "200 OK"
    assert found["location"] == f"Patient/{existing.pk}/_history/{existing.version}"
    assert found["etag"] == f'W/"{existing.version}"'
    assert answer["entry"][1]["response"]["status"] == "200 OK" and "location" not in answer["entry"][1]["response"]
    assert response["Location"] == f"http://testserver/fhir/R4/Patient/{existing.pk}"
    messages = [text for _, text in import_messages(response)]
    assert any(m.startswith("Not created: the Patient's ifNoneExist matches Ada Okafor") for m in messages), messages
    assert counts() == before
    assert Patient.objects.get().family_name == "Okafor"  # the chart is not touched
    search = AuditEntry.objects.filter(action="search").order_by("pk").last()
    assert AuditEntry.objects.filter(action="search").count() == searches + 1
    assert search is not None and "A-100" not in search.summary  # the number searched is not written in the trail


def test_one_match_with_pain_ratings_for_the_chart_refuses_the_whole_bundle_naming_the_patient(clinician) -> None:
    client = client_for(clinician)
    assert post_bundle(client, bundle()).status_code == 200
    existing = Patient.objects.get()
    before = counts()
    again = conditional(bundle(pain("2024-03-01T10:00:00+00:00")), f"identifier={SENDER}|A-100")

    response = post_bundle(client, again)

    refused(response, 409, f"matches Ada Okafor, born 1970-04-02, MRN {existing.mrn} (Patient/{existing.pk})", before)
    assert any("1 pain rating(s), which an import does not add to an existing chart" in e for e in errors(response))


def test_one_match_with_a_death_the_chart_does_not_record_is_refused(clinician) -> None:
    client = client_for(clinician)
    assert post_bundle(client, bundle()).status_code == 200
    before = counts()
    again = conditional(bundle(deceasedDateTime="2024-05-01"), f"identifier={SENDER}|A-100")

    refused(post_bundle(client, again), 409, "a death the chart does not record", before)
    assert not Patient.objects.get().deceased


def test_several_matches_refuse_the_bundle_with_412(clinician) -> None:
    client = client_for(clinician)
    assert post_bundle(client, bundle()).status_code == 200
    # The same number of the sender's on a second chart (a sender's error, or a number reused): both match.
    other = patient_actions.register_patient(
        clinician, {"given_name": "Ben", "family_name": "Adeyemi", "date_of_birth": date(1980, 6, 1)}
    )
    patient_actions.keep_identifiers(clinician, other, [{"system": SENDER, "value": "A-100"}], source="test")
    before = counts()

    response = post_bundle(client, conditional(bundle(family="Someone"), f"identifier={SENDER}|A-100"))

    refused(response, 412, "matches several patients of this clinic", before)
    assert response.json()["issue"][0]["code"] == "multiple-matches"
    assert any(f"MRN {other.mrn}" in e for e in errors(response))


def test_another_clinics_patient_with_the_same_number_is_no_match(clinician, outsider) -> None:
    assert post_bundle(client_for(outsider), bundle()).status_code == 200

    response = post_bundle(client_for(clinician), conditional(bundle(), f"identifier={SENDER}|A-100"))

    assert response.status_code == 200, response.content
    assert response.json()["entry"][0]["response"]["status"] == "201 Created"
    assert Patient.objects.filter(clinic=clinician.clinic).count() == 1


def test_a_refused_conditional_import_keeps_its_search_in_the_audit_trail(clinician) -> None:
    client = client_for(clinician)
    assert post_bundle(client, bundle()).status_code == 200

    def refused_after_searching(sent: dict[str, Any], status: int, found: int) -> None:
        """Refused with ``status``, nothing written, and the search (``found`` patients) in the trail."""
        before = counts()
        searches = AuditEntry.objects.filter(action="search", object_type="fhir.Patient")
        already = searches.count()
        assert post_bundle(client, sent).status_code == status
        assert counts() == before
        assert searches.count() == already + 1
        assert f"{found} patient(s) found" in searches.order_by("pk").last().summary

    # No one has number B-7, but Ada Okafor born 1970-04-02 is on record: the write after the search refuses it.
    refused_after_searching(conditional(bundle(number="B-7"), f"identifier={SENDER}|B-7"), 409, 0)
    refused_after_searching(
        conditional(bundle(pain("2024-03-01T10:00:00+00:00")), f"identifier={SENDER}|A-100"), 409, 1
    )
    other = patient_actions.register_patient(
        clinician, {"given_name": "Ben", "family_name": "Adeyemi", "date_of_birth": date(1980, 6, 1)}
    )
    patient_actions.keep_identifiers(clinician, other, [{"system": SENDER, "value": "A-100"}], source="test")
    refused_after_searching(conditional(bundle(family="Someone"), f"identifier={SENDER}|A-100"), 412, 2)


@pytest.mark.parametrize(
    ("search", "words"),
    [
        ("name=Okafor", "is not one this server does"),
        (f"Patient?identifier={SENDER}|A-100", "the query alone, without 'Patient?'"),
        ("identifier=A-100", "send identifier=system|value"),
    ],
)
def test_an_unsupported_if_none_exist_search_is_refused(clinician, search: str, words: str) -> None:
    before = counts()

    refused(post_bundle(client_for(clinician), conditional(bundle(), search)), 400, words, before)


def test_if_none_exist_on_another_entry_than_the_patient_is_refused(clinician) -> None:
    rating = pain("2024-03-01T10:00:00+00:00")
    rating["request"]["ifNoneExist"] = "identifier=https://sender.example/obs|9"
    before = counts()

    response = post_bundle(client_for(clinician), bundle(rating))

    refused(
        response, 400, "Bundle.entry[1] (Observation): ifNoneExist (conditional create) is not supported here", before
    )


# ---------------------------------------------------------------------------------------------- request.url


@pytest.mark.parametrize("url", ["Patient", "https://sender.example/fhir/R4/Patient", " Patient "])
def test_a_post_url_naming_the_type_with_or_without_a_base_is_taken(clinician, url: str) -> None:
    sent = bundle()
    sent["entry"][0]["request"]["url"] = url

    assert post_bundle(client_for(clinician), sent).status_code == 200
    assert Patient.objects.count() == 1


@pytest.mark.parametrize("url", ["Observation", "Patient/12", "https://sender.example/fhir/Observation", "Patients"])
def test_a_post_url_naming_another_type_refuses_the_bundle_naming_the_entry(clinician, url: str) -> None:
    sent = synthea_bundle(synthea_files()[0])
    index = next(i for i, e in enumerate(sent["entry"]) if e["resource"]["resourceType"] == "Patient")
    sent["entry"][index]["request"]["url"] = url
    before = counts()

    response = post_bundle(client_for(clinician), sent)

    refused(response, 400, f"Bundle.entry[{index}]: the request url {url!r} does not name the entry's resource", before)


def test_a_mismatched_url_on_an_entry_not_imported_refuses_the_bundle_too(clinician) -> None:
    encounter = copy.deepcopy(ENCOUNTER)
    encounter["request"]["url"] = "Patient"
    before = counts()

    refused(post_bundle(client_for(clinician), bundle(encounter)), 400, "Bundle.entry[1]: the request url", before)


# ---------------------------------------------------------------------------------------------- ratings and death


@pytest.mark.parametrize(
    ("died", "rated", "words"),
    [
        ("2024-03-01", "2024-03-02T09:00:00+00:00", "after the Patient's date of death (2024-03-01)"),
        ("2024-03-01T08:00:00+00:00", "2024-03-01T09:00:00+00:00", "after the Patient's date of death (2024-03-01T08"),
    ],
)
def test_a_pain_rating_dated_after_the_death_refuses_the_bundle(clinician, died: str, rated: str, words: str) -> None:
    before = counts()

    response = post_bundle(client_for(clinician), bundle(pain(rated), deceasedDateTime=died))

    refused(response, 400, words, before)
    assert any("Bundle.entry[1]" in text or "cannot be given after death" in text for text in errors(response))


@pytest.mark.parametrize(
    ("died", "rated"),
    [
        ("2024-03-01", "2024-03-01T23:00:00+00:00"),  # the day of death, its hour not known
        ("2024-03-01T08:00:00+00:00", "2024-03-01T07:59:00+00:00"),
        ("2024-03-01T08:00:00+00:00", "2024-03-01T09:00:00+02:00"),  # 07:00 UTC, before the death
    ],
)
def test_a_pain_rating_taken_before_the_death_is_imported_and_the_death_recorded(
    clinician, died: str, rated: str
) -> None:
    response = post_bundle(client_for(clinician), bundle(pain(rated), deceasedDateTime=died))

    assert response.status_code == 200, response.content
    patient = Patient.objects.get()
    assert patient.deceased and str(patient.deceased_date) == "2024-03-01"
    assert Observation.objects.filter(patient=patient).count() == 1


@pytest.mark.parametrize(
    ("rated", "taken"),
    [
        ("2024-03-02T03:30:00+00:00", True),  # 22:30 on the day of death in New York; the next day in UTC
        ("2024-03-02T00:30:00+01:00", True),  # 18:30 on the day of death in New York
        ("2024-03-01T23:30:00-08:00", False),  # the day of death in California; 02:30 the next day in New York
    ],
)
@override_settings(TIME_ZONE="America/New_York")
def test_a_rating_near_midnight_is_dated_by_the_clinics_day_as_it_is_stored(clinician, rated: str, taken: bool) -> None:
    """The rating is stored on the clinic's date (TIME_ZONE), so that is the date compared with the day of death,
    not the date in the sender's offset."""
    before = counts()

    response = post_bundle(client_for(clinician), bundle(pain(rated), deceasedDateTime="2024-03-01"))

    if taken:
        assert response.status_code == 200, response.content
        assert Observation.objects.get().observed_on == date(2024, 3, 1)
    else:
        refused(response, 400, "after the Patient's date of death (2024-03-01)", before)


def test_a_score_entered_by_hand_is_refused_only_when_dated_after_the_death(clinician, patient) -> None:
    episode = open_neck_episode(clinician, patient, days_ago=10)
    now = timezone.now()
    died = timezone.localdate(now - timedelta(days=3))
    patient = patient_actions.record_death(clinician, patient.pk, died, patient.version).patient
    episode.refresh_from_db()

    # The death is recorded today; a score taken before it (or on its day) is still entered.
    before_death = outcome_actions.record_pain(
        clinician, episode, 4, time_point="baseline", observed_at=now - timedelta(days=5)
    )
    on_the_day = outcome_actions.record_pain(
        clinician, episode, 4, time_point="reassessment", observed_at=now - timedelta(days=3)
    )
    assert {before_death.observed_on, on_the_day.observed_on} == {timezone.localdate(now - timedelta(days=5)), died}
    written = counts()
    for observed_at in (now - timedelta(days=2), None):  # after the death; "now" is after it too
        with pytest.raises(ValidationError) as refusal:
            outcome_actions.record_pain(clinician, episode, 4, time_point="reassessment", observed_at=observed_at)
        assert f"recorded as deceased on {died:%Y-%m-%d}" in str(refusal.value)
    assert counts() == written


@override_settings(TIME_ZONE="America/New_York")
def test_a_score_entered_by_hand_late_on_the_day_of_death_in_new_york_is_taken(clinician, patient) -> None:
    """23:30 in New York on the day of death is that day (04:30 the next day in UTC); 00:30 the next day is after."""
    episode = open_neck_episode(clinician, patient, days_ago=10)
    died = timezone.localdate() - timedelta(days=3)
    patient = patient_actions.record_death(clinician, patient.pk, died, patient.version).patient
    episode.refresh_from_db()
    zone = ZoneInfo("America/New_York")

    late = outcome_actions.record_pain(
        clinician, episode, 4, time_point="baseline", observed_at=datetime.combine(died, time(23, 30), tzinfo=zone)
    )

    assert late.observed_on == died
    next_day = datetime.combine(died + timedelta(days=1), time(0, 30), tzinfo=zone)
    with pytest.raises(ValidationError):
        outcome_actions.record_pain(clinician, episode, 4, time_point="reassessment", observed_at=next_day)


def test_a_score_entered_by_hand_for_a_death_of_unknown_date_is_taken(clinician, patient) -> None:
    episode = open_neck_episode(clinician, patient, days_ago=10)
    patient_actions.record_death(clinician, patient.pk, None, patient.version)
    episode.refresh_from_db()

    rating = outcome_actions.record_pain(clinician, episode, 4, time_point="baseline")

    assert rating.pk is not None


# ---------------------------------------------------------------------------------------------- Social Security numbers


def test_one_rule_decides_which_identifiers_are_not_kept() -> None:
    ssn = {"system": SSN_SYSTEM, "value": "999-55-2827"}
    by_type = {
        "system": "urn:oid:2.16.840.1.113883.4.1",
        "value": "999-55-2827",
        "type_system": "http://terminology.hl7.org/CodeSystem/v2-0203",
        "type_code": "SS",
    }
    passport = {"system": "https://passports.example", "value": "X1", "type_code": "PPN"}
    assert identifier_not_kept(ssn, False) == identifier_not_kept(by_type, False) == "this clinic does not keep them"
    assert identifier_not_kept(ssn, True) == identifier_not_kept(by_type, True) == ""
    assert identifier_not_kept(passport, False) == ""


def test_a_clinic_keeps_no_social_security_number_by_default_and_the_answer_says_so(clinician) -> None:
    sent = synthea_bundle(synthea_files()[0])
    index = next(i for i, e in enumerate(sent["entry"]) if e["resource"]["resourceType"] == "Patient")
    identifiers = sent["entry"][index]["resource"]["identifier"]
    position = next(n for n, i in enumerate(identifiers) if i["system"] == SSN_SYSTEM)
    assert not Clinic.objects.get(pk=clinician.clinic_id).keep_social_security_numbers

    response = post_bundle(client_for(clinician), sent)

    assert response.status_code == 200, response.content
    patient = Patient.objects.get()
    kept = list(PatientIdentifier.objects.filter(patient=patient).values_list("system", flat=True))
    assert SSN_SYSTEM not in kept and len(kept) == len(identifiers) - 1
    outcome = response.json()["entry"][index]["response"]["outcome"]["issue"]
    said = {i["diagnostics"]: i.get("expression") for i in outcome}
    wanted = f"Not kept: Patient.identifier[{position}] (Social Security number): this clinic does not keep them."
    assert said[wanted] == [f"Bundle.entry[{index}].resource.identifier[{position}]"]
    assert f"Kept the sender's {len(kept)} Patient identifier(s) beside the patient's new MRN." in said
    exported = client_for(clinician).get(f"/fhir/R4/Patient/{patient.pk}", HTTP_ACCEPT="application/fhir+json")
    assert SSN_SYSTEM not in exported.content.decode()


def test_the_action_that_keeps_identifiers_refuses_a_social_security_number_and_keeps_none(clinician, patient) -> None:
    before = counts()
    given = [{"system": SENDER, "value": "A-1"}, {"system": SSN_SYSTEM, "value": "999-55-2827"}]

    with pytest.raises(ValidationError) as refusal:
        patient_actions.keep_identifiers(clinician, patient, given, source="test")

    assert "Identifier 2 is a Social Security number: this clinic does not keep them." in str(refusal.value)
    assert counts() == before


def test_with_the_setting_on_a_social_security_number_is_kept(clinician, keeps_ssns, patient) -> None:
    given = [{"system": SSN_SYSTEM, "value": "999-55-2827"}]

    kept = patient_actions.keep_identifiers(clinician, patient, given, source="test")

    assert [k.value for k in kept] == ["999-55-2827"]


def test_a_clinic_admin_switches_the_setting_on_the_staff_page_and_it_is_audited(clinic_admin, clinician) -> None:
    admin = client_for(clinic_admin)
    page = admin.get("/staff/").content.decode()
    assert "Keep Social Security numbers received from other systems" in page
    assert 'name="keep_social_security_numbers" checked' not in page

    on = admin.post("/staff/", {"ssn_setting": "1", "keep_social_security_numbers": "on"})

    assert on.status_code == 302
    assert Clinic.objects.get(pk=clinic_admin.clinic_id).keep_social_security_numbers
    assert 'name="keep_social_security_numbers" checked' in admin.get("/staff/").content.decode()
    admin.post("/staff/", {"ssn_setting": "1"})
    assert not Clinic.objects.get(pk=clinic_admin.clinic_id).keep_social_security_numbers
    summaries = list(AuditEntry.objects.filter(object_type="accounts.Clinic").values_list("summary", flat=True))
    assert "Social Security numbers from other systems: kept" in summaries
    assert "Social Security numbers from other systems: not kept" in summaries
    assert (
        client_for(clinician).post("/staff/", {"ssn_setting": "1", "keep_social_security_numbers": "on"}).status_code
        == 403
    )
    assert not Clinic.objects.get(pk=clinic_admin.clinic_id).keep_social_security_numbers


def test_a_clinician_cannot_switch_the_setting_through_the_action(clinician) -> None:
    from django.core.exceptions import PermissionDenied

    from needlepoint.accounts.actions import set_keep_social_security_numbers

    with pytest.raises(PermissionDenied):
        set_keep_social_security_numbers(clinician, True)
    other_admin = make_member(clinician.clinic, "carol", "clinic_admin")
    assert set_keep_social_security_numbers(other_admin, True).keep_social_security_numbers


SSN_OID = "urn:oid:2.16.840.1.113883.4.1"
V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"


@pytest.mark.parametrize(
    "identifier",
    [
        pytest.param({"system": SSN_OID, "value": "999-55-2827"}, id="HL7's SSN OID, no type"),
        pytest.param(
            {
                "system": "https://ids.example",
                "value": "999-55-2827",
                "type": {"coding": [{"system": V2_0203, "code": "MR"}, {"system": V2_0203, "code": "SS"}]},
            },
            id="SS as the second type coding",
        ),
        pytest.param(
            {"system": "https://ids.example", "value": "999-55-2827", "type": {"text": "SSN"}}, id="type.text SSN"
        ),
    ],
)
def test_every_way_of_naming_a_social_security_number_is_caught(identifier: dict[str, Any]) -> None:
    patient = {"resourceType": "Patient", "identifier": [identifier]}

    kept, left = patient_in.identifiers(patient, keeps_social_security_numbers=False)
    assert kept == []
    assert left[0].what == "identifier[0] (Social Security number): this clinic does not keep them"

    kept, _ = patient_in.identifiers(patient, keeps_social_security_numbers=True)
    (read,) = kept
    assert shown_value(read["value"], read["system"], read["type_system"], read["type_code"], read["type_text"]) == (
        "•••-••-2827"
    )


def test_an_identifier_kept_under_hl7s_ssn_oid_is_shown_masked() -> None:
    assert shown_value("999-55-2827", SSN_OID) == "•••-••-2827"
    assert shown_value("999-55-2827", "https://ids.example", type_text="SSN") == "•••-••-2827"
    assert shown_value("X-1", "https://passports.example", V2_0203, "PPN") == "X-1"


def test_clinics_already_holding_ssns_keep_them_after_the_setting_arrives(clinician, outsider, patient) -> None:
    """The data migration after the setting: a clinic that held a Social Security number before it existed has it
    switched on (what it holds stays as it had it); a clinic holding none keeps it off."""
    from django.apps import apps

    migration = importlib.import_module("needlepoint.accounts.migrations.0011_keep_ssns_where_already_held")
    other = patient_actions.register_patient(
        outsider, {"given_name": "Ben", "family_name": "Ode", "date_of_birth": date(1975, 1, 2), "sex": "male"}
    )
    # Held from before the setting existed: written as the import then wrote them, the rule not yet applied.
    PatientIdentifier.objects.create(
        clinic_id=patient.clinic_id, patient=patient, system=SSN_OID, value="999-55-2827", source="FHIR import"
    )
    PatientIdentifier.objects.create(
        clinic_id=other.clinic_id, patient=other, system="https://passports.example", value="X1", source="FHIR import"
    )

    migration.keep_where_already_held(apps, None)

    assert Clinic.objects.get(pk=patient.clinic_id).keep_social_security_numbers
    assert not Clinic.objects.get(pk=other.clinic_id).keep_social_security_numbers


def test_the_migrations_copy_of_the_ssn_rule_agrees_with_the_live_rule() -> None:
    """The data migration keeps a frozen copy of ``is_masked`` (accounts may not import patients): today they agree
    on every system, type and type text the demographics file names, and on a few that are not SSNs."""
    import json
    from itertools import product

    from needlepoint.patients import demographics

    migration = importlib.import_module("needlepoint.accounts.migrations.0011_keep_ssns_where_already_held")
    data = json.loads((Path(demographics.__file__).parent / "data" / "demographics.json").read_text())
    systems = ["", "https://passports.example"]
    for known in data["identifier_systems"]:
        systems += [known["system"], *(a["system"] for a in known.get("aliases", ()))]
    types = [("", ""), (data["identifier_types"]["system"], "XX")]
    types += [(data["identifier_types"]["system"], c["code"]) for c in data["identifier_types"]["codes"]]
    texts = ["", "SSN", " Social Security Number", "MRN"]
    for system, (type_system, type_code), text in product(systems, types, texts):
        live = demographics.is_masked(system, type_system, type_code, text)
        assert migration.is_masked(system, type_system, type_code, text) == live, (system, type_code, text)
