"""A FHIR import keeps the patient's Conditions as reported conditions, opens the episode for the one active
ICD-10-CM coded Condition episodes are opened for, and shows and exports what it kept."""

from __future__ import annotations

import copy
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from needlepoint.fhir import codes, mapping
from needlepoint.fhir.importer import import_bundle
from needlepoint.fhir.incoming import plan_import
from needlepoint.outcomes.models import Observation
from needlepoint.patients.models import Episode, Patient, ReportedCondition, Screening
from needlepoint.patients.reported_conditions import is_active
from tests.conftest import clear_for_needling, client_for, response_json
from tests.fhir.conftest import SYNTHEA, import_messages, post_bundle, synthea_bundle, synthea_files, token_client
from tests.fhir.test_bulk_export import download, finished_manifest, kick_off

pytestmark = pytest.mark.django_db
WILLY = "Willy_Koepp_ebbb96ce-c538-4ac4-ad6a-7c709ef6639c.json.gz"  # 6 Conditions, none active


def load(name: str = WILLY) -> dict[str, Any]:
    return synthea_bundle(SYNTHEA / name)


def renea() -> dict[str, Any]:
    """Renea Quigley: 16 Conditions, 10 of them active."""
    [path] = [p for p in synthea_files() if p.name.startswith("Renea_Quigley")]
    return synthea_bundle(path)


def condition_entries(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for e in bundle["entry"] if e["resource"]["resourceType"] == "Condition"]


def counts() -> tuple[int, ...]:
    return (
        Patient.objects.count(),
        Episode.objects.count(),
        Observation.objects.count(),
        ReportedCondition.objects.count(),
    )


def made_active(resource: dict[str, Any], *icd10: str) -> dict[str, Any]:
    """A Condition made active (abatement removed) with ICD-10-CM codings added after its SNOMED CT one."""
    resource["clinicalStatus"]["coding"][0]["code"] = "active"
    resource.pop("abatementDateTime", None)
    resource["code"]["coding"] += [{"system": codes.ICD10_CM, "code": code} for code in icd10]
    return resource


def only_inactive(bundle: dict[str, Any]) -> dict[str, Any]:
    for entry in condition_entries(bundle):
        resource = entry["resource"]
        if resource["clinicalStatus"]["coding"][0]["code"] == "active":
            resource["clinicalStatus"]["coding"][0]["code"] = "inactive"
    return bundle


# ---------------------------------------------------------------------------------------------- keeping them


@pytest.mark.parametrize("path", synthea_files(), ids=lambda p: p.name.split("_")[0])
def test_every_synthea_bundle_keeps_all_its_conditions(clinician, path: Path) -> None:
    bundle = synthea_bundle(path)
    sent = condition_entries(bundle)

    response = post_bundle(client_for(clinician), bundle)

    assert response.status_code == 200, response.content
    kept = ReportedCondition.objects.filter(patient=Patient.objects.get())
    assert kept.count() == len(sent) > 0
    assert Counter((c.system, c.code) for c in kept) == Counter(
        (e["resource"]["code"]["coding"][0]["system"], e["resource"]["code"]["coding"][0]["code"]) for e in sent
    )
    assert Counter(c.clinical_status for c in kept) == Counter(
        e["resource"]["clinicalStatus"]["coding"][0]["code"] for e in sent
    )
    assert sorted(c.onset for c in kept) == sorted(e["resource"]["onsetDateTime"] for e in sent)
    messages = [text for _, text in import_messages(response)]
    assert sorted(m for m in messages if m.startswith("Created Condition/reported-")) == sorted(
        f"Created Condition/reported-{c.pk}." for c in kept
    )
    assert not any(m.startswith("Condition ignored") for m in messages)
    # Synthea codes in SNOMED CT only: the episode is the default's, and the answer says why.
    assert Episode.objects.get().icd10_code == "M79.10"
    default = [m for m in messages if m.startswith("The episode's condition is the default (other, M79.10)")]
    assert len(default) == 1
    active = sum(1 for c in kept if c.is_active)
    assert ("SNOMED CT codes are not mapped" in default[0]) is (active > 0)


def test_each_condition_kept_is_listed_at_its_entry_with_where_it_came_from(clinician) -> None:
    bundle = load()
    sent = {i for i, e in enumerate(bundle["entry"]) if e["resource"]["resourceType"] == "Condition"}

    result = import_bundle(clinician, bundle)

    created = [i for i in result.created if i.diagnostics.startswith("Created Condition/reported-")]
    assert {i.expression for i in created} == {(f"Bundle.entry[{n}]",) for n in sent}
    for issue in created:
        index = int(issue.expression[0].removeprefix("Bundle.entry[").rstrip("]"))
        row = ReportedCondition.objects.get(pk=issue.diagnostics.removeprefix("Created Condition/reported-")[:-1])
        assert row.source_reference == bundle["entry"][index]["fullUrl"]
        assert (row.source, row.imported_by, row.clinic_id) == ("FHIR import", clinician, clinician.clinic_id)
        assert row.codings == bundle["entry"][index]["resource"]["code"]["coding"]


def test_a_bundle_names_its_source(clinician) -> None:
    bundle = load()
    bundle["meta"] = {"source": "Riverside General EHR"}
    assert post_bundle(client_for(clinician), bundle).status_code == 200
    assert set(ReportedCondition.objects.values_list("source", flat=True)) == {"Riverside General EHR"}


def test_a_reported_condition_is_never_changed_or_deleted(clinician) -> None:
    assert post_bundle(client_for(clinician), load()).status_code == 200
    row = ReportedCondition.objects.first()
    assert row is not None
    row.clinical_status = "active"
    with pytest.raises(ValueError, match="never changed"):
        row.save()
    with pytest.raises(ValueError, match="never deleted"):
        row.delete()
    assert ReportedCondition.objects.get(pk=row.pk).clinical_status == "resolved"


# ---------------------------------------------------------------------------------------------- the episode


def test_the_one_active_icd10_cm_condition_opens_the_episode(clinician) -> None:
    bundle = load()
    made_active(condition_entries(bundle)[0]["resource"], "M77.12")  # lateral epicondylitis, left elbow

    response = post_bundle(client_for(clinician), bundle)

    assert response.status_code == 200, response.content
    episode = Episode.objects.get()
    assert (episode.condition, episode.icd10_code, episode.side) == ("lateral_epicondylalgia", "M77.12", "left")
    messages = [text for _, text in import_messages(response)]
    assert any(m.startswith("The episode is for") and "(M77.12, left)" in m for m in messages), messages
    assert not any("is the default" in m for m in messages)


def test_an_unsided_icd10_cm_code_opens_a_central_episode(clinician) -> None:
    bundle = load()
    made_active(condition_entries(bundle)[0]["resource"], "M54.2")  # cervicalgia
    assert post_bundle(client_for(clinician), bundle).status_code == 200
    episode = Episode.objects.get()
    assert (episode.condition, episode.icd10_code, episode.side) == ("neck_pain", "M54.2", "central")


def test_the_callers_condition_wins_over_the_bundles(clinician) -> None:
    bundle = load()
    made_active(condition_entries(bundle)[0]["resource"], "M77.12")
    response = post_bundle(client_for(clinician), bundle, "?condition=neck_pain&icd10=M54.2&side=right")
    assert response.status_code == 200, response.content
    episode = Episode.objects.get()
    assert (episode.condition, episode.icd10_code, episode.side) == ("neck_pain", "M54.2", "right")
    assert not any(text.startswith("The episode") for _, text in import_messages(response))


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (lambda rs: [made_active(rs[0], "M77.12"), made_active(rs[1], "M54.2")], "2 active Conditions have ICD-10-CM"),
        (lambda rs: [made_active(rs[0], "E11.9")], "ICD-10-CM code (E11.9) is one episodes are opened for"),
        (  # coded in ICD-10-CM but resolved: not the condition treated now
            lambda rs: rs[0]["code"]["coding"].append({"system": codes.ICD10_CM, "code": "M54.2"}),
            "the bundle has no active Condition",
        ),
    ],
    ids=["two-listed", "not-listed", "not-active"],
)
def test_otherwise_the_default_and_why(clinician, change, why: str) -> None:
    bundle = load()
    change([e["resource"] for e in condition_entries(bundle)])
    response = post_bundle(client_for(clinician), bundle)
    assert response.status_code == 200, response.content
    assert Episode.objects.get().icd10_code == "M79.10"
    default = [t for _, t in import_messages(response) if t.startswith("The episode's condition is the default")]
    assert len(default) == 1 and why in default[0], default


def test_a_refuted_condition_is_not_active() -> None:
    assert is_active("active", "confirmed") and is_active("relapse", "")
    assert not is_active("active", "refuted") and not is_active("resolved", "confirmed")


# ---------------------------------------------------------------------------------------------- refusals


def _condition(change):
    def apply(bundle: dict[str, Any]) -> None:
        change(condition_entries(bundle)[1]["resource"])

    return apply


def _set(**values: Any):
    return _condition(lambda r: r.update(values))


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (
            _condition(lambda r: r["clinicalStatus"]["coding"][0].update(code="cured")),
            "'cured' is not a clinicalStatus",
        ),
        (_condition(lambda r: r["verificationStatus"]["coding"][0].update(system="x")), "verificationStatus needs a"),
        (_condition(lambda r: r["code"]["coding"][0].pop("system")), "needs a system and a code"),
        (_condition(lambda r: r.pop("code")), "A Condition needs a code with its code system"),
        (_set(onsetDateTime="last spring"), "is not a FHIR date or dateTime"),
        (_set(onsetDateTime="2011-02-30"), "is not a FHIR date or dateTime"),
        (_set(onsetDateTime="2999-01-01"), "onsetDateTime is in the future"),
        (_set(onsetDateTime="1900-01-01"), "onset is before the patient's birth"),
        (_set(abatementDateTime="1999-01-01T00:00:00+00:00"), "abated before its onset"),
        (_condition(lambda r: r["clinicalStatus"]["coding"][0].update(code="active")), "(FHIR con-4)"),
        (_condition(lambda r: r.pop("clinicalStatus")), "(FHIR con-3)"),
        (_condition(lambda r: r["verificationStatus"]["coding"][0].update(code="entered-in-error")), "(FHIR con-5)"),
        (
            _set(subject={"reference": "https://elsewhere.example/fhir/Patient/1"}),
            "This Condition is not about the bundle's Patient.",
        ),
    ],
    ids=[
        "unknown-clinical",
        "verification-system",
        "no-system",
        "no-code",
        "onset-words",
        "onset-30-feb",
        "onset-future",
        "onset-before-birth",
        "abated-before-onset",
        "abated-but-active",
        "no-clinical-status",
        "error-with-status",
        "other-subject",
    ],
)
def test_an_invalid_condition_refuses_the_bundle_with_nothing_written(clinician, change, words: str) -> None:
    bundle = load()
    resource = condition_entries(bundle)[1]["resource"]
    assert "abatementDateTime" in resource  # resolved, with an abatement: the cases above rely on it
    change(bundle)
    before = counts()

    response = post_bundle(client_for(clinician), bundle)

    assert response.status_code == 400, response.content
    refused = [text for severity, text in import_messages(response) if severity == "error"]
    assert any(words in text for text in refused), refused
    assert counts() == before


def test_an_onset_that_is_no_date_is_noted_not_kept() -> None:
    bundle = load()
    resource = condition_entries(bundle)[0]["resource"]
    resource.pop("onsetDateTime")
    resource["onsetAge"] = {"value": 40, "unit": "a", "system": "http://unitsofmeasure.org", "code": "a"}
    plan = plan_import(bundle, timezone.now())
    assert plan.conditions[0].data.onset == ""
    assert any("onsetAge is not kept" in n.diagnostics for n in plan.notes)


# ---------------------------------------------------------------------------------------------- pages


def imported(clinician, bundle: dict[str, Any] | None = None) -> Patient:
    assert post_bundle(client_for(clinician), bundle or renea()).status_code == 200
    return Patient.objects.get()


def test_the_chart_and_the_screening_pages_show_them_active_first(clinician) -> None:
    patient = imported(clinician)
    kept = list(ReportedCondition.objects.filter(patient=patient))
    active = [c for c in kept if c.is_active]
    inactive = [c for c in kept if not c.is_active]
    assert active and inactive
    clear_for_needling(clinician, patient)
    screening = Screening.objects.get(patient=patient)
    client = client_for(clinician)
    for url in (
        f"/patients/{patient.pk}/",
        f"/patients/{patient.pk}/screening/new/",
        f"/patients/{patient.pk}/screening/{screening.pk}/",
    ):
        page = client.get(url)
        assert page.status_code == 200, url
        html = page.content.decode()
        assert "Conditions from FHIR import" in html, url
        section = html[html.index("Conditions from FHIR import") :]
        for condition in kept:
            assert condition.code in section, (url, condition.code)
        last_active = max(section.index(f"<td>{c.code} ") for c in active)
        first_inactive = min(section.index(f"<td>{c.code} ") for c in inactive)
        assert last_active < first_inactive, url


def test_the_chart_costs_one_query_for_any_number_of_conditions(clinician) -> None:
    from tests.patients.test_query_counts import queries_for

    few = imported(clinician, load())  # 6
    many_bundle = renea()  # 16
    client = client_for(clinician)
    assert post_bundle(client, many_bundle).status_code == 200
    many = Patient.objects.exclude(pk=few.pk).get()
    queries_for(client, f"/patients/{few.pk}/")  # warm caches

    assert queries_for(client, f"/patients/{few.pk}/") == queries_for(client, f"/patients/{many.pk}/")
    assert (
        ReportedCondition.objects.filter(patient=many).count() > ReportedCondition.objects.filter(patient=few).count()
    )


def test_a_patient_without_reported_conditions_has_no_section(clinician, patient) -> None:
    page = client_for(clinician).get(f"/patients/{patient.pk}/")
    assert page.status_code == 200
    assert "Conditions from" not in page.content.decode()


# ---------------------------------------------------------------------------------------------- FHIR


def fhir_get(client: Client, url: str, status: int = 200) -> dict[str, Any]:
    response = client.get(f"/fhir/R4/{url}", HTTP_ACCEPT="application/fhir+json")
    assert response.status_code == status, (url, response.getvalue()[:300])
    found: dict[str, Any] = response_json(response)
    return found


def test_each_is_a_problem_list_condition_readable_by_id(clinician, validator) -> None:
    patient = imported(clinician)
    client = client_for(clinician)
    for row in ReportedCondition.objects.filter(patient=patient):
        resource = fhir_get(client, f"Condition/reported-{row.pk}")
        assert resource["id"] == f"reported-{row.pk}"
        assert resource["meta"]["profile"] == [mapping.US_CORE_PROBLEMS]
        assert resource["meta"]["versionId"] == "1"
        assert resource["category"][0]["coding"][0]["code"] == "problem-list-item"
        assert resource["code"]["coding"] == row.codings
        assert resource["clinicalStatus"]["coding"][0]["code"] == row.clinical_status
        assert resource["verificationStatus"]["coding"][0]["code"] == row.verification_status
        assert resource["onsetDateTime"] == row.onset
        assert resource.get("abatementDateTime", "") == row.abatement
        assert resource["subject"] == {"reference": f"Patient/{patient.pk}"}
        assert validator.errors(resource) == []
    row = ReportedCondition.objects.filter(patient=patient).first()
    assert row is not None
    assert fhir_get(client, f"Condition/reported-{row.pk}/_history/1")["id"] == f"reported-{row.pk}"
    response = client.get(f"/fhir/R4/Condition/reported-{row.pk}", HTTP_IF_NONE_MATCH='W/"1"')
    assert response.status_code == 304
    fhir_get(client, "Condition/reported-999999", 404)


def test_searches_and_everything_include_them(clinician) -> None:
    patient = imported(clinician)
    kept = list(ReportedCondition.objects.filter(patient=patient))
    client = client_for(clinician)

    def ids(url: str) -> set[str]:
        bundle = fhir_get(client, url)
        return {e["resource"]["id"] for e in bundle.get("entry", []) if e["resource"]["resourceType"] == "Condition"}

    every = {f"reported-{c.pk}" for c in kept}
    episode = str(Episode.objects.get(patient=patient).pk)
    assert ids(f"Condition?patient={patient.pk}") == every | {episode}
    assert ids(f"Condition?patient={patient.pk}&category=problem-list-item") == every
    assert ids(f"Condition?patient={patient.pk}&category=encounter-diagnosis") == {episode}
    active = {f"reported-{c.pk}" for c in kept if c.clinical_status == "active"}
    assert ids(f"Condition?patient={patient.pk}&clinical-status=active") == active | {episode}
    one = kept[0]
    same_code = {f"reported-{c.pk}" for c in kept if (c.system, c.code) == (one.system, one.code)}
    assert ids(f"Condition?patient={patient.pk}&code={one.system}|{one.code}") == same_code
    assert ids(f"Patient/{patient.pk}/$everything") >= every
    # Paging runs over episodes and reported conditions alike.
    first = fhir_get(client, f"Condition?patient={patient.pk}&_count=5")
    assert first["total"] == len(every) + 1 and len(first["entry"]) == 5


def test_a_bulk_export_includes_them(clinic_admin, clinician, settings, tmp_path, validator) -> None:
    settings.DATA_DIR = tmp_path
    patient = imported(clinician)
    admin = token_client(clinic_admin)
    manifest = finished_manifest(admin, kick_off(admin, "/fhir/R4/$export?_type=Condition"))
    found = download(admin, manifest)
    exported = {r["id"] for r in found["Condition"]}
    assert {f"reported-{c.pk}" for c in ReportedCondition.objects.filter(patient=patient)} <= exported
    for resource in found["Condition"]:
        assert validator.errors(resource) == []


def test_another_clinic_cannot_see_them(clinician, outsider) -> None:
    patient = imported(clinician)
    row = ReportedCondition.objects.filter(patient=patient).first()
    assert row is not None
    client = client_for(outsider)
    fhir_get(client, f"Condition/reported-{row.pk}", 404)
    assert client.get(f"/fhir/R4/Condition?patient={patient.pk}").status_code == 404
    assert client.get(f"/patients/{patient.pk}/").status_code == 404
    assert client.get(f"/patients/{patient.pk}/screening/new/").status_code == 404


def test_the_exported_conditions_keep_what_was_sent(clinician) -> None:
    bundle = load()
    sent = copy.deepcopy(condition_entries(bundle))
    patient = imported(clinician, bundle)
    client = client_for(clinician)
    found = fhir_get(client, f"Condition?patient={patient.pk}&category=problem-list-item")

    def essentials(resource: dict[str, Any]) -> str:
        status = resource["clinicalStatus"]["coding"][0]["code"]
        # Key order inside an object is not kept by a JSON column on PostgreSQL (jsonb), and FHIR gives it no meaning.
        return json.dumps(
            [resource["code"], status, resource["onsetDateTime"], resource.get("abatementDateTime")], sort_keys=True
        )

    assert sorted(essentials(e["resource"]) for e in found["entry"]) == sorted(essentials(e["resource"]) for e in sent)


def test_an_import_with_its_conditions_is_one_audit_entry(clinician) -> None:
    from needlepoint.accounts.models import AuditEntry

    client = token_client(clinician)
    before = AuditEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    bundle = renea()
    assert post_bundle(client, bundle).status_code == 200
    writes = list(AuditEntry.objects.filter(pk__gt=before, action__in=["create", "update"]))
    assert [(e.action, e.object_type) for e in writes] == [("create", "fhir.Bundle")]
    assert f"patient, {len(condition_entries(bundle))} condition(s)," in writes[0].summary
